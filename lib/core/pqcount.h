/*  pqcount.h — counting a Parquet task's row groups into the aggregator.

    A plain count of one column reads dictionary pages as runs of indices, counts per
    index (an RLE run adds its whole length) and turns indices into keys once per dictionary;
    plain pages are counted by the values' bits (up to 8 bytes) or raw bytes and texted once per
    distinct value. A richer query reads its columns row-aligned into lib/core/pqrows.c, which
    gives tl_query_row's answers on the canonical texts (value.h) from typed values. NULL is the
    empty text.

    Pure: no I/O. */
#ifndef TL_PQCOUNT_H
#define TL_PQCOUNT_H
#include "lib/core/pqtask.h"
#include "lib/core/parquet/column.h"



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
/*  The same, reading the chunk of leaf pq->cols [i] from srcs [i] (column.h; one source per
    column, each borrowed for the call), so that only a page and a dictionary per column need
    be in memory. A source's error is returned as the source set it. */
int tl_pqcount_rowgroup_src (tl_pqcount_t *self, size_t rg, const tl_pq_src_t *srcs, tl_err_t *e);
/*  Row group rg is skipped by its statistics: count its rows as filtered. */
void tl_pqcount_skipped (tl_pqcount_t *self, size_t rg);
/*  Flush what is still held per raw value into agg. Call once, after the last row group. */
int tl_pqcount_finish (tl_pqcount_t *self, tl_err_t *e);
tl_pqcount_stats_t tl_pqcount_stats (const tl_pqcount_t *self);
#endif
