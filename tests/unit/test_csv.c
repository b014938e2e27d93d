/*  The CSV scanner: the TLC quirks, chunk boundaries, and the line rule over byte ranges
    (a property test: for random files and random cut points, the ranges sum to the whole).
    Quoted newlines (RFC 4180): hand-written cases, and random text checked against a small
    reference reader written here from the RFC, fed at every chunk size; ranges that start
    inside a quoted field; over-long records and headers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/core/csv.h"
#include "lib/core/header.h"
#include "lib/core/query.h"

static int g_impl = TL_CSV_SCALAR;   /* the scanner under test; main runs every test with each */

typedef struct {
    tl_agg_t *agg;
    tl_csv_stats_t st;
    int rc;
    tl_err_t e;
    int ml;                     /* tl_csv_multiline_at */
    uint64_t ml_at, ml_line;
} s_res_t;

/*  Scan text fed in chunks of `chunk` bytes (0: all at once); with `seed`, in random chunks of 1
    to `chunk` bytes instead. */
static s_res_t
s_scan_with (const char *spec, const char *text, size_t len, size_t chunk, unsigned seed)
{
    s_res_t r = { 0 };
    tl_query_t *q = malloc (sizeof *q);
    tl_err_t qe;
    assert_non_null (q);
    /* A query with aggregates needs their cells in the table. */
    r.agg = tl_agg_new_cells (tl_query_parse (spec, q, &qe) == 0 ? (unsigned) q->nvals : 0);
    free (q);
    tl_csv_t *csv = tl_csv_new (spec, r.agg);
    assert_non_null (csv);
    assert_int_equal (tl_csv_set_impl (csv, g_impl), 0);
    size_t pos = 0;
    if (!chunk)
        chunk = len ? len : 1;
    while (pos < len && r.rc == 0) {
        size_t n = seed ? 1 + (size_t) rand_r (&seed) % chunk : chunk;
        if (n > len - pos)
            n = len - pos;
        r.rc = tl_csv_feed (csv, text + pos, n, &r.e);
        pos += n;
    }
    if (r.rc >= 0)
        r.rc = tl_csv_finish (csv, &r.e);
    r.st = tl_csv_stats (csv);
    r.ml = tl_csv_multiline_at (csv, &r.ml_at, &r.ml_line);
    tl_csv_destroy (&csv);
    return r;
}

static s_res_t
s_scan (const char *spec, const char *text, size_t len, size_t chunk)
{
    return s_scan_with (spec, text, len, chunk, 0);
}

