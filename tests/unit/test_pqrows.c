/*  The typed query path (lib/core/pqrows.c) against the text rule: random files made by
    tally's writer (integers past 2^53, doubles with NaN, inf, -0, subnormals and huge
    integral values, timestamps before 1970, strings that are and are not numbers, NULLs;
    plain, dictionary and fallback pages; several row groups) are counted through pqcount, and
    the same rows are fed to tl_query_row as texts this test makes by itself (printf, strtod
    and gmtime, not value.c). Counts, bad and filtered rows, and every cell (n, bad, sum, min,
    max) must be equal, the sums exactly: both add in row order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/core/pqcount.h"
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/write.h"

#define NROWS 6000
#define NCOLS 6

typedef struct {
    int64_t i;
    double d;
    bool d_null;
    int64_t ts;
    bool ts_null;
    char s [16];
    int32_t k;
    bool k_null;
    int64_t big;
} s_row_t;

static uint64_t s_seed = 88172645463325252ULL;
static uint64_t
s_rand (void)
{
    s_seed ^= s_seed << 13;
    s_seed ^= s_seed >> 7;
    s_seed ^= s_seed << 17;
    return s_seed;
}

static double
s_double (void)
{
    static const double odd [] = { NAN, INFINITY, -INFINITY, -0.0, 0.0, 0.1, 2.5, 1e20, -1e20, 4.9e-324,
                                   1e18, 9007199254740993.0, 3.0, -7.0, 12.30, 1.0 / 3 };
    uint64_t r = s_rand ();
    if (r % 4 == 0)
        return odd [(r >> 8) % (sizeof odd / sizeof *odd)];
    return (double) ((int64_t) (r >> 20) % 2000 - 1000) / 8.0;     /* a few hundred values, runs likely */
}

static void
s_rows (s_row_t *rows)
{
    static const char *strs [] = { "3", "2.5", "abc", "", " 7 ", "-0", "1e3", "nan", "0x10", "name" };
    int64_t t = -2208988800LL * 1000000;       /* 1900-01-01 in microseconds */
    for (int r = 0; r < NROWS; r++) {
        s_row_t *x = &rows [r];
        uint64_t u = s_rand ();
        x->i = (int64_t) (u % 5) - 2;
        if (u % 97 == 0)
            x->i = (int64_t) (s_rand () >> 1) * ((u & 1) ? 1 : -1);   /* past 2^53 */
        x->d = s_double ();
        x->d_null = s_rand () % 17 == 0;
        t += (int64_t) (s_rand () % 5000000000ULL) * 1000;           /* ~ 0-58 days ahead, whole ms */
        if (r % 1000 == 500)
            t += 1000000000000000LL / 40;                            /* a jump of ~ 790 years */
        x->ts = t + (r % 3 == 0 ? (int64_t) (s_rand () % 1000) : 0);  /* some with a sub-ms fraction */
        x->ts_null = s_rand () % 23 == 0;
        snprintf (x->s, sizeof x->s, "%s", strs [s_rand () % 10]);
        x->k = (int32_t) (s_rand () % 9);
        x->k_null = s_rand () % 11 == 0;
        x->big = (int64_t) (s_rand () % 300);
    }
}

