/*  csv_bulk.c — bulk row scanning: the SIMD line hop, its pre-aggregation, and which scanner runs.

    The bulk scanners take a run of complete lines, [i, lim) of buf, lim just past a newline,
    starting at a record start, and count them with the same rules as tl_csv_count_record. Each
    returns where it stopped and how (*how): at lim (TL_CSV_BULK_ALL), at the first record at or
    past the range end (TL_CSV_BULK_END), or at the start of a record that goes on past lim
    (TL_CSV_BULK_OPEN: the caller carries it).

    scalar (csv_line.c): memchr for the line, then the commas up to the column (tl_csv_line). A
    memchr for the next quote, redone only when passed, sends a line that holds one to the record
    path. sse2/avx2 ("line hop", here): one 64-byte look at the start of a line gives bit masks
    of '\n', ',' and '"' or '\r' (one mask: either is rare, but for the CR of a CRLF). Clearing the lowest `col` comma bits leaves the value's first and last
    comma, so the value is found in a few instructions without walking the line. Then the scanner
    jumps to the line's newline with 32- (or 16-) byte compares that look for '"' and '\r' as
    well, and at nothing else: the columns after the value are never parsed. A line with a quote
    anywhere (it may start a multi-line record), a CR other than its CRLF's (a lone CR: a bad row,
    csv.h), or over TL_CSV_LINE_MAX goes to the record path
    (tl_csv_slow_record). Any other line the fast path cannot settle (a blank line, a row with
    too few columns, a value not inside the first 64 bytes) goes to tl_csv_line, which knows
    every rule. Compared with walking every comma and newline bit of every 64-byte block, this
    costs about a third of the instructions per TLC row (docs/NOTES.md).

    Pre-aggregation: short keys (up to 8 bytes) are counted in a small direct-mapped cache and
    flushed into the aggregator at the end of every chunk. */
#include "lib/core/csv_int.h"
#include <stdlib.h>
#include <string.h>
#ifdef TL_HAVE_X86
#include <immintrin.h>
#endif

void
tl_csv_pre_flush (tl_csv_t *self)
{
    for (int k = 0; k < 64; k++) {
        if (self->pre [k].len == 0xffffffffu)
            continue;
        /* Short keys always fit the table's limit; only memory can fail. */
        if (tl_agg_add (self->agg, (const char *) &self->pre [k].key, self->pre [k].len, self->pre [k].count) != 0)
            self->nomem = true;
        self->pre [k].len = 0xffffffffu;
    }
}

/*  Count one more row of a key of at most 8 bytes, held in `key` (little-endian, zero above). */
static inline void
s_pre_add (tl_csv_t *self, uint64_t key, size_t n)
{
    unsigned slot = (unsigned) (((key ^ n) * 0x9E3779B97F4A7C15ULL) >> 58);
    if (self->pre [slot].key == key && self->pre [slot].len == n) {
        self->pre [slot].count++;
        return;
    }
    if (self->pre [slot].len != 0xffffffffu
        && tl_agg_add (self->agg, (const char *) &self->pre [slot].key, self->pre [slot].len, self->pre [slot].count))
        self->nomem = true;
    self->pre [slot].key = key;
    self->pre [slot].len = (uint32_t) n;
    self->pre [slot].count = 1;
}

static inline void
s_emit (tl_csv_t *self, const char *v, const char *ve)
{
    s_trim (&v, &ve);
    size_t n = (size_t) (ve - v);
    if (n <= 8) {
        uint64_t key = 0;
        memcpy (&key, v, n);
        self->st.rows++;
        s_pre_add (self, key, n);
        return;
    }
    s_count (self, v, n);
}

/*  The value [vs, ve) of the line at p, where p has at least 64 readable bytes. A short value
    that needs no trimming (the common TLC case: "1") is read with one 8-byte load. Inlined by
    force: GCC would call it, and the call costs more per row than the hop's quote checks. */
static inline __attribute__ ((always_inline)) void
s_emit_at (tl_csv_t *self, const char *p, unsigned vs, unsigned ve)
{
    unsigned n = ve - vs;
    if (n <= 8 && vs + 8 <= 64) {
        uint64_t key;
        memcpy (&key, p + vs, 8);
        if (n < 8)
            key &= (1ULL << (8 * n)) - 1;
        unsigned first = (unsigned) (key & 0xff), last = n ? (unsigned) (key >> (8 * (n - 1))) & 0xff : 'x';
        if (first != ' ' && first != '\t' && last != ' ' && last != '\t' && last != '\r') {
            self->st.rows++;
            s_pre_add (self, key, n);
            return;
        }
    }
    s_emit (self, p + vs, p + ve);
}

