/*  The pure half of Parquet tasks (lib/core/pqtask.c) and the format seam (lib/core/format.c),
    on files made by tally's writer, checked against a brute force over the values written:
    planning partitions every object and gives each row group to exactly one task; plain and
    query counts equal tl_query_row fed the values' texts by hand; a row group is skipped by its
    statistics only when no row of it passes; NULL passes a filter exactly when tl_query_row
    lets an empty field pass. Also the brace ranges and URI lists of lib/store/expand.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/core/format.h"
#include "lib/core/pqcount.h"
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/write.h"
#include "lib/store/expand.h"

#define NRG 10
#define RGROWS 1000

/*  Row r's values: id = r (INT64), k = r % 7 or NULL every 11th (INT32), s = "name<rg>"
    (STRING), x = r * 0.25 or NULL every 13th (DOUBLE). */
static int s_k_null (int r) { return r % 11 == 0; }
static int s_x_null (int r) { return r % 13 == 0; }

static uint8_t *
s_file (size_t *len, tl_pq_wcodec_t codec)
{
    tl_pq_wcol_t cols [] = {
        { .name = "id", .type = TL_PQW_INT64, .encoding = TL_PQW_PLAIN },
        { .name = "Passenger_Count", .type = TL_PQW_INT32, .optional = true, .encoding = TL_PQW_DICT },
        { .name = "s", .type = TL_PQW_BYTE_ARRAY, .logical = TL_PQW_STRING, .encoding = TL_PQW_DICT },
        { .name = "x", .type = TL_PQW_DOUBLE, .optional = true, .encoding = TL_PQW_PLAIN },
        { .name = "odd, name", .type = TL_PQW_INT32, .encoding = TL_PQW_PLAIN },
    };
    tl_pq_wopts_t o = { .codec = codec, .page_size = 512 };
    tl_pq_writer_t *w = tl_pq_writer_new (cols, 5, &o, NULL);
    assert_non_null (w);
    for (int g = 0; g < NRG; g++) {
        for (int i = 0; i < RGROWS; i++) {
            int r = g * RGROWS + i;
            char s [16];
            int n = snprintf (s, sizeof s, "name%d", g);
            assert_int_equal (tl_pq_writer_add_i64 (w, 0, r), 0);
            assert_int_equal (s_k_null (r) ? tl_pq_writer_add_null (w, 1) : tl_pq_writer_add_i32 (w, 1, r % 7), 0);
            assert_int_equal (tl_pq_writer_add_bytes (w, 2, s, (size_t) n), 0);
            assert_int_equal (s_x_null (r) ? tl_pq_writer_add_null (w, 3) : tl_pq_writer_add_f64 (w, 3, r * 0.25), 0);
            assert_int_equal (tl_pq_writer_add_i32 (w, 4, r), 0);
        }
        assert_int_equal (tl_pq_writer_end_row_group (w), 0);
    }
    uint8_t *buf;
    assert_int_equal (tl_pq_writer_finish (w, &buf, len), 0);
    tl_pq_writer_destroy (&w);
    return buf;
}

static tl_pq_meta_t *
s_meta (const uint8_t *f, size_t n)
{
    uint32_t mlen;
    tl_err_t e;
    tl_pq_meta_t *m = NULL;
    assert_int_equal (tl_pq_footer_len (f, n, &mlen, &e), 0);
    assert_int_equal (tl_pq_meta_parse (f + n - 8 - mlen, mlen, &m, &e), 0);
    return m;
}

