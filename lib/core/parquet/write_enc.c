/*  write_enc.c — the byte-level encoders behind the Parquet writer (see write_enc.h).

    The buffer grows by doubling and remembers running out of memory, so that the encoders
    above it append without checking and their caller looks once. The Thrift writer keeps the
    last field id of each open struct, because a compact field header is one byte (delta << 4 |
    type) when the id is 1 to 15 past the previous one, and a long form otherwise. The hybrid
    encoder turns runs of 8 or more equal values into RLE runs and bit-packs the rest. */
#include "lib/core/parquet/write_enc.h"
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static void
s_reserve (tl_pq_wbuf_t *b, size_t more)
{
    if (b->oom || b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *p = realloc (b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

void
tl_pq_wbuf_put (tl_pq_wbuf_t *b, const void *p, size_t n)
{
    s_reserve (b, n);
    if (b->oom || !n)
        return;
    memcpy (b->p + b->len, p, n);
    b->len += n;
}

void
tl_pq_wbuf_byte (tl_pq_wbuf_t *b, uint8_t v)
{
    tl_pq_wbuf_put (b, &v, 1);
}

/*  n bytes of v, little-endian (Parquet's PLAIN order, whatever the host's). */
size_t
tl_pq_le_bytes (uint8_t x [8], uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x [i] = (uint8_t) (v >> (8 * i));
    return n;
}

void
tl_pq_wbuf_le (tl_pq_wbuf_t *b, uint64_t v, size_t n)
{
    uint8_t x [8];
    tl_pq_wbuf_put (b, x, tl_pq_le_bytes (x, v, n));
}

void
tl_pq_wbuf_varint (tl_pq_wbuf_t *b, uint64_t v)
{
    while (v >= 0x80) {
        tl_pq_wbuf_byte (b, (uint8_t) (v | 0x80));
        v >>= 7;
    }
    tl_pq_wbuf_byte (b, (uint8_t) v);
}

void
tl_pq_wbuf_free (tl_pq_wbuf_t *b)
{
    free (b->p);
    *b = (tl_pq_wbuf_t) { 0 };
}

tl_pq_tw_t
tl_pq_tw (tl_pq_wbuf_t *b)
{
    return (tl_pq_tw_t) { .b = b, .depth = -1 };
}

uint64_t
tl_pq_zigzag (int64_t v)
{
    return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

void
tl_pq_tw_begin (tl_pq_tw_t *t)
{
    t->last [++t->depth] = 0;
}

void
tl_pq_tw_end (tl_pq_tw_t *t)
{
    tl_pq_wbuf_byte (t->b, 0);
    t->depth--;
}

void
tl_pq_tw_field (tl_pq_tw_t *t, int id, int type)
{
    int delta = id - t->last [t->depth];
    if (delta > 0 && delta <= 15)
        tl_pq_wbuf_byte (t->b, (uint8_t) (delta << 4 | type));
    else {
        tl_pq_wbuf_byte (t->b, (uint8_t) type);
        tl_pq_wbuf_varint (t->b, tl_pq_zigzag (id));
    }
    t->last [t->depth] = (int16_t) id;
}

void
tl_pq_tw_int (tl_pq_tw_t *t, int id, int type, int64_t v)
{
    tl_pq_tw_field (t, id, type);
    tl_pq_wbuf_varint (t->b, tl_pq_zigzag (v));
}

void
tl_pq_tw_i32 (tl_pq_tw_t *t, int id, int64_t v)
{
    tl_pq_tw_int (t, id, TL_PQW_T_I32, v);
}

void
tl_pq_tw_i64 (tl_pq_tw_t *t, int id, int64_t v)
{
    tl_pq_tw_int (t, id, TL_PQW_T_I64, v);
}

/*  A binary field, or (id 0) a list element. */
void
tl_pq_tw_bin (tl_pq_tw_t *t, int id, const void *p, size_t n)
{
    if (id)
        tl_pq_tw_field (t, id, TL_PQW_T_BINARY);
    tl_pq_wbuf_varint (t->b, n);
    tl_pq_wbuf_put (t->b, p, n);
}

void
tl_pq_tw_list (tl_pq_tw_t *t, int id, int elem, size_t n)
{
    tl_pq_tw_field (t, id, TL_PQW_T_LIST);
    if (n < 15)
        tl_pq_wbuf_byte (t->b, (uint8_t) (n << 4 | (size_t) elem));
    else {
        tl_pq_wbuf_byte (t->b, (uint8_t) (0xf0 | elem));
        tl_pq_wbuf_varint (t->b, n);
    }
}

void
tl_pq_tw_struct (tl_pq_tw_t *t, int id)
{
    tl_pq_tw_field (t, id, TL_PQW_T_STRUCT);
    tl_pq_tw_begin (t);
}

static size_t
s_run (const uint32_t *v, size_t i, size_t n)
{
    size_t j = i + 1;
    while (j < n && v [j] == v [i])
        j++;
    return j - i;
}

/*  total values (a multiple of 8) of bw bits each, least significant bit first; past n, zeros. */
static void
s_pack (tl_pq_wbuf_t *b, const uint32_t *v, size_t n, size_t total, int bw)
{
    uint64_t acc = 0;
    int bits = 0;
    for (size_t k = 0; k < total; k++) {
        acc |= (uint64_t) (k < n ? v [k] : 0) << bits;
        for (bits += bw; bits >= 8; bits -= 8) {
            tl_pq_wbuf_byte (b, (uint8_t) acc);
            acc >>= 8;
        }
    }
}

/*  Runs of 8 or more equal values become RLE runs; the rest is bit-packed in groups of 8, at most
    63 groups a run so that the header is one byte (as parquet-cpp writes). Only the last group
    of the stream may be padded: a reader stops at the count it was given. */
void
tl_pq_hybrid (tl_pq_wbuf_t *b, const uint32_t *v, size_t n, int bw)
{
    size_t i = 0;
    while (i < n) {
        size_t run = s_run (v, i, n);
        if (run >= 8) {
            tl_pq_wbuf_varint (b, (uint64_t) run << 1);
            tl_pq_wbuf_le (b, v [i], (size_t) (bw + 7) / 8);
            i += run;
            continue;
        }
        size_t j = i + 8, groups = 1;
        while (j < n && groups < 63 && s_run (v, j, n) < 8) {
            j += 8;
            groups++;
        }
        tl_pq_wbuf_varint (b, groups << 1 | 1);
        s_pack (b, v + i, (j < n ? j : n) - i, groups * 8, bw);
        i = j;
    }
}

/*  Bits for ids 0..max (0 when the dictionary has one entry, as parquet-cpp writes). */
int
tl_pq_bits (size_t max)
{
    int b = 0;
    while (max) {
        b++;
        max >>= 1;
    }
    return b;
}

typedef int (*s_compress_fn) (int level, const tl_pq_wbuf_t *in, tl_pq_wbuf_t *out);

static int
s_none (int level, const tl_pq_wbuf_t *in, tl_pq_wbuf_t *out)
{
    tl_pq_wbuf_put (out, in->p, in->len);
    return 0;
}

static int
s_snappy (int level, const tl_pq_wbuf_t *in, tl_pq_wbuf_t *out)
{
    size_t n = snappy_max_compressed_length (in->len);
    s_reserve (out, n);
    if (out->oom || snappy_compress ((const char *) in->p, in->len, (char *) out->p + out->len, &n) != SNAPPY_OK)
        return -1;
    out->len += n;
    return 0;
}

/*  GZIP in Parquet is the gzip format (RFC 1952), hence windowBits 15 + 16. */
static int
s_gzip (int level, const tl_pq_wbuf_t *in, tl_pq_wbuf_t *out)
{
    z_stream z = { 0 };
    if (deflateInit2 (&z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound (&z, (uLong) in->len);
    s_reserve (out, cap);
    int rc = Z_MEM_ERROR;
    if (!out->oom) {
        z.next_in = in->p;
        z.avail_in = (uInt) in->len;
        z.next_out = out->p + out->len;
        z.avail_out = (uInt) cap;
        rc = deflate (&z, Z_FINISH);
        out->len += cap - z.avail_out;
    }
    deflateEnd (&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

static int
s_zstd (int level, const tl_pq_wbuf_t *in, tl_pq_wbuf_t *out)
{
    size_t cap = ZSTD_compressBound (in->len);
    s_reserve (out, cap);
    if (out->oom)
        return -1;
    size_t n = ZSTD_compress (out->p + out->len, cap, in->p, in->len, level ? level : 1);
    if (ZSTD_isError (n))
        return -1;
    out->len += n;
    return 0;
}

static const s_compress_fn s_codecs [] = {
    [TL_PQW_UNCOMPRESSED] = s_none,
    [TL_PQW_SNAPPY] = s_snappy,
    [TL_PQW_GZIP] = s_gzip,
    [TL_PQW_ZSTD] = s_zstd,
};

bool
tl_pq_codec_known (int codec)
{
    return codec >= 0 && (size_t) codec < sizeof s_codecs / sizeof *s_codecs && s_codecs [codec];
}

int
tl_pq_compress (int codec, int level, const tl_pq_wbuf_t *in, tl_pq_wbuf_t *out)
{
    return tl_pq_codec_known (codec) ? s_codecs [codec] (level, in, out) : -1;
}
