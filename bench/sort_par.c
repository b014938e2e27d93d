/*  sort_par — times the aggregator's final sort (tl_agg_view_new) against the same sort cut in
    two parts on two threads (tl_agg_view_new_par), at the size that matters: the 6 M distinct
    pickup/dropoff pairs of the 2009-01 taxi trips.

        sort_par [CSV [RUNS [--huge]]]

    CSV defaults to /tmp/tally-bench-groups/data/yellow_tripdata_2009-01.csv; its columns 1 and
    2 (0-based: Trip_Pickup_DateTime, Trip_Dropoff_DateTime) make the key, joined by 0x1F as in
    tally. The file is read once into a table, whose groups (key and count, insertion order)
    then fill a fresh table for each run: RUNS (3) of each sort, alternated. The first
    sequential view is kept, and every other view is compared with it entry by entry. A
    parallel run also prints the wall time of each of the runner's steps (with the caller's
    own work between them in brackets). Huge pages are off unless --huge (cli/main.c's
    TALLY_NO_HUGEPAGES). Not run by the tests. */
#include "tests/unit/thread_job.h"
#include "lib/core/agg.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_RUNS_MAX 15

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*  What the runner saw: the wall time of each step (a call: all its works), and of the sort's
    own work between them. */
typedef struct {
    double last;
    double ms [16];
    int n;
} s_steps_t;

/*  The runner: works 1.. on threads of their own (s_job_t, s_thread: tests/unit/thread_job.h),
    work 0 on the caller's. */
static void
s_run_pthreads (void *ctx, void (*work) (void *arg), void **args, size_t n)
{
    s_steps_t *st = ctx;
    double t0 = s_now ();
    if (st->n < 15)
        st->ms [st->n++] = (t0 - st->last) * 1e3;
    pthread_t t [8];
    s_job_t j [8];
    size_t started = 1;
    for (; started < n && started < 8; started++) {
        j [started] = (s_job_t) { work, args [started] };
        if (pthread_create (&t [started], NULL, s_thread, &j [started]))
            break;
    }
    for (size_t i = started; i < n; i++)
        work (args [i]);    /* no thread: here */
    if (n)
        work (args [0]);
    for (size_t i = 1; i < started; i++)
        pthread_join (t [i], NULL);
    st->last = s_now ();
    if (st->n < 15)
        st->ms [st->n++] = (st->last - t0) * 1e3;
}

/*  Count one row: key = column 1 0x1F column 2. Returns whether it had them. */
static bool
s_row (tl_agg_t *a, const char *line, const char *end)
{
    if (end > line && end [-1] == '\r')
        end--;
    const char *f1 = memchr (line, ',', (size_t) (end - line));
    const char *f2 = f1 ? memchr (f1 + 1, ',', (size_t) (end - f1 - 1)) : NULL;
    const char *f3 = f2 ? memchr (f2 + 1, ',', (size_t) (end - f2 - 1)) : NULL;
    if (!f2)
        return false;
    if (!f3)
        f3 = end;
    size_t l1 = (size_t) (f2 - f1 - 1), l2 = (size_t) (f3 - f2 - 1);
    char key [TL_AGG_KEY_MAX];
    if (l1 + 1 + l2 > TL_AGG_KEY_MAX)
        return false;
    memcpy (key, f1 + 1, l1);
    key [l1] = 0x1f;
    memcpy (key + l1 + 1, f2 + 1, l2);
    if (tl_agg_add (a, key, l1 + 1 + l2, 1)) {
        fprintf (stderr, "out of memory\n");
        exit (1);
    }
    return true;
}

/*  Read the CSV (a header, then rows split on commas: this file quotes nothing) into a table. */
static tl_agg_t *
s_read (const char *path, size_t *rows_p)
{
    int fd = open (path, O_RDONLY);
    if (fd < 0) {
        perror (path);
        return NULL;
    }
    tl_agg_t *a = tl_agg_new ();
    size_t cap = 8 << 20, have = 0, rows = 0, lines = 0;
    char *buf = malloc (cap);
    for (bool eof = false; !eof;) {
        ssize_t got = read (fd, buf + have, cap - have);
        if (got < 0) {
            perror ("read");
            exit (1);
        }
        have += (size_t) got;
        eof = got == 0;
        size_t at = 0;
        while (at < have) {
            char *nl = memchr (buf + at, '\n', have - at);
            if (!nl && !eof)
                break;      /* the rest of the line comes with the next read */
            char *line = buf + at, *end = nl ? nl : buf + have;
            at = nl ? (size_t) (nl - buf) + 1 : have;
            if (lines++)
                rows += s_row (a, line, end);
        }
        memmove (buf, buf + at, have - at);
        have -= at;
        if (have == cap) {
            fprintf (stderr, "a line longer than %zu bytes\n", cap);
            exit (1);
        }
    }
    free (buf);
    close (fd);
    *rows_p = rows;
    return a;
}

/*  The groups, packed: {uint16 len, uint64 count, key} in insertion order. */
typedef struct {
    char *p;
    size_t len, n;
} s_groups_t;

