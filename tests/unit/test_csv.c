/*  The CSV scanner: the TLC quirks, chunk boundaries, and the line rule over byte ranges
    (a property test: for random files and random cut points, the ranges sum to the whole). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/core/csv.h"

static int g_impl = TL_CSV_SCALAR;   /* the scanner under test; main runs every test with each */

typedef struct {
    tl_agg_t *agg;
    tl_csv_stats_t st;
    int rc;
} s_res_t;

/*  Scan text fed in chunks of `chunk` bytes (0: all at once). */
static s_res_t
s_scan (const char *spec, const char *text, size_t len, size_t chunk)
{
    s_res_t r = { tl_agg_new (), { 0 }, 0 };
    tl_csv_t *csv = tl_csv_new (spec, r.agg);
    assert_int_equal (tl_csv_set_impl (csv, g_impl), 0);
    tl_err_t e;
    size_t pos = 0;
    if (!chunk)
        chunk = len ? len : 1;
    while (pos < len && r.rc == 0) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        r.rc = tl_csv_feed (csv, text + pos, n, &e);
        pos += n;
    }
    if (r.rc >= 0)
        r.rc = tl_csv_finish (csv, &e);
    r.st = tl_csv_stats (csv);
    tl_csv_destroy (&csv);
    return r;
}

#define GET(agg, k) tl_agg_get (agg, k, strlen (k))

static void
test_quirks (void **state)
{
    (void) state;
    const char *t = "vendor_id, pickup_datetime, dropoff_datetime, passenger_count, trip_distance\r\n"
                    "\r\n"
                    "CMT,2014-01-01 00:00:00,2014-01-01 00:10:00,1,1.0\r\n"
                    "CMT,2014-01-01 00:00:00,2014-01-01 00:10:00,2,1.0\r\n"
                    "VTS,2014-01-01 00:00:00,2014-01-01 00:10:00,,1.0\r\n"
                    "VTS,2014-01-01 00:00:00\r\n"
                    "VTS,2014-01-01 00:00:00,2014-01-01 00:10:00,1";
    for (size_t chunk = 0; chunk < 9; chunk++) {
        s_res_t r = s_scan ("passenger_count", t, strlen (t), chunk);
        assert_int_equal (r.rc, 0);
        assert_int_equal (r.st.rows, 4);
        assert_int_equal (r.st.bad, 1);
        assert_int_equal (r.st.blank, 1);
        assert_int_equal (GET (r.agg, "1"), 2);
        assert_int_equal (GET (r.agg, "2"), 1);
        assert_int_equal (GET (r.agg, ""), 1);
        assert_int_equal (tl_agg_size (r.agg), 3);
        tl_agg_destroy (&r.agg);
    }
}

static void
test_header_matching (void **state)
{
    (void) state;
    assert_int_equal (tl_csv_find_column ("vendor_name,Trip_Pickup_DateTime,x,Passenger_Count,y", 52, "passenger_count"), 3);
    const char *h = "\xEF\xBB\xBF" "VendorID,tpep_pickup_datetime";
    assert_int_equal (tl_csv_find_column (h, strlen (h), "vendorid"), 0);
    assert_int_equal (tl_csv_find_column ("a,b,\"c\"", 7, "c"), 2);
    assert_int_equal (tl_csv_find_column ("a,b,c", 5, "d"), -1);
    assert_int_equal (tl_csv_find_column ("a,b,", 4, ""), 2);
    const char *t = "a,b\n1,2\n";
    s_res_t r = s_scan ("passenger_count", t, strlen (t), 0);
    assert_int_equal (r.rc, TL_ECOLUMN);
    tl_agg_destroy (&r.agg);
    r = s_scan ("2", t, strlen (t), 0);
    assert_int_equal (r.rc, 0);
    assert_int_equal (GET (r.agg, "2"), 1);
    tl_agg_destroy (&r.agg);
}

static void
test_quoted_and_long (void **state)
{
    (void) state;
    const char *t = "a,b,c\n\"x,y\",\"he said \"\"hi\"\"\",3\n\"q\",z,4\n";
    s_res_t r = s_scan ("b", t, strlen (t), 3);
    assert_int_equal (r.rc, 0);
    assert_int_equal (r.st.rows, 2);
    assert_int_equal (GET (r.agg, "he said \"hi\""), 1);
    assert_int_equal (GET (r.agg, "z"), 1);
    tl_agg_destroy (&r.agg);
    /* A line over 1 MiB is a bad row; the lines around it still count. */
    size_t big = TL_CSV_LINE_MAX + 100;
    char *s = malloc (big + 64);
    size_t n = (size_t) sprintf (s, "h1,h2\nx,1\n");
    memset (s + n, 'a', big);
    n += big;
    n += (size_t) sprintf (s + n, ",2\ny,3\n");
    for (size_t chunk = 4096; chunk <= 1 << 21; chunk *= 16) {
        r = s_scan ("h2", s, n, chunk);
        assert_int_equal (r.rc, 0);
        assert_int_equal (r.st.rows, 2);
        assert_int_equal (r.st.bad, 1);
        assert_int_equal (GET (r.agg, "3"), 1);
        tl_agg_destroy (&r.agg);
    }
    free (s);
}

