/*  The query module: building and parsing the text, resolving columns through aliases, rows
    with filters and aggregates; value cells through the aggregator, the codec and the ledger. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wire/codec.h"
#include "lib/core/csv.h"
#include "lib/core/query.h"
#include "reducer/ledger.h"

static void
test_build_plain_and_full (void **state)
{
    (void) state;
    tl_err_t e;
    char *t = NULL;
    const char *by1 [] = { "passenger_count" };
    const char *cnt [] = { "count" };
    assert_int_equal (tl_query_build (by1, 1, cnt, 1, NULL, 0, NULL, 0, &t, &e), 0);
    assert_string_equal (t, "passenger_count");     /* the plain form: the fast path */
    free (t);
    const char *by2 [] = { "vendor_id, tpep_pickup_datetime[0:10]" };
    const char *aggs [] = { "sum:trip_distance", "AVG(fare_amount)" };
    const char *where [] = { "passenger_count > 0" };
    const char *alias [] = { "fare_amount=Fare_Amt|fare" };
    assert_int_equal (tl_query_build (by2, 1, aggs, 2, where, 1, alias, 1, &t, &e), 0);
    assert_string_equal (t, "by vendor_id\nby tpep_pickup_datetime[0:10]\nagg sum:trip_distance\n"
                            "agg AVG(fare_amount)\nwhere passenger_count > 0\nalias fare_amount=Fare_Amt|fare\n");
    tl_query_t q;
    assert_int_equal (tl_query_parse (t, &q, &e), 0);
    assert_int_equal (q.nby, 2);
    assert_int_equal (q.by [1].from, 0);
    assert_int_equal (q.by [1].to, 10);
    assert_int_equal (q.naggs, 2);
    assert_int_equal (q.nvals, 2);
    assert_int_equal (q.aggs [1].kind, TL_Q_AVG);
    assert_int_equal (q.where [0].op, TL_Q_GT);
    assert_true (q.where [0].numeric);
    char l [200];
    tl_query_agg_label (&q, 1, l, sizeof l);
    assert_string_equal (l, "avg(fare_amount)");
    tl_query_by_label (&q, 1, l, sizeof l);
    assert_string_equal (l, "tpep_pickup_datetime[0:10]");
    free (t);
    /* Errors name the piece. */
    const char *bad [] = { "median:x" };
    assert_int_not_equal (tl_query_build (by1, 1, bad, 1, NULL, 0, NULL, 0, &t, &e), 0);
    assert_non_null (strstr (e.msg, "median:x"));
    const char *badw [] = { "x ~ 1" };
    assert_int_not_equal (tl_query_build (by1, 1, NULL, 0, badw, 1, NULL, 0, &t, &e), 0);
    const char *bads [] = { "x[3:1]" };
    assert_int_not_equal (tl_query_build (bads, 1, NULL, 0, NULL, 0, NULL, 0, &t, &e), 0);
    assert_int_not_equal (tl_query_parse ("by x\nfrobnicate\n", &q, &e), 0);
    assert_int_not_equal (tl_query_parse ("by x\nagg count", &q, &e), 0);   /* no final newline */
}

