/*  column.h — the column-chunk reader: one leaf column of one row group, pages in, batches of
    rows out.

    Input is the column chunk, the bytes [off, off+len) that tl_pq_chunk_range names, pulled
    through a byte source (tl_pq_src_t): for each page the reader asks for a header probe of at
    most TL_PQ_HEADER_PROBE bytes (more only when a header is longer), then the page's body. So
    the chunk never has to be in memory at once: a source may fetch a window of it at a time.
    A pointer a source hands out is valid only until its next read, so the reader copies what
    must outlive a page (a dictionary stored uncompressed) unless the source says its bytes are
    stable (tl_pq_src_mem, the whole chunk in memory: read in place, as tl_pq_col_new does). The
    reader's own memory is bounded by its largest decompressed page and its dictionary (each
    refused above opts.max_page, as is a compressed page body) plus the batch scratch, which is
    proportional to the max_rows the caller asks for; a source's largest read is the larger of
    the probe and the largest compressed page (or of a header longer than the probe).

    tl_pq_col_next delivers up to max_rows rows, never crossing a page, in one of three forms:
      * TL_PQ_BATCH_RUNS (asked for with TL_PQ_RUNS, dictionary-encoded pages only): runs of
        (dictionary index, length); an RLE run of the file arrives as one run, so a counter
        adds its whole length at once. A run's index may be TL_PQ_NULL_INDEX (len null rows)
        or TL_PQ_LIT_INDEX (len rows whose indices are the next len entries of batch.idx,
        which may themselves be TL_PQ_NULL_INDEX).
      * TL_PQ_BATCH_INDICES (TL_PQ_INDICES, dictionary pages): batch.idx[rows], one index per
        row, TL_PQ_NULL_INDEX for nulls.
      * TL_PQ_BATCH_VALUES (TL_PQ_VALUES, and every page that is not dictionary-encoded):
        batch.vals holds one value per row (null rows hold zero / empty), batch.valid[rows] is
        1 for a value and 0 for null, or NULL when no row in the batch is null.
    tl_pq_col_next_unordered serves a counter, which needs no row order, in two forms whatever
    the mode: dictionary pages as TL_PQ_BATCH_RUNS with the batch's null rows gathered into one
    leading TL_PQ_NULL_INDEX run (literal indices are then never null), other pages as
      * TL_PQ_BATCH_DENSE: only the batch's rows - nulls non-null values, in page order, nulls
        not placed: batch.vals.ba for BYTE_ARRAY, otherwise batch.raw, vals.n * vals.width bytes,
        little-endian and unaligned, lent from the page itself where it stores them PLAIN.
    Definition levels are then counted, never expanded (a popcount per 64 rows of a flat
    OPTIONAL column), and non-null values need no scatter to row positions.
    Indices refer to batch.dict, which stays valid until dict_gen changes (a new dictionary
    page) or the reader is destroyed; map indices to keys once per dictionary. A chunk may
    switch from dictionary to plain pages midway (a writer's fallback), so a caller handles
    both kinds in one chunk.

    Several columns read row-aligned: k = min over the columns of tl_pq_col_ready (rows left
    in each one's current page, loading the next page when needed), then tl_pq_col_next with
    max_rows = k on each, which then returns exactly k rows from each.

    Leaves with max_rep > 0 (inside a LIST or MAP) are refused by tl_pq_col_new with a
    one-line error; flat leaves of a file that also has nested columns read normally. */
#ifndef TL_PQ_COLUMN_H
#define TL_PQ_COLUMN_H
#include "lib/base/err.h"
#include "lib/core/parquet/encoding.h"
#include "lib/core/parquet/meta.h"

#define TL_PQ_NULL_INDEX UINT32_MAX
#define TL_PQ_LIT_INDEX (UINT32_MAX - 1)
#define TL_PQ_DEFAULT_MAX_PAGE ((size_t) 256 << 20)

enum { TL_PQ_RUNS = 0, TL_PQ_INDICES = 1, TL_PQ_VALUES = 2 };                  /* asked */
enum { TL_PQ_BATCH_RUNS = 0, TL_PQ_BATCH_INDICES = 1, TL_PQ_BATCH_VALUES = 2, TL_PQ_BATCH_DENSE = 3 }; /* delivered */

typedef struct {
    uint32_t index;
    uint32_t len;
} tl_pq_run_t;