#ifdef TL_HAVE_X86
typedef struct {
    uint64_t nl, cm, qc;    /* '\n'; ','; '"' or '\r' (one bit for both: either is rare but for CRLF) */
} s_masks_t;

__attribute__ ((target ("avx2"))) static inline s_masks_t
s_masks_avx2 (const char *p)
{
    __m256i a = _mm256_loadu_si256 ((const __m256i *) p), b = _mm256_loadu_si256 ((const __m256i *) (p + 32));
    __m256i n = _mm256_set1_epi8 ('\n'), c = _mm256_set1_epi8 (','), q = _mm256_set1_epi8 ('"');
    __m256i r = _mm256_set1_epi8 ('\r');
    s_masks_t m;
    m.nl = (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (a, n))
           | ((uint64_t) (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (b, n)) << 32);
    m.cm = (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (a, c))
           | ((uint64_t) (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (b, c)) << 32);
    m.qc = (uint32_t) _mm256_movemask_epi8 (_mm256_or_si256 (_mm256_cmpeq_epi8 (a, q), _mm256_cmpeq_epi8 (a, r)))
           | ((uint64_t) (uint32_t) _mm256_movemask_epi8 (_mm256_or_si256 (_mm256_cmpeq_epi8 (b, q), _mm256_cmpeq_epi8 (b, r)))
              << 32);
    return m;
}

static inline uint64_t
s_mask16 (__m128i v, __m128i x)
{
    return (uint16_t) _mm_movemask_epi8 (_mm_cmpeq_epi8 (v, x));
}

static inline s_masks_t
s_masks_sse2 (const char *p)
{
    __m128i n = _mm_set1_epi8 ('\n'), c = _mm_set1_epi8 (','), q = _mm_set1_epi8 ('"'), r = _mm_set1_epi8 ('\r');
    s_masks_t m = { 0, 0, 0 };
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128 ((const __m128i *) (p + 16 * k));
        m.nl |= s_mask16 (v, n) << (16 * k);
        m.cm |= s_mask16 (v, c) << (16 * k);
        m.qc |= (uint64_t) (uint16_t) _mm_movemask_epi8 (_mm_or_si128 (_mm_cmpeq_epi8 (v, q), _mm_cmpeq_epi8 (v, r)))
                << (16 * k);
    }
    return m;
}

/*  What the newline search stopped at: the newline, or a CR right before it (CRLF: the newline),
    else NULL (a quote, or a lone CR). p [1] is readable: a newline lies before lim. */
static inline const char *
s_nlq_hit (const char *p)
{
    if (*p == '\n')
        return p;
    return *p == '\r' && p [1] == '\n' ? p + 1 : NULL;
}

/*  Find the newline at or after p, or return NULL if a quote or a lone CR comes first (a newline
    is known to lie before lim, and p is at least 64 bytes past the line's start): vector
    compares, then one vector that ends at lim for the tail (the bytes before p in it are the
    line's own, and masked off). */
__attribute__ ((target ("avx2"))) static inline const char *
s_nlq_avx2 (const char *p, const char *lim)
{
    const __m256i n = _mm256_set1_epi8 ('\n'), q = _mm256_set1_epi8 ('"'), r = _mm256_set1_epi8 ('\r');
    while (p + 32 <= lim) {
        __m256i v = _mm256_loadu_si256 ((const __m256i *) p);
        uint32_t m = (uint32_t) _mm256_movemask_epi8 (
            _mm256_or_si256 (_mm256_or_si256 (_mm256_cmpeq_epi8 (v, n), _mm256_cmpeq_epi8 (v, q)), _mm256_cmpeq_epi8 (v, r)));
        if (m) {
            p += __builtin_ctz (m);
            return s_nlq_hit (p);
        }
        p += 32;
    }
    if (p < lim) {
        const char *t = lim - 32;
        __m256i v = _mm256_loadu_si256 ((const __m256i *) t);
        uint32_t m = (uint32_t) _mm256_movemask_epi8 (
            _mm256_or_si256 (_mm256_or_si256 (_mm256_cmpeq_epi8 (v, n), _mm256_cmpeq_epi8 (v, q)), _mm256_cmpeq_epi8 (v, r)));
        m &= ~0u << (p - t);
        if (m) {
            p = t + __builtin_ctz (m);
            return s_nlq_hit (p);
        }
    }
    return NULL;
}

