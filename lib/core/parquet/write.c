/*  write.c — the Parquet writer (see write.h for what it writes).

    How it works. Each column fills one page at a time: definition levels (OPTIONAL columns, one
    uint32 per value), then either the values' PLAIN bytes or their dictionary ids. Once the
    page's estimated encoded size reaches the page size, the page is encoded, compressed and
    appended with its PageHeader to the column's chunk buffer. The dictionary belongs to the
    chunk: its PLAIN bytes are the dictionary page's body as they stand, and an open-addressing
    table maps a value's bytes to its id. A dictionary page must come first in its chunk but is
    complete only when the chunk ends, so chunks stay in memory until the row group ends. Then
    each column's dictionary page and data pages go into the file buffer and the RowGroup's
    Thrift is serialised straight into a footer buffer; finish wraps FileMetaData around it.

    In the fallback mode a value that would be entry dict_max + 1 ends the current page (still
    dictionary-encoded) and the rest of the chunk is PLAIN, as parquet-cpp does; the next row
    group starts a new dictionary.

    The byte-level encoders (buffers, Thrift compact, the RLE/bit-packed hybrid, compression)
    are in write_enc.c. Buffers remember running out of memory, so this file checks their oom
    flags once per value or page rather than after every append. */
#include "lib/core/parquet/write.h"
#include "lib/core/parquet/write_enc.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { S_PLAIN = 0, S_PLAIN_DICTIONARY = 2, S_RLE = 3, S_RLE_DICTIONARY = 8 };         /* Encoding */
enum { S_DATA_PAGE = 0, S_DICTIONARY_PAGE = 2 };                                        /* PageType */
#define S_MAX_COLS 4096

typedef struct {
    size_t off;                 /* of the value's bytes in the dictionary buffer */
    uint32_t len;
} s_entry_t;

typedef struct {
    tl_pq_wcol_t def;           /* name owned */
    tl_pq_wbuf_t defs;          /* the page's definition levels, uint32 each */
    tl_pq_wbuf_t vals;          /* the page's PLAIN bytes, or its dictionary ids (uint32) */
    size_t page_n;              /* values in the page, NULLs included */
    tl_pq_wbuf_t chunk;         /* finished data pages, headers included */
    tl_pq_wbuf_t dict;          /* the dictionary's PLAIN bytes */
    s_entry_t *ents;            /* nslots / 2 of them */
    size_t nents;
    uint32_t *slots;            /* id + 1, 0 for a free slot */
    size_t nslots;
    bool plain;                 /* PLAIN until the chunk ends */
    int64_t n, nulls, usize, csize;
    int pages_dict, pages_plain;
    bool has_mm;
    int64_t imin, imax;
    double dmin, dmax;
} s_col_t;

struct tl_pq_writer {
    s_col_t *cols;
    size_t ncols;
    tl_pq_wopts_t o;
    tl_pq_wbuf_t file, rgs;     /* the file so far; the serialised RowGroups */
    size_t nrgs;
    int64_t rows;
    bool done;
    tl_err_t err;
};

static int
s_fail (tl_pq_writer_t *w, int code, const char *what, const char *col)
{
    if (!w->err.code)
        tl_err_set (&w->err, code, 0, "parquet writer: %s%s%s%s", what, col ? " (column '" : "", col ? col : "",
                    col ? "')" : "");
    return w->err.code;
}

