/*  meta.c — FileMetaData → tl_pq_meta_t (see meta.h).

    The footer is parsed in one pass with the bounded Thrift reader. Schema elements are
    collected first and then walked depth-first (bounded) to compute each leaf's dotted path
    and its definition and repetition levels; row groups are collected independently of the
    schema, because Thrift does not promise field order, and checked against the leaf count at
    the end. Fields this file does not know are skipped. Any field of an unexpected wire type
    is skipped as if unknown, so a malformed footer can at worst lose an annotation, never be
    read as something else. */
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/thrift.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SCHEMA_DEPTH 64

typedef struct {
    const uint8_t *name;
    size_t name_len;
    int type, rep, conv;
    int32_t type_length, num_children, scale, precision;
    bool has_type_length, has_children;
    tl_pq_logical_t lt;     /* from LogicalType, NONE when absent */
    bool has_lt;
    int lt_bw;
    bool lt_signed, lt_utc;
    int32_t lt_scale, lt_prec;
    tl_pq_unit_t lt_unit;
} s_elem_t;

typedef struct {
    tl_pq_tr_t tr;
    tl_err_t *e;
    int rc;                 /* first non-protocol error (encryption, memory) */
    s_elem_t *el;
    size_t nel;
    tl_pq_meta_t *m;
    size_t rg_cap;
    size_t *rg_ncols;       /* chunks parsed per row group */
    int *orders;
    size_t norders;
} s_ctx_t;

#define FIELD_LOOP(tr, id, t) for (int16_t id = 0, t; ((t = (int16_t) tl_pq_tr_field (tr, &id)) != TL_PQ_T_STOP);)

static int
s_fail (s_ctx_t *c, int code, const char *msg)
{
    if (!c->rc) {
        c->rc = code;
        tl_err_set (c->e, code, 0, "%s", msg);
    }
    tl_pq_tr_fail (&c->tr, msg);
    return code;
}

static bool
s_is_int (int t)
{
    return t == TL_PQ_T_I8 || t == TL_PQ_T_I16 || t == TL_PQ_T_I32 || t == TL_PQ_T_I64;
}

/*  Read an integer field of any integer wire type; skip anything else. */
static int64_t
s_int (tl_pq_tr_t *tr, int t, bool *ok)
{
    if (t == TL_PQ_T_I8) {
        *ok = true;
        return tl_pq_tr_i8 (tr);
    }
    if (s_is_int (t)) {
        *ok = true;
        return tl_pq_tr_i64 (tr);
    }
    *ok = false;
    tl_pq_tr_skip (tr, t);
    return 0;
}

static int32_t
s_i32 (tl_pq_tr_t *tr, int t, bool *ok)
{
    int64_t v = s_int (tr, t, ok);
    if (*ok && (v < INT32_MIN || v > INT32_MAX)) {
        tl_pq_tr_fail (tr, "i32 out of range");
        *ok = false;
    }
    return (int32_t) v;
}

static bool
s_is_bool (int t)
{
    return t == TL_PQ_T_TRUE || t == TL_PQ_T_FALSE;
}

/*  An empty-struct union member (TimeUnit, ColumnOrder): returns the first field id, or 0. */
static int
s_union_tag (tl_pq_tr_t *tr)
{
    int tag = 0;
    if (!tl_pq_tr_struct_begin (tr))
        return 0;
    FIELD_LOOP (tr, id, t) {
        if (!tag)
            tag = id;
        tl_pq_tr_skip (tr, t);
    }
    tl_pq_tr_struct_end (tr);
    return tag;
}

