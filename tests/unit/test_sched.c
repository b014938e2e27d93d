/*  The scheduler, driven with a fake clock: credit, late joiners, leases, failures, the
    applied-only-counts rule, and a randomised simulation of 1,000 mappers that die, rejoin and
    lose partials, checked for "every task applied, none twice, credit never exceeded". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "broker/sched.h"
#include "broker/sched_int.h"

static tl_sched_t *
s_new (int tasks)
{
    tl_sched_cfg_t cfg = { .lease_ms = 4000, .apply_timeout_ms = 10000, .max_attempts = 3 };
    tl_sched_t *s = tl_sched_new (&cfg);
    for (int i = 0; i < tasks; i++)
        tl_sched_add (s, (uint32_t) i, 0, 100, true);
    return s;
}

static int
s_drain (tl_sched_t *s, int64_t now, int *per_mapper, int nm)
{
    int n = 0, m;
    uint32_t at;
    const tl_task_t *t;
    while (tl_sched_next (s, now, &m, &t, &at)) {
        if (per_mapper && m < nm)
            per_mapper [m]++;
        n++;
    }
    return n;
}

static void
test_credit_and_late_joiner (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (20);
    int a = tl_sched_join (s, "A", 1, "a", 2, 0);
    int got [2] = { 0 };
    assert_int_equal (s_drain (s, 0, got, 2), 3);     /* slots + 1 */
    int b = tl_sched_join (s, "B", 1, "b", 1, 100);
    assert_int_equal (s_drain (s, 100, got, 2), 2);   /* the late joiner finds work at once */
    assert_int_equal (got [b], 2);
    assert_int_equal (tl_sched_stats (s).running, 5);
    assert_int_equal (tl_sched_join (s, "C", 1, "c", 0, 0), -1);  /* zero slots refused */
    (void) a;
    tl_sched_destroy (&s);
}

/*  Finish every running task of mapper m at `now`, each assigned at `since`. */
static int
s_finish_all (tl_sched_t *s, int m, int64_t now)
{
    int n = 0;
    for (uint64_t id = 0; id < tl_sched_stats (s).tasks; id++) {
        const tl_task_t *t = tl_sched_task (s, id);
        if (t->state == TL_TASK_RUNNING && t->run [0].mapper == m) {
            tl_sched_done (s, m, id, t->run [0].attempt, now);
            n++;
        }
    }
    return n;
}

/*  A task that mappers keep finishing and the reducer never applies (a partial it cannot take)
    is re-issued at each apply timeout, but not for ever: after 2 x max_attempts (3) rounds it
    fails for good, with an error that says why, and the job can end loudly. */
static void
test_never_applied_fails (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (1);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    int64_t now = 0;
    int rounds = 0;
    for (; rounds < 20 && tl_sched_task (s, 0)->state != TL_TASK_FAILED; rounds++) {
        assert_int_equal (s_drain (s, now, NULL, 0), 1);
        assert_int_equal (s_finish_all (s, a, now), 1);
        tl_sched_seen (s, a, now);
        now += 10001;       /* past the apply timeout */
        tl_sched_seen (s, a, now);
        tl_sched_tick (s, now);
    }
    assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_FAILED);
    assert_int_equal (rounds, 6);
    assert_non_null (strstr (tl_sched_task (s, 0)->error, "never applied by the reducer"));
    assert_int_equal (tl_sched_stats (s).failed, 1);
    tl_sched_destroy (&s);
}

/*  While the reducer holds its acks back (tl_sched_hold_applies: its checkpoint fails), a task
    mappers finished waits however long, neither re-issued nor failed; released, it waits a
    whole apply timeout again from then, and is applied when the ack comes (rt13). */
static void
test_held_applies_wait (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (1);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    int64_t now = 0;
    assert_int_equal (s_drain (s, now, NULL, 0), 1);
    assert_int_equal (s_finish_all (s, a, now), 1);
    tl_sched_hold_applies (s, true, now);
    for (int i = 0; i < 20; i++) {
        now += 10001;       /* past the apply timeout, twenty times */
        tl_sched_seen (s, a, now);
        tl_sched_tick (s, now);
        assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_MAPPED);
    }
    assert_int_equal (tl_sched_stats (s).reissued, 0);
    tl_sched_hold_applies (s, false, now);
    now += 9000;            /* within a timeout of the release */
    tl_sched_seen (s, a, now);
    tl_sched_tick (s, now);
    assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_MAPPED);
    assert_true (tl_sched_applied (s, 0, 100, now));
    assert_true (tl_sched_finished (s));
    assert_int_equal (tl_sched_stats (s).failed, 0);
    tl_sched_destroy (&s);
}

