/*  The CSV scanner: the TLC quirks, chunk boundaries, and the line rule over byte ranges
    (a property test: for random files and random cut points, the ranges sum to the whole). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csv.h"

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
    tl_err_t e;
    tl_csv_set_range (csv, start, end >= len ? UINT64_MAX : end);
    if (start > 0) {
        const char *nl = memchr (text, '\n', len);
        assert_int_equal (tl_csv_set_header (csv, text, (size_t) (nl - text), &e), 0);
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
        size_t cap = 20000, n = 0;
        char *t = malloc (cap + 200);
        n += (size_t) sprintf (t + n, "a,b,c,d%s", rand () % 2 ? "\r\n" : "\n");
        int lines = rand () % 300;
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
        s_scan_range (t, n, 0, n, 1 + (size_t) (rand () % 64), whole, &sw);
        /* Random cut points. */
        size_t cuts = 1 + (size_t) (rand () % 8), start = 0;
        for (size_t k = 0; k <= cuts; k++) {
            size_t end = k == cuts ? n : start + (size_t) (rand () % (n / cuts + 2));
            if (end > n)
                end = n;
            if (end <= start && k != cuts)
                continue;
            s_scan_range (t, n, start, end, 1 + (size_t) (rand () % 64), parts, &sp);
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

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_quirks),          cmocka_unit_test (test_header_matching),
        cmocka_unit_test (test_quoted_and_long), cmocka_unit_test (test_empty_objects),
        cmocka_unit_test (test_ranges_property),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
