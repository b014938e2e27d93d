/*  run.c — one-shot convenience: start a reducer, a broker and N mappers as child processes
    talking over ipc:// sockets in a private temporary folder, follow the live totals, print
    the final result, and stop the children.

    The children are the real roles (forked from this process, they enter the same
    `tally reducer|broker|mapper` mains with the same arguments a fleet's processes get), so
    `tally run` exercises exactly what a fleet runs. */
#include "cli/run.h"
#include "broker/broker.h"
#include "mapper/mapper.h"
#include "reducer/reducer.h"
#include "lib/core/query.h"
#include "cli/query_opts.h"
#include "lib/wire/security.h"
#include "lib/base/log.h"
#include "lib/wire/net.h"
#include "lib/base/util.h"
#include "cli/watch.h"
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILD_ARGS 700

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally run --input URI [--input URI ...] --group-by COL [options]\n"
             "\n"
             "Runs reducer, broker and mappers on this machine and prints the final counts.\n"
             "\n"
             "  --input URI          s3://bucket/prefix, a local file or folder, file://PATH or http(s)://URL;\n"
             "                       brace ranges name objects without a listing: x_{2009..2025}-{01..12}.parquet\n"
             "  --input-from FILE    more inputs, one a line ('-': stdin)\n"
             "  --skip-missing       inputs not found are warnings, not errors\n"
             TL_QUERY_HELP
             "  --mappers N          mapper processes (default 1)\n"
             "  --slots N            slots per mapper (default: cores / mappers, at least 1)\n"
             "  --format F           table (default), csv or json\n"
             "  --sort ORDER         count (default, descending), key, or -key (numbers as numbers)\n"
             "  --split-size SIZE    cut objects bigger than this into byte ranges (default 64M; 0: never)\n"
             "  --endpoint-url URL   S3 endpoint (path-style)\n"
             "  --region REGION      S3 region\n"
             "  --no-sign-request    anonymous S3 requests\n"
             "  --rate-limit BYTES   cap each slot's read rate (bytes/s)\n"
             "  --range-size SIZE    HTTP/S3 ranged GET size (default 8M)\n"
             "  --concurrency N      ranged GETs in flight per slot (default 4)\n"
             "  --output FILE        also write the final result to FILE (JSON if it ends in .json, else CSV)\n"
             "  --keys DIR           CURVE keys from tally keygen, for every socket (the sockets are\n"
             "                       ipc:// in a private 0700 folder either way)\n"
             "  --web HOST:PORT      serve a live dashboard there while the job runs (a page, /api/state,\n"
             "                       /api/events); with --keys, loopback only unless --web-allow-remote\n"
             "  --web-allow-remote   let --web name any address; every visitor then needs the token\n"
             "                       in the URL printed at start\n"
             "  -v, --verbose        show the children's logs\n"
             "  -q, --quiet          no progress line\n"
             "  -h, --help\n");
}

typedef struct {
    pid_t pid;
    const char *role;
    int status;
    bool exited;
} s_child_t;

/*  The child's side of s_spawn: run the role in this process image, which is already loaded
    and linked. An exec would load tally's ~56 shared libraries again, ~25 ms of CPU per child
    (measured); three children did that at once on every `tally run`. This is safe because run
    starts no thread and no ZeroMQ context before its children are started (czmq is first
    initialised after the last fork), so the child begins as clean as after an exec. */
static void
s_child (char **args)
{
    int n = 0;
    while (args [n])
        n++;
    optind = 0;     /* GNU getopt: a full restart for the role's own options */
    zsys_init ();
    zsys_set_logstream (NULL);
    const char *role = args [1];
    int rc = strcmp (role, "broker") == 0 ? tl_broker_main (n - 1, args + 1)
             : strcmp (role, "mapper") == 0 ? tl_mapper_main (n - 1, args + 1)
             : tl_reducer_main (n - 1, args + 1);
    tl_shutdown ();
    exit (rc);
}

/*  The invariant s_child relies on, checked rather than trusted: one thread in this process. */
static bool
s_single_threaded (void)
{
    DIR *d = opendir ("/proc/self/task");
    if (!d)
        return false;
    int n = 0;
    struct dirent *de;
    while ((de = readdir (d)))
        n += de->d_name [0] != '.';
    closedir (d);
    return n == 1;
}

