/*  run.c — one-shot convenience: start a reducer, a broker and N mappers as child processes
    talking over ipc:// sockets in a private temporary folder, follow the live totals, print
    the final result, and stop the children.

    The children are the real roles (forked from this process, they run the same
    `tally reducer|broker|mapper` code with the same arguments a fleet's processes get), so
    `tally run` exercises exactly what a fleet runs.

    Flags fail before anything starts. run builds every child's argv first (and the argv of
    the watch it plays itself), and parses each with that role's own parser (tl_broker_parse,
    tl_mapper_parse, tl_reducer_parse, tl_watch_parse): a bad flag is refused in this process
    with the role's own one-line message and exit status 2, before a folder is made, a socket
    opened or a child forked. The children then run on the options parsed here, so nothing is
    parsed (or read from --input-from) twice.

    Children die with run: each asks for SIGTERM when its parent dies (PR_SET_PDEATHSIG), and a
    closed stdout (`tally run ... | head`) is a broken pipe run notices and handles rather than
    dies of, so it stops its children before it exits (141, as a shell reports SIGPIPE). */
#include "cli/run.h"
#include "broker/broker.h"
#include "mapper/mapper.h"
#include "reducer/reducer.h"
#include "lib/core/query.h"
#include "cli/query_opts.h"
#include "lib/wire/security.h"
#include "lib/base/log.h"
#include "lib/base/opt.h"
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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILD_ARGS 700
#define MAX_MAPPER_ARGS 24
#define MAX_MAPPERS 256

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
             "  --format F           table (default), csv, json, or jsonl (one JSON line per update)\n"
             "  --sort ORDER         count (default, descending), key, or -key (numbers as numbers)\n"
             "  --split-size SIZE    cut objects bigger than this into byte ranges (default 64M; 0: never)\n"
             "  --endpoint-url URL   S3 endpoint (path-style)\n"
             "  --region REGION      S3 region\n"
             "  --no-sign-request    anonymous S3 requests\n"
             "  --rate-limit BYTES   cap each slot's read rate (bytes/s)\n"
             "  --range-size SIZE    HTTP/S3 ranged GET size (default 8M)\n"
             "  --concurrency N      ranged GETs in flight per slot (default 4)\n"
             "  --output FILE        also write the final result to FILE (JSON if it ends in .json, else CSV);\n"
             "                       a failed job's partial table goes to FILE.failed instead, and an\n"
             "                       earlier FILE is removed (FILE holds a good result or nothing)\n"
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

/*  A role as a child runs it: on the options parsed here, before anything started. */
typedef int (s_role_fn) (void *opts);
static int s_broker (void *o) { return tl_broker_run (o); }
static int s_mapper (void *o) { return tl_mapper_run (o); }
static int s_reducer (void *o) { return tl_reducer_run (o); }

/*  One mapper's argv and the options parsed from it. */
typedef struct {
    char *args [MAX_MAPPER_ARGS];
    char name [64];
    tl_mapper_opts_t o;
} s_mapper_argv_t;

/*  Set when a write to our stdout or stderr found nobody reading (`tally run ... | head`). */
static volatile sig_atomic_t s_pipe_closed;

static void
s_on_sigpipe (int sig)
{
    (void) sig;
    s_pipe_closed = 1;
}

/*  The child's side of s_spawn: run the role in this process image, which is already loaded
    and linked. An exec would load tally's ~56 shared libraries again, ~25 ms of CPU per child
    (measured); three children did that at once on every `tally run`. This is safe because run
    starts no thread and no ZeroMQ context before its children are started (czmq is first
    initialised after the last fork), so the child begins as clean as after an exec. */
static void
s_child (s_role_fn *role, void *opts)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    int rc = role (opts);
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

/*  Start a child that runs `role` on opts (parsed from args), or execs args if a thread exists
    after all. (That fallback parses args again in the new image; an --input-from - would then
    find stdin already read by our parse. It has not been seen to happen.) */
