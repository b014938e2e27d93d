/*  ctl_net — control-plane throughput through the real processes and sockets.
      ctl_net reducer EP N        act as broker and mapper against a running `tally reducer`
                                  listening on EP: JOB for N tasks, N small partials, then wait
                                  until every task is acknowledged as applied.
      ctl_net mappers EP SLOTS [single]
                                  act as a mapper with SLOTS slots against a running `tally broker`
                                  at EP: answer every TASK at once with a PARTIAL to the reducer
                                  named in WELCOME and a DONE to the broker, until END. Prints
                                  the total rate and the rate of each tenth of the job (by tasks
                                  received; the last tenth ends at END, so it holds the wait for
                                  the last acks, also shown apart), to show whether the rate
                                  stays flat. It takes
                                  TASKS and sends one DONES per batch of tasks received, as
                                  `tally mapper` does; `single`: one TASK and one DONE per task
                                  (a mapper from before batches). */
#include "lib/wire/codec.h"
#include "lib/wire/net.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static tl_agg_entry_t s_groups [10];

static int
s_reducer (const char *ep, uint64_t n)
{
    zsock_t *broker = tl_sock_new (ZMQ_DEALER, 256 << 20), *mapper = tl_sock_new (ZMQ_DEALER, 1 << 20);
    zsock_set_sndhwm (mapper, 0);
    zsock_connect (broker, "%s", ep);
    zsock_connect (mapper, "%s", ep);
    tl_msg_t job = { .type = TL_MSG_JOB, .job = "benchjob00000000", .col = "k", .tasks = n, .bytes = n };
    tl_send (broker, NULL, 0, &job, false);
    tl_msg_t m;
    tl_err_t e;
    if (tl_recv (broker, NULL, NULL, &m, &e) != 0)
        return 1;
    tl_msg_clear (&m);
    double t0 = s_now ();
    for (uint64_t i = 0; i < n; i++) {
        tl_msg_t p = { .type = TL_MSG_PARTIAL, .job = "benchjob00000000", .task = i, .attempt = 1, .mapper = "bench",
                       .offset = 0, .length = 1, .rows = 10, .bytes = 1, .groups = s_groups, .n_groups = 10 };
        tl_send (mapper, NULL, 0, &p, false);
    }
    double t_sent = s_now ();
    uint64_t acked = 0;
    while (acked < n) {
        if (tl_recv (broker, NULL, NULL, &m, &e) != 0)
            return 1;
        if (m.type == TL_MSG_APPLIED && !m.full)
            acked += m.n_ids;
        tl_msg_clear (&m);
    }
    double dt = s_now () - t0;
    printf ("| reducer process: partials sent, applied and acknowledged | %llu partials (10 groups each) | %.3f s "
            "(sent in %.3f s) | %.0f partials/s |\n", (unsigned long long) n, dt, t_sent - t0, (double) n / dt);
    zsock_destroy (&broker);
    zsock_destroy (&mapper);
    return 0;
}

/*  The fake mapper: every task is finished on arrival. It carries the assignment's token and
    the name the broker knows it by (the reducer applies nothing else), answers RESET with a new
    HELLO, and beats every 500 ms so that its lease never lapses while it waits. */