static pid_t
s_spawn (const char *exe, char **args)
{
    bool in_image = s_single_threaded ();
    fflush (NULL);  /* nothing buffered may be written twice */
    pid_t pid = fork ();
    if (pid == 0) {
        if (in_image)
            s_child (args);
        execv (exe, args);     /* the safe, slower way if a thread exists after all */
        fprintf (stderr, "tally run: cannot start %s: %s\n", exe, strerror (errno));
        _exit (127);
    }
    if (pid < 0)
        fprintf (stderr, "tally run: cannot start a %s: %s\n", args [1], strerror (errno));
    return pid;
}

typedef struct {
    s_child_t *kids;
    int nkids;
    int broker;     /* index of the broker */
    bool broker_failed;
    bool mappers_gone;
} s_watchdog_t;

/*  Reap children; stop following when the broker failed or every mapper is gone. */
static bool
s_alive (void *arg)
{
    s_watchdog_t *w = arg;
    int st;
    pid_t pid;
    while ((pid = waitpid (-1, &st, WNOHANG)) > 0)
        for (int i = 0; i < w->nkids; i++)
            if (w->kids [i].pid == pid) {
                w->kids [i].exited = true;
                w->kids [i].status = st;
            }
    s_child_t *b = &w->kids [w->broker];
    if (b->exited && !(WIFEXITED (b->status) && WEXITSTATUS (b->status) == 0)) {
        w->broker_failed = true;
        return false;
    }
    bool any = false;
    for (int i = 0; i < w->nkids; i++)
        if (strcmp (w->kids [i].role, "mapper") == 0 && !w->kids [i].exited)
            any = true;
    if (!any && !b->exited) {
        w->mappers_gone = true;
        return false;
    }
    return true;
}