static pid_t
s_spawn (const char *exe, char **args, s_role_fn *role, void *opts)
{
    bool in_image = s_single_threaded ();
    pid_t parent = getpid ();
    fflush (NULL);  /* nothing buffered may be written twice */
    pid_t pid = fork ();
    if (pid == 0) {
        /* Die with run, whatever ends it (SIGKILL included). If run died before the prctl, we
           have been adopted already and no signal will come: go now. */
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent)
            _exit (1);
        if (in_image)
            s_child (role, opts);
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
    bool reducer_gone;  /* the reducer exited (it serves until told to stop): nothing can finish */
    uint64_t updates;   /* UPDATEs received (tl_watch_loop counts them) */
    int64_t gone_at;    /* when the broker's failure or the mappers' going was first seen */
} s_watchdog_t;

/*  Reap children; stop following when the broker failed, every mapper is gone, or nobody reads
    our output any more.

    A job ends for us with the reducer's final UPDATE, which it publishes on the broker's END.
    But at END the broker exits (with 1 after a failed job) and the mappers exit, at once, and
    their going may be seen first: a failed job then printed nothing (seen once in some 200
    runs of test_papercuts_errors' job, whose tasks all fail at once). So the broker's failure
    or the mappers' going counts only if no final UPDATE follows: within END_GRACE_MS (more
    than the reducer's 2 s repeat of the final state) once the reducer has published the job,
    else within START_GRACE_MS, which is all a broker that failed before its job began (an
    input it cannot list, say) costs. */
/*  What each thread of pid waits in (its comm and wchan from /proc), into out: for the line
    that says a child had to be killed, so that the next such hang names its place. */
static void
s_threads_waiting (pid_t pid, char *out, size_t outlen)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
    DIR *d = opendir (path);
    size_t o = 0;
    out [0] = 0;
    struct dirent *e;
    while (d && (e = readdir (d)) != NULL && o + 2 < outlen) {
        if (e->d_name [0] == '.')
            continue;
        char comm [64] = "?", wchan [64] = "?";
        for (int k = 0; k < 2; k++) {
            snprintf (path, sizeof path, "/proc/%d/task/%.16s/%s", (int) pid, e->d_name, k ? "wchan" : "comm");
            FILE *f = fopen (path, "r");
            char *into = k ? wchan : comm;
            if (f && fgets (into, 64, f))
                into [strcspn (into, "\n")] = 0;
            if (f)
                fclose (f);
        }
        int n = snprintf (out + o, outlen - o, "%s%s in %s", o ? ", " : "", comm, *wchan ? wchan : "(running)");
        o = n > 0 && (size_t) n < outlen - o ? o + (size_t) n : outlen - 1;
    }
    if (d)
        closedir (d);
}

/*  Wait up to ms for the children (but one of role skip, if given) to exit, noting each exit
    and its status. Returns whether all of them have. */
static bool
s_wait_exits (s_child_t *kids, int nkids, int ms, const char *skip)
{
    for (int t = 0;; t++) {
        bool waiting = false;
        for (int i = 0; i < nkids; i++) {
            if (kids [i].exited || kids [i].pid <= 0 || (skip && strcmp (kids [i].role, skip) == 0))
                continue;
            int st;
            if (waitpid (kids [i].pid, &st, WNOHANG) == kids [i].pid) {
                kids [i].exited = true;
                kids [i].status = st;
                tl_debug ("%s (pid %d) has exited", kids [i].role, (int) kids [i].pid);
            }
            else
                waiting = true;
        }
        if (!waiting)
            return true;
        if (t >= ms / 2)
            return false;
        usleep (2000);
    }
}

/*  Wait for the children told to stop, STOP_WAIT_MS at most: one still there then is killed,
    and said so with where its threads wait. The result is in hand by now, and a child stuck in
    its own shutdown must not keep run (and the shell, or a CI job) waiting for ever. */
