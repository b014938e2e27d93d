/*  The reducer's staging of partials in parts (reducer/stage.h) and the ledger's apply of a
    staged task: a task applies whole or not at all, whatever order, gap, repeat, forged number,
    changed header or cap its parts meet; the result equals the same partial applied whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reducer/stage.h"
#include "reducer/ledger.h"

/*  A task's partial: NG groups "k0".."k{NG-1}" (count i+1, one value cell when nc), cut into
    parts of per groups. */
enum { NG = 10 };
static char s_keys [NG][8];
static tl_agg_entry_t s_groups [NG];
static tl_cell_t s_cells [NG];

static void
s_make_groups (unsigned nc)
{
    for (int i = 0; i < NG; i++) {
        snprintf (s_keys [i], sizeof s_keys [i], "k%d", i);
        s_cells [i] = (tl_cell_t) { .n = 1, .bad = 0, .sum = i * 0.5, .min = i * 0.5, .max = i * 0.5 };
        s_groups [i] = (tl_agg_entry_t) { s_keys [i], (uint32_t) strlen (s_keys [i]), (uint64_t) i + 1,
                                          nc ? &s_cells [i] : NULL };
    }
}

static tl_msg_t
s_whole (uint64_t task, uint64_t attempt, const char *mapper, unsigned nc)
{
    return (tl_msg_t) { .type = TL_MSG_PARTIAL, .job = "j", .task = task, .attempt = attempt, .mapper = mapper,
                        .token = "tok", .offset = 0, .length = 100, .rows = 55, .bytes = 100, .bad = 2, .blank = 1,
                        .filtered = 3, .fetched = 7, .skipped = 0, .groups = s_groups, .n_groups = NG, .ncells = nc };
}

/*  Part p (1-based) of a task cut into parts of per groups. */
static tl_msg_t
s_part (uint64_t task, uint64_t attempt, const char *mapper, unsigned nc, size_t per, uint64_t p)
{
    tl_msg_t m = s_whole (task, attempt, mapper, nc);
    uint64_t parts = (NG + per - 1) / per;
    size_t from = (size_t) (p - 1) * per;
    m.groups = s_groups + (from < NG ? from : NG);
    m.n_groups = from >= NG ? 0 : (NG - from < per ? NG - from : per);
    m.part = p;
    m.parts = parts;
    return m;
}

static tl_ledger_t *
s_ledger (unsigned nc)
{
    tl_ledger_t *l = tl_ledger_new ();
    assert_non_null (l);
    assert_int_equal (tl_ledger_set_cells (l, nc), 0);
    assert_int_equal (tl_ledger_set_tasks (l, 16), 0);
    return l;
}

/*  Parts in order: staged, the last completes, and the applied groups, counters and digest equal
    those of the same partial applied whole. */