static void
test_resolve_aliases (void **state)
{
    (void) state;
    tl_err_t e;
    tl_query_t q;
    const char *h09 = "vendor_name,Trip_Pickup_DateTime,Trip_Dropoff_DateTime,Passenger_Count,Trip_Distance";
    assert_int_equal (tl_query_parse ("by tpep_pickup_datetime[0:10]\nby VendorID\nagg sum:trip_distance\n", &q, &e), 0);
    assert_int_equal (tl_query_resolve (&q, h09, strlen (h09), &e), 0);
    assert_int_equal (q.by [0].col, 1);
    assert_int_equal (q.by [1].col, 0);
    assert_int_equal (q.aggs [0].col.col, 4);
    assert_int_equal (q.maxcol, 4);
    assert_int_equal (tl_query_parse ("by mine\nalias mine=nope|Passenger_Count\n", &q, &e), 0);
    assert_int_equal (tl_query_resolve (&q, h09, strlen (h09), &e), 0);
    assert_int_equal (q.by [0].col, 3);
    assert_int_equal (tl_query_parse ("by nothing_like_it\nagg count\n", &q, &e), 0);
    assert_int_equal (tl_query_resolve (&q, h09, strlen (h09), &e), TL_ECOLUMN);
    assert_non_null (strstr (e.msg, "nothing_like_it"));
    /* Two other names of the asked one in two columns: which is meant cannot be told. */
    const char *both = "Trip_Pickup_DateTime,x,pickup_datetime";
    assert_int_equal (tl_query_find_column (NULL, both, strlen (both), "tpep_pickup_datetime"), TL_QUERY_ALIAS_TWICE);
    assert_int_equal (tl_query_find_column (NULL, both, strlen (both), "pickup_datetime"), 2);
    assert_int_equal (tl_query_parse ("by mine\nalias mine=x|pickup_datetime\n", &q, &e), 0);
    assert_int_equal (tl_query_resolve (&q, both, strlen (both), &e), TL_ECOLUMN);
    assert_non_null (strstr (e.msg, "two of its other names"));
    /* One column under two of its names (case aside) is no ambiguity. */
    assert_int_equal (tl_query_find_column (NULL, "a,Fare_Amt", 10, "fare_amount"), 1);
    /* By number, past the header's fields: every row would be bad. */
    assert_int_equal (tl_query_parse ("by 2\nagg sum:6\n", &q, &e), 0);
    assert_int_equal (tl_query_resolve (&q, h09, strlen (h09), &e), TL_ECOLUMN);
    assert_non_null (strstr (e.msg, "column 6 asked for"));
    assert_int_equal (tl_query_parse ("by 2\nagg sum:5\n", &q, &e), 0);
    assert_int_equal (tl_query_resolve (&q, h09, strlen (h09), &e), 0);
}

static tl_field_t
f (const char *s)
{
    return (tl_field_t) { s, strlen (s) };
}

static void
test_rows (void **state)
{
    (void) state;
    tl_err_t e;
    tl_query_t q;
    assert_int_equal (tl_query_parse ("by 1[0:4]\nby 2\nagg sum:3\nagg max:3\nagg avg:3\nwhere 2 >= 2\nwhere 1 != x\n", &q, &e), 0);
    const char *h = "a,b,c";
    assert_int_equal (tl_query_resolve (&q, h, strlen (h), &e), 0);
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) q.nvals);
    tl_qstats_t st = { 0 };
    tl_field_t r1 [] = { f ("2015-01-01"), f ("2"), f ("1.5") };
    tl_field_t r2 [] = { f ("2015-02-01"), f ("3"), f ("abc") };     /* a bad value */
    tl_field_t r3 [] = { f ("2015-03-01"), f ("1"), f ("9") };       /* filtered: 1 < 2 */
    tl_field_t r4 [] = { f ("x"), f ("5"), f ("9") };                /* filtered: x */
    tl_field_t r5 [] = { f ("2015-03-01"), f ("") , f ("9") };       /* filtered: "" is no number */
    tl_field_t r6 [] = { f ("2015") };                               /* too few columns */
    tl_field_t r7 [] = { f ("2015-12-31"), f ("2"), f ("-2.5") };
    tl_query_row (&q, r1, 3, agg, &st);
    tl_query_row (&q, r2, 3, agg, &st);
    tl_query_row (&q, r3, 3, agg, &st);
    tl_query_row (&q, r4, 3, agg, &st);
    tl_query_row (&q, r5, 3, agg, &st);
    tl_query_row (&q, r6, 1, agg, &st);
    tl_query_row (&q, r7, 3, agg, &st);
    assert_int_equal (st.rows, 3);
    assert_int_equal (st.filtered, 3);
    assert_int_equal (st.bad, 1);
    char k1 [] = "2015\x1f" "2", k2 [] = "2015\x1f" "3";
    assert_int_equal (tl_agg_get (agg, k1, strlen (k1)), 2);
    assert_int_equal (tl_agg_get (agg, k2, strlen (k2)), 1);
    size_t pos = 0;
    tl_agg_entry_t en;
    int seen = 0;
    while (tl_agg_next (agg, &pos, &en)) {
        if (en.len == strlen (k1) && memcmp (en.key, k1, en.len) == 0) {
            assert_int_equal (en.cells [0].n, 2);
            assert_true (en.cells [0].sum == -1.0);
            assert_true (en.cells [1].max == 1.5);
            seen++;
        }
        else {
            assert_int_equal (en.cells [0].n, 0);
            assert_int_equal (en.cells [0].bad, 1);   /* never taken as 0 */
            assert_true (isinf (en.cells [1].max));
            seen++;
        }
    }
    assert_int_equal (seen, 2);
    tl_agg_destroy (&agg);
}