static uint8_t *
s_file (const s_row_t *rows, size_t *len, tl_pq_wcodec_t codec, int variant)
{
    tl_pq_wencoding_t e1 = variant == 0 ? TL_PQW_PLAIN : variant == 1 ? TL_PQW_DICT : TL_PQW_DICT_FALLBACK;
    tl_pq_wencoding_t e2 = variant == 0 ? TL_PQW_DICT_FALLBACK : TL_PQW_PLAIN;
    tl_pq_wcol_t cols [NCOLS] = {
        { .name = "i", .type = TL_PQW_INT64, .encoding = e1 },
        { .name = "d", .type = TL_PQW_DOUBLE, .optional = true, .encoding = e2 },
        { .name = "ts", .type = TL_PQW_INT64, .logical = TL_PQW_TIMESTAMP_US, .optional = true, .encoding = e1 },
        { .name = "s", .type = TL_PQW_BYTE_ARRAY, .logical = TL_PQW_STRING, .encoding = e1 },
        { .name = "k", .type = TL_PQW_INT32, .optional = true, .encoding = e2 },
        { .name = "big", .type = TL_PQW_INT64, .encoding = TL_PQW_DICT_FALLBACK },
    };
    tl_pq_wopts_t o = { .codec = codec, .page_size = 700, .dict_max = 100 };
    tl_pq_writer_t *w = tl_pq_writer_new (cols, NCOLS, &o, NULL);
    assert_non_null (w);
    for (int r = 0; r < NROWS; r++) {
        const s_row_t *x = &rows [r];
        assert_int_equal (tl_pq_writer_add_i64 (w, 0, x->i), 0);
        assert_int_equal (x->d_null ? tl_pq_writer_add_null (w, 1) : tl_pq_writer_add_f64 (w, 1, x->d), 0);
        assert_int_equal (x->ts_null ? tl_pq_writer_add_null (w, 2) : tl_pq_writer_add_i64 (w, 2, x->ts), 0);
        assert_int_equal (tl_pq_writer_add_bytes (w, 3, x->s, strlen (x->s)), 0);
        assert_int_equal (x->k_null ? tl_pq_writer_add_null (w, 4) : tl_pq_writer_add_i32 (w, 4, x->k), 0);
        assert_int_equal (tl_pq_writer_add_i64 (w, 5, x->big), 0);
        if (r % 2500 == 2499)
            assert_int_equal (tl_pq_writer_end_row_group (w), 0);
    }
    uint8_t *buf;
    assert_int_equal (tl_pq_writer_finish (w, &buf, len), 0);
    tl_pq_writer_destroy (&w);
    return buf;
}

/* ---------------------------------------------------------------- the texts, made here */

static void
s_text_double (double d, char *out)
{
    if (isnan (d)) { strcpy (out, "nan"); return; }
    if (isinf (d)) { strcpy (out, d < 0 ? "-inf" : "inf"); return; }
    if (d == floor (d) && fabs (d) < 9223372036854775808.0) {
        sprintf (out, "%lld", (long long) d);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        sprintf (out, "%.*g", p, d);
        if (strtod (out, NULL) == d)
            return;
    }
}

static void
s_text_ts (int64_t us, char *out)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    time_t t = (time_t) secs;
    struct tm tm;
    gmtime_r (&t, &tm);
    size_t n = strftime (out, 64, "%Y-%m-%d %H:%M:%S", &tm);
    if (frac) {
        n += (size_t) sprintf (out + n, ".%06lld", (long long) frac);
        while (out [n - 1] == '0')
            out [--n] = 0;
    }
}

static tl_agg_t *
s_brute (const s_row_t *rows, const char *query, tl_qstats_t *qs)
{
    tl_query_t q;
    tl_err_t e;
    assert_int_equal (tl_query_parse (query, &q, &e), 0);
    const char *hdr = "i,d,ts,s,k,big";
    assert_int_equal (tl_query_resolve (&q, hdr, strlen (hdr), &e), 0);
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) q.nvals);
    memset (qs, 0, sizeof *qs);
    for (int r = 0; r < NROWS; r++) {
        const s_row_t *x = &rows [r];
        char b [NCOLS][64];
        sprintf (b [0], "%lld", (long long) x->i);
        s_text_double (x->d, b [1]);
        s_text_ts (x->ts, b [2]);
        strcpy (b [3], x->s);
        sprintf (b [4], "%d", x->k);
        sprintf (b [5], "%lld", (long long) x->big);
        if (x->d_null) b [1][0] = 0;
        if (x->ts_null) b [2][0] = 0;
        if (x->k_null) b [4][0] = 0;
        tl_field_t f [NCOLS];
        for (int c = 0; c < NCOLS; c++)
            f [c] = (tl_field_t) { b [c], strlen (b [c]) };
        tl_query_row (&q, f, NCOLS, agg, qs);
    }
    return agg;
}

