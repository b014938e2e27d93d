/*  encoding.c — streaming value decoders (see encoding.h).

    Every decoder checks, before it copies or points at anything, that the bytes exist: PLAIN
    by the cursor, BYTE_STREAM_SPLIT by its stream length, the delta family by their headers
    and miniblock sizes. The delta arithmetic is done in uint64_t, so hostile deltas wrap as
    the spec says instead of overflowing a signed type. The end of a delta stream (where the
    byte data of DELTA_LENGTH_BYTE_ARRAY starts) is found by walking block headers only, which
    costs one step per block, and every block takes at least one byte. */
#include "lib/core/parquet/encoding.h"
#include "lib/base/err.h"
#include <stdlib.h>
#include <string.h>

uint32_t
tl_pq_value_size (tl_pq_type_t type, uint32_t width)
{
    switch (type) {
        case TL_PQ_BOOLEAN: return 1;
        case TL_PQ_INT32: case TL_PQ_FLOAT: return 4;
        case TL_PQ_INT64: case TL_PQ_DOUBLE: return 8;
        case TL_PQ_INT96: return 12;
        case TL_PQ_BYTE_ARRAY: return (uint32_t) sizeof (tl_pq_bytes_t);
        default: return width;
    }
}

void
tl_pq_values_set (tl_pq_values_t *v, tl_pq_type_t type, uint32_t width, const void *data, size_t n)
{
    memset (v, 0, sizeof *v);
    v->type = type;
    v->width = tl_pq_value_size (type, width);
    v->n = n;
    switch (type) {
        case TL_PQ_INT32: v->i32 = data; break;
        case TL_PQ_INT64: v->i64 = data; break;
        case TL_PQ_FLOAT: v->f32 = data; break;
        case TL_PQ_DOUBLE: v->f64 = data; break;
        case TL_PQ_BYTE_ARRAY: v->ba = data; break;
        default: v->fixed = data;
    }
}

static inline uint64_t
s_unzigzag (uint64_t z)
{
    return (z >> 1) ^ (~(z & 1) + 1);
}

/*  The spec asks for blocks of a multiple of 128 values and miniblocks of a multiple of 32;
    the decoder needs only whole bytes per miniblock (a multiple of 8 values), so it accepts
    the spec's own worked examples, which use blocks of 8. */
static bool
s_delta_header (const uint8_t **p, const uint8_t *end, uint64_t *bs, uint64_t *mbc, uint64_t *total,
                uint64_t *first, const char **why)
{
    uint64_t z;
    if (!tl_pq_uleb (p, end, bs) || !tl_pq_uleb (p, end, mbc) || !tl_pq_uleb (p, end, total)
        || !tl_pq_uleb (p, end, &z)) {
        *why = "truncated DELTA_BINARY_PACKED header";
        return false;
    }
    if (*bs == 0 || *bs > ((uint64_t) 1 << 31) || *mbc == 0 || *bs % *mbc || (*bs / *mbc) % 8) {
        *why = "bad DELTA_BINARY_PACKED block or miniblock size";
        return false;
    }
    if (*total > ((uint64_t) 1 << 40)) {
        *why = "DELTA_BINARY_PACKED value count too large";
        return false;
    }
    *first = s_unzigzag (z);
    return true;
}

bool
tl_pq_delta_init (tl_pq_delta_t *d, const uint8_t *buf, size_t len)
{
    memset (d, 0, sizeof *d);
    d->p = buf;
    d->end = buf + len;
    if (!s_delta_header (&d->p, d->end, &d->block_size, &d->mb_count, &d->total, &d->last, &d->err))
        return false;
    d->mb_size = d->block_size / d->mb_count;
    return true;
}

