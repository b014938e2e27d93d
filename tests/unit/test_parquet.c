/*  tally's Parquet reader (lib/core/parquet): the Thrift compact reader, the footer, the
    RLE/bit-packed hybrid, the delta and byte-stream-split encodings, every codec, and the
    column reader over hand-built pages. Byte vectors are built here with a small Thrift
    compact writer and small encoders that follow the spec text (Encodings.md), so each test
    states its input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/encoding.h"
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/page.h"
#include "lib/core/parquet/rle.h"
#include "lib/core/parquet/thrift.h"

/* ---- a Thrift compact writer for test vectors ---- */
typedef struct {
    uint8_t b [1 << 16];
    size_t n;
    int16_t last [64];
    int depth;
} w_t;

static void w_byte (w_t *w, uint8_t v) { w->b [w->n++] = v; }
static void w_uvar (w_t *w, uint64_t v) { while (v >= 0x80) { w_byte (w, (uint8_t) (v | 0x80)); v >>= 7; } w_byte (w, (uint8_t) v); }
static void w_zz (w_t *w, int64_t v) { w_uvar (w, ((uint64_t) v << 1) ^ (uint64_t) (v >> 63)); }
static void w_raw (w_t *w, const void *p, size_t n) { memcpy (w->b + w->n, p, n); w->n += n; }
static void w_init (w_t *w) { memset (w, 0, sizeof *w); }
static void
w_field (w_t *w, int16_t id, int type)
{
    int delta = id - w->last [w->depth];
    if (delta > 0 && delta <= 15)
        w_byte (w, (uint8_t) (delta << 4 | type));
    else {
        w_byte (w, (uint8_t) type);
        w_zz (w, id);
    }
    w->last [w->depth] = id;
}
static void w_begin (w_t *w) { w->last [++w->depth] = 0; }
static void w_end (w_t *w) { w_byte (w, 0); w->depth--; }
static void w_i32 (w_t *w, int16_t id, int64_t v) { w_field (w, id, TL_PQ_T_I32); w_zz (w, v); }
static void w_i64 (w_t *w, int16_t id, int64_t v) { w_field (w, id, TL_PQ_T_I64); w_zz (w, v); }
static void w_bin (w_t *w, int16_t id, const void *p, size_t n) { w_field (w, id, TL_PQ_T_BINARY); w_uvar (w, n); w_raw (w, p, n); }
static void w_str (w_t *w, int16_t id, const char *s) { w_bin (w, id, s, strlen (s)); }
static void w_bool (w_t *w, int16_t id, int v) { w_field (w, id, v ? TL_PQ_T_TRUE : TL_PQ_T_FALSE); }
static void w_struct (w_t *w, int16_t id) { w_field (w, id, TL_PQ_T_STRUCT); w_begin (w); }
static void
w_list (w_t *w, int16_t id, int et, uint32_t n)
{
    if (id) w_field (w, id, TL_PQ_T_LIST);
    if (n < 15) w_byte (w, (uint8_t) (n << 4 | et));
    else { w_byte (w, (uint8_t) (0xf0 | et)); w_uvar (w, n); }
}
static void w_elem_struct (w_t *w) { w_begin (w); }

/* ---- Thrift ---- */
static void
test_thrift (void **state)
{
    (void) state;
    static w_t w;
    w_init (&w);
    w_begin (&w);
    w_field (&w, 1, TL_PQ_T_I8); w_byte (&w, 0xfe);                 /* -2 */
    w_field (&w, 2, TL_PQ_T_I16); w_zz (&w, -300);
    w_i32 (&w, 3, INT32_MIN);
    w_i64 (&w, 4, INT64_MAX);
    w_field (&w, 5, TL_PQ_T_DOUBLE); double d = 2.5; w_raw (&w, &d, 8);
    w_str (&w, 6, "héllo");
    w_bool (&w, 7, 1);
    w_bool (&w, 8, 0);
    w_list (&w, 9, TL_PQ_T_I32, 20); for (int i = 0; i < 20; i++) w_zz (&w, i - 10);
    w_list (&w, 10, TL_PQ_T_TRUE, 3); w_byte (&w, 1); w_byte (&w, 0); w_byte (&w, 1);
    w_field (&w, 11, TL_PQ_T_MAP); w_uvar (&w, 2); w_byte (&w, TL_PQ_T_I32 << 4 | TL_PQ_T_BINARY);
    w_zz (&w, 1); w_uvar (&w, 1); w_byte (&w, 'a'); w_zz (&w, 2); w_uvar (&w, 1); w_byte (&w, 'b');
    w_struct (&w, 300);                                              /* long form: delta > 15 */
    w_i32 (&w, 1, 7);
    w_struct (&w, 2); w_i32 (&w, 5, 9); w_end (&w);                  /* nested struct */
    w_end (&w);
    w_field (&w, 12, TL_PQ_T_UUID); for (int i = 0; i < 16; i++) w_byte (&w, (uint8_t) i);  /* id goes down: long form */
    w_field (&w, 13, TL_PQ_T_SET); w_list (&w, 0, TL_PQ_T_BINARY, 1); w_uvar (&w, 0);
    w_i32 (&w, 14, 42);
    w_end (&w);
    tl_pq_tr_t tr;
    tl_pq_tr_init (&tr, w.b, w.n);
    assert_true (tl_pq_tr_struct_begin (&tr));
    int16_t id = 0;
    int t, seen = 0;
    while ((t = tl_pq_tr_field (&tr, &id)) != TL_PQ_T_STOP) {
        const uint8_t *p;
        size_t n;
        int et;
        uint32_t ln;
        seen++;
        switch (id) {
            case 1: assert_int_equal (t, TL_PQ_T_I8); assert_int_equal (tl_pq_tr_i8 (&tr), -2); break;
            case 2: assert_int_equal (tl_pq_tr_i32 (&tr), -300); break;
            case 3: assert_int_equal (tl_pq_tr_i32 (&tr), INT32_MIN); break;
            case 4: assert_true (tl_pq_tr_i64 (&tr) == INT64_MAX); break;
            case 5: assert_true (tl_pq_tr_double (&tr) == 2.5); break;
            case 6: tl_pq_tr_binary (&tr, &p, &n); assert_int_equal (n, 6); assert_memory_equal (p, "héllo", 6); break;
            case 7: assert_true (tl_pq_tr_bool_field (&tr, t)); break;
            case 8: assert_false (tl_pq_tr_bool_field (&tr, t)); break;
            case 9:
                tl_pq_tr_list (&tr, &et, &ln);
                assert_int_equal (et, TL_PQ_T_I32); assert_int_equal (ln, 20);
                for (int i = 0; i < 20; i++) assert_int_equal (tl_pq_tr_i32 (&tr), i - 10);
                break;
            case 10:
                tl_pq_tr_list (&tr, &et, &ln);
                assert_int_equal (ln, 3);
                assert_true (tl_pq_tr_bool_elem (&tr)); assert_false (tl_pq_tr_bool_elem (&tr)); assert_true (tl_pq_tr_bool_elem (&tr));
                break;
            case 300: {                                 /* read one field, skip the rest */
                assert_true (tl_pq_tr_struct_begin (&tr));
                int16_t sid = 0;
                int st;
                while ((st = tl_pq_tr_field (&tr, &sid)) != TL_PQ_T_STOP) {
                    if (sid == 1) assert_int_equal (tl_pq_tr_i32 (&tr), 7);
                    else tl_pq_tr_skip (&tr, st);
                }
                tl_pq_tr_struct_end (&tr);
                break;
            }
            case 14: assert_int_equal (tl_pq_tr_i32 (&tr), 42); break;
            default: tl_pq_tr_skip (&tr, t);            /* map, uuid, set: unknown to us */
        }
    }
    tl_pq_tr_struct_end (&tr);
    assert_null (tr.err);
    assert_int_equal (seen, 15);
    assert_int_equal (tl_pq_tr_pos (&tr), w.n);
    /* the whole struct skipped as an unknown field lands on the same end */
    tl_pq_tr_init (&tr, w.b, w.n);
    tl_pq_tr_skip (&tr, TL_PQ_T_STRUCT);
    assert_null (tr.err);
    assert_int_equal (tl_pq_tr_pos (&tr), w.n);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < w.n; cut++) {
        tl_pq_tr_init (&tr, w.b, cut);
        tl_pq_tr_skip (&tr, TL_PQ_T_STRUCT);
        assert_non_null (tr.err);
    }
    /* hostile lengths */
    const uint8_t big_bin [] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 'x' };
    const uint8_t *p;
    size_t n;
    tl_pq_tr_init (&tr, big_bin, sizeof big_bin);
    tl_pq_tr_binary (&tr, &p, &n);
    assert_non_null (tr.err); assert_int_equal (n, 0);
    const uint8_t big_list [] = { 0xf5, 0xff, 0xff, 0xff, 0xff, 0x07, 0x02 };
    int et;
    uint32_t ln;
    tl_pq_tr_init (&tr, big_list, sizeof big_list);
    tl_pq_tr_list (&tr, &et, &ln);
    assert_non_null (tr.err); assert_int_equal (ln, 0);
    const uint8_t long_var [] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
    tl_pq_tr_init (&tr, long_var, sizeof long_var);
    tl_pq_tr_i64 (&tr);
    assert_non_null (tr.err);
    const uint8_t i32_big [] = { 0x80, 0x80, 0x80, 0x80, 0x20 };   /* zigzag 2^33: not an i32 */
    tl_pq_tr_init (&tr, i32_big, sizeof i32_big);
    tl_pq_tr_i32 (&tr);
    assert_non_null (tr.err);
    static uint8_t deep [400];                      /* 200 nested structs: depth bound */
    for (int i = 0; i < 199; i++) deep [i] = 0x1c;
    tl_pq_tr_init (&tr, deep, sizeof deep);
    tl_pq_tr_skip (&tr, TL_PQ_T_STRUCT);
    assert_non_null (tr.err);
    static uint8_t lists [400];                     /* nested lists, too */
    for (int i = 0; i < 399; i++) lists [i] = 0x19;
    tl_pq_tr_init (&tr, lists, sizeof lists);
    tl_pq_tr_skip (&tr, TL_PQ_T_LIST);
    assert_non_null (tr.err);
    const uint8_t bad_type [] = { 0x1e, 0x00 };     /* field type 14 does not exist */
    tl_pq_tr_init (&tr, bad_type, sizeof bad_type);
    tl_pq_tr_skip (&tr, TL_PQ_T_STRUCT);
    assert_non_null (tr.err);
}

