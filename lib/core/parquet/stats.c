/*  stats.c — trustworthy chunk min/max (see stats.h). The rules follow parquet.thrift's
    ColumnOrder notes: the old fields are signed-order only, min_value/max_value follow the
    recorded column order, INT96 orders are not trusted, and NaN bounds are ignored. */
#include "lib/core/parquet/stats.h"
#include <math.h>
#include <string.h>

static bool
s_signed_numeric (const tl_pq_column_t *col)
{
    switch (col->type) {
        case TL_PQ_INT32: case TL_PQ_INT64:
            return !(col->logical == TL_PQ_LT_INT && !col->is_signed);
        case TL_PQ_FLOAT: case TL_PQ_DOUBLE: case TL_PQ_BOOLEAN:
            return true;
        default:
            return false;
    }
}

static bool
s_set (const tl_pq_column_t *col, const uint8_t *p, size_t n, tl_pq_values_t *v, void *store, tl_pq_bytes_t *ba)
{
    tl_pq_type_t t = col->type;
    uint32_t w = tl_pq_value_size (t, (uint32_t) col->type_length);
    if (t == TL_PQ_BYTE_ARRAY) {
        if (n > UINT32_MAX)
            return false;
        ba->p = p;
        ba->len = (uint32_t) n;
        tl_pq_values_set (v, t, 0, ba, 1);
        return true;
    }
    if (t == TL_PQ_BOOLEAN) {
        if (n != 1)
            return false;
        *(uint8_t *) store = p [0] & 1;
        tl_pq_values_set (v, t, 0, store, 1);
        return true;
    }
    if (n != w)
        return false;
    if (t == TL_PQ_FIXED_LEN_BYTE_ARRAY) {
        tl_pq_values_set (v, t, w, p, 1);
        return true;
    }
    memcpy (store, p, n);
    if (t == TL_PQ_FLOAT && isnan (*(float *) store))
        return false;
    if (t == TL_PQ_DOUBLE && isnan (*(double *) store))
        return false;
    tl_pq_values_set (v, t, w, store, 1);
    return true;
}

int
tl_pq_chunk_minmax (const tl_pq_column_t *col, const tl_pq_chunk_t *ch, tl_pq_minmax_t *out)
{
    memset (out, 0, sizeof *out);
    if (!ch->has_stats)
        return 0;
    const tl_pq_stats_t *s = &ch->stats;
    out->has_null_count = s->has_null_count;
    out->null_count = s->null_count;
    if (col->type == TL_PQ_INT96)
        return 0;
    bool is_float = col->type == TL_PQ_FLOAT || col->type == TL_PQ_DOUBLE || col->logical == TL_PQ_LT_FLOAT16;
    bool new_ok = col->order == TL_PQ_ORDER_TYPE || (col->order == TL_PQ_ORDER_IEEE754 && is_float)
                  || (col->order == TL_PQ_ORDER_ABSENT && s_signed_numeric (col));
    bool old_ok = s_signed_numeric (col);
    if (new_ok && s->has_min_value)
        out->has_min = s_set (col, s->min_value, s->min_value_len, &out->min, &out->min_s, &out->min_ba);
    else if (old_ok && s->has_min)
        out->has_min = s_set (col, s->min, s->min_len, &out->min, &out->min_s, &out->min_ba);
    if (new_ok && s->has_max_value)
        out->has_max = s_set (col, s->max_value, s->max_value_len, &out->max, &out->max_s, &out->max_ba);
    else if (old_ok && s->has_max)
        out->has_max = s_set (col, s->max, s->max_len, &out->max, &out->max_s, &out->max_ba);
    return 0;
}