/*  Cells survive the codec and the ledger's checkpoint; a partial of another shape is refused. */
static void
test_cells_codec_ledger (void **state)
{
    (void) state;
    const char *qtext = "by 1\nagg sum:2\nagg min:2\n";
    tl_agg_t *a = tl_agg_new_cells (2);
    for (int i = 0; i < 100; i++) {     /* enough keys to make the table grow */
        char k [16];
        snprintf (k, sizeof k, "k%d", i);
        int rc;
        tl_cell_t *c = tl_agg_upsert (a, k, strlen (k), 1, &rc);
        assert_int_equal (rc, 0);
        c [0].n++;
        c [0].sum += i;
        c [1].n++;
        c [1].min = fmin (c [1].min, (double) i);
    }
    size_t n = tl_agg_size (a), pos = 0, i = 0;
    tl_agg_entry_t *g = calloc (n, sizeof *g);
    while (tl_agg_next (a, &pos, &g [i]))
        i++;
    tl_msg_t m = { .type = TL_MSG_PARTIAL, .job = "j", .task = 0, .attempt = 1, .mapper = "m", .length = 10,
                   .rows = 100, .bytes = 10, .groups = g, .n_groups = n, .ncells = 2, .filtered = 7 };
    char *buf;
    size_t len;
    assert_int_equal (tl_msg_encode (&m, &buf, &len), 0);
    tl_msg_t d;
    tl_err_t e;
    assert_int_equal (tl_msg_decode (buf, len, &d, &e), 0);
    assert_int_equal (d.ncells, 2);
    assert_int_equal (d.filtered, 7);
    tl_ledger_t *l = tl_ledger_new ();
    tl_ledger_set_cells (l, 2);
    tl_ledger_set_tasks (l, 2);
    assert_int_equal (tl_ledger_apply (l, &d), 1);
    char *ck;
    size_t cklen;
    tl_ledger_meta_t meta = { "j", qtext, 10, false, false, "", "", "", 1 };
    assert_int_equal (tl_ledger_save (l, &meta, &ck, &cklen), 0);
    tl_ledger_t *l2 = tl_ledger_new ();
    tl_ledger_meta_t back;
    assert_int_equal (tl_ledger_load (l2, &back, ck, cklen, &e), 0);
    const tl_agg_t *t = tl_ledger_totals (l2);
    assert_int_equal (tl_agg_ncells (t), 2);
    pos = 0;
    tl_agg_entry_t en;
    double sum = 0, min = INFINITY;
    while (tl_agg_next (t, &pos, &en)) {
        sum += en.cells [0].sum;
        min = fmin (min, en.cells [1].min);
    }
    assert_true (sum == 4950.0);
    assert_true (min == 0.0);
    assert_int_equal (tl_ledger_stats (l2).filtered, 7);
    /* A partial without cells (another query) is refused, not merged. */
    d.ncells = 0;
    d.task = 1;
    assert_int_equal (tl_ledger_apply (l2, &d), TL_EINVAL);
    tl_msg_clear (&d);
    free (buf);
    free (ck);
    free (g);
    tl_ledger_destroy (&l);
    tl_ledger_destroy (&l2);
    tl_agg_destroy (&a);
}