static void
test_empty_objects (void **state)
{
    (void) state;
    s_res_t r = s_scan ("passenger_count", "", 0, 0);
    assert_int_equal (r.rc, 0);
    assert_int_equal (r.st.rows, 0);
    tl_agg_destroy (&r.agg);
    r = s_scan ("passenger_count", "x,passenger_count", 17, 0);   /* header only, no newline */
    assert_int_equal (r.rc, 0);
    assert_int_equal (r.st.rows, 0);
    tl_agg_destroy (&r.agg);
}

/*  Scan [start, end) of text by the line rule, feeding from tl_csv_stream_offset in chunks. */
static void
s_scan_range (const char *text, size_t len, size_t start, size_t end, size_t chunk, tl_agg_t *agg, tl_csv_stats_t *sum)
{
    tl_csv_t *csv = tl_csv_new ("c", agg);
    assert_int_equal (tl_csv_set_impl (csv, g_impl), 0);
    tl_err_t e;
    tl_csv_set_range (csv, start, end >= len ? UINT64_MAX : end);
    if (start > 0) {
        const char *line;
        size_t hl;
        uint64_t at;
        assert_int_equal (tl_csv_find_header (text, len, &line, &hl, &at), 1);
        assert_int_equal (tl_csv_set_header_at (csv, line, hl, at, &e), 0);
    }
    size_t pos = (size_t) tl_csv_stream_offset (csv);
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        rc = tl_csv_feed (csv, text + pos, n, &e);
        pos += n;
    }
    assert_true (rc >= 0);
    assert_int_equal (tl_csv_finish (csv, &e), 0);
    tl_csv_stats_t st = tl_csv_stats (csv);
    sum->rows += st.rows;
    sum->bad += st.bad;
    sum->blank += st.blank;
    tl_csv_destroy (&csv);
}

static void
test_ranges_property (void **state)
{
    (void) state;
    srand (12345);
    for (int iter = 0; iter < 300; iter++) {
        /* A random file: header, then rows with random values, blank lines, short rows, CRLF. */
        /* Odd iterations: big files in big chunks, so the block scanners (64-byte blocks) run
           and meet range ends right after a carried line. */
        bool big = iter % 2;
        size_t cap = big ? 200000 : 20000, n = 0;
        char *t = malloc (cap + 200);
        for (int b = rand () % 4 == 0 ? rand () % 5 : 0; b > 0; b--)
            n += (size_t) sprintf (t + n, "%s", rand () % 2 ? "\r\n" : "\n");   /* blank lines before the header */
        n += (size_t) sprintf (t + n, "a,b,c,d%s", rand () % 2 ? "\r\n" : "\n");
        int lines = big ? 1000 + rand () % 2000 : rand () % 300;
        for (int i = 0; i < lines && n < cap; i++) {
            int kind = rand () % 20;
            if (kind == 0)
                n += (size_t) sprintf (t + n, "\n");
            else if (kind == 1)
                n += (size_t) sprintf (t + n, "%d,%d\n", rand () % 9, rand () % 9);
            else
                n += (size_t) sprintf (t + n, "%d,x,%d,%s%s", rand () % 100, rand () % 7, rand () % 3 ? "yy" : "",
                                       rand () % 4 ? "\n" : "\r\n");
        }
        if (rand () % 3 == 0 && n > 0 && t [n - 1] == '\n')
            n--;    /* no newline at the end */
        tl_agg_t *whole = tl_agg_new (), *parts = tl_agg_new ();
        tl_csv_stats_t sw = { 0 }, sp = { 0 };
        size_t maxchunk = big ? 5000 : 64;
        s_scan_range (t, n, 0, n, 1 + (size_t) (rand () % maxchunk), whole, &sw);
        /* Random cut points. */
        size_t cuts = 1 + (size_t) (rand () % 8), start = 0;
        for (size_t k = 0; k <= cuts; k++) {
            size_t end = k == cuts ? n : start + (size_t) (rand () % (n / cuts + 2));
            if (end > n)
                end = n;
            if (end <= start && k != cuts)
                continue;
            s_scan_range (t, n, start, end, 1 + (size_t) (rand () % maxchunk), parts, &sp);
            start = end;
            if (start >= n)
                break;
        }
        assert_int_equal (sw.rows, sp.rows);
        assert_int_equal (sw.bad, sp.bad);
        assert_int_equal (sw.blank, sp.blank);
        assert_int_equal (tl_agg_size (whole), tl_agg_size (parts));
        size_t pos = 0;
        tl_agg_entry_t e;
        while (tl_agg_next (whole, &pos, &e))
            assert_int_equal (tl_agg_get (parts, e.key, e.len), e.count);
        tl_agg_destroy (&whole);
        tl_agg_destroy (&parts);
        free (t);
    }
}