/*  Compress body and append header and body to out; count both in the column's chunk sizes. */
static int
s_emit (tl_pq_writer_t *w, s_col_t *c, tl_pq_wbuf_t *out, int ptype, int enc, size_t nvals, const tl_pq_wbuf_t *body)
{
    tl_pq_wbuf_t z = { 0 }, h = { 0 };
    int rc = tl_pq_compress (w->o.codec, w->o.level, body, &z);
    if (rc || body->len > INT32_MAX || z.len > INT32_MAX || nvals > INT32_MAX) {
        tl_pq_wbuf_free (&z);
        return s_fail (w, z.oom ? TL_ENOMEM : TL_EINVAL, "a page that cannot be compressed or is over 2 GiB",
                       c->def.name);
    }
    tl_pq_tw_t t = tl_pq_tw (&h);
    tl_pq_tw_begin (&t);
    tl_pq_tw_i32 (&t, 1, ptype);
    tl_pq_tw_i32 (&t, 2, (int64_t) body->len);
    tl_pq_tw_i32 (&t, 3, (int64_t) z.len);
    tl_pq_tw_struct (&t, ptype == S_DATA_PAGE ? 5 : 7);
    tl_pq_tw_i32 (&t, 1, (int64_t) nvals);
    tl_pq_tw_i32 (&t, 2, enc);
    if (ptype == S_DATA_PAGE) {
        tl_pq_tw_i32 (&t, 3, S_RLE);
        tl_pq_tw_i32 (&t, 4, S_RLE);
    }
    tl_pq_tw_end (&t);
    tl_pq_tw_end (&t);
    tl_pq_wbuf_put (out, h.p, h.len);
    tl_pq_wbuf_put (out, z.p, z.len);
    c->usize += (int64_t) (h.len + body->len);
    c->csize += (int64_t) (h.len + z.len);
    rc = h.oom || z.oom || out->oom ? s_fail (w, TL_ENOMEM, "out of memory", c->def.name) : 0;
    tl_pq_wbuf_free (&z);
    tl_pq_wbuf_free (&h);
    return rc;
}

/*  The encoding of the dictionary page (page) or of the pages of ids. */
static int
s_dict_enc (const s_col_t *c, bool page)
{
    return c->def.legacy_dict ? S_PLAIN_DICTIONARY : page ? S_PLAIN : S_RLE_DICTIONARY;
}

/*  Encode the page being filled: levels (4-byte length, then the hybrid at bit width 1), then the
    values. A page of NULLs only, before the dictionary has an entry, is written as PLAIN (it has
    no values either way); later ones are dictionary pages without ids. */
static int
s_flush_page (tl_pq_writer_t *w, s_col_t *c)
{
    if (!c->page_n)
        return 0;
    tl_pq_wbuf_t body = { 0 };
    if (c->def.optional) {
        tl_pq_wbuf_le (&body, 0, 4);
        tl_pq_hybrid (&body, (const uint32_t *) c->defs.p, c->page_n, 1);
        if (!body.oom)
            for (int i = 0; i < 4; i++)
                body.p [i] = (uint8_t) ((body.len - 4) >> (8 * i));
    }
    bool dict = !c->plain && c->nents;
    if (dict) {
        int bw = tl_pq_bits (c->nents - 1);
        tl_pq_wbuf_byte (&body, (uint8_t) bw);
        tl_pq_hybrid (&body, (const uint32_t *) c->vals.p, c->vals.len / 4, bw);
    }
    else if (c->plain)
        tl_pq_wbuf_put (&body, c->vals.p, c->vals.len);
    int rc = body.oom ? s_fail (w, TL_ENOMEM, "out of memory", c->def.name)
                      : s_emit (w, c, &c->chunk, S_DATA_PAGE, dict ? s_dict_enc (c, false) : S_PLAIN, c->page_n, &body);
    *(dict ? &c->pages_dict : &c->pages_plain) += 1;
    c->defs.len = c->vals.len = 0;
    c->page_n = 0;
    tl_pq_wbuf_free (&body);
    return rc;
}

/*  The page's encoded size, estimated: levels at about a bit each, ids at the current width. */
static size_t
s_page_bytes (const s_col_t *c)
{
    size_t levels = c->defs.len / 4 / 8;
    if (c->plain)
        return levels + c->vals.len;
    return levels + 1 + c->vals.len / 4 * (size_t) tl_pq_bits (c->nents ? c->nents - 1 : 0) / 8;
}

static uint64_t
s_hash (const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;        /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p [i]) * 1099511628211ULL;
    return h;
}

/*  The slot holding value p/n, or the free slot where it belongs. */
static size_t
s_slot (const s_col_t *c, const uint8_t *p, size_t n)
{
    size_t m = c->nslots - 1;
    for (size_t i = (size_t) s_hash (p, n) & m;; i = (i + 1) & m) {
        uint32_t s = c->slots [i];
        if (!s || (c->ents [s - 1].len == n && !memcmp (c->dict.p + c->ents [s - 1].off, p, n)))
            return i;
    }
}

