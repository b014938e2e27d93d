/*  write_enc.h — the byte-level encoders behind the Parquet writer (write.c): a growable byte
    buffer, the Thrift compact protocol (writing only), the RLE/bit-packed hybrid of
    Encodings.md, and page compression. They are split from write.c to keep the writer about
    columns, pages and metadata; nothing else should need them (the reader has its own decoders).

    Errors in a buffer are sticky: an append that cannot grow it sets oom and later appends do
    nothing, so an encoder appends freely and its caller checks oom once. Pure: no I/O. */
#ifndef TL_PQ_WRITE_ENC_H
#define TL_PQ_WRITE_ENC_H
#include "lib/core/parquet/write.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool oom;                   /* an append failed for memory; the contents are incomplete */
} tl_pq_wbuf_t;

void tl_pq_wbuf_put (tl_pq_wbuf_t *b, const void *p, size_t n);
void tl_pq_wbuf_byte (tl_pq_wbuf_t *b, uint8_t v);
/*  n (at most 8) little-endian bytes of v: Parquet's PLAIN order, whatever the host's. */
void tl_pq_wbuf_le (tl_pq_wbuf_t *b, uint64_t v, size_t n);
size_t tl_pq_le_bytes (uint8_t x [8], uint64_t v, size_t n);
/*  ULEB128. */
void tl_pq_wbuf_varint (tl_pq_wbuf_t *b, uint64_t v);
/*  Free the bytes and zero the buffer (reusable afterwards). */
void tl_pq_wbuf_free (tl_pq_wbuf_t *b);

/*  Thrift compact types, as field types (TRUE/FALSE are boolean fields' values) and list
    element types. */
enum { TL_PQW_T_TRUE = 1, TL_PQW_T_FALSE = 2, TL_PQW_T_I16 = 4, TL_PQW_T_I32 = 5, TL_PQW_T_I64 = 6,
       TL_PQW_T_BINARY = 8, TL_PQW_T_LIST = 9, TL_PQW_T_STRUCT = 12 };

/*  A Thrift compact writer into b. Open the outermost struct with tl_pq_tw_begin, a nested one
    with tl_pq_tw_struct (or tl_pq_tw_begin for a list element), close each with tl_pq_tw_end.
    Fields go in increasing id order for one-byte headers; at most 7 structs deep. */
typedef struct {
    tl_pq_wbuf_t *b;
    int16_t last [8];           /* last field id per open struct */
    int depth;
} tl_pq_tw_t;

tl_pq_tw_t tl_pq_tw (tl_pq_wbuf_t *b);
uint64_t tl_pq_zigzag (int64_t v);
void tl_pq_tw_begin (tl_pq_tw_t *t);
void tl_pq_tw_end (tl_pq_tw_t *t);
/*  A field header only (booleans: type TL_PQW_T_TRUE or TL_PQW_T_FALSE is the value). */
void tl_pq_tw_field (tl_pq_tw_t *t, int id, int type);
/*  An integer field of type TL_PQW_T_I16, _I32 or _I64 (enums are I32). */
void tl_pq_tw_int (tl_pq_tw_t *t, int id, int type, int64_t v);
void tl_pq_tw_i32 (tl_pq_tw_t *t, int id, int64_t v);
void tl_pq_tw_i64 (tl_pq_tw_t *t, int id, int64_t v);
/*  A binary (string) field, or with id 0 a list element. */
void tl_pq_tw_bin (tl_pq_tw_t *t, int id, const void *p, size_t n);
/*  A list field's header; n elements of type elem follow (integers as zigzag varints). */
void tl_pq_tw_list (tl_pq_tw_t *t, int id, int elem, size_t n);
/*  A struct field's header; the struct is open until tl_pq_tw_end. */
void tl_pq_tw_struct (tl_pq_tw_t *t, int id);

/*  n values of bw bits (0 to 32) as the RLE/bit-packed hybrid, without a length prefix. Bit-packed
    runs hold at most 63 groups of 8 (a one-byte header, as parquet-cpp writes); only the stream's
    last group is padded, since a reader stops at the count it was given. */
void tl_pq_hybrid (tl_pq_wbuf_t *b, const uint32_t *v, size_t n, int bw);
/*  Bits for the values 0..max: 0 for max 0 (a one-entry dictionary, as parquet-cpp writes). */
int tl_pq_bits (size_t max);

/*  Whether codec (a tl_pq_wcodec_t value) is one this file writes. */
bool tl_pq_codec_known (int codec);
/*  Append in's bytes compressed with codec at level (0: the codec's default) to out. GZIP is the
    gzip format (RFC 1952), SNAPPY a raw block, ZSTD a frame. Returns 0, or -1 (unknown codec,
    the codec failed, or out.oom). */
int tl_pq_compress (int codec, int level, const tl_pq_wbuf_t *in, tl_pq_wbuf_t *out);
#endif
