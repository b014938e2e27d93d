/*  header.h — finding a column by name in a CSV header line.

    One pure helper that both the scanner (csv.c) and the query (query.c) need: a column name
    matches a header field case-insensitively, with spaces and tabs around the field ignored,
    surrounding quotes removed, and a UTF-8 BOM before the first field skipped. Fields are split
    by the data rows' quote rules, so a quoted name holding a comma is one field. It lives on its
    own so that query.c need not call into csv.c while csv.c calls into query.c.

    Pure: no I/O. */
#ifndef TL_HEADER_H
#define TL_HEADER_H
#include <stddef.h>

/*  Find a column by name in a header line (without its newline). Returns its 0-based index, -1
    if no field matches, or TL_HEADER_TWICE if more than one does (case aside): which column is
    meant cannot be told, and taking the first would count one the user may not have meant. */
#define TL_HEADER_TWICE (-2)
int tl_header_find_column (const char *line, size_t len, const char *name);
/*  How many fields a header line holds, split as tl_header_find_column splits them (an empty
    line is one empty field). */
int tl_header_count_fields (const char *line, size_t len);
/*  Does a quoted field of the header line run past its end (a newline inside quotes in a
    column name)? The header is one line, so its rest would be read as a row: callers fail. */
int tl_header_open_quote (const char *line, size_t len);
#endif
