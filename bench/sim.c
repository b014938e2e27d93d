/*  sim — the scheduler (broker/sched.c, the real code) driven by a simulated clock, to compare
    strategies on a fleet without a fleet.

    Workload: 138 objects sized like the TLC yellow-trip CSVs (2009-2014 ~2.4-2.6 GB each,
    2015-2016 ~1.6-2.0 GB, 2017-2020 ~0.2-1.0 GB; ~250 GB in all). Fleets: 12 mappers x 8 slots,
    and 1,000 mappers x 1 slot. A slot reads 100 MB/s +-30% (per mapper); 5% of the mappers are
    stragglers at a tenth of that. Strategies:
      static      the experiment: keys cut into equal-count chunks, one per mapper, no sharing
      whole       pull, whole objects (no splits, no steals, no backups)
      split       pull, 64 MB byte ranges
      full        pull, 64 MB ranges, tail stealing and backups (tally's default)
    Reported: makespan / ideal, where ideal = total bytes / total read rate of the fleet.

    Steals asked in one step are answered in the next (a mapper answers at its next chunk), many
    at a time, as the broker does. SIM_START_MS adds a first-byte latency to every task (default
    0; an S3 GET is ~20-50 ms).

    usage: sim [SEED [MIN_STEAL_MB BACKUP_AFTER_MS]]   (prints a markdown table; defaults are
    tally's: 16 MB and 2000 ms).
           sim --mappers N --slots S --tasks T [--split-mb MB] [--seed SEED]
                one fleet and tally's strategy only, the workload repeated until it makes at
                least T tasks of MB (default 64) each; also reports the time spent inside the
                scheduler's calls (rdtsc, calibrated) per simulated second and per task. SIM_STEAL_AFTER=MS sets steal_after_ms (default 1000),
    SIM_STEAL_ETA=MS steal_eta_ms (default 100); SIM_TRACE=1 prints the end-game every 100 ms,
    SIM_TRACE_TASK=ID one task's life. */
#include "broker/sched.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define NOBJ0 138               /* the TLC-like objects of one workload */

/*  Time inside the scheduler's calls, in ticks: rdtsc where there is one (a few ns a call), so
    that timing 100 M calls does not cost more than they do. */
static uint64_t s_ticks;
static inline uint64_t
s_tick (void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc ();
#else
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
#endif
}
#define S_T(expr) ({ uint64_t t0_ = s_tick (); __typeof__ (expr) r_ = (expr); s_ticks += s_tick () - t0_; r_; })
#define S_TV(expr) do { uint64_t t0_ = s_tick (); expr; s_ticks += s_tick () - t0_; } while (0)

static int NOBJ = NOBJ0;
#define DT 10                   /* ms per simulated step */

static uint64_t s_rng;
static double
s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (double) (s_rng >> 11) / (double) (1ULL << 53);
}

typedef struct {
    int64_t task;               /* -1: idle */
    uint32_t attempt;
    double pos;                 /* absolute byte position */
    uint64_t end;               /* current range end (after cuts) */
    uint64_t start;
    int64_t ready;              /* time the first byte arrives (a request's latency) */
} slot_t;

typedef struct {
    double rate;                /* bytes per ms per slot */
    int nslots;
    slot_t *slots;
    int64_t *queue;             /* assigned, not started: task ids */
    uint32_t *qatt;
    int nq;
} mapper_t;

static uint64_t *sizes;

static void
s_workload (void)
{
    sizes = calloc ((size_t) NOBJ, sizeof *sizes);
    for (int i = 0; i < NOBJ; i++) {
        double gb;
        if (i % NOBJ0 < 72)
            gb = 2.4 + 0.2 * s_rand ();
        else if (i % NOBJ0 < 96)
            gb = 1.6 + 0.4 * s_rand ();
        else
            gb = 0.2 + 0.8 * s_rand ();
        sizes [i] = (uint64_t) (gb * 1e9);
    }
}