static void
s_logical_type (tl_pq_tr_t *tr, s_elem_t *el)
{
    bool ok;
    if (!tl_pq_tr_struct_begin (tr))
        return;
    FIELD_LOOP (tr, id, t) {
        if (t != TL_PQ_T_STRUCT) {
            tl_pq_tr_skip (tr, t);
            continue;
        }
        el->has_lt = true;
        static const tl_pq_logical_t simple [20] = {
            [1] = TL_PQ_LT_STRING, [2] = TL_PQ_LT_OTHER, [3] = TL_PQ_LT_OTHER, [4] = TL_PQ_LT_ENUM,
            [6] = TL_PQ_LT_DATE, [11] = TL_PQ_LT_NULL, [12] = TL_PQ_LT_JSON, [13] = TL_PQ_LT_BSON,
            [14] = TL_PQ_LT_UUID, [15] = TL_PQ_LT_FLOAT16,
        };
        if (id == 5 || id == 7 || id == 8 || id == 10) {
            el->lt = id == 5 ? TL_PQ_LT_DECIMAL : id == 7 ? TL_PQ_LT_TIME : id == 8 ? TL_PQ_LT_TIMESTAMP : TL_PQ_LT_INT;
            if (!tl_pq_tr_struct_begin (tr))
                break;
            FIELD_LOOP (tr, sid, st) {
                if (id == 5 && sid == 1) el->lt_scale = s_i32 (tr, st, &ok);
                else if (id == 5 && sid == 2) el->lt_prec = s_i32 (tr, st, &ok);
                else if ((id == 7 || id == 8) && sid == 1 && s_is_bool (st)) el->lt_utc = tl_pq_tr_bool_field (tr, st);
                else if ((id == 7 || id == 8) && sid == 2 && st == TL_PQ_T_STRUCT) {
                    int u = s_union_tag (tr);
                    el->lt_unit = u == 1 ? TL_PQ_MILLIS : u == 2 ? TL_PQ_MICROS : TL_PQ_NANOS;
                    if (u < 1 || u > 3)
                        el->lt = TL_PQ_LT_OTHER;
                }
                else if (id == 10 && sid == 1) el->lt_bw = (int) s_int (tr, st, &ok);
                else if (id == 10 && sid == 2 && s_is_bool (st)) el->lt_signed = tl_pq_tr_bool_field (tr, st);
                else tl_pq_tr_skip (tr, st);
            }
            tl_pq_tr_struct_end (tr);
        } else {
            el->lt = id > 0 && id < 20 && simple [id] ? simple [id] : TL_PQ_LT_OTHER;
            tl_pq_tr_skip (tr, t);
        }
    }
    tl_pq_tr_struct_end (tr);
}

static void
s_schema_element (s_ctx_t *c, s_elem_t *el)
{
    tl_pq_tr_t *tr = &c->tr;
    bool ok;
    memset (el, 0, sizeof *el);
    el->type = el->rep = el->conv = -1;
    if (!tl_pq_tr_struct_begin (tr))
        return;
    FIELD_LOOP (tr, id, t) {
        switch (id) {
            case 1: el->type = (int) s_i32 (tr, t, &ok); if (!ok) el->type = -1; break;
            case 2: el->type_length = s_i32 (tr, t, &ok); el->has_type_length = ok; break;
            case 3: el->rep = (int) s_i32 (tr, t, &ok); if (!ok) el->rep = -1; break;
            case 4:
                if (t == TL_PQ_T_BINARY) tl_pq_tr_binary (tr, &el->name, &el->name_len);
                else tl_pq_tr_skip (tr, t);
                break;
            case 5: el->num_children = s_i32 (tr, t, &ok); el->has_children = ok; break;
            case 6: el->conv = (int) s_i32 (tr, t, &ok); if (!ok) el->conv = -1; break;
            case 7: el->scale = s_i32 (tr, t, &ok); break;
            case 8: el->precision = s_i32 (tr, t, &ok); break;
            case 10:
                if (t == TL_PQ_T_STRUCT) s_logical_type (tr, el);
                else tl_pq_tr_skip (tr, t);
                break;
            default: tl_pq_tr_skip (tr, t);
        }
    }
    tl_pq_tr_struct_end (tr);
}