/*  Keep the table at most half full, so that a free slot always ends a probe; the entries array
    holds as many as the table may. */
static int
s_dict_room (s_col_t *c)
{
    if ((c->nents + 1) * 2 <= c->nslots)
        return 0;
    size_t nslots = c->nslots ? c->nslots * 2 : 128;
    uint32_t *slots = calloc (nslots, sizeof *slots);
    s_entry_t *ents = slots ? realloc (c->ents, nslots / 2 * sizeof *ents) : NULL;
    if (!ents) {
        free (slots);
        return -1;
    }
    free (c->slots);
    c->slots = slots;
    c->nslots = nslots;
    c->ents = ents;
    for (size_t id = 0; id < c->nents; id++)
        c->slots [s_slot (c, c->dict.p + c->ents [id].off, c->ents [id].len)] = (uint32_t) id + 1;
    return 0;
}

static void
s_plain (tl_pq_wbuf_t *b, const s_col_t *c, const uint8_t *p, size_t n)
{
    if (c->def.type == TL_PQW_BYTE_ARRAY)
        tl_pq_wbuf_le (b, n, 4);
    tl_pq_wbuf_put (b, p, n);
}

/*  The value's id, added if new; -1 when the fallback limit says PLAIN from now on, -2 when out of memory. */
static int64_t
s_dict_id (tl_pq_writer_t *w, s_col_t *c, const uint8_t *p, size_t n)
{
    if (s_dict_room (c))
        return -2;
    size_t i = s_slot (c, p, n);
    if (c->slots [i])
        return c->slots [i] - 1;
    if (c->def.encoding == TL_PQW_DICT_FALLBACK && c->nents >= w->o.dict_max)
        return -1;
    c->ents [c->nents].off = c->dict.len + (c->def.type == TL_PQW_BYTE_ARRAY ? 4 : 0);
    c->ents [c->nents].len = (uint32_t) n;
    s_plain (&c->dict, c, p, n);
    c->slots [i] = (uint32_t) ++c->nents;
    return (int64_t) c->nents - 1;
}

/*  Column col if a value of physical type type (0: any) may go there; NULL after an error. */
static s_col_t *
s_col (tl_pq_writer_t *w, size_t col, int type)
{
    if (w->err.code)
        return NULL;
    if (w->done || col >= w->ncols) {
        s_fail (w, TL_EINVAL, w->done ? "a value after finish" : "no such column", NULL);
        return NULL;
    }
    s_col_t *c = &w->cols [col];
    if (type && (int) c->def.type != type) {
        s_fail (w, TL_EINVAL, "a value of the wrong type", c->def.name);
        return NULL;
    }
    return c;
}

static int
s_after (tl_pq_writer_t *w, s_col_t *c)
{
    c->page_n++;
    c->n++;
    if (c->defs.oom || c->vals.oom || c->chunk.oom || c->dict.oom)
        return s_fail (w, TL_ENOMEM, "out of memory", c->def.name);
    return s_page_bytes (c) >= w->o.page_size ? s_flush_page (w, c) : 0;
}

/*  Append value p/n (PLAIN bytes without a length prefix) to column c. */
static int
s_add (tl_pq_writer_t *w, s_col_t *c, const void *p, size_t n)
{
    if (!c->plain) {
        int64_t id = s_dict_id (w, c, p, n);
        if (id == -2)
            return s_fail (w, TL_ENOMEM, "out of memory", c->def.name);
        if (id == -1) {
            int rc = s_flush_page (w, c);
            if (rc)
                return rc;
            c->plain = true;
        }
        else
            tl_pq_wbuf_le (&c->vals, (uint64_t) id, 4);
    }
    if (c->plain)
        s_plain (&c->vals, c, p, n);
    if (c->def.optional)
        tl_pq_wbuf_le (&c->defs, 1, 4);
    return s_after (w, c);
}