/*  Row r's fields as text, by leaf index (the brute force). */
static void
s_fields (int r, tl_field_t *f, char bufs [5][64])
{
    snprintf (bufs [0], 64, "%d", r);
    snprintf (bufs [1], 64, "%d", r % 7);
    snprintf (bufs [2], 64, "name%d", r / RGROWS);
    double x = r * 0.25;
    if (x == (double) (long) x)
        snprintf (bufs [3], 64, "%ld", (long) x);
    else
        snprintf (bufs [3], 64, "%.17g", x);
    /* r * 0.25 prints exactly in 2 decimals: use the shortest text */
    if (x != (double) (long) x)
        snprintf (bufs [3], 64, "%.2f", x), bufs [3][strlen (bufs [3]) - (bufs [3][strlen (bufs [3]) - 1] == '0')] = 0;
    snprintf (bufs [4], 64, "%d", r);
    for (int i = 0; i < 5; i++)
        f [i] = (tl_field_t) { bufs [i], strlen (bufs [i]) };
    if (s_k_null (r))
        f [1] = (tl_field_t) { "", 0 };
    if (s_x_null (r))
        f [3] = (tl_field_t) { "", 0 };
}

/*  Count a whole file with pqtask, as work.c does (skips included). */
static tl_agg_t *
s_count (const uint8_t *f, size_t n, const tl_pq_meta_t *m, const char *query, tl_pqcount_stats_t *st)
{
    tl_pqquery_t pq;
    tl_err_t e;
    assert_int_equal (tl_pqquery_resolve (&pq, query, m, &e), 0);
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) pq.q.nvals);
    tl_pqcount_t *c = tl_pqcount_new (&pq, m, agg, 0);
    assert_non_null (c);
    for (size_t r = 0; r < m->nrgs; r++) {
        if (pq.q.nwhere && tl_pqtask_skip (&pq, m, r)) {
            tl_pqcount_skipped (c, r);
            continue;
        }
        const uint8_t *chunks [TL_PQ_MAX_NEEDED];
        size_t lens [TL_PQ_MAX_NEEDED];
        for (int j = 0; j < pq.ncols; j++) {
            uint64_t off, len;
            assert_int_equal (tl_pq_chunk_range (&m->rgs [r].chunks [pq.cols [j]], n, &off, &len, &e), 0);
            chunks [j] = f + off;
            lens [j] = (size_t) len;
        }
        int rc = tl_pqcount_rowgroup (c, r, chunks, lens, &e);
        if (rc)
            fail_msg ("%s", e.msg);
    }
    assert_int_equal (tl_pqcount_finish (c, &e), 0);
    *st = tl_pqcount_stats (c);
    tl_pqcount_destroy (&c);
    return agg;
}

static tl_agg_t *
s_brute (const char *query, tl_qstats_t *qs)
{
    tl_query_t q;
    tl_err_t e;
    assert_int_equal (tl_query_parse (query, &q, &e), 0);
    const char *hdr = "id,Passenger_Count,s,x,";
    assert_int_equal (tl_query_resolve (&q, hdr, strlen (hdr), &e), 0);
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) q.nvals);
    memset (qs, 0, sizeof *qs);
    for (int r = 0; r < NRG * RGROWS; r++) {
        tl_field_t f [5];
        char bufs [5][64];
        s_fields (r, f, bufs);
        tl_query_row (&q, f, 5, agg, qs);
    }
    return agg;
}

static void
s_same (tl_agg_t *a, tl_agg_t *b)
{
    assert_int_equal (tl_agg_size (a), tl_agg_size (b));
    size_t pos = 0;
    tl_agg_entry_t en;
    while (tl_agg_next (a, &pos, &en)) {
        assert_int_equal (tl_agg_get (b, en.key, en.len), en.count);
        int rc;
        if (tl_agg_ncells (a)) {
            tl_cell_t *c = tl_agg_upsert (b, en.key, en.len, 0, &rc);
            for (unsigned i = 0; i < tl_agg_ncells (a); i++) {
                assert_int_equal (c [i].n, en.cells [i].n);
                assert_int_equal (c [i].bad, en.cells [i].bad);
                assert_true (c [i].sum == en.cells [i].sum);
            }
        }
    }
}