static void
test_in_order (void **state)
{
    (void) state;
    for (unsigned nc = 0; nc <= 1; nc++) {
        s_make_groups (nc);
        tl_stage_t *st = tl_stage_new (4, 1000);
        tl_ledger_t *staged = s_ledger (nc), *whole = s_ledger (nc);
        tl_staged_t *out = NULL;
        tl_err_t e;
        for (uint64_t p = 1; p <= 4; p++) {
            tl_msg_t m = s_part (3, 1, "m", nc, 3, p);
            int rc = tl_stage_offer (st, &m, nc, true, &out, &e);
            assert_int_equal (rc, p < 4 ? TL_STAGE_MORE : TL_STAGE_DONE);
            assert_int_equal (tl_ledger_stats (staged).rows, 0);     /* nothing applied before the last */
        }
        assert_non_null (out);
        assert_true (out->merged);
        assert_int_equal (out->groups, NG);
        assert_int_equal (out->msg.n_groups, NG);
        tl_msg_t w = s_whole (3, 1, "m", nc);
        assert_int_equal (tl_ledger_partial_digest (&out->msg), tl_ledger_partial_digest (&w));
        assert_int_equal (tl_ledger_apply (staged, &out->msg), 1);
        assert_int_equal (tl_ledger_apply (whole, &w), 1);
        tl_ledger_stats_t a = tl_ledger_stats (staged), b = tl_ledger_stats (whole);
        assert_memory_equal (&a, &b, sizeof a);
        assert_int_equal (tl_agg_total (tl_ledger_totals (staged)), tl_agg_total (tl_ledger_totals (whole)));
        assert_int_equal (tl_ledger_applied_length (staged, 3), 100);
        for (int i = 0; i < NG; i++) {
            tl_agg_entry_t x, y;
            assert_true (tl_agg_find (tl_ledger_totals (staged), s_keys [i], strlen (s_keys [i]), &x));
            assert_true (tl_agg_find (tl_ledger_totals (whole), s_keys [i], strlen (s_keys [i]), &y));
            assert_int_equal (x.count, y.count);
            if (nc)
                assert_memory_equal (x.cells, y.cells, sizeof (tl_cell_t));
        }
        /* The same partial again, in parts: a duplicate, and the ledger says so. */
        tl_staged_destroy (&out);
        for (uint64_t p = 1; p <= 4; p++) {
            tl_msg_t m = s_part (3, 2, "m2", nc, 3, p);
            tl_stage_offer (st, &m, nc, !tl_ledger_applied (staged, 3), &out, &e);
        }
        assert_non_null (out);
        assert_false (out->merged);     /* not kept: the task was applied */
        assert_int_equal (out->msg.n_groups, 0);
        assert_int_equal (tl_ledger_apply_dup (staged, &out->msg), 0);
        assert_int_equal (tl_ledger_stats (staged).dups, 1);
        tl_staged_destroy (&out);
        tl_stage_stats_t ss = tl_stage_stats (st);
        assert_int_equal (ss.parts, 8);
        assert_int_equal (ss.completed, 2);
        assert_int_equal (ss.tasks, 0);
        assert_int_equal (ss.groups, 0);
        assert_int_equal (ss.broken, 0);
        tl_ledger_destroy (&staged);
        tl_ledger_destroy (&whole);
        tl_stage_destroy (&st);
    }
}

/*  A task whose groups were not kept, for a task that is not applied, is refused, never booked. */
static void
test_null_table (void **state)
{
    (void) state;
    s_make_groups (0);
    tl_ledger_t *l = s_ledger (0);
    tl_msg_t h = s_whole (2, 1, "m", 0);
    h.n_groups = 0;
    assert_int_equal (tl_ledger_apply_dup (l, &h), TL_EINVAL);
    assert_false (tl_ledger_applied (l, 2));
    assert_int_equal (tl_ledger_stats (l).rows, 0);
    tl_ledger_destroy (&l);
}

/*  A lost part, a repeated part, parts out of order, a part without its first: the staging is
    dropped, counted, and nothing completes. */
static void
test_gap_and_order (void **state)
{
    (void) state;
    s_make_groups (0);
    uint64_t seqs [][5] = { { 1, 2, 4, 0 }, { 1, 1, 2, 3, 4 }, { 1, 3, 2, 4, 0 }, { 2, 3, 4, 0 }, { 1, 2, 3, 3, 4 } };
    for (size_t s = 0; s < sizeof seqs / sizeof seqs [0]; s++) {
        tl_stage_t *st = tl_stage_new (4, 1000);
        tl_staged_t *out = NULL;
        tl_err_t e;
        bool broke = false;
        for (int k = 0; k < 5 && seqs [s][k]; k++) {
            tl_msg_t m = s_part (1, 1, "m", 0, 3, seqs [s][k]);
            int rc = tl_stage_offer (st, &m, 0, true, &out, &e);
            broke |= rc < 0;
            if (rc == TL_STAGE_DONE) {
                /* { 1, 1, 2, 3, 4 }: the repeated first part restarts the task, which then
                   completes whole from it. */
                assert_int_equal (s, 1);
                assert_int_equal (out->groups, NG);
                tl_staged_destroy (&out);
            }
        }
        assert_true (broke || s == 1);
        assert_true (tl_stage_stats (st).broken >= 1);
        if (s != 1)
            assert_int_equal (tl_stage_stats (st).completed, 0);
        assert_int_equal (tl_stage_stats (st).tasks, 0);
        assert_int_equal (tl_stage_stats (st).groups, 0);
        tl_stage_destroy (&st);
    }
}