/*  min/max; NaN stays out of them (parquet.thrift, ColumnOrder). */
static void
s_stat (s_col_t *c, uint64_t bits)
{
    if (c->def.type == TL_PQW_DOUBLE) {
        double d;
        memcpy (&d, &bits, 8);
        if (isnan (d))
            return;
        c->dmin = !c->has_mm || d < c->dmin ? d : c->dmin;
        c->dmax = !c->has_mm || d > c->dmax ? d : c->dmax;
    }
    else {
        int64_t v = c->def.type == TL_PQW_INT32 ? (int32_t) (uint32_t) bits : (int64_t) bits;
        c->imin = !c->has_mm || v < c->imin ? v : c->imin;
        c->imax = !c->has_mm || v > c->imax ? v : c->imax;
    }
    c->has_mm = true;
}

/*  An INT32, INT64 or DOUBLE value, as the bits of its PLAIN form. */
static int
s_add_fixed (tl_pq_writer_t *w, size_t col, int type, uint64_t bits)
{
    s_col_t *c = s_col (w, col, type);
    if (!c)
        return w->err.code;
    uint8_t x [8];
    s_stat (c, bits);
    return s_add (w, c, x, tl_pq_le_bytes (x, bits, type == TL_PQW_INT32 ? 4 : 8));
}

int
tl_pq_writer_add_i32 (tl_pq_writer_t *w, size_t col, int32_t v)
{
    return s_add_fixed (w, col, TL_PQW_INT32, (uint32_t) v);
}

int
tl_pq_writer_add_i64 (tl_pq_writer_t *w, size_t col, int64_t v)
{
    return s_add_fixed (w, col, TL_PQW_INT64, (uint64_t) v);
}

int
tl_pq_writer_add_f64 (tl_pq_writer_t *w, size_t col, double v)
{
    uint64_t bits;
    memcpy (&bits, &v, 8);
    return s_add_fixed (w, col, TL_PQW_DOUBLE, bits);
}

int
tl_pq_writer_add_bytes (tl_pq_writer_t *w, size_t col, const void *p, size_t n)
{
    s_col_t *c = s_col (w, col, TL_PQW_BYTE_ARRAY);
    if (!c)
        return w->err.code;
    if (n > INT32_MAX)
        return s_fail (w, TL_EINVAL, "a value over 2 GiB", c->def.name);
    return s_add (w, c, n ? p : "", n);
}

int
tl_pq_writer_add_null (tl_pq_writer_t *w, size_t col)
{
    s_col_t *c = s_col (w, col, 0);
    if (!c)
        return w->err.code;
    if (!c->def.optional)
        return s_fail (w, TL_EINVAL, "a NULL in a REQUIRED column", c->def.name);
    tl_pq_wbuf_le (&c->defs, 0, 4);
    c->nulls++;
    return s_after (w, c);
}

/*  min or max as PLAIN bytes into x; returns their size. For DOUBLE a zero minimum is -0.0 and a
    zero maximum +0.0 (parquet.thrift, ColumnOrder). */
static size_t
s_stat_value (uint8_t x [8], const s_col_t *c, bool max)
{
    uint64_t v = (uint64_t) (max ? c->imax : c->imin);
    if (c->def.type == TL_PQW_DOUBLE) {
        double d = max ? c->dmax : c->dmin;
        if (d == 0)
            d = max ? 0.0 : -0.0;
        memcpy (&v, &d, 8);
    }
    return tl_pq_le_bytes (x, v, c->def.type == TL_PQW_INT32 ? 4 : 8);
}

/*  Statistics: null_count always, min_value/max_value for the numeric types. */
static void
s_stats (tl_pq_tw_t *t, const s_col_t *c)
{
    tl_pq_tw_struct (t, 12);
    tl_pq_tw_i64 (t, 3, c->nulls);
    if (c->has_mm && c->def.type != TL_PQW_BYTE_ARRAY) {
        uint8_t x [8];
        tl_pq_tw_bin (t, 5, x, s_stat_value (x, c, true));
        tl_pq_tw_bin (t, 6, x, s_stat_value (x, c, false));
    }
    tl_pq_tw_end (t);
}