/* ---- FileMetaData ---- */
static void
w_schema (w_t *w, const char *name, int type, int rep, int children, int conv)
{
    w_elem_struct (w);
    if (type >= 0) w_i32 (w, 1, type);
    if (rep >= 0) w_i32 (w, 3, rep);
    w_str (w, 4, name);
    if (children >= 0) w_i32 (w, 5, children);
    if (conv >= 0) w_i32 (w, 6, conv);
}

static void
w_chunk (w_t *w, int type, const char *path, int codec, int64_t nv, int64_t size, int64_t data_off, int64_t dict_off, bool stats)
{
    w_elem_struct (w);                              /* ColumnChunk */
    w_i64 (w, 2, 0);
    w_struct (w, 3);                                /* ColumnMetaData */
    w_i32 (w, 1, type);
    w_list (w, 2, TL_PQ_T_I32, 3); w_zz (w, 0); w_zz (w, 3); w_zz (w, 8);
    w_list (w, 3, TL_PQ_T_BINARY, 1); w_uvar (w, strlen (path)); w_raw (w, path, strlen (path));
    w_i32 (w, 4, codec);
    w_i64 (w, 5, nv);
    w_i64 (w, 6, size);
    w_i64 (w, 7, size);
    w_i64 (w, 9, data_off);
    if (dict_off >= 0) w_i64 (w, 11, dict_off);
    if (stats) {
        int64_t lo = -7, hi = 99;
        w_struct (w, 12);
        w_bin (w, 1, &hi, 8); w_bin (w, 2, &lo, 8);
        w_i64 (w, 3, 2);
        w_bin (w, 5, &hi, 8); w_bin (w, 6, &lo, 8);
        w_end (w);
    }
    w_field (w, 20, TL_PQ_T_LIST); w_list (w, 0, TL_PQ_T_STRUCT, 1); w_begin (w); w_i32 (w, 1, 5); w_end (w); /* unknown */
    w_end (w);
    w_end (w);
}

/*  A footer: a(INT64 optional), s(STRING), grp{x INT32 required, lst repeated{e INT32 optional}},
    d (DECIMAL(10,2) FLBA 5), ts (TIMESTAMP micros, LogicalType only); one row group. */
static void
w_footer (w_t *w, int ncols_in_rg, bool encrypted)
{
    w_init (w);
    w_begin (w);
    w_i32 (w, 1, 2);
    w_list (w, 2, TL_PQ_T_STRUCT, 8);
    w_schema (w, "schema", -1, -1, 4, -1); w_end (w);
    w_schema (w, "a", TL_PQ_INT64, TL_PQ_OPTIONAL, -1, 18); w_end (w);
    w_schema (w, "s", TL_PQ_BYTE_ARRAY, TL_PQ_OPTIONAL, -1, -1);
    w_struct (w, 10); w_struct (w, 1); w_end (w); w_end (w);        /* LogicalType STRING */
    w_field (w, 30, TL_PQ_T_LIST); w_list (w, 0, TL_PQ_T_I64, 2); w_zz (w, 1); w_zz (w, 2);  /* unknown field */
    w_end (w);
    w_schema (w, "grp", -1, TL_PQ_OPTIONAL, 2, -1); w_end (w);
    w_schema (w, "x", TL_PQ_INT32, TL_PQ_REQUIRED, -1, -1); w_end (w);
    w_schema (w, "lst", -1, TL_PQ_REPEATED, 1, -1); w_end (w);
    w_schema (w, "e", TL_PQ_INT32, TL_PQ_OPTIONAL, -1, -1); w_end (w);
    w_schema (w, "d", TL_PQ_FIXED_LEN_BYTE_ARRAY, TL_PQ_OPTIONAL, -1, 5);
    w_i32 (w, 2, 5); w_i32 (w, 7, 2); w_i32 (w, 8, 10);
    w_end (w);
    w_i64 (w, 3, 10);
    w_list (w, 4, TL_PQ_T_STRUCT, 1);
    w_elem_struct (w);
    w_list (w, 1, TL_PQ_T_STRUCT, (uint32_t) ncols_in_rg);
    const char *paths [] = { "a", "s", "x", "e", "d" };
    const int types [] = { TL_PQ_INT64, TL_PQ_BYTE_ARRAY, TL_PQ_INT32, TL_PQ_INT32, TL_PQ_FIXED_LEN_BYTE_ARRAY };
    for (int c = 0; c < ncols_in_rg; c++)
        w_chunk (w, types [c % 5], paths [c % 5], TL_PQ_ZSTD, 10, 100 + c, 1000 + 200 * c, c == 0 ? 900 : c == 1 ? 0 : -1, c == 0);
    w_i64 (w, 2, 12345);
    w_i64 (w, 3, 10);
    w_end (w);
    w_str (w, 6, "test writer");
    w_list (w, 7, TL_PQ_T_STRUCT, 5);
    for (int c = 0; c < 5; c++) { w_begin (w); w_struct (w, 1); w_end (w); w_end (w); }
    if (encrypted) { w_struct (w, 8); w_struct (w, 1); w_end (w); w_end (w); }
    w_struct (w, 99); w_i32 (w, 1, 1); w_end (w);   /* a future field */
    w_end (w);
}

static void
test_meta (void **state)
{
    (void) state;
    static w_t w;
    tl_pq_meta_t *m;
    tl_err_t e;
    w_footer (&w, 5, false);
    assert_int_equal (tl_pq_meta_parse (w.b, w.n, &m, &e), 0);
    assert_int_equal (m->num_rows, 10);
    assert_int_equal (m->ncols, 5);
    assert_string_equal (m->created_by, "test writer");
    assert_true (m->has_nested);
    const char *names [] = { "a", "s", "grp.x", "grp.lst.e", "d" };
    for (int c = 0; c < 5; c++) assert_string_equal (m->cols [c].name, names [c]);
    assert_int_equal (m->cols [0].max_def, 1);
    assert_int_equal (m->cols [0].logical, TL_PQ_LT_INT);
    assert_int_equal (m->cols [0].bit_width, 64);
    assert_true (m->cols [0].is_signed);
    assert_false (m->cols [0].nested);
    assert_int_equal (m->cols [1].logical, TL_PQ_LT_STRING);
    assert_int_equal (m->cols [2].max_def, 1);
    assert_int_equal (m->cols [2].max_rep, 0);
    assert_true (m->cols [2].nested);
    assert_int_equal (m->cols [3].max_def, 3);
    assert_int_equal (m->cols [3].max_rep, 1);
    assert_int_equal (m->cols [4].type_length, 5);
    assert_int_equal (m->cols [4].logical, TL_PQ_LT_DECIMAL);
    assert_int_equal (m->cols [4].scale, 2);
    assert_int_equal (m->cols [4].precision, 10);
    assert_int_equal (m->cols [4].order, TL_PQ_ORDER_TYPE);
    assert_int_equal (m->nrgs, 1);
    assert_int_equal (m->rgs [0].num_rows, 10);
    assert_int_equal (m->rgs [0].total_byte_size, 12345);
    tl_pq_chunk_t *ch = &m->rgs [0].chunks [0];
    assert_int_equal (ch->codec, TL_PQ_ZSTD);
    assert_int_equal (ch->encodings, 1u << 0 | 1u << 3 | 1u << 8);
    assert_true (ch->has_stats && ch->stats.has_min && ch->stats.has_max_value && ch->stats.has_null_count);
    assert_int_equal (ch->stats.null_count, 2);
    uint64_t off, len;
    assert_int_equal (tl_pq_chunk_range (ch, 0, &off, &len, &e), 0);
    assert_int_equal (off, 900);                    /* from the dictionary page */
    assert_int_equal (len, 100);
    assert_int_equal (tl_pq_chunk_range (&m->rgs [0].chunks [1], 0, &off, &len, &e), 0);
    assert_int_equal (off, 1200);                   /* dictionary_page_offset 0: from the data page */
    assert_int_equal (tl_pq_chunk_range (&m->rgs [0].chunks [1], 1250, &off, &len, &e), TL_EPROTO);
    assert_int_equal (tl_pq_meta_find (m, "grp.x"), 2);
    assert_int_equal (tl_pq_meta_find (m, "GRP.X"), 2);
    assert_int_equal (tl_pq_meta_find (m, "nope"), -1);
    /* a nested leaf is refused by the column reader, in one line */
    tl_pq_col_t *rd;
    assert_int_equal (tl_pq_col_new (&rd, &m->cols [3], &m->rgs [0].chunks [3], 0, w.b, 1, NULL, &e), TL_EINVAL);
    assert_non_null (strstr (e.msg, "grouping by a nested column is not supported"));
    tl_pq_meta_destroy (&m);
    assert_null (m);
    /* every truncation is an error, never a crash */
    for (size_t cut = 0; cut < w.n; cut++) {
        assert_int_not_equal (tl_pq_meta_parse (w.b, cut, &m, &e), 0);
        assert_null (m);
    }
    /* a row group whose column count differs from the schema's */
    w_footer (&w, 4, false);
    assert_int_equal (tl_pq_meta_parse (w.b, w.n, &m, &e), TL_EPROTO);
    /* encrypted footers */
    w_footer (&w, 5, true);
    assert_int_equal (tl_pq_meta_parse (w.b, w.n, &m, &e), TL_EINVAL);
    assert_string_equal (e.msg, "encrypted Parquet is not supported");
    uint8_t tail [12] = { 1, 2, 3, 4, 0x10, 0, 0, 0, 'P', 'A', 'R', '1' };
    uint32_t ml;
    assert_int_equal (tl_pq_footer_len (tail, 12, &ml, &e), 0);
    assert_int_equal (ml, 16);
    memcpy (tail + 8, "PARE", 4);
    assert_int_equal (tl_pq_footer_len (tail, 12, &ml, &e), TL_EINVAL);
    assert_string_equal (e.msg, "encrypted Parquet is not supported");
    memcpy (tail + 8, "PAR2", 4);
    assert_int_equal (tl_pq_footer_len (tail, 12, &ml, &e), TL_EPROTO);
    assert_int_equal (tl_pq_footer_len (tail, 7, &ml, &e), TL_EPROTO);
}