/*  Holds that come and go: the held time does not count, and the time waited outside them does
    (rv13 H1: each release restarted every wait, so holds more often than the apply timeout
    kept a task waiting for ever). Timeout 10 s: 5 s waited, held 3 s, then 5 s more is due. */
static void
test_hold_keeps_waited (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (1);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    assert_int_equal (s_drain (s, 0, NULL, 0), 1);
    assert_int_equal (s_finish_all (s, a, 0), 1);
    tl_sched_hold_applies (s, true, 5000);
    tl_sched_hold_applies (s, false, 8000);
    tl_sched_seen (s, a, 12000);
    tl_sched_tick (s, 12000);
    assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_MAPPED);     /* 9 s waited */
    tl_sched_seen (s, a, 13002);
    tl_sched_tick (s, 13002);
    assert_int_equal (tl_sched_stats (s).reissued, 1);                  /* 10 s and more */
    tl_sched_destroy (&s);
}

/*  Prefetch: a mapper whose HELLO allows spares gets more than one only while its tasks are
    short (about TL_SCHED_PREFETCH_MS of work per slot), never more than it allowed, and back to
    one when its tasks get long; a mapper that did not ask keeps slots + 1 however short. */
static void
test_prefetch (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (5000);
    int a = tl_sched_join (s, "A", 1, "a", 2, 0), b = tl_sched_join (s, "B", 1, "b", 2, 0);
    tl_sched_prefetch (s, a, 64);
    int got [2] = { 0 };
    assert_int_equal (s_drain (s, 0, got, 2), 6);      /* slots + 1 each, until tasks are timed */
    s_finish_all (s, a, 0);                             /* short tasks: under a millisecond */
    s_finish_all (s, b, 0);
    memset (got, 0, sizeof got);
    s_drain (s, 0, got, 2);
    assert_int_equal (got [a], 2 + 64);                 /* the most it allowed */
    assert_int_equal (got [b], 3);                      /* did not ask: slots + 1 */
    assert_int_equal (tl_sched_mapper (s, a)->spare, 64);
    /* Long tasks (a second each): the spares shrink back to one. */
    int64_t now = 0;
    for (int round = 0; round < 60; round++) {
        now += 1000;
        s_finish_all (s, a, now);
        s_finish_all (s, b, now);
        s_drain (s, now, NULL, 0);
    }
    assert_int_equal (tl_sched_mapper (s, a)->spare, 1);
    assert_int_equal (tl_sched_stats (s).running, 6);
    tl_sched_destroy (&s);
}

static void
test_done_then_applied (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (2);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    int m;
    uint32_t at;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    uint64_t id = t->id;
    tl_sched_done (s, a, id, 1, 10);
    assert_false (tl_sched_finished (s));          /* DONE is not enough */
    assert_int_equal (tl_sched_stats (s).mapped, 1);
    tl_sched_applied (s, id, 0, 20);
    assert_true (tl_sched_next (s, 20, &m, &t, &at));
    tl_sched_applied (s, t->id, 0, 30);               /* applied while running: cancel the runner */
    tl_sched_ev_t ev;
    bool cancel = false;
    while (tl_sched_event (s, &ev))
        cancel |= ev.type == TL_EV_CANCEL && ev.task == t->id;
    assert_true (cancel);
    assert_true (tl_sched_finished (s));
    assert_int_equal (tl_sched_stats (s).applied, 2);
    tl_sched_destroy (&s);
}