/*  Hostile numbers: part 0, part > parts, parts 0, parts changing between parts, a part number
    from far away. None completes a task, none crashes. */
static void
test_hostile_numbers (void **state)
{
    (void) state;
    s_make_groups (0);
    tl_stage_t *st = tl_stage_new (4, 1000);
    tl_staged_t *out = NULL;
    tl_err_t e;
    tl_msg_t m = s_part (1, 1, "m", 0, 3, 1);
    m.part = 0;
    assert_true (tl_stage_offer (st, &m, 0, true, &out, &e) < 0);
    m.part = 5;
    m.parts = 4;
    assert_true (tl_stage_offer (st, &m, 0, true, &out, &e) < 0);
    m.part = 1;
    m.parts = 0;
    assert_true (tl_stage_offer (st, &m, 0, true, &out, &e) < 0);
    /* parts changes from 4 to 2: part 2 "of 2" would complete a task of 4 parts */
    m = s_part (1, 1, "m", 0, 3, 1);
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_MORE);
    m = s_part (1, 1, "m", 0, 3, 2);
    m.parts = 2;
    assert_true (tl_stage_offer (st, &m, 0, true, &out, &e) < 0);
    assert_null (out);
    /* a last part with an enormous parts count, after a first that said the same */
    m = s_part (2, 1, "m", 0, 3, 1);
    m.parts = UINT64_MAX;
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_MORE);
    m.part = UINT64_MAX;
    assert_true (tl_stage_offer (st, &m, 0, true, &out, &e) < 0);
    assert_null (out);
    /* parts that lie consistently: a task of 4 parts sent as "2 parts" (a mapper's bug) adds up
       to fewer rows than its header says */
    for (uint64_t p = 1; p <= 2; p++) {
        m = s_part (4, 1, "m", 0, 3, p);
        m.parts = 2;
        int rc = tl_stage_offer (st, &m, 0, true, &out, &e);
        assert_true (p == 1 ? rc == TL_STAGE_MORE : rc < 0);
        assert_null (out);
    }
    /* a one-part "partial in parts" is a whole task */
    m = s_whole (3, 1, "m", 0);
    m.part = m.parts = 1;
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_DONE);
    assert_int_equal (out->groups, NG);
    tl_staged_destroy (&out);
    assert_int_equal (tl_stage_stats (st).tasks, 0);
    tl_stage_destroy (&st);
}

/*  Every header field but the part number must stay what the first part said. */
static void
test_header_mismatch (void **state)
{
    (void) state;
    s_make_groups (1);
    for (int f = 0; f < 13; f++) {
        tl_stage_t *st = tl_stage_new (4, 1000);
        tl_staged_t *out = NULL;
        tl_err_t e;
        tl_msg_t m = s_part (1, 1, "m", 1, 5, 1);
        assert_int_equal (tl_stage_offer (st, &m, 1, true, &out, &e), TL_STAGE_MORE);
        m = s_part (1, 1, "m", 1, 5, 2);
        switch (f) {
            case 0: m.job = "other"; break;
            case 1: m.token = "forged"; break;
            case 2: m.offset++; break;
            case 3: m.length++; break;
            case 4: m.rows++; break;
            case 5: m.bytes++; break;
            case 6: m.bad++; break;
            case 7: m.blank++; break;
            case 8: m.filtered++; break;
            case 9: m.fetched++; break;
            case 10: m.skipped++; break;
            case 11: m.ncells = 2; break;       /* groups of another shape */
            case 12: m.parts++; break;
        }
        assert_true (tl_stage_offer (st, &m, 1, true, &out, &e) < 0);
        assert_null (out);
        assert_int_equal (tl_stage_stats (st).broken, 1);
        assert_int_equal (tl_stage_stats (st).tasks, 0);
        /* the task's next part finds nothing staged: dropped too, never a completion */
        m = s_part (1, 1, "m", 1, 5, 2);
        assert_true (tl_stage_offer (st, &m, 1, true, &out, &e) < 0);
        tl_stage_destroy (&st);
    }
}