int
tl_run_main (int argc, char **argv)
{
    static const struct option opts [] = {
        { "input", required_argument, 0, 'i' },    TL_QUERY_OPTIONS,
        { "mappers", required_argument, 0, 'm' },  { "slots", required_argument, 0, 's' },
        { "format", required_argument, 0, 'f' }, { "sort", required_argument, 0, 1100 },   { "split-size", required_argument, 0, 'S' },
        { "endpoint-url", required_argument, 0, 'e' }, { "region", required_argument, 0, 'R' },
        { "no-sign-request", no_argument, 0, 'N' }, { "rate-limit", required_argument, 0, 'r' },
        { "range-size", required_argument, 0, 'Z' }, { "concurrency", required_argument, 0, 'C' },
        { "keys", required_argument, 0, 'k' }, { "output", required_argument, 0, 'O' },
        { "input-from", required_argument, 0, 'I' }, { "skip-missing", no_argument, 0, 'K' },
        { "web", required_argument, 0, 'W' },      { "web-allow-remote", no_argument, 0, 'A' },
        { "verbose", no_argument, 0, 'v' },        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
    };
    char *bargs [MAX_CHILD_ARGS];
    int nb = 0;
    tl_qargs_t qa = { 0 };
    tl_err_t qe = { 0 };
    const char *col = NULL, *rate = NULL, *endpoint = NULL;
    bool nosign = false, verbose = false, quiet = false;
    int ninputs = 0;
    uint64_t mappers = 1, slots = 0, v;
    tl_fmt_t fmt = TL_FMT_TABLE;
    int c;
    /* broker args are filled after the fixed ones below */
    char *inputs [256];
    const char *split = NULL, *region = NULL, *range_size = NULL, *conc = NULL, *keys = NULL, *output = NULL;
    const char *input_from = NULL;  /* passed on to the broker */
    bool skip_missing = false;
    tl_web_cfg_t wc = { .who = "tally run" };
    tl_web_t *web = NULL;
    optind = 1;
    while ((c = getopt_long (argc, argv, "vqh", opts, NULL)) != -1) {
        switch (c) {
            case 'i':
                if (ninputs == 256) {
                    fprintf (stderr, "tally run: at most 256 --input\n");
                    return 2;
                }
                inputs [ninputs++] = optarg;
                break;
            case TL_QOPT_BY: case TL_QOPT_AGG: case TL_QOPT_WHERE: case TL_QOPT_ALIAS:
                if (tl_qargs_take (&qa, c, optarg, &qe) < 0) {
                    fprintf (stderr, "tally run: %s\n", qe.msg);
                    return 2;
                }
                col = qa.by [0];
                break;
            case 'm':
                if (tl_parse_uint (optarg, 1, 256, &mappers)) {
                    fprintf (stderr, "tally run: --mappers wants 1 to 256, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 's':
                if (tl_parse_uint (optarg, 1, 1024, &slots)) {
                    fprintf (stderr, "tally run: --slots wants 1 to 1024, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 1100:
                if (tl_render_set_sort (optarg) != 0) {
                    fprintf (stderr, "tally run: --sort is count, key or -key, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'f':
                if (tl_fmt_parse (optarg, &fmt)) {
                    fprintf (stderr, "tally run: --format is table, csv or json, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'S':
                if (tl_parse_size (optarg, &v)) {
                    fprintf (stderr, "tally run: --split-size wants a size such as 64M, not '%s'\n", optarg);
                    return 2;
                }
                split = optarg;
                break;
            case 'Z':
                if (tl_parse_size (optarg, &v) || v < 4096) {
                    fprintf (stderr, "tally run: --range-size wants a size of at least 4K, not '%s'\n", optarg);
                    return 2;
                }
                range_size = optarg;
                break;
            case 'C':
                if (tl_parse_uint (optarg, 1, 64, &v)) {
                    fprintf (stderr, "tally run: --concurrency wants 1 to 64, not '%s'\n", optarg);
                    return 2;
                }
                conc = optarg;
                break;
            case 'e': endpoint = optarg; break;
            case 'I': input_from = optarg; break;
            case 'K': skip_missing = true; break;
            case 'W': wc.listen = optarg; break;
            case 'A': wc.allow_remote = true; break;
            case 'k': keys = optarg; break;
            case 'O': output = optarg; break;
            case 'R': region = optarg; break;
            case 'N': nosign = true; break;
            case 'r':
                if (tl_parse_size (optarg, &v) || !v) {
                    fprintf (stderr, "tally run: --rate-limit wants bytes per second such as 10M, not '%s'\n", optarg);
                    return 2;
                }
                rate = optarg;
                break;
            case 'v': verbose = true; break;
            case 'q': quiet = true; break;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tally run: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    if ((!ninputs && !input_from) || !col || !*col) {
        fprintf (stderr, "tally run: --input and --group-by are required (see --help)\n");
        return 2;
    }
    char *qtext = NULL;     /* checked here, so that a bad query fails before anything starts */
    if (tl_qargs_build (&qa, &qtext, &qe) != 0) {
        fprintf (stderr, "tally run: %s\n", qe.msg);
        return 2;
    }
    free (qtext);
    if (wc.allow_remote && !wc.listen) {
        fprintf (stderr, "tally run: --web-allow-remote goes with --web HOST:PORT\n");
        return 2;
    }
    wc.keys = keys != NULL;
    tl_err_t we = { 0 };
    if (wc.listen && tl_web_check (&wc, &we) != 0) {     /* before anything starts */
        fprintf (stderr, "tally run: %s\n", we.msg);
        return 2;
    }
    if (!slots) {
        long n = sysconf (_SC_NPROCESSORS_ONLN);
        slots = n > 0 && (uint64_t) n > mappers ? (uint64_t) n / mappers : 1;
    }
    tl_log_init ("run", getenv ("TALLY_DEBUG_RUN") ? TL_LOG_DEBUG : verbose ? TL_LOG_INFO : TL_LOG_WARN);
    char exe [4096];
    ssize_t el = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) {
        fprintf (stderr, "tally run: cannot find my own executable\n");
        return 1;
    }
    exe [el] = 0;
    char dir [] = "/tmp/tally-run-XXXXXX";
    if (!mkdtemp (dir)) {
        fprintf (stderr, "tally run: cannot make a temporary folder: %s\n", strerror (errno));
        return 1;
    }
    char rep [128], pep [128], bep [128];
    snprintf (rep, sizeof rep, "ipc://%s/reducer", dir);
    snprintf (pep, sizeof pep, "ipc://%s/publish", dir);
    snprintf (bep, sizeof bep, "ipc://%s/broker", dir);
    const char *loud = verbose ? "-v" : "-q";
    s_child_t kids [260];
    int nkids = 0;
    int rc = 1;
    zsock_t *sub = NULL;
    tl_security_t *sec = NULL;

    tl_err_t se;
    sec = tl_security_new (keys, false, &se);
    if (keys && !sec) {
        fprintf (stderr, "tally run: %s\n", se.msg);
        goto done;
    }
    char *rargs [] = { exe, "reducer", "--listen", rep, "--publish", pep, (char *) loud,
                       keys ? "--keys" : NULL, (char *) keys, NULL };
    kids [nkids++] = (s_child_t) { s_spawn (exe, rargs), "reducer", 0, false };
    /* The children start at once; whoever connects waits for its server's ipc path
       (tl_sock_connect), so no one pays ZeroMQ's reconnect interval. */

    bargs [nb++] = exe;
    bargs [nb++] = "broker";
    bargs [nb++] = "--listen";
    bargs [nb++] = bep;
    bargs [nb++] = "--reducer";
    bargs [nb++] = rep;
    tl_qargs_argv (&qa, bargs, &nb, nb + 100);
    for (int i = 0; i < ninputs; i++) {
        bargs [nb++] = "--input";
        bargs [nb++] = inputs [i];
    }
    if (input_from) {
        bargs [nb++] = "--input-from";
        bargs [nb++] = (char *) input_from;
    }
    if (skip_missing)
        bargs [nb++] = "--skip-missing";
    if (split) {
        bargs [nb++] = "--split-size";
        bargs [nb++] = (char *) split;
    }
    if (endpoint) {
        bargs [nb++] = "--endpoint-url";
        bargs [nb++] = (char *) endpoint;
    }
    if (region) {
        bargs [nb++] = "--region";
        bargs [nb++] = (char *) region;
    }
    if (nosign)
        bargs [nb++] = "--no-sign-request";
    if (keys) {
        bargs [nb++] = "--keys";
        bargs [nb++] = (char *) keys;
    }
    bargs [nb++] = (char *) loud;
    bargs [nb] = NULL;
    int broker = nkids;
    kids [nkids++] = (s_child_t) { s_spawn (exe, bargs), "broker", 0, false };

    char slotstr [16];
    snprintf (slotstr, sizeof slotstr, "%llu", (unsigned long long) slots);
    for (uint64_t i = 0; i < mappers; i++) {
        char *margs [20];
        int k = 0;
        char name [64];
        snprintf (name, sizeof name, "mapper-%llu", (unsigned long long) i + 1);
        margs [k++] = exe;
        margs [k++] = "mapper";
        margs [k++] = "--broker";
        margs [k++] = bep;
        margs [k++] = "--slots";
        margs [k++] = slotstr;
        margs [k++] = "--name";
        margs [k++] = name;
        if (rate) {
            margs [k++] = "--rate-limit";
            margs [k++] = (char *) rate;
        }
        if (range_size) {
            margs [k++] = "--range-size";
            margs [k++] = (char *) range_size;
        }
        if (conc) {
            margs [k++] = "--concurrency";
            margs [k++] = (char *) conc;
        }
        if (keys) {
            margs [k++] = "--keys";
            margs [k++] = (char *) keys;
        }
        margs [k++] = (char *) loud;
        margs [k] = NULL;
        kids [nkids++] = (s_child_t) { s_spawn (exe, margs), "mapper", 0, false };
    }

    zsys_init ();               /* only now: see s_child */
    zsys_set_logstream (NULL);
    /* The dashboard's threads too: only after the last fork. */
    if (wc.listen && !(web = tl_web_new (&wc, &we))) {
        fprintf (stderr, "tally run: %s\n", we.msg);
        goto done;
    }
    sub = tl_sock_new (ZMQ_SUB, 256 << 20);
    if (sub)
        tl_security_client (sec, sub, &se);
    if (!sub || tl_sock_connect (sub, pep) < 0)
        goto done;
    zsock_set_subscribe (sub, "");
    if (web)            /* the dashboard wants the task spans and events too */
        zsock_set_subscribe (sub, TL_ACT_TOPIC);
    s_watchdog_t wd = { kids, nkids, broker, false, false };
    bool tty = isatty (STDERR_FILENO) && !quiet;
    char jerr [TL_STR_MAX + 1] = "";
    tl_watch_opts_t o = { .fmt = fmt, .until_done = true, .output = output, .error = jerr, .error_len = sizeof jerr,
                          .web = web };
    /* The live view goes to stderr (when it is a terminal), the result to stdout. */
    if (tty) {
        o.live = true;
        o.until_done = true;
    }
    int wrc = tl_watch_loop (sub, &o, stdout, tty ? stderr : NULL, s_alive, &wd);
    if (wrc == 0)
        rc = 0;
    else if (wrc == 1) {
        rc = 1;
        /* The summary for people, short (the broker's log above has every error in full). On a
           terminal the live view is followed by the table, whose footer says it already. */
        if (!tty) {
            fputs ("tally run: the job failed: ", stderr);
            tl_render_error (stderr, jerr, "  ");
        }
    }
    else if (wd.broker_failed)
        fprintf (stderr, "tally run: the broker failed (see its message above)\n");
    else if (wd.mappers_gone)
        fprintf (stderr, "tally run: every mapper exited before the job finished\n");
    else
        rc = 130;
done:
    tl_debug ("result printed; stopping the children");
    tl_web_destroy (&web, 1000);     /* open pages get the final state first */
    zsock_destroy (&sub);
    tl_security_destroy (&sec);
    /* The reducer serves until told to stop, and the result is in hand: stop it now, while the
       others finish. The broker and the mappers end by themselves once the job is over: give
       them up to 5 s before a signal, which could otherwise land in the middle of their own
       clean shutdown. */
    for (int i = 0; i < nkids; i++)
        if (kids [i].pid > 0 && strcmp (kids [i].role, "reducer") == 0)
            kill (kids [i].pid, SIGTERM);
    /* After a broker that failed the mappers would only wait for one (and say so): stop them
       now. (After a job they end by themselves: see below.) */
    bool broker_failed = false;
    for (int i = 0; i < nkids; i++)
        broker_failed |= strcmp (kids [i].role, "broker") == 0 && kids [i].exited
                         && !(WIFEXITED (kids [i].status) && WEXITSTATUS (kids [i].status) == 0);
    for (int i = 0; i < nkids && broker_failed; i++)
        if (kids [i].pid > 0 && !kids [i].exited && strcmp (kids [i].role, "mapper") == 0)
            kill (kids [i].pid, SIGTERM);
    for (int t = 0; t < 2500; t++) {
        bool waiting = false;
        for (int i = 0; i < nkids; i++) {
            if (kids [i].exited || kids [i].pid <= 0 || strcmp (kids [i].role, "reducer") == 0)
                continue;
            int st;
            if (waitpid (kids [i].pid, &st, WNOHANG) == kids [i].pid) {
                kids [i].exited = true;
                kids [i].status = st;
                tl_debug ("%s (pid %d) has exited by itself", kids [i].role, (int) kids [i].pid);
            }
            else
                waiting = true;
        }
        if (!waiting)
            break;
        usleep (2000);
    }
    for (int i = 0; i < nkids; i++)     /* (the reducer has had its signal) */
        if (!kids [i].exited && kids [i].pid > 0 && strcmp (kids [i].role, "reducer") != 0)
            kill (kids [i].pid, SIGTERM);
    for (int i = 0; i < nkids; i++)
        if (!kids [i].exited && kids [i].pid > 0) {
            waitpid (kids [i].pid, NULL, 0);
            tl_debug ("%s (pid %d) has exited", kids [i].role, (int) kids [i].pid);
        }
    char path [160];
    snprintf (path, sizeof path, "%s/reducer", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/publish", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/broker", dir);
    unlink (path);
    rmdir (dir);
    return rc;
}