static void
test_counts (void **state)
{
    (void) state;
    static const char *queries [] = {
        "passenger_count",                                  /* plain: runs per dictionary index */
        "s",
        "x",                                                /* plain: raw values, texted once */
        "by passenger_count\nby s\nagg count\nagg sum:x\nwhere id >= 4500\n",
        "by s[0:5]\nwhere passenger_count != 3\n",
        "by passenger_count\nwhere x < 1000\nwhere s > name2\n",
        "by x\nwhere x = 12.5\n",
        "by s\nagg max:id\nwhere s = name7\n",
    };
    tl_pq_wcodec_t codecs [] = { TL_PQW_UNCOMPRESSED, TL_PQW_ZSTD, TL_PQW_SNAPPY };
    for (size_t c = 0; c < 3; c++) {
        size_t n;
        uint8_t *f = s_file (&n, codecs [c]);
        tl_pq_meta_t *m = s_meta (f, n);
        for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
            tl_pqcount_stats_t st;
            tl_qstats_t qs;
            tl_agg_t *got = s_count (f, n, m, queries [i], &st), *want = s_brute (queries [i], &qs);
            s_same (got, want);
            s_same (want, got);
            assert_int_equal (st.rows, qs.rows);
            assert_int_equal (st.filtered, qs.filtered);
            if (i == 3)
                assert_int_equal (st.skipped, 4);       /* ids 0..3999 */
            if (i == 7)     /* tally's writer keeps no string bounds (DuckDB's do: test_parquet_skip) */
                assert_int_equal (st.skipped, m->rgs [0].chunks [2].stats.has_min_value ? 9 : 0);
            tl_agg_destroy (&got);
            tl_agg_destroy (&want);
        }
        tl_pq_meta_destroy (&m);
        free (f);
    }
}

/*  Plain pages of fixed-width values, counted by their bits (lib/core/pqcount.c): nulls,
    more distinct values than the small table holds (so some spill to the general table),
    -0.0 and 0.0, NaNs of several payloads, the latter kinds appearing only late, once the
    small table is full, so that texts merge across the two tables. The wanted counts come
    from the values written, texted here by a loop of the test's own. */
#define FX_RG 3
#define FX_ROWS 40000

static double
s_bits_d (uint64_t b)
{
    double d;
    memcpy (&d, &b, 8);
    return d;
}

static float
s_bits_f (uint32_t b)
{
    float f;
    memcpy (&f, &b, 4);
    return f;
}

/*  Row r of each column; false for NULL. */
static bool
s_fx_i32 (int r, int32_t *v)
{
    *v = (int32_t) ((r * 7919) % 50000) - 25000;
    return r % 11 != 0;
}

static bool
s_fx_i64 (int r, int64_t *v)
{
    /* 0x7ff7a3c5e1d2b4f6: the bits pqcount's table marks its free slots with */
    *v = r % 997 == 5 ? INT64_MIN : r % 997 == 6 ? INT64_MAX : r % 997 == 7 ? (int64_t) 0x7ff7a3c5e1d2b4f6LL
       : (int64_t) ((r * 1000003LL) % 45000) + (r % 3) * (1LL << 40);
    return true;                                    /* REQUIRED */
}

static bool
s_fx_f64 (int r, double *v)
{
    static const uint64_t early [] = { 0x0000000000000000ULL, 0x8000000000000000ULL, 0x7ff8000000000000ULL,
                                       0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x3ff0000000000000ULL,
                                       0x3fb999999999999aULL /* 0.1 */, 0x4415af1d78b58c40ULL /* 1e20 */ };
    static const uint64_t late [] = { 0x8000000000000000ULL, 0x7ff8000000000001ULL, 0xfff8000000000000ULL,
                                      0x7ff0000000000001ULL /* signalling */, 0x7ff7a3c5e1d2b4f6ULL /* free slot */ };
    if (r % 17 == 0)
        return false;
    if (r % 50 == 1)
        *v = r >= FX_RG * FX_ROWS * 3 / 4 ? s_bits_d (late [(r / 50) % 5]) : s_bits_d (early [(r / 50) % 8]);
    else
        *v = (r % 40000) * 0.5 - 5000;              /* 40,000 values, 0.0 among them */
    return true;
}