/* ---- RLE / bit-packed hybrid ---- */
typedef struct {
    uint8_t b [1 << 16];
    size_t n;
} buf_t;

static void b_uvar (buf_t *o, uint64_t v) { while (v >= 0x80) { o->b [o->n++] = (uint8_t) (v | 0x80); v >>= 7; } o->b [o->n++] = (uint8_t) v; }

static void
b_bits (buf_t *o, const uint64_t *v, size_t n, int bw)       /* LSB-first packing */
{
    size_t bytes = (n * (size_t) bw + 7) / 8;
    memset (o->b + o->n, 0, bytes);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < bw; k++)
            if ((v [i] >> k) & 1) {
                size_t bit = i * (size_t) bw + (size_t) k;
                o->b [o->n + bit / 8] |= (uint8_t) (1 << (bit % 8));
            }
    o->n += bytes;
}

static void
b_rle_run (buf_t *o, uint32_t v, uint32_t count, int bw)
{
    b_uvar (o, (uint64_t) count << 1);
    for (int k = 0; k < (bw + 7) / 8; k++) o->b [o->n++] = (uint8_t) (v >> (8 * k));
}

static void
b_bp_run (buf_t *o, const uint32_t *v, size_t groups, int bw)
{
    uint64_t t [512];
    b_uvar (o, groups << 1 | 1);
    for (size_t i = 0; i < groups * 8; i++) t [i] = v [i];
    b_bits (o, t, groups * 8, bw);
}

static void
test_rle (void **state)
{
    (void) state;
    /* the spec's packing example: 0..7 in 3 bits → 10001000 11000110 11111010 */
    uint64_t seq [8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    static buf_t o;
    o.n = 0;
    b_bits (&o, seq, 8, 3);
    assert_int_equal (o.n, 3);
    assert_int_equal (o.b [0], 0x88); assert_int_equal (o.b [1], 0xc6); assert_int_equal (o.b [2], 0xfa);
    uint32_t out [4096], lit [4096];
    for (int bw = 0; bw <= 32; bw++) {
        uint64_t mask = bw == 32 ? 0xffffffffu : ((uint64_t) 1 << bw) - 1;
        uint32_t expect [4096], lits [256];
        size_t ne = 0;
        o.n = 0;
        uint64_t x = 12345 + (uint64_t) bw;
        for (int run = 0; run < 12; run++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            if (run % 2 == 0) {
                uint32_t v = (uint32_t) ((x >> 20) & mask), count = 1 + (uint32_t) (x >> 50) % 300;
                b_rle_run (&o, v, count, bw);
                for (uint32_t i = 0; i < count; i++) expect [ne++] = v;
            } else {
                size_t groups = 1 + (x >> 40) % 5;
                for (size_t i = 0; i < groups * 8; i++) {
                    x = x * 6364136223846793005ull + 1;
                    lits [i] = (uint32_t) ((x >> 17) & mask);
                    expect [ne++] = lits [i];
                }
                b_bp_run (&o, lits, groups, bw);
            }
        }
        /* expanded in odd-sized pieces that cross run boundaries */
        tl_pq_rle_t r;
        tl_pq_rle_init (&r, o.b, o.n, bw);
        size_t got = 0;
        while (got < ne) {
            size_t want = 7 + got % 13;
            size_t k = tl_pq_rle_get (&r, out + got, want < ne - got ? want : ne - got);
            assert_true (k > 0);
            got += k;
        }
        assert_memory_equal (out, expect, ne * 4);
        assert_int_equal (tl_pq_rle_get (&r, out, 10), 0);
        assert_null (r.err);
        /* as runs: RLE runs come whole, literal runs unpacked */
        tl_pq_rle_init (&r, o.b, o.n, bw);
        got = 0;
        int t;
        uint32_t v;
        size_t n;
        while ((t = tl_pq_rle_run (&r, 100, &v, lit, &n)) > 0) {
            for (size_t i = 0; i < n; i++)
                assert_int_equal (t == 1 ? v : lit [i], expect [got + i]);
            got += n;
        }
        assert_int_equal (t, 0);
        assert_int_equal (got, ne);
        /* counted, in odd-sized pieces: equal to and above a value, against the expansion */
        uint32_t probes [3] = { expect [0], 0, (uint32_t) (mask / 2) };
        for (int pi = 0; pi < 3; pi++) {
            uint64_t eq = 0, above = 0, weq = 0, wabove = 0;
            for (size_t i = 0; i < ne; i++) {
                weq += expect [i] == probes [pi];
                wabove += expect [i] > probes [pi];
            }
            tl_pq_rle_init (&r, o.b, o.n, bw);
            for (got = 0; got < ne;) {
                size_t want = 5 + got % 17;
                size_t k = tl_pq_rle_count (&r, want < ne - got ? want : ne - got, probes [pi], &eq, &above);
                assert_true (k > 0);
                got += k;
            }
            assert_int_equal (tl_pq_rle_count (&r, 10, probes [pi], &eq, &above), 0);
            assert_int_equal (eq, weq);
            assert_int_equal (above, wabove);
        }
    }
    /* bit width 1, long bit-packed runs (the popcount path) at every alignment */
    {
        uint32_t bits [63 * 8 * 2], pl;
        uint64_t x = 7;
        o.n = 0;
        for (size_t i = 0; i < 63 * 8 * 2; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            bits [i] = (x >> 61) != 0;
        }
        b_bp_run (&o, bits, 63, 1);
        b_rle_run (&o, 0, 9, 1);
        b_bp_run (&o, bits + 63 * 8, 63, 1);
        size_t ne = 63 * 8 * 2 + 9;
        for (size_t start = 0; start < 70; start += 3)
            for (pl = 0; pl < 3; pl++) {
                tl_pq_rle_t r;
                tl_pq_rle_init (&r, o.b, o.n, 1);
                uint64_t eq = 0, above = 0, weq = 0, wabove = 0, skip_eq = 0, skip_above = 0;
                assert_int_equal (tl_pq_rle_count (&r, start, 0, &skip_eq, &skip_above), start);
                for (size_t i = start; i < ne; i++) {
                    uint32_t v = i < 63 * 8 ? bits [i] : i < 63 * 8 + 9 ? 0 : bits [i - 9];
                    weq += v == pl;
                    wabove += v > pl;
                }
                size_t got = start;
                while (got < ne) {
                    size_t k = tl_pq_rle_count (&r, 100 + got % 61, pl, &eq, &above);
                    assert_true (k > 0);
                    got += k;
                }
                assert_int_equal (got, ne);
                assert_int_equal (eq, weq);
                assert_int_equal (above, wabove);
            }
    }
    /* take_uniform consumes only from an RLE run long enough */
    o.n = 0;
    b_rle_run (&o, 1, 1000, 1);
    tl_pq_rle_t r;
    uint32_t v;
    tl_pq_rle_init (&r, o.b, o.n, 1);
    assert_true (tl_pq_rle_take_uniform (&r, 600, &v)); assert_int_equal (v, 1);
    assert_false (tl_pq_rle_take_uniform (&r, 401, &v));
    assert_true (tl_pq_rle_take_uniform (&r, 400, &v));
    /* a huge RLE run costs nothing until pulled */
    o.n = 0;
    b_rle_run (&o, 3, 0x7fffffff, 2);
    tl_pq_rle_init (&r, o.b, o.n, 2);
    assert_int_equal (tl_pq_rle_get (&r, out, 4096), 4096);
    /* bit width above 32; truncated run value; a last bit-packed run cut short */
    tl_pq_rle_init (&r, o.b, o.n, 33);
    assert_int_equal (tl_pq_rle_get (&r, out, 1), 0);
    assert_non_null (r.err);
    o.n = 0;
    b_uvar (&o, 10 << 1);
    o.b [o.n++] = 0x01;                             /* 16-bit value with one byte */
    tl_pq_rle_init (&r, o.b, o.n, 16);
    assert_int_equal (tl_pq_rle_get (&r, out, 1), 0);
    assert_non_null (r.err);
    o.n = 0;
    b_uvar (&o, 4 << 1 | 1);                        /* claims 32 values of 8 bits, has 5 bytes */
    for (int i = 0; i < 5; i++) o.b [o.n++] = (uint8_t) (10 + i);
    tl_pq_rle_init (&r, o.b, o.n, 8);
    assert_int_equal (tl_pq_rle_get (&r, out, 100), 5);
    assert_int_equal (out [4], 14);
    /* deprecated BIT_PACKED (MSB first): 0..7 in 3 bits is 00000101 00111001 01110111 */
    const uint8_t msb [] = { 0x05, 0x39, 0x77 };
    tl_pq_rle_init_msb (&r, msb, 3, 3, 8);
    assert_int_equal (tl_pq_rle_get (&r, out, 8), 8);
    for (uint32_t i = 0; i < 8; i++) assert_int_equal (out [i], i);
    uint64_t eq = 0, above = 0;
    tl_pq_rle_init_msb (&r, msb, 3, 3, 8);
    assert_int_equal (tl_pq_rle_count (&r, 3, 5, &eq, &above), 3);
    assert_int_equal (tl_pq_rle_count (&r, 100, 5, &eq, &above), 5);
    assert_int_equal (eq, 1);
    assert_int_equal (above, 2);
    assert_int_equal (tl_pq_bit_width (0), 0);
    assert_int_equal (tl_pq_bit_width (1), 1);
    assert_int_equal (tl_pq_bit_width (3), 2);
    assert_int_equal (tl_pq_bit_width (4), 3);
}

/* ---- delta encodings ---- */

/*  DELTA_BINARY_PACKED writer: block of bs values, mbc miniblocks (for the tests only). */
static void
b_delta (buf_t *o, const int64_t *v, size_t n, uint64_t bs, uint64_t mbc)
{
    b_uvar (o, bs);
    b_uvar (o, mbc);
    b_uvar (o, n);
    b_uvar (o, n ? ((uint64_t) v [0] << 1) ^ (uint64_t) (v [0] >> 63) : 0);
    uint64_t mbs = bs / mbc;
    for (size_t i = 1; i < n; i += bs) {
        size_t cnt = n - i < bs ? n - i : bs;
        uint64_t d [4096];
        int64_t min = INT64_MAX;
        for (size_t j = 0; j < cnt; j++) {
            d [j] = (uint64_t) v [i + j] - (uint64_t) v [i + j - 1];
            if ((int64_t) d [j] < min) min = (int64_t) d [j];
        }
        b_uvar (o, ((uint64_t) min << 1) ^ (uint64_t) (min >> 63));
        size_t wpos = o->n;
        o->n += mbc;
        for (uint64_t m = 0; m < mbc; m++) {
            uint64_t rel [4096] = { 0 }, mx = 0;
            size_t s = m * mbs;
            if (s >= cnt) { o->b [wpos + m] = 0; continue; }
            for (size_t j = 0; j < mbs; j++)
                if (s + j < cnt) { rel [j] = d [s + j] - (uint64_t) min; mx |= rel [j]; }
            int bw = tl_pq_bit_width (mx);
            o->b [wpos + m] = (uint8_t) bw;
            b_bits (o, rel, mbs, bw);
        }
    }
}

static void
test_delta (void **state)
{
    (void) state;
    uint64_t out [5000];
    tl_pq_delta_t d;
    /* Encodings.md example 1: 1..5 → header 8,1,5,1; block: min delta 1, width 0 */
    const uint8_t ex1 [] = { 8, 1, 5, 2, 2, 0 };
    assert_true (tl_pq_delta_init (&d, ex1, sizeof ex1));
    assert_true (tl_pq_delta_get (&d, out, 5));
    for (int i = 0; i < 5; i++) assert_int_equal (out [i], i + 1);
    assert_false (tl_pq_delta_get (&d, out, 1));   /* only five */
    /* example 2: 7,5,3,1,2,3,4,5 → min delta -2, width 2, 0,0,0,3,3,3,3 */
    const uint8_t ex2 [] = { 8, 1, 8, 14, 3, 2, 0xc0, 0x3f };
    assert_true (tl_pq_delta_init (&d, ex2, sizeof ex2));
    assert_true (tl_pq_delta_get (&d, out, 8));
    const int64_t want2 [] = { 7, 5, 3, 1, 2, 3, 4, 5 };
    for (int i = 0; i < 8; i++) assert_int_equal ((int64_t) out [i], want2 [i]);
    const char *why;
    assert_ptr_equal (tl_pq_delta_end (ex2, sizeof ex2, &why), ex2 + sizeof ex2);
    /* random round trips, INT64 extremes included, through the decoder in pieces */
    static buf_t o;
    static int64_t v [5000];
    uint64_t x = 99;
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + (size_t) (round * 263) % 4999;
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            v [i] = round % 3 == 0 ? (int64_t) x : round % 3 == 1 ? (int64_t) (x >> 50) - 8000 : (int64_t) i * 3;
        }
        if (round == 5) { v [0] = INT64_MIN; if (n > 1) v [1] = INT64_MAX; }
        o.n = 0;
        b_delta (&o, v, n, round % 2 ? 128 : 256, round % 2 ? 4 : 8);
        o.b [o.n++] = 0xab;                          /* bytes after the stream */
        assert_ptr_equal (tl_pq_delta_end (o.b, o.n, &why), o.b + o.n - 1);
        assert_true (tl_pq_delta_init (&d, o.b, o.n));
        size_t got = 0;
        while (got < n) {
            size_t k = 1 + got % 77;
            if (k > n - got) k = n - got;
            assert_true (tl_pq_delta_get (&d, out + got, k));
            got += k;
        }
        for (size_t i = 0; i < n; i++) assert_int_equal ((int64_t) out [i], v [i]);
    }
    /* INT32 through the value decoder wraps in 32 bits */
    int64_t v32 [] = { INT32_MAX, INT32_MIN, 0, -1, 5 };
    o.n = 0;
    b_delta (&o, v32, 5, 128, 4);
    tl_pq_dec_t dec;
    int32_t o32 [5];
    assert_int_equal (tl_pq_dec_init (&dec, TL_PQ_DELTA_BINARY_PACKED, TL_PQ_INT32, 0, o.b, o.n, 1 << 20), 0);
    assert_int_equal (tl_pq_dec_get (&dec, o32, 5, NULL), 0);
    for (int i = 0; i < 5; i++) assert_int_equal (o32 [i], (int32_t) v32 [i]);
    tl_pq_dec_free (&dec);
    /* hostile: width 65; a block without its widths; a bad block size */
    const uint8_t w65 [] = { 8, 1, 3, 0, 0, 65, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_true (tl_pq_delta_init (&d, w65, sizeof w65));
    assert_false (tl_pq_delta_get (&d, out, 3));
    assert_null (tl_pq_delta_end (w65, sizeof w65, &why));
    const uint8_t nowidth [] = { 0x80, 0x01, 4, 3, 0, 0 };
    assert_true (tl_pq_delta_init (&d, nowidth, sizeof nowidth));
    assert_false (tl_pq_delta_get (&d, out, 3));
    const uint8_t badbs [] = { 7, 1, 3, 0 };
    assert_false (tl_pq_delta_init (&d, badbs, sizeof badbs));
    /* a stream claiming 2^31 values in zero-width blocks decodes what is asked, no more */
    const uint8_t huge [] = { 0x80, 0x01, 1, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 2, 0 };
    assert_true (tl_pq_delta_init (&d, huge, sizeof huge));
    assert_true (tl_pq_delta_get (&d, out, 129));
    assert_int_equal (out [128], 128);
    assert_false (tl_pq_delta_get (&d, out, 1));    /* the next block is not there */
}