static s_groups_t
s_pack (const tl_agg_t *a)
{
    s_groups_t g = { NULL, 0, tl_agg_size (a) };
    size_t bytes = tl_agg_key_bytes (a) + g.n * 8, pos = 0;
    g.p = malloc (bytes);
    tl_agg_entry_t e;
    while (tl_agg_next (a, &pos, &e)) {
        uint16_t l = (uint16_t) e.len;
        memcpy (g.p + g.len, &l, 2);
        memcpy (g.p + g.len + 2, &e.count, 8);
        memcpy (g.p + g.len + 10, e.key, e.len);
        g.len += 10 + e.len;
    }
    return g;
}

static tl_agg_t *
s_fill (const s_groups_t *g)
{
    tl_agg_t *a = tl_agg_new ();
    for (size_t at = 0; at < g->len;) {
        uint16_t l;
        uint64_t c;
        memcpy (&l, g->p + at, 2);
        memcpy (&c, g->p + at + 2, 8);
        if (tl_agg_add (a, g->p + at + 10, l, c)) {
            fprintf (stderr, "out of memory\n");
            exit (1);
        }
        at += 10 + l;
    }
    (void) tl_agg_size (a);     /* place the pending adds before the clock starts */
    return a;
}

/*  Is v the same output as ref, entry by entry? */
static bool
s_same (tl_agg_view_t *ref, tl_agg_view_t *v)
{
    static char b1 [TL_AGG_KEY_MAX], b2 [TL_AGG_KEY_MAX];
    size_t n = tl_agg_view_size (ref);
    if (tl_agg_view_size (v) != n || tl_agg_view_keylen (v) != tl_agg_view_keylen (ref))
        return false;
    for (size_t j = 0; j < n; j++) {
        tl_agg_entry_t x, y;
        tl_agg_view_prefetch_ahead (ref, j);
        tl_agg_view_prefetch_ahead (v, j);
        tl_agg_view_at (ref, j, &x, b1);
        tl_agg_view_at (v, j, &y, b2);
        if (x.len != y.len || x.count != y.count || memcmp (x.key, y.key, x.len))
            return false;
    }
    return true;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double
s_median (double *v, int n)
{
    qsort (v, (size_t) n, sizeof *v, s_cmp_double);
    return n % 2 ? v [n / 2] : (v [n / 2 - 1] + v [n / 2]) / 2;
}

int
main (int argc, char **argv)
{
    const char *path = argc > 1 ? argv [1] : "/tmp/tally-bench-groups/data/yellow_tripdata_2009-01.csv";
    int runs = argc > 2 ? atoi (argv [2]) : 3;
    bool huge = argc > 3 && strcmp (argv [3], "--huge") == 0;
    if (runs < 1 || runs > S_RUNS_MAX) {
        fprintf (stderr, "runs: 1..%d\n", S_RUNS_MAX);
        return 2;
    }
    tl_agg_huge_pages (huge);
    double t0 = s_now ();
    size_t rows;
    tl_agg_t *src = s_read (path, &rows);
    if (!src)
        return 1;
    s_groups_t g = s_pack (src);
    tl_agg_destroy (&src);
    printf ("%s: %zu rows, %zu groups (read in %.1f s), huge pages %s\n", path, rows, g.n, s_now () - t0,
            huge ? "on" : "off");
    double tseq [S_RUNS_MAX], tpar [S_RUNS_MAX];
    tl_agg_t *ref_a = NULL;
    tl_agg_view_t *ref = NULL;
    bool same = true;
    for (int run = 0; run < runs; run++)
        for (int par = 0; par <= 1; par++) {
            tl_agg_t *a = s_fill (&g);
            tl_agg_view_t *v = NULL;
            double t = s_now ();
            s_steps_t st = { .last = t };
            int rc = par ? tl_agg_view_new_par (a, &v, s_run_pthreads, &st) : tl_agg_view_new (a, &v);
            double end = s_now ();
            t = end - t;
            if (rc) {
                fprintf (stderr, "view: error %d\n", rc);
                return 1;
            }
            (par ? tpar : tseq) [run] = t;
            bool ok = true;
            if (!ref) {
                ref = v;
                ref_a = a;
            }
            else {
                ok = s_same (ref, v);
                same = same && ok;
                tl_agg_view_destroy (&v);
                tl_agg_destroy (&a);
            }
            printf ("run %d %-10s %7.1f ms%s", run + 1, par ? "parallel" : "sequential", t * 1e3,
                    ok ? "" : "  DIFFERS from the first sequential");
            if (par) {
                /* Between the steps (in brackets): the sort's own work on the caller's thread. */
                printf ("   steps:");
                for (int s = 0; s < st.n; s++)
                    printf (s % 2 ? " %.1f" : " [%.1f]", st.ms [s]);
                printf (" [%.1f]", (end - st.last) * 1e3);
            }
            printf ("\n");
            fflush (stdout);
        }
    double ms = s_median (tseq, runs) * 1e3, mp = s_median (tpar, runs) * 1e3;
    printf ("median: sequential %.1f ms, parallel %.1f ms (%.0f%%); outputs %s\n", ms, mp, 100 * mp / ms,
            same ? "identical" : "DIFFER");
    tl_agg_view_destroy (&ref);
    tl_agg_destroy (&ref_a);
    free (g.p);
    return same ? 0 : 1;
}