static inline const char *
s_nlq_sse2 (const char *p, const char *lim)
{
    const __m128i n = _mm_set1_epi8 ('\n'), q = _mm_set1_epi8 ('"'), r = _mm_set1_epi8 ('\r');
    while (p + 16 <= lim) {
        __m128i v = _mm_loadu_si128 ((const __m128i *) p);
        uint32_t m = (uint32_t) _mm_movemask_epi8 (
            _mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 (v, n), _mm_cmpeq_epi8 (v, q)), _mm_cmpeq_epi8 (v, r)));
        if (m) {
            p += __builtin_ctz (m);
            return s_nlq_hit (p);
        }
        p += 16;
    }
    if (p < lim) {
        const char *t = lim - 16;
        __m128i v = _mm_loadu_si128 ((const __m128i *) t);
        uint32_t m = (uint32_t) _mm_movemask_epi8 (
            _mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 (v, n), _mm_cmpeq_epi8 (v, q)), _mm_cmpeq_epi8 (v, r)));
        m &= ~0u << (p - t);
        if (m) {
            p = t + __builtin_ctz (m);
            return s_nlq_hit (p);
        }
    }
    return NULL;
}

/*  The line hop, shared by both widths (the mask and newline functions differ). */
#define S_HOP_BODY(MASKS, NLQ)                                                                      \
    const int col = self->col;                                                                      \
    const uint64_t end = self->end;                                                                 \
    tl_err_t e_;                                                                                    \
    size_t ls = i;                                                                                  \
    while (ls + 64 <= lim) {                                                                        \
        if (base + ls >= end) {                                                                     \
            *how = TL_CSV_BULK_END;                                                                      \
            return ls;                                                                              \
        }                                                                                           \
        const char *p = buf + ls;                                                                   \
        s_masks_t m = MASKS (p);                                                                    \
        uint64_t cm = m.cm;                                                                         \
        for (int k = 0; k < col; k++)                                                               \
            cm &= cm - 1;           /* drop the commas before the value */                          \
        /* The value runs from just after comma number col (or the line start) to the next comma   \
           or the newline. 64 stands for "not in these 64 bytes". */                                \
        unsigned stop = m.nl ? (unsigned) __builtin_ctzll (m.nl) : 64;                              \
        unsigned ve = cm ? (unsigned) __builtin_ctzll (cm) : 64;                                    \
        unsigned vs = 0;                                                                            \
        if (col > 0) {                                                                              \
            uint64_t before = m.cm ^ cm;        /* the col commas before the value */               \
            vs = before ? 64 - (unsigned) __builtin_clzll (before) : 65;                            \
        }                                                                                           \
        if (stop < ve)                                                                              \
            ve = stop;                                                                              \
        uint64_t upto = ve >= 64 ? ~0ULL : ((1ULL << ve) - 1);                                      \
        /* The newline; NULL if a quote or a lone CR comes first. */                                \
        const char *nl = stop < 64 ? p + stop : NLQ (p + 64, buf + lim);                            \
        /* A quote or CR in the line's bytes among these 64, other than the CR that ends the line   \
           (CRLF). The next line's are not this line's business: it is looked at from its own start \
           (with CRLF, a short line's 64 bytes nearly always hold the next line's CR). */           \
        uint64_t qc = stop < 64 ? m.qc & ((1ULL << stop) - 1) : m.qc;                               \
        if (qc && nl && (size_t) (nl - p) - 1 < 64 && nl [-1] == '\r')                              \
            qc &= ~(1ULL << ((size_t) (nl - p) - 1));                                               \
        if (qc || !nl || (size_t) (nl - p) > TL_CSV_LINE_MAX) {                                     \
            /* A quote in the line (the record may go on past this newline), a lone CR (a bad row \
               there), or an over-long line: the record path. */                                    \
            size_t next_ = tl_csv_slow_record (self, buf, ls, lim, base);                                \
            if (next_ == SIZE_MAX) {                                                                \
                *how = TL_CSV_BULK_OPEN;                                                                 \
                return ls;                                                                          \
            }                                                                                       \
            ls = next_;                                                                             \
            continue;                                                                               \
        }                                                                                           \
        if (ve < 64 && vs <= ve && stop > 1 && (col == 0 || __builtin_popcountll (m.cm & upto) >= col)) \
            s_emit_at (self, p, vs, ve);                                                            \
        else                                                                                        \
            tl_csv_line (self, p, (size_t) (nl - p), &e_);   /* rows state: cannot fail */               \
        ls = (size_t) (nl - buf) + 1;                                                               \
    }                                                                                               \
    /* The last lines (under 64 bytes): line by line. */                                            \
    return ls < lim ? tl_csv_bulk_scalar (self, buf, ls, lim, base, how) : lim;