/*  Two results are the same: stats, and every group's count. */
static void
s_assert_same (const s_res_t *a, const s_res_t *b)
{
    assert_int_equal (a->rc, b->rc);
    assert_int_equal (a->st.rows, b->st.rows);
    assert_int_equal (a->st.bad, b->st.bad);
    assert_int_equal (a->st.blank, b->st.blank);
    assert_int_equal (a->st.filtered, b->st.filtered);
    assert_int_equal (a->st.multiline, b->st.multiline);
    assert_int_equal (a->ml, b->ml);
    assert_int_equal (a->ml_at, b->ml_at);
    assert_int_equal (a->ml_line, b->ml_line);
    assert_int_equal (tl_agg_size (a->agg), tl_agg_size (b->agg));
    size_t pos = 0;
    tl_agg_entry_t en;
    while (tl_agg_next (a->agg, &pos, &en)) {
        tl_agg_entry_t eb;
        assert_true (tl_agg_find (b->agg, en.key, en.len, &eb));
        assert_int_equal (eb.count, en.count);
        for (unsigned c = 0; c < tl_agg_ncells (a->agg); c++) {
            assert_int_equal (en.cells [c].n, eb.cells [c].n);
            assert_int_equal (en.cells [c].bad, eb.cells [c].bad);
            assert_true (en.cells [c].sum == eb.cells [c].sum);
        }
    }
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

/*  A CR that does not end a line (LF, CRLF, or CR CR LF) and is not inside a quoted field is a
    line end to Python's csv module and DuckDB, and not to tally: such a row is a bad row, never a
    row with a different key. A header with one fails the object. Every chunk size, every
    scanner (main runs this with each), a plain column and a query. */
static void
test_lone_cr (void **state)
{
    (void) state;
    char t [600];
    int n = snprintf (t, sizeof t, "a,b\n"
                      "1,x\n"                /* a row */
                      "2,x\ry\n"             /* bad: a lone CR in b */
                      "3\r,x\n"              /* bad: right after the value */
                      "4,x\r\n"              /* CRLF: a row */
                      "5,x\r\r\n"            /* CR CR LF: a row (and a blank line to Python) */
                      "\"6\r\",x\n"          /* inside quotes: data, the key is 6 CR */
                      "\"7\"\r,x\n"          /* after the closing quote: bad */
                      "\r\r\n"               /* blank */
                      "\r\r10,x\n"            /* CRs first: blank lines to Python, then a row */
                      "%s,x\r9,x\n"           /* bad, past the SIMD hop's first 64 bytes */
                      "8,x\r",               /* the last line, no LF: a row */
                      "0123456789012345678901234567890123456789012345678901234567890123456789");
    assert_true (n > 0 && (size_t) n < sizeof t);
    static const char *specs [] = { "a", "b", "by a\nby b\n" };
    for (int s = 0; s < 3; s++)
        for (size_t chunk = 0; chunk < 12; chunk++) {
            s_res_t r = s_scan (specs [s], t, (size_t) n, chunk);
            assert_int_equal (r.rc, 0);
            assert_int_equal (r.st.rows, 6);
            assert_int_equal (r.st.bad, 4);
            assert_int_equal (r.st.blank, 1);
            if (s == 0) {
                assert_int_equal (GET (r.agg, "1"), 1);
                assert_int_equal (GET (r.agg, "4"), 1);
                assert_int_equal (GET (r.agg, "5"), 1);
                assert_int_equal (GET (r.agg, "6\r"), 1);
                assert_int_equal (GET (r.agg, "8"), 1);
                assert_int_equal (GET (r.agg, "10"), 1);
                assert_int_equal (tl_agg_size (r.agg), 6);
            }
            if (s == 1) {
                assert_int_equal (GET (r.agg, "x"), 6);
                assert_int_equal (tl_agg_size (r.agg), 1);
            }
            tl_agg_destroy (&r.agg);
        }
    /* The header: CR CR LF ends it; a lone CR in it (a file of old Mac line ends is one line)
       fails the object. */
    const char *ok = "a,b\r\r\n1,x\r\r\n";
    s_res_t r = s_scan ("b", ok, strlen (ok), 0);
    assert_int_equal (r.rc, 0);
    assert_int_equal (r.st.rows, 1);
    assert_int_equal (GET (r.agg, "x"), 1);
    tl_agg_destroy (&r.agg);
    const char *mac = "a,b\r1,x\r2,y\r";
    r = s_scan ("a", mac, strlen (mac), 0);
    assert_int_equal (r.rc, TL_EPROTO);
    assert_non_null (strstr (r.e.msg, "lone CR"));
    tl_agg_destroy (&r.agg);
}

/*  Text after a closing quote is part of the value, as Python's csv module reads it ("a"b is
    ab, "x"y"z is xy"z), its end trimmed as a value's; it was dropped, which made "a"b and "a"
    one value (red team, session 11). A BOM alone on the first line, then blank lines, is not
    the header (it was, and by column number the real header became a row). */
static void
test_after_quote_and_bom (void **state)
{
    (void) state;
    const char *t = "k,v\n\"a\"b,1\n\"a\"b,2\n\"a\",3\n\"a\" ,4\n\"x\"y\"z,5\n\"a\" b ,6\n";
    static const char *specs [] = { "k", "by k\nby v\n" };
    for (int s = 0; s < 2; s++)
        for (size_t chunk = 0; chunk < 10; chunk++) {
            s_res_t r = s_scan (specs [s], t, strlen (t), chunk);
            assert_int_equal (r.rc, 0);
            assert_int_equal (r.st.rows, 6);
            assert_int_equal (r.st.bad, 0);
            if (s == 0) {
                assert_int_equal (GET (r.agg, "ab"), 2);
                assert_int_equal (GET (r.agg, "a"), 2);
                assert_int_equal (GET (r.agg, "xy\"z"), 1);
                assert_int_equal (GET (r.agg, "a b"), 1);
                assert_int_equal (tl_agg_size (r.agg), 4);
            }
            else
                assert_int_equal (GET (r.agg, "ab\x1f" "1"), 1);
            tl_agg_destroy (&r.agg);
        }
    const char bom [] = "\xEF\xBB\xBF\n\r\n\nk,v\n1,x\n2,x\n";
    const char *line;
    size_t len;
    uint64_t at;
    assert_int_equal (tl_csv_find_header (bom, sizeof bom - 1, &line, &len, &at), 1);
    assert_int_equal (at, 7);
    assert_int_equal (len, 3);
    for (size_t chunk = 0; chunk < 10; chunk++) {
        s_res_t r = s_scan ("1", bom, sizeof bom - 1, chunk);
        assert_int_equal (r.rc, 0);
        assert_int_equal (r.st.rows, 2);
        assert_int_equal (r.st.blank, 3);
        assert_int_equal (GET (r.agg, "1"), 1);
        assert_int_equal (GET (r.agg, "k"), 0);
        tl_agg_destroy (&r.agg);
    }
}

static void
test_header_matching (void **state)
{
    (void) state;
    assert_int_equal (tl_header_find_column ("vendor_name,Trip_Pickup_DateTime,x,Passenger_Count,y", 52, "passenger_count"), 3);
    const char *h = "\xEF\xBB\xBF" "VendorID,tpep_pickup_datetime";
    assert_int_equal (tl_header_find_column (h, strlen (h), "vendorid"), 0);
    assert_int_equal (tl_header_find_column ("a,b,\"c\"", 7, "c"), 2);
    assert_int_equal (tl_header_find_column ("a,b,c", 5, "d"), -1);
    assert_int_equal (tl_header_find_column ("a,b,", 4, ""), 2);
    /* A name that two fields carry (case aside) is ambiguous, never the first silently. */
    assert_int_equal (tl_header_find_column ("a,A,b", 5, "a"), TL_HEADER_TWICE);
    const char *twice = "x,\"b\",B ";
    assert_int_equal (tl_header_find_column (twice, strlen (twice), "b"), TL_HEADER_TWICE);
    assert_int_equal (tl_header_find_column ("a,A,b", 5, "b"), 2);
    /* Fields split by the rows' quote rules: a quoted name with a comma is one column. */
    assert_int_equal (tl_header_find_column ("\"x,y\",a,b", 9, "a"), 1);
    assert_int_equal (tl_header_find_column ("\"x,y\",a,b", 9, "x,y"), 0);
    const char *esc = "k,\"b\"\"c\",d", *sp = "k, \"x,y\",a";
    assert_int_equal (tl_header_find_column (esc, strlen (esc), "b\"c"), 1);
    assert_int_equal (tl_header_find_column (esc, strlen (esc), "d"), 2);
    assert_int_equal (tl_header_find_column (sp, strlen (sp), "a"), 3);    /* a space first: not quoted */
    assert_int_equal (tl_header_count_fields ("\"x,y\",a,b", 9), 3);
    assert_int_equal (tl_header_count_fields ("a,b,", 4), 3);
    assert_int_equal (tl_header_count_fields ("", 0), 1);
    assert_int_equal (tl_header_open_quote ("\"x,y\",a", 7), 0);
    assert_int_equal (tl_header_open_quote ("a,\"x", 4), 1);
    assert_int_equal (tl_header_open_quote ("a,b\"x", 5), 0);
    /* Lines that end in a lone CR (old Mac): one long header line, every row lost in it. */
    const char *cr = "a,b\r1,x\r2,y\r";
    s_res_t r = s_scan ("a", cr, strlen (cr), 0);
    assert_int_equal (r.rc, TL_EPROTO);
    tl_agg_destroy (&r.agg);
    const char *crlf = "a,b\r\n1,x\r\n";
    r = s_scan ("b", crlf, strlen (crlf), 0);
    assert_int_equal (r.rc, 0);
    assert_int_equal (GET (r.agg, "x"), 1);
    tl_agg_destroy (&r.agg);
    const char *t = "a,b\n1,2\n";
    r = s_scan ("passenger_count", t, strlen (t), 0);
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
    for (size_t chunk = 4096; chunk <= 1 << 23; chunk = chunk >= 1 << 20 ? chunk << 3 : chunk << 4) {
        r = s_scan ("h2", s, n, chunk);     /* the last: all in one chunk */
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

/*  Every scanner gives the same counts on hostile text: quotes around and inside values, quoted
    newlines, stray quotes, CRs, blank lines, short rows, long values, fed in random chunk sizes. */
static void
test_scanners_agree (void **state)
{
    (void) state;
    srand (4242);
    static const char *vals [] = { "1", "2", "", " 3 ", "\"4\"", "\"a,b\"", "\"q\"\"x\"", "10", "xxxxxxxxxxxx", "\r",
                                   "12345678", " 1234567", "1234567\t", "123456789", "x\ry", "\r\r", "\"c\rq\"",
                                   /* quoted newlines, and quotes that are not RFC 4180 */
                                   "\"m\nl\"", "\"c\r\nr\"", "\"q\"\"\n\"", "\"\n\n\n\"", "x\"y", "\"a\"b\"", "\"" };
    enum { NV = sizeof vals / sizeof vals [0] };
    /* A second column of any length from 0 to 130 bytes moves the later values across the
       64-byte look of the SIMD line hop (values at its end, newlines past it). */
    static char pad [131];
    memset (pad, 'x', sizeof pad - 1);
    for (int iter = 0; iter < 56; iter++) {
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
                n += (size_t) sprintf (t + n, "\"x\ny\",%s,%s,%s\n", vals [rand () % NV], vals [rand () % NV], vals [rand () % NV]);
            else if (k < 20)
                n += (size_t) sprintf (t + n, "%s,%.*s,%s,%s%s", vals [rand () % NV], rand () % 131, pad,
                                       vals [rand () % NV], vals [rand () % NV], rand () % 5 ? "\n" : "\r\n");
            else
                n += (size_t) sprintf (t + n, "%s,%s,%s,%s%s", vals [rand () % NV], rand () % 50 ? "x" : "\"p,q\"",
                                       vals [rand () % NV], vals [rand () % NV], rand () % 5 ? "\n" : rand () % 4 ? "\r\n" : "\r\r\n");
        }
        /* Every column: the first (blank lines must not become rows), the middle, the last; and
           queries (the query hop: fields found by comma masks over one or more 64-byte blocks,
           trimmed, too few of them a bad row), which agree with the scalar field walk. */
        static const char *specs [] = { "a", "b", "c", "d", "by d\nby a\n", "by c\nby b\nagg sum:a\n",
                                        "by a[0:2]\nby d\nwhere c != 1\n", "by b\nagg max:d\nwhere a > 0\n" };
        const char *spec = specs [iter % 8];
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
            s_assert_same (&ref, &r);
            tl_agg_destroy (&r.agg);
        }
        tl_agg_destroy (&ref.agg);
        free (t);
    }
    g_impl = TL_CSV_SCALAR;
}

/* ------------------------------------------------------------------ quoted newlines */

#define GETN(agg, k, n) tl_agg_get (agg, k, n)

/*  Quoted newlines before and after the value, several in one record, "" escapes, CRLF inside
    quotes and at the ends of records, an empty quoted value, a last record without a newline:
    every record is one row, fed at every chunk size and split at every byte. */
static void
test_quoted_newlines (void **state)
{
    (void) state;
    const char *t = "a,b,c\r\n"
                    "1,x,\"multi\nline\"\n"                 /* after the value */
                    "\"before\nvalue\",y,3\n"               /* before the value */
                    "\"p\r\nq\",\"r\n\"\"s\"\"\nt\",4\r\n"  /* in it: two newlines, "" escapes, CRLF */
                    "5,\"\",6\n"
                    "7,\"z\",8";
    size_t len = strlen (t);
    const char *r_key = "r\n\"s\"\nt";
    s_res_t ref = s_scan ("b", t, len, 0);
    assert_int_equal (ref.rc, 0);
    assert_int_equal (ref.st.rows, 5);
    assert_int_equal (ref.st.bad, 0);
    assert_int_equal (ref.st.blank, 0);
    assert_int_equal (ref.st.multiline, 3);
    assert_int_equal (GET (ref.agg, "x"), 1);
    assert_int_equal (GET (ref.agg, "y"), 1);
    assert_int_equal (GET (ref.agg, r_key), 1);
    assert_int_equal (GET (ref.agg, ""), 1);
    assert_int_equal (GET (ref.agg, "z"), 1);
    assert_int_equal (tl_agg_size (ref.agg), 5);
    assert_int_equal (ref.ml, 1);
    assert_int_equal (ref.ml_at, 7);    /* the record after the header */
    assert_int_equal (ref.ml_line, 2);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        s_res_t r = s_scan ("b", t, len, chunk);
        s_assert_same (&ref, &r);
        tl_agg_destroy (&r.agg);
    }
    for (size_t cut = 1; cut < len; cut++) {
        s_res_t r = { .agg = tl_agg_new () };
        tl_csv_t *csv = tl_csv_new ("b", r.agg);
        assert_int_equal (tl_csv_set_impl (csv, g_impl), 0);
        assert_int_equal (tl_csv_feed (csv, t, cut, &r.e), 0);
        assert_int_equal (tl_csv_feed (csv, t + cut, len - cut, &r.e), 0);
        assert_int_equal (tl_csv_finish (csv, &r.e), 0);
        r.st = tl_csv_stats (csv);
        r.ml = tl_csv_multiline_at (csv, &r.ml_at, &r.ml_line);
        tl_csv_destroy (&csv);
        s_assert_same (&ref, &r);
        tl_agg_destroy (&r.agg);
    }
    tl_agg_destroy (&ref.agg);
    /* The other columns: the multi-line values themselves. */
    s_res_t r = s_scan ("a", t, len, 5);
    assert_int_equal (r.st.rows, 5);
    assert_int_equal (GET (r.agg, "before\nvalue"), 1);
    assert_int_equal (GET (r.agg, "p\r\nq"), 1);
    tl_agg_destroy (&r.agg);
    r = s_scan ("c", t, len, 3);
    assert_int_equal (r.st.rows, 5);
    assert_int_equal (GET (r.agg, "multi\nline"), 1);
    assert_int_equal (GET (r.agg, "4"), 1);
    tl_agg_destroy (&r.agg);
    /* Query mode: several columns, a filter and a sum, the same records. */
    const char *q = "by b\nby a\nagg sum:c\nwhere c != 3\n";
    for (size_t chunk = 1; chunk <= len; chunk++) {
        tl_agg_t *agg = tl_agg_new_cells (1);
        tl_csv_t *csv = tl_csv_new (q, agg);
        assert_non_null (csv);
        tl_err_t e;
        for (size_t o = 0; o < len; o += chunk)
            assert_int_equal (tl_csv_feed (csv, t + o, len - o < chunk ? len - o : chunk, &e), 0);
        assert_int_equal (tl_csv_finish (csv, &e), 0);
        tl_csv_stats_t st = tl_csv_stats (csv);
        assert_int_equal (st.rows, 4);
        assert_int_equal (st.filtered, 1);
        assert_int_equal (st.bad, 0);
        assert_int_equal (st.multiline, 3);
        char k1 [] = "r\n\"s\"\nt\x1f" "p\r\nq";
        assert_int_equal (tl_agg_get (agg, k1, strlen (k1)), 1);
        char k2 [] = "x\x1f" "1";
        assert_int_equal (tl_agg_get (agg, k2, strlen (k2)), 1);
        char k3 [] = "\x1f" "5";
        assert_int_equal (tl_agg_get (agg, k3, strlen (k3)), 1);
        assert_int_equal (tl_agg_size (agg), 4);
        tl_csv_destroy (&csv);
        tl_agg_destroy (&agg);
    }
}