/*  Different attempts, mappers and verification copies of one task are staged apart,
    interleaved. */
static void
test_interleaved (void **state)
{
    (void) state;
    s_make_groups (0);
    tl_stage_t *st = tl_stage_new (8, 1000);
    const char *who [] = { "a", "b", "a" };
    uint64_t att [] = { 1, 1, 2 };
    int done = 0;
    for (uint64_t p = 1; p <= 4; p++)
        for (int k = 0; k < 3; k++) {
            tl_staged_t *out = NULL;
            tl_err_t e;
            tl_msg_t m = s_part (5, att [k], who [k], 0, 3, p);
            int rc = tl_stage_offer (st, &m, 0, true, &out, &e);
            assert_int_equal (rc, p < 4 ? TL_STAGE_MORE : TL_STAGE_DONE);
            if (out) {
                assert_string_equal (out->msg.mapper, who [k]);
                assert_int_equal (out->msg.attempt, att [k]);
                uint64_t sum = 0;
                for (size_t g = 0; g < out->msg.n_groups; g++)
                    sum += out->msg.groups [g].count;
                assert_int_equal (sum, NG * (NG + 1) / 2);
                done++;
            }
            tl_staged_destroy (&out);
        }
    assert_int_equal (done, 3);
    tl_stage_destroy (&st);
}

/*  A verification copy in parts: only the digest is kept, and it verifies against the applied
    partial (whole or in parts); a copy with other counts does not. */
static void
test_verify (void **state)
{
    (void) state;
    s_make_groups (1);
    tl_ledger_t *l = s_ledger (1);
    tl_msg_t w = s_whole (4, 1, "a", 1);
    assert_int_equal (tl_ledger_apply (l, &w), 1);
    tl_stage_t *st = tl_stage_new (4, 1000);
    for (int bad = 0; bad <= 1; bad++) {
        tl_staged_t *out = NULL;
        tl_err_t e;
        for (uint64_t p = 1; p <= 2; p++) {
            tl_msg_t m = s_part (4, 2, "b", 1, 5, p);
            m.verify = 5;
            tl_agg_entry_t other [5];
            tl_cell_t cell = s_cells [9];
            if (bad && p == 2) {        /* the same counts, another sum in one cell */
                memcpy (other, m.groups, sizeof other);
                cell.sum += 1;
                other [4].cells = &cell;
                m.groups = other;
            }
            tl_stage_offer (st, &m, 1, false, &out, &e);
        }
        assert_non_null (out);
        assert_false (out->merged);
        assert_int_equal (out->msg.verify, 5);
        const char *by;
        assert_int_equal (tl_ledger_verify_digest (l, out->msg.task, out->digest, &by), bad ? 0 : 1);
        assert_string_equal (by, "a");
        tl_staged_destroy (&out);
    }
    /* A whole copy verifies the same way as before. */
    tl_msg_t c = s_whole (4, 3, "c", 1);
    c.verify = 5;
    const char *by;
    assert_int_equal (tl_ledger_verify (l, &c, &by), 1);
    tl_stage_destroy (&st);
    tl_ledger_destroy (&l);
}

/*  The caps: a new task beyond max_tasks evicts the oldest; a part that would pass max_groups
    evicts the oldest others; a task alone over max_groups is dropped. All counted. */
