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

    Counting. A plain count of one column reads dictionary pages as runs of indices, counts per
    index (an RLE run adds its whole length) and turns indices into keys once per dictionary;
    plain pages are counted by raw value bytes and texted once per distinct value. A richer
    query reads its columns row-aligned and hands each row's canonical texts (value.h) to
    tl_query_row, the very function the CSV scanner's query mode uses. NULL is the empty text.

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

/* ---------------------------------------------------------------- counting */

typedef struct tl_pqcount tl_pqcount_t;

typedef struct {
    uint64_t rows;          /* rows counted into a group */
    uint64_t bad;           /* rows whose key was too long */
    uint64_t filtered;      /* rows a filter left out (skipped row groups included) */
    uint64_t skipped;       /* row groups skipped by their statistics */
} tl_pqcount_stats_t;

/*  A counter for pq over meta (both borrowed, must outlive it) into agg (borrowed; it must have
    the query's value cells). max_page caps a decompressed page or dictionary (0: 256 MiB). */
tl_pqcount_t *tl_pqcount_new (const tl_pqquery_t *pq, const tl_pq_meta_t *meta, tl_agg_t *agg, size_t max_page);
void tl_pqcount_destroy (tl_pqcount_t **self_p);
/*  Count row group rg. chunks [i] (lens [i] bytes) holds the chunk of leaf pq->cols [i], as
    tl_pq_chunk_range names it; borrowed for the call. Errors name the row group, column and
    page (the reader's message). */
int tl_pqcount_rowgroup (tl_pqcount_t *self, size_t rg, const uint8_t *const *chunks, const size_t *lens, tl_err_t *e);
/*  Row group rg is skipped by its statistics: count its rows as filtered. */
void tl_pqcount_skipped (tl_pqcount_t *self, size_t rg);
/*  Flush what is still held per raw value into agg. Call once, after the last row group. */
int tl_pqcount_finish (tl_pqcount_t *self, tl_err_t *e);
tl_pqcount_stats_t tl_pqcount_stats (const tl_pqcount_t *self);
#endif