/*  Scan [start, end) of text as a range task (column from the object's header), fed in chunks
    from tl_csv_stream_offset; with cut > 0, a whole-object task is cut with tl_csv_set_end at
    `cut` after its first chunk instead. */
static s_res_t
s_range (const char *spec, const char *text, size_t len, size_t start, size_t end, size_t chunk, size_t cut)
{
    s_res_t r = { .agg = tl_agg_new () };
    tl_csv_t *csv = tl_csv_new (spec, r.agg);
    assert_int_equal (tl_csv_set_impl (csv, g_impl), 0);
    tl_csv_set_range (csv, start, end >= len ? UINT64_MAX : end);
    if (start > 0) {
        const char *line;
        size_t hl;
        uint64_t at;
        assert_int_equal (tl_csv_find_header (text, len, &line, &hl, &at), 1);
        assert_int_equal (tl_csv_set_header_at (csv, line, hl, at, &r.e), 0);
    }
    size_t pos = (size_t) tl_csv_stream_offset (csv);
    while (pos < len && r.rc == 0) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        r.rc = tl_csv_feed (csv, text + pos, n, &r.e);
        pos += n;
        if (cut && r.rc == 0) {
            assert_int_equal (tl_csv_set_end (csv, cut > pos ? cut : pos), 0);
            cut = 0;
        }
    }
    assert_true (r.rc >= 0);
    r.rc = tl_csv_finish (csv, &r.e);
    r.st = tl_csv_stats (csv);
    r.ml = tl_csv_multiline_at (csv, &r.ml_at, &r.ml_line);
    tl_csv_destroy (&csv);
    return r;
}