static void
test_lease_and_timeouts (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (3);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    assert_int_equal (s_drain (s, 0, NULL, 0), 2);
    tl_sched_tick (s, 3000);
    assert_int_equal (tl_sched_stats (s).running, 2);
    tl_sched_seen (s, a, 3000);
    tl_sched_tick (s, 6000);
    assert_int_equal (tl_sched_stats (s).mappers_alive, 1);
    tl_sched_tick (s, 7001);                       /* silent past the lease */
    tl_sched_stats_t st = tl_sched_stats (s);
    assert_int_equal (st.mappers_alive, 0);
    assert_int_equal (st.queued, 3);
    assert_int_equal (tl_sched_find (s, "A", 1), -1);
    /* A stale DONE from the lost mapper changes nothing. */
    tl_sched_done (s, a, 0, 1, 7002);
    assert_int_equal (tl_sched_stats (s).mapped, 0);
    /* MAPPED but never applied: re-issued after the apply timeout. */
    int b = tl_sched_join (s, "B", 1, "b", 1, 8000);
    int m;
    uint32_t at;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 8000, &m, &t, &at));
    assert_int_equal (m, b);
    assert_int_equal (t->attempt, 2);
    uint64_t id = t->id;
    tl_sched_done (s, b, id, 2, 8100);
    tl_sched_seen (s, b, 18000);
    tl_sched_tick (s, 18000);
    assert_int_equal (tl_sched_task (s, id)->state, TL_TASK_MAPPED);
    tl_sched_seen (s, b, 18200);
    tl_sched_tick (s, 18200);
    assert_int_equal (tl_sched_task (s, id)->state, TL_TASK_QUEUED);
    tl_sched_destroy (&s);
}

static void
test_failures (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (2);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    int m;
    uint32_t at;
    const tl_task_t *t;
    for (int i = 1; i <= 3; i++) {
        assert_true (tl_sched_next (s, 0, &m, &t, &at));
        if (t->id != 0) {           /* keep task 1 aside */
            tl_sched_applied (s, t->id, 0, 0);
            assert_true (tl_sched_next (s, 0, &m, &t, &at));
        }
        assert_int_equal (t->id, 0);
        tl_sched_fail (s, a, 0, t->attempt, true, "HTTP 503 SlowDown", 0);
    }
    assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_FAILED);   /* max_attempts = 3 */
    assert_false (tl_sched_finished (s));          /* task 1 is still queued */
    tl_sched_applied (s, 1, 0, 0);
    assert_true (tl_sched_finished (s));
    assert_int_equal (tl_sched_stats (s).failed, 1);
    assert_string_equal (tl_sched_task (s, 0)->error, "HTTP 503 SlowDown");
    tl_sched_destroy (&s);
    s = s_new (1);
    a = tl_sched_join (s, "A", 1, "a", 1, 0);
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    tl_sched_fail (s, a, 0, 1, false, "HTTP 404 NoSuchKey", 0);        /* permanent: no retry */
    assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_FAILED);
    tl_sched_destroy (&s);
}

static void
test_leave_requeues_first (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (10);
    int a = tl_sched_join (s, "A", 1, "a", 3, 0);
    assert_int_equal (s_drain (s, 0, NULL, 0), 4);
    tl_sched_leave (s, a);
    int b = tl_sched_join (s, "B", 1, "b", 1, 0);
    int m;
    uint32_t at;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    assert_int_equal (m, b);
    assert_true (t->id < 4);                       /* handed-back work goes first */
    assert_int_equal (t->attempt, 2);
    tl_sched_destroy (&s);
}

/*  1,000 mappers; each step some finish, some die, some rejoin, some partials are lost. */
/*  Every id in a mapper's list is held by a runner on that mapper that knows its position, and
    every runner knows where its id is (sched_index.c: O(1) removal). */
static void
s_check_held (tl_sched_t *s)
{
    for (size_t m = 0; m < s->nmappers; m++)
        for (uint32_t p = 0; p < s->held [m].n; p++) {
            const tl_task_t *t = &s->tasks [s->held [m].ids [p]];
            assert_true ((t->run [0].mapper == (int) m && t->run [0].held_pos == p)
                         || (t->run [1].mapper == (int) m && t->run [1].held_pos == p));
        }
    for (size_t i = 0; i < s->ntasks; i++)
        for (int r = 0; r < 2; r++) {
            const tl_runner_t *x = &s->tasks [i].run [r];
            if (x->mapper >= 0) {
                assert_true (x->held_pos < s->held [x->mapper].n);
                assert_true (s->held [x->mapper].ids [x->held_pos] == i);
            }
        }
}