static bool
s_delta_miniblock (tl_pq_delta_t *d)
{
    int bw = d->widths [d->mb_index];
    if (bw > 64) {
        d->err = "DELTA_BINARY_PACKED bit width above 64";
        return false;
    }
    uint64_t bytes = d->mb_size * (uint64_t) bw / 8, avail = (uint64_t) (d->end - d->p);
    if (bytes > avail) {
        /* a last miniblock may lack its padding: enough if the values still wanted fit */
        uint64_t want = d->total - d->done;
        if (want > d->mb_size || (want * (uint64_t) bw + 7) / 8 > avail) {
            d->err = "truncated DELTA_BINARY_PACKED miniblock";
            return false;
        }
        bytes = avail;
    }
    d->mb_bw = bw;
    d->mb_data = d->p;
    d->mb_len = (size_t) bytes;
    d->p += bytes;
    d->mb_pos = 0;
    return true;
}

bool
tl_pq_delta_get (tl_pq_delta_t *d, uint64_t *out, size_t n)
{
    size_t i = 0;
    if (d->err)
        return false;
    while (i < n) {
        if (d->done >= d->total) {
            d->err = "DELTA_BINARY_PACKED stream holds fewer values than the page";
            return false;
        }
        if (d->done == 0) {
            out [i++] = d->last;
            d->done = 1;
            continue;
        }
        if (!d->in_block) {
            uint64_t z;
            if (!tl_pq_uleb (&d->p, d->end, &z) || (uint64_t) (d->end - d->p) < d->mb_count) {
                d->err = "truncated DELTA_BINARY_PACKED block header";
                return false;
            }
            d->min_delta = s_unzigzag (z);
            d->widths = d->p;
            d->p += d->mb_count;
            d->mb_index = 0;
            d->in_block = true;
            if (!s_delta_miniblock (d))
                return false;
        } else if (d->mb_pos == d->mb_size) {
            if (++d->mb_index == d->mb_count) {
                d->in_block = false;
                continue;
            }
            if (!s_delta_miniblock (d))
                return false;
        }
        uint64_t k = n - i;
        if (k > d->mb_size - d->mb_pos) k = d->mb_size - d->mb_pos;
        if (k > d->total - d->done) k = d->total - d->done;
        tl_pq_unpack64 (d->mb_data, d->mb_len, d->mb_pos, d->mb_bw, out + i, (size_t) k);
        uint64_t last = d->last, md = d->min_delta;
        for (uint64_t j = 0; j < k; j++) {
            last += md + out [i + j];
            out [i + j] = last;
        }
        d->last = last;
        d->mb_pos += k;
        d->done += k;
        i += (size_t) k;
    }
    return true;
}

const uint8_t *
tl_pq_delta_end (const uint8_t *buf, size_t len, const char **why)
{
    const uint8_t *p = buf, *end = buf + len;
    uint64_t bs, mbc, total, first;
    if (!s_delta_header (&p, end, &bs, &mbc, &total, &first, why))
        return NULL;
    uint64_t mbs = bs / mbc, left = total ? total - 1 : 0;
    while (left) {
        uint64_t z;
        if (!tl_pq_uleb (&p, end, &z) || (uint64_t) (end - p) < mbc) {
            *why = "truncated DELTA_BINARY_PACKED block header";
            return NULL;
        }
        const uint8_t *w = p;
        p += mbc;
        for (uint64_t m = 0; m < mbc && left; m++) {
            if (w [m] > 64) {
                *why = "DELTA_BINARY_PACKED bit width above 64";
                return NULL;
            }
            uint64_t bytes = mbs * w [m] / 8;
            if (bytes > (uint64_t) (end - p)) {
                *why = "truncated DELTA_BINARY_PACKED miniblock";
                return NULL;
            }
            p += bytes;
            left -= left < mbs ? left : mbs;
        }
    }
    return p;
}