/*  A range cannot tell whether it starts inside a quoted field, so it says when it may have:
    a range that starts inside one reports multiline at the field's closing line; a range that
    finishes a multi-line record reports it; a range with none reports 0. */
static void
test_ranges_inside_quotes (void **state)
{
    (void) state;
    /* offsets: header 0..5, record 6 ("1,\"x" 6..9, "y" 11, "z\",3" 13..16), record 18 */
    const char *t = "a,b,c\n1,\"x\ny\nz\",3\n2,w,4\n";
    size_t len = strlen (t);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        s_res_t whole = s_range ("b", t, len, 0, len, chunk, 0);
        assert_int_equal (whole.st.rows, 2);
        assert_int_equal (whole.st.multiline, 1);
        assert_int_equal (GET (whole.agg, "x\ny\nz"), 1);
        assert_int_equal (whole.ml_at, 6);
        assert_int_equal (whole.ml_line, 2);
        tl_agg_destroy (&whole.agg);
        /* Starts inside the quoted field, at "y": y is a bad row, then "z\",3" has one quote. */
        s_res_t r = s_range ("b", t, len, 11, len, chunk, 0);
        assert_int_equal (r.rc, 0);
        assert_int_equal (r.st.multiline, 1);
        assert_int_equal (r.ml, 1);
        assert_int_equal (r.ml_at, 13);
        assert_int_equal (r.ml_line, 2);
        tl_agg_destroy (&r.agg);
        r = s_range ("b", t, len, 12, len, chunk, 0);      /* starts at the closing line */
        assert_int_equal (r.st.multiline, 1);
        assert_int_equal (r.ml_at, 13);
        assert_int_equal (r.ml_line, 1);
        tl_agg_destroy (&r.agg);
        /* Range 0 ends inside the record: it finishes the record (one row) and says so. */
        r = s_range ("b", t, len, 0, 9, chunk, 0);
        assert_int_equal (r.st.rows, 1);
        assert_int_equal (GET (r.agg, "x\ny\nz"), 1);
        assert_int_equal (r.st.multiline, 1);
        assert_int_equal (r.ml_at, 6);
        tl_agg_destroy (&r.agg);
        /* The same with a cut: tl_csv_set_end inside the record finishes it as a record. */
        if (chunk <= 8) {
            r = s_range ("b", t, len, 0, len, chunk, 9);
            assert_int_equal (r.st.rows, 1);
            assert_int_equal (GET (r.agg, "x\ny\nz"), 1);
            assert_int_equal (r.st.multiline, 1);
            tl_agg_destroy (&r.agg);
        }
        /* A range with no multi-line record reports none. */
        r = s_range ("b", t, len, 18, len, chunk, 0);
        assert_int_equal (r.st.rows, 1);
        assert_int_equal (r.st.multiline, 0);
        assert_int_equal (r.ml, 0);
        tl_agg_destroy (&r.agg);
    }
    /* The closing line starts with the quote: read inverted, it opens a field that runs to the
       end of the object, a bad row that spans lines. */
    const char *t2 = "a,b\n1,\"x\n\",2\n3,4\n";
    s_res_t r = s_range ("b", t2, strlen (t2), 9, strlen (t2), 3, 0);
    assert_int_equal (r.st.multiline, 1);
    assert_int_equal (r.ml_at, 9);
    assert_int_equal (r.st.rows, 0);
    assert_int_equal (r.st.bad, 1);
    tl_agg_destroy (&r.agg);
    r = s_range ("b", t2, strlen (t2), 0, strlen (t2), 3, 0);
    assert_int_equal (r.st.rows, 2);
    assert_int_equal (GET (r.agg, "x\n"), 1);
    assert_int_equal (GET (r.agg, "4"), 1);
    tl_agg_destroy (&r.agg);
}