static void
test_simulation_1000 (void **state)
{
    (void) state;
    const int NT = 20000, NM = 1000;
    tl_sched_cfg_t cfg = { .lease_ms = 4000, .apply_timeout_ms = 5000, .max_attempts = 1000 };
    tl_sched_t *s = tl_sched_new (&cfg);
    for (int i = 0; i < NT; i++)
        tl_sched_add (s, 0, 0, 1, true);
    uint8_t *applied = calloc ((size_t) NT, 1);
    int *running = calloc ((size_t) NT, sizeof (int));   /* attempt number running, 0 if none */
    int *owner = calloc ((size_t) NT, sizeof (int));
    bool *dead = calloc ((size_t) NM, sizeof (bool));
    int idx [1000];
    int *sim_of = calloc (1 << 20, sizeof (int));       /* scheduler index -> simulated machine */
    char key [8];
    for (int i = 0; i < NM; i++) {
        memcpy (key, &i, sizeof i);
        idx [i] = tl_sched_join (s, key, sizeof i, "m", 1 + (uint32_t) (i % 4), 0);
        sim_of [idx [i]] = i;
    }
    srand (99);
    int64_t now = 0;
    int steps = 0;
    while (!tl_sched_finished (s) && steps < 200000) {
        steps++;
        now += 10;
        int m;
        uint32_t at;
        const tl_task_t *t;
        while (tl_sched_next (s, now, &m, &t, &at)) {
            running [t->id] = (int) at;
            owner [t->id] = m;
        }
        /* Work on a random subset of running tasks. */
        for (int k = 0; k < 200; k++) {
            int id = rand () % NT;
            if (!running [id])
                continue;
            int mi = owner [id];
            if (dead [sim_of [mi]])
                continue;
            int r = rand () % 100;
            if (r < 90) {
                tl_sched_done (s, mi, (uint64_t) id, (uint32_t) running [id], now);
                running [id] = 0;
                if (rand () % 10) {             /* 10% of partials are lost */
                    applied [id]++;
                    if (applied [id] == 1)      /* the reducer de-duplicates */
                        tl_sched_applied (s, (uint64_t) id, 0, now);
                }
            }
            else if (r < 95) {
                tl_sched_fail (s, mi, (uint64_t) id, (uint32_t) running [id], true, "x", now);
                running [id] = 0;
            }
        }
        /* Heartbeats from live mappers; some die; dead ones come back. */
        for (int i = 0; i < NM; i++) {
            if (!dead [i] && rand () % 20000 == 0)
                dead [i] = true;
            else if (dead [i] && rand () % 500 == 0) {
                dead [i] = false;
                memcpy (key, &i, sizeof i);
                idx [i] = tl_sched_join (s, key, sizeof i, "m", 1 + (uint32_t) (i % 4), now);
                assert_true (idx [i] >= 0 && idx [i] < (1 << 20));
                sim_of [idx [i]] = i;
            }
            if (!dead [i])
                tl_sched_seen (s, idx [i], now);
        }
        tl_sched_tick (s, now);
        tl_sched_ev_t ev;
        while (tl_sched_event (s, &ev))
            ;
        /* Credit is never exceeded. */
        for (size_t i = 0; i < tl_sched_mapper_count (s); i++) {
            const tl_mapper_t *mp = tl_sched_mapper (s, (int) i);
            assert_true (mp->held <= mp->slots + 1);
        }
        for (int id = 0; id < NT; id++)
            if (running [id] && tl_sched_task (s, (uint64_t) id)->state != TL_TASK_RUNNING)
                running [id] = 0;       /* taken back (lease): the old run is stale */
        if (steps % 50 == 0)
            s_check_held (s);
    }
    s_check_held (s);
    assert_true (tl_sched_finished (s));
    tl_sched_stats_t st = tl_sched_stats (s);
    assert_int_equal (st.applied, NT);
    assert_int_equal (st.failed, 0);
    for (int id = 0; id < NT; id++)
        assert_true (applied [id] >= 1);
    free (applied);
    free (running);
    free (owner);
    free (dead);
    free (sim_of);
    tl_sched_destroy (&s);
}

