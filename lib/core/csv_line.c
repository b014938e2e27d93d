/*  csv_line.c — counting one record: the scalar line path, the query path and field splitting.

    Every record the fast paths cannot settle ends here, and the scalar scanner sends every line
    here. A plain scan walks only up to the group-by column (memchr for the commas) and counts
    the trimmed value; a quote before or inside the value sends the record to the RFC 4180 field
    walk, which unquotes it. A query splits the row into fields up to the last one it needs and
    hands them over. tl_csv_count_record adds what a record's scan says (multi-line records, an
    open quote, an over-long record) before it counts the record as a line. */
#include "lib/core/csv_int.h"
#include <string.h>

/*  What follows a quoted field's closing quote, up to the comma: [p, e) with its end trimmed as
    a value's is. Python's csv module appends it to the value ("a"b is ab), and so does tally:
    dropped, it made two values one without a word (red team, session 11). */
static const char *
s_after_quote (const char *p, const char *e, const char **te)
{
    const char *fe = memchr (p, ',', (size_t) (e - p));
    if (!fe)
        fe = e;
    *te = fe;
    while (*te > p && ((*te) [-1] == ' ' || (*te) [-1] == '\t' || (*te) [-1] == '\r'))
        (*te)--;
    return fe;
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
            const char *t = p, *te;
            p = s_after_quote (p, e, &te);
            for (; want && t < te; t++, n++)
                if (n < TL_AGG_KEY_MAX)
                    self->unq [n] = *t;
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

/*  Does the record [p, end) (its line end cut off) hold a CR outside quoted fields? Python's csv
    module and DuckDB end a line there, tally does not (a line ends at LF or CRLF): rather than
    count a different row, the record is a bad row. A CR inside a quoted field is data. The quote
    rules are the record scanner's (csv_record.h); only a record that holds a CR gets here. */
static bool
s_lone_cr (const char *p, const char *end)
{
    if (!memchr (p, '"', (size_t) (end - p)))
        return true;
    enum { FIELD, PLAIN, IN, CLOSE } st = FIELD;
    for (; p < end; p++) {
        char c = *p;
        if (st == IN) {
            st = c == '"' ? CLOSE : IN;
            continue;
        }
        if (st == CLOSE && c == '"') {      /* "" inside quotes */
            st = IN;
            continue;
        }
        if (c == '\r')
            return true;
        st = c == ',' ? FIELD : c == '"' && st == FIELD ? IN : PLAIN;
    }
    return false;
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
            const char *t = q, *te;
            q = s_after_quote (q, end, &te);
            while (t < te)
                self->unq [uo++] = *t++;
            self->fields [nf++] = (tl_field_t) { self->unq + start, uo - start };
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
int
tl_csv_line (tl_csv_t *self, const char *p, size_t n, tl_err_t *e)
{
    const char *end = p + n;
    /* CRLF; and CR CR LF (a CRLF file converted once more), or CRs at the line's start: to
       Python's csv module and DuckDB, blank lines around the row, so the row here. */
    while (end > p && end [-1] == '\r')
        end--;
    while (p < end && *p == '\r')
        p++;
    if (end == p || (self->state == TL_CSV_ST_HEADER && end - p == 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)) {
        self->st.blank++;   /* a blank line, or a BOM alone before the header (tl_csv_find_header) */
        return 0;
    }
    if (self->state == TL_CSV_ST_HEADER) {
        int rc = tl_csv_set_header (self, p, (size_t) (end - p), e);
        self->xlines += rc == 0;
        return rc;
    }
    if (memchr (p, '\r', (size_t) (end - p)) && s_lone_cr (p, end)) {
        self->st.bad++;
        return 0;
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
int
tl_csv_count_record (tl_csv_t *self, const char *p, size_t n, const tl_csv_record_t *r, uint64_t at, tl_err_t *e)
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
        if (self->state == TL_CSV_ST_HEADER)
            return tl_csv_header_too_long (e);
        self->st.bad++;
        if (r->open_cut && !self->quote_open) {
            self->quote_open = true;    /* sticky: tl_csv_feed and tl_csv_finish fail with it */
            self->quote_open_at = at;
        }
        return self->quote_open ? tl_csv_quote_open (self, e) : 0;
    }
    return tl_csv_line (self, p, n, e);
}

int
tl_csv_quote_open (const tl_csv_t *self, tl_err_t *e)
{
    return tl_err_set (e, TL_EPROTO, 0, TL_CSV_QUOTE_OPEN, (unsigned long long) self->quote_open_at);
}

/*  The record path for the record that starts at ls: scan it to its end, wherever that is in
    [ls, lim), and count it. Returns the offset just past its newline, or SIZE_MAX if it goes on
    past lim. */
size_t
tl_csv_slow_record (tl_csv_t *self, const char *buf, size_t ls, size_t lim, uint64_t base)
{
    tl_csv_record_t r;
    tl_csv_record_init (&r, false);
    const char *t = tl_csv_record_scan (&r, buf + ls, buf + lim);
    if (!t)
        return SIZE_MAX;
    tl_err_t e;
    tl_csv_count_record (self, buf + ls, (size_t) (t - (buf + ls)), &r, base + ls, &e);  /* rows state: cannot fail */
    return (size_t) (t - buf) + 1;
}

/*  Scalar: line by line. */
size_t
tl_csv_bulk_scalar (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how)
{
    tl_err_t e;
    const char *qn = NULL;      /* the next quote at or after i (buf + lim: none), once known */
    while (i < lim) {
        if (base + i >= self->end) {
            *how = TL_CSV_BULK_END;
            return i;
        }
        if (!qn || qn < buf + i) {
            qn = memchr (buf + i, '"', lim - i);
            if (!qn)
                qn = buf + lim;
        }
        const char *nl = memchr (buf + i, '\n', lim - i);
        if (qn < nl || (size_t) (nl - (buf + i)) > TL_CSV_LINE_MAX) {
            size_t next = tl_csv_slow_record (self, buf, i, lim, base);
            if (next == SIZE_MAX) {
                *how = TL_CSV_BULK_OPEN;
                return i;
            }
            i = next;
            continue;
        }
        tl_csv_line (self, buf + i, (size_t) (nl - (buf + i)), &e);   /* rows state: cannot fail */
        i = (size_t) (nl - buf) + 1;
    }
    return i;
}
