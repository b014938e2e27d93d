/*  expand.h — inputs without a listing: brace ranges in a URI, and URI list files.

    HTTPS hosts such as the TLC's CDN cannot be listed, so a job names its objects:
      yellow_tripdata_{2009..2025}-{01..12}.parquet    numeric ranges, first to last (either
                                                       direction); zero-padded to the wider
                                                       bound's width when a bound has a
                                                       leading zero ({01..12} gives 01, 02, ...)
      {yellow,green}_tripdata_2024-01.parquet          a list of alternatives
    Several braces give their cartesian product, leftmost varying slowest. A brace that is
    neither form ({}, {a}, {x..y}) is kept as it is. The result is bounded (TL_EXPAND_MAX).
    Pure: text in, text out. */
#ifndef TL_EXPAND_H
#define TL_EXPAND_H
#include "lib/base/err.h"
#include <stddef.h>

#define TL_EXPAND_MAX 100000

/*  Expand pattern into *out (caller frees each string and the array) and *n. TL_EFULL when it
    would give more than max (≤ TL_EXPAND_MAX; 0 means TL_EXPAND_MAX) URIs, naming the pattern. */
int tl_expand (const char *pattern, size_t max, char ***out, size_t *n, tl_err_t *e);
void tl_expand_free (char **v, size_t n);
/*  The URIs of a list file's text: one a line, spaces around trimmed, blank lines and lines
    starting with '#' ignored. Appended to *v (grown with realloc), *n updated. */
int tl_expand_lines (const char *text, size_t len, char ***v, size_t *n, tl_err_t *e);
#endif
