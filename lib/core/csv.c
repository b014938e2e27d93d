/*  csv.c — streaming CSV scanner.

    How it works: the header is read line by line. After it, the complete lines of each chunk
    (up to its last newline) go to a bulk scanner (see "bulk row scanning" below), which counts
    a line without quotes on the spot and hands any line that holds a quote to the record path.
    The record path follows RFC 4180 quote state across newlines (csv_record.c), so a quoted field
    that holds newlines makes one record. A record that straddles two chunks is copied into
    `carry`, with its quote state, and counted when its end arrives. Within a record we walk only
    up to the group-by column: a row's remaining columns are never parsed.

    Over-long records. A record over TL_CSV_LINE_MAX bytes is one bad row, and the scanner
    resynchronises at the first newline at or after its byte TL_CSV_LINE_MAX, outside quotes
    (csv_record.h says why). A header line over the limit fails the object
    (TL_CSV_HEADER_TOO_LONG): the first data row must not become the header. */
#include "lib/core/csv.h"
#include "lib/core/csv_record.h"
#include "lib/core/query.h"
#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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
    uint64_t start, end;    /* range of record starts we own */
    uint64_t pos;           /* absolute offset of the next byte fed */
    char *carry;            /* the bytes of a record in progress (none once it is over-long) */
    size_t carry_len, carry_cap;
    uint64_t carry_start;   /* absolute offset where that record starts */
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
    /* Records across chunks, and what the row counts do not say. */
    bool open;              /* a record is in progress at the end of the last chunk */
    tl_csv_record_t rec;    /* its state */
    uint64_t xlines;        /* lines owned but not in st: the header, and the extra lines of records */
    uint64_t ml_at, ml_line;    /* the first multi-line record: offset and line number */
    bool nomem;             /* the aggregator could not grow: sticky, reported once per chunk */
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
        /* Query mode: every row is split into fields up to the last one needed, record by record. */
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

static int
s_header_too_long (tl_err_t *e)
{
    return tl_err_set (e, TL_EPROTO, 0, TL_CSV_HEADER_TOO_LONG);
}

int
tl_csv_find_header (const char *buf, size_t n, const char **line, size_t *len, uint64_t *at)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr (buf + i, '\n', n - i);
        size_t l = nl ? (size_t) (nl - (buf + i)) : n - i;
        if (l > 0 && !(l == 1 && buf [i] == '\r')) {
            if (!nl && l <= TL_CSV_LINE_MAX)
                return 0;
            *line = buf + i;
            *len = l;
            *at = i;
            return l > TL_CSV_LINE_MAX ? TL_EPROTO : 1;
        }
        if (!nl)
            return 0;
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
tl_csv_set_header (tl_csv_t *self, const char *line, size_t len, tl_err_t *e)
{
    if (len > TL_CSV_LINE_MAX)
        return s_header_too_long (e);
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

/* ------------------------------------------------------------------ counting a record */

/*  Count one row of key [v, v+n): rows or bad. Out of memory is sticky (tl_csv_feed reports it). */
static inline void
s_count (tl_csv_t *self, const char *v, size_t n)
{
    int rc = tl_agg_add (self->agg, v, n, 1);
    if (rc == 0)
        self->st.rows++;
    else {
        self->st.bad++;     /* a key longer than TL_AGG_KEY_MAX */
        self->nomem |= rc == TL_ENOMEM;
    }
}

/*  Slow path for a record with quotes before or inside the value: walk fields per RFC 4180.
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

/*  One complete record, without its '\n' (it may hold newlines inside quotes). */
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
    if (self->state == S_HEADER) {
        int rc = tl_csv_set_header (self, p, (size_t) (end - p), e);
        self->xlines += rc == 0;
        return rc;
    }
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
    s_count (self, q, ve - q);
    return 0;

quoted:;
    size_t vlen = 0;
    if (s_quoted_field (self, p, end, &vlen) == 1)
        s_count (self, self->unq, vlen);
    else
        self->st.bad++;
    return 0;
}

/*  Lines owned so far: every one is a row, a bad row, a blank, a filtered row, the header, or an
    extra line of a record. */
static uint64_t
s_lines_done (const tl_csv_t *self)
{
    return self->xlines + self->st.rows + self->st.bad + self->st.blank + self->qst.rows + self->qst.bad
           + self->qst.filtered;
}

