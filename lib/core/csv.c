/*  csv.c — streaming CSV scanner.

    How it works: lines are found with memchr('\n') over the chunk, which glibc vectorises. A
    line that straddles two chunks is copied into `carry` (at most TL_CSV_LINE_MAX bytes; longer
    lines are skipped to their newline and counted bad). Within a line we walk only up to the
    group-by column: a row's remaining columns are never parsed. */
#include "lib/core/csv.h"
#include "lib/core/query.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <strings.h>

enum { S_SKIP_FIRST, S_HEADER, S_ROWS, S_DONE };

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TL_HAVE_X86 1
#endif

struct tl_csv {
    tl_agg_t *agg;
    char *name;             /* column name, or NULL when given by number */
    int col;                /* 0-based column index; -1 until resolved */
    int state;
    uint64_t start, end;    /* range of line starts we own */
    uint64_t pos;           /* absolute offset of the next byte fed */
    char *carry;            /* partial line from the previous chunk */
    size_t carry_len, carry_cap;
    uint64_t carry_start;   /* absolute offset where the carried line starts */
    int carry_overlong;     /* carried line exceeded TL_CSV_LINE_MAX: skip to newline */
    char *unq;              /* buffer for unquoting quoted values */
    tl_csv_stats_t st;
    tl_query_t *q;          /* a full query (several keys, aggregates, filters); NULL for plain */
    tl_qstats_t qst;
    tl_field_t *fields;     /* query mode: the fields of one row, up to the last one needed */
    int impl;               /* TL_CSV_SCALAR, TL_CSV_SSE2 or TL_CSV_AVX2 */
    uint64_t hdr_at;        /* range tasks: where the header line starts; UINT64_MAX if unknown */
    bool hdr_pending;       /* the header line lies in our bytes and is still to be skipped */
    /* Pre-aggregation for short keys: a direct-mapped cache of (key up to 8 bytes, count),
       flushed into agg at the end of every chunk, so the common row costs a multiply and an
       add instead of a hash-table probe. */
    struct {
        uint64_t key;
        uint32_t len;       /* 0xffffffff: empty slot */
        uint64_t count;
    } pre [64];
};

tl_csv_t *
tl_csv_new (const char *spec, tl_agg_t *agg)
{
    tl_csv_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->agg = agg;
    self->col = -1;
    self->end = UINT64_MAX;
    self->state = S_HEADER;
    if (!tl_query_is_plain (spec)) {
        /* Query mode: every row is split into fields up to the last one needed, line by line. */
        tl_err_t e;
        self->q = malloc (sizeof *self->q);
        self->name = strdup ("(query)");
        self->unq = malloc (TL_CSV_LINE_MAX + 1);
        self->impl = TL_CSV_SCALAR;
        self->hdr_at = UINT64_MAX;
        for (int k = 0; k < 64; k++)
            self->pre [k].len = 0xffffffffu;
        if (!self->q || !self->name || !self->unq || tl_query_parse (spec, self->q, &e) != 0)
            tl_csv_destroy (&self);
        return self;
    }
    size_t n = strlen (spec);
    int digits = n > 0 && n < 6;
    for (size_t i = 0; i < n && digits; i++)
        digits = isdigit ((unsigned char) spec [i]);
    if (digits && atoi (spec) >= 1)
        self->col = atoi (spec) - 1;
    else
        self->name = strdup (spec);
    self->unq = malloc (TL_AGG_KEY_MAX + 1);
    self->impl = tl_csv_best_impl ();
    self->hdr_at = UINT64_MAX;
    for (int k = 0; k < 64; k++)
        self->pre [k].len = 0xffffffffu;
    if ((!self->name && self->col < 0) || !self->unq)
        tl_csv_destroy (&self);
    return self;
}

void
tl_csv_destroy (tl_csv_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->name);
        free ((*self_p)->q);
        free ((*self_p)->fields);
        free ((*self_p)->carry);
        free ((*self_p)->unq);
        free (*self_p);
        *self_p = NULL;
    }
}