int
tl_pq_dec_init (tl_pq_dec_t *d, int encoding, tl_pq_type_t type, uint32_t width,
                const uint8_t *buf, size_t len, size_t cap)
{
    memset (d, 0, sizeof *d);
    d->encoding = encoding;
    d->type = type;
    d->width = tl_pq_value_size (type, width);
    d->p = buf;
    d->end = buf + len;
    d->cap = cap;
    bool fixed_num = type == TL_PQ_INT32 || type == TL_PQ_INT64 || type == TL_PQ_FLOAT || type == TL_PQ_DOUBLE;
    switch (encoding) {
        case TL_PQ_PLAIN:
            return 0;
        case TL_PQ_RLE:
            if (type != TL_PQ_BOOLEAN)
                break;
            if (len < 4) {
                d->err = "RLE boolean values without their length";
                return TL_EPROTO;
            }
            {
                uint32_t n = (uint32_t) buf [0] | (uint32_t) buf [1] << 8 | (uint32_t) buf [2] << 16 | (uint32_t) buf [3] << 24;
                if (n > len - 4) {
                    d->err = "RLE boolean length past the end of the page";
                    return TL_EPROTO;
                }
                tl_pq_rle_init (&d->rle, buf + 4, n, 1);
            }
            return 0;
        case TL_PQ_DELTA_BINARY_PACKED:
            if (type != TL_PQ_INT32 && type != TL_PQ_INT64)
                break;
            return tl_pq_delta_init (&d->d1, buf, len) ? 0 : (d->err = d->d1.err, TL_EPROTO);
        case TL_PQ_DELTA_LENGTH_BYTE_ARRAY:
            if (type != TL_PQ_BYTE_ARRAY)
                break;
            if (!tl_pq_delta_init (&d->d1, buf, len) || !(d->p = tl_pq_delta_end (buf, len, &d->err))) {
                if (!d->err) d->err = d->d1.err;
                return TL_EPROTO;
            }
            return 0;
        case TL_PQ_DELTA_BYTE_ARRAY: {
            if (type != TL_PQ_BYTE_ARRAY && type != TL_PQ_FIXED_LEN_BYTE_ARRAY)
                break;
            const uint8_t *e1, *e2;
            if (!tl_pq_delta_init (&d->d1, buf, len) || !(e1 = tl_pq_delta_end (buf, len, &d->err))
                || !tl_pq_delta_init (&d->d2, e1, (size_t) (d->end - e1))
                || !(e2 = tl_pq_delta_end (e1, (size_t) (d->end - e1), &d->err))) {
                if (!d->err) d->err = d->d1.err ? d->d1.err : d->d2.err;
                return TL_EPROTO;
            }
            d->p = e2;
            return 0;
        }
        case TL_PQ_BYTE_STREAM_SPLIT:
            if (!fixed_num && type != TL_PQ_FIXED_LEN_BYTE_ARRAY)
                break;
            if (d->width == 0 || len % d->width) {
                d->err = "BYTE_STREAM_SPLIT data is not a whole number of values";
                return TL_EPROTO;
            }
            d->bss = buf;
            d->bss_n = len / d->width;
            return 0;
        default:
            break;
    }
    d->err = "encoding not supported for this physical type";
    return TL_EINVAL;
}

void
tl_pq_dec_free (tl_pq_dec_t *d)
{
    free (d->last);
    free (d->tmp);
    d->last = NULL;
    d->tmp = NULL;
    d->last_cap = d->tmp_cap = 0;
}

static int
s_tmp (tl_pq_dec_t *d, size_t n)
{
    if (n <= d->tmp_cap)
        return 0;
    uint64_t *t = realloc (d->tmp, n * sizeof *t);
    if (!t)
        return TL_ENOMEM;
    d->tmp = t;
    d->tmp_cap = n;
    return 0;
}