/*  ColumnMetaData.encodings: every encoding the chunk's pages and levels use, once. */
static void
s_encodings (tl_pq_tw_t *t, const s_col_t *c)
{
    int encs [4] = { -1, -1, -1, -1 }, n = 0;
    if (c->nents)
        encs [n++] = s_dict_enc (c, true);
    if (c->pages_dict && s_dict_enc (c, false) != encs [0])
        encs [n++] = s_dict_enc (c, false);
    if (c->pages_plain && !(c->nents && encs [0] == S_PLAIN))
        encs [n++] = S_PLAIN;
    if (c->def.optional)
        encs [n++] = S_RLE;
    tl_pq_tw_list (t, 2, TL_PQW_T_I32, (size_t) n);
    for (int i = 0; i < n; i++)
        tl_pq_wbuf_varint (t->b, tl_pq_zigzag (encs [i]));
}

/*  The column's dictionary page and data pages into the file; its ColumnChunk into t (fields in
    id order, so that each field header is one byte). */
static int
s_write_chunk (tl_pq_writer_t *w, s_col_t *c, tl_pq_tw_t *t)
{
    int rc = s_flush_page (w, c);
    int64_t dict_off = (int64_t) w->file.len;
    if (!rc && c->nents)
        rc = s_emit (w, c, &w->file, S_DICTIONARY_PAGE, s_dict_enc (c, true), c->nents, &c->dict);
    if (rc)
        return rc;
    int64_t data_off = (int64_t) w->file.len;
    tl_pq_wbuf_put (&w->file, c->chunk.p, c->chunk.len);
    tl_pq_tw_begin (t);
    tl_pq_tw_i64 (t, 2, 0);
    tl_pq_tw_struct (t, 3);
    tl_pq_tw_i32 (t, 1, c->def.type);
    s_encodings (t, c);
    tl_pq_tw_list (t, 3, TL_PQW_T_BINARY, 1);
    tl_pq_tw_bin (t, 0, c->def.name, strlen (c->def.name));
    tl_pq_tw_i32 (t, 4, w->o.codec);
    tl_pq_tw_i64 (t, 5, c->n);
    tl_pq_tw_i64 (t, 6, c->usize);
    tl_pq_tw_i64 (t, 7, c->csize);
    tl_pq_tw_i64 (t, 9, data_off);
    if (c->nents)
        tl_pq_tw_i64 (t, 11, dict_off);
    if (!w->o.no_stats)
        s_stats (t, c);
    tl_pq_tw_end (t);
    tl_pq_tw_end (t);
    return 0;
}

/*  Forget the chunk, keep the buffers. */
static void
s_reset_chunk (s_col_t *c)
{
    c->chunk.len = c->dict.len = 0;
    c->nents = 0;
    if (c->slots)
        memset (c->slots, 0, c->nslots * sizeof *c->slots);
    c->plain = c->def.encoding == TL_PQW_PLAIN;
    c->n = c->nulls = c->usize = c->csize = 0;
    c->pages_dict = c->pages_plain = 0;
    c->has_mm = false;
}

size_t
tl_pq_writer_pending_rows (const tl_pq_writer_t *w)
{
    return (size_t) w->cols [0].n;
}

int
tl_pq_writer_end_row_group (tl_pq_writer_t *w)
{
    if (w->err.code || w->done)
        return w->err.code ? w->err.code : s_fail (w, TL_EINVAL, "a row group after finish", NULL);
    int64_t rows = w->cols [0].n;
    for (size_t i = 1; i < w->ncols; i++)
        if (w->cols [i].n != rows)
            return s_fail (w, TL_EINVAL, "columns of unequal length in a row group", w->cols [i].def.name);
    if (!rows)
        return 0;
    int64_t start = (int64_t) w->file.len, usize = 0;
    tl_pq_tw_t t = tl_pq_tw (&w->rgs);
    tl_pq_tw_begin (&t);
    tl_pq_tw_list (&t, 1, TL_PQW_T_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        int rc = s_write_chunk (w, &w->cols [i], &t);
        if (rc)
            return rc;
        usize += w->cols [i].usize;
        s_reset_chunk (&w->cols [i]);
    }
    tl_pq_tw_i64 (&t, 2, usize);
    tl_pq_tw_i64 (&t, 3, rows);
    tl_pq_tw_i64 (&t, 5, start);
    tl_pq_tw_i64 (&t, 6, (int64_t) w->file.len - start);
    tl_pq_tw_int (&t, 7, TL_PQW_T_I16, (int64_t) w->nrgs);
    tl_pq_tw_end (&t);
    if (w->file.oom || w->rgs.oom)
        return s_fail (w, TL_ENOMEM, "out of memory", NULL);
    w->nrgs++;
    w->rows += rows;
    return 0;
}