static void
s_stats (tl_pq_tr_t *tr, tl_pq_stats_t *s)
{
    bool ok;
    if (!tl_pq_tr_struct_begin (tr))
        return;
    FIELD_LOOP (tr, id, t) {
        if (t == TL_PQ_T_BINARY && (id == 1 || id == 2 || id == 5 || id == 6)) {
            const uint8_t *p;
            size_t n;
            tl_pq_tr_binary (tr, &p, &n);
            if (id == 1) { s->max = p; s->max_len = n; s->has_max = true; }
            if (id == 2) { s->min = p; s->min_len = n; s->has_min = true; }
            if (id == 5) { s->max_value = p; s->max_value_len = n; s->has_max_value = true; }
            if (id == 6) { s->min_value = p; s->min_value_len = n; s->has_min_value = true; }
        } else if (id == 3) {
            s->null_count = s_int (tr, t, &ok);
            s->has_null_count = ok && s->null_count >= 0;
        } else if (id == 4) {
            s->distinct_count = s_int (tr, t, &ok);
            s->has_distinct_count = ok && s->distinct_count >= 0;
        } else
            tl_pq_tr_skip (tr, t);
    }
    tl_pq_tr_struct_end (tr);
}

static void
s_column_meta (s_ctx_t *c, tl_pq_chunk_t *ch, bool *seen)
{
    tl_pq_tr_t *tr = &c->tr;
    bool ok;
    int et;
    uint32_t n;
    if (!tl_pq_tr_struct_begin (tr))
        return;
    *seen = true;
    FIELD_LOOP (tr, id, t) {
        switch (id) {
            case 1: ch->type = (tl_pq_type_t) s_i32 (tr, t, &ok); if (!ok) ch->type = (tl_pq_type_t) -1; break;
            case 2:
                if (t != TL_PQ_T_LIST) { tl_pq_tr_skip (tr, t); break; }
                tl_pq_tr_list (tr, &et, &n);
                for (uint32_t i = 0; i < n && !tr->err; i++) {
                    int64_t v = s_int (tr, et, &ok);
                    if (ok && v >= 0 && v < 32)
                        ch->encodings |= 1u << v;
                }
                break;
            case 4: ch->codec = (int) s_i32 (tr, t, &ok); break;
            case 5: ch->num_values = s_int (tr, t, &ok); break;
            case 6: ch->total_uncompressed_size = s_int (tr, t, &ok); break;
            case 7: ch->total_compressed_size = s_int (tr, t, &ok); break;
            case 9: ch->data_page_offset = s_int (tr, t, &ok); break;
            case 11: ch->dictionary_page_offset = s_int (tr, t, &ok); ch->has_dictionary_page_offset = ok; break;
            case 12:
                if (t == TL_PQ_T_STRUCT) { ch->has_stats = true; s_stats (tr, &ch->stats); }
                else tl_pq_tr_skip (tr, t);
                break;
            default: tl_pq_tr_skip (tr, t);
        }
    }
    tl_pq_tr_struct_end (tr);
    if (ch->num_values < 0 || ch->total_compressed_size < 0 || ch->data_page_offset < 0
        || ch->total_uncompressed_size < 0 || (ch->has_dictionary_page_offset && ch->dictionary_page_offset < 0))
        tl_pq_tr_fail (tr, "negative size or offset in column metadata");
}

static void
s_column_chunk (s_ctx_t *c, tl_pq_chunk_t *ch)
{
    tl_pq_tr_t *tr = &c->tr;
    bool seen = false;
    memset (ch, 0, sizeof *ch);
    ch->type = (tl_pq_type_t) -1;
    if (!tl_pq_tr_struct_begin (tr))
        return;
    FIELD_LOOP (tr, id, t) {
        if (id == 3 && t == TL_PQ_T_STRUCT)
            s_column_meta (c, ch, &seen);
        else if (id == 8 || id == 9)
            s_fail (c, TL_EINVAL, "encrypted Parquet is not supported");
        else if (id == 1 && t == TL_PQ_T_BINARY)
            s_fail (c, TL_EINVAL, "Parquet column chunks stored in another file (file_path) are not supported");
        else
            tl_pq_tr_skip (tr, t);
    }
    tl_pq_tr_struct_end (tr);
    if (!seen)
        tl_pq_tr_fail (tr, "column chunk without metadata");
}