#define STOP_WAIT_MS 10000
static void
s_reap (s_child_t *kids, int nkids)
{
    if (s_wait_exits (kids, nkids, STOP_WAIT_MS, NULL))
        return;
    for (int i = 0; i < nkids; i++)
        if (!kids [i].exited && kids [i].pid > 0) {
            char where [1024];
            s_threads_waiting (kids [i].pid, where, sizeof where);
            tl_warn ("the %s (pid %d) did not stop within %d s of SIGTERM: killed (its threads: %s)", kids [i].role,
                     (int) kids [i].pid, STOP_WAIT_MS / 1000, where);
            kill (kids [i].pid, SIGKILL);
            waitpid (kids [i].pid, NULL, 0);
            kids [i].exited = true;
        }
}

#define END_GRACE_MS 3000
#define START_GRACE_MS 300
static bool
s_alive (void *arg)
{
    s_watchdog_t *w = arg;
    if (s_pipe_closed)
        return false;
    int st;
    pid_t pid;
    while ((pid = waitpid (-1, &st, WNOHANG)) > 0)
        for (int i = 0; i < w->nkids; i++)
            if (w->kids [i].pid == pid) {
                w->kids [i].exited = true;
                w->kids [i].status = st;
            }
    s_child_t *b = &w->kids [w->broker];
    bool broker_failed = b->exited && !(WIFEXITED (b->status) && WEXITSTATUS (b->status) == 0);
    bool any = false;
    for (int i = 0; i < w->nkids; i++)
        if (strcmp (w->kids [i].role, "mapper") == 0 && !w->kids [i].exited)
            any = true;
    bool mappers_gone = !any && !b->exited;
    /* The reducer never exits by itself before run stops it: one that is gone (killed, crashed)
       can apply nothing more, and the broker would only learn it after 8 attempts per task. */
    bool reducer_gone = false;
    for (int i = 0; i < w->nkids; i++)
        if (strcmp (w->kids [i].role, "reducer") == 0 && w->kids [i].exited)
            reducer_gone = true;
    if (!broker_failed && !mappers_gone && !reducer_gone)
        return true;
    int64_t now = tl_now_ms ();
    if (!w->gone_at)
        w->gone_at = now;
    if (now - w->gone_at < (w->updates ? END_GRACE_MS : START_GRACE_MS))
        return true;
    w->broker_failed = broker_failed;
    w->mappers_gone = mappers_gone;
    w->reducer_gone = reducer_gone;
    return false;
}

