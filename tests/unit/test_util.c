/*  Shell helpers: sizes, numbers, and the repeat counter behind "log a repeated failure once". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <czmq.h>
#include <stdio.h>
#include "lib/base/util.h"

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

int
main (void)
{
    const struct CMUnitTest tests [] = { cmocka_unit_test (test_seen_before), cmocka_unit_test (test_parse_size) };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