/*  Query mode in the scanner: quotes, CRLF, blank lines, a header found through an alias, and
    the same result whatever the chunking. */
static void
test_csv_query_mode (void **state)
{
    (void) state;
    const char *text = "vendor_name,Trip_Pickup_DateTime,fare\r\n\r\n"
                       "VTS,2009-01-01 10:00,1.5\r\n"
                       "\"C,MT\",2009-01-02 11:00,\"2.5\"\r\n"
                       "VTS,2009-01-01 12:00,oops\r\n"
                       "short\r\n"
                       "VTS,2009-01-03 12:00,4";
    for (size_t chunk = 1; chunk <= strlen (text); chunk += 7) {
        tl_agg_t *agg = tl_agg_new_cells (1);
        tl_csv_t *c = tl_csv_new ("by VendorID\nby pickup_datetime[0:10]\nagg sum:fare\n", agg);
        assert_non_null (c);
        tl_err_t e;
        for (size_t o = 0; o < strlen (text); o += chunk) {
            size_t n = strlen (text) - o < chunk ? strlen (text) - o : chunk;
            assert_true (tl_csv_feed (c, text + o, n, &e) >= 0);
        }
        assert_int_equal (tl_csv_finish (c, &e), 0);
        tl_csv_stats_t st = tl_csv_stats (c);
        assert_int_equal (st.rows, 4);
        assert_int_equal (st.bad, 1);
        assert_int_equal (st.blank, 1);
        char k [] = "C,MT\x1f" "2009-01-02";
        assert_int_equal (tl_agg_get (agg, k, strlen (k)), 1);
        char k2 [] = "VTS\x1f" "2009-01-01";
        assert_int_equal (tl_agg_get (agg, k2, strlen (k2)), 2);
        tl_csv_destroy (&c);
        tl_agg_destroy (&agg);
    }
}

/*  tl_query_parse_num's fast path must give strtod's double, bit for bit, on every text it
    takes, and refuse what strtod's checks refuse. */
static void
test_parse_num_matches_strtod (void **state)
{
    (void) state;
    srand (977);
    char buf [64];
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = 0;
        int r = rand () % 10;
        if (r == 0)
            buf [n++] = '-';
        else if (r == 1)
            buf [n++] = '+';
        int intd = rand () % 19, fracd = rand () % 10 < 7 ? rand () % 25 : -1;
        for (int k = 0; k < intd; k++)
            buf [n++] = (char) ('0' + rand () % 10);
        if (fracd >= 0) {
            buf [n++] = '.';
            for (int k = 0; k < fracd; k++)
                buf [n++] = (char) ('0' + rand () % 10);
        }
        buf [n] = 0;
        double got = 0, want = 0;
        int ok = tl_query_parse_num (buf, n, &got);
        char *x;
        want = strtod (buf, &x);
        int wok = n > 0 && x != buf && *x == 0;
        assert_int_equal (ok, wok);
        if (ok)
            assert_memory_equal (&got, &want, sizeof got);
    }
    double v;
    static const char *no [] = { "", " ", ".", "-", "1e", "0x10", "nan", "inf", "1.2.3", "12a" };
    for (size_t i = 0; i < sizeof no / sizeof no [0]; i++)
        assert_int_equal (tl_query_parse_num (no [i], strlen (no [i]), &v), 0);
    assert_int_equal (tl_query_parse_num (" 1.59 ", 6, &v), 1);
    assert_true (v == 1.59);
    assert_int_equal (tl_query_parse_num ("1e3", 3, &v), 1);    /* exponents: strtod's way */
    assert_true (v == 1000.0);
}

/*  Issue 17: a value that starts with an operator character, or an operator split or doubled,
    is a likely typo ('passenger_count >> 3' would compare with the text "> 3" and keep no row):
    an error that shows how it was read. Quoted, such a value is meant. */