void
tl_csv_set_range (tl_csv_t *self, uint64_t start, uint64_t end)
{
    self->start = start;
    self->end = end;
    if (start > 0) {
        /* Start one byte early: if byte start-1 is '\n', the line at `start` is ours and the
           skip consumes exactly that newline. */
        self->pos = start - 1;
        self->state = S_SKIP_FIRST;
    }
}

uint64_t
tl_csv_stream_offset (const tl_csv_t *self)
{
    return self->start ? self->start - 1 : 0;
}

int
tl_csv_find_header (const char *buf, size_t n, const char **line, size_t *len, uint64_t *at)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr (buf + i, '\n', n - i);
        if (!nl)
            return 0;
        size_t l = (size_t) (nl - (buf + i));
        if (l > 0 && !(l == 1 && buf [i] == '\r')) {
            *line = buf + i;
            *len = l;
            *at = i;
            return 1;
        }
        i += l + 1;
    }
    return 0;
}

static void
s_note_header_at (tl_csv_t *self, uint64_t at)
{
    self->hdr_at = at;
    /* Only a range that starts before the header line (inside leading blank lines) holds it. */
    self->hdr_pending = self->start > 0 && at >= self->start;
}

int
tl_csv_set_header_at (tl_csv_t *self, const char *line, size_t len, uint64_t at, tl_err_t *e)
{
    int rc = tl_csv_set_header (self, line, len, e);
    if (rc == 0)
        s_note_header_at (self, at);
    return rc;
}

void
tl_csv_set_column_at (tl_csv_t *self, int col, uint64_t at)
{
    tl_csv_set_column_index (self, col);
    s_note_header_at (self, at);
}

void
tl_csv_set_column_index (tl_csv_t *self, int col)
{
    self->col = col;
    if (self->state == S_HEADER)
        self->state = S_ROWS;
}

int
tl_csv_column (const tl_csv_t *self)
{
    return self->name && self->state == S_HEADER ? -1 : self->col;
}

static void
s_trim (const char **p, const char **e)
{
    while (*p < *e && (**p == ' ' || **p == '\t'))
        (*p)++;
    while (*e > *p && ((*e) [-1] == ' ' || (*e) [-1] == '\t' || (*e) [-1] == '\r'))
        (*e)--;
}