/*  Every scanner gives the same counts on hostile text: quotes around and inside values, CRs,
    blank lines, short rows, long values, fed in random chunk sizes. */
static void
test_scanners_agree (void **state)
{
    (void) state;
    srand (4242);
    static const char *vals [] = { "1", "2", "", " 3 ", "\"4\"", "\"a,b\"", "\"q\"\"x\"", "10", "xxxxxxxxxxxx", "\r",
                                   "12345678", " 1234567", "1234567\t", "123456789" };
    /* A second column of any length from 0 to 130 bytes moves the later values across the
       64-byte look of the SIMD line hop (values at its end, newlines past it). */
    static char pad [131];
    memset (pad, 'x', sizeof pad - 1);
    for (int iter = 0; iter < 40; iter++) {
        size_t cap = 400000, n = 0;
        char *t = malloc (cap + 1000);
        n += (size_t) sprintf (t + n, "a,b,c,d\n");
        while (n < cap) {
            int k = rand () % 40;
            if (k == 0)
                n += (size_t) sprintf (t + n, "\n");
            else if (k == 1)
                n += (size_t) sprintf (t + n, "%d,%d\r\n", rand () % 9, rand () % 9);
            else if (k == 2)
                n += (size_t) sprintf (t + n, "\"x\ny\",%s,%s,%s\n", vals [rand () % 14], vals [rand () % 14], vals [rand () % 14]);
            else if (k < 20)
                n += (size_t) sprintf (t + n, "%s,%.*s,%s,%s%s", vals [rand () % 14], rand () % 131, pad,
                                       vals [rand () % 14], vals [rand () % 14], rand () % 5 ? "\n" : "\r\n");
            else
                n += (size_t) sprintf (t + n, "%s,%s,%s,%s%s", vals [rand () % 14], rand () % 50 ? "x" : "\"p,q\"",
                                       vals [rand () % 14], vals [rand () % 14], rand () % 5 ? "\n" : "\r\n");
        }
        /* Every column: the first (blank lines must not become rows), the middle, the last. */
        static const char *specs [] = { "a", "b", "c", "d" };
        const char *spec = specs [iter % 4];
        s_res_t ref = { 0 };
        for (int impl = TL_CSV_SCALAR; impl <= TL_CSV_AVX2; impl++) {
            g_impl = impl;
            tl_csv_t *probe = tl_csv_new ("c", NULL);
            int ok = tl_csv_set_impl (probe, impl);
            tl_csv_destroy (&probe);
            if (ok != 0)
                continue;   /* this CPU lacks it */
            s_res_t r = s_scan (spec, t, n, impl == TL_CSV_SCALAR ? 0 : (size_t) (1 + rand () % 70000));
            assert_int_equal (r.rc, 0);
            if (impl == TL_CSV_SCALAR) {
                ref = r;
                continue;
            }
            assert_int_equal (r.st.rows, ref.st.rows);
            assert_int_equal (r.st.bad, ref.st.bad);
            assert_int_equal (r.st.blank, ref.st.blank);
            assert_int_equal (tl_agg_size (r.agg), tl_agg_size (ref.agg));
            size_t pos = 0;
            tl_agg_entry_t en;
            while (tl_agg_next (ref.agg, &pos, &en))
                assert_int_equal (tl_agg_get (r.agg, en.key, en.len), en.count);
            tl_agg_destroy (&r.agg);
        }
        tl_agg_destroy (&ref.agg);
        free (t);
    }
    g_impl = TL_CSV_SCALAR;
}

static int
s_setup_impl (void **state)
{
    g_impl = (int) (intptr_t) *state;
    tl_csv_t *probe = tl_csv_new ("c", NULL);
    int ok = tl_csv_set_impl (probe, g_impl);
    tl_csv_destroy (&probe);
    if (ok != 0) {
        print_message ("scanner %s not available on this CPU: testing scalar instead\n", tl_csv_impl_name (g_impl));
        g_impl = TL_CSV_SCALAR;
    }
    return 0;
}

int
main (void)
{
    int failed = 0;
    for (intptr_t impl = TL_CSV_SCALAR; impl <= TL_CSV_AVX2; impl++) {
        void *st = (void *) impl;
        const struct CMUnitTest tests [] = {
            cmocka_unit_test_prestate_setup_teardown (test_quirks, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_header_matching, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_quoted_and_long, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_empty_objects, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_ranges_property, s_setup_impl, NULL, st),
        };
        print_message ("scanner: %s\n", tl_csv_impl_name ((int) impl));
        failed += cmocka_run_group_tests_name (tl_csv_impl_name ((int) impl), tests, NULL, NULL);
    }
    const struct CMUnitTest agree [] = { cmocka_unit_test (test_scanners_agree) };
    failed += cmocka_run_group_tests_name ("agree", agree, NULL, NULL);
    return failed;
}
