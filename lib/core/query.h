/*  query.h — what a job computes: group-by keys, aggregates, filters and column aliases.

    A query travels as text in the `col` field of TASK, JOB and UPDATE. The plain case, one
    column and a count, is just the column spec ("passenger_count", "4"), so the scanner's fast
    path sees exactly what it always did. Anything richer is one item per line, each line ending
    in '\n':

        by tpep_pickup_datetime[0:10]       group-by key: a column, optionally bytes [a:b) of it
        by passenger_count                  (several keys: the group is the tuple)
        agg count                           aggregates, in output order (count is implied)
        agg sum:trip_distance               sum, min, max, avg of a numeric column
        where passenger_count > 0           filters, all must hold: = != < <= > >=
        alias pickup_datetime=Trip_Pickup_DateTime|pickup_dt

    A column is a header name (case-insensitive, spaces around it ignored) or a 1-based number.
    Names are looked up in the object's header, then through the user's aliases, then through the
    TLC table (tpep_pickup_datetime = pickup_datetime = Trip_Pickup_DateTime, ...).

    Values: a where compares as numbers when the literal is a number and the field parses as
    one; a field that does not parse fails a numeric comparison (like SQL's NULL). An aggregate
    cell counts the numbers it took (n) and the values that were not numbers (bad, empty ones
    included): bad values are reported, never taken as 0.

    Pure: no I/O. */
#ifndef TL_QUERY_H
#define TL_QUERY_H
#include "lib/core/agg.h"
#include "lib/base/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TL_QUERY_MAX_BY 8
#define TL_QUERY_MAX_AGG 8
#define TL_QUERY_MAX_WHERE 8
#define TL_QUERY_MAX_ALIAS 16
#define TL_QUERY_KEY_SEP '\x1f'     /* between the parts of a multi-column group key */

typedef enum { TL_Q_COUNT, TL_Q_SUM, TL_Q_MIN, TL_Q_MAX, TL_Q_AVG } tl_qkind_t;
typedef enum { TL_Q_EQ, TL_Q_NE, TL_Q_LT, TL_Q_LE, TL_Q_GT, TL_Q_GE } tl_qop_t;

typedef struct {
    char name [128];        /* header name, or "" when given by number */
    int num;                /* 1-based column number, or 0 */
    uint32_t from, to;      /* byte slice [from, to) of the value; to = UINT32_MAX for the end */
    int col;                /* resolved 0-based index, -1 until resolved */
} tl_qcol_t;

typedef struct {
    tl_qkind_t kind;
    tl_qcol_t col;          /* unused for count */
    int cell;               /* index of its value cell, -1 for count */
} tl_qagg_t;

typedef struct {
    tl_qcol_t col;
    tl_qop_t op;
    char value [256];
    double num;
    bool numeric;           /* the literal is a number */
} tl_qwhere_t;

typedef struct {
    char name [128];
    char alts [8][128];
    int nalts;
} tl_qalias_t;

typedef struct {
    tl_qcol_t by [TL_QUERY_MAX_BY];
    int nby;
    tl_qagg_t aggs [TL_QUERY_MAX_AGG];
    int naggs;
    tl_qwhere_t where [TL_QUERY_MAX_WHERE];
    int nwhere;
    tl_qalias_t alias [TL_QUERY_MAX_ALIAS];
    int nalias;
    int nvals;              /* value cells per group (aggregates other than count) */
    int maxcol;             /* the highest column index any part needs, once resolved */
} tl_query_t;

typedef struct {
    uint64_t rows;          /* rows counted into a group */
    uint64_t filtered;      /* rows a where left out */
    uint64_t bad;           /* rows with too few columns, or a key too long */
} tl_qstats_t;

typedef struct {
    const char *p;
    size_t n;
} tl_field_t;

/*  Build the query text from command-line pieces (any of the lists may be empty; by must not).
    by entries may hold several keys separated by commas. Checks everything; on error e says
    which piece is wrong. *text is the canonical text (caller frees). */
int tl_query_build (const char *const *by, int nby, const char *const *aggs, int naggs, const char *const *wheres,
                    int nwheres, const char *const *aliases, int naliases, char **text, tl_err_t *e);
/*  Parse query text (either form). */
int tl_query_parse (const char *text, tl_query_t *q, tl_err_t *e);
/*  The value cells per group of query text (its aggregates other than count); 0 if it does not
    parse (counts only). */