/*  The children's addresses, in the private folder dir. */
static void
s_endpoints (const char *dir, char rep [128], char pep [128], char bep [128])
{
    snprintf (rep, 128, "ipc://%s/reducer", dir);
    snprintf (pep, 128, "ipc://%s/publish", dir);
    snprintf (bep, 128, "ipc://%s/broker", dir);
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
    /* What run takes itself is --mappers, -v and -q; every other flag is a child's (or the
       watch's) and is only collected here, to be checked by that role's parser below. */
    tl_qargs_t qa = { 0 };
    tl_err_t qe = { 0 };
    char *inputs [256];
    int ninputs = 0;
    const char *split = NULL, *region = NULL, *range_size = NULL, *conc = NULL, *keys = NULL, *output = NULL,
               *input_from = NULL, *endpoint = NULL, *rate = NULL, *slots = NULL, *format = NULL, *sort = NULL,
               *web = NULL;
    bool nosign = false, verbose = false, quiet = false, skip_missing = false, web_remote = false;
    uint64_t mappers = 1;
    int c;
    optind = 0;     /* GNU getopt: a full restart */
    while ((c = getopt_long (argc, argv, ":vqh", opts, NULL)) != -1) {
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
                break;
            case 'm':
                if (tl_parse_uint (optarg, 1, MAX_MAPPERS, &mappers)) {
                    fprintf (stderr, "tally run: --mappers wants 1 to %d, not '%s'\n", MAX_MAPPERS, optarg);
                    return 2;
                }
                break;
            case 's': slots = optarg; break;
            case 1100: sort = optarg; break;
            case 'f': format = optarg; break;
            case 'S': split = optarg; break;
            case 'Z': range_size = optarg; break;
            case 'C': conc = optarg; break;
            case 'r': rate = optarg; break;
            case 'e': endpoint = optarg; break;
            case 'I': input_from = optarg; break;
            case 'K': skip_missing = true; break;
            case 'W': web = optarg; break;
            case 'A': web_remote = true; break;
            case 'k': keys = optarg; break;
            case 'O': output = optarg; break;
            case 'R': region = optarg; break;
            case 'N': nosign = true; break;
            case 'v': verbose = true; break;
            case 'q': quiet = true; break;
            case 'h': s_usage (stdout); return 0;
            default: return tl_opt_fail ("tally run", c, argv, opts);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tally run: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    if ((!ninputs && !input_from) || !qa.nby || !*qa.by [0]) {
        fprintf (stderr, "tally run: --input and --group-by are required (see --help)\n");
        return 2;
    }
    char exe [4096];
    ssize_t el = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) {
        fprintf (stderr, "tally run: cannot find my own executable\n");
        return 1;
    }
    exe [el] = 0;
    /* The addresses name the private folder, which is made only once every flag has passed:
       until then they hold its template (the parsed options borrow these very buffers). */
    char dir [] = "/tmp/tally-run-XXXXXX";
    char rep [128], pep [128], bep [128];
    s_endpoints (dir, rep, pep, bep);
    char *loud = verbose ? "-v" : "-q";
    char slotstr [24];
    if (!slots) {
        long n = sysconf (_SC_NPROCESSORS_ONLN);
        snprintf (slotstr, sizeof slotstr, "%llu",
                  (unsigned long long) (n > 0 && (uint64_t) n > mappers ? (uint64_t) n / mappers : 1));
        slots = slotstr;
    }

    /* Every argv, first. */
    char *rargs [] = { exe, "reducer", "--listen", rep, "--publish", pep, loud,
                       keys ? "--keys" : NULL, (char *) keys, NULL };
    int nr = keys ? 9 : 7;
    char *bargs [MAX_CHILD_ARGS];
    int nb = 0;
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
    bargs [nb++] = loud;
    bargs [nb] = NULL;
    s_mapper_argv_t *margv = calloc (mappers, sizeof *margv);
    if (!margv) {
        fprintf (stderr, "tally run: out of memory\n");
        return 1;
    }
    int nm = 0;
    for (uint64_t i = 0; i < mappers; i++) {
        char **a = margv [i].args;
        int k = 0;
        snprintf (margv [i].name, sizeof margv [i].name, "mapper-%llu", (unsigned long long) i + 1);
        a [k++] = exe;
        a [k++] = "mapper";
        a [k++] = "--broker";
        a [k++] = bep;
        a [k++] = "--slots";
        a [k++] = (char *) slots;
        a [k++] = "--name";
        a [k++] = margv [i].name;
        if (rate) {
            a [k++] = "--rate-limit";
            a [k++] = (char *) rate;
        }
        if (range_size) {
            a [k++] = "--range-size";
            a [k++] = (char *) range_size;
        }
        if (conc) {
            a [k++] = "--concurrency";
            a [k++] = (char *) conc;
        }
        if (keys) {
            a [k++] = "--keys";
            a [k++] = (char *) keys;
        }
        a [k++] = loud;
        a [k] = NULL;
        nm = k;
    }
    /* run is the job's watcher: its --format, --sort, --output and --web are watch's. */
    char *wargs [20];
    int nw = 0;
    wargs [nw++] = "watch";
    wargs [nw++] = "--subscribe";
    wargs [nw++] = pep;
    wargs [nw++] = "--until-done";
    const char *wflags [] = { "--format", format, "--sort", sort, "--output", output, "--web", web, "--keys", keys };
    for (size_t i = 0; i < sizeof wflags / sizeof *wflags; i += 2)
        if (wflags [i + 1]) {
            wargs [nw++] = (char *) wflags [i];
            wargs [nw++] = (char *) wflags [i + 1];
        }
    if (web_remote)
        wargs [nw++] = "--web-allow-remote";
    wargs [nw] = NULL;

    /* Then every argv through its role's parser: a bad flag stops us here, before anything. */
    tl_reducer_opts_t ro = { 0 };
    tl_broker_opts_t bo = { 0 };
    tl_watch_args_t wa = { 0 };
    int prc = tl_reducer_parse (nr - 1, rargs + 1, &ro);
    if (!prc)
        prc = tl_broker_parse (nb - 1, bargs + 1, &bo);
    for (uint64_t i = 0; !prc && i < mappers; i++)
        prc = tl_mapper_parse (nm - 1, margv [i].args + 1, &margv [i].o);
    if (!prc)
        prc = tl_watch_parse (nw, wargs, &wa);
    if (prc) {
        tl_broker_opts_free (&bo);
        free (margv);
        return 2;
    }
    wa.web.who = "tally run";
    tl_render_set_sort (wa.sort);

    tl_log_init ("run", getenv ("TALLY_DEBUG_RUN") ? TL_LOG_DEBUG : verbose ? TL_LOG_INFO : TL_LOG_WARN);
    tl_malloc_keep ();
    s_child_t kids [MAX_MAPPERS + 2];
    int nkids = 0, broker = 0, rc = 1, wrc = -1;
    zsock_t *sub = NULL;
    tl_web_t *webd = NULL;
    tl_err_t se, we = { 0 };
    tl_security_t *sec = tl_security_new (keys, false, &se);
    if (keys && !sec) {
        fprintf (stderr, "tally run: %s\n", se.msg);
        tl_broker_opts_free (&bo);
        free (margv);
        return 1;
    }
    if (!mkdtemp (dir)) {
        fprintf (stderr, "tally run: cannot make a temporary folder: %s\n", strerror (errno));
        tl_broker_opts_free (&bo);
        free (margv);
        tl_security_destroy (&sec);
        return 1;
    }
    s_endpoints (dir, rep, pep, bep);

    /* The children start at once; whoever connects waits for its server's ipc path
       (tl_sock_connect), so no one pays ZeroMQ's reconnect interval. */
    kids [nkids++] = (s_child_t) { s_spawn (exe, rargs, s_reducer, &ro), "reducer", 0, false };
    broker = nkids;
    kids [nkids++] = (s_child_t) { s_spawn (exe, bargs, s_broker, &bo), "broker", 0, false };
    tl_broker_opts_free (&bo);      /* the broker took its own copy */
    for (uint64_t i = 0; i < mappers; i++)
        kids [nkids++] = (s_child_t) { s_spawn (exe, margv [i].args, s_mapper, &margv [i].o), "mapper", 0, false };
    /* From here on a closed stdout is noticed, not fatal: we still have children to stop. (Only
       now: the children keep the default, as when they are started by hand.) */
    struct sigaction sa = { .sa_handler = s_on_sigpipe, .sa_flags = SA_RESTART };
    sigemptyset (&sa.sa_mask);
    sigaction (SIGPIPE, &sa, NULL);

    zsys_init ();               /* only now: see s_child */
    zsys_set_logstream (NULL);
    /* The dashboard's threads too: only after the last fork. */
    if (wa.web.listen && !(webd = tl_web_new (&wa.web, &we))) {
        fprintf (stderr, "tally run: %s\n", we.msg);
        goto done;
    }
    sub = tl_sock_new (ZMQ_SUB, 256 << 20);
    if (sub)
        tl_security_client (sec, sub, &se);
    if (!sub || tl_sock_connect (sub, pep) < 0)
        goto done;
    s_watchdog_t wd = { kids, nkids, broker, false, false, false, 0, 0 };
    bool tty = isatty (STDERR_FILENO) && !quiet;
    char jerr [TL_STR_MAX + 1] = "";
    tl_watch_opts_t o = wa.o;       /* fmt, output, until_done */
    o.prog = "tally run";
    o.error = jerr;
    o.error_len = sizeof jerr;
    o.web = webd;
    o.updates = &wd.updates;
    /* The live view goes to stderr (when it is a terminal), the result to stdout. */
    if (tty) {
        o.live = true;
        o.until_done = true;
    }
    wrc = tl_watch_loop (sub, &o, stdout, tty ? stderr : NULL, s_alive, &wd);
    fflush (stdout);                /* a pipe closed under the last of the result is noticed here */
    if (s_pipe_closed)
        ;                           /* nobody reads what we would say: see the end */
    else if (wrc == 0)
        rc = 0;
    else if (wrc == 1) {
        rc = 1;
        /* The summary for people, short (the broker's log above has every error in full). On a
           terminal the live view is followed by the table, whose footer says it already. */
        if (strncmp (jerr, "cannot write ", 13) == 0)
            fprintf (stderr, "tally run: %s\n", jerr);    /* the job went well; its result did not */
        else if (!tty) {
            fputs ("tally run: the job failed: ", stderr);
            tl_render_error (stderr, jerr, "  ");
        }
    }
    else if (wd.reducer_gone) {
        for (int i = 0; i < nkids; i++)
            if (strcmp (kids [i].role, "reducer") == 0) {
                int st = kids [i].status;
                if (WIFSIGNALED (st))
                    fprintf (stderr, "tally run: the reducer (pid %d) was killed by signal %d before the job "
                             "finished; no result\n", (int) kids [i].pid, WTERMSIG (st));
                else
                    fprintf (stderr, "tally run: the reducer (pid %d) exited with %d before the job finished; "
                             "no result\n", (int) kids [i].pid, WIFEXITED (st) ? WEXITSTATUS (st) : -1);
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
    tl_web_destroy (&webd, 1000);    /* open pages get the final state first */
    zsock_destroy (&sub);
    tl_security_destroy (&sec);
    /* The reducer serves until told to stop, and the result is in hand: stop it now, while the
       others finish. The broker and the mappers end by themselves once the job is over: give
       them up to 5 s before a signal, which could otherwise land in the middle of their own
       clean shutdown. */
    for (int i = 0; i < nkids; i++)
        if (kids [i].pid > 0 && strcmp (kids [i].role, "reducer") == 0)
            kill (kids [i].pid, SIGTERM);
    /* After a broker that failed the mappers would only wait for one (and say so), and a job
       whose output nobody reads any more would go on for nothing: stop them now. (After a job
       they end by themselves: see below.) */
    bool broker_failed = false;
    for (int i = 0; i < nkids; i++)
        broker_failed |= strcmp (kids [i].role, "broker") == 0 && kids [i].exited
                         && !(WIFEXITED (kids [i].status) && WEXITSTATUS (kids [i].status) == 0);
    /* Without a reducer the broker and the mappers would go on for nothing, too. */
    bool unread = (s_pipe_closed || wd.reducer_gone) && wrc != 0 && wrc != 1;
    for (int i = 0; i < nkids && (broker_failed || unread); i++)
        if (kids [i].pid > 0 && !kids [i].exited && (unread || strcmp (kids [i].role, "mapper") == 0))
            kill (kids [i].pid, SIGTERM);
    s_wait_exits (kids, nkids, 5000, "reducer");    /* the others end by themselves: 5 s at most */
    for (int i = 0; i < nkids; i++)     /* (the reducer has had its signal) */
        if (!kids [i].exited && kids [i].pid > 0 && strcmp (kids [i].role, "reducer") != 0)
            kill (kids [i].pid, SIGTERM);
    s_reap (kids, nkids);
    free (margv);
    char path [160];
    snprintf (path, sizeof path, "%s/reducer", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/publish", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/broker", dir);
    unlink (path);
    rmdir (dir);
    /* Our reader went away (`tally run ... | head`): the children are stopped; exit as a shell
       reports a writer killed by SIGPIPE, quietly, as such a writer would. */
    if (s_pipe_closed) {
        tl_debug ("the output was closed (broken pipe)");
        rc = 128 + SIGPIPE;
    }
    return rc;
}