static void
test_delta_bytes (void **state)
{
    (void) state;
    static buf_t o;
    tl_pq_dec_t dec;
    tl_pq_bytes_t b [4];
    tl_pq_buf_t arena = { 0 };
    /* DELTA_LENGTH_BYTE_ARRAY: "Hello", "World", "Foobar", "ABCDEF" */
    int64_t lens [] = { 5, 5, 6, 6 };
    o.n = 0;
    b_delta (&o, lens, 4, 128, 4);
    memcpy (o.b + o.n, "HelloWorldFoobarABCDEF", 22);
    o.n += 22;
    assert_int_equal (tl_pq_dec_init (&dec, TL_PQ_DELTA_LENGTH_BYTE_ARRAY, TL_PQ_BYTE_ARRAY, 0, o.b, o.n, 1 << 20), 0);
    assert_int_equal (tl_pq_dec_get (&dec, b, 2, &arena), 0);
    assert_int_equal (tl_pq_dec_get (&dec, b + 2, 2, &arena), 0);
    const char *w1 [] = { "Hello", "World", "Foobar", "ABCDEF" };
    for (int i = 0; i < 4; i++) { assert_int_equal (b [i].len, strlen (w1 [i])); assert_memory_equal (b [i].p, w1 [i], b [i].len); }
    assert_int_not_equal (tl_pq_dec_get (&dec, b, 1, &arena), 0);
    tl_pq_dec_free (&dec);
    /* DELTA_BYTE_ARRAY: "axis", "axle", "babble", "babyhood" = prefixes 0,2,0,3, suffixes 4,2,6,5 */
    int64_t pre [] = { 0, 2, 0, 3 }, suf [] = { 4, 2, 6, 5 };
    o.n = 0;
    b_delta (&o, pre, 4, 8, 1);                     /* the spec's block size of 8, as in its examples */
    b_delta (&o, suf, 4, 128, 4);
    memcpy (o.b + o.n, "axislebabbleyhood", 17);
    o.n += 17;
    assert_int_equal (tl_pq_dec_init (&dec, TL_PQ_DELTA_BYTE_ARRAY, TL_PQ_BYTE_ARRAY, 0, o.b, o.n, 1 << 20), 0);
    assert_int_equal (tl_pq_dec_get (&dec, b, 3, &arena), 0);
    assert_int_equal (tl_pq_dec_get (&dec, b + 3, 1, &arena), 0);
    const char *w2 [] = { "axis", "axle", "babble", "babyhood" };
    for (int i = 3; i < 4; i++) { assert_int_equal (b [i].len, strlen (w2 [i])); assert_memory_equal (b [i].p, w2 [i], b [i].len); }
    tl_pq_dec_free (&dec);
    arena.len = 0;
    assert_int_equal (tl_pq_dec_init (&dec, TL_PQ_DELTA_BYTE_ARRAY, TL_PQ_BYTE_ARRAY, 0, o.b, o.n, 1 << 20), 0);
    assert_int_equal (tl_pq_dec_get (&dec, b, 4, &arena), 0);
    for (int i = 0; i < 4; i++) { assert_int_equal (b [i].len, strlen (w2 [i])); assert_memory_equal (b [i].p, w2 [i], b [i].len); }
    tl_pq_dec_free (&dec);
    /* a prefix longer than the previous value is an error; so is a cap overrun */
    int64_t badpre [] = { 0, 9 };
    int64_t badsuf [] = { 2, 1 };
    o.n = 0;
    b_delta (&o, badpre, 2, 128, 4);
    b_delta (&o, badsuf, 2, 128, 4);
    memcpy (o.b + o.n, "abc", 3);
    o.n += 3;
    assert_int_equal (tl_pq_dec_init (&dec, TL_PQ_DELTA_BYTE_ARRAY, TL_PQ_BYTE_ARRAY, 0, o.b, o.n, 1 << 20), 0);
    assert_int_equal (tl_pq_dec_get (&dec, b, 2, &arena), TL_EPROTO);
    tl_pq_dec_free (&dec);
    /* FIXED_LEN_BYTE_ARRAY under DELTA_BYTE_ARRAY: 3-byte values */
    int64_t fpre [] = { 0, 2 }, fsuf [] = { 3, 1 };
    o.n = 0;
    b_delta (&o, fpre, 2, 128, 4);
    b_delta (&o, fsuf, 2, 128, 4);
    memcpy (o.b + o.n, "abcz", 4);
    o.n += 4;
    uint8_t fx [6];
    assert_int_equal (tl_pq_dec_init (&dec, TL_PQ_DELTA_BYTE_ARRAY, TL_PQ_FIXED_LEN_BYTE_ARRAY, 3, o.b, o.n, 1 << 20), 0);
    assert_int_equal (tl_pq_dec_get (&dec, fx, 2, &arena), 0);
    assert_memory_equal (fx, "abcabz", 6);
    tl_pq_dec_free (&dec);
    free (arena.p);
    /* a page that starts with empty strings (as arrow-rs writes them): nothing is copied until
       a value has bytes, so neither the previous value nor the arena exists yet (found by
       UBSan on arrow-rs files: memcpy from a NULL previous value, tests/integration/
       test_parquet_arrow.sh) */
    int64_t epre [] = { 0, 0, 0, 1 }, esuf [] = { 0, 0, 2, 0 };
    o.n = 0;
    b_delta (&o, epre, 4, 128, 4);
    b_delta (&o, esuf, 4, 128, 4);
    memcpy (o.b + o.n, "ab", 2);
    o.n += 2;
    tl_pq_buf_t fresh = { 0 };
    assert_int_equal (tl_pq_dec_init (&dec, TL_PQ_DELTA_BYTE_ARRAY, TL_PQ_BYTE_ARRAY, 0, o.b, o.n, 1 << 20), 0);
    assert_int_equal (tl_pq_dec_get (&dec, b, 2, &fresh), 0);
    assert_int_equal (b [0].len, 0);
    assert_int_equal (b [1].len, 0);
    assert_int_equal (tl_pq_dec_get (&dec, b + 2, 2, &fresh), 0);
    assert_int_equal (b [2].len, 2);
    assert_memory_equal (b [2].p, "ab", 2);
    assert_int_equal (b [3].len, 1);
    assert_memory_equal (b [3].p, "a", 1);
    tl_pq_dec_free (&dec);
    free (fresh.p);
}

