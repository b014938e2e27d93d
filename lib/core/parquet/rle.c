/*  rle.c — the RLE/bit-packed hybrid decoder (see rle.h).

    Bit-packed values are little-endian bit strings: value i of width w occupies bits
    [i*w, i*w+w) counting from bit 0 of byte 0. Where eight bytes can be loaded past the value
    without leaving the buffer, one unaligned 64-bit load and a shift extract it (w ≤ 32 fits
    with room for the 0..7-bit shift); within the last bytes a byte loop does the same. */
#include "lib/core/parquet/rle.h"
#include <string.h>

int
tl_pq_bit_width (uint64_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

bool
tl_pq_uleb (const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return false;
        uint8_t b = *p++;
        if (shift == 63 && (b & 0x7e))
            return false;
        r |= (uint64_t) (b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            *pp = p;
            return true;
        }
    }
    return false;
}

static inline uint64_t
s_load64 (const uint8_t *p)
{
    uint64_t v;
    memcpy (&v, p, 8);      /* little-endian hosts only (x86-64, arm64) */
    return v;
}

static uint64_t
s_slow_bits (const uint8_t *data, size_t len, uint64_t bit, int bw)
{
    uint64_t v = 0;
    for (int k = 0; k < bw; k++, bit++) {
        size_t byte = (size_t) (bit >> 3);
        if (byte < len && (data [byte] >> (bit & 7)) & 1)
            v |= (uint64_t) 1 << k;
    }
    return v;
}

/*  Whole groups of 8 values with the width fixed at compile time, so every shift and load
    offset is a constant: the hot loop of dictionary indices. Each group reads up to 8 bytes
    past its own bw bytes; the caller leaves that much room. */
#define S_UP(BW)                                                                        \
    static void s_up##BW (const uint8_t *p, uint32_t *o, size_t groups)                \
    {                                                                                   \
        const uint64_t mask = ((uint64_t) 1 << BW) - 1;                                \
        for (size_t g = 0; g < groups; g++, p += BW, o += 8) {                         \
            _Pragma ("GCC unroll 8")                                                   \
            for (int j = 0; j < 8; j++)                                                 \
                o [j] = (uint32_t) ((s_load64 (p + ((j * BW) >> 3)) >> ((j * BW) & 7)) & mask); \
        }                                                                               \
    }
S_UP (1) S_UP (2) S_UP (3) S_UP (4) S_UP (5) S_UP (6) S_UP (7) S_UP (8) S_UP (9) S_UP (10) S_UP (11)
S_UP (12) S_UP (13) S_UP (14) S_UP (15) S_UP (16) S_UP (17) S_UP (18) S_UP (19) S_UP (20) S_UP (21)
S_UP (22) S_UP (23) S_UP (24) S_UP (25) S_UP (26) S_UP (27) S_UP (28) S_UP (29) S_UP (30) S_UP (31)
S_UP (32)

static void (*const s_up [33]) (const uint8_t *, uint32_t *, size_t) = {
    NULL, s_up1, s_up2, s_up3, s_up4, s_up5, s_up6, s_up7, s_up8, s_up9, s_up10, s_up11, s_up12, s_up13,
    s_up14, s_up15, s_up16, s_up17, s_up18, s_up19, s_up20, s_up21, s_up22, s_up23, s_up24, s_up25, s_up26,
    s_up27, s_up28, s_up29, s_up30, s_up31, s_up32,
};

void
tl_pq_unpack32 (const uint8_t *data, size_t len, uint64_t first, int bw, uint32_t *out, size_t n)
{
    if (bw == 0) {
        memset (out, 0, n * sizeof *out);
        return;
    }
    uint64_t mask = ((uint64_t) 1 << bw) - 1;
    uint64_t bit = first * (uint64_t) bw;
    size_t i = 0;
    for (; i < n && (first + i) % 8; i++, bit += (uint64_t) bw)   /* up to a group boundary */
        out [i] = len >= 8 && bit >> 3 <= len - 8 ? (uint32_t) ((s_load64 (data + (bit >> 3)) >> (bit & 7)) & mask)
                                                   : (uint32_t) s_slow_bits (data, len, bit, bw);
    if (bw <= 32 && len >= 8) {
        /* whole groups while each group's bytes plus 8 spare stay inside the buffer */
        size_t byte = (size_t) (bit >> 3), room = len - 8 > byte ? len - 8 - byte : 0;
        size_t groups = (n - i) / 8, fit = room / (size_t) bw;
        if (groups > fit) groups = fit;
        if (groups && byte <= len - 8) {
            s_up [bw] (data + byte, out + i, groups);
            i += groups * 8;
            bit += (uint64_t) groups * 8 * (uint64_t) bw;
        }
        uint64_t fast_end = (uint64_t) (len - 8) * 8;
        for (; i < n && bit <= fast_end; i++, bit += (uint64_t) bw)
            out [i] = (uint32_t) ((s_load64 (data + (bit >> 3)) >> (bit & 7)) & mask);
    }
    for (; i < n; i++, bit += (uint64_t) bw)
        out [i] = (uint32_t) s_slow_bits (data, len, bit, bw);
}

