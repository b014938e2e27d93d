/*  ctl — control-plane throughput, driving the real code:
      dispatch: broker/sched.c hands out, completes and applies N tasks over M mappers
                (next + done + applied per task, plus heartbeats and ticks);
      apply:    the reducer's path for one small partial: decode (lib/wire/codec.c, with the
                bounds pass) and apply (reducer/ledger.c), for N partials of 10 groups each.
    These are the pure parts; the sockets add ZeroMQ's own cost on top.
    The dispatch line also gives the rate over the first and the last tenth of the tasks: a
    scheduler whose cost per task grows with the job shows it there.
    usage: ctl [N [sched]]   (default 1,000,000; "sched" runs the scheduler part only) */
#include "broker/sched.h"
#include "lib/wire/codec.h"
#include "reducer/ledger.h"
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

/*  n tasks over nm mappers of 8 slots: next, done and applied per task, heartbeats and a tick
    every 1000 ms. Returns the tasks dispatched; *dt is the whole time, *first and *last that of
    the first and the last tenth of the tasks. */
static uint64_t
s_dispatch (uint64_t n, int nm, double *dt, double *first, double *last)
{
    tl_sched_t *s = tl_sched_new (NULL);
    for (uint64_t i = 0; i < n; i++)
        tl_sched_add (s, (uint32_t) (i % 138), i * 1000, 1000, true);
    for (int i = 0; i < nm; i++) {
        char key [16];
        snprintf (key, sizeof key, "m%d", i);
        tl_sched_join (s, key, strlen (key), key, 8, 0);
    }
    double t0 = s_now (), t_last_from = t0;
    int64_t now = 0;
    uint64_t dispatched = 0, tenth = n / 10 ? n / 10 : 1;
    int m;
    uint32_t at;
    const tl_task_t *t;
    *first = *last = 0;
    while (!tl_sched_finished (s)) {
        now++;
        while (tl_sched_next (s, now, &m, &t, &at)) {
            uint64_t id = t->id;
            tl_sched_done (s, m, id, at, now);
            tl_sched_applied (s, id, 1000, now);
            dispatched++;
            if (dispatched == tenth)
                *first = s_now () - t0;
            if (dispatched == n - tenth)
                t_last_from = s_now ();
        }
        if (now % 1000 == 0) {
            for (int i = 0; i < nm; i++)
                tl_sched_seen (s, i, now);
            tl_sched_tick (s, now);
        }
        tl_sched_ev_t ev;
        while (tl_sched_event (s, &ev))
            ;
    }
    double t1 = s_now ();
    *dt = t1 - t0;
    *last = t1 - t_last_from;
    tl_sched_destroy (&s);
    return dispatched;
}

int
main (int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull (argv [1], NULL, 10) : 1000000;
    /* dispatch, 5 times: the best of each measure (the machine may be shared) */
    double best = 0, best_first = 0, best_last = 0;
    uint64_t dispatched = 0;
    int nm = 1000;
    for (int rep = 0; rep < 5; rep++) {
        double dt, first, last;
        dispatched = s_dispatch (n, nm, &dt, &first, &last);
        best = rep == 0 || dt < best ? dt : best;
        best_first = rep == 0 || first < best_first ? first : best_first;
        best_last = rep == 0 || last < best_last ? last : best_last;
    }
    uint64_t tenth = n / 10 ? n / 10 : 1;
    printf ("| broker scheduler: next + done + applied | %llu tasks, %d mappers | %.3f s | %.0f tasks/s |"
            " first tenth %.0f tasks/s, last tenth %.0f tasks/s |\n",
            (unsigned long long) dispatched, nm, best, (double) dispatched / best,
            (double) tenth / best_first, (double) tenth / best_last);
    if (argc > 2 && !strcmp (argv [2], "sched"))
        return 0;

    /* apply */
    tl_agg_entry_t g [10];
    char keys [10][4];
    for (int i = 0; i < 10; i++) {
        snprintf (keys [i], sizeof keys [i], "%d", i);
        g [i] = (tl_agg_entry_t) { keys [i], (uint32_t) strlen (keys [i]), (uint64_t) (i + 1) * 1000, NULL };
    }
    char **frames = malloc (n * sizeof *frames);
    size_t *lens = malloc (n * sizeof *lens);
    for (uint64_t i = 0; i < n; i++) {
        tl_msg_t p = { .type = TL_MSG_PARTIAL, .job = "0123456789abcdef", .task = i, .attempt = 1, .mapper = "mapper-1",
                       .offset = 0, .length = 1000, .rows = 55000, .bytes = 1000, .bad = 0, .groups = g, .n_groups = 10 };
        tl_msg_encode (&p, &frames [i], &lens [i]);
    }
    tl_ledger_t *l = tl_ledger_new ();
    tl_ledger_set_tasks (l, n);
    double t0 = s_now ();
    uint64_t applied = 0;
    for (uint64_t i = 0; i < n; i++) {
        tl_msg_t p;
        tl_err_t e;
        if (tl_msg_decode (frames [i], lens [i], &p, &e) == 0) {
            applied += tl_ledger_apply (l, &p) == 1;
            tl_msg_clear (&p);
        }
    }
    double dt = s_now () - t0;
    printf ("| reducer: decode + apply a partial (10 groups, %zu bytes) | %llu partials | %.3f s | %.0f partials/s |\n",
            lens [0], (unsigned long long) applied, dt, (double) applied / dt);
    if (tl_agg_get (tl_ledger_totals (l), "9", 1) != 10000 * applied) {
        fprintf (stderr, "ctl: totals are wrong\n");
        return 1;
    }
    for (uint64_t i = 0; i < n; i++)
        free (frames [i]);
    free (frames);
    free (lens);
    tl_ledger_destroy (&l);
    return 0;
}