static void
test_byte_stream_split (void **state)
{
    (void) state;
    /* the spec's example: AA BB CC DD | 00 11 22 33 | A3 B4 C5 D6 */
    const uint8_t enc [] = { 0xAA, 0x00, 0xA3, 0xBB, 0x11, 0xB4, 0xCC, 0x22, 0xC5, 0xDD, 0x33, 0xD6 };
    const uint8_t want [] = { 0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x11, 0x22, 0x33, 0xA3, 0xB4, 0xC5, 0xD6 };
    const tl_pq_type_t types [] = { TL_PQ_FLOAT, TL_PQ_INT32, TL_PQ_FIXED_LEN_BYTE_ARRAY };
    for (int t = 0; t < 3; t++) {
        tl_pq_dec_t d;
        uint8_t out [12];
        assert_int_equal (tl_pq_dec_init (&d, TL_PQ_BYTE_STREAM_SPLIT, types [t], 4, enc, 12, 0), 0);
        assert_int_equal (tl_pq_dec_get (&d, out, 1, NULL), 0);
        assert_int_equal (tl_pq_dec_get (&d, out + 4, 2, NULL), 0);
        assert_memory_equal (out, want, 12);
        assert_int_equal (tl_pq_dec_get (&d, out, 1, NULL), TL_EPROTO);
    }
    /* DOUBLE / INT64: 8 streams */
    double vals [3] = { 1.5, -2.25, 1e300 };
    uint8_t e8 [24], o8 [24];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 8; k++) e8 [k * 3 + i] = ((uint8_t *) vals) [i * 8 + k];
    tl_pq_dec_t d;
    assert_int_equal (tl_pq_dec_init (&d, TL_PQ_BYTE_STREAM_SPLIT, TL_PQ_DOUBLE, 0, e8, 24, 0), 0);
    assert_int_equal (tl_pq_dec_get (&d, o8, 3, NULL), 0);
    assert_memory_equal (o8, vals, 24);
    assert_int_equal (tl_pq_dec_init (&d, TL_PQ_BYTE_STREAM_SPLIT, TL_PQ_INT64, 0, e8, 23, 0), TL_EPROTO);
    assert_int_equal (tl_pq_dec_init (&d, TL_PQ_BYTE_STREAM_SPLIT, TL_PQ_BYTE_ARRAY, 0, e8, 24, 0), TL_EINVAL);
}

/* ---- codecs ---- */
static void
test_codecs (void **state)
{
    (void) state;
    size_t n = 100000;
    uint8_t *src = malloc (n), *c = malloc (2 * n + 1024), *out = malloc (n + 16);
    for (size_t i = 0; i < n; i++) src [i] = (uint8_t) ("passenger_count,"[i % 16] + (i / 1000) % 3);
    const char *why;
    /* SNAPPY */
    size_t cl = 2 * n + 1024;
    assert_int_equal (snappy_compress ((const char *) src, n, (char *) c, &cl), SNAPPY_OK);
    assert_int_equal (tl_pq_decompress (TL_PQ_SNAPPY, c, cl, out, n, NULL, &why), 0);
    assert_memory_equal (out, src, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_SNAPPY, c, cl, out, n - 1, NULL, &why), TL_EPROTO);
    assert_int_equal (tl_pq_decompress (TL_PQ_SNAPPY, c, cl / 2, out, n, NULL, &why), TL_EPROTO);
    /* GZIP, two members back to back */
    size_t half = n / 2, gl = 0;
    for (int m = 0; m < 2; m++) {
        z_stream z;
        memset (&z, 0, sizeof z);
        assert_int_equal (deflateInit2 (&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = src + m * half;
        z.avail_in = (uInt) (m ? n - half : half);
        z.next_out = c + gl;
        z.avail_out = (uInt) (2 * n + 1024 - gl);
        assert_int_equal (deflate (&z, Z_FINISH), Z_STREAM_END);
        gl += z.total_out;
        deflateEnd (&z);
    }
    assert_int_equal (tl_pq_decompress (TL_PQ_GZIP, c, gl, out, n, NULL, &why), 0);
    assert_memory_equal (out, src, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_GZIP, c, gl, out, n - 5, NULL, &why), TL_EPROTO);    /* bomb guard */
    assert_int_equal (tl_pq_decompress (TL_PQ_GZIP, c, gl - 3, out, n, NULL, &why), TL_EPROTO);
    /* ZSTD */
    size_t zl = ZSTD_compress (c, 2 * n + 1024, src, n, 3);
    assert_false (ZSTD_isError (zl));
    assert_int_equal (tl_pq_decompress (TL_PQ_ZSTD, c, zl, out, n, NULL, &why), 0);
    assert_memory_equal (out, src, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_ZSTD, c, zl, out, n / 2, NULL, &why), TL_EPROTO);
    assert_int_equal (tl_pq_decompress (TL_PQ_ZSTD, c, zl, out, n + 1, NULL, &why), TL_EPROTO);
    /* LZ4_RAW, and the same raw block under the old LZ4 codec id */
    int ll = LZ4_compress_default ((const char *) src, (char *) c, (int) n, (int) (2 * n + 1024));
    assert_true (ll > 0);
    assert_int_equal (tl_pq_decompress (TL_PQ_LZ4_RAW, c, (size_t) ll, out, n, NULL, &why), 0);
    assert_memory_equal (out, src, n);
    memset (out, 0, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_LZ4, c, (size_t) ll, out, n, NULL, &why), 0);
    assert_memory_equal (out, src, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_LZ4_RAW, c, (size_t) ll, out, n - 1, NULL, &why), TL_EPROTO);
    /* LZ4 with Hadoop framing: two blocks of [BE ulen][BE clen][block] */
    size_t hl = 0;
    for (int m = 0; m < 2; m++) {
        size_t ul = m ? n - half : half;
        int bl = LZ4_compress_default ((const char *) src + m * half, (char *) c + hl + 8, (int) ul, (int) (2 * n));
        uint32_t u32 = (uint32_t) ul, c32 = (uint32_t) bl;
        for (int k = 0; k < 4; k++) {
            c [hl + k] = (uint8_t) (u32 >> (24 - 8 * k));
            c [hl + 4 + k] = (uint8_t) (c32 >> (24 - 8 * k));
        }
        hl += 8 + (size_t) bl;
    }
    memset (out, 0, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_LZ4, c, hl, out, n, NULL, &why), 0);
    assert_memory_equal (out, src, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_LZ4_RAW, c, hl, out, n, NULL, &why), TL_EPROTO);
    /* BROTLI */
    size_t bl = 2 * n + 1024;
    assert_int_equal (BrotliEncoderCompress (5, 22, BROTLI_MODE_GENERIC, n, src, &bl, c), BROTLI_TRUE);
    assert_int_equal (tl_pq_decompress (TL_PQ_BROTLI, c, bl, out, n, NULL, &why), 0);
    assert_memory_equal (out, src, n);
    assert_int_equal (tl_pq_decompress (TL_PQ_BROTLI, c, bl, out, n - 1, NULL, &why), TL_EPROTO);
    /* UNCOMPRESSED, LZO, unknown */
    assert_int_equal (tl_pq_decompress (TL_PQ_UNCOMPRESSED, src, n, out, n, NULL, &why), 0);
    assert_int_equal (tl_pq_decompress (TL_PQ_UNCOMPRESSED, src, n, out, n - 1, NULL, &why), TL_EPROTO);
    assert_int_equal (tl_pq_decompress (TL_PQ_LZO, src, n, out, n, NULL, &why), TL_EINVAL);
    assert_int_equal (tl_pq_decompress (42, src, n, out, n, NULL, &why), TL_EINVAL);
    free (src);
    free (c);
    free (out);
}