static void
s_row_group (s_ctx_t *c)
{
    tl_pq_tr_t *tr = &c->tr;
    tl_pq_meta_t *m = c->m;
    bool ok;
    if (m->nrgs == c->rg_cap) {
        size_t cap = c->rg_cap ? c->rg_cap * 2 : 8;
        tl_pq_rowgroup_t *r = realloc (m->rgs, cap * sizeof *r);
        size_t *nc = realloc (c->rg_ncols, cap * sizeof *nc);
        if (r) m->rgs = r;
        if (nc) c->rg_ncols = nc;
        if (!r || !nc) {
            s_fail (c, TL_ENOMEM, "out of memory reading the Parquet footer");
            return;
        }
        c->rg_cap = cap;
    }
    tl_pq_rowgroup_t *rg = &m->rgs [m->nrgs];
    memset (rg, 0, sizeof *rg);
    c->rg_ncols [m->nrgs] = 0;
    m->nrgs++;
    bool has_rows = false, has_cols = false;
    if (!tl_pq_tr_struct_begin (tr))
        return;
    FIELD_LOOP (tr, id, t) {
        if (id == 1 && t == TL_PQ_T_LIST && !has_cols) {
            int et;
            uint32_t n;
            has_cols = true;
            tl_pq_tr_list (tr, &et, &n);
            if (tr->err)
                break;
            if (et != TL_PQ_T_STRUCT && n) {
                tl_pq_tr_fail (tr, "row group columns are not structs");
                break;
            }
            rg->chunks = calloc (n ? n : 1, sizeof *rg->chunks);
            if (!rg->chunks) {
                s_fail (c, TL_ENOMEM, "out of memory reading the Parquet footer");
                break;
            }
            for (uint32_t i = 0; i < n && !tr->err; i++)
                s_column_chunk (c, &rg->chunks [i]);
            c->rg_ncols [m->nrgs - 1] = n;
        } else if (id == 2)
            rg->total_byte_size = s_int (tr, t, &ok);
        else if (id == 3) {
            rg->num_rows = s_int (tr, t, &has_rows);
        } else
            tl_pq_tr_skip (tr, t);
    }
    tl_pq_tr_struct_end (tr);
    if (!has_rows || !has_cols || rg->num_rows < 0)
        tl_pq_tr_fail (tr, "row group without columns or row count");
}

/*  ConvertedType → annotation, for elements without a LogicalType. */
static void
s_from_converted (const s_elem_t *el, tl_pq_column_t *col)
{
    switch (el->conv) {
        case 0: col->logical = TL_PQ_LT_STRING; break;
        case 4: col->logical = TL_PQ_LT_ENUM; break;
        case 5: col->logical = TL_PQ_LT_DECIMAL; col->scale = el->scale; col->precision = el->precision; break;
        case 6: col->logical = TL_PQ_LT_DATE; break;
        case 7: case 8: col->logical = TL_PQ_LT_TIME; col->unit = el->conv == 7 ? TL_PQ_MILLIS : TL_PQ_MICROS; col->utc = true; break;
        case 9: case 10: col->logical = TL_PQ_LT_TIMESTAMP; col->unit = el->conv == 9 ? TL_PQ_MILLIS : TL_PQ_MICROS; col->utc = true; break;
        case 11: case 12: case 13: case 14:
            col->logical = TL_PQ_LT_INT; col->is_signed = false; col->bit_width = 8 << (el->conv - 11); break;
        case 15: case 16: case 17: case 18:
            col->logical = TL_PQ_LT_INT; col->is_signed = true; col->bit_width = 8 << (el->conv - 15); break;
        case 19: col->logical = TL_PQ_LT_JSON; break;
        case 20: col->logical = TL_PQ_LT_BSON; break;
        case 21: col->logical = TL_PQ_LT_INTERVAL; break;
        default: col->logical = TL_PQ_LT_NONE;
    }
}