/*  A leaf SchemaElement: type, repetition, name, converted_type and LogicalType. */
static void
s_schema_leaf (tl_pq_tw_t *t, const tl_pq_wcol_t *d)
{
    tl_pq_tw_begin (t);
    tl_pq_tw_i32 (t, 1, d->type);
    tl_pq_tw_i32 (t, 3, d->optional ? 1 : 0);
    tl_pq_tw_bin (t, 4, d->name, strlen (d->name));
    if (d->logical == TL_PQW_STRING) {
        tl_pq_tw_i32 (t, 6, 0);                     /* UTF8 */
        tl_pq_tw_struct (t, 10);
        tl_pq_tw_struct (t, 1);                     /* StringType */
        tl_pq_tw_end (t);
        tl_pq_tw_end (t);
    }
    else if (d->logical == TL_PQW_TIMESTAMP_US) {
        tl_pq_tw_i32 (t, 6, 10);                    /* TIMESTAMP_MICROS */
        tl_pq_tw_struct (t, 10);
        tl_pq_tw_struct (t, 8);                     /* TimestampType */
        tl_pq_tw_field (t, 1, TL_PQW_T_FALSE);      /* isAdjustedToUTC */
        tl_pq_tw_struct (t, 2);                     /* TimeUnit */
        tl_pq_tw_struct (t, 2);                     /* MicroSeconds */
        for (int i = 0; i < 4; i++)
            tl_pq_tw_end (t);
    }
    tl_pq_tw_end (t);
}

static void
s_footer (tl_pq_writer_t *w, tl_pq_wbuf_t *m)
{
    tl_pq_tw_t t = tl_pq_tw (m);
    tl_pq_tw_begin (&t);
    tl_pq_tw_i32 (&t, 1, 1);
    tl_pq_tw_list (&t, 2, TL_PQW_T_STRUCT, w->ncols + 1);
    tl_pq_tw_begin (&t);
    tl_pq_tw_bin (&t, 4, "schema", 6);
    tl_pq_tw_i32 (&t, 5, (int64_t) w->ncols);
    tl_pq_tw_end (&t);
    for (size_t i = 0; i < w->ncols; i++)
        s_schema_leaf (&t, &w->cols [i].def);
    tl_pq_tw_i64 (&t, 3, w->rows);
    tl_pq_tw_list (&t, 4, TL_PQW_T_STRUCT, w->nrgs);
    tl_pq_wbuf_put (m, w->rgs.p, w->rgs.len);
    tl_pq_tw_bin (&t, 6, w->o.created_by, strlen (w->o.created_by));
    tl_pq_tw_list (&t, 7, TL_PQW_T_STRUCT, w->ncols);      /* ColumnOrder: TYPE_ORDER for each */
    for (size_t i = 0; i < w->ncols; i++) {
        tl_pq_tw_begin (&t);
        tl_pq_tw_struct (&t, 1);
        tl_pq_tw_end (&t);
        tl_pq_tw_end (&t);
    }
    tl_pq_tw_end (&t);
}

int
tl_pq_writer_finish (tl_pq_writer_t *w, uint8_t **buf, size_t *len)
{
    int rc = tl_pq_writer_end_row_group (w);
    if (rc)
        return rc;
    tl_pq_wbuf_t m = { 0 };
    s_footer (w, &m);
    tl_pq_wbuf_put (&w->file, m.p, m.len);
    tl_pq_wbuf_le (&w->file, m.len, 4);
    tl_pq_wbuf_put (&w->file, "PAR1", 4);
    bool oom = m.oom || w->file.oom, big = m.len > UINT32_MAX;
    tl_pq_wbuf_free (&m);
    if (oom || big)
        return s_fail (w, oom ? TL_ENOMEM : TL_EINVAL, oom ? "out of memory" : "a footer over 4 GiB", NULL);
    w->done = true;
    *buf = w->file.p;
    *len = w->file.len;
    w->file = (tl_pq_wbuf_t) { 0 };
    return 0;
}