/*  A header line over TL_CSV_LINE_MAX fails the object, whether it arrives in one chunk or many,
    with or without a newline; one of exactly TL_CSV_LINE_MAX bytes is a header. */
static void
test_header_too_long (void **state)
{
    (void) state;
    size_t big = TL_CSV_LINE_MAX + 1;
    char *s = malloc (big + 64);
    memset (s, 'h', big);
    memcpy (s + big - 2, ",b", 2);
    size_t n = big + (size_t) sprintf (s + big, "\n1,2\n3,4\n");
    static const size_t chunks [] = { 0, 4096, 65536, 1 << 20, 3 << 20 };
    for (size_t k = 0; k < sizeof chunks / sizeof chunks [0]; k++) {
        s_res_t r = s_scan ("b", s, n, chunks [k]);
        assert_int_equal (r.rc, TL_EPROTO);
        assert_string_equal (r.e.msg, TL_CSV_HEADER_TOO_LONG);
        assert_int_equal (r.st.rows, 0);
        tl_agg_destroy (&r.agg);
        r = s_scan ("b", s, big, chunks [k]);       /* no newline at all */
        assert_int_equal (r.rc, TL_EPROTO);
        assert_string_equal (r.e.msg, TL_CSV_HEADER_TOO_LONG);
        tl_agg_destroy (&r.agg);
    }
    /* Exactly TL_CSV_LINE_MAX bytes. */
    memmove (s + 1, s + 2, n - 2);
    n -= 1;
    assert_int_equal (s [TL_CSV_LINE_MAX], '\n');
    for (size_t k = 0; k < sizeof chunks / sizeof chunks [0]; k++) {
        s_res_t r = s_scan ("b", s, n, chunks [k]);
        assert_int_equal (r.rc, 0);
        assert_int_equal (r.st.rows, 2);
        assert_int_equal (GET (r.agg, "4"), 1);
        tl_agg_destroy (&r.agg);
    }
    /* tl_csv_find_header: 0 while the header may still be short enough, TL_EPROTO once it
       cannot be, 1 when it is complete; blank lines before it do not count. */
    char *h = malloc (big + 16);
    memcpy (h, "\n\r\n", 3);
    memset (h + 3, 'h', big);
    const char *line = NULL;
    size_t hl = 0;
    uint64_t at = 0;
    assert_int_equal (tl_csv_find_header (h, 3 + TL_CSV_LINE_MAX, &line, &hl, &at), 0);
    assert_int_equal (tl_csv_find_header (h, 3 + big, &line, &hl, &at), TL_EPROTO);
    assert_ptr_equal (line, h + 3);
    assert_int_equal (hl, big);
    assert_int_equal (at, 3);
    tl_agg_t *agg = tl_agg_new ();
    tl_csv_t *csv = tl_csv_new ("h", agg);
    tl_err_t e;
    assert_int_equal (tl_csv_set_header_at (csv, line, hl, at, &e), TL_EPROTO);
    assert_string_equal (e.msg, TL_CSV_HEADER_TOO_LONG);
    tl_csv_destroy (&csv);
    tl_agg_destroy (&agg);
    h [3 + TL_CSV_LINE_MAX] = '\n';
    assert_int_equal (tl_csv_find_header (h, 3 + big, &line, &hl, &at), 1);
    assert_int_equal (hl, TL_CSV_LINE_MAX);
    assert_int_equal (tl_csv_find_header ("\n\r", 2, &line, &hl, &at), 0);
    free (h);
    free (s);
}