/*  Drop an annotation that does not fit the physical type: the values are then read plainly. */
static void
s_check_logical (tl_pq_column_t *col)
{
    tl_pq_type_t t = col->type;
    bool bytes = t == TL_PQ_BYTE_ARRAY || t == TL_PQ_FIXED_LEN_BYTE_ARRAY;
    bool fit = true;
    switch (col->logical) {
        case TL_PQ_LT_STRING: case TL_PQ_LT_ENUM: case TL_PQ_LT_JSON: case TL_PQ_LT_BSON: fit = bytes; break;
        case TL_PQ_LT_UUID: fit = t == TL_PQ_FIXED_LEN_BYTE_ARRAY && col->type_length == 16; break;
        case TL_PQ_LT_FLOAT16: fit = t == TL_PQ_FIXED_LEN_BYTE_ARRAY && col->type_length == 2; break;
        case TL_PQ_LT_INTERVAL: fit = t == TL_PQ_FIXED_LEN_BYTE_ARRAY && col->type_length == 12; break;
        case TL_PQ_LT_INT:
            fit = (t == TL_PQ_INT32 && (col->bit_width == 8 || col->bit_width == 16 || col->bit_width == 32))
                  || (t == TL_PQ_INT64 && (col->bit_width == 8 || col->bit_width == 16 || col->bit_width == 32 || col->bit_width == 64));
            break;
        case TL_PQ_LT_DECIMAL:
            fit = (t == TL_PQ_INT32 || t == TL_PQ_INT64 || bytes) && col->scale >= 0 && col->scale <= 100
                  && col->precision >= 0;
            break;
        case TL_PQ_LT_DATE: fit = t == TL_PQ_INT32; break;
        case TL_PQ_LT_TIME: fit = col->unit == TL_PQ_MILLIS ? t == TL_PQ_INT32 : t == TL_PQ_INT64; break;
        case TL_PQ_LT_TIMESTAMP: fit = t == TL_PQ_INT64; break;
        default: break;
    }
    if (!fit)
        col->logical = TL_PQ_LT_NONE;
}

typedef struct {
    char *path;
    size_t len, cap;
} s_path_t;

