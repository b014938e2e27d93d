/*  csv_header.c — finding an object's header and resolving the group-by column in it.

    The header is the first line that is not blank, and it is one line (quotes do not join
    lines in it). A plain scan looks its column up by name, through the TLC era aliases
    (query.c), or takes it by number; a query resolves all its columns at once. Range tasks
    cannot see the header in their own bytes: they get the column from the object's first line
    (tl_csv_set_header_at) or from a cache (tl_csv_set_column_index), plus where that line starts,
    so that a range which holds it does not count it as a row. A header line over
    TL_CSV_LINE_MAX fails the object: the first data row must not become the header. */
#include "lib/core/csv_int.h"
#include "lib/core/header.h"
#include <stdlib.h>
#include <string.h>

int
tl_csv_header_too_long (tl_err_t *e)
{
    return tl_err_set (e, TL_EPROTO, 0, TL_CSV_HEADER_TOO_LONG);
}

int
tl_csv_find_header (const char *buf, size_t n, const char **line, size_t *len, uint64_t *at)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr (buf + i, '\n', n - i);
        size_t l = nl ? (size_t) (nl - (buf + i)) : n - i, text = l;
        while (text > 0 && buf [i + text - 1] == '\r')
            text--;     /* a blank line may end in CRs (tl_csv_line) */
        size_t lead = 0;
        while (lead < text && buf [i + lead] == '\r')
            lead++;     /* and start with CRs (tl_csv_line) */
        text -= lead;
        if (text == 3 && memcmp (buf + i + lead, "\xEF\xBB\xBF", 3) == 0)
            text = 0;   /* a BOM alone: blank lines and the header follow (red team, session 11) */
        if (text > 0) {
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
tl_csv_set_column_index (tl_csv_t *self, int col)
{
    self->col = col;
    if (self->state == TL_CSV_ST_HEADER)
        self->state = TL_CSV_ST_ROWS;
}

int
tl_csv_set_header (tl_csv_t *self, const char *line, size_t len, tl_err_t *e)
{
    if (len > TL_CSV_LINE_MAX)
        return tl_csv_header_too_long (e);
    while (len > 0 && line [len - 1] == '\r')
        len--;      /* CRLF, CR CR LF, and CRs before the line, as tl_csv_line cuts them */
    while (len > 0 && line [0] == '\r') {
        line++;
        len--;
    }
    if (memchr (line, '\r', len)) {
        /* A file whose lines end in a lone CR (old Mac) is one long header line: every row
           would vanish into it. */
        return tl_err_set (e, TL_EPROTO, 0, "the header line holds a carriage return before its end: lines that end "
                           "in a lone CR (old Mac files) are not supported (convert them to LF or CRLF)");
    }
    if (tl_header_open_quote (line, len)) {
        /* Its next line would be counted as a row, and the columns after it lost. */
        size_t show = len > 300 ? 300 : len;
        return tl_err_set (e, TL_EPROTO, 0, "the header line ends inside a quoted column name (a newline in a "
                           "column name is not supported): '%.*s%s'", (int) show, line, show < len ? "..." : "");
    }
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
        if (c < 0)
            return tl_query_column_error (e, self->name, c, line, len);
        self->col = c;
    }
    else if (self->col >= 0) {
        /* By number: a header without that field means every row would be bad. */
        int fields = tl_header_count_fields (line, len);
        if (self->col >= fields)
            return tl_query_width_error (e, self->col + 1, fields, line, len);
    }
    if (self->state == TL_CSV_ST_HEADER)
        self->state = TL_CSV_ST_ROWS;
    return 0;
}
