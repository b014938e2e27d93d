/*  text.h — the one whitespace trim. Pure: no I/O.
    (lib/core/csv.c keeps its own trim of CSV values, spaces and tabs only plus a trailing '\r':
    a CSV value's other control bytes are data, not padding.) */
#ifndef TL_TEXT_H
#define TL_TEXT_H

/*  Narrow [*p, *e) past leading and trailing white space (isspace: space, \t, \n, \v, \f, \r). */
void tl_trim (const char **p, const char **e);
#endif