static int
s_walk (s_ctx_t *c, size_t *i, int depth, s_path_t *path, int16_t def, int16_t rep, bool nested,
        size_t *nleaves)
{
    if (*i >= c->nel)
        return s_fail (c, TL_EPROTO, "Parquet schema: a group has more children than elements");
    if (depth > MAX_SCHEMA_DEPTH)
        return s_fail (c, TL_EPROTO, "Parquet schema nested too deeply");
    s_elem_t *el = &c->el [(*i)++];
    size_t mark = path->len;
    if (depth > 0) {       /* the root's name is not part of a path */
        size_t need = path->len + 1 + el->name_len + 1;
        if (need > path->cap) {
            size_t cap = need * 2;
            char *p = realloc (path->path, cap);
            if (!p)
                return s_fail (c, TL_ENOMEM, "out of memory reading the Parquet schema");
            path->path = p;
            path->cap = cap;
        }
        if (path->len)
            path->path [path->len++] = '.';
        if (el->name_len)
            memcpy (path->path + path->len, el->name, el->name_len);
        path->len += el->name_len;
        path->path [path->len] = 0;
        if (el->rep == TL_PQ_OPTIONAL) def++;
        if (el->rep == TL_PQ_REPEATED) { def++; rep++; nested = true; }
        if (el->rep < 0 || el->rep > TL_PQ_REPEATED)
            return s_fail (c, TL_EPROTO, "Parquet schema element without a valid repetition");
    }
    bool group = depth == 0 || (el->has_children && el->num_children > 0) || el->type < 0;
    if (group) {
        if (!el->has_children || el->num_children < 0 || (size_t) el->num_children > c->nel - *i)
            return s_fail (c, TL_EPROTO, "Parquet schema: bad number of children");
        for (int32_t k = 0; k < el->num_children && !c->rc; k++)
            if (s_walk (c, i, depth + 1, path, def, rep, nested || depth > 0, nleaves))
                return c->rc;
        path->len = mark;
        return c->rc;
    }
    if (el->type > TL_PQ_FIXED_LEN_BYTE_ARRAY)
        return s_fail (c, TL_EPROTO, "Parquet schema: unknown physical type");
    if (*nleaves >= c->m->ncols)
        return s_fail (c, TL_EPROTO, "Parquet schema: too many leaves");
    tl_pq_column_t *col = &c->m->cols [(*nleaves)++];
    memset (col, 0, sizeof *col);
    col->name = strdup (path->path);
    if (!col->name)
        return s_fail (c, TL_ENOMEM, "out of memory reading the Parquet schema");
    col->type = (tl_pq_type_t) el->type;
    col->repetition = el->rep;
    col->max_def = def;
    col->max_rep = rep;
    col->nested = nested;
    col->converted_type = el->conv;
    if (col->type == TL_PQ_FIXED_LEN_BYTE_ARRAY) {
        if (!el->has_type_length || el->type_length <= 0 || el->type_length > (1 << 16))     /* decimals, UUIDs: ≤ 16 */
            return s_fail (c, TL_EPROTO, "Parquet schema: FIXED_LEN_BYTE_ARRAY without a valid length");
        col->type_length = el->type_length;
    } else if (col->type == TL_PQ_INT96)
        col->type_length = 12;
    if (el->has_lt) {
        col->logical = el->lt;
        col->bit_width = el->lt_bw;
        col->is_signed = el->lt_signed;
        col->scale = el->lt_scale;
        col->precision = el->lt_prec;
        col->unit = el->lt_unit;
        col->utc = el->lt_utc;
    } else
        s_from_converted (el, col);
    s_check_logical (col);
    if (nested)
        c->m->has_nested = true;
    path->len = mark;
    return 0;
}

static void
s_file_meta (s_ctx_t *c)
{
    tl_pq_tr_t *tr = &c->tr;
    tl_pq_meta_t *m = c->m;
    bool ok, has_schema = false, has_rows = false, has_rgs = false;
    if (!tl_pq_tr_struct_begin (tr))
        return;
    FIELD_LOOP (tr, id, t) {
        int et;
        uint32_t n;
        if (id == 1)
            m->version = s_i32 (tr, t, &ok);
        else if (id == 2 && t == TL_PQ_T_LIST && !has_schema) {
            has_schema = true;
            tl_pq_tr_list (tr, &et, &n);
            if (tr->err || (et != TL_PQ_T_STRUCT && n) || n == 0) {
                tl_pq_tr_fail (tr, "bad schema list");
                break;
            }
            c->el = calloc (n, sizeof *c->el);
            if (!c->el) {
                s_fail (c, TL_ENOMEM, "out of memory reading the Parquet footer");
                break;
            }
            c->nel = n;
            for (uint32_t i = 0; i < n && !tr->err; i++)
                s_schema_element (c, &c->el [i]);
        } else if (id == 3) {
            m->num_rows = s_int (tr, t, &has_rows);
        } else if (id == 4 && t == TL_PQ_T_LIST && !has_rgs) {
            has_rgs = true;
            tl_pq_tr_list (tr, &et, &n);
            if (n && et != TL_PQ_T_STRUCT) {
                tl_pq_tr_fail (tr, "bad row group list");
                break;
            }
            for (uint32_t i = 0; i < n && !tr->err; i++)
                s_row_group (c);
        } else if (id == 6 && t == TL_PQ_T_BINARY) {
            const uint8_t *p;
            size_t len;
            tl_pq_tr_binary (tr, &p, &len);
            free (m->created_by);
            m->created_by = strndup ((const char *) p, len);
        } else if (id == 7 && t == TL_PQ_T_LIST && !c->orders) {
            tl_pq_tr_list (tr, &et, &n);
            c->orders = calloc (n ? n : 1, sizeof *c->orders);
            if (!c->orders) {
                s_fail (c, TL_ENOMEM, "out of memory reading the Parquet footer");
                break;
            }
            c->norders = n;
            for (uint32_t i = 0; i < n && !tr->err; i++) {
                if (et != TL_PQ_T_STRUCT) {
                    tl_pq_tr_skip (tr, et);
                    c->orders [i] = TL_PQ_ORDER_UNKNOWN;
                    continue;
                }
                int tag = s_union_tag (tr);
                c->orders [i] = tag >= 1 && tag <= 3 ? tag : TL_PQ_ORDER_UNKNOWN;
            }
        } else if (id == 8)
            s_fail (c, TL_EINVAL, "encrypted Parquet is not supported");
        else
            tl_pq_tr_skip (tr, t);
    }
    tl_pq_tr_struct_end (tr);
    if (!tr->err && (!has_schema || !has_rows || !has_rgs))
        tl_pq_tr_fail (tr, "FileMetaData lacks schema, num_rows or row_groups");
    if (!tr->err && m->num_rows < 0)
        tl_pq_tr_fail (tr, "negative num_rows");
}