static void
test_steal_and_cut (void **state)
{
    (void) state;
    tl_sched_cfg_t cfg = { .lease_ms = 4000, .apply_timeout_ms = 10000, .max_attempts = 3, .min_steal = 1000 };
    tl_sched_t *s = tl_sched_new (&cfg);
    tl_sched_add (s, 0, 0, 100000, true);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    int m, v;
    uint32_t at, keep;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    assert_false (tl_sched_steal (s, 100, &v, &t, &at, &keep));   /* no idle thief yet */
    int b = tl_sched_join (s, "B", 1, "b", 1, 100);
    tl_sched_progress (s, a, 0, 1, 20000);
    assert_true (tl_sched_steal (s, 1000, &v, &t, &at, &keep));
    assert_int_equal (v, a);
    assert_int_equal (t->id, 0);
    assert_false (tl_sched_steal (s, 1000, &v, &t, &at, &keep));  /* one pending per idle slot */
    uint64_t tail = tl_sched_cut (s, a, 0, 1, 60000, false, 1100);
    assert_int_equal (tail, 1);
    assert_int_equal (tl_sched_task (s, 0)->length, 60000);
    assert_int_equal (tl_sched_task (s, 1)->offset, 60000);
    assert_int_equal (tl_sched_task (s, 1)->length, 40000);
    assert_true (tl_sched_next (s, 1100, &m, &t, &at));
    assert_int_equal (m, b);                                        /* the thief gets the tail */
    assert_int_equal (t->id, 1);
    /* A stale cut (wrong attempt) splits nothing. */
    assert_int_equal (tl_sched_cut (s, b, 1, 7, 70000, false, 1200), UINT64_MAX);
    tl_sched_stats_t st = tl_sched_stats (s);
    assert_int_equal (st.tasks, 2);
    assert_int_equal (st.steals, 1);
    tl_sched_destroy (&s);
}

static void
test_prefix_applied_queues_rest (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (1);
    tl_sched_join (s, "A", 1, "a", 1, 0);
    int m;
    uint32_t at;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    /* A zombie that had cut at 40 reports its partial: the rest [40, 100) must be re-done. */
    tl_sched_applied (s, 0, 40, 10);
    assert_false (tl_sched_finished (s));
    const tl_task_t *rest = tl_sched_task (s, 1);
    assert_non_null (rest);
    assert_int_equal (rest->offset, 40);
    assert_int_equal (rest->length, 60);
    assert_int_equal (tl_sched_stats (s).remainders, 1);
    tl_sched_applied (s, 1, 60, 20);
    assert_true (tl_sched_finished (s));
    tl_sched_destroy (&s);
}

static void
test_backup_for_unsplittable (void **state)
{
    (void) state;
    tl_sched_cfg_t cfg = { .lease_ms = 100000, .apply_timeout_ms = 100000, .max_attempts = 3 };
    tl_sched_t *s = tl_sched_new (&cfg);
    tl_sched_add (s, 0, 0, 1000000, false);     /* a .gz: cannot be cut */
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    int m, v;
    uint32_t at, keep;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    int b = tl_sched_join (s, "B", 1, "b", 1, 0);
    tl_sched_progress (s, a, 0, 1, 1000);       /* slow: 1,000 bytes in 5 s */
    assert_false (tl_sched_steal (s, 5000, &v, &t, &at, &keep));
    assert_true (tl_sched_next (s, 5000, &m, &t, &at));
    s_check_held (s);
    assert_int_equal (m, b);
    assert_int_equal (t->id, 0);
    assert_int_equal (at, 2);
    assert_false (tl_sched_next (s, 5000, &m, &t, &at));          /* one backup per task */
    tl_sched_done (s, b, 0, 2, 6000);                               /* the backup wins */
    tl_sched_ev_t ev;
    bool cancel_a = false;
    while (tl_sched_event (s, &ev))
        cancel_a |= ev.type == TL_EV_CANCEL && ev.mapper == a;
    assert_true (cancel_a);
    assert_int_equal (tl_sched_mapper (s, a)->held, 0);
    assert_int_equal (tl_sched_mapper (s, b)->held, 0);
    tl_sched_applied (s, 0, 1000000, 6100);
    assert_true (tl_sched_finished (s));
    s_check_held (s);
    tl_sched_destroy (&s);
}

/*  Regression (red team, session 7): no backup of a task while a steal of it is pending. The
    victim's cut would shorten a task whose backup reads it whole, and the tail would be counted
    twice (the reducer's digest failed the job). */