/*  A record over TL_CSV_LINE_MAX is one bad row, and the scanner starts again at the first
    newline at or after its byte TL_CSV_LINE_MAX, if its quotes are closed there. If a quoted
    field is still open at that newline (a stray quote, or a field over 1 MiB), the lines after
    it are either rows or the field's text: the object fails (TL_CSV_QUOTE_OPEN) rather than
    counting them as rows (rt14: a 2 MiB quoted field made 68,928 rows, ok). The same at every
    chunk size. */
static void
test_overlong_record (void **state)
{
    (void) state;
    size_t cap = 3 * TL_CSV_LINE_MAX;
    char *s = malloc (cap);
    size_t n = (size_t) sprintf (s, "a,b\n0,ok\n");
    size_t r0 = n;
    n += (size_t) sprintf (s + n, "1,\"unclosed ");
    while (n < r0 + TL_CSV_LINE_MAX + 5000)
        n += (size_t) sprintf (s + n, "%s\n", "0123456789,abcdefghij,0123456789,abcdefghij,0123456789,abcdefghij,0123456789,abcdefghi");
    n += (size_t) sprintf (s + n, "2,y\n3,\"q\"\n");
    static const size_t chunks [] = { 0, 4096, 65536, 1 << 20, 3 << 20 };
    char want [256];
    snprintf (want, sizeof want, TL_CSV_QUOTE_OPEN, (unsigned long long) r0);
    for (size_t k = 0; k < sizeof chunks / sizeof chunks [0]; k++) {
        for (int rnd = 0; rnd < 2; rnd++) {
            s_res_t r = rnd ? s_scan_with ("b", s, n, 200000, 7 + (unsigned) k) : s_scan ("b", s, n, chunks [k]);
            assert_int_equal (r.rc, TL_EPROTO);
            assert_string_equal (r.e.msg, want);
            tl_agg_destroy (&r.agg);
        }
    }
    /* A quoted field over 1 MiB with no newline in it, then a line that looks like a row. */
    n = (size_t) sprintf (s, "a,b\n0,ok\n1,\"");
    memset (s + n, 'z', TL_CSV_LINE_MAX);
    n += TL_CSV_LINE_MAX;
    n += (size_t) sprintf (s + n, "\nzz,FAKE\n\"\n3,ok\n");
    for (size_t k = 0; k < sizeof chunks / sizeof chunks [0]; k++) {
        s_res_t r = s_scan ("b", s, n, chunks [k]);
        assert_int_equal (r.rc, TL_EPROTO);     /* (what it counted before failing is thrown away) */
        tl_agg_destroy (&r.agg);
    }
    /* Over-long with its quotes closed before the newline: one bad row, the rows after count. */
    n = (size_t) sprintf (s, "a,b\n0,ok\n1,\"");
    memset (s + n, 'z', TL_CSV_LINE_MAX);
    n += TL_CSV_LINE_MAX;
    n += (size_t) sprintf (s + n, "\"\"x\",big\"q\n2,ok\n3,\"q\"\n");
    s_res_t ref = s_scan ("b", s, n, 0);
    assert_int_equal (ref.rc, 0);
    assert_int_equal (ref.st.bad, 1);
    assert_int_equal (ref.st.rows, 3);
    assert_int_equal (GET (ref.agg, "ok"), 2);
    assert_int_equal (GET (ref.agg, "q"), 1);
    for (size_t k = 0; k < sizeof chunks / sizeof chunks [0]; k++) {
        s_res_t r = s_scan ("b", s, n, chunks [k]);
        s_assert_same (&ref, &r);
        tl_agg_destroy (&r.agg);
        r = s_scan_with ("b", s, n, 200000, 7 + (unsigned) k);
        s_assert_same (&ref, &r);
        tl_agg_destroy (&r.agg);
    }
    tl_agg_destroy (&ref.agg);
    /* A multi-line record of exactly TL_CSV_LINE_MAX bytes is a row. */
    n = (size_t) sprintf (s, "a,b\n1,\"");
    r0 = 4;
    while (n < r0 + TL_CSV_LINE_MAX - 100)
        n += (size_t) sprintf (s + n, "line\n");
    memset (s + n, 'x', r0 + TL_CSV_LINE_MAX - 1 - n);
    n = r0 + TL_CSV_LINE_MAX - 1;
    s [n++] = '"';
    n += (size_t) sprintf (s + n, "\n2,y\n");
    for (size_t k = 0; k < sizeof chunks / sizeof chunks [0]; k++) {
        s_res_t r = s_scan ("a", s, n, chunks [k]);
        assert_int_equal (r.rc, 0);
        assert_int_equal (r.st.rows, 2);
        assert_int_equal (r.st.bad, 0);
        assert_int_equal (r.st.multiline, 1);
        assert_int_equal (GET (r.agg, "1"), 1);
        tl_agg_destroy (&r.agg);
    }
    free (s);
}