typedef struct {
    size_t rows;
    int kind;                       /* TL_PQ_BATCH_* */
    size_t nulls;                   /* null rows in the batch */
    const uint8_t *valid;           /* INDICES/VALUES: per-row 1/0, NULL when no nulls */
    const tl_pq_values_t *dict;     /* RUNS/INDICES: the dictionary */
    uint64_t dict_gen;              /* changes with each new dictionary (starts at 1) */
    const uint32_t *idx;            /* RUNS: literal indices; INDICES: one per row */
    const tl_pq_run_t *runs;        /* RUNS */
    size_t nruns;
    tl_pq_values_t vals;            /* VALUES; DENSE: type, width, n, and ba for BYTE_ARRAY */
    const uint8_t *raw;             /* DENSE, fixed-width types: vals.n values, unaligned */
} tl_pq_batch_t;

typedef struct {
    size_t max_page;                /* page/dictionary cap, decompressed or not; 0 = 256 MiB */
    int mode;                       /* TL_PQ_RUNS / TL_PQ_INDICES / TL_PQ_VALUES */
    bool skip_crc;                  /* do not check page CRCs */
} tl_pq_col_opts_t;

typedef struct tl_pq_col tl_pq_col_t;

/*  How much of a page header the reader asks for first: Thrift headers are tens of bytes, a
    few KiB with statistics; a longer one is asked for again with 1 MiB, then with max_page. */
#define TL_PQ_HEADER_PROBE ((size_t) 64 << 10)

/*  Where a reader's chunk bytes come from. read returns in *p bytes [off, off+len) of the
    chunk (off counted from the chunk's first byte), exactly len of them: the reader never asks
    past len, so a source that cannot deliver them (a short object) fails. *p is valid until the
    next read of this source; one source serves one reader. Returns 0 or a negative TL_E* code
    with e set; the reader passes that error on as it is (a network error keeps its text and its
    retryable flag). */
typedef struct {
    int (*read) (void *arg, uint64_t off, size_t len, const uint8_t **p, tl_err_t *e);
    void *arg;
    uint64_t len;                   /* the chunk's length */
    bool stable;                    /* pointers stay valid until the reader is reset or destroyed */
} tl_pq_src_t;

/*  A stable source over chunk_bytes[0..len) (borrowed): reads point into it, nothing is copied. */
tl_pq_src_t tl_pq_src_mem (const uint8_t *chunk_bytes, size_t len);

/*  A reader for column col (borrowed, must outlive the reader) of row group rg, whose chunk
    metadata is chunk (copied) and whose bytes come from src (the struct is copied; its arg is
    borrowed until the reader is reset or destroyed). opts may be NULL. Returns 0, TL_EINVAL
    (nested leaf, unsupported codec), TL_ENOMEM. */
int tl_pq_col_new_src (tl_pq_col_t **out, const tl_pq_column_t *col, const tl_pq_chunk_t *chunk, int rg,
                       const tl_pq_src_t *src, const tl_pq_col_opts_t *opts, tl_err_t *e);
/*  The same over chunk_bytes[0..len) in memory (borrowed): tl_pq_src_mem. */
int tl_pq_col_new (tl_pq_col_t **out, const tl_pq_column_t *col, const tl_pq_chunk_t *chunk, int rg,
                   const uint8_t *chunk_bytes, size_t len, const tl_pq_col_opts_t *opts, tl_err_t *e);
void tl_pq_col_destroy (tl_pq_col_t **self_p);
/*  Point the reader at another chunk of the same column (the next row group), read from src,
    keeping its buffers and codec context. The dictionary is dropped (dict_gen moves on). */
int tl_pq_col_reset_src (tl_pq_col_t *self, const tl_pq_chunk_t *chunk, int rg, const tl_pq_src_t *src,
                         tl_err_t *e);
int tl_pq_col_reset (tl_pq_col_t *self, const tl_pq_chunk_t *chunk, int rg, const uint8_t *chunk_bytes,
                     size_t len, tl_err_t *e);
/*  Rows left in the current page, loading the next page when it is used up; 0 at the end of
    the chunk. Returns 0 or a negative code. */
int tl_pq_col_ready (tl_pq_col_t *self, size_t *rows, tl_err_t *e);
/*  The next batch of at most max_rows rows (batch->rows == 0 at the end of the chunk). The
    batch's arrays, and the bytes its values point at (BYTE_ARRAY values may point into the
    page the source handed out), are valid until the next tl_pq_col_next or tl_pq_col_ready on
    this reader. Returns 0 or a negative code. */
int tl_pq_col_next (tl_pq_col_t *self, size_t max_rows, tl_pq_batch_t *batch, tl_err_t *e);
/*  As tl_pq_col_next, in the forms for a counter that needs no row order (see above). */
int tl_pq_col_next_unordered (tl_pq_col_t *self, size_t max_rows, tl_pq_batch_t *batch, tl_err_t *e);
/*  Rows delivered so far. */
uint64_t tl_pq_col_rows_read (const tl_pq_col_t *self);
#endif
