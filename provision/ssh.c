/*  ssh.c — the ssh backend: one round trip per host, all hosts in parallel with a deadline.
    The binary arrives on ssh's stdin, and the mapper starts detached under a lifetime guard
    (coreutils timeout); its pid comes back and goes into the state file, so `down` can stop it
    (SIGTERM, then SIGKILL) on the same host. Hosts need tally's libraries. */
#include "provision/backend.h"
#include "provision/fleet.h"
#include "provision/join.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char **argv;            /* borrowed */
    const char *in_path;    /* stdin from this file, or /dev/null */
    pid_t pid;
    int fd;                 /* its stdout+stderr */
    char out [4096];
    size_t n;
    int rc;                 /* exit status, or -1 if killed at the deadline */
} s_cmd_t;

/*  Run commands in parallel, each with its output captured, all killed at the deadline. */
static void
s_run_all (s_cmd_t *c, int n, unsigned timeout_s)
{
    for (int i = 0; i < n; i++) {
        int pfd [2];
        c [i].rc = -1;
        c [i].n = 0;
        c [i].out [0] = 0;
        if (pipe (pfd) != 0) {
            snprintf (c [i].out, sizeof c [i].out, "pipe: %s", strerror (errno));
            c [i].fd = -1;
            c [i].pid = -1;
            continue;
        }
        pid_t pid = fork ();
        if (pid == 0) {
            int in = open (c [i].in_path ? c [i].in_path : "/dev/null", O_RDONLY);
            if (in >= 0)
                dup2 (in, 0);
            dup2 (pfd [1], 1);
            dup2 (pfd [1], 2);
            close (pfd [0]);
            setpgid (0, 0);
            execvp (c [i].argv [0], c [i].argv);
            fprintf (stderr, "cannot run %s: %s\n", c [i].argv [0], strerror (errno));
            _exit (127);
        }
        close (pfd [1]);
        c [i].pid = pid;
        c [i].fd = pfd [0];
    }
    int64_t deadline = tl_now_ms () + (int64_t) timeout_s * 1000;
    struct pollfd pf [TL_PROV_MAX_HOSTS];
    for (;;) {
        int k = 0, map [TL_PROV_MAX_HOSTS];
        for (int i = 0; i < n && k < TL_PROV_MAX_HOSTS; i++)
            if (c [i].fd >= 0) {
                pf [k] = (struct pollfd) { .fd = c [i].fd, .events = POLLIN };
                map [k++] = i;
            }
        if (k == 0)
            break;
        int64_t left = deadline - tl_now_ms ();
        if (left <= 0) {
            for (int j = 0; j < k; j++) {
                s_cmd_t *x = &c [map [j]];
                kill (-x->pid, SIGKILL);
                close (x->fd);
                x->fd = -1;
                snprintf (x->out + x->n, sizeof x->out - x->n, "%stimed out after %u s", x->n ? "\n" : "", timeout_s);
            }
            break;
        }
        if (poll (pf, (nfds_t) k, (int) (left > 1000 ? 1000 : left)) <= 0)
            continue;
        for (int j = 0; j < k; j++) {
            if (!(pf [j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            s_cmd_t *x = &c [map [j]];
            char tmp [1024];
            ssize_t r = read (x->fd, tmp, sizeof tmp);
            if (r <= 0) {
                close (x->fd);
                x->fd = -1;
                continue;
            }
            size_t room = sizeof x->out - 1 - x->n, take = (size_t) r < room ? (size_t) r : room;
            memcpy (x->out + x->n, tmp, take);
            x->n += take;
            x->out [x->n] = 0;
        }
    }
    for (int i = 0; i < n; i++) {
        if (c [i].pid <= 0)
            continue;
        int st = 0;
        if (waitpid (c [i].pid, &st, 0) == c [i].pid && WIFEXITED (st) && c [i].rc != -2)
            c [i].rc = WEXITSTATUS (st);
        /* Trim trailing newlines for one-line messages. */
        while (c [i].n && (c [i].out [c [i].n - 1] == '\n' || c [i].out [c [i].n - 1] == '\r'))
            c [i].out [--c [i].n] = 0;
    }
}

/*  The last line of a command's output (the error ssh prints), for per-host messages. */
static const char *
s_last_line (const char *out)
{
    const char *nl = strrchr (out, '\n');
    return nl ? nl + 1 : out;
}

typedef struct {
    char target [512];      /* user@host */
    char port [16];
} s_host_t;

static int
s_read_hosts (const char *path, s_host_t *h, int max, tl_err_t *e)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return tl_err_set (e, TL_EIO, 0, "--hosts %s: %s", path, strerror (errno)), -1;
    char line [1024];
    int n = 0, lineno = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        p [strcspn (p, "#\r\n")] = 0;
        size_t len = strlen (p);
        while (len && (p [len - 1] == ' ' || p [len - 1] == '\t'))
            p [--len] = 0;
        if (!len)
            continue;
        if (n == max || strpbrk (p, " \t'\"`$;&|<>")) {
            fclose (f);
            return tl_err_set (e, TL_EINVAL, 0, "%s:%d: %s", path, lineno,
                               n == max ? "too many hosts" : "not a [user@]host[:port]"), -1;
        }
        memset (&h [n], 0, sizeof h [n]);
        char *colon = strrchr (p, ':');
        if (colon && !strchr (colon, ']')) {
            *colon = 0;
            snprintf (h [n].port, sizeof h [n].port, "%s", colon + 1);
        }
        snprintf (h [n].target, sizeof h [n].target, "%s", p);
        n++;
    }
    fclose (f);
    if (n == 0)
        return tl_err_set (e, TL_EINVAL, 0, "--hosts %s lists no hosts", path), -1;
    return n;
}

/*  argv for `ssh [opts] target remote_cmd` into argv (static storage in a). */
typedef struct {
    char *argv [64];
    char opt [TL_PROV_MAX_SSH_OPTS + 4][600];
    char cmd [4096];
} s_ssh_t;

static void
s_ssh_argv (const tl_prov_opts_t *o, const s_host_t *h, s_ssh_t *a)
{
    int k = 0, oi = 0;
    a->argv [k++] = (char *) "ssh";
    a->argv [k++] = (char *) "-o";
    a->argv [k++] = (char *) "BatchMode=yes";
    a->argv [k++] = (char *) "-o";
    a->argv [k++] = (char *) "ConnectTimeout=10";
    a->argv [k++] = (char *) "-o";
    a->argv [k++] = (char *) "ServerAliveInterval=5";
    if (*h->port) {
        a->argv [k++] = (char *) "-p";
        a->argv [k++] = (char *) h->port;
    }
    if (o->identity) {
        a->argv [k++] = (char *) "-i";
        a->argv [k++] = (char *) o->identity;
    }
    for (int i = 0; i < o->n_ssh_opts; i++) {
        snprintf (a->opt [oi], sizeof a->opt [oi], "%s", o->ssh_opts [i]);
        a->argv [k++] = (char *) "-o";
        a->argv [k++] = a->opt [oi++];
    }
    a->argv [k++] = (char *) h->target;
    a->argv [k++] = a->cmd;
    a->argv [k] = NULL;
}

static int
s_up (const tl_prov_opts_t *o, json_t *st, int64_t t0)
{
    static s_host_t hosts [TL_PROV_MAX_HOSTS];
    tl_err_t e = { 0 };
    int n = s_read_hosts (o->hosts, hosts, TL_PROV_MAX_HOSTS, &e);
    if (n < 0) {
        tl_error ("%s", e.msg);
        return 2;
    }
    char exe [4096];
    if (o->binary)
        snprintf (exe, sizeof exe, "%s", o->binary);
    else {
        ssize_t len = readlink ("/proc/self/exe", exe, sizeof exe - 1);
        exe [len > 0 ? len : 0] = 0;
    }
    if (access (exe, R_OK) != 0) {
        tl_error ("cannot read the binary to copy, %s: %s", exe, strerror (errno));
        return 2;
    }
    s_ssh_t *a = calloc ((size_t) n, sizeof *a);
    s_cmd_t *c = calloc ((size_t) n, sizeof *c);
    if (!a || !c) {
        free (a);
        free (c);
        return 1;
    }
    char slots_opt [32] = "";
    if (o->slots)
        snprintf (slots_opt, sizeof slots_opt, " --slots %u", o->slots);
    for (int i = 0; i < n; i++) {
        /* One round trip per host: the binary arrives on stdin, then the mapper starts detached
           under a lifetime guard (coreutils timeout), and its pid comes back. */
        snprintf (a [i].cmd, sizeof a [i].cmd,
                  "set -e; d=\"$HOME/%s/%s/%d\"; mkdir -p \"$d\"; cat > \"$d/tally.new\"; chmod 755 \"$d/tally.new\"; "
                  "mv \"$d/tally.new\" \"$d/tally\"; cd \"$d\"; "
                  "\"$d/tally\" --version > /dev/null; "
                  "nohup setsid timeout %us \"$d/tally\" mapper --broker '%s' --fleet '%s' --name '%s-%d' --stay%s %s "
                  "> \"$d/mapper.log\" 2>&1 < /dev/null & echo \"pid $!\"",
                  o->remote_dir, o->fleet, i + 1, o->lifetime_s, o->broker, o->fleet, o->fleet, i + 1, slots_opt,
                  o->margs ? o->margs : "");
        s_ssh_argv (o, &hosts [i], &a [i]);
        c [i].argv = a [i].argv;
        c [i].in_path = exe;
    }
    tl_info ("copying tally to %d host(s) and starting mappers", n);
    s_run_all (c, n, 120);
    json_t *hs = json_array ();
    json_object_set_new (st, "hosts", hs);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        const char *pidline = strstr (c [i].out, "pid ");
        long pid = pidline ? strtol (pidline + 4, NULL, 10) : 0;
        if (c [i].rc == 0 && pid > 0) {
            json_array_append_new (hs, json_pack ("{s:s, s:s, s:I, s:i}", "host", hosts [i].target, "port",
                                                  hosts [i].port, "pid", (json_int_t) pid, "index", i + 1));
            ok++;
        }
        else
            tl_error ("host %s: %s", hosts [i].target, *c [i].out ? s_last_line (c [i].out) : "failed");
    }
    if (tl_fleet_save (o, st, &e) != 0)
        tl_error ("%s", e.msg);
    free (a);
    free (c);
    if (ok == 0) {
        printf ("fleet %s: no host started a mapper\n", o->fleet);
        return 1;
    }
    int rc = tl_prov_wait_joined (o, ok, t0, NULL, NULL);
    return ok < n ? 1 : rc;
}