static void
test_no_backup_while_steal_pending (void **state)
{
    (void) state;
    tl_sched_cfg_t cfg = { .lease_ms = 10000000, .apply_timeout_ms = 10000000, .max_attempts = 3, .min_steal = 1000,
                           .backup_after_ms = 2000 };
    tl_sched_t *s = tl_sched_new (&cfg);
    tl_sched_add (s, 0, 0, 100000, true);
    int a = tl_sched_join (s, "A", 1, "a", 1, 0);
    int m, v;
    uint32_t at, keep;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    tl_sched_join (s, "B", 1, "b", 1, 100);
    tl_sched_progress (s, a, 0, 1, 20000);
    assert_true (tl_sched_steal (s, 1000, &v, &t, &at, &keep));
    assert_int_equal (v, a);
    /* The victim reads on: too little is left to steal, and the task is slow enough to back up. */
    tl_sched_progress (s, a, 0, 1, 99500);      /* 166 bytes/s: 3 s left */
    assert_false (tl_sched_next (s, 600000, &m, &t, &at));
    assert_int_equal (tl_sched_stats (s).backups, 0);
    /* The cut comes back: the tail goes to the thief, and nothing runs twice. */
    uint64_t tail = tl_sched_cut (s, a, 0, 1, 99600, false, 600100);
    assert_int_equal (tail, 1);
    assert_true (tl_sched_next (s, 600100, &m, &t, &at));
    assert_int_equal (t->id, 1);
    tl_sched_destroy (&s);
}

/*  Regression: a task just handed out must not be taken back at once by a steal (it bounced
    between idle mappers for ever in the simulator). */
static void
test_no_steal_of_fresh_task (void **state)
{
    (void) state;
    tl_sched_cfg_t cfg = { .min_steal = 1000 };
    tl_sched_t *s = tl_sched_new (&cfg);
    tl_sched_add (s, 0, 0, 100000, true);
    tl_sched_join (s, "A", 1, "a", 1, 0);
    int m, v;
    uint32_t at, keep;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));
    tl_sched_join (s, "B", 1, "b", 1, 0);
    assert_false (tl_sched_steal (s, 10, &v, &t, &at, &keep));
    assert_false (tl_sched_steal (s, 999, &v, &t, &at, &keep));
    assert_true (tl_sched_steal (s, 1000, &v, &t, &at, &keep));
    /* Given back unstarted: re-queued once, not split. */
    assert_int_equal (tl_sched_cut (s, v, 0, at, 0, true, 1001), UINT64_MAX);
    assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_QUEUED);
    assert_int_equal (tl_sched_stats (s).steals_returned, 1);
    assert_int_equal (tl_sched_stats (s).reissued, 0);     /* returned, not lost */
    s_check_held (s);
    tl_sched_destroy (&s);
}

/*  The end-game: a spare queued behind a busy slot comes back at once; a straggler's rest
    smaller than min_steal is still cut when it would take its runner >= steal_eta_ms; and a
    finished task's unanswered steal does not block later steals. */
static void
test_end_game (void **state)
{
    (void) state;
    tl_sched_cfg_t cfg = { 0 };     /* defaults: min_steal 16 MiB, steal_eta_ms 100 */
    tl_sched_t *s = tl_sched_new (&cfg);
    tl_sched_add (s, 0, 0, 8u << 20, true);     /* 8 MiB: under min_steal */
    tl_sched_add (s, 1, 0, 8u << 20, true);
    tl_sched_join (s, "A", 1, "a", 1, 0);
    int m, v;
    uint32_t at, keep;
    const tl_task_t *t;
    assert_true (tl_sched_next (s, 0, &m, &t, &at));    /* A runs task 0 */
    assert_true (tl_sched_next (s, 0, &m, &t, &at));    /* and holds task 1 as its spare */
    assert_int_equal (t->id, 1);
    tl_sched_join (s, "B", 1, "b", 1, 10);
    /* At 10 ms (long before steal_after_ms) B may take the spare back: it is not started. */
    tl_sched_progress (s, 0, 0, 1, 1000);
    assert_true (tl_sched_steal (s, 10, &v, &t, &at, &keep));
    assert_int_equal (t->id, 1);
    assert_int_equal (tl_sched_cut (s, v, 1, at, 0, true, 11), UINT64_MAX);
    assert_true (tl_sched_next (s, 11, &m, &t, &at));
    assert_int_equal (m, 1);
    assert_int_equal (t->id, 1);
    uint32_t at_b = at;
    /* Task 0 on A: 1 MB in 1 s (a straggler), 7 MB left = 7 s at its pace: cut, though < 16 MiB. */
    tl_sched_progress (s, 0, 0, 1, 1u << 20);
    tl_sched_join (s, "C", 1, "c", 1, 1000);
    assert_true (tl_sched_steal (s, 1000, &v, &t, &at, &keep));
    assert_int_equal (t->id, 0);
    assert_int_equal (v, 0);
    /* Task 0 then finishes before A answers; the void steal must not count against C. */
    tl_sched_done (s, 0, 0, 1, 1001);
    tl_sched_applied (s, 0, 8u << 20, 1001);
    tl_sched_add (s, 2, 0, 64u << 20, true);
    assert_true (tl_sched_next (s, 1002, &m, &t, &at));     /* someone runs task 2 */
    tl_sched_progress (s, m, 2, at, 1u << 20);
    tl_sched_progress (s, 1, 1, at_b, (8u << 20) - 1000);   /* B's task 1 is nearly done */
    assert_true (tl_sched_steal (s, 1500, &v, &t, &at, &keep));
    assert_int_equal (t->id, 2);
    s_check_held (s);
    tl_sched_destroy (&s);
}

