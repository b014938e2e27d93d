/*  pqtask.h — the pure half of counting a Parquet object: which columns a query needs, how an
    object is cut into tasks of row groups, which row groups a task owns, which of them the
    statistics rule out, and counting a row group's decoded chunks into the aggregator.

    Columns. The query resolves its names against the file's leaf columns exactly as it does
    against a CSV header (case-insensitive, the TLC eras' aliases, --column-alias): the leaf
    names, joined by commas, are handed to it as the header. A leaf name that a header field
    could not carry exactly (a comma, a newline, spaces or quotes around it) is given as an empty
    field: a query cannot name it (query names never hold a comma), but the other columns keep
    their positions, so numbered columns still mean the leaf of that number.

    Tasks. A row group's start is the offset of its first needed column chunk (the lowest
    offset over the needed columns). A task [offset, offset+length) owns the row groups whose
    start lies inside it: the Parquet analogue of the line rule, so every row group belongs to
    exactly one task of any partition of [0, size). The planner sorts row groups by start and
    cuts after about --split-size of needed chunk bytes; the first task starts at 0, each next
    one at its first row group's start, and the last runs to the object's end.

    Statistics. With filters, a row group whose chunk statistics prove that no row can pass is
    skipped (its rows count as filtered). Only what is certain is used: numeric leaves read as
    numbers (INT32/INT64 without a date/time/decimal annotation, FLOAT, DOUBLE) against a
    numeric literal, string leaves against a string literal, and NULL as the empty value it is
    everywhere else (so `!= 3` keeps NULL rows, and `> 2` drops them).

    Counting is in pqcount.h.

    Pure: no I/O. */
#ifndef TL_PQTASK_H
#define TL_PQTASK_H
#include "lib/base/err.h"
#include "lib/core/agg.h"
#include "lib/core/query.h"
#include "lib/core/parquet/meta.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_PQ_MAX_NEEDED (TL_QUERY_MAX_BY + TL_QUERY_MAX_AGG + TL_QUERY_MAX_WHERE)

/*  A query resolved against one file's schema. */
typedef struct {
    tl_query_t q;
    int ncols;                          /* distinct leaves needed */
    int cols [TL_PQ_MAX_NEEDED];        /* their leaf indices, in order of first use */
    bool plain;                         /* one column, a count, no slice, no filter */
} tl_pqquery_t;

/*  Resolve query text against meta's leaves. TL_ECOLUMN names a missing column; TL_EINVAL a
    nested one (inside a LIST or MAP). */
int tl_pqquery_resolve (tl_pqquery_t *pq, const char *text, const tl_pq_meta_t *meta, tl_err_t *e);

/*  Row group rg's start (the lowest offset of its needed chunks) and the needed bytes. */
int tl_pqtask_rg_span (const tl_pq_meta_t *m, uint64_t size, const tl_pqquery_t *pq, size_t rg, uint64_t *start,
                       uint64_t *bytes, tl_err_t *e);

typedef struct {
    uint64_t offset, length;
    uint64_t needed;            /* needed chunk bytes of its row groups */
    size_t rowgroups;
} tl_pqrange_t;

/*  Cut the object into tasks of consecutive row groups of about split needed bytes each
    (split 0: one task). *out (caller frees) holds *n ranges that partition [0, size). */
int tl_pqtask_plan (const tl_pq_meta_t *m, uint64_t size, const tl_pqquery_t *pq, uint64_t split,
                    tl_pqrange_t **out, size_t *n, tl_err_t *e);

/*  Does the task [offset, offset+length) own a row group that starts at start? */
static inline bool
tl_pqtask_owns (uint64_t offset, uint64_t length, uint64_t start)
{
    return start >= offset && start - offset < length;
}

/*  1 if row group rg's statistics prove that no row passes every filter of pq, else 0. */
int tl_pqtask_skip (const tl_pqquery_t *pq, const tl_pq_meta_t *m, size_t rg);

/*  Would a NULL (the empty text) pass filter i? (Exposed for the unit test, which checks it
    against tl_query_row.) */
bool tl_pqtask_null_passes (const tl_qwhere_t *w);
#endif