/*  The query hop: a query needs fields 0..maxcol, so the line's 64-byte blocks are looked at
    one after another, each giving its commas as bits, until maxcol+1 commas (every needed field
    has its end) or the newline; the rest of the line is jumped as in the hop. Each field is
    [previous comma + 1, its comma), trimmed as tl_csv_line would. A line with a quote before
    its newline, over TL_CSV_LINE_MAX, or whose needed blocks run past lim goes to the record
    path; a blank line ("" or "\r") to tl_csv_line. Whatever the fields, tl_query_row decides
    (too few of them is a bad row there). */
#define S_QUERY_BODY(MASKS, NLQ)                                                                    \
    const int need = self->q->maxcol + 1;                                                           \
    /* A key part holding the separator is a bad row (tl_query_row): looked for once here. */       \
    const bool may_sep = self->q->nby > 1 && lim > i && memchr (buf + i, TL_QUERY_KEY_SEP, lim - i); \
    const uint64_t end = self->end;                                                                 \
    tl_field_t *const fl = self->fields;                                                            \
    tl_err_t e_;                                                                                    \
    size_t ls = i;                                                                                  \
    while (ls + 64 <= lim) {                                                                        \
        if (base + ls >= end) {                                                                     \
            *how = TL_CSV_BULK_END;                                                                 \
            return ls;                                                                              \
        }                                                                                           \
        const char *p = buf + ls, *nl = NULL;                                                       \
        size_t off = 0, prev = 0;                                                                   \
        int nc = 0, slow = 0;                                                                       \
        for (;;) {                                                                                  \
            if (ls + off + 64 > lim) {                                                              \
                slow = 1;                                                                           \
                break;                                                                              \
            }                                                                                       \
            s_masks_t m = MASKS (p + off);                                                          \
            unsigned stop = m.nl ? (unsigned) __builtin_ctzll (m.nl) : 64;                          \
            uint64_t below = stop >= 64 ? ~0ULL : ((1ULL << stop) - 1);                             \
            /* A quote or a CR before the newline, other than the CR right before it (CRLF; when    \
               the newline is past this block, p [off + 64] is readable). */                        \
            uint64_t qc = m.qc & below;                                                             \
            unsigned last = stop < 64 ? stop - 1 : 63;      /* stop 0: below is 0 */                 \
            if (qc && p [off + last] == '\r' && p [off + last + 1] == '\n')                         \
                qc &= ~(1ULL << last);                                                              \
            if (qc) {                                                                               \
                slow = 1;                                                                           \
                break;                                                                              \
            }                                                                                       \
            for (uint64_t c = m.cm & below; c && nc < need; c &= c - 1) {                           \
                size_t at = off + (unsigned) __builtin_ctzll (c);                                   \
                fl [nc++] = (tl_field_t) { p + prev, at - prev };                                   \
                prev = at + 1;                                                                      \
            }                                                                                       \
            if (stop < 64) {                                                                        \
                nl = p + off + stop;                                                                \
                break;                                                                              \
            }                                                                                       \
            off += 64;                                                                              \
            if (nc == need) {                                                                       \
                nl = NLQ (p + off, buf + lim);                                                      \
                slow = !nl;                                                                         \
                break;                                                                              \
            }                                                                                       \
        }                                                                                           \
        if (slow || (size_t) (nl - p) > TL_CSV_LINE_MAX) {                                          \
            size_t next_ = tl_csv_slow_record (self, buf, ls, lim, base);                           \
            if (next_ == SIZE_MAX) {                                                                \
                *how = TL_CSV_BULK_OPEN;                                                            \
                return ls;                                                                          \
            }                                                                                       \
            ls = next_;                                                                             \
            continue;                                                                               \
        }                                                                                           \
        size_t len = (size_t) (nl - p);                                                             \
        if (len == 0 || (len == 1 && p [0] == '\r'))                                                \
            tl_csv_line (self, p, len, &e_);    /* a blank line */                                  \
        else {                                                                                      \
            if (nc < need)      /* the last field ends at the newline */                            \
                fl [nc++] = (tl_field_t) { p + prev, len - prev };                                  \
            for (int k = 0; k < nc; k++) {                                                          \
                const char *f = fl [k].p, *fe = f + fl [k].n;                                       \
                s_trim (&f, &fe);                                                                   \
                fl [k] = (tl_field_t) { f, (size_t) (fe - f) };                                     \
            }                                                                                       \
            (may_sep ? tl_query_row : tl_query_row_nosep) (self->q, fl, nc, self->agg, &self->qst); \
        }                                                                                           \
        ls = (size_t) (nl - buf) + 1;                                                               \
    }                                                                                               \
    return ls < lim ? tl_csv_bulk_scalar (self, buf, ls, lim, base, how) : lim;