/*  A complete record [p, p+n), scanned into r, that starts at absolute offset `at`. */
static int
s_record (tl_csv_t *self, const char *p, size_t n, const tl_csv_record_t *r, uint64_t at, tl_err_t *e)
{
    if (r->nl || (r->nq & 1)) {
        if (self->st.multiline++ == 0) {
            self->ml_at = at;
            self->ml_line = s_lines_done (self) + 1;
        }
        self->xlines += r->nl;
    }
    /* Over-long, or a quote still open at the end of the object. */
    if (r->overlong || tl_csv_record_in_quotes (r)) {
        if (self->state == S_HEADER)
            return s_header_too_long (e);
        self->st.bad++;
        return 0;
    }
    return s_line (self, p, n, e);
}

/* ------------------------------------------------------------------ bulk row scanning

   The bulk scanners take a run of complete lines, [i, lim) of buf, lim just past a newline,
   starting at a record start, and count them with the same rules as s_record. Each returns where
   it stopped and how (*how): at lim (S_BULK_ALL), at the first record at or past the range end
   (S_BULK_END), or at the start of a record that goes on past lim (S_BULK_OPEN: the caller
   carries it).

   scalar: memchr for the line, then the commas up to the column (s_line). A memchr for the next
   quote, redone only when passed, sends a line that holds one to the record path.
   sse2/avx2 ("line hop"): one 64-byte look at the start of a line gives bit masks of '\n', ','
   and '"'. Clearing the lowest `col` comma bits leaves the value's first and last comma, so
   the value is found in a few instructions without walking the line. Then the scanner jumps to
   the line's newline with 32- (or 16-) byte compares that look for '"' as well, and at nothing
   else: the columns after the value are never parsed. A line with a quote anywhere (it may start
   a multi-line record) or over TL_CSV_LINE_MAX goes to the record path (s_slow_record). Any other
   line the fast path cannot settle (a blank line, a row with too few columns, a value not inside
   the first 64 bytes) goes to s_line, which knows every rule. Compared with walking every comma
   and newline bit of every 64-byte block, this costs about a third of the instructions per TLC
   row (docs/NOTES.md). */

enum { S_BULK_ALL, S_BULK_END, S_BULK_OPEN };

static void
s_pre_flush (tl_csv_t *self)
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

/*  The record path for the record that starts at ls: scan it to its end, wherever that is in
    [ls, lim), and count it. Returns the offset just past its newline, or SIZE_MAX if it goes on
    past lim. */
static size_t
s_slow_record (tl_csv_t *self, const char *buf, size_t ls, size_t lim, uint64_t base)
{
    tl_csv_record_t r;
    tl_csv_record_init (&r, false);
    const char *t = tl_csv_record_scan (&r, buf + ls, buf + lim);
    if (!t)
        return SIZE_MAX;
    tl_err_t e;
    s_record (self, buf + ls, (size_t) (t - (buf + ls)), &r, base + ls, &e);  /* rows state: cannot fail */
    return (size_t) (t - buf) + 1;
}