/*  The indexes give the same order as a scan of the job: what a lost mapper held, and what
    timed out unapplied in one tick, goes back to the front in id order (so the highest id is
    dispatched first), whatever order the tasks were assigned or finished in. */
static void
test_requeue_order (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (40);
    int a = tl_sched_join (s, "a", 1, "a", 7, 0);
    int m;
    uint32_t at;
    const tl_task_t *t;
    uint64_t got [8];
    int n = 0;
    while (tl_sched_next (s, 0, &m, &t, &at))
        got [n++] = t->id;
    assert_int_equal (n, 8);                    /* slots + 1 */
    /* Finish some out of order, so the held list is shuffled. */
    tl_sched_done (s, a, got [5], 1, 10);
    tl_sched_done (s, a, got [1], 1, 20);
    tl_sched_done (s, a, got [3], 1, 20);
    tl_sched_applied (s, got [1], 0, 30);
    while (tl_sched_next (s, 30, &m, &t, &at))
        ;
    /* The mapper falls silent: its running tasks are re-queued, highest id at the front. */
    tl_sched_tick (s, 5000);
    tl_sched_stats_t st = tl_sched_stats (s);
    assert_int_equal (st.running, 0);
    int b = tl_sched_join (s, "b", 1, "b", 1, 5000);
    tl_sched_seen (s, b, 5000);
    uint64_t prev = UINT64_MAX;
    for (int i = 0; i < 2 && tl_sched_next (s, 5000, &m, &t, &at); i++) {
        assert_true (t->id < prev);
        prev = t->id;
    }
    /* got[5] (MAPPED since 10) and got[3] (since 20) time out at 10011 and 10021: one tick
       takes both, and they go back in id order. */
    tl_sched_seen (s, b, 10030);
    tl_sched_tick (s, 10030);
    st = tl_sched_stats (s);
    assert_int_equal (st.mapped, 0);
    tl_sched_ev_t ev;
    uint64_t req [4];
    int nreq = 0;
    while (tl_sched_event (s, &ev))
        if (ev.type == TL_EV_REQUEUED && nreq < 4)
            req [nreq++] = ev.task;
    assert_int_equal (nreq, 2);
    assert_true (req [0] < req [1]);
    assert_true ((req [0] == got [3] && req [1] == got [5]) || (req [0] == got [5] && req [1] == got [3]));
    /* The reducer restarted: nothing is MAPPED now, so nothing to re-queue. */
    assert_int_equal (tl_sched_requeue_mapped (s), 0);
    s_check_held (s);
    tl_sched_destroy (&s);
}

/*  A reducer that is silent is not a partial it cannot take: while the hold is on, no task is
    re-issued or failed for not being applied; a restarted reducer's full set that lacks applied
    tasks puts exactly those back in the queue, and they run and apply again. */