static bool
s_fx_f32 (int r, float *v)
{
    static const uint32_t early [] = { 0x00000000, 0x80000000, 0x7fc00000, 0x7f800000, 0xff800000, 0x3dcccccd /* 0.1 */ };
    static const uint32_t late [] = { 0x80000000, 0x7fc00001, 0xffc00000, 0x7f800001 };
    if (r % 7 == 3)
        return false;
    if (r % 50 == 1)
        *v = r >= FX_RG * FX_ROWS * 3 / 4 ? s_bits_f (late [(r / 50) % 4]) : s_bits_f (early [(r / 50) % 6]);
    else
        *v = (float) (r % 36000) * 0.25f - 100.0f;
    return true;
}

/*  The canonical text, written out here: nan, inf, -inf, integral values below 2^63 as
    integers (-0 as 0), others in the fewest %g digits that read back to the same value. */
static void
s_fx_text (double d, bool single, char *buf)
{
    if (isnan (d))
        strcpy (buf, "nan");
    else if (isinf (d))
        strcpy (buf, d < 0 ? "-inf" : "inf");
    else if (d == floor (d) && fabs (d) < 9223372036854775808.0)
        sprintf (buf, "%lld", (long long) d + 0);  /* -0.0 converts to 0 */
    else
        for (int p = 1; p <= 17; p++) {
            sprintf (buf, "%.*g", p, d);
            if (single ? strtof (buf, NULL) == (float) d : strtod (buf, NULL) == d)
                break;
        }
}

static uint8_t *
s_fx_file (size_t *len, tl_pq_wcodec_t codec)
{
    tl_pq_wcol_t cols [] = {
        { .name = "i", .type = TL_PQW_INT32, .optional = true, .encoding = TL_PQW_PLAIN },
        { .name = "l", .type = TL_PQW_INT64, .encoding = TL_PQW_PLAIN },
        { .name = "d", .type = TL_PQW_DOUBLE, .optional = true, .encoding = TL_PQW_PLAIN },
        { .name = "f", .type = TL_PQW_INT32, .optional = true, .encoding = TL_PQW_PLAIN },  /* read as FLOAT */
    };
    tl_pq_wopts_t o = { .codec = codec, .page_size = 4096 };
    tl_pq_writer_t *w = tl_pq_writer_new (cols, 4, &o, NULL);
    assert_non_null (w);
    for (int r = 0; r < FX_RG * FX_ROWS; r++) {
        int32_t i;
        int64_t l;
        double d;
        float f;
        uint32_t fb;
        assert_int_equal (s_fx_i32 (r, &i) ? tl_pq_writer_add_i32 (w, 0, i) : tl_pq_writer_add_null (w, 0), 0);
        assert_true (s_fx_i64 (r, &l));
        assert_int_equal (tl_pq_writer_add_i64 (w, 1, l), 0);
        assert_int_equal (s_fx_f64 (r, &d) ? tl_pq_writer_add_f64 (w, 2, d) : tl_pq_writer_add_null (w, 2), 0);
        if (s_fx_f32 (r, &f)) {
            memcpy (&fb, &f, 4);
            assert_int_equal (tl_pq_writer_add_i32 (w, 3, (int32_t) fb), 0);
        } else
            assert_int_equal (tl_pq_writer_add_null (w, 3), 0);
        if ((r + 1) % FX_ROWS == 0)
            assert_int_equal (tl_pq_writer_end_row_group (w), 0);
    }
    uint8_t *buf;
    assert_int_equal (tl_pq_writer_finish (w, &buf, len), 0);
    tl_pq_writer_destroy (&w);
    return buf;
}

