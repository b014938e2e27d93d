/*  csv.c — streaming CSV scanner: the object, the feed loop, and records across chunks.

    How it works: the header is read line by line. After it, the complete lines of each chunk
    (up to its last newline) go to a bulk scanner (see "bulk row scanning" below), which counts
    a line without quotes on the spot and hands any line that holds a quote to the record path.
    The record path follows RFC 4180 quote state across newlines (csv_record.c), so a quoted field
    that holds newlines makes one record. A record that straddles two chunks is copied into
    `carry`, with its quote state, and counted when its end arrives. Within a record we walk only
    up to the group-by column: a row's remaining columns are never parsed.

    Over-long records. A record over TL_CSV_LINE_MAX bytes is one bad row, and the scanner
    resynchronises at the first newline at or after its byte TL_CSV_LINE_MAX; if a quoted field is
    still open at that newline the object fails instead (TL_CSV_QUOTE_OPEN, csv_record.h says why). A header line over the limit fails the object
    (TL_CSV_HEADER_TOO_LONG): the first data row must not become the header. */
#include "lib/core/csv_int.h"
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

tl_csv_t *
tl_csv_new (const char *spec, tl_agg_t *agg)
{
    tl_csv_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->agg = agg;
    self->col = -1;
    self->end = UINT64_MAX;
    self->state = TL_CSV_ST_HEADER;
    if (!tl_query_is_plain (spec)) {
        /* Query mode: every row is split into fields up to the last one needed, record by record. */
        tl_err_t e;
        self->q = malloc (sizeof *self->q);
        self->name = strdup ("(query)");
        self->unq = malloc (TL_CSV_LINE_MAX + 1);
        self->impl = tl_csv_best_impl ();  /* the query hop (csv_bulk.c), or scalar */
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
        self->state = TL_CSV_ST_SKIP_FIRST;
    }
}

uint64_t
tl_csv_stream_offset (const tl_csv_t *self)
{
    return self->start ? self->start - 1 : 0;
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
    tl_csv_record_init (&self->rec, self->state == TL_CSV_ST_HEADER || self->hdr_pending);
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
        rc = tl_csv_count_record (self, self->carry, self->carry_len, &self->rec, self->carry_start, e);
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
        if (self->state == TL_CSV_ST_HEADER)
            return tl_csv_header_too_long (e);
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
    if (self->state == TL_CSV_ST_DONE)
        return 1;
    if (self->state == TL_CSV_ST_SKIP_FIRST) {
        const char *nl = memchr (buf, '\n', len);
        if (!nl)
            return 0;
        i = (size_t) (nl - buf) + 1;
        if (self->col < 0)
            return tl_err_set (e, TL_ECOLUMN, 0, "range starts past the header: resolve the column first");
        self->state = TL_CSV_ST_ROWS;
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
    while (i < len && self->state == TL_CSV_ST_HEADER) {
        if (base + i >= self->end) {
            self->state = TL_CSV_ST_DONE;
            return 1;
        }
        const char *nl = memchr (buf + i, '\n', len - i);
        if ((nl ? (size_t) (nl - (buf + i)) : len - i) > TL_CSV_LINE_MAX)
            return tl_csv_header_too_long (e);
        if (!nl)
            break;
        int rc = tl_csv_line (self, buf + i, (size_t) (nl - (buf + i)), e);
        if (rc)
            return rc;
        i = (size_t) (nl - buf) + 1;
    }
    /* A range that holds the object's header line (after leading blank lines) skips it. */
    while (i < len && self->state == TL_CSV_ST_ROWS && self->hdr_pending) {
        if (base + i >= self->end) {
            self->state = TL_CSV_ST_DONE;
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
            int rc = tl_csv_line (self, buf + i, (size_t) (nl - (buf + i)), e);
            if (rc)
                return rc;
        }
        i = (size_t) (nl - buf) + 1;
    }
    if (i < len && self->state == TL_CSV_ST_ROWS && !self->hdr_pending) {
        const char *last = memrchr (buf + i, '\n', len - i);
        if (last) {
            int how = TL_CSV_BULK_ALL;
            i = tl_csv_bulk (self, buf, i, (size_t) (last - buf) + 1, base, &how);
            tl_csv_pre_flush (self);
            if (how == TL_CSV_BULK_END) {
                self->state = TL_CSV_ST_DONE;
                return self->nomem ? s_nomem (e) : self->quote_open ? tl_csv_quote_open (self, e) : 1;
            }
        }
    }
    if (self->nomem)
        return s_nomem (e);
    if (self->quote_open)
        return tl_csv_quote_open (self, e);
    if (i < len) {
        if (base + i >= self->end) {
            self->state = TL_CSV_ST_DONE;
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
        self->state = TL_CSV_ST_DONE;
        return 1;
    }
    return 0;
}

int
tl_csv_finish (tl_csv_t *self, tl_err_t *e)
{
    int rc = 0;
    if (self->state != TL_CSV_ST_DONE && self->state != TL_CSV_ST_SKIP_FIRST && self->open)
        rc = s_carry_flush (self, e);
    tl_csv_pre_flush (self);
    self->state = TL_CSV_ST_DONE;
    if (rc == 0 && self->nomem)
        rc = s_nomem (e);
    if (rc == 0 && self->quote_open)
        rc = tl_csv_quote_open (self, e);
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
    if (self->state == TL_CSV_ST_DONE || end < self->pos || end < self->start)
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