static int
s_plain (tl_pq_dec_t *d, void *out, size_t n)
{
    size_t avail = (size_t) (d->end - d->p);
    if (d->type == TL_PQ_BOOLEAN) {
        uint8_t *o = out;
        if (d->bit + n > (uint64_t) avail * 8) {
            d->err = "PLAIN booleans past the end of the page";
            return TL_EPROTO;
        }
        for (size_t i = 0; i < n; i++, d->bit++)
            o [i] = (d->p [d->bit >> 3] >> (d->bit & 7)) & 1;
        return 0;
    }
    if (d->type == TL_PQ_BYTE_ARRAY) {
        tl_pq_bytes_t *o = out;
        const uint8_t *p = d->p, *end = d->end;
        for (size_t i = 0; i < n; i++) {
            if (end - p < 4) {
                d->err = "PLAIN byte array length past the end of the page";
                return TL_EPROTO;
            }
            uint32_t len = (uint32_t) p [0] | (uint32_t) p [1] << 8 | (uint32_t) p [2] << 16 | (uint32_t) p [3] << 24;
            p += 4;
            if (len > (size_t) (end - p)) {
                d->err = "PLAIN byte array past the end of the page";
                return TL_EPROTO;
            }
            o [i].p = p;
            o [i].len = len;
            p += len;
        }
        d->p = p;
        return 0;
    }
    if (d->width && n > avail / d->width) {
        d->err = "PLAIN values past the end of the page";
        return TL_EPROTO;
    }
    memcpy (out, d->p, n * d->width);
    d->p += n * d->width;
    return 0;
}

static int
s_dlba (tl_pq_dec_t *d, tl_pq_bytes_t *o, size_t n)
{
    if (s_tmp (d, n))
        return TL_ENOMEM;
    if (!tl_pq_delta_get (&d->d1, d->tmp, n)) {
        d->err = d->d1.err;
        return TL_EPROTO;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t len = d->tmp [i];
        if (len > INT32_MAX || len > (uint64_t) (d->end - d->p)) {
            d->err = "DELTA_LENGTH_BYTE_ARRAY length negative or past the end of the page";
            return TL_EPROTO;
        }
        o [i].p = d->p;
        o [i].len = (uint32_t) len;
        d->p += len;
    }
    return 0;
}

static int
s_dba (tl_pq_dec_t *d, void *out, size_t n, tl_pq_buf_t *arena)
{
    if (s_tmp (d, 2 * n))
        return TL_ENOMEM;
    uint64_t *pre = d->tmp, *suf = d->tmp + n;
    if (!tl_pq_delta_get (&d->d1, pre, n) || !tl_pq_delta_get (&d->d2, suf, n)) {
        d->err = d->d1.err ? d->d1.err : d->d2.err;
        return TL_EPROTO;
    }
    bool flba = d->type == TL_PQ_FIXED_LEN_BYTE_ARRAY;
    if (!flba && !arena->p) {       /* empty values too need a real pointer to point at */
        if (!(arena->p = malloc (64)))
            return TL_ENOMEM;
        arena->cap = 64;
    }
    size_t base = arena->len;
    for (size_t i = 0; i < n; i++) {
        if (pre [i] > d->last_len || suf [i] > (uint64_t) (d->end - d->p)) {
            d->err = "DELTA_BYTE_ARRAY prefix longer than the previous value, or suffix past the page";
            return TL_EPROTO;
        }
        size_t len = (size_t) (pre [i] + suf [i]);
        if (flba && len != d->width) {
            d->err = "DELTA_BYTE_ARRAY value length differs from the fixed length";
            return TL_EPROTO;
        }
        if (len > d->cap || (!flba && arena->len + len > d->cap)) {
            d->err = "DELTA_BYTE_ARRAY values exceed the decoded size cap";
            return TL_EPROTO;
        }
        if (len > d->last_cap) {
            size_t cap = len * 2 > 64 ? len * 2 : 64;
            if (cap > d->cap) cap = len;
            uint8_t *l = realloc (d->last, cap);
            if (!l)
                return TL_ENOMEM;
            d->last = l;
            d->last_cap = cap;
        }
        /* memcpy wants real pointers even for no bytes, and last is NULL until a value of a
           page has some (a page may start with empty strings) */
        if (suf [i])
            memcpy (d->last + pre [i], d->p, (size_t) suf [i]);
        d->p += suf [i];
        d->last_len = len;
        if (flba) {
            if (len)
                memcpy ((uint8_t *) out + i * d->width, d->last, len);
            continue;
        }
        if (arena->len + len > arena->cap) {
            size_t cap = (arena->len + len) * 2;
            uint8_t *a = realloc (arena->p, cap ? cap : 64);
            if (!a)
                return TL_ENOMEM;
            arena->p = a;
            arena->cap = cap ? cap : 64;
        }
        if (len)
            memcpy (arena->p + arena->len, d->last, len);
        ((tl_pq_bytes_t *) out) [i].p = (const uint8_t *) (uintptr_t) (arena->len - base);
        ((tl_pq_bytes_t *) out) [i].len = (uint32_t) len;
        arena->len += len;
    }
    if (!flba)      /* the arena may have moved while it grew: offsets become pointers now */
        for (size_t i = 0; i < n; i++) {
            tl_pq_bytes_t *b = &((tl_pq_bytes_t *) out) [i];
            b->p = arena->p + base + (size_t) (uintptr_t) b->p;
        }
    return 0;
}

