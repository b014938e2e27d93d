/*  The applied-set exchange (lib/wire/applied.c), driven as reducer and broker drive it: acks
    in batches, some lost or duplicated, JOBs now and then, a reducer restart. After each JOB
    answer the broker must hold exactly the reducer's acked set (checked against a plain
    bitmap kept by this test), and the answers must carry only what changed unless the view
    was not a prefix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wire/applied.h"

#define N 5000

static uint64_t s_x = 0x2545F4914F6CDD1DULL;
static uint64_t
s_rand (void)
{
    s_x ^= s_x << 13;
    s_x ^= s_x >> 7;
    s_x ^= s_x << 17;
    return s_x;
}

typedef struct {
    uint8_t got [N];        /* what the broker's scheduler was told */
    tl_appview_t view;
    size_t sent;            /* ids carried by messages, all told */
    size_t fulls;
} s_broker_t;

/*  One APPLIED message from log [from, size), maybe lost. */
static void
s_deliver (s_broker_t *b, tl_acklog_t *log, uint64_t from, bool full, bool lost)
{
    size_t size = tl_acklog_size (log);
    size_t n = size - (size_t) from;
    b->sent += n;
    b->fulls += full;
    if (lost)
        return;
    if (full)
        b->view = (tl_appview_t) { 0 };
    const uint64_t *ids = tl_acklog_ids (log) + from, *lens = tl_acklog_lengths (log) + from;
    for (size_t i = 0; i < n; i++)
        b->got [ids [i]] = 1;
    if (!tl_appview_take (&b->view, full ? 0 : from, ids, lens, n, true, tl_acklog_digest (log, size)))
        b->view = (tl_appview_t) { 0 };
}

static void
test_exchange (void **state)
{
    (void) state;
    tl_acklog_t *log = tl_acklog_new ();
    assert_non_null (log);
    uint8_t applied [N] = { 0 };
    s_broker_t b = { 0 };
    size_t jobs = 0, deltas = 0;
    for (int round = 0; round < 400; round++) {
        /* a batch of applies (some duplicates), acked unless lost */
        size_t from = tl_acklog_size (log);
        for (int k = 0; k < 20; k++) {
            uint64_t id = s_rand () % N;
            applied [id] = 1;
            assert_true (tl_acklog_add (log, id, id * 3 + 1) >= 0);
        }
        if (tl_acklog_size (log) > from)
            s_deliver (&b, log, from, false, s_rand () % 10 == 0);
        if (round == 200) {         /* the reducer restarts: a new log, the broker's view is stale */
            tl_acklog_clear (log);
            b.view = (tl_appview_t) { 0 };      /* the broker sees a new instance */
            for (uint64_t id = 0; id < N; id++)
                if (applied [id])
                    assert_int_equal (tl_acklog_add (log, id, id * 3 + 1), 1);
            s_deliver (&b, log, 0, true, false);
        }
        if (round % 7 == 6) {       /* a JOB with the broker's view */
            jobs++;
            bool prefix = tl_acklog_has_prefix (log, b.view.known, b.view.digest);
            deltas += prefix;
            s_deliver (&b, log, prefix ? b.view.known : 0, !prefix, false);
            assert_int_equal (b.view.known, tl_acklog_size (log));
            assert_memory_equal (b.got, applied, N);
        }
    }
    /* A view that is not a prefix is never taken for one. */
    assert_false (tl_acklog_has_prefix (log, b.view.known, b.view.digest + 1));
    assert_false (tl_acklog_has_prefix (log, tl_acklog_size (log) + 1, b.view.digest));
    /* Every JOB after the first answers with what changed, and the traffic is about one id per ack. */
    assert_true (deltas >= jobs - 1);
    assert_true (b.sent < 3 * tl_acklog_size (log) + 400 * 20);
    tl_acklog_destroy (&log);
}

int
main (void)
{
    const struct CMUnitTest tests [] = { cmocka_unit_test (test_exchange) };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
