/*  rle.h — the RLE/bit-packed hybrid decoder (Parquet's levels, dictionary indices and RLE
    booleans), plus the deprecated MSB-first BIT_PACKED level encoding.

    The decoder streams: it never expands a run it was not asked for, so a two-byte run that
    claims two billion values costs nothing until a caller pulls them, and then only as many as
    it pulls. Runs are exposed as runs (tl_pq_rle_run), so a counter can add an RLE run's whole
    length at once; bit-packed runs are unpacked into the caller's array. Every header and
    every bit-packed group is checked against the bytes present; a last bit-packed run cut
    short by the end of the data yields only the values whose bits are present. Pure. */
#ifndef TL_PQ_RLE_H
#define TL_PQ_RLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p, *end;     /* next run header */
    int bw;                     /* bit width, 0..32 */
    bool msb;                   /* deprecated BIT_PACKED: one MSB-first run over the whole buffer */
    bool lit;                   /* current run is bit-packed */
    uint64_t left;              /* values left in the current run */
    uint32_t value;             /* RLE run value */
    const uint8_t *bp, *bp_end; /* bit-packed run data */
    uint64_t bp_pos;            /* next value's index in the bit-packed run */
    const char *err;            /* sticky error, static text */
} tl_pq_rle_t;

/*  A hybrid stream of bit width bw (0..32; larger is an error reported by the first read). */
void tl_pq_rle_init (tl_pq_rle_t *r, const uint8_t *buf, size_t len, int bw);
/*  The deprecated BIT_PACKED encoding: count values, MSB first, ceil(count*bw/8) bytes. */
void tl_pq_rle_init_msb (tl_pq_rle_t *r, const uint8_t *buf, size_t len, int bw, uint64_t count);

/*  The next run, at most max values long. Returns 1 for an RLE run (*value repeated *n times),
    2 for *n literal values written to lit[0..*n), 0 at the end of the data, -1 on error
    (r->err says why). */
int tl_pq_rle_run (tl_pq_rle_t *r, size_t max, uint32_t *value, uint32_t *lit, size_t *n);
/*  If the current run (loading the next header if needed) is an RLE run of at least n values,
    consume n and return true with its value. Otherwise consume nothing and return false. */
bool tl_pq_rle_take_uniform (tl_pq_rle_t *r, size_t n, uint32_t *value);
/*  Up to n values expanded into out. Returns how many (fewer at the end of data or on error). */
size_t tl_pq_rle_get (tl_pq_rle_t *r, uint32_t *out, size_t n);
/*  Up to n values consumed without being kept: *eq gets how many equal value, *above how many
    are greater (for definition levels: the non-null rows, and levels out of range). An RLE run
    costs one step; at bit width 1 a bit-packed run costs one popcount per 64 values. Returns
    how many were consumed (fewer at the end of data or on error). */
size_t tl_pq_rle_count (tl_pq_rle_t *r, size_t n, uint32_t value, uint64_t *eq, uint64_t *above);

/*  Bits needed for values up to max (0 for 0). */
int tl_pq_bit_width (uint64_t max);
/*  Unpack n values of width bw (0..64) starting at bit index first of data[0..len); the
    caller guarantees the bits exist. Used by the delta decoder too. */
void tl_pq_unpack32 (const uint8_t *data, size_t len, uint64_t first, int bw, uint32_t *out, size_t n);
void tl_pq_unpack64 (const uint8_t *data, size_t len, uint64_t first, int bw, uint64_t *out, size_t n);
/*  ULEB128 from [*p, end): false when truncated or longer than 10 bytes. */
bool tl_pq_uleb (const uint8_t **p, const uint8_t *end, uint64_t *v);
#endif
