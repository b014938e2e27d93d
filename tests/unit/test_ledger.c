/*  The ledger's digests and verification copies: a copy is judged against the digest of the
    partial applied for its task when the job keeps digests, and is never judged (TL_EINVAL:
    cannot be verified here) against a digest that was not made. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "lib/base/err.h"
#include "reducer/ledger.h"

static tl_msg_t
s_partial (uint64_t task, const char *mapper, tl_agg_entry_t *g, size_t n, uint64_t verify)
{
    uint64_t rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += g [i].count;
    return (tl_msg_t) { .type = TL_MSG_PARTIAL, .job = "j", .task = task, .mapper = mapper, .length = 10,
                        .rows = rows, .groups = g, .n_groups = n, .verify = verify };
}

static void
test_verify_digests (void **state)
{
    (void) state;
    tl_ledger_t *l = tl_ledger_new ();
    assert_int_equal (tl_ledger_set_tasks (l, 4), 0);
    tl_agg_entry_t g [] = { { "a", 1, 3, NULL }, { "b", 1, 1, NULL } };
    tl_agg_entry_t other [] = { { "a", 1, 2, NULL }, { "b", 1, 2, NULL } };
    const char *by;
    /* Kept (the default): the same counts agree, others do not. */
    tl_msg_t p = s_partial (0, "m1", g, 2, 0);
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    tl_msg_t same = s_partial (0, "m2", g, 2, 1), differs = s_partial (0, "m2", other, 2, 1);
    assert_int_equal (tl_ledger_verify (l, &same, &by), 1);
    assert_string_equal (by, "m1");
    assert_int_equal (tl_ledger_verify (l, &differs, &by), 0);
    /* Not kept: a task applied then cannot be verified, whatever the copy says. */
    tl_ledger_keep_digests (l, false);
    p = s_partial (1, "m1", g, 2, 0);
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    tl_msg_t s1 = s_partial (1, "m2", g, 2, 2), d1 = s_partial (1, "m2", other, 2, 2);
    assert_int_equal (tl_ledger_verify (l, &s1, &by), TL_EINVAL);
    assert_int_equal (tl_ledger_verify (l, &d1, &by), TL_EINVAL);
    /* Kept again: tasks applied from then on are judged; the one applied without stays unjudged,
       and the first keeps its digest. */
    tl_ledger_keep_digests (l, true);
    p = s_partial (2, "m1", g, 2, 0);
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    tl_msg_t s2 = s_partial (2, "m2", g, 2, 3), d2 = s_partial (2, "m2", other, 2, 3);
    assert_int_equal (tl_ledger_verify (l, &s2, &by), 1);
    assert_int_equal (tl_ledger_verify (l, &d2, &by), 0);
    assert_int_equal (tl_ledger_verify (l, &s1, &by), TL_EINVAL);
    assert_int_equal (tl_ledger_verify (l, &differs, &by), 0);
    /* Totals are the same either way. */
    assert_int_equal (tl_agg_get (tl_ledger_totals (l), "a", 1), 9);
    tl_ledger_destroy (&l);
}

/*  Counters swapped between places do not cancel out: rows 5, bad 2 against rows 3, bad 4 (the
    XOR of s_mix (rows) and s_mix (bad + 1) made these equal), and the other pairs likewise. */
static void
test_counter_swaps (void **state)
{
    (void) state;
    tl_msg_t a = { .rows = 5, .bad = 2 }, b = { .rows = 3, .bad = 4 };
    assert_true (tl_ledger_counters_digest (&a) != tl_ledger_counters_digest (&b));
    tl_msg_t c = { .blank = 7, .filtered = 5 }, d = { .blank = 6, .filtered = 6 };   /* 9, 8 and 8, 9 */
    assert_true (tl_ledger_counters_digest (&c) != tl_ledger_counters_digest (&d));
    tl_msg_t e = { .rows = 9, .length = 5 }, f = { .rows = 9, .length = 5 };
    assert_int_equal (tl_ledger_counters_digest (&e), tl_ledger_counters_digest (&f));
}

int
main (void)
{
    const struct CMUnitTest tests [] = { cmocka_unit_test (test_verify_digests), cmocka_unit_test (test_counter_swaps) };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