static mapper_t *
s_fleet (int nm, int slots)
{
    mapper_t *m = calloc ((size_t) nm, sizeof *m);
    for (int i = 0; i < nm; i++) {
        m [i].rate = 100e6 / 1000.0 * (0.7 + 0.6 * s_rand ());
        if (s_rand () < 0.05)
            m [i].rate /= 10;       /* a straggler */
        m [i].nslots = slots;
        m [i].slots = calloc ((size_t) slots, sizeof (slot_t));
        for (int k = 0; k < slots; k++)
            m [i].slots [k].task = -1;
        m [i].queue = calloc (64, sizeof (int64_t));
        m [i].qatt = calloc (64, sizeof (uint32_t));
    }
    return m;
}

static double
s_ideal (mapper_t *m, int nm, uint64_t total)
{
    double rate = 0;
    for (int i = 0; i < nm; i++)
        rate += m [i].rate * m [i].nslots;
    return (double) total / rate;
}

/*  The experiment: equal-count chunks of keys; each mapper's slots share only its own chunk. */
static double
s_static (mapper_t *m, int nm)
{
    double makespan = 0;
    int per = (NOBJ + nm - 1) / nm;
    for (int i = 0; i < nm; i++) {
        double *free_at = calloc ((size_t) m [i].nslots, sizeof (double));
        double end = 0;
        for (int k = i * per; k < (i + 1) * per && k < NOBJ; k++) {
            int best = 0;
            for (int s = 1; s < m [i].nslots; s++)
                if (free_at [s] < free_at [best])
                    best = s;
            free_at [best] += (double) sizes [k] / m [i].rate;
            if (free_at [best] > end)
                end = free_at [best];
        }
        if (end > makespan)
            makespan = end;
        free (free_at);
    }
    return makespan;
}

static uint64_t s_min_steal = 16ULL << 20;
static int64_t s_start_ms = 0;      /* first-byte latency of every task (an S3 GET), SIM_START_MS */

typedef struct {
    int v;
    uint64_t task;
    uint32_t at, keep;
} s_pend_t;
static int64_t s_backup_after = 2000;
static uint64_t s_ntasks;          /* tasks of the last s_pull (after cuts) */

