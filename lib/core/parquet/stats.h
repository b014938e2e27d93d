/*  stats.h — a column chunk's statistics as typed values, for skipping row groups.

    A bound is given only when it can be trusted: min_value/max_value when the file's column
    order is the type-defined order (or IEEE 754 total order for floats), or when no order is
    recorded and the type's order is plain signed numeric; the deprecated min/max only for
    signed numeric columns (INT32/INT64 not annotated unsigned, FLOAT, DOUBLE, BOOLEAN), whose
    signed order is unambiguous. INT96 statistics are never used, NaN bounds are dropped, and a
    bound whose length does not fit its type is dropped. Pure. */
#ifndef TL_PQ_STATS_H
#define TL_PQ_STATS_H
#include <stdbool.h>
#include "lib/core/parquet/encoding.h"
#include "lib/core/parquet/meta.h"

typedef struct {
    bool has_min, has_max, has_null_count;
    int64_t null_count;
    tl_pq_values_t min, max;        /* one value each; point into this struct or the meta */
    /* storage for the values above: do not copy a filled tl_pq_minmax_t */
    union { int32_t i32; int64_t i64; float f32; double f64; uint8_t b; } min_s, max_s;
    tl_pq_bytes_t min_ba, max_ba;
} tl_pq_minmax_t;

/*  Fill *out from chunk's statistics (col is its leaf). Returns 0 (has_* say what is known). */
int tl_pq_chunk_minmax (const tl_pq_column_t *col, const tl_pq_chunk_t *chunk, tl_pq_minmax_t *out);
#endif