static tl_agg_t *
s_count (const uint8_t *f, size_t n, const char *query, tl_qstats_t *qs)
{
    uint32_t mlen;
    tl_err_t e;
    tl_pq_meta_t *m = NULL;
    assert_int_equal (tl_pq_footer_len (f, n, &mlen, &e), 0);
    assert_int_equal (tl_pq_meta_parse (f + n - 8 - mlen, mlen, &m, &e), 0);
    tl_pqquery_t pq;
    assert_int_equal (tl_pqquery_resolve (&pq, query, m, &e), 0);
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) pq.q.nvals);
    tl_pqcount_t *c = tl_pqcount_new (&pq, m, agg, 0);
    assert_non_null (c);
    for (size_t r = 0; r < m->nrgs; r++) {
        const uint8_t *chunks [TL_PQ_MAX_NEEDED];
        size_t lens [TL_PQ_MAX_NEEDED];
        for (int j = 0; j < pq.ncols; j++) {
            uint64_t off, len;
            assert_int_equal (tl_pq_chunk_range (&m->rgs [r].chunks [pq.cols [j]], n, &off, &len, &e), 0);
            chunks [j] = f + off;
            lens [j] = (size_t) len;
        }
        if (tl_pqcount_rowgroup (c, r, chunks, lens, &e))
            fail_msg ("%s: %s", query, e.msg);
    }
    assert_int_equal (tl_pqcount_finish (c, &e), 0);
    tl_pqcount_stats_t st = tl_pqcount_stats (c);
    qs->rows = st.rows;
    qs->bad = st.bad;
    qs->filtered = st.filtered;
    tl_pqcount_destroy (&c);
    tl_pq_meta_destroy (&m);
    return agg;
}

static void
s_same (tl_agg_t *a, tl_agg_t *b, const char *query)
{
    if (tl_agg_size (a) != tl_agg_size (b))
        fail_msg ("%s: %zu groups vs %zu", query, tl_agg_size (a), tl_agg_size (b));
    size_t pos = 0;
    tl_agg_entry_t en;
    while (tl_agg_next (a, &pos, &en)) {
        if (tl_agg_get (b, en.key, en.len) != en.count)
            fail_msg ("%s: group '%.*s': %llu vs %llu", query, (int) en.len, en.key, (unsigned long long) en.count,
                      (unsigned long long) tl_agg_get (b, en.key, en.len));
        int rc;
        tl_cell_t *c = tl_agg_ncells (a) ? tl_agg_upsert (b, en.key, en.len, 0, &rc) : NULL;
        for (unsigned i = 0; c && i < tl_agg_ncells (a); i++) {
            const tl_cell_t *x = &en.cells [i];
            if (c [i].n != x->n || c [i].bad != x->bad || !(c [i].sum == x->sum) || !(c [i].min == x->min)
                || !(c [i].max == x->max) || signbit (c [i].min) != signbit (x->min)
                || signbit (c [i].max) != signbit (x->max))
                fail_msg ("%s: group '%.*s' cell %u: n %llu/%llu bad %llu/%llu sum %.17g/%.17g min %g/%g max %g/%g",
                          query, (int) en.len, en.key, i, (unsigned long long) c [i].n, (unsigned long long) x->n,
                          (unsigned long long) c [i].bad, (unsigned long long) x->bad, c [i].sum, x->sum, c [i].min,
                          x->min, c [i].max, x->max);
        }
    }
}