static void
test_hold_and_unapply (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (4);
    int a = tl_sched_join (s, "A", 1, "a", 4, 0);
    int64_t now = 0;
    assert_int_equal (s_drain (s, now, NULL, 0), 4);
    assert_int_equal (s_finish_all (s, a, now), 4);
    tl_sched_applied (s, 0, 0, now);
    tl_sched_applied (s, 2, 0, now);
    tl_sched_hold_applies (s, true, now);
    for (int i = 0; i < 20; i++) {
        now += 10001;
        tl_sched_seen (s, a, now);
        tl_sched_tick (s, now);
    }
    assert_int_equal (tl_sched_task (s, 1)->state, TL_TASK_MAPPED);
    assert_int_equal (tl_sched_task (s, 3)->state, TL_TASK_MAPPED);
    assert_int_equal (tl_sched_stats (s).reissued, 0);
    tl_sched_hold_applies (s, false, now);
    /* It came back afresh, holding task 2 only (say, from an old checkpoint). */
    assert_int_equal (tl_sched_requeue_mapped (s), 2);
    uint64_t holds [] = { 2 };
    assert_int_equal (tl_sched_unapply_missing (s, holds, 1), 1);
    assert_int_equal (tl_sched_task (s, 0)->state, TL_TASK_QUEUED);
    assert_int_equal (tl_sched_task (s, 2)->state, TL_TASK_APPLIED);
    /* Copies of the re-queued tasks may still reach the new reducer: none of them is cut. */
    assert_true (tl_sched_task (s, 0)->zombie && tl_sched_task (s, 1)->zombie && tl_sched_task (s, 3)->zombie);
    assert_false (tl_sched_task (s, 2)->zombie);
    assert_int_equal (tl_sched_stats (s).applied, 1);
    assert_false (tl_sched_finished (s));
    assert_int_equal (s_drain (s, now, NULL, 0), 3);
    assert_int_equal (s_finish_all (s, a, now), 3);
    for (uint64_t id = 0; id < 4; id++)
        tl_sched_applied (s, id, 0, now);
    assert_true (tl_sched_finished (s));
    assert_int_equal (tl_sched_stats (s).applied, 4);
    s_check_held (s);
    tl_sched_destroy (&s);
}

/*  A task applied here over its whole length, and then named with a shorter one by a whole
    applied set (a reducer restarted without its state, which applied a straggler's cut copy):
    that reducer's totals hold only the prefix, so the rest is queued; without it the job ran
    to its end and failed at the verdict (rv13). */
static void
test_shorter_length_after_restart (void **state)
{
    (void) state;
    tl_sched_t *s = s_new (1);
    int a = tl_sched_join (s, "A", 1, "a", 4, 0);
    int64_t now = 0;
    assert_int_equal (s_drain (s, now, NULL, 0), 1);
    assert_int_equal (s_finish_all (s, a, now), 1);
    tl_sched_applied (s, 0, 100, now);
    assert_true (tl_sched_finished (s));
    tl_sched_applied (s, 0, 100, now);      /* the same length again: nothing changes */
    assert_int_equal (tl_sched_stats (s).tasks, 1);
    tl_sched_applied (s, 0, 60, now);
    assert_int_equal (tl_sched_stats (s).tasks, 2);
    assert_int_equal (tl_sched_stats (s).applied, 1);
    assert_int_equal (tl_sched_task (s, 0)->length, 60);
    assert_int_equal (tl_sched_task (s, 1)->offset, 60);
    assert_int_equal (tl_sched_task (s, 1)->length, 40);
    assert_false (tl_sched_finished (s));
    tl_sched_applied (s, 0, 80, now);       /* longer than the task now: nothing to queue */
    assert_int_equal (tl_sched_stats (s).tasks, 2);
    assert_int_equal (s_drain (s, now, NULL, 0), 1);
    assert_int_equal (s_finish_all (s, a, now), 1);
    tl_sched_applied (s, 1, 40, now);
    assert_true (tl_sched_finished (s));
    assert_int_equal (tl_sched_stats (s).applied, 2);
    s_check_held (s);
    tl_sched_destroy (&s);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_credit_and_late_joiner), cmocka_unit_test (test_done_then_applied),
        cmocka_unit_test (test_never_applied_fails),    cmocka_unit_test (test_held_applies_wait),
        cmocka_unit_test (test_lease_and_timeouts),     cmocka_unit_test (test_failures),
        cmocka_unit_test (test_leave_requeues_first),   cmocka_unit_test (test_simulation_1000),
        cmocka_unit_test (test_steal_and_cut),          cmocka_unit_test (test_prefix_applied_queues_rest),
        cmocka_unit_test (test_backup_for_unsplittable),
        cmocka_unit_test (test_no_backup_while_steal_pending), cmocka_unit_test (test_no_steal_of_fresh_task),
        cmocka_unit_test (test_end_game),               cmocka_unit_test (test_requeue_order),
        cmocka_unit_test (test_prefetch),               cmocka_unit_test (test_hold_and_unapply),
        cmocka_unit_test (test_hold_keeps_waited),
        cmocka_unit_test (test_shorter_length_after_restart),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