int
tl_pq_footer_len (const uint8_t *tail, size_t n, uint32_t *meta_len, tl_err_t *e)
{
    if (n < 8)
        return tl_err_set (e, TL_EPROTO, 0, "not a Parquet file: shorter than its 8-byte trailer");
    const uint8_t *t = tail + n - 8;
    if (!memcmp (t + 4, "PARE", 4))
        return tl_err_set (e, TL_EINVAL, 0, "encrypted Parquet is not supported");
    if (memcmp (t + 4, "PAR1", 4))
        return tl_err_set (e, TL_EPROTO, 0, "not a Parquet file: no PAR1 magic at the end");
    uint32_t len = (uint32_t) t [0] | (uint32_t) t [1] << 8 | (uint32_t) t [2] << 16 | (uint32_t) t [3] << 24;
    if (len == 0 || len > INT32_MAX)
        return tl_err_set (e, TL_EPROTO, 0, "Parquet footer length %u is not valid", len);
    *meta_len = len;
    return 0;
}

void
tl_pq_meta_destroy (tl_pq_meta_t **self_p)
{
    tl_pq_meta_t *m = *self_p;
    if (!m)
        return;
    for (size_t i = 0; i < m->ncols; i++)
        free (m->cols [i].name);
    free (m->cols);
    for (size_t i = 0; i < m->nrgs; i++)
        free (m->rgs [i].chunks);
    free (m->rgs);
    free (m->created_by);
    free (m->buf);
    free (m);
    *self_p = NULL;
}