/*  The reference reader, written from RFC 4180 and not from the scanner: a record is fields
    separated by commas and ended by a newline outside quotes; a field that starts with a quote
    runs to the next lone quote, and "" inside it is one quote. It reads the well-formed text
    s_gen writes (quotes only around whole fields), with the scanner's documented extras: a
    record that is empty or just "\r" is a blank line, the first other one is the header, and a
    "\r" before the newline ends the record. The key is the fields cols[] joined by 0x1f; a
    record without all of them is bad. */
typedef struct {
    uint64_t rows, bad, blank, multiline;
} s_refst_t;

static void
s_reference (const char *t, size_t len, const int *cols, int ncols, tl_agg_t *agg, s_refst_t *st)
{
    char *val = malloc (len + 1), *key = malloc (len + 16);
    bool header = true;
    size_t i = 0;
    while (i < len) {
        size_t fs [64], fl [64], bo = 0, start = i;
        int nf = 0;
        bool newline_inside = false, end = false;
        while (!end) {
            fs [nf] = bo;
            if (i < len && t [i] == '"') {
                for (i++; i < len; i++) {
                    if (t [i] == '"' && i + 1 < len && t [i + 1] == '"')
                        val [bo++] = t [i++];
                    else if (t [i] == '"')
                        break;
                    else {
                        newline_inside |= t [i] == '\n';
                        val [bo++] = t [i];
                    }
                }
                i++;    /* the closing quote */
                if (i + 1 < len && t [i] == '\r' && t [i + 1] == '\n')
                    i++;
            }
            else {
                while (i < len && t [i] != ',' && t [i] != '\n')
                    val [bo++] = t [i++];
                if ((i >= len || t [i] == '\n') && bo > fs [nf] && val [bo - 1] == '\r')
                    bo--;
            }
            fl [nf] = bo - fs [nf];
            nf += nf < 63;
            if (i >= len || t [i] == '\n')
                end = true;
            i++;    /* the comma or the newline */
        }
        size_t raw = (i > len ? len : i - 1) - start;
        if (raw == 0 || (raw == 1 && t [start] == '\r')) {
            st->blank++;
            continue;
        }
        st->multiline += newline_inside;
        if (header) {
            header = false;
            continue;
        }
        size_t kl = 0;
        int ok = 1;
        for (int c = 0; c < ncols && ok; c++) {
            if (cols [c] >= nf) {
                ok = 0;
                break;
            }
            if (c)
                key [kl++] = '\x1f';
            memcpy (key + kl, val + fs [cols [c]], fl [cols [c]]);
            kl += fl [cols [c]];
        }
        if (!ok)
            st->bad++;
        else {
            assert_int_equal (tl_agg_add (agg, key, kl, 1), 0);
            st->rows++;
        }
    }
    free (val);
    free (key);
}

/*  Random well-formed CSV (header a,b,c,d): plain and quoted fields, quoted newlines (LF and
    CRLF), "" escapes, commas in quotes, blank lines, short and long rows, LF and CRLF record
    ends, fields long enough to move values and newlines across the line hop's 64-byte look.
    qpct: how many fields in a hundred are quoted. */
static char *
s_gen (unsigned *seed, size_t cap, int qpct, size_t *len)
{
    static const char *plain [] = { "1", "22", "x", "", "abc", "0", "7" };
    static const char *quoted [] = { "\"q\"", "\"a,b\"", "\"he said \"\"hi\"\"\"", "\"l1\nl2\"", "\"c1\r\nc2\"",
                                     "\"\n\"", "\"a\n\nb\"", "\"\"", "\"x\"\"\ny\"", "\"\"\"\"", "\",\n,\"", "\"\r\n\"" };
    char *t = malloc (cap + 1000);
    size_t n = (size_t) sprintf (t, "a,b,c,d%s", rand_r (seed) % 2 ? "\r\n" : "\n");
    while (n < cap) {
        int k = rand_r (seed) % 30;
        if (k == 0) {
            n += (size_t) sprintf (t + n, "%s", rand_r (seed) % 2 ? "\n" : "\r\n");
            continue;
        }
        int nf = k == 1 ? 2 : k == 2 ? 5 : 4;
        for (int f = 0; f < nf; f++) {
            if (f)
                t [n++] = ',';
            int kind = rand_r (seed) % 100;
            if (kind < 90 && kind >= qpct)
                n += (size_t) sprintf (t + n, "%s", plain [rand_r (seed) % 7]);
            else if (kind < 90)
                n += (size_t) sprintf (t + n, "%s", quoted [rand_r (seed) % 12]);
            else {
                /* A long field, perhaps quoted with a newline somewhere in it. */
                int l = rand_r (seed) % 140, q = rand_r (seed) % 2;
                if (q)
                    t [n++] = '"';
                for (int j = 0; j < l; j++)
                    t [n++] = q && rand_r (seed) % 50 == 0 ? '\n' : 'p';
                if (q)
                    t [n++] = '"';
            }
        }
        n += (size_t) sprintf (t + n, "%s", rand_r (seed) % 4 ? "\n" : "\r\n");
    }
    if (rand_r (seed) % 3 == 0 && t [n - 1] == '\n')
        n -= n >= 2 && t [n - 2] == '\r' ? 2 : 1;   /* no newline at the end */
    t [n] = 0;
    *len = n;
    return t;
}

/*  A whole-object count equals the reference's, in plain mode (every column) and query mode,
    fed in random chunks, one byte at a time, and whole. */
