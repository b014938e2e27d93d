/*  Shell helpers: sizes, numbers, and the repeat counter behind "log a repeated failure once". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <stdio.h>
#include "lib/base/json.h"
#include "lib/base/util.h"
#include <string.h>

static void
test_seen_before (void **state)
{
    (void) state;
    zhash_t *h = zhash_new ();
    assert_int_equal (tl_seen_before (h, "column 'x' not found"), 0);
    assert_int_equal (tl_seen_before (h, "column 'x' not found"), 1);
    assert_int_equal (tl_seen_before (h, "column 'x' not found"), 2);
    assert_int_equal (tl_seen_before (h, "HTTP 403"), 0);
    /* Bounded: past 4,096 distinct texts the set starts afresh instead of growing. */
    char b [32];
    for (int i = 0; i < 10000; i++) {
        snprintf (b, sizeof b, "t%d", i);
        assert_int_equal (tl_seen_before (h, b), 0);
        assert_true (zhash_size (h) <= 4096);
    }
    assert_int_equal (tl_seen_before (h, "t9999"), 1);
    zhash_destroy (&h);
}

static void
test_parse_size (void **state)
{
    (void) state;
    uint64_t v = 0;
    assert_int_equal (tl_parse_size ("64M", &v), 0);
    assert_int_equal (v, 64ULL << 20);
    assert_int_equal (tl_parse_size ("256K", &v), 0);
    assert_int_equal (v, 256ULL << 10);
    assert_true (tl_parse_size ("lots", &v) != 0);
}

/*  JSON escaping: valid UTF-8 passes, every byte outside it becomes \ufffd (so the output is
    always JSON a parser takes), controls and quotes are escaped, and a character is never cut
    by a short output buffer. */
static void
test_json_escape (void **state)
{
    (void) state;
    struct { const char *in; size_t n; const char *out; bool valid; } cases [] = {
        { "plain", 5, "plain", true },
        { "a\"b\\c\n\x7f", 7, "a\\\"b\\\\c\\u000a\\u007f", true },
        { "na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80", 15, "na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80", true },
        { "caf\xe9", 4, "caf\\ufffd", false },                     /* Latin-1 */
        { "\xc0\x80", 2, "\\ufffd\\ufffd", false },                /* overlong NUL */
        { "\xe0\x80\xaf", 3, "\\ufffd\\ufffd\\ufffd", false },     /* overlong '/' */
        { "\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd", false },     /* a surrogate */
        { "\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd", false },  /* past U+10FFFF */
        { "\xf5\x80", 2, "\\ufffd\\ufffd", false },
        { "x\xe2\x82", 3, "x\\ufffd\\ufffd", false },              /* cut short */
        { "\x80" "a", 2, "\\ufffda", false },                      /* a stray continuation */
        { "\xef\xbf\xbf", 3, "\xef\xbf\xbf", true },               /* U+FFFF is a character */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out [256];
        assert_int_equal (tl_json_escape (cases [i].in, cases [i].n, out, sizeof out), cases [i].n);
        assert_string_equal (out, cases [i].out);
        assert_int_equal (tl_utf8_valid (cases [i].in, cases [i].n), cases [i].valid);
    }
    /* Room for "a" and part of the euro sign only: it stops before the sign, whole. */
    char small [4];
    assert_int_equal (tl_json_escape ("a\xe2\x82\xac", 4, small, sizeof small), 1);
    assert_string_equal (small, "a");
    assert_int_equal (tl_json_escape ("\xe9", 1, small, sizeof small), 0);     /* \ufffd needs 7 */
    assert_string_equal (small, "");
}

int
main (void)
{
    const struct CMUnitTest tests [] = { cmocka_unit_test (test_seen_before), cmocka_unit_test (test_parse_size),
                                         cmocka_unit_test (test_json_escape) };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