int
tl_csv_find_column (const char *line, size_t len, const char *name)
{
    const char *p = line, *end = line + len;
    if (len >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    size_t nlen = strlen (name);
    for (int idx = 0; p <= end; idx++) {
        const char *f = p, *fe = memchr (p, ',', end - p);
        if (!fe)
            fe = end;
        s_trim (&f, &fe);
        if (fe - f >= 2 && *f == '"' && fe [-1] == '"') {
            f++;
            fe--;
        }
        if ((size_t) (fe - f) == nlen && strncasecmp (f, name, nlen) == 0)
            return idx;
        p = fe + 1;
        while (p < end && p [-1] != ',')
            p++;
        if (p > end || (p == end && (end == line || end [-1] != ',')))
            break;
    }
    return -1;
}

int
tl_csv_set_header (tl_csv_t *self, const char *line, size_t len, tl_err_t *e)
{
    if (self->q) {
        int rc = tl_query_resolve (self->q, line, len, e);
        if (rc)
            return rc;
        free (self->fields);
        self->fields = calloc ((size_t) self->q->maxcol + 1, sizeof *self->fields);
        if (!self->fields)
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        self->col = self->q->maxcol;
    }
    else if (self->name) {
        /* Through the TLC era aliases too: pickup_datetime finds Trip_Pickup_DateTime. */
        int c = tl_query_find_column (NULL, line, len, self->name);
        if (c < 0) {
            size_t show = len > 300 ? 300 : len;
            return tl_err_set (e, TL_ECOLUMN, 0, "column '%s' not found in header '%.*s%s'",
                               self->name, (int) show, line, show < len ? "..." : "");
        }
        self->col = c;
    }
    if (self->state == S_HEADER)
        self->state = S_ROWS;
    return 0;
}

/*  Slow path for a line with quotes before or inside the value: walk fields per RFC 4180.
    Returns 1 with the (unquoted) value in self->unq, 0 for too few columns, -1 for a value
    longer than a key may be. */
static int
s_quoted_field (tl_csv_t *self, const char *p, const char *e, size_t *vlen)
{
    int field = 0;
    size_t n = 0;
    while (p <= e) {
        int want = field == self->col;
        n = 0;
        if (p < e && *p == '"') {
            p++;
            while (p < e) {
                if (*p == '"') {
                    if (p + 1 < e && p [1] == '"') {
                        if (want && n < TL_AGG_KEY_MAX)
                            self->unq [n] = '"';
                        n++;
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (want && n < TL_AGG_KEY_MAX)
                    self->unq [n] = *p;
                n++;
                p++;
            }
            while (p < e && *p != ',')
                p++;
        }
        else {
            const char *f = p, *fe = memchr (p, ',', e - p);
            if (!fe)
                fe = e;
            if (want) {
                s_trim (&f, &fe);
                n = fe - f;
                if (n <= TL_AGG_KEY_MAX)
                    memcpy (self->unq, f, n);
            }
            p = fe;
        }
        if (want) {
            *vlen = n;
            return n > TL_AGG_KEY_MAX ? -1 : 1;
        }
        field++;
        if (p >= e)
            break;
        p++;    /* the comma */
    }
    return 0;
}

/*  Query mode: split a row into fields (RFC 4180 quotes allowed) up to the last one needed. */
static void
s_query_line (tl_csv_t *self, const char *p, const char *end)
{
    int need = self->q->maxcol + 1, nf = 0;
    size_t uo = 0;
    const char *q = p;
    while (nf < need) {
        if (q < end && *q == '"') {
            size_t start = uo;
            q++;
            while (q < end) {
                if (*q == '"') {
                    if (q + 1 < end && q [1] == '"') {
                        self->unq [uo++] = '"';
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                self->unq [uo++] = *q++;
            }
            self->fields [nf++] = (tl_field_t) { self->unq + start, uo - start };
            while (q < end && *q != ',')
                q++;
        }
        else {
            size_t left = q < end ? (size_t) (end - q) : 0;
            const char *f = q, *fe = left ? memchr (q, ',', left) : NULL;
            if (!fe)
                fe = end;
            q = fe;
            s_trim (&f, &fe);
            self->fields [nf++] = (tl_field_t) { f, (size_t) (fe - f) };
        }
        if (q >= end)
            break;
        q++;    /* the comma */
    }
    tl_query_row (self->q, self->fields, nf, self->agg, &self->qst);
}

/*  One complete line, without its '\n'. */
static int
s_line (tl_csv_t *self, const char *p, size_t n, tl_err_t *e)
{
    const char *end = p + n;
    if (end > p && end [-1] == '\r')
        end--;
    if (end == p) {
        self->st.blank++;
        return 0;
    }
    if (self->state == S_HEADER)
        return tl_csv_set_header (self, p, end - p, e);
    if (self->q) {
        s_query_line (self, p, end);
        return 0;
    }

    const char *q = p;
    for (int k = 0; k < self->col; k++) {
        q = memchr (q, ',', end - q);
        if (!q) {
            /* Quotes may hide commas: let the slow path decide. */
            if (memchr (p, '"', end - p))
                goto quoted;
            self->st.bad++;
            return 0;
        }
        q++;
    }
    const char *ve = memchr (q, ',', end - q);
    if (!ve)
        ve = end;
    if (memchr (p, '"', ve - p))
        goto quoted;
    s_trim (&q, &ve);
    if (tl_agg_add (self->agg, q, ve - q, 1) == 0)
        self->st.rows++;
    else
        self->st.bad++;     /* key longer than TL_AGG_KEY_MAX, or no memory */
    return 0;

quoted:;
    size_t vlen = 0;
    int r = s_quoted_field (self, p, end, &vlen);
    if (r == 1 && tl_agg_add (self->agg, self->unq, vlen, 1) == 0)
        self->st.rows++;
    else
        self->st.bad++;
    return 0;
}

/* ------------------------------------------------------------------ bulk row scanning

   The bulk scanners take a run of complete lines, [i, lim) of buf, lim just past a newline,
   starting at a line start, and count them with the same rules as s_line. Each returns where it
   stopped (lim, or the start of the first line at or past the range end, with *done set).

   scalar: memchr for the line, then the commas up to the column (s_line).
   sse2/avx2 ("line hop"): one 64-byte look at the start of a line gives bit masks of '\n', ','
   and '"'. Clearing the lowest `col` comma bits leaves the value's first and last comma, so
   the value is found in a few instructions without walking the line. Then the scanner jumps to
   the line's newline with 32- (or 16-) byte compares, looking at nothing else: the columns
   after the value are never parsed. Any line this fast path cannot settle (a quote before the
   value's end, a blank line, a row with too few columns, a value not inside the first 64
   bytes) goes to s_line, which knows every rule. Compared with walking every comma and newline
   bit of every 64-byte block, this costs about a third of the instructions per TLC row
   (docs/NOTES.md). */

static void
s_pre_flush (tl_csv_t *self)
{
    for (int k = 0; k < 64; k++) {
        if (self->pre [k].len == 0xffffffffu)
            continue;
        /* Short keys always fit the table's limit; only memory can fail, and that is fatal. */
        if (tl_agg_add (self->agg, (const char *) &self->pre [k].key, self->pre [k].len, self->pre [k].count) != 0)
            abort ();
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
        abort ();
    self->pre [slot].key = key;
    self->pre [slot].len = (uint32_t) n;
    self->pre [slot].count = 1;
}

static inline void
s_emit (tl_csv_t *self, const char *v, const char *ve)
{
    s_trim (&v, &ve);
    size_t n = (size_t) (ve - v);
    self->st.rows++;
    if (n <= 8) {
        uint64_t key = 0;
        memcpy (&key, v, n);
        s_pre_add (self, key, n);
        return;
    }
    if (tl_agg_add (self->agg, v, n, 1) != 0) {
        self->st.rows--;
        self->st.bad++;
    }
}

/*  The value [vs, ve) of the line at p, where p has at least 64 readable bytes. A short value
    that needs no trimming (the common TLC case: "1") is read with one 8-byte load. */
static inline void
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

/*  Scalar: line by line. */
static size_t
s_bulk_scalar (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *done)
{
    tl_err_t e;
    while (i < lim) {
        if (base + i >= self->end) {
            *done = 1;
            return i;
        }
        const char *nl = memchr (buf + i, '\n', lim - i);
        s_line (self, buf + i, (size_t) (nl - (buf + i)), &e);   /* rows state: cannot fail */
        i = (size_t) (nl - buf) + 1;
    }
    return i;
}

#ifdef TL_HAVE_X86
typedef struct {
    uint64_t nl, cm, qt;
} s_masks_t;

__attribute__ ((target ("avx2"))) static inline s_masks_t
s_masks_avx2 (const char *p)
{
    __m256i a = _mm256_loadu_si256 ((const __m256i *) p), b = _mm256_loadu_si256 ((const __m256i *) (p + 32));
    __m256i n = _mm256_set1_epi8 ('\n'), c = _mm256_set1_epi8 (','), q = _mm256_set1_epi8 ('"');
    s_masks_t m;
    m.nl = (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (a, n))
           | ((uint64_t) (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (b, n)) << 32);
    m.cm = (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (a, c))
           | ((uint64_t) (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (b, c)) << 32);
    m.qt = (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (a, q))
           | ((uint64_t) (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (b, q)) << 32);
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
    __m128i n = _mm_set1_epi8 ('\n'), c = _mm_set1_epi8 (','), q = _mm_set1_epi8 ('"');
    s_masks_t m = { 0, 0, 0 };
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128 ((const __m128i *) (p + 16 * k));
        m.nl |= s_mask16 (v, n) << (16 * k);
        m.cm |= s_mask16 (v, c) << (16 * k);
        m.qt |= s_mask16 (v, q) << (16 * k);
    }
    return m;
}

/*  Find the newline at or after p (one is known to lie before lim): vector compares, then
    memchr for a tail shorter than a vector. */
__attribute__ ((target ("avx2"))) static inline const char *
s_newline_avx2 (const char *p, const char *lim)
{
    const __m256i n = _mm256_set1_epi8 ('\n');
    while (p + 32 <= lim) {
        uint32_t m = (uint32_t) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (_mm256_loadu_si256 ((const __m256i *) p), n));
        if (m)
            return p + __builtin_ctz (m);
        p += 32;
    }
    return memchr (p, '\n', (size_t) (lim - p));
}

static inline const char *
s_newline_sse2 (const char *p, const char *lim)
{
    const __m128i n = _mm_set1_epi8 ('\n');
    while (p + 16 <= lim) {
        uint32_t m = (uint32_t) _mm_movemask_epi8 (_mm_cmpeq_epi8 (_mm_loadu_si128 ((const __m128i *) p), n));
        if (m)
            return p + __builtin_ctz (m);
        p += 16;
    }
    return memchr (p, '\n', (size_t) (lim - p));
}

/*  The line hop, shared by both widths (the mask and newline functions differ). */
#define S_HOP_BODY(MASKS, NEWLINE)                                                                  \
    const int col = self->col;                                                                      \
    const uint64_t end = self->end;                                                                 \
    size_t ls = i;                                                                                  \
    while (ls + 64 <= lim) {                                                                        \
        if (base + ls >= end) {                                                                     \
            *done = 1;                                                                              \
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
        const char *nl = stop < 64 ? p + stop : NEWLINE (p + 64, buf + lim);                        \
        if (ve < 64 && vs <= ve && stop > 1 && !(m.qt & upto)                                       \
            && (col == 0 || __builtin_popcountll (m.cm & upto) >= col))                             \
            s_emit_at (self, p, vs, ve);                                                            \
        else {                                                                                      \
            /* Anything unusual: the line goes to s_line, which knows every rule. */                \
            tl_err_t e_;                                                                            \
            s_line (self, p, (size_t) (nl - p), &e_);   /* rows state: cannot fail */               \
        }                                                                                           \
        ls = (size_t) (nl - buf) + 1;                                                               \
    }                                                                                               \
    /* The last lines (under 64 bytes): line by line. */                                            \
    return ls < lim ? s_bulk_scalar (self, buf, ls, lim, base, done) : lim;

__attribute__ ((target ("avx2"))) static size_t
s_bulk_avx2 (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *done)
{
    S_HOP_BODY (s_masks_avx2, s_newline_avx2)
}

static size_t
s_bulk_sse2 (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *done)
{
    S_HOP_BODY (s_masks_sse2, s_newline_sse2)
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

static size_t
s_bulk (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *done)
{
    /* The first line may already be past the range (right after a carried line completed):
       the block scanners check the range only at each newline, so check here first. */
    if (base + i >= self->end) {
        *done = 1;
        return i;
    }
#ifdef TL_HAVE_X86
    if (self->q)
        return s_bulk_scalar (self, buf, i, lim, base, done);
    if (self->impl == TL_CSV_AVX2)
        return s_bulk_avx2 (self, buf, i, lim, base, done);
    if (self->impl == TL_CSV_SSE2)
        return s_bulk_sse2 (self, buf, i, lim, base, done);
#endif
    return s_bulk_scalar (self, buf, i, lim, base, done);
}

static int
s_carry_append (tl_csv_t *self, const char *p, size_t n)
{
    if (self->carry_overlong)
        return 0;
    if (self->carry_len + n > TL_CSV_LINE_MAX) {
        self->carry_overlong = 1;
        return 0;
    }
    if (self->carry_len + n > self->carry_cap) {
        size_t cap = self->carry_cap ? self->carry_cap : 4096;
        while (cap < self->carry_len + n)
            cap *= 2;
        char *c = realloc (self->carry, cap);
        if (!c)
            return TL_ENOMEM;
        self->carry = c;
        self->carry_cap = cap;
    }
    memcpy (self->carry + self->carry_len, p, n);
    self->carry_len += n;
    return 0;
}

/*  The carried line is complete: count it. */
static int
s_carry_flush (tl_csv_t *self, tl_err_t *e)
{
    int rc = 0;
    if (self->hdr_pending && self->carry_start == self->hdr_at) {
        self->hdr_pending = false;      /* the object's header: not a row */
        self->carry_len = 0;
        self->carry_overlong = 0;
        return 0;
    }
    if (self->carry_overlong)
        self->st.bad++;
    else
        rc = s_line (self, self->carry, self->carry_len, e);
    self->carry_len = 0;
    self->carry_overlong = 0;
    return rc;
}

int
tl_csv_feed (tl_csv_t *self, const char *buf, size_t len, tl_err_t *e)
{
    size_t i = 0;
    uint64_t base = self->pos;
    self->pos += len;
    if (self->state == S_DONE)
        return 1;
    if (self->state == S_SKIP_FIRST) {
        const char *nl = memchr (buf, '\n', len);
        if (!nl)
            return 0;
        i = nl - buf + 1;
        if (self->col < 0)
            return tl_err_set (e, TL_ECOLUMN, 0, "range starts past the header: resolve the column first");
        self->state = S_ROWS;
    }
    if (self->carry_len || self->carry_overlong) {
        const char *nl = memchr (buf, '\n', len);
        size_t take = nl ? (size_t) (nl - buf) : len;
        int rc = s_carry_append (self, buf, take);
        if (rc)
            return tl_err_set (e, rc, 0, "out of memory");
        if (!nl)
            return 0;
        rc = s_carry_flush (self, e);
        if (rc)
            return rc;
        i = take + 1;
    }
    /* The header (if still due) goes line by line; after it, the complete lines of the chunk
       (up to its last newline) go through the bulk scanner. */
    while (i < len && self->state == S_HEADER) {
        if (base + i >= self->end) {
            self->state = S_DONE;
            return 1;
        }
        const char *nl = memchr (buf + i, '\n', len - i);
        if (!nl)
            break;
        int rc = s_line (self, buf + i, nl - (buf + i), e);
        if (rc)
            return rc;
        i = nl - buf + 1;
    }
    /* A range that holds the object's header line (after leading blank lines) skips it. */
    while (i < len && self->state == S_ROWS && self->hdr_pending) {
        if (base + i >= self->end) {
            self->state = S_DONE;
            return 1;
        }
        const char *nl = memchr (buf + i, '\n', len - i);
        if (!nl)
            break;
        if (base + i == self->hdr_at)
            self->hdr_pending = false;
        else {
            int rc = s_line (self, buf + i, nl - (buf + i), e);
            if (rc)
                return rc;
        }
        i = nl - buf + 1;
    }
    if (i < len && self->state == S_ROWS && !self->hdr_pending) {
        const char *last = memrchr (buf + i, '\n', len - i);
        if (last) {
            size_t lim = (size_t) (last - buf) + 1;
            int done = 0;
            i = s_bulk (self, buf, i, lim, base, &done);
            s_pre_flush (self);
            if (done) {
                self->state = S_DONE;
                return 1;
            }
        }
    }
    if (i < len) {
        if (base + i >= self->end) {
            self->state = S_DONE;
            return 1;
        }
        self->carry_start = base + i;
        int rc = s_carry_append (self, buf + i, len - i);
        if (rc)
            return tl_err_set (e, rc, 0, "out of memory");
        return 0;
    }
    if (self->pos >= self->end && !self->carry_len) {
        self->state = S_DONE;
        return 1;
    }
    return 0;
}

int
tl_csv_finish (tl_csv_t *self, tl_err_t *e)
{
    s_pre_flush (self);
    int rc = 0;
    if (self->state != S_DONE && self->state != S_SKIP_FIRST && (self->carry_len || self->carry_overlong))
        rc = s_carry_flush (self, e);
    self->state = S_DONE;
    return rc;
}

uint64_t
tl_csv_position (const tl_csv_t *self)
{
    return self->pos;
}

int
tl_csv_set_end (tl_csv_t *self, uint64_t end)
{
    /* A carried line started before pos, so it stays ours whatever the new end. */
    if (self->state == S_DONE || end < self->pos || end < self->start)
        return -1;
    self->end = end;
    return 0;
}

tl_csv_stats_t
tl_csv_stats (const tl_csv_t *self)
{
    tl_csv_stats_t st = self->st;
    st.rows += self->qst.rows;
    st.bad += self->qst.bad;
    st.filtered = self->qst.filtered;
    return st;
}