/* ---- pages and the column reader ---- */

/*  Append a page (header + body) to o. kind: DATA_PAGE (v1), DICTIONARY_PAGE or DATA_PAGE_V2.
    body is already compressed as the chunk's codec says; ulen its uncompressed size. */
static void
b_page (buf_t *o, int kind, const uint8_t *body, size_t clen, size_t ulen, int nv, int enc, int nnulls, int deflen,
        bool crc, bool v2_compressed)
{
    static w_t w;
    w_init (&w);
    w_begin (&w);
    w_i32 (&w, 1, kind);
    w_i32 (&w, 2, (int64_t) ulen);
    w_i32 (&w, 3, (int64_t) clen);
    if (crc) w_i32 (&w, 4, (int32_t) crc32 (0, body, (uInt) clen));
    if (kind == TL_PQ_DATA_PAGE) {
        w_struct (&w, 5);
        w_i32 (&w, 1, nv); w_i32 (&w, 2, enc); w_i32 (&w, 3, TL_PQ_RLE); w_i32 (&w, 4, TL_PQ_RLE);
        w_end (&w);
    } else if (kind == TL_PQ_DICTIONARY_PAGE) {
        w_struct (&w, 7);
        w_i32 (&w, 1, nv); w_i32 (&w, 2, enc); w_bool (&w, 3, 0);
        w_end (&w);
    } else {
        w_struct (&w, 8);
        w_i32 (&w, 1, nv); w_i32 (&w, 2, nnulls); w_i32 (&w, 3, nv); w_i32 (&w, 4, enc);
        w_i32 (&w, 5, deflen); w_i32 (&w, 6, 0);
        if (!v2_compressed) w_bool (&w, 7, 0);
        w_end (&w);
    }
    w_end (&w);
    memcpy (o->b + o->n, w.b, w.n);
    o->n += w.n;
    memcpy (o->b + o->n, body, clen);
    o->n += clen;
}

static size_t
s_zstd (const uint8_t *src, size_t n, uint8_t *dst)
{
    return ZSTD_compress (dst, ZSTD_compressBound (n), src, n, 1);
}

/*  Returns where the last (empty) page starts. Chunk for an OPTIONAL INT64 column of 40 rows, ZSTD: dictionary [10, 20, 30]; page 1 (v1):
    20 rows, all valid, indices RLE(2 x 12) + bit-packed(0,1,2,0,1,2,0,1); page 2 (v2): 20 rows,
    rows 0-4 null, then RLE(1 x 15); page 3: v1 PLAIN, 0 values (skipped). */
static size_t
s_chunk (buf_t *o, bool crc, uint32_t bad_index)
{
    static buf_t body, lv, cz;
    o->n = 0;
    int64_t dict [] = { 10, 20, 30 };
    size_t zl = s_zstd ((const uint8_t *) dict, 24, cz.b);
    b_page (o, TL_PQ_DICTIONARY_PAGE, cz.b, zl, 24, 3, TL_PQ_PLAIN_DICTIONARY, 0, 0, crc, true);
    /* v1: def levels [len][RLE 1 x 20], then bit width 2 and the indices */
    body.n = 0;
    lv.n = 0;
    b_rle_run (&lv, 1, 20, 1);
    uint32_t l32 = (uint32_t) lv.n;
    memcpy (body.b, &l32, 4);
    memcpy (body.b + 4, lv.b, lv.n);
    body.n = 4 + lv.n;
    body.b [body.n++] = 2;
    b_rle_run (&body, bad_index ? bad_index : 2, 12, 2);
    uint32_t lits [8] = { 0, 1, 2, 0, 1, 2, 0, 1 };
    b_bp_run (&body, lits, 1, 2);
    zl = s_zstd (body.b, body.n, cz.b);
    b_page (o, TL_PQ_DATA_PAGE, cz.b, zl, body.n, 20, TL_PQ_RLE_DICTIONARY, 0, 0, crc, true);
    /* v2: levels stored plainly (RLE 0 x 5, RLE 1 x 15), values compressed */
    lv.n = 0;
    b_rle_run (&lv, 0, 5, 1);
    b_rle_run (&lv, 1, 15, 1);
    body.n = 0;
    body.b [body.n++] = 2;
    b_rle_run (&body, 1, 15, 2);
    memcpy (cz.b, lv.b, lv.n);
    zl = s_zstd (body.b, body.n, cz.b + lv.n);
    b_page (o, TL_PQ_DATA_PAGE_V2, cz.b, lv.n + zl, lv.n + body.n, 20, TL_PQ_RLE_DICTIONARY, 5, (int) lv.n, crc, true);
    size_t last = o->n;
    b_page (o, TL_PQ_DATA_PAGE, cz.b, 0, 0, 0, TL_PQ_PLAIN, 0, 0, crc, true);
    return last;
}

static void
s_col (tl_pq_column_t *col, tl_pq_chunk_t *ch, tl_pq_type_t t, int maxd, int codec, int64_t nv)
{
    memset (col, 0, sizeof *col);
    memset (ch, 0, sizeof *ch);
    col->name = "c";
    col->type = ch->type = t;
    col->max_def = (int16_t) maxd;
    col->repetition = maxd ? TL_PQ_OPTIONAL : TL_PQ_REQUIRED;
    ch->codec = codec;
    ch->num_values = nv;
}

static void
test_column_modes (void **state)
{
    (void) state;
    static buf_t o;
    tl_pq_column_t col;
    tl_pq_chunk_t ch;
    tl_err_t e;
    s_col (&col, &ch, TL_PQ_INT64, 1, TL_PQ_ZSTD, 40);
    s_chunk (&o, true, 0);
    const int64_t expect [40] = { 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 10, 20, 30, 10, 20, 30, 10, 20,
                                  0, 0, 0, 0, 0, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20 };
    for (int mode = 0; mode < 3; mode++)
        for (size_t step = 1; step <= 64; step = step * 3 + 1) {
            tl_pq_col_opts_t opt = { .mode = mode };
            tl_pq_col_t *rd;
            assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &opt, &e), 0);
            size_t row = 0, nulls = 0;
            tl_pq_batch_t b;
            while (tl_pq_col_next (rd, step, &b, &e) == 0 && b.rows) {
                assert_true (b.rows <= step);
                nulls += b.nulls;
                if (b.kind == TL_PQ_BATCH_RUNS) {
                    assert_int_equal (mode, TL_PQ_RUNS);
                    const uint32_t *lit = b.idx;
                    for (size_t r = 0; r < b.nruns; r++)
                        for (uint32_t j = 0; j < b.runs [r].len; j++, row++) {
                            uint32_t ix = b.runs [r].index == TL_PQ_LIT_INDEX ? *lit++ : b.runs [r].index;
                            int64_t v = ix == TL_PQ_NULL_INDEX ? 0 : b.dict->i64 [ix];
                            assert_int_equal (v, expect [row]);
                        }
                } else if (b.kind == TL_PQ_BATCH_INDICES) {
                    for (size_t i = 0; i < b.rows; i++, row++)
                        assert_int_equal (b.idx [i] == TL_PQ_NULL_INDEX ? 0 : b.dict->i64 [b.idx [i]], expect [row]);
                } else {
                    assert_int_equal (mode, TL_PQ_VALUES);
                    for (size_t i = 0; i < b.rows; i++, row++) {
                        assert_int_equal (b.vals.i64 [i], expect [row]);
                        assert_int_equal (b.valid ? b.valid [i] : 1, row < 20 || row >= 25);
                    }
                }
            }
            assert_int_equal (row, 40);
            assert_int_equal (nulls, 5);
            assert_int_equal (tl_pq_col_rows_read (rd), 40);
            tl_pq_col_destroy (&rd);
            assert_null (rd);
        }
    /* a whole RLE run arrives as one run */
    tl_pq_col_opts_t opt = { .mode = TL_PQ_RUNS };
    tl_pq_col_t *rd;
    tl_pq_batch_t b;
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &opt, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 1000, &b, &e), 0);
    assert_int_equal (b.rows, 20);
    assert_int_equal (b.nruns, 2);
    assert_int_equal (b.runs [0].index, 2); assert_int_equal (b.runs [0].len, 12);
    assert_int_equal (b.runs [1].index, TL_PQ_LIT_INDEX); assert_int_equal (b.runs [1].len, 8);
    assert_int_equal (b.dict_gen, 1);
    assert_int_equal (tl_pq_col_next (rd, 1000, &b, &e), 0);
    assert_int_equal (b.nruns, 2);
    assert_int_equal (b.runs [0].index, TL_PQ_NULL_INDEX); assert_int_equal (b.runs [0].len, 5);
    assert_int_equal (b.runs [1].index, 1); assert_int_equal (b.runs [1].len, 15);    /* nulls and values both as runs */
    assert_int_equal (b.nulls, 5);
    assert_int_equal (tl_pq_col_next (rd, 1000, &b, &e), 0);
    assert_int_equal (b.rows, 0);
    tl_pq_col_destroy (&rd);
}