static void
test_typed_equals_text (void **state)
{
    (void) state;
    static const char *queries [] = {
        "by ts[0:10]\nagg count\nagg sum:d\n",
        "by ts[0:7]\nagg sum:i\nagg min:d\nagg max:d\nwhere d > 0\n",
        "by ts[5:10]\nagg avg:big\nwhere k != 3\n",
        "by ts[0:13]\nwhere s = 3\n",
        "by ts\nwhere ts >= 1950-06\n",
        "by d\nagg sum:s\nagg max:i\n",
        "by i\nby k\nagg sum:d\nwhere d <= 2.5\nwhere i != 0\n",
        "by s\nagg sum:k\nagg min:ts\nwhere d = -0\n",
        "by k\nagg sum:big\nwhere s < 5\n",
        "by big\nwhere d != 3\nwhere d = nan\n",
        "by d[0:2]\nagg sum:d[0:3]\n",
        "by d\nagg min:d\nagg max:d\nagg min:i\n",
        "by k\nagg min:d\nagg max:d\nwhere d = 0\n",
        "by k\nagg max:i\nwhere i > 9007199254740992\n",
        "by s\nwhere d >= -1e20\nwhere ts != \n",
    };
    s_row_t *rows = calloc (NROWS, sizeof *rows);
    s_rows (rows);
    tl_pq_wcodec_t codecs [] = { TL_PQW_UNCOMPRESSED, TL_PQW_ZSTD, TL_PQW_SNAPPY };
    for (int v = 0; v < 3; v++) {
        size_t n;
        uint8_t *f = s_file (rows, &n, codecs [v], v);
        for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
            tl_qstats_t got_st, want_st;
            tl_agg_t *got = s_count (f, n, queries [i], &got_st), *want = s_brute (rows, queries [i], &want_st);
            s_same (got, want, queries [i]);
            s_same (want, got, queries [i]);
            assert_int_equal (got_st.rows, want_st.rows);
            assert_int_equal (got_st.filtered, want_st.filtered);
            assert_int_equal (got_st.bad, want_st.bad);
            assert_true (want_st.rows > 0);
            tl_agg_destroy (&got);
            tl_agg_destroy (&want);
        }
        free (f);
    }
    free (rows);
}

/*  A row group whose footer names another row count than its columns hold is damaged: the plain
    count fails it, and so must the query path (a reader that trusts the footer, DuckDB, counts
    the footer's rows and gives another answer). */
static void
test_footer_rows_disagree (void **state)
{
    (void) state;
    s_row_t *rows = calloc (NROWS, sizeof *rows);
    s_rows (rows);
    size_t n;
    uint8_t *f = s_file (rows, &n, TL_PQW_UNCOMPRESSED, 1);
    static const char *queries [] = { "k", "by k\nagg sum:d\n", "by ts[0:10]\nwhere d > 0\n", "by s\nagg max:i\n" };
    for (int delta = -1; delta <= 1; delta += 2)
        for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
            uint32_t mlen;
            tl_err_t e;
            tl_pq_meta_t *m = NULL;
            assert_int_equal (tl_pq_footer_len (f, n, &mlen, &e), 0);
            assert_int_equal (tl_pq_meta_parse (f + n - 8 - mlen, mlen, &m, &e), 0);
            m->rgs [1].num_rows += delta;
            tl_pqquery_t pq;
            assert_int_equal (tl_pqquery_resolve (&pq, queries [i], m, &e), 0);
            tl_agg_t *agg = tl_agg_new_cells ((unsigned) pq.q.nvals);
            tl_pqcount_t *c = tl_pqcount_new (&pq, m, agg, 0);
            assert_non_null (c);
            int rc = 0;
            for (size_t r = 0; r < m->nrgs && !rc; r++) {
                const uint8_t *chunks [TL_PQ_MAX_NEEDED];
                size_t lens [TL_PQ_MAX_NEEDED];
                for (int j = 0; j < pq.ncols; j++) {
                    uint64_t off, len;
                    assert_int_equal (tl_pq_chunk_range (&m->rgs [r].chunks [pq.cols [j]], n, &off, &len, &e), 0);
                    chunks [j] = f + off;
                    lens [j] = (size_t) len;
                }
                rc = tl_pqcount_rowgroup (c, r, chunks, lens, &e);
            }
            if (rc == 0)
                fail_msg ("%s: row group 1 holds one row %s than its footer says, and was counted", queries [i],
                          delta < 0 ? "more" : "less");
            assert_non_null (strstr (e.msg, "the footer says"));
            tl_pqcount_destroy (&c);
            tl_agg_destroy (&agg);
            tl_pq_meta_destroy (&m);
        }
    free (f);
    free (rows);
}

int
main (void)
{
    const struct CMUnitTest tests [] = { cmocka_unit_test (test_typed_equals_text),
                                         cmocka_unit_test (test_footer_rows_disagree) };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