static void
test_quoted_reference (void **state)
{
    (void) state;
    unsigned seed = 777;
    for (int iter = 0; iter < 24; iter++) {
        size_t len;
        bool big = iter % 3 == 2;
        char *t = s_gen (&seed, big ? 300000 : 3000, iter % 2 ? 3 : 40, &len);
        static const char *specs [] = { "a", "b", "c", "d", "by b\nby d\n", "by d\nby a\nagg count\n" };
        static const int cols [][2] = { { 0 }, { 1 }, { 2 }, { 3 }, { 1, 3 }, { 3, 0 } };
        for (int s = 0; s < 6; s++) {
            tl_agg_t *ragg = tl_agg_new ();
            s_refst_t ref = { 0 };
            s_reference (t, len, cols [s], s < 4 ? 1 : 2, ragg, &ref);
            for (int way = 0; way < 3; way++) {
                if (way == 1 && big)
                    continue;
                s_res_t r = way == 0 ? s_scan_with (specs [s], t, len, big ? 70000 : 200, seed + (unsigned) s)
                          : way == 1 ? s_scan (specs [s], t, len, 1)
                                     : s_scan (specs [s], t, len, 0);
                assert_int_equal (r.rc, 0);
                assert_int_equal (r.st.rows, ref.rows);
                assert_int_equal (r.st.bad, ref.bad);
                assert_int_equal (r.st.blank, ref.blank);
                assert_int_equal (r.st.multiline, ref.multiline);
                assert_int_equal (tl_agg_size (r.agg), tl_agg_size (ragg));
                size_t pos = 0;
                tl_agg_entry_t en;
                while (tl_agg_next (ragg, &pos, &en))
                    assert_int_equal (tl_agg_get (r.agg, en.key, en.len), en.count);
                tl_agg_destroy (&r.agg);
            }
            tl_agg_destroy (&ragg);
        }
        free (t);
    }
}

/*  Ranges over text with quoted newlines, cut at random points (and once by tl_csv_set_end):
    when no range reports a multi-line record, the ranges sum to the whole, exactly; when the
    object has one, some range reports it. */
static void
test_ranges_multiline (void **state)
{
    (void) state;
    unsigned seed = 99;
    int exact = 0, loud = 0;
    for (int iter = 0; iter < 200; iter++) {
        size_t n;
        char *t = s_gen (&seed, iter % 10 == 9 ? 100000 : 1500, iter % 4 < 2 ? 40 : 3, &n);
        if (iter % 2) {
            /* Half the files keep their quotes but lose the quoted newlines. */
            char *w = t;
            bool inq = false;
            for (size_t i = 0; i < n; i++) {
                if (t [i] == '"')
                    inq = !inq;
                if (!(inq && (t [i] == '\n' || t [i] == '\r')))
                    *w++ = t [i];
            }
            n = (size_t) (w - t);
        }
        size_t chunk = 1 + (size_t) rand_r (&seed) % (n > 3000 ? 9000 : 100);
        s_res_t whole = s_range ("c", t, n, 0, n, chunk, 0);
        tl_agg_t *parts = tl_agg_new ();
        tl_csv_stats_t sum = { 0 };
        uint64_t ml = 0;
        size_t cuts = 1 + (size_t) rand_r (&seed) % 8, start = 0;
        for (size_t k = 0; k <= cuts && start < n; k++) {
            size_t end = k == cuts ? n : start + 1 + (size_t) rand_r (&seed) % (n / cuts + 2);
            if (end > n)
                end = n;
            /* The first range is sometimes a whole-object task cut by tl_csv_set_end. */
            bool cut = k == 0 && end < n && rand_r (&seed) % 2;
            s_res_t r = s_range ("c", t, n, start, cut ? n : end, chunk, cut ? end : 0);
            if (cut) {
                /* The cut lands at or after the first chunk: where the range really ends. */
                end = end > chunk ? end : chunk;
                if (end > n)
                    end = n;
            }
            sum.rows += r.st.rows;
            sum.bad += r.st.bad;
            sum.blank += r.st.blank;
            ml += r.st.multiline;
            size_t pos = 0;
            tl_agg_entry_t en;
            while (tl_agg_next (r.agg, &pos, &en))
                tl_agg_add (parts, en.key, en.len, en.count);
            tl_agg_destroy (&r.agg);
            start = end;
        }
        if (whole.st.multiline)
            assert_true (ml > 0);       /* loud */
        if (ml == 0) {
            exact++;
            assert_int_equal (sum.rows, whole.st.rows);
            assert_int_equal (sum.bad, whole.st.bad);
            assert_int_equal (sum.blank, whole.st.blank);
            assert_int_equal (tl_agg_size (parts), tl_agg_size (whole.agg));
            size_t pos = 0;
            tl_agg_entry_t en;
            while (tl_agg_next (whole.agg, &pos, &en))
                assert_int_equal (tl_agg_get (parts, en.key, en.len), en.count);
        }
        else
            loud++;
        tl_agg_destroy (&whole.agg);
        tl_agg_destroy (&parts);
        free (t);
    }
    assert_true (exact > 20 && loud > 20);      /* both kinds were tried */
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
            cmocka_unit_test_prestate_setup_teardown (test_lone_cr, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_after_quote_and_bom, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_header_matching, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_quoted_and_long, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_empty_objects, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_ranges_property, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_quoted_newlines, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_ranges_inside_quotes, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_header_too_long, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_overlong_record, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_quoted_reference, s_setup_impl, NULL, st),
            cmocka_unit_test_prestate_setup_teardown (test_ranges_multiline, s_setup_impl, NULL, st),
        };
        print_message ("scanner: %s\n", tl_csv_impl_name ((int) impl));
        failed += cmocka_run_group_tests_name (tl_csv_impl_name ((int) impl), tests, NULL, NULL);
    }
    const struct CMUnitTest agree [] = { cmocka_unit_test (test_scanners_agree) };
    failed += cmocka_run_group_tests_name ("agree", agree, NULL, NULL);
    return failed;
}