static void
test_plain_fixed (void **state)
{
    (void) state;
    tl_pq_wcodec_t codecs [] = { TL_PQW_UNCOMPRESSED, TL_PQW_ZSTD };
    for (size_t c = 0; c < 2; c++) {
        size_t n;
        uint8_t *f = s_fx_file (&n, codecs [c]);
        tl_pq_meta_t *m = s_meta (f, n);
        /* the writer has no FLOAT: column f holds FLOAT bits as INT32, and is read as FLOAT */
        m->cols [3].type = TL_PQ_FLOAT;
        for (size_t g = 0; g < m->nrgs; g++)
            m->rgs [g].chunks [3].type = TL_PQ_FLOAT;
        static const char *names [] = { "i", "l", "d", "f" };
        for (int col = 0; col < 4; col++) {
            tl_agg_t *want = tl_agg_new ();
            uint64_t distinct_nan = 0, seen [8] = { 0 };
            for (int r = 0; r < FX_RG * FX_ROWS; r++) {
                char t [64] = "";
                int32_t i;
                int64_t l;
                double d;
                float fl;
                bool ok = col == 0 ? s_fx_i32 (r, &i) : col == 1 ? s_fx_i64 (r, &l) : col == 2 ? s_fx_f64 (r, &d) : s_fx_f32 (r, &fl);
                if (ok && col == 0)
                    sprintf (t, "%d", i);
                else if (ok && col == 1)
                    sprintf (t, "%lld", (long long) l);
                else if (ok && col == 2)
                    s_fx_text (d, false, t);
                else if (ok)
                    s_fx_text (fl, true, t);
                if (ok && col >= 2 && !strcmp (t, "nan")) {
                    uint64_t b = 0;
                    memcpy (&b, col == 2 ? (void *) &d : (void *) &fl, col == 2 ? 8 : 4);
                    size_t k = 0;
                    while (k < distinct_nan && seen [k] != b)
                        k++;
                    if (k == distinct_nan && k < 8)
                        seen [distinct_nan++] = b;
                }
                assert_int_equal (tl_agg_add (want, t, strlen (t), 1), 0);
            }
            if (col >= 2) {
                assert_true (distinct_nan >= 3);            /* the data is what this test says it is */
                assert_true (tl_agg_get (want, "nan", 3) > 0);
                assert_true (tl_agg_get (want, "0", 1) > 0);
            }
            if (col != 1)
                assert_true (tl_agg_size (want) > 32768 + 1);   /* more than the small table holds */
            tl_pqcount_stats_t st;
            tl_agg_t *got = s_count (f, n, m, names [col], &st);
            s_same (got, want);
            s_same (want, got);
            assert_int_equal (st.rows, FX_RG * FX_ROWS);
            assert_int_equal (st.bad, 0);
            tl_agg_destroy (&got);
            tl_agg_destroy (&want);
        }
        tl_pq_meta_destroy (&m);
        free (f);
    }
}

/*  Every where against every row group: a skip must be right, and the easy ones must happen. */
static void
test_skip_exact (void **state)
{
    (void) state;
    size_t n;
    uint8_t *f = s_file (&n, TL_PQW_ZSTD);
    tl_pq_meta_t *m = s_meta (f, n);
    static const char *ops [] = { "=", "!=", "<", "<=", ">", ">=" };
    static const char *lits [] = { "0", "3", "6", "7", "-1", "999", "1000", "4500", "9999", "10000", "1e3", "2.5",
                                   "name3", "name", "nameZ", "''", "abc" };
    static const char *cols [] = { "id", "passenger_count", "s", "x" };
    int skipped = 0;
    for (size_t c = 0; c < 4; c++)
        for (size_t o = 0; o < 6; o++)
            for (size_t l = 0; l < sizeof lits / sizeof *lits; l++) {
                char qt [128];
                snprintf (qt, sizeof qt, "by id\nwhere %s %s %s\n", cols [c], ops [o], lits [l]);
                tl_pqquery_t pq;
                tl_err_t e;
                assert_int_equal (tl_pqquery_resolve (&pq, qt, m, &e), 0);
                tl_agg_t *scratch = tl_agg_new ();
                for (size_t r = 0; r < m->nrgs; r++) {
                    if (!tl_pqtask_skip (&pq, m, r))
                        continue;
                    skipped++;
                    tl_qstats_t qs = { 0 };
                    for (int i = 0; i < RGROWS; i++) {
                        tl_field_t fl [5];
                        char bufs [5][64];
                        s_fields ((int) r * RGROWS + i, fl, bufs);
                        tl_query_row (&pq.q, fl, 5, scratch, &qs);
                    }
                    if (qs.rows)
                        fail_msg ("'%s' skipped row group %zu, where %llu rows pass", qt, r, (unsigned long long) qs.rows);
                }
                tl_agg_destroy (&scratch);
            }
    assert_true (skipped > 200);
    tl_pq_meta_destroy (&m);
    free (f);
}