void
tl_pq_unpack64 (const uint8_t *data, size_t len, uint64_t first, int bw, uint64_t *out, size_t n)
{
    if (bw == 0) {
        memset (out, 0, n * sizeof *out);
        return;
    }
    uint64_t mask = bw == 64 ? ~(uint64_t) 0 : ((uint64_t) 1 << bw) - 1;
    uint64_t bit = first * (uint64_t) bw;
    size_t i = 0;
    if (len >= 16) {
        uint64_t fast_end = (uint64_t) (len - 16) * 8;
        for (; i < n && bit <= fast_end; i++, bit += (uint64_t) bw) {
            const uint8_t *p = data + (bit >> 3);
            unsigned s = (unsigned) (bit & 7);
            uint64_t lo = s_load64 (p), hi = s_load64 (p + 8);
            uint64_t v = s ? (lo >> s) | (hi << (64 - s)) : lo;
            out [i] = v & mask;
        }
    }
    for (; i < n; i++, bit += (uint64_t) bw)
        out [i] = s_slow_bits (data, len, bit, bw);
}

void
tl_pq_rle_init (tl_pq_rle_t *r, const uint8_t *buf, size_t len, int bw)
{
    memset (r, 0, sizeof *r);
    r->p = buf;
    r->end = buf + len;
    r->bw = bw;
    if (bw < 0 || bw > 32)
        r->err = "RLE bit width above 32";
}

void
tl_pq_rle_init_msb (tl_pq_rle_t *r, const uint8_t *buf, size_t len, int bw, uint64_t count)
{
    tl_pq_rle_init (r, buf, len, bw);
    r->msb = true;
    r->lit = true;
    r->bp = buf;
    r->bp_end = buf + len;
    r->left = count;
    r->p = r->end;
    if (!r->err && (uint64_t) len * 8 / (bw ? (uint64_t) bw : 1) < (bw ? count : 0))
        r->err = "BIT_PACKED levels longer than the page";
}

/*  Load the next run header. false at the end of data or on error. */
static bool
s_next_header (tl_pq_rle_t *r)
{
    while (r->left == 0) {
        if (r->err || r->p >= r->end || r->msb)
            return false;
        uint64_t h;
        if (!tl_pq_uleb (&r->p, r->end, &h)) {
            r->err = "truncated RLE run header";
            return false;
        }
        if (h & 1) {
            uint64_t groups = h >> 1;
            size_t avail = (size_t) (r->end - r->p);
            uint64_t bytes = groups * (uint64_t) r->bw;
            if (groups > ((uint64_t) 1 << 40)) {
                r->err = "bit-packed run too long";
                return false;
            }
            uint64_t vals = groups * 8;
            if (bytes > avail) {         /* a last run cut short: keep the values present */
                vals = r->bw ? (uint64_t) avail * 8 / (uint64_t) r->bw : vals;
                bytes = avail;
            }
            r->lit = true;
            r->bp = r->p;
            r->bp_end = r->p + bytes;
            r->bp_pos = 0;
            r->left = vals;
            r->p += bytes;
        } else {
            uint64_t count = h >> 1;
            size_t vb = (size_t) (r->bw + 7) / 8;
            if ((size_t) (r->end - r->p) < vb) {
                r->err = "truncated RLE run value";
                return false;
            }
            uint32_t v = 0;
            for (size_t k = 0; k < vb; k++)
                v |= (uint32_t) r->p [k] << (8 * k);
            r->p += vb;
            if (count > ((uint64_t) 1 << 40)) {
                r->err = "RLE run too long";
                return false;
            }
            r->lit = false;
            r->value = v;
            r->left = count;
        }
    }
    return true;
}