static int
s_mappers (const char *ep, uint64_t slots, bool batch)
{
    zsock_t *broker = tl_sock_new (ZMQ_DEALER, 1 << 20), *reducer = NULL;
    zsock_set_sndhwm (broker, 0);
    zsock_set_rcvhwm (broker, 0);
    zsock_connect (broker, "%s", ep);
    tl_msg_t hello = { .type = TL_MSG_HELLO, .name = "bench", .slots = slots, .batch = batch ? TL_BATCH_MAX : 0 };
    bool dones_ok = false;
    tl_done_t dones [TL_BATCH_MAX];
    tl_send (broker, NULL, 0, &hello, false);
    uint64_t tasks = 0, cap = 0;
    double t0 = 0, *at = NULL, last_hb = s_now ();      /* at [i]: when task i arrived */
    char job [64] = "", name [128] = "bench";
    zpoller_t *poller = zpoller_new (broker, NULL);
    while (true) {
        if (s_now () - last_hb >= 0.5) {
            tl_msg_t hb = { .type = TL_MSG_HB };
            tl_send (broker, NULL, 0, &hb, false);
            last_hb = s_now ();
        }
        if (!zpoller_wait (poller, 100)) {
            if (zpoller_terminated (poller))
                break;
            continue;
        }
        tl_msg_t m;
        tl_err_t e;
        int got;
        while ((got = tl_recv_nowait (broker, NULL, NULL, &m, &e)) != -3 && got != -2) {
            if (got == -1)
                continue;
        if (m.type == TL_MSG_WELCOME) {
            if (!reducer) {
                reducer = tl_sock_new (ZMQ_DEALER, 1 << 20);
                zsock_set_sndhwm (reducer, 0);
                zsock_connect (reducer, "%s", m.reducer);
            }
            snprintf (job, sizeof job, "%s", m.job);
            snprintf (name, sizeof name, "%s", m.name ? m.name : "bench");
            dones_ok = batch && m.batch > 0;
        }
        else if (m.type == TL_MSG_RESET)
            tl_send (broker, NULL, 0, &hello, false);
        else if (m.type == TL_MSG_TASK || m.type == TL_MSG_TASKS) {
            tl_assign_t one = { .task = m.task, .attempt = m.attempt, .offset = m.offset, .length = m.length,
                                .token = m.token, .verify = m.verify };
            const tl_assign_t *as = m.type == TL_MSG_TASK ? &one : m.assigns;
            size_t n = m.type == TL_MSG_TASK ? 1 : m.n_assigns, nd = 0;
            for (size_t i = 0; i < n; i++) {
                const tl_assign_t *a = &as [i];
                if (!tasks)
                    t0 = s_now ();
                if (tasks == cap) {
                    cap = cap ? 2 * cap : 1 << 16;
                    if (!(at = realloc (at, cap * sizeof *at)))
                        return fprintf (stderr, "ctl_net: out of memory\n"), 1;
                }
                at [tasks] = s_now ();
                tl_msg_t p = { .type = TL_MSG_PARTIAL, .job = job, .task = a->task, .attempt = a->attempt,
                               .mapper = name, .offset = a->offset, .length = a->length, .rows = 10,
                               .bytes = a->length, .groups = s_groups, .n_groups = 10, .token = a->token,
                               .verify = a->verify };
                tl_send (reducer, NULL, 0, &p, false);
                dones [nd++] = (tl_done_t) { a->task, a->attempt, 10, a->length, 0 };
                tasks++;
            }
            if (dones_ok) {
                tl_msg_t d = { .type = TL_MSG_DONES, .dones = dones, .n_dones = nd };
                tl_send (broker, NULL, 0, &d, false);
            }
            else
                for (size_t i = 0; i < nd; i++) {
                    tl_msg_t d = { .type = TL_MSG_DONE, .task = dones [i].task, .attempt = dones [i].attempt,
                                   .rows = 10, .bytes = dones [i].bytes };
                    tl_send (broker, NULL, 0, &d, false);
                }
        }
        else if (m.type == TL_MSG_END) {
            double t_end = s_now (), dt = t_end - t0;
            printf ("| broker process: tasks handed out, done and applied (fake mapper, %llu slots) | %llu tasks | "
                    "%.3f s | %.0f tasks/s |", (unsigned long long) slots, (unsigned long long) tasks, dt,
                    (double) tasks / dt);
            /* Tenths: tasks [k*n/10, (k+1)*n/10) from the arrival of the first to that of the
               next tenth's first (the last: to END). */
            for (int k = 0; k < 10 && tasks >= 10; k++) {
                uint64_t a = tasks * (uint64_t) k / 10, z = tasks * (uint64_t) (k + 1) / 10;
                double span = (z < tasks ? at [z] : t_end) - at [a];
                printf (" %.0fk", span > 0 ? (double) (z - a) / span / 1000 : 0);
            }
            /* The last tenth holds the job's tail: from the last task's arrival to END (its
               partial applied, acked, and the broker's END), shown apart. */
            printf (" | last task to END %.0f ms | %s |\n", tasks ? (t_end - at [tasks - 1]) * 1000 : 0.0,
                    m.ok ? "ok" : "FAILED");
            tl_msg_clear (&m);
            goto end;
        }
        tl_msg_clear (&m);
        }
    }
end:
    zpoller_destroy (&poller);
    free (at);
    zsock_destroy (&broker);
    zsock_destroy (&reducer);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp (argv [4], "single") == 0))
        return fprintf (stderr, "usage: ctl_net reducer EP N | ctl_net mappers EP SLOTS [single]\n"), 2;
    for (int i = 0; i < 10; i++) {
        static char k [10][4];
        snprintf (k [i], sizeof k [i], "%d", i);
        s_groups [i] = (tl_agg_entry_t) { k [i], 1, 1, NULL };
    }
    uint64_t n = strtoull (argv [3], NULL, 10);
    return strcmp (argv [1], "reducer") == 0 ? s_reducer (argv [2], n) : s_mappers (argv [2], n, argc == 4);
}