/*  Scalar: line by line. */
static size_t
s_bulk_scalar (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    tl_err_t e;
    const char *qn = NULL;      /* the next quote at or after i (buf + lim: none), once known */
    while (i < lim) {
        if (base + i >= self->end) {
            *how = S_BULK_END;
            return i;
        }
        if (!qn || qn < buf + i) {
            qn = memchr (buf + i, '"', lim - i);
            if (!qn)
                qn = buf + lim;
        }
        const char *nl = memchr (buf + i, '\n', lim - i);
        if (qn < nl || (size_t) (nl - (buf + i)) > TL_CSV_LINE_MAX) {
            size_t next = s_slow_record (self, buf, i, lim, base);
            if (next == SIZE_MAX) {
                *how = S_BULK_OPEN;
                return i;
            }
            i = next;
            continue;
        }
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

/*  Find the newline at or after p, or return NULL if a quote comes first (a newline is known to
    lie before lim, and p is at least 64 bytes past the line's start): vector compares, then one
    vector that ends at lim for the tail (the bytes before p in it are the line's own, and
    masked off). */
__attribute__ ((target ("avx2"))) static inline const char *
s_nlq_avx2 (const char *p, const char *lim)
{
    const __m256i n = _mm256_set1_epi8 ('\n'), q = _mm256_set1_epi8 ('"');
    while (p + 32 <= lim) {
        __m256i v = _mm256_loadu_si256 ((const __m256i *) p);
        uint32_t m = (uint32_t) _mm256_movemask_epi8 (_mm256_or_si256 (_mm256_cmpeq_epi8 (v, n), _mm256_cmpeq_epi8 (v, q)));
        if (m) {
            p += __builtin_ctz (m);
            return *p == '\n' ? p : NULL;
        }
        p += 32;
    }
    if (p < lim) {
        const char *t = lim - 32;
        __m256i v = _mm256_loadu_si256 ((const __m256i *) t);
        uint32_t m = (uint32_t) _mm256_movemask_epi8 (_mm256_or_si256 (_mm256_cmpeq_epi8 (v, n), _mm256_cmpeq_epi8 (v, q)));
        m &= ~0u << (p - t);
        if (m) {
            p = t + __builtin_ctz (m);
            return *p == '\n' ? p : NULL;
        }
    }
    return NULL;
}

static inline const char *
s_nlq_sse2 (const char *p, const char *lim)
{
    const __m128i n = _mm_set1_epi8 ('\n'), q = _mm_set1_epi8 ('"');
    while (p + 16 <= lim) {
        __m128i v = _mm_loadu_si128 ((const __m128i *) p);
        uint32_t m = (uint32_t) _mm_movemask_epi8 (_mm_or_si128 (_mm_cmpeq_epi8 (v, n), _mm_cmpeq_epi8 (v, q)));
        if (m) {
            p += __builtin_ctz (m);
            return *p == '\n' ? p : NULL;
        }
        p += 16;
    }
    if (p < lim) {
        const char *t = lim - 16;
        __m128i v = _mm_loadu_si128 ((const __m128i *) t);
        uint32_t m = (uint32_t) _mm_movemask_epi8 (_mm_or_si128 (_mm_cmpeq_epi8 (v, n), _mm_cmpeq_epi8 (v, q)));
        m &= ~0u << (p - t);
        if (m) {
            p = t + __builtin_ctz (m);
            return *p == '\n' ? p : NULL;
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
            *how = S_BULK_END;                                                                      \
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
        /* The newline; NULL if a quote comes first. */                                             \
        const char *nl = stop < 64 ? p + stop : NLQ (p + 64, buf + lim);                            \
        if (m.qt || !nl || (size_t) (nl - p) > TL_CSV_LINE_MAX) {                                   \
            /* A quote in the line or just after it (the record may go on past this newline), or   \
               an over-long line: the record path. */                                               \
            size_t next_ = s_slow_record (self, buf, ls, lim, base);                                \
            if (next_ == SIZE_MAX) {                                                                \
                *how = S_BULK_OPEN;                                                                 \
                return ls;                                                                          \
            }                                                                                       \
            ls = next_;                                                                             \
            continue;                                                                               \
        }                                                                                           \
        if (ve < 64 && vs <= ve && stop > 1 && (col == 0 || __builtin_popcountll (m.cm & upto) >= col)) \
            s_emit_at (self, p, vs, ve);                                                            \
        else                                                                                        \
            s_line (self, p, (size_t) (nl - p), &e_);   /* rows state: cannot fail */               \
        ls = (size_t) (nl - buf) + 1;                                                               \
    }                                                                                               \
    /* The last lines (under 64 bytes): line by line. */                                            \
    return ls < lim ? s_bulk_scalar (self, buf, ls, lim, base, how) : lim;

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

static size_t
s_bulk (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    /* The first record may already be past the range (right after a carried one completed):
       the block scanners check the range only at each record start, so check here first. */
    if (base + i >= self->end) {
        *how = S_BULK_END;
        return i;
    }
#ifdef TL_HAVE_X86
    if (self->q)
        return s_bulk_scalar (self, buf, i, lim, base, how);
    if (self->impl == TL_CSV_AVX2)
        return s_bulk_avx2 (self, buf, i, lim, base, how);
    if (self->impl == TL_CSV_SSE2)
        return s_bulk_sse2 (self, buf, i, lim, base, how);
#endif
    return s_bulk_scalar (self, buf, i, lim, base, how);
}

/* ------------------------------------------------------------------ records across chunks */

static int
s_carry_append (tl_csv_t *self, const char *p, size_t n)
{
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

/*  A record starts at absolute offset `at` and goes on past the chunk. Before the rows (the
    header, and the blank lines before it) a record is a line. */
static void
s_carry_begin (tl_csv_t *self, uint64_t at)
{
    self->open = true;
    self->carry_start = at;
    self->carry_len = 0;
    tl_csv_record_init (&self->rec, self->state == S_HEADER || self->hdr_pending);
}

/*  The carried record is complete (or the object ended): count it. */
static int
s_carry_flush (tl_csv_t *self, tl_err_t *e)
{
    int rc = 0;
    self->open = false;
    if (self->hdr_pending && self->carry_start == self->hdr_at) {
        self->hdr_pending = false;      /* the object's header: not a row */
        self->xlines++;
    }
    else
        rc = s_record (self, self->carry, self->carry_len, &self->rec, self->carry_start, e);
    self->carry_len = 0;
    return rc;
}

/*  Go on with the carried record over [p, p+n): keep its bytes, and count it if it ends here.
    *used says how many bytes it took (through its newline). */
static int
s_carry_more (tl_csv_t *self, const char *p, size_t n, size_t *used, tl_err_t *e)
{
    const char *t = tl_csv_record_scan (&self->rec, p, p + n);
    size_t take = t ? (size_t) (t - p) : n;
    if (self->rec.overlong) {
        if (self->state == S_HEADER)
            return s_header_too_long (e);
    }
    else if (s_carry_append (self, p, take) != 0)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    *used = t ? take + 1 : n;
    return t ? s_carry_flush (self, e) : 0;
}

static int
s_nomem (tl_err_t *e)
{
    return tl_err_set (e, TL_ENOMEM, 0, "out of memory: the group table cannot grow");
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
        i = (size_t) (nl - buf) + 1;
        if (self->col < 0)
            return tl_err_set (e, TL_ECOLUMN, 0, "range starts past the header: resolve the column first");
        self->state = S_ROWS;
    }
    if (self->open) {
        size_t used = 0;
        int rc = s_carry_more (self, buf + i, len - i, &used, e);
        if (rc)
            return rc;
        i += used;
        if (self->open)
            return 0;
    }
    /* The header (if still due) goes line by line; after it, the complete lines of the chunk
       (up to its last newline) go through the bulk scanner. */
    while (i < len && self->state == S_HEADER) {
        if (base + i >= self->end) {
            self->state = S_DONE;
            return 1;
        }
        const char *nl = memchr (buf + i, '\n', len - i);
        if ((nl ? (size_t) (nl - (buf + i)) : len - i) > TL_CSV_LINE_MAX)
            return s_header_too_long (e);
        if (!nl)
            break;
        int rc = s_line (self, buf + i, (size_t) (nl - (buf + i)), e);
        if (rc)
            return rc;
        i = (size_t) (nl - buf) + 1;
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
        if (base + i == self->hdr_at) {
            self->hdr_pending = false;
            self->xlines++;
        }
        else {
            int rc = s_line (self, buf + i, (size_t) (nl - (buf + i)), e);
            if (rc)
                return rc;
        }
        i = (size_t) (nl - buf) + 1;
    }
    if (i < len && self->state == S_ROWS && !self->hdr_pending) {
        const char *last = memrchr (buf + i, '\n', len - i);
        if (last) {
            int how = S_BULK_ALL;
            i = s_bulk (self, buf, i, (size_t) (last - buf) + 1, base, &how);
            s_pre_flush (self);
            if (how == S_BULK_END) {
                self->state = S_DONE;
                return self->nomem ? s_nomem (e) : 1;
            }
        }
    }
    if (self->nomem)
        return s_nomem (e);
    if (i < len) {
        if (base + i >= self->end) {
            self->state = S_DONE;
            return 1;
        }
        /* A record that goes on past this chunk. It cannot end in it: the bulk scanner (or the
           header loop) found no end before the chunk's last newline, and there is none after. */
        s_carry_begin (self, base + i);
        size_t used = 0;
        int rc = s_carry_more (self, buf + i, len - i, &used, e);
        if (rc)
            return rc;
        assert (self->open && used == len - i);
        return 0;
    }
    if (self->pos >= self->end) {
        self->state = S_DONE;
        return 1;
    }
    return 0;
}

int
tl_csv_finish (tl_csv_t *self, tl_err_t *e)
{
    int rc = 0;
    if (self->state != S_DONE && self->state != S_SKIP_FIRST && self->open)
        rc = s_carry_flush (self, e);
    s_pre_flush (self);
    self->state = S_DONE;
    if (rc == 0 && self->nomem)
        rc = s_nomem (e);
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
    /* A carried record started before pos, so it stays ours whatever the new end. */
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

int
tl_csv_multiline_at (const tl_csv_t *self, uint64_t *offset, uint64_t *line)
{
    if (!self->st.multiline)
        return 0;
    if (offset)
        *offset = self->ml_at;
    if (line)
        *line = self->ml_line;
    return 1;
}