static double
s_pull (mapper_t *m, int nm, uint64_t split, bool steal, bool backups)
{
    tl_sched_cfg_t cfg = { .lease_ms = 1000000000, .apply_timeout_ms = 1000000000, .max_attempts = 4,
                           .min_steal = s_min_steal, .no_backups = !backups, .backup_after_ms = s_backup_after,
                           .steal_after_ms = getenv ("SIM_STEAL_AFTER") ? atoll (getenv ("SIM_STEAL_AFTER")) : 0,
                           .steal_eta_ms = getenv ("SIM_STEAL_ETA") ? atoll (getenv ("SIM_STEAL_ETA")) : 0 };
    tl_sched_t *s = tl_sched_new (&cfg);
    if (getenv ("SIM_START_MS"))
        s_start_ms = atoll (getenv ("SIM_START_MS"));
    for (int i = 0; i < NOBJ; i++) {
        if (split && sizes [i] > split)
            for (uint64_t off = 0; off < sizes [i]; off += split)
                tl_sched_add (s, (uint32_t) i, off, sizes [i] - off < split ? sizes [i] - off : split, true);
        else
            tl_sched_add (s, (uint32_t) i, 0, sizes [i], true);
    }
    int *idx = calloc ((size_t) nm, sizeof (int));
    for (int i = 0; i < nm; i++) {
        char key [16];
        snprintf (key, sizeof key, "m%d", i);
        idx [i] = tl_sched_join (s, key, strlen (key), key, (uint32_t) m [i].nslots, 0);
    }
    int64_t now = 0;
    int maxpend = 0, npend = 0;
    for (int i = 0; i < nm; i++)
        maxpend += m [i].nslots;
    s_pend_t *pend = calloc ((size_t) maxpend, sizeof *pend);
    s_ntasks = tl_sched_stats (s).tasks;
    while (!tl_sched_finished (s) && now < 100000000) {
        int mi, v;
        uint32_t at, keep;
        const tl_task_t *t;
        while (S_T (tl_sched_next (s, now, &mi, &t, &at))) {
            mapper_t *mp = &m [mi];
            mp->queue [mp->nq] = (int64_t) t->id;
            mp->qatt [mp->nq++] = at;
        }
        /* Steals asked in one step are answered in the next (one step of latency, as a mapper
           answers at its next chunk), and many may be in flight at once. */
        for (int p = 0; p < npend; p++) {
            int pv = pend [p].v;
            uint64_t cut = 0;
            bool returned = false;
            for (int q = 0; q < m [pv].nq; q++)
                if (m [pv].queue [q] == (int64_t) pend [p].task && m [pv].qatt [q] == pend [p].at) {
                    returned = true;        /* not started: give it back, as the mapper does */
                    memmove (m [pv].queue + q, m [pv].queue + q + 1, (size_t) (m [pv].nq - q - 1) * sizeof (int64_t));
                    memmove (m [pv].qatt + q, m [pv].qatt + q + 1, (size_t) (m [pv].nq - q - 1) * sizeof (uint32_t));
                    m [pv].nq--;
                    break;
                }
            for (int k = 0; k < m [pv].nslots && !returned; k++) {
                slot_t *sl = &m [pv].slots [k];
                if (sl->task == (int64_t) pend [p].task && sl->attempt == pend [p].at) {
                    uint64_t pos = (uint64_t) sl->pos;
                    if (sl->end > pos && sl->end - pos >= (256 << 10)) {
                        cut = pos + (sl->end - pos) * pend [p].keep / 1000;
                        sl->end = cut;
                    }
                }
            }
            if (getenv ("SIM_TRACE_TASK") && pend [p].task == strtoull (getenv ("SIM_TRACE_TASK"), NULL, 10))
                fprintf (stderr, "t=%lld cut task %llu victim %d at %u cut %llu returned %d\n", (long long) now,
                         (unsigned long long) pend [p].task, pv, pend [p].at, (unsigned long long) cut, (int) returned);
            S_TV (tl_sched_cut (s, pv, pend [p].task, pend [p].at, cut, returned, now));
        }
        npend = 0;
        while (S_T (tl_sched_next (s, now, &mi, &t, &at))) {
            mapper_t *mp = &m [mi];
            mp->queue [mp->nq] = (int64_t) t->id;
            mp->qatt [mp->nq++] = at;
        }
        while (steal && npend < maxpend && S_T (tl_sched_steal (s, now, &v, &t, &at, &keep)))
            pend [npend++] = (s_pend_t) { v, t->id, at, keep };
        tl_sched_ev_t ev;
        while (S_T (tl_sched_event (s, &ev)))
            if (ev.type == TL_EV_CANCEL) {
                mapper_t *cm = &m [ev.mapper];
                for (int k = 0; k < cm->nslots; k++)
                    if (cm->slots [k].task == (int64_t) ev.task)
                        cm->slots [k].task = -1;
                for (int q = 0; q < cm->nq; q++)     /* a queued spare is dropped too, as the mapper does */
                    if (cm->queue [q] == (int64_t) ev.task) {
                        memmove (cm->queue + q, cm->queue + q + 1, (size_t) (cm->nq - q - 1) * sizeof (int64_t));
                        memmove (cm->qatt + q, cm->qatt + q + 1, (size_t) (cm->nq - q - 1) * sizeof (uint32_t));
                        cm->nq--;
                        q--;
                    }
            }
        now += DT;
        for (int i = 0; i < nm; i++) {
            mapper_t *mp = &m [i];
            S_TV (tl_sched_seen (s, idx [i], now));
            for (int k = 0; k < mp->nslots; k++) {
                slot_t *sl = &mp->slots [k];
                if (sl->task < 0 && mp->nq) {
                    const tl_task_t *qt = tl_sched_task (s, (uint64_t) mp->queue [0]);
                    sl->task = mp->queue [0];
                    sl->attempt = mp->qatt [0];
                    sl->start = qt->offset;
                    sl->pos = (double) qt->offset;
                    sl->end = qt->offset + qt->length;
                    sl->ready = now + s_start_ms;
                    if (getenv ("SIM_TRACE_TASK") && (uint64_t) sl->task == strtoull (getenv ("SIM_TRACE_TASK"), NULL, 10))
                        fprintf (stderr, "t=%lld start task %llu on %d at %u [%llu,%llu)\n", (long long) now,
                                 (unsigned long long) sl->task, i, sl->attempt, (unsigned long long) sl->start, (unsigned long long) sl->end);
                    memmove (mp->queue, mp->queue + 1, (size_t) (mp->nq - 1) * sizeof (int64_t));
                    memmove (mp->qatt, mp->qatt + 1, (size_t) (mp->nq - 1) * sizeof (uint32_t));
                    mp->nq--;
                }
                if (sl->task < 0 || now < sl->ready)
                    continue;
                sl->pos += mp->rate * DT;
                S_TV (tl_sched_progress (s, idx [i], (uint64_t) sl->task, sl->attempt, (uint64_t) sl->pos - sl->start));
                if (sl->pos >= (double) sl->end) {
                    uint64_t id = (uint64_t) sl->task, covered = sl->end - sl->start;
                    sl->task = -1;
                    if (getenv ("SIM_TRACE_TASK") && id == strtoull (getenv ("SIM_TRACE_TASK"), NULL, 10))
                        fprintf (stderr, "t=%lld done task %llu on %d at %u covered %llu\n", (long long) now,
                                 (unsigned long long) id, i, sl->attempt, (unsigned long long) covered);
                    S_TV (tl_sched_done (s, idx [i], id, sl->attempt, now));
                    S_TV (tl_sched_applied (s, id, covered, now));     /* the reducer, instantly */
                }
            }
        }
        S_TV (tl_sched_tick (s, now));
        if (getenv ("SIM_TRACE") && nm > 100 && now % 100 == 0) {
            tl_sched_stats_t st = tl_sched_stats (s);
            int busy = 0, sbusy = 0, queued = 0;
            double left = 0, sleft = 0, maxeta = 0;
            for (int i = 0; i < nm; i++) {
                queued += m [i].nq;
                for (int k = 0; k < m [i].nslots; k++)
                    if (m [i].slots [k].task >= 0) {
                        double l = (double) m [i].slots [k].end - m [i].slots [k].pos;
                        busy++;
                        left += l;
                        if (l / m [i].rate > maxeta)
                            maxeta = l / m [i].rate;
                        if (m [i].rate < 5e3) {
                            sbusy++;
                            sleft += l;
                        }
                    }
            }
            fprintf (stderr, "t=%lld q=%llu busy=%d (stragglers %d) spares=%d left=%.0fMB (stragglers %.0fMB) max eta %.0f ms steals %llu backups %llu\n",
                     (long long) now, (unsigned long long) st.queued, busy, sbusy, queued, left / 1e6, sleft / 1e6, maxeta,
                     (unsigned long long) st.steals, (unsigned long long) st.backups);
        }
    }
    s_ntasks = tl_sched_stats (s).tasks;
    if (getenv ("SIM_DEBUG")) {
        tl_sched_stats_t st = tl_sched_stats (s);
        fprintf (stderr, "tasks %llu applied %llu steals %llu declined %llu returned %llu backups %llu queued %llu running %llu\n",
                 (unsigned long long) st.tasks, (unsigned long long) st.applied, (unsigned long long) st.steals,
                 (unsigned long long) st.steals_declined, (unsigned long long) st.steals_returned,
                 (unsigned long long) st.backups, (unsigned long long) st.queued, (unsigned long long) st.running);
    }
    tl_sched_destroy (&s);
    free (idx);
    free (pend);
    return (double) now;
}