static void
test_column_errors (void **state)
{
    (void) state;
    static buf_t o;
    tl_pq_column_t col;
    tl_pq_chunk_t ch;
    tl_err_t e;
    tl_pq_col_t *rd;
    tl_pq_batch_t b;
    tl_pq_col_opts_t opt = { .mode = TL_PQ_RUNS };
    s_col (&col, &ch, TL_PQ_INT64, 1, TL_PQ_ZSTD, 40);
    col.name = "passenger_count";
    /* a bad dictionary index names the row group, column and page */
    s_chunk (&o, false, 3);
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 3, o.b, o.n, &opt, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), TL_EPROTO);
    assert_string_equal (e.msg, "row group 3, column 'passenger_count', page 1: dictionary index 3 past the dictionary's 3 entries");
    tl_pq_col_destroy (&rd);
    /* CRC mismatch, and the same page read with CRC checks off */
    s_chunk (&o, true, 0);
    o.b [o.n - 20] ^= 0x40;                         /* inside the v2 page's compressed values */
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &opt, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), TL_EPROTO);
    assert_non_null (strstr (e.msg, "page 2: page CRC mismatch"));
    tl_pq_col_destroy (&rd);
    /* the decompressed-size cap */
    size_t last_page = s_chunk (&o, false, 0);
    tl_pq_col_opts_t small = { .mode = TL_PQ_RUNS, .max_page = 20 };
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &small, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), TL_EPROTO);
    assert_non_null (strstr (e.msg, "dictionary page of 24 bytes is above the 20-byte cap"));
    tl_pq_col_destroy (&rd);
    /* every truncation of the chunk is an error, never a crash (the last page holds no values) */
    for (size_t cut = 0; cut < last_page; cut++) {
        assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, cut, &opt, &e), 0);
        int rc;
        while ((rc = tl_pq_col_next (rd, 7, &b, &e)) == 0 && b.rows)
            ;
        assert_int_not_equal (rc, 0);
        tl_pq_col_destroy (&rd);
    }
    /* more values than the chunk claims */
    ch.num_values = 30;
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &opt, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), TL_EPROTO);
    tl_pq_col_destroy (&rd);
    /* unsupported codec */
    ch.codec = TL_PQ_LZO;
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &opt, &e), TL_EINVAL);
}

/*  Two columns of different page sizes read row-aligned: required INT32 PLAIN in pages of 7
    rows (uncompressed), required BYTE_ARRAY PLAIN in pages of 10 rows (v2, not compressed). */
static void
test_column_aligned (void **state)
{
    (void) state;
    static buf_t a, s, body;
    a.n = s.n = 0;
    for (int p = 0; p < 5; p++) {                   /* 35 rows */
        int32_t v [7];
        for (int i = 0; i < 7; i++) v [i] = p * 7 + i;
        b_page (&a, TL_PQ_DATA_PAGE, (uint8_t *) v, 28, 28, 7, TL_PQ_PLAIN, 0, 0, true, true);
    }
    for (int p = 0; p < 4; p++) {                   /* 35 rows: 10, 10, 10, 5 */
        int n = p < 3 ? 10 : 5;
        body.n = 0;
        for (int i = 0; i < n; i++) {
            char t [16];
            uint32_t l = (uint32_t) snprintf (t, sizeof t, "r%d", p * 10 + i);
            memcpy (body.b + body.n, &l, 4);
            memcpy (body.b + body.n + 4, t, l);
            body.n += 4 + l;
        }
        b_page (&s, TL_PQ_DATA_PAGE_V2, body.b, body.n, body.n, n, TL_PQ_PLAIN, 0, 0, false, false);
    }
    tl_pq_column_t ca, cs;
    tl_pq_chunk_t ha, hs;
    tl_err_t e;
    s_col (&ca, &ha, TL_PQ_INT32, 0, TL_PQ_SNAPPY, 35);     /* v1 stored plainly under SNAPPY? no: */
    ha.codec = TL_PQ_UNCOMPRESSED;
    s_col (&cs, &hs, TL_PQ_BYTE_ARRAY, 0, TL_PQ_ZSTD, 35);  /* v2 is_compressed=false under ZSTD */
    tl_pq_col_t *ra, *rs;
    tl_pq_col_opts_t vo = { .mode = TL_PQ_VALUES };
    assert_int_equal (tl_pq_col_new (&ra, &ca, &ha, 0, a.b, a.n, &vo, &e), 0);
    assert_int_equal (tl_pq_col_new (&rs, &cs, &hs, 0, s.b, s.n, &vo, &e), 0);
    int row = 0, batches = 0;
    for (;;) {
        size_t ka, ks;
        assert_int_equal (tl_pq_col_ready (ra, &ka, &e), 0);
        assert_int_equal (tl_pq_col_ready (rs, &ks, &e), 0);
        size_t k = ka < ks ? ka : ks;
        if (k == 0) {
            assert_int_equal (ka, ks);
            break;
        }
        tl_pq_batch_t ba, bs;
        assert_int_equal (tl_pq_col_next (ra, k, &ba, &e), 0);
        assert_int_equal (tl_pq_col_next (rs, k, &bs, &e), 0);
        assert_int_equal (ba.rows, k);
        assert_int_equal (bs.rows, k);
        for (size_t i = 0; i < k; i++, row++) {
            char t [16];
            int l = snprintf (t, sizeof t, "r%d", ba.vals.i32 [i]);
            assert_int_equal (ba.vals.i32 [i], row);
            assert_int_equal (bs.vals.ba [i].len, l);
            assert_memory_equal (bs.vals.ba [i].p, t, (size_t) l);
        }
        batches++;
    }
    assert_int_equal (row, 35);
    assert_int_equal (batches, 8);                  /* cuts at 7,10,14,20,21,28,30,35 */
    tl_pq_col_destroy (&ra);
    tl_pq_col_destroy (&rs);
}

/*  PLAIN booleans, RLE booleans (v1 and v2), and an OPTIONAL BYTE_ARRAY column with nulls
    interleaved (bit-packed definition levels) under DELTA_LENGTH_BYTE_ARRAY. */
static void
test_column_plain_types (void **state)
{
    (void) state;
    static buf_t o, body, lv;
    tl_pq_column_t col;
    tl_pq_chunk_t ch;
    tl_err_t e;
    tl_pq_col_t *rd;
    tl_pq_batch_t b;
    tl_pq_col_opts_t vo = { .mode = TL_PQ_VALUES };
    /* booleans: page 1 PLAIN (10 values: 1,0,1,1,0,0,0,1,1,1), page 2 RLE (RLE 1 x 6) */
    o.n = 0;
    const uint8_t plain [] = { 0x8d, 0x03 };
    b_page (&o, TL_PQ_DATA_PAGE, plain, 2, 2, 10, TL_PQ_PLAIN, 0, 0, false, true);
    body.n = 4;
    b_rle_run (&body, 1, 6, 1);
    uint32_t rl = (uint32_t) body.n - 4;
    memcpy (body.b, &rl, 4);
    b_page (&o, TL_PQ_DATA_PAGE, body.b, body.n, body.n, 6, TL_PQ_RLE, 0, 0, false, true);
    s_col (&col, &ch, TL_PQ_BOOLEAN, 0, TL_PQ_UNCOMPRESSED, 16);
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &vo, &e), 0);
    const uint8_t want [] = { 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), 0);
    assert_int_equal (b.rows, 10);
    assert_memory_equal (b.vals.fixed, want, 10);
    assert_int_equal (tl_pq_col_next (rd, 100, &b, &e), 0);
    assert_int_equal (b.rows, 6);
    assert_memory_equal (b.vals.fixed, want + 10, 6);
    tl_pq_col_destroy (&rd);
    /* OPTIONAL strings: 16 rows, valid pattern from bit-packed levels, values DLBA */
    uint32_t defs [16] = { 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1 };
    lv.n = 0;
    b_bp_run (&lv, defs, 2, 1);
    body.n = 0;
    uint32_t l32 = (uint32_t) lv.n;
    memcpy (body.b, &l32, 4);
    memcpy (body.b + 4, lv.b, lv.n);
    body.n = 4 + lv.n;
    int64_t lens [10];
    char data [64];
    size_t dn = 0;
    for (int i = 0; i < 10; i++) {
        lens [i] = i % 3;
        for (int k = 0; k < i % 3; k++) data [dn++] = (char) ('a' + i);
    }
    b_delta (&body, lens, 10, 128, 4);
    memcpy (body.b + body.n, data, dn);
    body.n += dn;
    o.n = 0;
    static uint8_t gz [4096];
    uLongf gl = sizeof gz;
    /* GZIP the body (compress2 makes zlib format, so use deflateInit2 for gzip) */
    z_stream z;
    memset (&z, 0, sizeof z);
    deflateInit2 (&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = body.b; z.avail_in = (uInt) body.n; z.next_out = gz; z.avail_out = (uInt) gl;
    assert_int_equal (deflate (&z, Z_FINISH), Z_STREAM_END);
    gl = z.total_out;
    deflateEnd (&z);
    b_page (&o, TL_PQ_DATA_PAGE, gz, gl, body.n, 16, TL_PQ_DELTA_LENGTH_BYTE_ARRAY, 0, 0, true, true);
    s_col (&col, &ch, TL_PQ_BYTE_ARRAY, 1, TL_PQ_GZIP, 16);
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &vo, &e), 0);
    int vi = 0;
    for (int row = 0; row < 16;) {
        assert_int_equal (tl_pq_col_next (rd, 5, &b, &e), 0);
        assert_true (b.rows > 0);
        for (size_t i = 0; i < b.rows; i++, row++) {
            assert_int_equal (b.valid ? b.valid [i] : 1, defs [row]);
            if (!defs [row]) {
                assert_int_equal (b.vals.ba [i].len, 0);
                continue;
            }
            assert_int_equal (b.vals.ba [i].len, vi % 3);
            for (int k = 0; k < vi % 3; k++) assert_int_equal (b.vals.ba [i].p [k], 'a' + vi);
            vi++;
        }
    }
    assert_int_equal (vi, 10);
    assert_int_equal (tl_pq_col_next (rd, 5, &b, &e), 0);
    assert_int_equal (b.rows, 0);
    tl_pq_col_destroy (&rd);
}

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