static void
test_null_passes (void **state)
{
    (void) state;
    static const char *ops [] = { "=", "!=", "<", "<=", ">", ">=" };
    static const char *lits [] = { "3", "0", "-2.5", "''", "abc", "\"\"", "1e3", " x " };
    for (size_t o = 0; o < 6; o++)
        for (size_t l = 0; l < sizeof lits / sizeof *lits; l++) {
            char qt [128];
            snprintf (qt, sizeof qt, "by a\nwhere a %s %s\n", ops [o], lits [l]);
            tl_query_t q;
            tl_err_t e;
            assert_int_equal (tl_query_parse (qt, &q, &e), 0);
            assert_int_equal (tl_query_resolve (&q, "a", 1, &e), 0);
            tl_agg_t *agg = tl_agg_new ();
            tl_qstats_t qs = { 0 };
            tl_field_t f = { "", 0 };
            tl_query_row (&q, &f, 1, agg, &qs);
            if ((qs.rows == 1) != tl_pqtask_null_passes (&q.where [0]))
                fail_msg ("'%s': tl_query_row says %d, null_passes %d", qt, (int) qs.rows,
                          (int) tl_pqtask_null_passes (&q.where [0]));
            tl_agg_destroy (&agg);
        }
}

static void
test_plan (void **state)
{
    (void) state;
    size_t n;
    uint8_t *f = s_file (&n, TL_PQW_SNAPPY);
    tl_pq_meta_t *m = s_meta (f, n);
    tl_pqquery_t pq;
    tl_err_t e;
    assert_int_equal (tl_pqquery_resolve (&pq, "by s\nagg sum:x\n", m, &e), 0);
    for (uint64_t split = 0; split < 40000; split += 1500) {
        tl_pqrange_t *r;
        size_t k;
        assert_int_equal (tl_pqtask_plan (m, n, &pq, split, &r, &k, &e), 0);
        assert_int_equal (r [0].offset, 0);
        assert_int_equal (r [k - 1].offset + r [k - 1].length, n);
        for (size_t i = 1; i < k; i++)
            assert_int_equal (r [i].offset, r [i - 1].offset + r [i - 1].length);
        if (split == 0)
            assert_int_equal (k, 1);
        if (split == 1500)
            assert_int_equal (k, NRG);          /* every row group needs more than 1500 bytes */
        for (size_t g = 0; g < m->nrgs; g++) {
            uint64_t start, bytes;
            assert_int_equal (tl_pqtask_rg_span (m, n, &pq, g, &start, &bytes, &e), 0);
            int owners = 0;
            for (size_t i = 0; i < k; i++)
                owners += tl_pqtask_owns (r [i].offset, r [i].length, start);
            assert_int_equal (owners, 1);
        }
        free (r);
    }
    /* Names: case-insensitive, a comma in a name cannot be named, numbers still count. */
    assert_int_equal (tl_pqquery_resolve (&pq, "PASSENGER_COUNT", m, &e), 0);
    assert_int_equal (pq.cols [0], 1);
    assert_int_equal (tl_pqquery_resolve (&pq, "5", m, &e), 0);
    assert_int_equal (pq.cols [0], 4);
    assert_int_equal (tl_pqquery_resolve (&pq, "6", m, &e), TL_ECOLUMN);
    assert_int_equal (tl_pqquery_resolve (&pq, "nope", m, &e), TL_ECOLUMN);
    assert_non_null (strstr (e.msg, "'nope'"));
    /* The format seam: probe and plan through the vtable. */
    tl_format_probe_t p = { .uri = "x.parquet", .size = n, .head = f, .nhead = 4, .tail = f, .ntail = n };
    assert_ptr_equal (tl_format_detect (&p), &tl_format_parquet);
    tl_format_task_t *t;
    size_t nt;
    char note [256];
    tl_format_plan_opts_t po = { .split = 1500, .query = "s" };
    assert_int_equal (tl_format_parquet.plan (&p, &po, &t, &nt, note, sizeof note), 0);
    assert_true (nt >= 1 && !t [0].splittable);
    free (t);
    p.head = (const uint8_t *) "a,b\n";
    assert_ptr_equal (tl_format_detect (&p), &tl_format_csv);
    /* A footer that does not parse: one task of the whole object, and a note saying why. */
    uint8_t bad [64] = "PAR1";
    memcpy (bad + 52, "\x05\0\0\0PAR1", 8);
    tl_format_probe_t pb = { .uri = "b", .size = 60, .head = bad, .nhead = 4, .tail = bad, .ntail = 60 };
    assert_int_equal (tl_format_parquet.plan (&pb, &po, &t, &nt, note, sizeof note), 0);
    assert_int_equal (nt, 1);
    assert_int_equal (t [0].length, 60);
    assert_true (*note);
    free (t);
    tl_pq_meta_destroy (&m);
    free (f);
}