static void
s_reset (mapper_t *m, int nm)
{
    for (int i = 0; i < nm; i++) {
        m [i].nq = 0;
        for (int k = 0; k < m [i].nslots; k++)
            m [i].slots [k].task = -1;
    }
}

/*  One fleet, tally's strategy, with the scheduler's own time: sim --mappers N --slots S --tasks T. */
static int
s_big (int argc, char **argv)
{
    int nm = 1000, slots = 1;
    uint64_t want = 1000000, split_mb = 64;
    s_rng = 88172645463325252ULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv [i], "--mappers")) nm = atoi (argv [i + 1]);
        else if (!strcmp (argv [i], "--slots")) slots = atoi (argv [i + 1]);
        else if (!strcmp (argv [i], "--tasks")) want = strtoull (argv [i + 1], NULL, 10);
        else if (!strcmp (argv [i], "--split-mb")) split_mb = strtoull (argv [i + 1], NULL, 10);
        else if (!strcmp (argv [i], "--seed")) s_rng = strtoull (argv [i + 1], NULL, 10);
        else {
            fprintf (stderr, "sim: unknown flag %s\n", argv [i]);
            return 2;
        }
    }
    if (nm < 1 || slots < 1 || slots > 64 || !split_mb || !s_rng) {
        fprintf (stderr, "sim: bad --mappers, --slots (1..64), --split-mb or --seed\n");
        return 2;
    }
    uint64_t split = split_mb << 20;
    NOBJ = NOBJ0;
    s_workload ();
    uint64_t per = 0;
    for (int i = 0; i < NOBJ0; i++)
        per += (sizes [i] + split - 1) / split;
    int reps = (int) ((want + per - 1) / per);
    free (sizes);
    NOBJ = NOBJ0 * (reps ? reps : 1);
    s_workload ();
    uint64_t total = 0;
    for (int i = 0; i < NOBJ; i++)
        total += sizes [i];
    mapper_t *m = s_fleet (nm, slots);
    double ideal = s_ideal (m, nm, total);
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    uint64_t c0 = s_tick ();
    s_ticks = 0;
    double fu = s_pull (m, nm, split, true, true);
    uint64_t c1 = s_tick ();
    clock_gettime (CLOCK_MONOTONIC, &b);
    double wall = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
    double sched = wall * (double) s_ticks / (double) (c1 - c0);      /* ticks to seconds */
    printf ("| fleet | objects | tasks | data | ideal (s) | makespan / ideal | scheduler time | per simulated s | per task | sim wall |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n");
    printf ("| %d mappers x %d slot(s) | %d | %llu | %.1f TB | %.1f | %.3fx | %.2f s | %.2f ms | %.2f us | %.1f s |\n",
            nm, slots, NOBJ, (unsigned long long) s_ntasks, (double) total / 1e12, ideal / 1000, fu / ideal, sched,
            1000.0 * sched / (fu / 1000.0), 1e6 * sched / (double) s_ntasks, wall);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && argv [1][0] == '-')
        return s_big (argc, argv);
    s_rng = argc > 1 ? strtoull (argv [1], NULL, 10) : 88172645463325252ULL;
    if (!s_rng)
        s_rng = 1;
    if (argc > 3) {
        s_min_steal = strtoull (argv [2], NULL, 10) << 20;
        s_backup_after = strtoll (argv [3], NULL, 10);
    }
    s_workload ();
    uint64_t total = 0;
    for (int i = 0; i < NOBJ; i++)
        total += sizes [i];
    printf ("%d objects, %.1f GB; slots read 100 MB/s +-30%%, 5%% of mappers at a tenth of that; "
            "min steal %llu MB, backups after %lld ms\n\n", NOBJ, (double) total / 1e9,
            (unsigned long long) (s_min_steal >> 20), (long long) s_backup_after);
    printf ("| fleet | ideal (s) | static chunks (experiment) | pull, whole objects | pull + 64 MB splits | "
            "pull + splits + steals + backups (tally) |\n|---|---|---|---|---|---|\n");
    int fleets [2][2] = { { 12, 8 }, { 1000, 1 } };
    for (int f = 0; f < 2; f++) {
        int nm = fleets [f][0], slots = fleets [f][1];
        mapper_t *m = s_fleet (nm, slots);
        double ideal = s_ideal (m, nm, total);
        double st = s_static (m, nm);
        double wh = s_pull (m, nm, 0, false, false);
        s_reset (m, nm);
        double sp = s_pull (m, nm, 64ULL << 20, false, false);
        s_reset (m, nm);
        double fu = s_pull (m, nm, 64ULL << 20, true, true);
        printf ("| %d mappers x %d slot(s) | %.1f | %.2fx | %.2fx | %.2fx | %.2fx |\n", nm, slots, ideal / 1000,
                st / ideal, wh / ideal, sp / ideal, fu / ideal);
        fflush (stdout);
    }
    return 0;
}