static void
test_eviction (void **state)
{
    (void) state;
    s_make_groups (0);
    tl_stage_t *st = tl_stage_new (2, 10);
    tl_staged_t *out = NULL;
    tl_err_t e;
    tl_msg_t m;
    for (uint64_t t = 1; t <= 3; t++) {     /* tasks 1, 2, 3: the third evicts task 1 */
        m = s_part (t, 1, "m", 0, 3, 1);
        assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_MORE);
    }
    tl_stage_stats_t ss = tl_stage_stats (st);
    assert_int_equal (ss.evicted, 1);
    assert_int_equal (ss.last_evicted_task, 1);
    assert_int_equal (ss.tasks, 2);
    assert_int_equal (ss.groups, 6);
    m = s_part (1, 1, "m", 0, 3, 2);        /* task 1's next part: its staging is gone */
    assert_true (tl_stage_offer (st, &m, 0, true, &out, &e) < 0);
    /* Task 3 grows: 3 (task 2) + 9 > 10, so task 2 (the oldest other) goes. */
    m = s_part (3, 1, "m", 0, 3, 2);
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_MORE);
    m = s_part (3, 1, "m", 0, 3, 3);
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_MORE);
    ss = tl_stage_stats (st);
    assert_int_equal (ss.evicted, 2);
    assert_int_equal (ss.last_evicted_task, 2);
    assert_int_equal (ss.groups, 9);
    /* Task 3's last part makes 10: it fits. A cap of 8 makes such a task too big alone. */
    m = s_part (3, 1, "m", 0, 3, 4);
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_DONE);
    assert_int_equal (out->msg.n_groups, NG);
    tl_staged_destroy (&out);
    assert_int_equal (tl_stage_stats (st).groups, 0);
    tl_stage_destroy (&st);
    st = tl_stage_new (2, 8);
    for (uint64_t p = 1; p <= 4; p++) {
        m = s_part (7, 1, "m", 0, 3, p);
        int rc = tl_stage_offer (st, &m, 0, true, &out, &e);
        assert_int_equal (rc < 0, p >= 3);     /* 9 > 8; then part 4 finds nothing staged */
        if (p == 3)
            assert_int_equal (e.code, TL_EFULL);
        assert_null (out);
    }
    assert_int_equal (tl_stage_stats (st).groups, 0);
    tl_stage_destroy (&st);
}

/*  tl_stage_clear drops everything (a new job). */
static void
test_clear (void **state)
{
    (void) state;
    s_make_groups (0);
    tl_stage_t *st = tl_stage_new (4, 100);
    tl_staged_t *out = NULL;
    tl_err_t e;
    tl_msg_t m = s_part (1, 1, "m", 0, 3, 1);
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_MORE);
    tl_stage_clear (st);
    assert_int_equal (tl_stage_stats (st).tasks, 0);
    assert_int_equal (tl_stage_stats (st).groups, 0);
    m = s_part (1, 1, "m", 0, 3, 2);
    assert_true (tl_stage_offer (st, &m, 0, true, &out, &e) < 0);
    /* Released (its task applied by another copy): the groups go, the sequence goes on to a
       completion that only counts as a duplicate. */
    m = s_part (9, 1, "m", 0, 3, 1);
    assert_int_equal (tl_stage_offer (st, &m, 0, true, &out, &e), TL_STAGE_MORE);
    assert_int_equal (tl_stage_stats (st).groups, 3);
    tl_stage_release_task (st, 9);
    assert_int_equal (tl_stage_stats (st).groups, 0);
    for (uint64_t p = 2; p <= 4; p++) {
        m = s_part (9, 1, "m", 0, 3, p);
        assert_int_equal (tl_stage_offer (st, &m, 0, false, &out, &e), p < 4 ? TL_STAGE_MORE : TL_STAGE_DONE);
    }
    assert_false (out->merged);
    tl_staged_destroy (&out);
    tl_stage_destroy (&st);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_in_order),       cmocka_unit_test (test_null_table),
        cmocka_unit_test (test_gap_and_order),  cmocka_unit_test (test_hostile_numbers),
        cmocka_unit_test (test_header_mismatch), cmocka_unit_test (test_interleaved),
        cmocka_unit_test (test_verify),         cmocka_unit_test (test_eviction),
        cmocka_unit_test (test_clear),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