int
tl_pq_meta_parse (const uint8_t *buf, size_t len, tl_pq_meta_t **out, tl_err_t *e)
{
    *out = NULL;
    s_ctx_t c;
    memset (&c, 0, sizeof c);
    c.e = e;
    tl_pq_meta_t *m = c.m = calloc (1, sizeof *m);
    if (!m || !(m->buf = malloc (len ? len : 1))) {
        free (m);
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory reading the Parquet footer");
    }
    memcpy (m->buf, buf, len);
    m->buf_len = len;
    tl_pq_tr_init (&c.tr, m->buf, len);
    s_file_meta (&c);
    if (!c.tr.err) {
        size_t leaves = 0;      /* leaves ≤ elements */
        m->cols = calloc (c.nel, sizeof *m->cols);
        m->ncols = c.nel;
        s_path_t path = { NULL, 0, 0 };
        if (!m->cols)
            s_fail (&c, TL_ENOMEM, "out of memory reading the Parquet schema");
        else {
            size_t i = 0;
            s_walk (&c, &i, 0, &path, 0, 0, false, &leaves);
            if (!c.rc && i != c.nel)
                s_fail (&c, TL_EPROTO, "Parquet schema: elements left over after the tree");
        }
        free (path.path);
        m->ncols = leaves;
    }
    for (size_t r = 0; r < m->nrgs && !c.tr.err; r++) {
        if (c.rg_ncols [r] != m->ncols) {
            s_fail (&c, TL_EPROTO, "Parquet footer: a row group's column count differs from the schema's");
            break;
        }
        for (size_t k = 0; k < m->ncols; k++) {
            tl_pq_chunk_t *ch = &m->rgs [r].chunks [k];
            if (ch->type != m->cols [k].type) {
                s_fail (&c, TL_EPROTO, "Parquet footer: a column chunk's type differs from the schema's");
                break;
            }
        }
    }
    for (size_t k = 0; k < m->ncols && k < c.norders && !c.tr.err; k++)
        m->cols [k].order = c.orders [k];
    if (!m->created_by)
        m->created_by = strdup ("");
    free (c.el);
    free (c.rg_ncols);
    free (c.orders);
    if (c.tr.err || !m->created_by) {
        if (!c.rc) {
            if (!m->created_by)
                tl_err_set (e, TL_ENOMEM, 0, "out of memory reading the Parquet footer");
            else
                tl_err_set (e, TL_EPROTO, 0, "malformed Parquet footer: %s at byte %zu of %zu", c.tr.err, c.tr.err_at, len);
        }
        int rc = c.rc ? c.rc : m->created_by ? TL_EPROTO : TL_ENOMEM;
        /* cols beyond the leaves walked are zeroed, so destroy frees only what exists */
        tl_pq_meta_destroy (&m);
        return rc;
    }
    *out = m;
    return 0;
}

int
tl_pq_meta_find (const tl_pq_meta_t *self, const char *name)
{
    for (size_t i = 0; i < self->ncols; i++)
        if (!strcmp (self->cols [i].name, name))
            return (int) i;
    for (size_t i = 0; i < self->ncols; i++)
        if (!strcasecmp (self->cols [i].name, name))
            return (int) i;
    return -1;
}

int
tl_pq_chunk_range (const tl_pq_chunk_t *ch, uint64_t file_size, uint64_t *off, uint64_t *len, tl_err_t *e)
{
    int64_t start = ch->data_page_offset;
    if (ch->has_dictionary_page_offset && ch->dictionary_page_offset > 0 && ch->dictionary_page_offset < start)
        start = ch->dictionary_page_offset;
    if (start < 4 || ch->total_compressed_size <= 0)
        return tl_err_set (e, TL_EPROTO, 0, "column chunk at offset %lld with %lld bytes is not valid",
                           (long long) start, (long long) ch->total_compressed_size);
    if (file_size && (file_size < 8 || (uint64_t) start > file_size - 8
                      || (uint64_t) ch->total_compressed_size > file_size - 8 - (uint64_t) start))
        return tl_err_set (e, TL_EPROTO, 0, "column chunk [%lld, +%lld) lies past the end of the %llu-byte file",
                           (long long) start, (long long) ch->total_compressed_size, (unsigned long long) file_size);
    *off = (uint64_t) start;
    *len = (uint64_t) ch->total_compressed_size;
    return 0;
}

const char *
tl_pq_type_name (tl_pq_type_t type)
{
    static const char *n [] = { "BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY" };
    return (unsigned) type < 8 ? n [type] : "?";
}

const char *
tl_pq_codec_name (int codec)
{
    static const char *n [] = { "UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW" };
    return (unsigned) codec < 8 ? n [codec] : "unknown codec";
}

const char *
tl_pq_encoding_name (int enc)
{
    static const char *n [] = { "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                                "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                "RLE_DICTIONARY", "BYTE_STREAM_SPLIT" };
    return (unsigned) enc < 10 ? n [enc] : "unknown encoding";
}