static const char *
s_check_col (const tl_pq_wcol_t *d)
{
    if (!d->name || !*d->name)
        return "a column without a name";
    if (d->type != TL_PQW_INT32 && d->type != TL_PQW_INT64 && d->type != TL_PQW_DOUBLE && d->type != TL_PQW_BYTE_ARRAY)
        return "an unknown physical type";
    if ((d->logical == TL_PQW_STRING && d->type != TL_PQW_BYTE_ARRAY) ||
        (d->logical == TL_PQW_TIMESTAMP_US && d->type != TL_PQW_INT64) || (unsigned) d->logical > TL_PQW_TIMESTAMP_US)
        return "a logical type that does not fit the physical type";
    if ((unsigned) d->encoding > TL_PQW_DICT_FALLBACK)
        return "an unknown encoding";
    return NULL;
}

static int
s_setup (tl_pq_writer_t *w, const tl_pq_wcol_t *cols, const tl_pq_wopts_t *opts)
{
    if (opts)
        w->o = *opts;
    if (!tl_pq_codec_known (w->o.codec))
        return s_fail (w, TL_EINVAL, "an unknown codec", NULL);
    w->o.page_size = w->o.page_size ? w->o.page_size : 1 << 20;
    w->o.dict_max = w->o.dict_max ? w->o.dict_max : 65536;
    w->o.created_by = w->o.created_by ? w->o.created_by : "tally gen";
    for (size_t i = 0; i < w->ncols; i++) {
        const char *why = s_check_col (&cols [i]);
        if (why)
            return s_fail (w, TL_EINVAL, why, cols [i].name ? cols [i].name : "");
        s_col_t *c = &w->cols [i];
        c->def = cols [i];
        c->def.name = strdup (cols [i].name);
        if (!c->def.name)
            return s_fail (w, TL_ENOMEM, "out of memory", NULL);
        s_reset_chunk (c);
    }
    tl_pq_wbuf_put (&w->file, "PAR1", 4);
    return w->file.oom ? s_fail (w, TL_ENOMEM, "out of memory", NULL) : 0;
}

tl_pq_writer_t *
tl_pq_writer_new (const tl_pq_wcol_t *cols, size_t ncols, const tl_pq_wopts_t *opts, tl_err_t *e)
{
    if (!cols || !ncols || ncols > S_MAX_COLS) {
        tl_err_set (e, TL_EINVAL, 0, "parquet writer: %zu columns (1 to %d)", ncols, S_MAX_COLS);
        return NULL;
    }
    tl_pq_writer_t *w = calloc (1, sizeof *w);
    if (w)
        w->cols = calloc (ncols, sizeof *w->cols);
    if (!w || !w->cols) {
        free (w);
        tl_err_set (e, TL_ENOMEM, 0, "parquet writer: out of memory");
        return NULL;
    }
    w->ncols = ncols;
    if (s_setup (w, cols, opts)) {
        if (e)
            *e = w->err;
        tl_pq_writer_destroy (&w);
    }
    return w;
}

const tl_err_t *
tl_pq_writer_err (const tl_pq_writer_t *w)
{
    return &w->err;
}

void
tl_pq_writer_destroy (tl_pq_writer_t **w_p)
{
    tl_pq_writer_t *w = w_p ? *w_p : NULL;
    if (!w)
        return;
    for (size_t i = 0; i < w->ncols; i++) {
        s_col_t *c = &w->cols [i];
        free ((char *) c->def.name);
        tl_pq_wbuf_free (&c->defs);
        tl_pq_wbuf_free (&c->vals);
        tl_pq_wbuf_free (&c->chunk);
        tl_pq_wbuf_free (&c->dict);
        free (c->ents);
        free (c->slots);
    }
    free (w->cols);
    tl_pq_wbuf_free (&w->file);
    tl_pq_wbuf_free (&w->rgs);
    free (w);
    *w_p = NULL;
}