static int
s_down (const tl_prov_opts_t *o, json_t *st)
{
    json_t *hs = json_object_get (st, "hosts");
    int n = (int) json_array_size (hs);
    if (n > TL_PROV_MAX_HOSTS)
        n = TL_PROV_MAX_HOSTS;
    s_ssh_t *a = calloc ((size_t) (n ? n : 1), sizeof *a);
    s_cmd_t *c = calloc ((size_t) (n ? n : 1), sizeof *c);
    s_host_t *h = calloc ((size_t) (n ? n : 1), sizeof *h);
    if (!a || !c || !h) {
        free (a);
        free (c);
        free (h);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        json_t *x = json_array_get (hs, (size_t) i);
        snprintf (h [i].target, sizeof h [i].target, "%s", json_string_value (json_object_get (x, "host")));
        snprintf (h [i].port, sizeof h [i].port, "%s", json_string_value (json_object_get (x, "port")));
        long pid = (long) json_integer_value (json_object_get (x, "pid"));
        /* SIGTERM (the mapper hands its tasks back), wait, then SIGKILL; only if it is still ours. */
        snprintf (a [i].cmd, sizeof a [i].cmd,
                  "p=%ld; kill -TERM $p 2>/dev/null || { echo 'already stopped'; exit 0; }; "
                  "for i in $(seq 1 %u); do kill -0 $p 2>/dev/null || { echo stopped; exit 0; }; sleep 0.2; done; "
                  "kill -KILL $p 2>/dev/null; pkill -KILL -f -- '--fleet %s --name %s-%d' ; echo killed",
                  pid, o->wait_s * 5, o->fleet, o->fleet, (int) json_integer_value (json_object_get (x, "index")));
        s_ssh_argv (o, &h [i], &a [i]);
        c [i].argv = a [i].argv;
    }
    s_run_all (c, n, o->wait_s + 30);
    json_t *left = json_array ();
    int stopped = 0;
    for (int i = 0; i < n; i++) {
        if (c [i].rc == 0) {
            stopped++;
            continue;
        }
        tl_error ("host %s: %s", h [i].target, *c [i].out ? s_last_line (c [i].out) : "failed");
        json_array_append (left, json_array_get (hs, (size_t) i));
    }
    json_object_set_new (st, "hosts", left);
    free (a);
    free (c);
    free (h);
    printf ("fleet %s: %d of %d ssh mapper(s) stopped; cost: none (your machines)\n", o->fleet, stopped, n);
    return json_array_size (left) ? 1 : 0;
}

static int
s_check (const tl_prov_opts_t *o)
{
    if (!o->hosts) {
        tl_error ("the ssh backend needs --hosts FILE");
        return 2;
    }
    return 0;
}

static int
s_status (const tl_prov_opts_t *o, json_t *st)
{
    return tl_prov_status_started (o, "ssh", json_array_size (json_object_get (st, "hosts")), "your machines");
}

const tl_prov_backend_t tl_prov_ssh = { .name = "ssh", .check = s_check, .up = s_up, .status = s_status,
                                        .down = s_down };