static void
s_unpack_msb (tl_pq_rle_t *r, uint32_t *out, size_t n)
{
    size_t len = (size_t) (r->bp_end - r->bp);
    for (size_t i = 0; i < n; i++) {
        uint64_t bit = (r->bp_pos + i) * (uint64_t) r->bw;
        uint32_t v = 0;
        for (int k = 0; k < r->bw; k++, bit++) {
            size_t byte = (size_t) (bit >> 3);
            v = v << 1 | (byte < len ? (r->bp [byte] >> (7 - (bit & 7))) & 1 : 0);
        }
        out [i] = v;
    }
}

int
tl_pq_rle_run (tl_pq_rle_t *r, size_t max, uint32_t *value, uint32_t *lit, size_t *n)
{
    *n = 0;
    if (r->err)
        return -1;
    if (max == 0 || !s_next_header (r))
        return r->err ? -1 : 0;
    size_t k = r->left < max ? (size_t) r->left : max;
    *n = k;
    r->left -= k;
    if (!r->lit) {
        *value = r->value;
        return 1;
    }
    if (r->msb)
        s_unpack_msb (r, lit, k);
    else
        /* The run's values lie inside [bp, bp_end); the bytes after it up to the end of the
           stream may be loaded too, so that a short run (the writer's next RLE run follows
           it) still unpacks by whole groups rather than value by value near its end. */
        tl_pq_unpack32 (r->bp, (size_t) (r->end - r->bp), r->bp_pos, r->bw, lit, k);
    r->bp_pos += k;
    return 2;
}

bool
tl_pq_rle_take_uniform (tl_pq_rle_t *r, size_t n, uint32_t *value)
{
    if (r->err || !s_next_header (r) || r->lit || r->left < n)
        return false;
    r->left -= n;
    *value = r->value;
    return true;
}

size_t
tl_pq_rle_get (tl_pq_rle_t *r, uint32_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        uint32_t v;
        size_t k;
        int t = tl_pq_rle_run (r, n - got, &v, out + got, &k);
        if (t <= 0)
            break;
        if (t == 1)
            for (size_t i = 0; i < k; i++)
                out [got + i] = v;
        got += k;
    }
    return got;
}

/*  Set bits of x. Written out: without -mpopcnt (the build targets any x86-64) the builtin
    is a call into libgcc per word. */
static inline uint64_t
s_pop64 (uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (x * 0x0101010101010101ULL) >> 56;
}

/*  Set bits among bits [first, first + n) of data; the caller guarantees they exist. */
static uint64_t
s_ones (const uint8_t *data, uint64_t first, size_t n)
{
    uint64_t c = 0, bit = first, end = first + n;
    for (; bit < end && (bit & 7); bit++)
        c += (data [bit >> 3] >> (bit & 7)) & 1;
    for (; bit + 64 <= end; bit += 64)
        c += s_pop64 (s_load64 (data + (bit >> 3)));
    for (; bit + 8 <= end; bit += 8)
        c += s_pop64 (data [bit >> 3]);
    for (; bit < end; bit++)
        c += (data [bit >> 3] >> (bit & 7)) & 1;
    return c;
}

size_t
tl_pq_rle_count (tl_pq_rle_t *r, size_t n, uint32_t value, uint64_t *eq, uint64_t *above)
{
    size_t got = 0;
    uint32_t tmp [256];
    while (got < n) {
        if (r->err || !s_next_header (r))
            break;
        size_t k = r->left < n - got ? (size_t) r->left : n - got;
        if (!r->lit) {
            *eq += r->value == value ? k : 0;
            *above += r->value > value ? k : 0;
        } else if (r->bw == 1 && !r->msb) {
            /* levels of a flat OPTIONAL column: the ones are the non-null rows */
            uint64_t ones = s_ones (r->bp, r->bp_pos, k);
            *eq += value == 1 ? ones : value == 0 ? k - ones : 0;
            *above += value == 0 ? ones : 0;
            r->bp_pos += k;
        } else {
            for (size_t done = 0; done < k;) {
                size_t m = k - done < 256 ? k - done : 256;
                if (r->msb)
                    s_unpack_msb (r, tmp, m);
                else
                    tl_pq_unpack32 (r->bp, (size_t) (r->end - r->bp), r->bp_pos, r->bw, tmp, m);
                r->bp_pos += m;
                for (size_t i = 0; i < m; i++) {
                    *eq += tmp [i] == value;
                    *above += tmp [i] > value;
                }
                done += m;
            }
        }
        r->left -= k;
        got += k;
    }
    return got;
}
