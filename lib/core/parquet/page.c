/*  page.c — page headers and codecs (see page.h).

    Each codec is driven in its one-shot form into a buffer of the promised size, and the
    output length is compared with the promise. GZIP pages may hold several gzip members one
    after another; inflate is reset after each member while input remains. The old LZ4 codec
    is Hadoop's framing: blocks of [4-byte big-endian uncompressed length][4-byte big-endian
    compressed length][LZ4 block]; when that framing does not parse to exactly dst_len bytes
    the whole input is tried as one raw LZ4 block, which is what some writers produced. */
#include "lib/core/parquet/page.h"
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/thrift.h"
#include "lib/base/err.h"
#include <brotli/decode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define FIELD_LOOP(tr, id, t) for (int16_t id = 0, t; ((t = (int16_t) tl_pq_tr_field (tr, &id)) != TL_PQ_T_STOP);)

static int32_t
s_i32 (tl_pq_tr_t *tr, int t)
{
    if (t == TL_PQ_T_I8)
        return tl_pq_tr_i8 (tr);
    if (t == TL_PQ_T_I16 || t == TL_PQ_T_I32 || t == TL_PQ_T_I64)
        return tl_pq_tr_i32 (tr);
    tl_pq_tr_fail (tr, "page header field of the wrong type");
    return 0;
}

