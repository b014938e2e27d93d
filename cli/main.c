/*  main.c — the `tally` entry point: one executable, one subcommand per role. */
#include "broker/broker.h"
#include "cli/gen.h"
#include "cli/keygen.h"
#include "cli/run.h"
#include "cli/scan.h"
#include "cli/watch.h"
#include "provision/provision.h"
#include "mapper/mapper.h"
#include "reducer/reducer.h"
#include "lib/base/log.h"
#include "lib/core/agg.h"
#include "lib/wire/net.h"
#include <czmq.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  Transparent huge pages for malloc's own memory too, not only for the tables. A reducer or a
    watcher at millions of groups takes most of its memory from malloc (messages from the
    network, staged parts, encoded tables); faulted in 4 KiB at a time, that was a third of
    their CPU on this project's VMs (docs/NOTES.md, session 14). glibc (2.35 and later) reads its
    glibc.malloc.hugetlb tunable only when a process starts, from GLIBC_TUNABLES, so tally adds
    it there and executes itself again, once: the process keeps its pid, name, arguments and
    descriptors. Not when the tunable is set already (by the user, or by the first exec), not under
    a sanitizer's or valgrind's allocator (which ignore it), and not when the exec fails. */
static void
s_malloc_huge_pages (char **argv)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    const char *t = getenv ("GLIBC_TUNABLES");
    if (t && strstr (t, "glibc.malloc.hugetlb"))
        return;
    const char *pre = getenv ("LD_PRELOAD");
    if (pre && strstr (pre, "vgpreload"))
        return;
    int maj = 0, min = 0;
    if (sscanf (gnu_get_libc_version (), "%d.%d", &maj, &min) != 2 || maj < 2 || (maj == 2 && min < 35))
        return;
    char v [4096];
    int n = t && *t ? snprintf (v, sizeof v, "%s:glibc.malloc.hugetlb=1", t)
                    : snprintf (v, sizeof v, "glibc.malloc.hugetlb=1");
    if (n < 0 || (size_t) n >= sizeof v || setenv ("GLIBC_TUNABLES", v, 1) != 0)
        return;
    /* The binary's own path, not /proc/self/exe: the kernel names a process after the file it
       executed, and "exe" would hide it from ps, pgrep and killall. A binary replaced or
       removed since it started reads "... (deleted)": that exec fails, and we run as we are. */
    char self [4096];
    ssize_t len = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self [len] = 0;
        execv (self, argv);
    }
    /* Still here: run as we are, and leave the environment as it was. */
    if (t)
        setenv ("GLIBC_TUNABLES", t, 1);
    else
        unsetenv ("GLIBC_TUNABLES");
#else
    (void) argv;
#endif
}

static void
s_usage (FILE *f)
{
    fprintf (f,
             "tally %s - distributed group-by/count over CSV objects in S3, with live totals\n"
             "\n"
             "usage: tally COMMAND [options]     (tally help COMMAND, or tally COMMAND --help)\n"
             "\n"
             "  broker    list the input, cut it into tasks, hand them to mappers on demand\n"
             "  mapper    take tasks, stream objects, count, push partials to the reducer\n"
             "  reducer   apply partials exactly once, publish live totals\n"
             "  watch     show the live totals of a running job\n"
             "  run       all of the above on this machine, then print the result\n"
             "  scan      count locally in this one process (no cluster), as one mapper slot does\n"
             "  gen       write synthetic TLC yellow-trip CSVs with ground truth\n"
             "  keygen    write CURVE keys for a fleet (then pass --keys DIR everywhere)\n"
             "  provision start/stop mappers on EC2 spot, ssh hosts or locally; spot prices and cost\n"
             "\n"
             "  tally --version\n"
             "\n"
             "Every command also takes --log-format text|json (logs on stderr: one JSON object a line\n"
             "with ts, level, component, msg); TALLY_LOG_FORMAT=json does the same.\n",
             TALLY_VERSION);
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return 2;
    }
    const char *cmd = argv [1];
    if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "version") == 0) {
        int maj, min, pat;
        zmq_version (&maj, &min, &pat);
        printf ("tally %s (libzmq %d.%d.%d, czmq %d.%d.%d)\n", TALLY_VERSION, maj, min, pat, CZMQ_VERSION_MAJOR,
                CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH);
        return 0;
    }
    /* TALLY_NO_HUGEPAGES=1 (for VMs where huge pages cost more): none for the tables
       (lib/core/agg.h), nor for malloc. */
    const char *nh = getenv ("TALLY_NO_HUGEPAGES");
    if (nh && *nh && strcmp (nh, "0") != 0)
        tl_agg_huge_pages (false);
    else
        s_malloc_huge_pages (argv);
    char *hargv [4];
    if (strcmp (cmd, "help") == 0 && argc >= 3) {
        /* tally help COMMAND is COMMAND --help. */
        hargv [0] = argv [0];
        hargv [1] = argv [2];
        hargv [2] = (char *) "--help";
        hargv [3] = NULL;
        argv = hargv;
        argc = 3;
        cmd = argv [1];
    }
    else
    if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0 || strcmp (cmd, "help") == 0) {
        s_usage (stdout);
        return 0;
    }
    /* --log-format is taken here for every command (and passed to `run`'s children through
       TALLY_LOG_FORMAT), then removed from the arguments the command sees. */
    int w = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--log-format") == 0 && i + 1 < argc) {
            if (strcmp (argv [i + 1], "json") != 0 && strcmp (argv [i + 1], "text") != 0) {
                fprintf (stderr, "tally: --log-format is text or json, not '%s'\n", argv [i + 1]);
                return 2;
            }
            setenv ("TALLY_LOG_FORMAT", argv [i + 1], 1);
            i++;
            continue;
        }
        argv [w++] = argv [i];
    }
    argc = w;
    argv [argc] = NULL;
    if (argc < 2) {
        s_usage (stderr);
        return 2;
    }
    cmd = argv [1];
    const char *lf = getenv ("TALLY_LOG_FORMAT");
    tl_log_set_json (lf && strcmp (lf, "json") == 0);
    /* czmq's own signal handling sets zsys_interrupted on SIGINT/SIGTERM; the roles poll it. */
    /* (tally run initialises czmq itself, after it has forked its children: see cli/run.c.) */
    if (strcmp (cmd, "run") != 0) {
        zsys_init ();
        zsys_set_logstream (NULL);
    }
    int rc;
    if (strcmp (cmd, "broker") == 0)
        rc = tl_broker_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "mapper") == 0)
        rc = tl_mapper_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "reducer") == 0)
        rc = tl_reducer_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "watch") == 0)
        rc = tl_watch_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "run") == 0)
        rc = tl_run_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "scan") == 0)
        rc = tl_scan_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "keygen") == 0)
        rc = tl_keygen_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "provision") == 0)
        rc = tl_provision_main (argc - 1, argv + 1);
    else if (strcmp (cmd, "gen") == 0)
        rc = tl_gen_main (argc - 1, argv + 1);
    else {
        fprintf (stderr, "tally: unknown command '%s'\n\n", cmd);
        s_usage (stderr);
        return 2;
    }
    tl_shutdown ();
    return rc;
}