static void
test_where_operator_typos (void **state)
{
    (void) state;
    tl_err_t e;
    char *t = NULL;
    tl_query_t q;
    const char *by [] = { "passenger_count" };
    const char *w1 [] = { "passenger_count >> 3" };
    assert_int_equal (tl_query_build (by, 1, NULL, 0, w1, 1, NULL, 0, &t, &e), TL_EINVAL);
    assert_null (t);
    assert_non_null (strstr (e.msg, "--where 'passenger_count >> 3': a value cannot start with '>'"));
    assert_non_null (strstr (e.msg, "passenger_count > '> 3'"));     /* the parse it would have been */
    static const struct {
        const char *where;
        char first;
    } typos [] = { { "a =< 3", '<' }, { "a <> 3", '>' }, { "a === 3", '=' }, { "a !== 3", '=' }, { "a => 3", '>' },
                   { "a =! 3", '!' }, { "a != !x", '!' }, { "a < <3", '<' }, { "a >>3", '>' }, { "a<=>3", '>' } };
    for (size_t i = 0; i < sizeof typos / sizeof typos [0]; i++) {
        const char *w [] = { typos [i].where };
        assert_int_equal (tl_query_build (by, 1, NULL, 0, w, 1, NULL, 0, &t, &e), TL_EINVAL);
        char want [64];
        snprintf (want, sizeof want, "a value cannot start with '%c'", typos [i].first);
        assert_non_null (strstr (e.msg, want));
    }
    const char *w2 [] = { "a ! = 3" };     /* '!' alone is no operator: it would be part of the name */
    assert_int_equal (tl_query_build (by, 1, NULL, 0, w2, 1, NULL, 0, &t, &e), TL_EINVAL);
    assert_non_null (strstr (e.msg, "a column name cannot end with '!'"));
    /* The wire form is checked the same way (a broker or mapper given such text refuses it). */
    assert_int_equal (tl_query_parse ("by a\nwhere a >> 3\n", &q, &e), TL_EINVAL);
    /* Quoted, it is meant: the value is the text between the quotes. */
    const char *w3 [] = { "passenger_count > '>3'", "b = \"=x\"", "c != '!'" };
    assert_int_equal (tl_query_build (by, 1, NULL, 0, w3, 3, NULL, 0, &t, &e), 0);
    assert_int_equal (tl_query_parse (t, &q, &e), 0);
    assert_string_equal (q.where [0].value, ">3");
    assert_int_equal (q.where [0].op, TL_Q_GT);
    assert_false (q.where [0].numeric);
    assert_string_equal (q.where [1].value, "=x");
    assert_string_equal (q.where [2].value, "!");
    assert_int_equal (q.where [2].op, TL_Q_NE);
    free (t);
    /* The two-character operators and values without operator characters are as before. */
    const char *ok [] = { "a >= 3", "a<=3", "a != x", "a == -1", "a = 'x'", "a > 2015-01-01 00:00:00", "a!=3" };
    static const tl_qop_t ops [] = { TL_Q_GE, TL_Q_LE, TL_Q_NE, TL_Q_EQ, TL_Q_EQ, TL_Q_GT, TL_Q_NE };
    assert_int_equal (tl_query_build (by, 1, NULL, 0, ok, 7, NULL, 0, &t, &e), 0);
    assert_int_equal (tl_query_parse (t, &q, &e), 0);
    for (int i = 0; i < 7; i++)
        assert_int_equal (q.where [i].op, ops [i]);
    assert_string_equal (q.where [3].value, "-1");
    assert_true (q.where [3].numeric);
    assert_string_equal (q.where [5].value, "2015-01-01 00:00:00");
    free (t);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_build_plain_and_full), cmocka_unit_test (test_resolve_aliases),
        cmocka_unit_test (test_where_operator_typos),
        cmocka_unit_test (test_rows), cmocka_unit_test (test_cells_codec_ledger),
        cmocka_unit_test (test_csv_query_mode), cmocka_unit_test (test_parse_num_matches_strtod),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