int
tl_pq_page_header (const uint8_t *buf, size_t len, tl_pq_page_t *h, const char **why)
{
    tl_pq_tr_t tr;
    memset (h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = true;
    h->def_encoding = h->rep_encoding = TL_PQ_RLE;
    bool has_us = false, has_cs = false, has_sub = false;
    tl_pq_tr_init (&tr, buf, len);
    if (tl_pq_tr_struct_begin (&tr)) {
        FIELD_LOOP (&tr, id, t) {
            switch (id) {
                case 1: h->type = s_i32 (&tr, t); break;
                case 2: h->uncompressed_size = s_i32 (&tr, t); has_us = true; break;
                case 3: h->compressed_size = s_i32 (&tr, t); has_cs = true; break;
                case 4: h->crc = (uint32_t) s_i32 (&tr, t); h->has_crc = true; break;
                case 5: case 7: case 8:
                    if (t != TL_PQ_T_STRUCT || id != (h->type == TL_PQ_DATA_PAGE ? 5 : h->type == TL_PQ_DICTIONARY_PAGE ? 7 : 8)) {
                        tl_pq_tr_skip (&tr, t);     /* a header for another page type */
                        break;
                    }
                    has_sub = true;
                    if (!tl_pq_tr_struct_begin (&tr))
                        break;
                    FIELD_LOOP (&tr, sid, st) {
                        if (sid == 1) h->num_values = s_i32 (&tr, st);
                        else if (sid == 2 && id == 8) h->num_nulls = s_i32 (&tr, st);
                        else if (sid == 2) h->encoding = s_i32 (&tr, st);
                        else if (sid == 3 && id == 5) h->def_encoding = s_i32 (&tr, st);
                        else if (sid == 3 && id == 8) h->num_rows = s_i32 (&tr, st);
                        else if (sid == 4 && id == 5) h->rep_encoding = s_i32 (&tr, st);
                        else if (sid == 4 && id == 8) h->encoding = s_i32 (&tr, st);
                        else if (sid == 5 && id == 8) h->def_len = s_i32 (&tr, st);
                        else if (sid == 6 && id == 8) h->rep_len = s_i32 (&tr, st);
                        else if (sid == 7 && id == 8 && (st == TL_PQ_T_TRUE || st == TL_PQ_T_FALSE))
                            h->is_compressed = st == TL_PQ_T_TRUE;
                        else tl_pq_tr_skip (&tr, st);
                    }
                    tl_pq_tr_struct_end (&tr);
                    break;
                default:
                    tl_pq_tr_skip (&tr, t);
            }
        }
        tl_pq_tr_struct_end (&tr);
    }
    if (tr.err) {
        *why = tr.err;
        h->truncated = tr.truncated;
        return TL_EPROTO;
    }
    h->header_len = tl_pq_tr_pos (&tr);
    if (!has_us || !has_cs || h->type < 0 || h->uncompressed_size < 0 || h->compressed_size < 0) {
        *why = "page header without valid type or sizes";
        return TL_EPROTO;
    }
    bool data = h->type == TL_PQ_DATA_PAGE || h->type == TL_PQ_DATA_PAGE_V2;
    if ((data || h->type == TL_PQ_DICTIONARY_PAGE) && !has_sub) {
        *why = "data or dictionary page without its page header";
        return TL_EPROTO;
    }
    if (h->num_values < 0) {
        *why = "negative value count in page header";
        return TL_EPROTO;
    }
    if (h->type == TL_PQ_DATA_PAGE_V2
        && (h->def_len < 0 || h->rep_len < 0 || h->num_nulls < 0 || h->num_nulls > h->num_values || h->num_rows < 0
            || (int64_t) h->def_len + h->rep_len > h->compressed_size
            || (int64_t) h->def_len + h->rep_len > h->uncompressed_size)) {
        *why = "data page v2 header with bad level lengths or counts";
        return TL_EPROTO;
    }
    return 0;
}

static int
s_gzip (const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, const char **why)
{
    z_stream z;
    memset (&z, 0, sizeof z);
    if (inflateInit2 (&z, 15 + 16) != Z_OK)
        return TL_ENOMEM;
    z.next_in = (Bytef *) src;
    z.next_out = dst;
    int rc = TL_EPROTO;
    size_t in_left = n, out_left = dst_len;
    for (;;) {
        /* zlib counts in uInt: feed at most 1 GiB at a time */
        z.avail_in = (uInt) (in_left < (1u << 30) ? in_left : (1u << 30));
        z.avail_out = (uInt) (out_left < (1u << 30) ? out_left : (1u << 30));
        uInt ai = z.avail_in, ao = z.avail_out;
        int zr = inflate (&z, Z_NO_FLUSH);
        in_left -= ai - z.avail_in;
        out_left -= ao - z.avail_out;
        if (zr == Z_STREAM_END) {
            if (in_left == 0)
                break;
            if (inflateReset (&z) != Z_OK)
                break;
            continue;
        }
        if (zr == Z_OK && (ai != z.avail_in || ao != z.avail_out))
            continue;
        if (zr == Z_BUF_ERROR && out_left == 0)
            *why = "GZIP page inflates past its promised size";
        else if (zr == Z_BUF_ERROR || zr == Z_OK)
            *why = "truncated GZIP page";
        else
            *why = z.msg ? "corrupt GZIP page" : "GZIP error";
        inflateEnd (&z);
        return TL_EPROTO;
    }
    inflateEnd (&z);
    if (out_left != 0) {
        *why = "GZIP page inflates to fewer bytes than promised";
        return TL_EPROTO;
    }
    rc = 0;
    return rc;
}

static int
s_hadoop_lz4 (const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len)
{
    size_t out = 0;
    while (n >= 8) {
        uint32_t ulen = (uint32_t) src [0] << 24 | (uint32_t) src [1] << 16 | (uint32_t) src [2] << 8 | src [3];
        uint32_t clen = (uint32_t) src [4] << 24 | (uint32_t) src [5] << 16 | (uint32_t) src [6] << 8 | src [7];
        src += 8;
        n -= 8;
        if (clen > n || ulen > dst_len - out || clen > INT32_MAX || ulen > INT32_MAX)
            return -1;
        int r = LZ4_decompress_safe ((const char *) src, (char *) dst + out, (int) clen, (int) ulen);
        if (r < 0 || (uint32_t) r != ulen)
            return -1;
        out += ulen;
        src += clen;
        n -= clen;
    }
    return n == 0 && out == dst_len ? 0 : -1;
}

void
tl_pq_decompress_end (void **ctx)
{
    if (ctx && *ctx) {
        ZSTD_freeDCtx (*ctx);
        *ctx = NULL;
    }
}

int
tl_pq_decompress (int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, void **ctx, const char **why)
{
    switch (codec) {
        case TL_PQ_UNCOMPRESSED:
            if (n != dst_len) {
                *why = "uncompressed page size differs from its compressed size";
                return TL_EPROTO;
            }
            memcpy (dst, src, n);
            return 0;
        case TL_PQ_SNAPPY: {
            size_t ulen;
            if (snappy_uncompressed_length ((const char *) src, n, &ulen) != SNAPPY_OK || ulen != dst_len) {
                *why = "SNAPPY page length differs from its promised size";
                return TL_EPROTO;
            }
            if (snappy_uncompress ((const char *) src, n, (char *) dst, &ulen) != SNAPPY_OK || ulen != dst_len) {
                *why = "corrupt SNAPPY page";
                return TL_EPROTO;
            }
            return 0;
        }
        case TL_PQ_GZIP:
            return s_gzip (src, n, dst, dst_len, why);
        case TL_PQ_ZSTD: {
            if (ctx && !*ctx && !(*ctx = ZSTD_createDCtx ()))
                return TL_ENOMEM;
            size_t r = ctx ? ZSTD_decompressDCtx (*ctx, dst, dst_len, src, n) : ZSTD_decompress (dst, dst_len, src, n);
            if (ZSTD_isError (r)) {
                *why = ZSTD_getErrorName (r);
                return TL_EPROTO;
            }
            if (r != dst_len) {
                *why = "ZSTD page inflates to fewer bytes than promised";
                return TL_EPROTO;
            }
            return 0;
        }
        case TL_PQ_LZ4_RAW: case TL_PQ_LZ4: {
            if (codec == TL_PQ_LZ4 && s_hadoop_lz4 (src, n, dst, dst_len) == 0)
                return 0;
            if (n > INT32_MAX || dst_len > INT32_MAX) {
                *why = "LZ4 page too large";
                return TL_EPROTO;
            }
            int r = LZ4_decompress_safe ((const char *) src, (char *) dst, (int) n, (int) dst_len);
            if (r < 0 || (size_t) r != dst_len) {
                *why = "corrupt LZ4 page, or not its promised size";
                return TL_EPROTO;
            }
            return 0;
        }
        case TL_PQ_BROTLI: {
            size_t out = dst_len;
            if (BrotliDecoderDecompress (n, src, &out, dst) != BROTLI_DECODER_RESULT_SUCCESS || out != dst_len) {
                *why = "corrupt BROTLI page, or not its promised size";
                return TL_EPROTO;
            }
            return 0;
        }
        default:
            *why = codec == TL_PQ_LZO ? "the LZO codec is not supported" : "unknown compression codec";
            return TL_EINVAL;
    }
}