static void
test_expand (void **state)
{
    (void) state;
    char **v;
    size_t n;
    tl_err_t e;
    assert_int_equal (tl_expand ("y_{2009..2011}-{01..12}.parquet", 0, &v, &n, &e), 0);
    assert_int_equal (n, 36);
    assert_string_equal (v [0], "y_2009-01.parquet");
    assert_string_equal (v [1], "y_2009-02.parquet");
    assert_string_equal (v [35], "y_2011-12.parquet");
    tl_expand_free (v, n);
    assert_int_equal (tl_expand ("{3..1}{a,b}", 0, &v, &n, &e), 0);
    assert_int_equal (n, 6);
    assert_string_equal (v [0], "3a");
    assert_string_equal (v [5], "1b");
    tl_expand_free (v, n);
    assert_int_equal (tl_expand ("{8..010}", 0, &v, &n, &e), 0);
    assert_int_equal (n, 3);
    assert_string_equal (v [0], "008");
    tl_expand_free (v, n);
    assert_int_equal (tl_expand ("plain{}{x}{a..b}.csv", 0, &v, &n, &e), 0);
    assert_int_equal (n, 1);
    assert_string_equal (v [0], "plain{}{x}{a..b}.csv");
    tl_expand_free (v, n);
    assert_int_equal (tl_expand ("{1..1000}{1..1000}", 0, &v, &n, &e), TL_EFULL);
    assert_non_null (strstr (e.msg, "more than 100000"));
    assert_int_equal (tl_expand ("{1..50}", 10, &v, &n, &e), TL_EFULL);
    const char *text = "# c\n\n  a \nb\r\n#d\n   \nc";
    v = NULL;
    n = 0;
    assert_int_equal (tl_expand_lines (text, strlen (text), &v, &n, &e), 0);
    assert_int_equal (n, 3);
    assert_string_equal (v [0], "a");
    assert_string_equal (v [1], "b");
    assert_string_equal (v [2], "c");
    tl_expand_free (v, n);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_counts),     cmocka_unit_test (test_skip_exact), cmocka_unit_test (test_null_passes),
        cmocka_unit_test (test_plan),       cmocka_unit_test (test_expand),     cmocka_unit_test (test_plain_fixed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
