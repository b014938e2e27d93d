/*  local.c — the local backend: mappers as child processes of this machine, each under a
    lifetime guard (coreutils timeout), logging to STATE_DIR/provision/FLEET.logs. `down` sends
    SIGTERM (a mapper hands its tasks back), then SIGKILL after --wait, and only to pids whose
    command line is still a mapper of this fleet (a pid may have been recycled). */
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
    for (unsigned i = 0; i < o->count; i++) {
        char lifetime [32], slots [16], mname [160], log [1600];
        snprintf (lifetime, sizeof lifetime, "%us", o->lifetime_s);
        snprintf (slots, sizeof slots, "%u", o->slots);
        snprintf (mname, sizeof mname, "local-%u", i + 1);
        snprintf (log, sizeof log, "%s/mapper-%u.log", logdir, i + 1);
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
        json_array_append_new (pids, json_integer (pid));
        if (tl_fleet_save (o, st, &e) != 0)
            tl_error ("%s", e.msg);
    }
    tl_info ("started %zu local mapper(s); logs in %s", json_array_size (pids), logdir);
    return tl_prov_wait_joined (o, (int) json_array_size (pids), t0);
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
