/*  encoding.h — Parquet value encodings: PLAIN, RLE booleans, DELTA_BINARY_PACKED,
    DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT, decoded as streams.

    A tl_pq_dec_t is set up on a page's value bytes and then asked for n values at a time, so
    its memory never depends on the page's value count (a delta stream can claim billions of
    values in a few bytes). Fixed-width values are copied out as host values (little-endian
    hosts); byte arrays come out as (pointer, length) pairs that point into the page, or, for
    DELTA_BYTE_ARRAY, whose values are rebuilt from prefixes, into an arena the caller owns
    and resets, bounded by a byte cap. Dictionary indices are not here: they are RLE (rle.h).
    Pure. */
#ifndef TL_PQ_ENCODING_H
#define TL_PQ_ENCODING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/rle.h"

typedef struct {
    const uint8_t *p;
    uint32_t len;
} tl_pq_bytes_t;

/*  n typed values. Exactly one array is set, by type: BOOLEAN → fixed (one 0/1 byte each),
    INT32 → i32, INT64 → i64, FLOAT → f32, DOUBLE → f64, INT96 and FIXED_LEN_BYTE_ARRAY →
    fixed (width bytes each), BYTE_ARRAY → ba. */
typedef struct {
    tl_pq_type_t type;
    uint32_t width;             /* bytes per value in the array (ba: sizeof (tl_pq_bytes_t)) */
    size_t n;
    const int32_t *i32;
    const int64_t *i64;
    const float *f32;
    const double *f64;
    const uint8_t *fixed;
    const tl_pq_bytes_t *ba;
} tl_pq_values_t;

/*  A growable byte buffer (arena for rebuilt strings). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} tl_pq_buf_t;

/*  DELTA_BINARY_PACKED stream. */
typedef struct {
    const uint8_t *p, *end;     /* next block header / miniblock */
    uint64_t block_size, mb_count, mb_size, total, done;
    uint64_t last, min_delta;
    const uint8_t *widths;      /* current block's miniblock widths */
    uint64_t mb_index, mb_pos;  /* miniblock in block, value in miniblock */
    const uint8_t *mb_data;     /* current miniblock's bits */
    size_t mb_len;
    int mb_bw;
    bool in_block;
    const char *err;
} tl_pq_delta_t;

/*  Read the header. false (d->err) when malformed. */
bool tl_pq_delta_init (tl_pq_delta_t *d, const uint8_t *buf, size_t len);
/*  Next n values (wrapping 64-bit arithmetic; INT32 callers truncate). false on error or when
    the stream holds fewer. */
bool tl_pq_delta_get (tl_pq_delta_t *d, uint64_t *out, size_t n);
/*  The byte just past a whole delta stream in [buf, buf+len), found by walking block headers
    without decoding values; NULL when malformed. */
const uint8_t *tl_pq_delta_end (const uint8_t *buf, size_t len, const char **why);

typedef struct {
    int encoding;
    tl_pq_type_t type;
    uint32_t width;             /* fixed bytes per value (INT96 12, FLBA type_length) */
    const uint8_t *p, *end;     /* PLAIN cursor; DLBA/DBA suffix data cursor */
    uint64_t bit;               /* PLAIN BOOLEAN bit position */
    tl_pq_rle_t rle;            /* RLE BOOLEAN */
    tl_pq_delta_t d1, d2;       /* delta ints / lengths / prefix lengths (d1), suffix lengths (d2) */
    const uint8_t *bss;         /* BYTE_STREAM_SPLIT streams */
    size_t bss_n, bss_i;
    uint8_t *last;              /* DELTA_BYTE_ARRAY previous value */
    size_t last_len, last_cap;
    size_t cap;                 /* byte cap for rebuilt strings per call */
    uint64_t *tmp;              /* delta scratch */
    size_t tmp_cap;
    const char *err;
} tl_pq_dec_t;

/*  Set up a decoder on a page's value bytes. Returns 0, TL_EINVAL for an encoding this type
    cannot have (d->err says), TL_EPROTO when malformed. cap bounds rebuilt string bytes. */
int tl_pq_dec_init (tl_pq_dec_t *d, int encoding, tl_pq_type_t type, uint32_t width,
                    const uint8_t *buf, size_t len, size_t cap);
/*  Next n values into out (typed as tl_pq_values_t describes: bool bytes, int32, int64,
    float, double, width-byte records, or tl_pq_bytes_t). arena holds rebuilt strings (the
    caller resets it between batches). Returns 0, TL_EPROTO (d->err) or TL_ENOMEM. */
int tl_pq_dec_get (tl_pq_dec_t *d, void *out, size_t n, tl_pq_buf_t *arena);
/*  The next n values lent from the page itself rather than copied, where the encoding stores
    them as they are (PLAIN, any fixed-width type but BOOLEAN): *out points at n * width bytes,
    little-endian and not aligned. Returns 0 (*out NULL when this decoder cannot lend: use
    tl_pq_dec_get), or TL_EPROTO (d->err) when the page holds fewer. */
int tl_pq_dec_view (tl_pq_dec_t *d, size_t n, const uint8_t **out);
void tl_pq_dec_free (tl_pq_dec_t *d);

/*  Bytes per value in a decoded array of this type. */
uint32_t tl_pq_value_size (tl_pq_type_t type, uint32_t width);
/*  Point v's array for its type at data (n values). */
void tl_pq_values_set (tl_pq_values_t *v, tl_pq_type_t type, uint32_t width, const void *data, size_t n);
/*  Decode n PLAIN values of a dictionary page into out (sized n * tl_pq_value_size).
    Byte arrays point into buf. Returns 0 or TL_EPROTO with *why. */
int tl_pq_plain_decode (tl_pq_type_t type, uint32_t width, const uint8_t *buf, size_t len,
                        size_t n, void *out, const char **why);
#endif
