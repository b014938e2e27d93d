/*  local.c — the local backend: mappers as child processes of this machine, each under a
    lifetime guard (coreutils timeout), logging to STATE_DIR/provision/FLEET.logs. `down` sends
    SIGTERM (a mapper hands its tasks back), then SIGKILL after --wait, and only to pids whose
    command line is still a mapper of this fleet (a pid may have been recycled).

    While `up` waits for the joins it also watches its children (s_probe): it is their parent,
    so it sees them exit, and their logs say whether they joined a job and saw it end. That is
    how a job shorter than the wait is told apart from mappers that never arrived: the broker
    exits after its job, so it cannot say so itself. */
#include "provision/backend.h"
#include "provision/fleet.h"
#include "provision/join.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*  Is pid a tally mapper of this fleet (not a recycled pid)? */
static int
s_is_our_mapper (pid_t pid, const char *fleet)
{
    char path [64], buf [4096];
    snprintf (path, sizeof path, "/proc/%d/cmdline", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    int saw_mapper = 0, saw_fleet = 0;
    for (size_t i = 0; i < n;) {
        const char *a = buf + i;
        size_t len = strnlen (a, n - i);
        if (strcmp (a, "mapper") == 0)
            saw_mapper = 1;
        if (strcmp (a, "--fleet") == 0 && i + len + 1 < n && strcmp (a + len + 1, fleet) == 0)
            saw_fleet = 1;
        i += len + 1;
    }
    return saw_mapper && saw_fleet;
}

/*  Stop pids: SIGTERM (mappers hand their tasks back), then SIGKILL after wait_s. Returns how
    many were still running. */
static int
s_stop_pids (const pid_t *pids, int n, const char *fleet, unsigned wait_s)
{
    int running = 0;
    for (int i = 0; i < n; i++)
        if (pids [i] > 0 && s_is_our_mapper (pids [i], fleet) && kill (pids [i], SIGTERM) == 0)
            running++;
    int64_t deadline = tl_now_ms () + (int64_t) wait_s * 1000;
    while (running && tl_now_ms () < deadline) {
        zclock_sleep (100);
        running = 0;
        for (int i = 0; i < n; i++) {
            while (pids [i] > 0 && waitpid (pids [i], NULL, WNOHANG) > 0)
                ;
            if (pids [i] > 0 && s_is_our_mapper (pids [i], fleet) && kill (pids [i], 0) == 0)
                running++;
        }
    }
    for (int i = 0; i < n && running; i++)
        if (pids [i] > 0 && s_is_our_mapper (pids [i], fleet)) {
            tl_warn ("mapper %d did not stop in %u s: SIGKILL", (int) pids [i], wait_s);
            kill (pids [i], SIGKILL);
        }
    return running;
}

/*  The children `up` started, for s_probe, and what their logs have said so far. */
typedef struct {
    int n;
    pid_t pids [TL_PROV_MAX_HOSTS];
    off_t from [TL_PROV_MAX_HOSTS];     /* how far each (appended) log has been read: from where
                                           this up's mapper began, on */
    bool exited [TL_PROV_MAX_HOSTS];
    int status [TL_PROV_MAX_HOSTS];
    bool joined [TL_PROV_MAX_HOSTS];
    int ended [TL_PROV_MAX_HOSTS];      /* 1 saw its job end ok, 2 failed */
    char last [TL_PROV_MAX_HOSTS][320]; /* its last line */
    char logdir [1400];
} s_kids_t;

/*  Read what mapper i has logged since the last look (whole lines only). */
static void
s_read_log (s_kids_t *k, int i)
{
    char path [1600];
    snprintf (path, sizeof path, "%s/mapper-%d.log", k->logdir, i + 1);
    FILE *f = fopen (path, "r");
    if (!f)
        return;
    if (k->from [i] > 0)
        fseeko (f, k->from [i], SEEK_SET);
    char line [1024];
    /* The mapper's own words: "joined job J as ..." and "job J ended (ok|failed)". */
    while (fgets (line, sizeof line, f)) {
        size_t len = strlen (line);
        if (len && line [len - 1] != '\n' && feof (f))
            break;      /* being written: read it next time */
        k->from [i] += (off_t) len;
        if (strstr (line, "joined job "))
            k->joined [i] = true;
        else if (strstr (line, "job ") && strstr (line, " ended (ok)"))
            k->ended [i] = 1;
        else if (strstr (line, "job ") && strstr (line, " ended (failed)"))
            k->ended [i] = 2;
        line [strcspn (line, "\n")] = 0;
        if (*line)
            snprintf (k->last [i], sizeof k->last [i], "%.300s", line);
    }
    fclose (f);
}

static int
s_probe (void *arg, tl_prov_seen_t *seen)
{
    s_kids_t *k = arg;
    seen->started = k->n;
    for (int i = 0; i < k->n; i++) {
        int stv;
        if (!k->exited [i] && waitpid (k->pids [i], &stv, WNOHANG) == k->pids [i]) {
            k->exited [i] = true;
            k->status [i] = stv;
        }
        s_read_log (k, i);
        seen->joined += k->joined [i];
        seen->ended_ok += k->ended [i] == 1;
        seen->ended_failed += k->ended [i] == 2;
        if (!k->exited [i])
            seen->running++;
        else if (WIFEXITED (k->status [i]) && WEXITSTATUS (k->status [i]) == 0)
            seen->exited_ok++;
        else if (!seen->exited_bad++) {
            char how [48];
            if (WIFEXITED (k->status [i]))
                snprintf (how, sizeof how, "with status %d%s", WEXITSTATUS (k->status [i]),
                          WEXITSTATUS (k->status [i]) == 124 ? " (its --max-lifetime)" : "");
            else
                snprintf (how, sizeof how, "on signal %d", WIFSIGNALED (k->status [i]) ? WTERMSIG (k->status [i]) : 0);
            snprintf (seen->detail, sizeof seen->detail, "mapper local-%d exited %s%s%s (log: %s/mapper-%d.log)",
                      i + 1, how, *k->last [i] ? ", saying: " : "", k->last [i], k->logdir, i + 1);
        }
    }
    return 0;
}

static int
s_up (const tl_prov_opts_t *o, json_t *st, int64_t t0)
{
    char dir [1024], name [256], logdir [1400], exe [4096];
    tl_fleet_path (o, dir, sizeof dir, name, sizeof name);
    snprintf (logdir, sizeof logdir, "%s/%s.logs", dir, o->fleet);
    tl_err_t e = { 0 };
    if (tl_mkdirs (logdir, &e) != 0) {
        tl_error ("%s", e.msg);
        return 1;
    }
    ssize_t len = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        tl_error ("cannot find this tally binary: %s", strerror (errno));
        return 1;
    }
    exe [len] = 0;
    json_t *pids = json_array ();
    json_object_set_new (st, "pids", pids);
    json_object_set_new (st, "logs", json_string (logdir));
    s_kids_t *kids = calloc (1, sizeof *kids);
    if (!kids) {
        tl_error ("out of memory");
        return 1;
    }
    snprintf (kids->logdir, sizeof kids->logdir, "%s", logdir);
    for (unsigned i = 0; i < o->count; i++) {
        char lifetime [32], slots [16], mname [160], log [1600];
        snprintf (lifetime, sizeof lifetime, "%us", o->lifetime_s);
        snprintf (slots, sizeof slots, "%u", o->slots);
        snprintf (mname, sizeof mname, "local-%u", i + 1);
        snprintf (log, sizeof log, "%s/mapper-%u.log", logdir, i + 1);
        struct stat sb;
        kids->from [i] = stat (log, &sb) == 0 ? sb.st_size : 0;
        pid_t pid = fork ();
        if (pid == 0) {
            setsid ();
            int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            int in = open ("/dev/null", O_RDONLY);
            if (fd >= 0) {
                dup2 (fd, 1);
                dup2 (fd, 2);
            }
            if (in >= 0)
                dup2 (in, 0);
            char *argv [56];
            int k = 0;
            /* The lifetime guard: coreutils timeout sends SIGTERM at the end. */
            argv [k++] = (char *) "timeout";
            argv [k++] = lifetime;
            argv [k++] = exe;
            argv [k++] = (char *) "mapper";
            argv [k++] = (char *) "--broker";
            argv [k++] = (char *) o->broker;
            argv [k++] = (char *) "--fleet";
            argv [k++] = (char *) o->fleet;
            argv [k++] = (char *) "--name";
            argv [k++] = mname;
            argv [k++] = (char *) "--stay";
            if (o->slots) {
                argv [k++] = (char *) "--slots";
                argv [k++] = slots;
            }
            if (o->keys) {
                argv [k++] = (char *) "--keys";
                argv [k++] = (char *) o->keys;
            }
            for (int j = 0; j < o->n_margv && k < 52; j++)
                argv [k++] = o->margv [j];
            argv [k] = NULL;
            execvp ("timeout", argv);
            _exit (127);
        }
        if (pid < 0) {
            tl_error ("fork: %s", strerror (errno));
            break;
        }
        kids->pids [kids->n++] = pid;
        json_array_append_new (pids, json_integer (pid));
        if (tl_fleet_save (o, st, &e) != 0)
            tl_error ("%s", e.msg);
    }
    tl_info ("started %zu local mapper(s); logs in %s", json_array_size (pids), logdir);
    int rc = tl_prov_wait_joined (o, (int) json_array_size (pids), t0, s_probe, kids);
    free (kids);
    return rc;
}

static int
s_down (const tl_prov_opts_t *o, json_t *st)
{
    json_t *pids = json_object_get (st, "pids");
    size_t n = json_array_size (pids);
    pid_t *v = calloc (n ? n : 1, sizeof *v);
    if (!v)
        return 1;
    for (size_t i = 0; i < n; i++)
        v [i] = (pid_t) json_integer_value (json_array_get (pids, i));
    int left = s_stop_pids (v, (int) n, o->fleet, o->wait_s);
    free (v);
    printf ("fleet %s: %zu local mapper(s) stopped%s; cost: none (this machine)\n", o->fleet, n,
            left ? " (some with SIGKILL)" : "");
    return 0;
}

static int
s_status (const tl_prov_opts_t *o, json_t *st)
{
    return tl_prov_status_started (o, "local", json_array_size (json_object_get (st, "pids")), "this machine");
}

const tl_prov_backend_t tl_prov_local = { .name = "local", .up = s_up, .status = s_status, .down = s_down };