/*  tl_pq_col_next_unordered against tl_pq_col_next (VALUES) on an OPTIONAL INT64 chunk,
    uncompressed: a dictionary page of 100 rows with nulls interleaved (bit-packed levels) and
    indices in RLE and bit-packed runs, a PLAIN page of 100 rows with nulls interleaved, and a
    PLAIN page of 30 nulls. Each unordered batch has the same rows, nulls and multiset of values
    as the ordered one; the null rows come first as one run, literal indices are never null, and
    PLAIN values keep their order and are lent from the chunk itself. */
static void
test_column_unordered (void **state)
{
    (void) state;
    static buf_t o, body, lv;
    uint32_t defs [2][104];
    uint64_t x = 99;
    size_t nn [2] = { 0, 0 };
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 104; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            defs [p][i] = i < 100 && (x >> 60) != 0;       /* 1 in 16 null */
            nn [p] += defs [p][i];
        }
    o.n = 0;
    int64_t dict [] = { 10, 20, 30, 40 };
    b_page (&o, TL_PQ_DICTIONARY_PAGE, (const uint8_t *) dict, 32, 32, 4, TL_PQ_PLAIN_DICTIONARY, 0, 0, false, true);
    /* page 1: levels, then indices: RLE 3 x 20, bit-packed 0..3 for the rest (padded) */
    lv.n = 0;
    b_bp_run (&lv, defs [0], 13, 1);
    uint32_t l32 = (uint32_t) lv.n;
    body.n = 0;
    memcpy (body.b, &l32, 4);
    memcpy (body.b + 4, lv.b, lv.n);
    body.n = 4 + lv.n;
    body.b [body.n++] = 2;
    b_rle_run (&body, 3, 20, 2);
    uint32_t lits [104];
    size_t groups = (nn [0] - 20 + 7) / 8;
    for (size_t i = 0; i < groups * 8; i++)
        lits [i] = (uint32_t) (i * 7 % 4);
    b_bp_run (&body, lits, groups, 2);
    b_page (&o, TL_PQ_DATA_PAGE, body.b, body.n, body.n, 100, TL_PQ_RLE_DICTIONARY, 0, 0, false, true);
    /* page 2: levels, then nn [1] PLAIN values */
    lv.n = 0;
    b_bp_run (&lv, defs [1], 13, 1);
    l32 = (uint32_t) lv.n;
    body.n = 0;
    memcpy (body.b, &l32, 4);
    memcpy (body.b + 4, lv.b, lv.n);
    body.n = 4 + lv.n;
    for (size_t i = 0; i < nn [1]; i++) {
        int64_t v = (int64_t) (i * 1000003 % 777) - 300;
        memcpy (body.b + body.n, &v, 8);
        body.n += 8;
    }
    b_page (&o, TL_PQ_DATA_PAGE, body.b, body.n, body.n, 100, TL_PQ_PLAIN, 0, 0, false, true);
    /* page 3: 30 nulls */
    lv.n = 0;
    b_rle_run (&lv, 0, 30, 1);
    l32 = (uint32_t) lv.n;
    memcpy (body.b, &l32, 4);
    memcpy (body.b + 4, lv.b, lv.n);
    b_page (&o, TL_PQ_DATA_PAGE, body.b, 4 + lv.n, 4 + lv.n, 30, TL_PQ_PLAIN, 0, 0, false, true);
    tl_pq_column_t col;
    tl_pq_chunk_t ch;
    tl_err_t e;
    s_col (&col, &ch, TL_PQ_INT64, 1, TL_PQ_UNCOMPRESSED, 230);
    /* the rows in order, as the ordered reader gives them */
    int64_t want [230];
    uint8_t valid [230];
    tl_pq_col_opts_t vo = { .mode = TL_PQ_VALUES };
    tl_pq_col_t *rd;
    tl_pq_batch_t b;
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &vo, &e), 0);
    size_t rows = 0;
    while (tl_pq_col_next (rd, 1000, &b, &e) == 0 && b.rows)
        for (size_t i = 0; i < b.rows; i++, rows++) {
            want [rows] = b.vals.i64 [i];
            valid [rows] = b.valid ? b.valid [i] : 1;
        }
    assert_int_equal (rows, 230);
    tl_pq_col_destroy (&rd);
    for (int mode = 0; mode < 3; mode++)
        for (size_t step = 1; step <= 300; step = step * 3 + 2) {
            tl_pq_col_opts_t opt = { .mode = mode };
            assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &opt, &e), 0);
            size_t row = 0, pages [3] = { 0, 0, 0 };
            while (tl_pq_col_next_unordered (rd, step, &b, &e) == 0 && b.rows) {
                int64_t got [300], exp [300];
                size_t ng = 0, ne = 0, nulls = 0;
                assert_true (b.rows <= step);
                for (size_t i = row; i < row + b.rows; i++) {
                    if (valid [i])
                        exp [ne++] = want [i];
                    nulls += !valid [i];
                }
                assert_int_equal (b.nulls, nulls);
                if (b.kind == TL_PQ_BATCH_RUNS) {
                    pages [0]++;
                    const uint32_t *lit = b.idx;
                    size_t seen = 0;
                    for (size_t r = 0; r < b.nruns; r++) {
                        uint32_t ix = b.runs [r].index;
                        seen += b.runs [r].len;
                        if (ix == TL_PQ_NULL_INDEX) {
                            assert_int_equal (r, 0);
                            assert_int_equal (b.runs [r].len, nulls);
                            continue;
                        }
                        for (uint32_t j = 0; j < b.runs [r].len; j++) {
                            uint32_t k = ix == TL_PQ_LIT_INDEX ? *lit++ : ix;
                            assert_true (k < 4);
                            got [ng++] = dict [k];
                        }
                    }
                    assert_int_equal (seen, b.rows);
                } else {
                    assert_int_equal (b.kind, TL_PQ_BATCH_DENSE);
                    pages [b.vals.n ? 1 : 2]++;
                    assert_int_equal (b.vals.n, b.rows - nulls);
                    assert_int_equal (b.vals.width, 8);
                    if (b.vals.n)
                        assert_true (b.raw > o.b && b.raw + b.vals.n * 8 <= o.b + o.n);    /* lent */
                    for (size_t i = 0; i < b.vals.n; i++)
                        memcpy (&got [ng++], b.raw + i * 8, 8);
                    assert_memory_equal (got, exp, ng * 8);                             /* in order */
                }
                assert_int_equal (ng, ne);
                qsort (got, ng, 8, s_cmp_i64);
                qsort (exp, ne, 8, s_cmp_i64);
                assert_memory_equal (got, exp, ng * 8);
                row += b.rows;
            }
            assert_int_equal (row, 230);
            assert_true (pages [0] && pages [1] && pages [2]);
            assert_int_equal (tl_pq_col_rows_read (rd), 230);
            tl_pq_col_destroy (&rd);
        }
    /* a level above the maximum is an error, as in the ordered reader (max 2: two bits a level) */
    s_col (&col, &ch, TL_PQ_INT64, 2, TL_PQ_UNCOMPRESSED, 18);
    o.n = 0;
    lv.n = 0;
    b_rle_run (&lv, 2, 10, 2);
    uint32_t three [8] = { 2, 2, 3, 2, 2, 2, 2, 2 };
    b_bp_run (&lv, three, 1, 2);
    l32 = (uint32_t) lv.n;
    memcpy (body.b, &l32, 4);
    memcpy (body.b + 4, lv.b, lv.n);
    body.n = 4 + lv.n + 18 * 8;
    b_page (&o, TL_PQ_DATA_PAGE, body.b, body.n, body.n, 18, TL_PQ_PLAIN, 0, 0, false, true);
    assert_int_equal (tl_pq_col_new (&rd, &col, &ch, 0, o.b, o.n, &vo, &e), 0);
    assert_int_equal (tl_pq_col_next_unordered (rd, 100, &b, &e), TL_EPROTO);
    assert_non_null (strstr (e.msg, "definition level above the column's maximum 2"));
    tl_pq_col_destroy (&rd);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_thrift), cmocka_unit_test (test_meta), cmocka_unit_test (test_rle),
        cmocka_unit_test (test_delta), cmocka_unit_test (test_delta_bytes), cmocka_unit_test (test_byte_stream_split),
        cmocka_unit_test (test_codecs), cmocka_unit_test (test_column_modes), cmocka_unit_test (test_column_errors),
        cmocka_unit_test (test_column_aligned), cmocka_unit_test (test_column_plain_types),
        cmocka_unit_test (test_column_unordered),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
