/*  csv.c — streaming CSV scanner.

    How it works: lines are found with memchr('\n') over the chunk, which glibc vectorises. A
    line that straddles two chunks is copied into `carry` (at most TL_CSV_LINE_MAX bytes; longer
    lines are skipped to their newline and counted bad). Within a line we walk only up to the
    group-by column: a row's remaining columns are never parsed. */
#include "csv.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { S_SKIP_FIRST, S_HEADER, S_ROWS, S_DONE };

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
    size_t n = strlen (spec);
    int digits = n > 0 && n < 6;
    for (size_t i = 0; i < n && digits; i++)
        digits = isdigit ((unsigned char) spec [i]);
    if (digits && atoi (spec) >= 1)
        self->col = atoi (spec) - 1;
    else
        self->name = strdup (spec);
    self->unq = malloc (TL_AGG_KEY_MAX + 1);
    if ((!self->name && self->col < 0) || !self->unq)
        tl_csv_destroy (&self);
    return self;
}

void
tl_csv_destroy (tl_csv_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->name);
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
    if (self->name) {
        int c = tl_csv_find_column (line, len, self->name);
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
    while (i < len) {
        if (base + i >= self->end) {
            self->state = S_DONE;
            return 1;
        }
        const char *p = buf + i;
        const char *nl = memchr (p, '\n', len - i);
        if (!nl) {
            self->carry_start = base + i;
            int rc = s_carry_append (self, p, len - i);
            if (rc)
                return tl_err_set (e, rc, 0, "out of memory");
            return 0;
        }
        int rc = s_line (self, p, nl - p, e);
        if (rc)
            return rc;
        i = nl - buf + 1;
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
    return self->st;
}