int
tl_pq_dec_get (tl_pq_dec_t *d, void *out, size_t n, tl_pq_buf_t *arena)
{
    if (n == 0)
        return 0;
    if (d->err)
        return TL_EPROTO;
    switch (d->encoding) {
        case TL_PQ_PLAIN:
            return s_plain (d, out, n);
        case TL_PQ_RLE: {
            if (s_tmp (d, (n + 1) / 2))
                return TL_ENOMEM;
            uint32_t *t = (uint32_t *) d->tmp;
            if (tl_pq_rle_get (&d->rle, t, n) < n) {
                d->err = d->rle.err ? d->rle.err : "RLE booleans shorter than the page";
                return TL_EPROTO;
            }
            for (size_t i = 0; i < n; i++)
                ((uint8_t *) out) [i] = t [i] != 0;
            return 0;
        }
        case TL_PQ_DELTA_BINARY_PACKED: {
            if (d->type == TL_PQ_INT64) {
                if (!tl_pq_delta_get (&d->d1, out, n)) {
                    d->err = d->d1.err;
                    return TL_EPROTO;
                }
                return 0;
            }
            if (s_tmp (d, n))
                return TL_ENOMEM;
            if (!tl_pq_delta_get (&d->d1, d->tmp, n)) {
                d->err = d->d1.err;
                return TL_EPROTO;
            }
            for (size_t i = 0; i < n; i++)
                ((int32_t *) out) [i] = (int32_t) (uint32_t) d->tmp [i];
            return 0;
        }
        case TL_PQ_DELTA_LENGTH_BYTE_ARRAY:
            return s_dlba (d, out, n);
        case TL_PQ_DELTA_BYTE_ARRAY:
            return s_dba (d, out, n, arena);
        case TL_PQ_BYTE_STREAM_SPLIT: {
            if (n > d->bss_n - d->bss_i) {
                d->err = "BYTE_STREAM_SPLIT holds fewer values than the page";
                return TL_EPROTO;
            }
            uint8_t *o = out;
            size_t k = d->width, N = d->bss_n;
            for (size_t s = 0; s < k; s++) {
                const uint8_t *src = d->bss + s * N + d->bss_i;
                for (size_t i = 0; i < n; i++)
                    o [i * k + s] = src [i];
            }
            d->bss_i += n;
            return 0;
        }
    }
    d->err = "unsupported encoding";
    return TL_EINVAL;
}

int
tl_pq_dec_view (tl_pq_dec_t *d, size_t n, const uint8_t **out)
{
    *out = NULL;
    if (d->encoding != TL_PQ_PLAIN || d->type == TL_PQ_BOOLEAN || d->type == TL_PQ_BYTE_ARRAY || !d->width)
        return 0;
    if (d->err)
        return TL_EPROTO;
    if (n > (size_t) (d->end - d->p) / d->width) {
        d->err = "PLAIN values past the end of the page";
        return TL_EPROTO;
    }
    *out = d->p;
    d->p += n * d->width;
    return 0;
}

int
tl_pq_plain_decode (tl_pq_type_t type, uint32_t width, const uint8_t *buf, size_t len, size_t n,
                    void *out, const char **why)
{
    tl_pq_dec_t d;
    tl_pq_dec_init (&d, TL_PQ_PLAIN, type, width, buf, len, 0);
    int rc = tl_pq_dec_get (&d, out, n, NULL);
    *why = d.err;
    return rc;
}
