/*  pqrows.h — a rich query (keys, aggregates, filters) over row-aligned Parquet batches, on
    typed values.

    The CSV scanner hands tl_query_row one row of texts at a time. A Parquet reader has more:
    dictionaries and typed values. This module gives the very same answers as tl_query_row
    over the values' canonical texts (value.h), without the round trip through text where
    the type makes it unnecessary:
      * Dictionary batches: a filter, an aggregate's number and a key's text are worked out
        once per dictionary entry, then looked up per row.
      * Plain batches of numbers whose text reads back as the same double (integers, DOUBLE,
        DECIMAL on INT32/INT64 with few digits): filters and aggregates take the double
        straight from the value. Anything else (FLOAT, dates, strings, NaN, a slice) goes
        through its text, so it cannot disagree with the text rule.
      * Keys: a TIMESTAMP sliced within its date is texted once per day; other plain values
        once per run of equal values. Consecutive rows with the same key add to the same
        group with one lookup per run.
    Sums add in row order, as the CSV path does, so the same rows give the same double.

    Pure: no I/O. */
#ifndef TL_PQROWS_H
#define TL_PQROWS_H
#include "lib/base/err.h"
#include "lib/core/agg.h"
#include "lib/core/pqtask.h"
#include "lib/core/parquet/column.h"

typedef struct tl_pqrows tl_pqrows_t;

/*  A query pq (resolved against m's leaves; both borrowed and must outlive it) counting into
    agg (borrowed; it has the query's value cells). NULL when out of memory. */
tl_pqrows_t *tl_pqrows_new (const tl_pqquery_t *pq, const tl_pq_meta_t *m, tl_agg_t *agg);
void tl_pqrows_destroy (tl_pqrows_t **self_p);
/*  A new row group: its readers' dictionaries are new ones, whatever their dict_gen says. */
void tl_pqrows_rowgroup (tl_pqrows_t *self);
/*  k rows: b [j] holds them for needed leaf pq->cols [j], each batch exactly k rows, read in
    TL_PQ_INDICES mode. Returns 0, or TL_ENOMEM with e set. */
int tl_pqrows_add (tl_pqrows_t *self, const tl_pq_batch_t *b, size_t k, tl_err_t *e);
/*  Put the group held for the current run of equal keys into agg. Call before agg is read. */
int tl_pqrows_flush (tl_pqrows_t *self, tl_err_t *e);
/*  Rows counted, filtered and bad (a key over TL_AGG_KEY_MAX bytes), as tl_query_row counts. */
tl_qstats_t tl_pqrows_stats (const tl_pqrows_t *self);
#endif