__attribute__ ((target ("avx2"))) static size_t
s_query_avx2 (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    S_QUERY_BODY (s_masks_avx2, s_nlq_avx2)
}

static size_t
s_query_sse2 (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    S_QUERY_BODY (s_masks_sse2, s_nlq_sse2)
}

__attribute__ ((target ("avx2"))) static size_t
s_bulk_avx2 (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    S_HOP_BODY (s_masks_avx2, s_nlq_avx2)
}

static size_t
s_bulk_sse2 (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    S_HOP_BODY (s_masks_sse2, s_nlq_sse2)
}
#endif

int
tl_csv_best_impl (void)
{
    const char *force = getenv ("TALLY_SCANNER");
    if (force && strcmp (force, "scalar") == 0)
        return TL_CSV_SCALAR;
#ifdef TL_HAVE_X86
    if (force && strcmp (force, "sse2") == 0)
        return TL_CSV_SSE2;
    __builtin_cpu_init ();
    if (__builtin_cpu_supports ("avx2"))
        return TL_CSV_AVX2;
    return TL_CSV_SSE2;
#else
    return TL_CSV_SCALAR;
#endif
}

int
tl_csv_set_impl (tl_csv_t *self, int impl)
{
#ifdef TL_HAVE_X86
    if (impl == TL_CSV_AVX2) {
        __builtin_cpu_init ();
        if (!__builtin_cpu_supports ("avx2"))
            return -1;
    }
    if (impl < TL_CSV_SCALAR || impl > TL_CSV_AVX2)
        return -1;
#else
    if (impl != TL_CSV_SCALAR)
        return -1;
#endif
    self->impl = impl;
    return 0;
}

const char *
tl_csv_impl_name (int impl)
{
    return impl == TL_CSV_AVX2 ? "avx2" : impl == TL_CSV_SSE2 ? "sse2" : "scalar";
}

size_t
tl_csv_bulk (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    /* The first record may already be past the range (right after a carried one completed):
       the block scanners check the range only at each record start, so check here first. */
    if (base + i >= self->end) {
        *how = TL_CSV_BULK_END;
        return i;
    }
#ifdef TL_HAVE_X86
    if (self->q && self->fields && self->impl == TL_CSV_AVX2)
        return s_query_avx2 (self, buf, i, lim, base, how);
    if (self->q && self->fields && self->impl == TL_CSV_SSE2)
        return s_query_sse2 (self, buf, i, lim, base, how);
    if (self->q)
        return tl_csv_bulk_scalar (self, buf, i, lim, base, how);
    if (self->impl == TL_CSV_AVX2)
        return s_bulk_avx2 (self, buf, i, lim, base, how);
    if (self->impl == TL_CSV_SSE2)
        return s_bulk_sse2 (self, buf, i, lim, base, how);
#endif
    return tl_csv_bulk_scalar (self, buf, i, lim, base, how);
}