unsigned tl_query_ncells (const char *text);
/*  True if text is the plain form (one column, count, nothing else). */
bool tl_query_is_plain (const char *text);
/*  Resolve every column against a header line. TL_ECOLUMN names the first one missing. */
int tl_query_resolve (tl_query_t *q, const char *line, size_t len, tl_err_t *e);
/*  Find a column by name in a header, through the user's aliases and the TLC table: its index, -1
    if absent, TL_HEADER_TWICE or TL_QUERY_ALIAS_TWICE if which column is meant cannot be told. */
int tl_query_find_column (const tl_query_t *q, const char *line, size_t len, const char *name);
/*  The error for a column name that tl_query_find_column did not resolve (found: -1, not in the
    header; TL_HEADER_TWICE, named more than once): TL_ECOLUMN, with the header shown. */
int tl_query_column_error (tl_err_t *e, const char *name, int found, const char *line, size_t len);
/*  tl_query_find_column's answer when the name is not in the header but two names of its alias
    group are, in two different columns. */
#define TL_QUERY_ALIAS_TWICE (-3)
/*  The error for a column asked for by number (num, 1-based) past the header's fields. */
int tl_query_width_error (tl_err_t *e, int num, int fields, const char *line, size_t len);
/*  A cell's number: decimal text, surrounding spaces allowed; hex, nan and inf are not numbers.
    Returns 1 with *v set, or 0. Exactly strtod's double for every accepted text. */
int tl_query_parse_num (const char *p, size_t n, double *v);
/*  One row, its fields trimmed and unquoted (nf of them, at least maxcol+1 or the row is bad). */
void tl_query_row (const tl_query_t *q, const tl_field_t *f, int nf, tl_agg_t *agg, tl_qstats_t *st);
/*  The same for a row whose bytes are known to hold no TL_QUERY_KEY_SEP (the bulk reader looks
    for it once per buffer): the per-part search for it is skipped. */
void tl_query_row_nosep (const tl_query_t *q, const tl_field_t *f, int nf, tl_agg_t *agg, tl_qstats_t *st);
/*  Does key part i (n bytes at p), after len bytes of the key, make the row bad: the key too
    long, or, with several keys, a part holding the separator (("a\x1fb", "c") and ("a",
    "b\x1fc") would be one key)? may_sep false: the caller knows the bytes hold none. The one
    rule of every reader (tl_query_row, Parquet's tl_pqrows_add). */
static inline bool
tl_query_part_bad (const tl_query_t *q, size_t len, int i, const char *p, size_t n, bool may_sep)
{
    return len + n + (i ? 1 : 0) > TL_AGG_KEY_MAX
           || (may_sep && q->nby > 1 && n && memchr (p, TL_QUERY_KEY_SEP, n));
}
/*  The pieces of tl_query_row, for a reader that has typed values (Parquet): does a value's
    text pass filter w (its slice applied)? Does a number pass it (w->numeric only; the number
    must be the one tl_query_parse_num reads from the value's text)? And the number an
    aggregate over column c takes from a text (its slice applied): 1 with *d, or 0. */
bool tl_query_where_text (const tl_qwhere_t *w, const char *p, size_t n);
/*  Bytes [from, to) of a value, as column c's slice says (clipped to the value). */
tl_field_t tl_query_slice (const tl_qcol_t *c, tl_field_t f);
bool tl_query_where_num (const tl_qwhere_t *w, double d);
int tl_query_value_num (const tl_qcol_t *c, const char *p, size_t n, double *d);
/*  Labels for output: the header of group key part i, and of aggregate i ("count", "sum(trip_distance)"). */
void tl_query_by_label (const tl_query_t *q, int i, char *out, size_t outlen);
void tl_query_agg_label (const tl_query_t *q, int i, char *out, size_t outlen);
/*  Exact or loud: a sum that left a double's range (two values near 1.8e308 in one group) is
    not a total. Returns how many groups hold a sum that is not finite, and names the first
    (aggregate and group) in why. Values are parsed finite, so only sums can get there (an avg
    is a sum divided). O(groups): for the end of a job. */
size_t tl_query_overflow (const tl_query_t *q, const tl_agg_t *agg, char *why, size_t whylen);
#endif
