/*  provision.c — `tally provision up|status|down|price`: mappers on EC2 spot instances, on ssh
    hosts, or on this machine, with their cost, and a teardown that always finds what was made.

    One interface, three backends. Each fleet has a state file (STATE_DIR/provision/FLEET.json),
    written after every step that creates something, so `down` can clean up after an `up` that
    failed half-way or was killed. On EC2 the tags are the truth: every instance carries
    tally-fleet=FLEET, and `status`/`down` find instances by that tag even without the file.

    `up` asks the broker first (a `ping`; nothing is created if it does not answer), and at the
    end waits until the new mappers have joined (their hello carries --fleet; the broker's `pong`
    lists a fleet's mappers). */
#include "provision/provision.h"
#include "provision/ec2.h"
#include "provision/userdata.h"
#include "lib/wire/codec.h"
#include "lib/aws/creds.h"
#include "lib/base/log.h"
#include "lib/wire/net.h"
#include "lib/wire/security.h"
#include "lib/store/store.h"
#include "lib/base/util.h"
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_HOSTS 256
#define S_MAX_SSH_OPTS 16
#define S_TAG "tally-fleet"

typedef struct {
    const char *cmd;
    const char *backend, *fleet, *broker, *state_dir, *keys;
    unsigned count, slots;
    unsigned wait_s, lifetime_s;
    /* ec2 */
    const char *itype, *max_price, *ami, *subnet, *sg, *key_name, *profile, *stage, *deb, *deb_url;
    const char *endpoint, *region;
    bool spot;
    /* ssh */
    const char *hosts, *identity, *binary, *remote_dir;
    const char *margs;      /* --mapper-args: more mapper options, checked to be plain words */
    char *margv [32];
    int n_margv;
    const char *ssh_opts [S_MAX_SSH_OPTS];
    int n_ssh_opts;
} s_opts_t;

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally provision up     --backend ec2|ssh|local --broker EP [options]\n"
             "       tally provision status [--fleet NAME]\n"
             "       tally provision down   [--fleet NAME]\n"
             "       tally provision price  --instance-type T [--region R]\n"
             "\n"
             "Starts mappers for a fleet, shows them and what they cost, and stops them. `up` asks the\n"
             "broker first (nothing is started if it does not answer) and waits until the mappers\n"
             "have joined it. `down` stops everything `up` made, even after a failed `up`.\n"
             "\n"
             "common:\n"
             "  --fleet NAME           fleet name (default tally); EC2 instances are tagged tally-fleet=NAME\n"
             "  --broker EP            the broker as the mappers reach it (tcp://HOST:PORT)\n"
             "  --count N              mappers to start (ec2, local; default 1)\n"
             "  --slots N              slots per mapper (default: the machine's cores)\n"
             "  --wait SECS            how long up waits for mappers to join, down for them to stop (default 300)\n"
             "  --max-lifetime DUR     every mapper stops after this long, whatever happens (default 1h;\n"
             "                         e.g. 90m, 2h, 3600s)\n"
             "  --keys DIR             CURVE keys (tally keygen), to reach a broker that uses them\n"
             "  --mapper-args ARGS     more mapper options, e.g. \"--range-size 16M --concurrency 8\"\n"
             "  --state-dir DIR        where fleets are remembered (default $XDG_STATE_HOME/tally or\n"
             "                         ~/.local/state/tally)\n"
             "ec2:\n"
             "  --instance-type T      (default i3en.2xlarge)\n"
             "  --spot                 spot instances (one-time, terminate on interruption)\n"
             "  --max-price P          spot bid cap in $/h (default: the on-demand price)\n"
             "  --ami ID               a Debian 12 image (default: Debian's newest, looked up)\n"
             "  --subnet ID, --security-group ID, --key-name K, --iam-instance-profile NAME\n"
             "  --deb FILE             the tally .deb to install (cpack -G DEB in a build folder)\n"
             "  --stage s3://BUCKET/PREFIX  where up puts the .deb; instances fetch it with a\n"
             "                         presigned URL; down deletes it\n"
             "  --deb-url URL          instead of --deb/--stage: a URL the instances can fetch the .deb from\n"
             "  --region R, --endpoint-url URL (default AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL)\n"
             "ssh:\n"
             "  --hosts FILE           one [user@]host[:port] per line (# comments)\n"
             "  --identity FILE        ssh private key\n"
             "  --ssh-option OPT       passed as ssh -o OPT (repeatable)\n"
             "  --binary FILE          the tally to copy (default: this one); hosts need its libraries\n"
             "  --remote-dir DIR       under the remote home (default .tally)\n"
             "\n"
             "Cost: status and down print instance-hours x the spot price in effect (from EC2's spot\n"
             "price history; per second, 60 s minimum) per instance and for the fleet.\n");
}

/* ---------------------------------------------------------------- small helpers */

static int
s_parse_duration (const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul (s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned long mul = 1;
    if (*end == 'h')
        mul = 3600;
    else if (*end == 'm')
        mul = 60;
    else if (*end == 's' || *end == 0)
        mul = 1;
    else
        return -1;
    if (*end && end [1])
        return -1;
    if (v == 0 || v > 7UL * 24 * 3600 / mul)
        return -1;
    *out = (unsigned) (v * mul);
    return 0;
}

static void
s_iso (time_t t, char out [32])
{
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*  "2026-11-25T07:36:08.000Z" or "2026-11-25 07:39:12" -> unix seconds; 0 if unparsable. */
static time_t
s_parse_time (const char *s)
{
    struct tm tm = { 0 };
    if (sscanf (s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm (&tm);
}

static void
s_state_path (const s_opts_t *o, char *dir, size_t dlen, char *file, size_t flen)
{
    if (o->state_dir)
        snprintf (dir, dlen, "%s/provision", o->state_dir);
    else if (getenv ("XDG_STATE_HOME") && *getenv ("XDG_STATE_HOME"))
        snprintf (dir, dlen, "%s/tally/provision", getenv ("XDG_STATE_HOME"));
    else
        snprintf (dir, dlen, "%s/.local/state/tally/provision", getenv ("HOME") ? getenv ("HOME") : "/tmp");
    snprintf (file, flen, "%s.json", o->fleet);
}

static json_t *
s_state_load (const s_opts_t *o)
{
    char dir [1024], name [256], path [1400];
    s_state_path (o, dir, sizeof dir, name, sizeof name);
    snprintf (path, sizeof path, "%s/%s", dir, name);
    json_error_t je;
    return json_load_file (path, 0, &je);
}

static int
s_state_save (const s_opts_t *o, json_t *st, tl_err_t *e)
{
    char dir [1024], name [256];
    s_state_path (o, dir, sizeof dir, name, sizeof name);
    if (tl_mkdirs (dir, e) != 0)
        return e->code;
    char *text = json_dumps (st, JSON_INDENT (2) | JSON_SORT_KEYS);
    if (!text)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    int rc = tl_write_atomic (dir, name, text, strlen (text), e);
    free (text);
    return rc;
}

static void
s_state_remove (const s_opts_t *o)
{
    char dir [1024], name [256], path [1400];
    s_state_path (o, dir, sizeof dir, name, sizeof name);
    snprintf (path, sizeof path, "%s/%s", dir, name);
    unlink (path);
}

/* ---------------------------------------------------------------- the broker */

/*  Ask the broker which mappers of the fleet are connected. Returns the count (>= 0), or -1
    with e set if it does not answer within timeout_ms. */
static int
s_ping (const s_opts_t *o, int timeout_ms, tl_err_t *e)
{
    tl_err_t se = { 0 };
    tl_security_t *sec = tl_security_new (o->keys, false, &se);
    if (o->keys && !sec)
        return tl_err_set (e, se.code, 0, "%s", se.msg), -1;
    zsock_t *s = tl_sock_new (ZMQ_DEALER, 1 << 20);
    int found = -1;
    if (s && (!sec || tl_security_client (sec, s, &se) == 0) && zsock_connect (s, "%s", o->broker) == 0) {
        tl_msg_t ping = { .type = TL_MSG_PING, .fleet = o->fleet };
        tl_send (s, NULL, 0, &ping, true);
        int64_t deadline = tl_now_ms () + timeout_ms, next = tl_now_ms () + 1000;
        zpoller_t *p = zpoller_new (s, NULL);
        while (found < 0 && !zsys_interrupted) {
            int64_t now = tl_now_ms ();
            if (now >= deadline)
                break;
            if (now >= next) {
                /* The first ping may have gone before the connection was up. */
                tl_send (s, NULL, 0, &ping, true);
                next = now + 1000;
            }
            if (zpoller_wait (p, (int) (next - now < deadline - now ? next - now : deadline - now)) != s)
                continue;
            tl_msg_t m;
            tl_err_t re;
            if (tl_recv (s, NULL, NULL, &m, &re) == 0) {
                if (m.type == TL_MSG_PONG)
                    found = (int) m.n_mappers;
                tl_msg_clear (&m);
            }
        }
        zpoller_destroy (&p);
        if (found < 0)
            tl_err_set (e, TL_ENET, 0, "broker %s did not answer within %d s (is it running and reachable from here%s)",
                        o->broker, timeout_ms / 1000, o->keys ? "" : "? does it need --keys");
    }
    else
        tl_err_set (e, TL_EINVAL, 0, "cannot connect to broker '%s' (want tcp://HOST:PORT)", o->broker);
    zsock_destroy (&s);
    tl_security_destroy (&sec);
    return found;
}

/*  Wait until `want` mappers of the fleet have joined. Prints the outcome. Returns 0 or 1. */
static int
s_wait_joined (const s_opts_t *o, int want, int64_t t0)
{
    int64_t deadline = tl_now_ms () + (int64_t) o->wait_s * 1000;
    int have = 0, shown = -1;
    while (!zsys_interrupted) {
        tl_err_t e = { 0 };
        have = s_ping (o, 5000, &e);
        if (have != shown && have >= 0) {
            fprintf (stderr, "tally provision: %d of %d mapper(s) of fleet %s joined\n", have, want, o->fleet);
            shown = have;
        }
        if (have >= want || tl_now_ms () >= deadline)
            break;
        zclock_sleep (500);
    }
    double secs = (double) (tl_now_ms () - t0) / 1000.0;
    if (have >= want) {
        printf ("fleet %s: %d of %d mapper(s) joined %s in %.1f s\n", o->fleet, have, want, o->broker, secs);
        return 0;
    }
    printf ("fleet %s: only %d of %d mapper(s) joined %s in %.1f s; they are left running "
            "(tally provision down --fleet %s stops them)\n", o->fleet, have < 0 ? 0 : have, want, o->broker, secs,
            o->fleet);
    return 1;
}

/* ---------------------------------------------------------------- running commands */

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
    struct pollfd pf [S_MAX_HOSTS];
    for (;;) {
        int k = 0, map [S_MAX_HOSTS];
        for (int i = 0; i < n && k < S_MAX_HOSTS; i++)
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

/* ---------------------------------------------------------------- local backend */

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
            fprintf (stderr, "tally provision: mapper %d did not stop in %u s: SIGKILL\n", (int) pids [i], wait_s);
            kill (pids [i], SIGKILL);
        }
    return running;
}

static int
s_local_up (const s_opts_t *o, json_t *st, int64_t t0)
{
    char dir [1024], name [256], logdir [1400], exe [4096];
    s_state_path (o, dir, sizeof dir, name, sizeof name);
    snprintf (logdir, sizeof logdir, "%s/%s.logs", dir, o->fleet);
    tl_err_t e = { 0 };
    if (tl_mkdirs (logdir, &e) != 0) {
        fprintf (stderr, "tally provision: %s\n", e.msg);
        return 1;
    }
    ssize_t len = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        fprintf (stderr, "tally provision: cannot find this tally binary: %s\n", strerror (errno));
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
            fprintf (stderr, "tally provision: fork: %s\n", strerror (errno));
            break;
        }
        json_array_append_new (pids, json_integer (pid));
        if (s_state_save (o, st, &e) != 0)
            fprintf (stderr, "tally provision: %s\n", e.msg);
    }
    fprintf (stderr, "tally provision: started %zu local mapper(s); logs in %s\n", json_array_size (pids), logdir);
    return s_wait_joined (o, (int) json_array_size (pids), t0);
}

static int
s_local_down (const s_opts_t *o, json_t *st)
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

/* ---------------------------------------------------------------- ssh backend */

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
    char opt [S_MAX_SSH_OPTS + 4][600];
    char cmd [4096];
} s_ssh_t;

static void
s_ssh_argv (const s_opts_t *o, const s_host_t *h, s_ssh_t *a)
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
s_ssh_up (const s_opts_t *o, json_t *st, int64_t t0)
{
    static s_host_t hosts [S_MAX_HOSTS];
    tl_err_t e = { 0 };
    int n = s_read_hosts (o->hosts, hosts, S_MAX_HOSTS, &e);
    if (n < 0) {
        fprintf (stderr, "tally provision: %s\n", e.msg);
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
        fprintf (stderr, "tally provision: cannot read the binary to copy, %s: %s\n", exe, strerror (errno));
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
    fprintf (stderr, "tally provision: copying tally to %d host(s) and starting mappers\n", n);
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
            fprintf (stderr, "tally provision: host %s: %s\n", hosts [i].target,
                     *c [i].out ? s_last_line (c [i].out) : "failed");
    }
    if (s_state_save (o, st, &e) != 0)
        fprintf (stderr, "tally provision: %s\n", e.msg);
    free (a);
    free (c);
    if (ok == 0) {
        printf ("fleet %s: no host started a mapper\n", o->fleet);
        return 1;
    }
    int rc = s_wait_joined (o, ok, t0);
    return ok < n ? 1 : rc;
}

static int
s_ssh_down (const s_opts_t *o, json_t *st)
{
    json_t *hs = json_object_get (st, "hosts");
    int n = (int) json_array_size (hs);
    if (n > S_MAX_HOSTS)
        n = S_MAX_HOSTS;
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
        fprintf (stderr, "tally provision: host %s: %s\n", h [i].target, *c [i].out ? s_last_line (c [i].out) : "failed");
        json_array_append (left, json_array_get (hs, (size_t) i));
    }
    json_object_set_new (st, "hosts", left);
    free (a);
    free (c);
    free (h);
    printf ("fleet %s: %d of %d ssh mapper(s) stopped; cost: none (your machines)\n", o->fleet, stopped, n);
    return json_array_size (left) ? 1 : 0;
}

/* ---------------------------------------------------------------- ec2 backend */

/*  On-demand Linux prices in us-east-1, $/h (AWS's list prices; other regions differ). EC2's
    API has no on-demand price (that is the Pricing service), so tally keeps a small table. */
static const struct {
    const char *type;
    double usd;
} s_ondemand [] = {
    { "t3.micro", 0.0104 },   { "t3.small", 0.0208 },   { "t3.medium", 0.0416 },  { "t3.large", 0.0832 },
    { "m5.large", 0.096 },    { "m5.xlarge", 0.192 },   { "m5.2xlarge", 0.384 },  { "m5.4xlarge", 0.768 },
    { "m6i.2xlarge", 0.384 }, { "c5.large", 0.085 },    { "c5.xlarge", 0.17 },    { "c5.2xlarge", 0.34 },
    { "c5.4xlarge", 0.68 },   { "c6i.2xlarge", 0.34 },  { "c7i.2xlarge", 0.357 }, { "r5.large", 0.126 },
    { "r5.xlarge", 0.252 },   { "r5.2xlarge", 0.504 },  { "i3.large", 0.156 },    { "i3.xlarge", 0.312 },
    { "i3.2xlarge", 0.624 },  { "i3en.large", 0.226 },  { "i3en.xlarge", 0.452 }, { "i3en.2xlarge", 0.904 },
    { "i3en.3xlarge", 1.356 }, { "i3en.6xlarge", 2.712 },
};

static double
s_ondemand_price (const char *type)
{
    for (size_t i = 0; i < sizeof s_ondemand / sizeof s_ondemand [0]; i++)
        if (strcmp (s_ondemand [i].type, type) == 0)
            return s_ondemand [i].usd;
    return -1;
}

typedef struct {
    char id [64], state [32], type [64], az [64], lifecycle [16];
    time_t launch, end;
} s_inst_t;

static int
s_ec2_setup (const s_opts_t *o, tl_ec2_t *ec2)
{
    tl_err_t e = { 0 };
    tl_creds_t cr;
    if (tl_ec2_init (ec2, o->endpoint, o->region, &e) != 0 || tl_creds_get (&cr, &e) != 0) {
        fprintf (stderr, "tally provision: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/*  The fleet's instances, found by tag. Returns the count or -1. */
static int
s_ec2_find (const tl_ec2_t *ec2, const char *fleet, s_inst_t **out, tl_err_t *e)
{
    *out = NULL;
    char tagname [64];
    snprintf (tagname, sizeof tagname, "tag:%s", S_TAG);
    tl_kv_t q [] = { { "Filter.1.Name", tagname }, { "Filter.1.Value.1", fleet } };
    tl_xml_t *x = NULL;
    if (tl_ec2_call (ec2, "DescribeInstances", q, 2, &x, e) != 0)
        return -1;
    int n = 0, cap = 0;
    s_inst_t *v = NULL;
    for (tl_xml_t *r = tl_xml_find (x, "reservationSet/item"); r; r = tl_xml_next_same (r))
        for (tl_xml_t *i = tl_xml_find (r, "instancesSet/item"); i; i = tl_xml_next_same (i)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                s_inst_t *nv = realloc (v, (size_t) cap * sizeof *v);
                if (!nv)
                    break;
                v = nv;
            }
            s_inst_t *it = &v [n++];
            memset (it, 0, sizeof *it);
            snprintf (it->id, sizeof it->id, "%s", tl_xml_text (i, "instanceId"));
            snprintf (it->state, sizeof it->state, "%s", tl_xml_text (i, "instanceState/name"));
            snprintf (it->type, sizeof it->type, "%s", tl_xml_text (i, "instanceType"));
            snprintf (it->az, sizeof it->az, "%s", tl_xml_text (i, "placement/availabilityZone"));
            snprintf (it->lifecycle, sizeof it->lifecycle, "%s",
                      *tl_xml_text (i, "instanceLifecycle") ? tl_xml_text (i, "instanceLifecycle") : "on-demand");
            it->launch = s_parse_time (tl_xml_text (i, "launchTime"));
            /* "User initiated (2026-11-25 07:39:12 GMT)": when it stopped billing. */
            const char *why = strchr (tl_xml_text (i, "reason"), '(');
            if (strcmp (it->state, "terminated") == 0 || strcmp (it->state, "stopped") == 0)
                it->end = why ? s_parse_time (why + 1) : 0;
        }
    tl_xml_free (&x);
    *out = v;
    return n;
}

/*  Piecewise integral of the spot price over [from, to) for type in az, in $ (per second). */
static double
s_spot_cost (const tl_ec2_t *ec2, const char *type, const char *az, time_t from, time_t to, double *rate)
{
    char t0 [32], t1 [32];
    s_iso (from, t0);
    s_iso (to, t1);
    tl_kv_t q [] = { { "InstanceType.1", type },     { "ProductDescription.1", "Linux/UNIX" },
                     { "AvailabilityZone", az },     { "StartTime", t0 }, { "EndTime", t1 } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    *rate = -1;
    if (tl_ec2_call (ec2, "DescribeSpotPriceHistory", q, 5, &x, &e) != 0) {
        fprintf (stderr, "tally provision: %s\n", e.msg);
        return -1;
    }
    /* Points (timestamp, price), sorted; the price in effect at t is the last point <= t. */
    struct { time_t t; double p; } pts [512];
    int n = 0;
    for (tl_xml_t *i = tl_xml_find (x, "spotPriceHistorySet/item"); i && n < 512; i = tl_xml_next_same (i)) {
        if (*az && strcmp (tl_xml_text (i, "availabilityZone"), az) != 0)
            continue;
        pts [n].t = s_parse_time (tl_xml_text (i, "timestamp"));
        pts [n].p = atof (tl_xml_text (i, "spotPrice"));
        n++;
    }
    tl_xml_free (&x);
    if (n == 0)
        return -1;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && pts [j].t < pts [j - 1].t; j--) {
            time_t tt = pts [j].t;
            double pp = pts [j].p;
            pts [j] = pts [j - 1];
            pts [j - 1].t = tt;
            pts [j - 1].p = pp;
        }
    double usd = 0;
    for (int i = 0; i < n; i++) {
        time_t a = i == 0 ? from : (pts [i].t > from ? pts [i].t : from);
        time_t b = i + 1 < n ? (pts [i + 1].t < to ? pts [i + 1].t : to) : to;
        if (i == 0 && pts [0].t > from)
            a = from;   /* before the first point: its price */
        if (b > a)
            usd += pts [i].p * (double) (b - a) / 3600.0;
        *rate = pts [i].p;
    }
    return usd;
}

/*  Print the fleet's instances and their cost; returns the total in $ (or -1 if unknown). */
static double
s_ec2_report (const tl_ec2_t *ec2, const s_inst_t *v, int n, const char *fleet)
{
    time_t now = time (NULL);
    double total = 0, hours = 0;
    int unknown = 0;
    printf ("%-22s %-14s %-14s %-12s %-9s %9s %9s %9s\n", "instance", "state", "type", "zone", "market", "hours",
            "$/h", "$");
    for (int i = 0; i < n; i++) {
        const s_inst_t *it = &v [i];
        time_t end = it->end ? it->end : now;
        time_t secs = end > it->launch ? end - it->launch : 0;
        if (secs < 60 && strcmp (it->state, "pending") != 0)
            secs = 60;      /* billed per second with a one-minute minimum */
        double rate = -1, usd;
        if (strcmp (it->lifecycle, "spot") == 0)
            usd = s_spot_cost (ec2, it->type, it->az, it->launch, it->launch + secs, &rate);
        else {
            rate = s_ondemand_price (it->type);
            usd = rate >= 0 ? rate * (double) secs / 3600.0 : -1;
        }
        hours += (double) secs / 3600.0;
        if (usd < 0)
            unknown++;
        else
            total += usd;
        char r [32] = "?", u [32] = "?";
        if (rate >= 0)
            snprintf (r, sizeof r, "%.5f", rate);
        if (usd >= 0)
            snprintf (u, sizeof u, "%.5f", usd);
        printf ("%-22s %-14s %-14s %-12s %-9s %9.3f %9s %9s\n", it->id, it->state, it->type, it->az, it->lifecycle,
                (double) secs / 3600.0, r, u);
    }
    printf ("fleet %s: %d instance(s), %.3f instance-hours, cost $%.5f%s\n", fleet, n, hours, total,
            unknown ? " (plus instances whose price is unknown)" : "");
    return unknown ? -1 : total;
}

static int
s_ec2_terminate (const tl_ec2_t *ec2, char ids [][64], int n, tl_err_t *e)
{
    if (n == 0)
        return 0;
    tl_kv_t *q = calloc ((size_t) n, sizeof *q);
    char (*names) [32] = calloc ((size_t) n, sizeof *names);
    int rc = TL_ENOMEM;
    if (q && names) {
        for (int i = 0; i < n; i++) {
            snprintf (names [i], sizeof names [i], "InstanceId.%d", i + 1);
            q [i] = (tl_kv_t) { names [i], ids [i] };
        }
        tl_xml_t *x = NULL;
        rc = tl_ec2_call (ec2, "TerminateInstances", q, (size_t) n, &x, e);
        tl_xml_free (&x);
    }
    free (q);
    free (names);
    return rc;
}

/*  Terminate every instance of the fleet and wait until EC2 says terminated. */
static int
s_ec2_down_all (const s_opts_t *o, const tl_ec2_t *ec2, json_t *st)
{
    tl_err_t e = { 0 };
    int64_t deadline = tl_now_ms () + (int64_t) o->wait_s * 1000;
    int asked = 0;
    for (;;) {
        s_inst_t *v = NULL;
        int n = s_ec2_find (ec2, o->fleet, &v, &e);
        if (n < 0) {
            fprintf (stderr, "tally provision: %s\n", e.msg);
            return 1;
        }
        /* Also the ids the state file holds (an instance whose tags never landed). */
        json_t *ids = st ? json_object_get (st, "instances") : NULL;
        char (*term) [64] = calloc ((size_t) n + json_array_size (ids) + 1, 64);
        int k = 0, alive = 0;
        for (int i = 0; i < n; i++)
            if (strcmp (v [i].state, "terminated") != 0) {
                alive++;
                if (strcmp (v [i].state, "shutting-down") != 0)
                    snprintf (term [k++], 64, "%s", v [i].id);
            }
        if (!asked)
            for (size_t j = 0; j < json_array_size (ids); j++) {
                const char *id = json_string_value (json_array_get (ids, j));
                int seen = 0;
                for (int i = 0; i < n; i++)
                    seen |= strcmp (v [i].id, id) == 0;
                if (!seen)
                    snprintf (term [k++], 64, "%s", id);
            }
        if (k && s_ec2_terminate (ec2, term, k, &e) != 0) {
            fprintf (stderr, "tally provision: %s\n", e.msg);
            /* An unknown id from a half-made up is not fatal; anything else is. */
            if (!strstr (e.msg, "InvalidInstanceID")) {
                free (term);
                free (v);
                return 1;
            }
        }
        if (k)
            fprintf (stderr, "tally provision: terminating %d instance(s) of fleet %s\n", k, o->fleet);
        asked = 1;
        free (term);
        if (alive == 0 || tl_now_ms () >= deadline) {
            s_ec2_report (ec2, v, n, o->fleet);
            free (v);
            if (alive) {
                printf ("fleet %s: %d instance(s) not yet terminated after %u s; run down again\n", o->fleet, alive,
                        o->wait_s);
                return 1;
            }
            return 0;
        }
        free (v);
        zclock_sleep (1000);
    }
}

static int
s_ec2_unstage (const s_opts_t *o, json_t *st)
{
    const char *staged = st ? json_string_value (json_object_get (st, "staged")) : NULL;
    if (!staged)
        return 0;
    tl_store_cfg_t cfg = { .endpoint = o->endpoint, .region = o->region };
    tl_store_cfg_from_env (&cfg);
    tl_err_t e = { 0 };
    if (tl_s3_delete (&cfg, staged, &e) != 0) {
        fprintf (stderr, "tally provision: could not delete the staged package: %s\n", e.msg);
        return 1;
    }
    fprintf (stderr, "tally provision: deleted %s\n", staged);
    json_object_del (st, "staged");
    return 0;
}

static int
s_ec2_check_type (const tl_ec2_t *ec2, const char *type)
{
    tl_kv_t q [] = { { "InstanceType.1", type } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    if (tl_ec2_call (ec2, "DescribeInstanceTypes", q, 1, &x, &e) != 0 || !tl_xml_find (x, "instanceTypeSet/item")) {
        if (strstr (e.msg, "InvalidInstanceType") || (x && !tl_xml_find (x, "instanceTypeSet/item")))
            fprintf (stderr, "tally provision: unknown instance type '%s' in %s\n", type, ec2->region);
        else
            fprintf (stderr, "tally provision: %s\n", e.msg);
        tl_xml_free (&x);
        return -1;
    }
    tl_xml_free (&x);
    return 0;
}

/*  Debian's newest Debian 12 amd64 image (owner 136693071363), into ami. */
static int
s_ec2_find_ami (const tl_ec2_t *ec2, char *ami, size_t len)
{
    tl_kv_t q [] = { { "Owner.1", "136693071363" }, { "Filter.1.Name", "name" }, { "Filter.1.Value.1", "debian-12-amd64-*" } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    if (tl_ec2_call (ec2, "DescribeImages", q, 3, &x, &e) != 0) {
        fprintf (stderr, "tally provision: %s\n", e.msg);
        return -1;
    }
    char best [64] = "", when [64] = "";
    for (tl_xml_t *i = tl_xml_find (x, "imagesSet/item"); i; i = tl_xml_next_same (i))
        if (strcmp (tl_xml_text (i, "creationDate"), when) > 0) {
            snprintf (when, sizeof when, "%s", tl_xml_text (i, "creationDate"));
            snprintf (best, sizeof best, "%s", tl_xml_text (i, "imageId"));
        }
    tl_xml_free (&x);
    if (!*best) {
        fprintf (stderr, "tally provision: no Debian 12 image found in %s; pass --ami ID\n", ec2->region);
        return -1;
    }
    snprintf (ami, len, "%s", best);
    return 0;
}

static int
s_ec2_up (const s_opts_t *o, json_t *st, int64_t t0)
{
    tl_ec2_t ec2;
    if (s_ec2_setup (o, &ec2) != 0)
        return 1;
    if (s_ec2_check_type (&ec2, o->itype) != 0)
        return 1;
    char ami [64];
    if (o->ami)
        snprintf (ami, sizeof ami, "%s", o->ami);
    else if (s_ec2_find_ami (&ec2, ami, sizeof ami) != 0)
        return 1;
    if (!o->deb_url && !(o->deb && o->stage)) {
        fprintf (stderr, "tally provision: ec2 needs --deb FILE with --stage s3://BUCKET/PREFIX, or --deb-url URL "
                         "(how instances install tally)\n");
        return 2;
    }
    tl_err_t e = { 0 };
    json_object_set_new (st, "region", json_string (ec2.region));
    json_object_set_new (st, "endpoint", json_string (ec2.endpoint));
    json_object_set_new (st, "instance_type", json_string (o->itype));
    json_object_set_new (st, "spot", json_boolean (o->spot));
    char *url = NULL;
    if (o->deb_url)
        url = strdup (o->deb_url);
    else {
        char *deb = NULL;
        size_t deblen = 0;
        if (tl_read_file (o->deb, &deb, &deblen, 512 * 1024 * 1024, &e) != 0) {
            fprintf (stderr, "tally provision: --deb: %s\n", e.msg);
            return 2;
        }
        const char *base = strrchr (o->deb, '/') ? strrchr (o->deb, '/') + 1 : o->deb;
        char uri [2048];
        snprintf (uri, sizeof uri, "%s%s%s/%s", o->stage, o->stage [strlen (o->stage) - 1] == '/' ? "" : "/", o->fleet,
                  base);
        tl_store_cfg_t cfg = { .region = o->region };
        tl_store_cfg_from_env (&cfg);
        int rc = tl_s3_put (&cfg, uri, deb, deblen, &e);
        free (deb);
        if (rc != 0) {
            fprintf (stderr, "tally provision: staging the package: %s\n", e.msg);
            return 1;
        }
        json_object_set_new (st, "staged", json_string (uri));
        s_state_save (o, st, &e);
        fprintf (stderr, "tally provision: staged %s (%zu bytes)\n", uri, deblen);
        url = tl_s3_presign (&cfg, uri, o->lifetime_s + 3600 > 604800 ? 604800 : o->lifetime_s + 3600, &e);
        if (!url) {
            fprintf (stderr, "tally provision: %s\n", e.msg);
            s_ec2_unstage (o, st);
            s_state_save (o, st, &e);
            return 1;
        }
    }
    tl_userdata_t ud = { .fleet = o->fleet, .broker = o->broker, .deb_url = url, .slots = o->slots,
                         .max_lifetime_s = o->lifetime_s, .version = TALLY_VERSION, .extra = o->margs };
    char *script = tl_userdata (&ud);
    free (url);
    if (!script) {
        fprintf (stderr, "tally provision: --fleet, --broker and the package URL must not hold quotes or spaces\n");
        s_ec2_unstage (o, st);
        s_state_save (o, st, &e);
        return 2;
    }
    size_t slen = strlen (script);
    char *b64 = malloc (4 * ((slen + 2) / 3) + 1);
    if (!b64) {
        free (script);
        return 1;
    }
    EVP_EncodeBlock ((unsigned char *) b64, (const unsigned char *) script, (int) slen);
    free (script);
    char count [16], token [40], rid [17];
    snprintf (count, sizeof count, "%u", o->count);
    tl_random_id (rid);
    snprintf (token, sizeof token, "tally-%s", rid);
    char maxp [32];
    if (o->max_price)
        snprintf (maxp, sizeof maxp, "%s", o->max_price);
    else if (s_ondemand_price (o->itype) > 0)
        snprintf (maxp, sizeof maxp, "%.4f", s_ondemand_price (o->itype));
    else
        maxp [0] = 0;
    tl_kv_t q [40];
    size_t k = 0;
    q [k++] = (tl_kv_t) { "ImageId", ami };
    q [k++] = (tl_kv_t) { "InstanceType", o->itype };
    /* All or nothing: a fleet smaller than asked is reported as an error, not discovered later. */
    q [k++] = (tl_kv_t) { "MinCount", count };
    q [k++] = (tl_kv_t) { "MaxCount", count };
    q [k++] = (tl_kv_t) { "UserData", b64 };
    q [k++] = (tl_kv_t) { "ClientToken", token };
    q [k++] = (tl_kv_t) { "InstanceInitiatedShutdownBehavior", "terminate" };
    q [k++] = (tl_kv_t) { "TagSpecification.1.ResourceType", "instance" };
    q [k++] = (tl_kv_t) { "TagSpecification.1.Tag.1.Key", S_TAG };
    q [k++] = (tl_kv_t) { "TagSpecification.1.Tag.1.Value", o->fleet };
    if (o->spot) {
        q [k++] = (tl_kv_t) { "InstanceMarketOptions.MarketType", "spot" };
        q [k++] = (tl_kv_t) { "InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time" };
        q [k++] = (tl_kv_t) { "InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate" };
        if (*maxp)
            q [k++] = (tl_kv_t) { "InstanceMarketOptions.SpotOptions.MaxPrice", maxp };
    }
    if (o->subnet)
        q [k++] = (tl_kv_t) { "SubnetId", o->subnet };
    if (o->sg)
        q [k++] = (tl_kv_t) { "SecurityGroupId.1", o->sg };
    if (o->key_name)
        q [k++] = (tl_kv_t) { "KeyName", o->key_name };
    if (o->profile)
        q [k++] = (tl_kv_t) { "IamInstanceProfile.Name", o->profile };
    tl_xml_t *x = NULL;
    int rc = tl_ec2_call (&ec2, "RunInstances", q, k, &x, &e);
    free (b64);
    if (rc != 0) {
        fprintf (stderr, "tally provision: %s\n", e.msg);
        /* Nothing may have started, but a lost reply can hide instances: down finds them by tag. */
        s_ec2_down_all (o, &ec2, st);
        s_ec2_unstage (o, st);
        s_state_remove (o);
        return 1;
    }
    json_t *ids = json_array ();
    json_object_set_new (st, "instances", ids);
    for (tl_xml_t *i = tl_xml_find (x, "instancesSet/item"); i; i = tl_xml_next_same (i))
        json_array_append_new (ids, json_string (tl_xml_text (i, "instanceId")));
    tl_xml_free (&x);
    if (s_state_save (o, st, &e) != 0)
        fprintf (stderr, "tally provision: %s\n", e.msg);
    size_t got = json_array_size (ids);
    fprintf (stderr, "tally provision: %zu of %u %s instance(s) of %s launched (%s)\n", got, o->count,
             o->spot ? "spot" : "on-demand", o->itype, ami);
    /* A Name tag on every instance, so the console shows the fleet. */
    tl_kv_t tq [S_MAX_HOSTS + 2];
    char names [S_MAX_HOSTS][24], tname [96];
    size_t tk = 0;
    for (size_t i = 0; i < got && i < S_MAX_HOSTS; i++) {
        snprintf (names [i], sizeof names [i], "ResourceId.%zu", i + 1);
        tq [tk++] = (tl_kv_t) { names [i], json_string_value (json_array_get (ids, i)) };
    }
    snprintf (tname, sizeof tname, "tally-%s", o->fleet);
    tq [tk++] = (tl_kv_t) { "Tag.1.Key", "Name" };
    tq [tk++] = (tl_kv_t) { "Tag.1.Value", tname };
    if (tl_ec2_call (&ec2, "CreateTags", tq, tk, &x, &e) != 0) {
        fprintf (stderr, "tally provision: tagging failed, rolling back: %s\n", e.msg);
        s_ec2_down_all (o, &ec2, st);
        s_ec2_unstage (o, st);
        s_state_remove (o);
        return 1;
    }
    tl_xml_free (&x);
    return s_wait_joined (o, (int) got, t0);
}

static int
s_price (const s_opts_t *o)
{
    tl_ec2_t ec2;
    if (s_ec2_setup (o, &ec2) != 0)
        return 1;
    if (s_ec2_check_type (&ec2, o->itype) != 0)
        return 1;
    char now [32];
    s_iso (time (NULL), now);
    tl_kv_t q [] = { { "InstanceType.1", o->itype }, { "ProductDescription.1", "Linux/UNIX" }, { "StartTime", now } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    if (tl_ec2_call (&ec2, "DescribeSpotPriceHistory", q, 3, &x, &e) != 0) {
        fprintf (stderr, "tally provision: %s\n", e.msg);
        return 1;
    }
    printf ("%s in %s, Linux/UNIX, $/hour\n", o->itype, ec2.region);
    printf ("  %-16s %10s\n", "zone", "spot");
    /* The newest price per zone. */
    struct { char az [64]; time_t t; double p; } z [64];
    int nz = 0;
    for (tl_xml_t *i = tl_xml_find (x, "spotPriceHistorySet/item"); i; i = tl_xml_next_same (i)) {
        const char *az = tl_xml_text (i, "availabilityZone");
        time_t t = s_parse_time (tl_xml_text (i, "timestamp"));
        int j = 0;
        while (j < nz && strcmp (z [j].az, az) != 0)
            j++;
        if (j == nz) {
            if (nz == 64)
                continue;
            snprintf (z [nz].az, sizeof z [nz].az, "%s", az);
            z [nz].t = 0;
            nz++;
        }
        if (t >= z [j].t) {
            z [j].t = t;
            z [j].p = atof (tl_xml_text (i, "spotPrice"));
        }
    }
    tl_xml_free (&x);
    double best = -1;
    for (int j = 0; j < nz; j++) {
        printf ("  %-16s %10.5f\n", z [j].az, z [j].p);
        if (best < 0 || z [j].p < best)
            best = z [j].p;
    }
    if (nz == 0)
        printf ("  (no spot price history for this type here)\n");
    double od = s_ondemand_price (o->itype);
    if (od > 0) {
        printf ("  %-16s %10.4f  (us-east-1 list price, from tally's table)\n", "on-demand", od);
        if (best >= 0)
            printf ("cheapest spot: $%.4f/h, %.0f%% of on-demand; 12 machines for 10 minutes: $%.2f\n", best,
                    100.0 * best / od, best * 12 / 6);
    }
    else
        printf ("  %-16s %10s  (not in tally's table)\n", "on-demand", "?");
    return 0;
}

/* ---------------------------------------------------------------- main */

int
tl_provision_main (int argc, char **argv)
{
    static const struct option opts [] = {
        { "backend", required_argument, 0, 'B' },     { "fleet", required_argument, 0, 'f' },
        { "broker", required_argument, 0, 'b' },      { "count", required_argument, 0, 'c' },
        { "slots", required_argument, 0, 's' },       { "wait", required_argument, 0, 'w' },
        { "max-lifetime", required_argument, 0, 'L' }, { "keys", required_argument, 0, 'k' },
        { "state-dir", required_argument, 0, 'D' },   { "instance-type", required_argument, 0, 't' },
        { "spot", no_argument, 0, 'S' },              { "max-price", required_argument, 0, 'p' },
        { "ami", required_argument, 0, 'a' },         { "subnet", required_argument, 0, 'n' },
        { "security-group", required_argument, 0, 'g' }, { "key-name", required_argument, 0, 'K' },
        { "iam-instance-profile", required_argument, 0, 'I' }, { "stage", required_argument, 0, 'X' },
        { "deb", required_argument, 0, 'd' },         { "deb-url", required_argument, 0, 'U' },
        { "endpoint-url", required_argument, 0, 'e' }, { "region", required_argument, 0, 'r' },
        { "hosts", required_argument, 0, 'H' },       { "identity", required_argument, 0, 'i' },
        { "ssh-option", required_argument, 0, 'o' },  { "binary", required_argument, 0, 'x' },
        { "remote-dir", required_argument, 0, 'R' },  { "verbose", no_argument, 0, 'v' },
        { "quiet", no_argument, 0, 'q' },             { "help", no_argument, 0, 'h' },
        { "mapper-args", required_argument, 0, 'M' },
        { 0, 0, 0, 0 },
    };
    s_opts_t o = { .fleet = "tally", .count = 1, .wait_s = 300, .lifetime_s = 3600, .itype = "i3en.2xlarge",
                   .remote_dir = ".tally" };
    int level = TL_LOG_INFO;
    if (argc >= 2 && argv [1][0] != '-') {
        o.cmd = argv [1];
        argv++;
        argc--;
    }
    int c;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long (argc, argv, "vqh", opts, NULL)) != -1) {
        switch (c) {
            case 'B': o.backend = optarg; break;
            case 'f':
                if (!*optarg || strlen (optarg) > 63 || strspn (optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                      "0123456789-_.") != strlen (optarg)) {
                    fprintf (stderr, "tally provision: --fleet is 1 to 63 letters, digits, '-', '_' or '.'\n");
                    return 2;
                }
                o.fleet = optarg;
                break;
            case 'b': o.broker = optarg; break;
            case 'c':
                if (tl_parse_uint (optarg, 1, S_MAX_HOSTS, &v) != 0) {
                    fprintf (stderr, "tally provision: --count is 1 to %d, not '%s'\n", S_MAX_HOSTS, optarg);
                    return 2;
                }
                o.count = (unsigned) v;
                break;
            case 's':
                if (tl_parse_uint (optarg, 1, 4096, &v) != 0) {
                    fprintf (stderr, "tally provision: --slots is 1 to 4096, not '%s'\n", optarg);
                    return 2;
                }
                o.slots = (unsigned) v;
                break;
            case 'w':
                if (tl_parse_uint (optarg, 0, 86400, &v) != 0) {
                    fprintf (stderr, "tally provision: --wait is 0 to 86400 seconds, not '%s'\n", optarg);
                    return 2;
                }
                o.wait_s = (unsigned) v;
                break;
            case 'L':
                if (s_parse_duration (optarg, &o.lifetime_s) != 0) {
                    fprintf (stderr, "tally provision: --max-lifetime is a duration up to 7 days (90m, 2h), not '%s'\n",
                             optarg);
                    return 2;
                }
                break;
            case 'k': o.keys = optarg; break;
            case 'D': o.state_dir = optarg; break;
            case 't': o.itype = optarg; break;
            case 'S': o.spot = true; break;
            case 'p':
                if (atof (optarg) <= 0) {
                    fprintf (stderr, "tally provision: --max-price is dollars per hour, e.g. 0.30, not '%s'\n", optarg);
                    return 2;
                }
                o.max_price = optarg;
                break;
            case 'a': o.ami = optarg; break;
            case 'n': o.subnet = optarg; break;
            case 'g': o.sg = optarg; break;
            case 'K': o.key_name = optarg; break;
            case 'I': o.profile = optarg; break;
            case 'X':
                if (strncmp (optarg, "s3://", 5) != 0 || !optarg [5]) {
                    fprintf (stderr, "tally provision: --stage is s3://BUCKET/PREFIX, not '%s'\n", optarg);
                    return 2;
                }
                o.stage = optarg;
                break;
            case 'd': o.deb = optarg; break;
            case 'U': o.deb_url = optarg; break;
            case 'e': o.endpoint = optarg; break;
            case 'r': o.region = optarg; break;
            case 'H': o.hosts = optarg; break;
            case 'i': o.identity = optarg; break;
            case 'o':
                if (o.n_ssh_opts == S_MAX_SSH_OPTS) {
                    fprintf (stderr, "tally provision: at most %d --ssh-option\n", S_MAX_SSH_OPTS);
                    return 2;
                }
                o.ssh_opts [o.n_ssh_opts++] = optarg;
                break;
            case 'x': o.binary = optarg; break;
            case 'M': {
                /* Words of letters, digits and - _ . , : / = only: they go into shell and
                   /etc/default lines on other machines. */
                size_t len = strlen (optarg);
                if (strspn (optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/= ") != len) {
                    fprintf (stderr, "tally provision: --mapper-args takes plain words (letters, digits, - _ . , : / =)\n");
                    return 2;
                }
                o.margs = optarg;
                char *copy = strdup (optarg);
                for (char *w = strtok (copy, " "); w && o.n_margv < 32; w = strtok (NULL, " "))
                    o.margv [o.n_margv++] = w;
                break;
            }
            case 'R': o.remote_dir = optarg; break;
            case 'v': level = TL_LOG_DEBUG; break;
            case 'q': level = TL_LOG_WARN; break;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc && !o.cmd)
        o.cmd = argv [optind++];
    if (optind < argc) {
        fprintf (stderr, "tally provision: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    tl_log_init ("provision", level);
    if (!o.cmd) {
        s_usage (stderr);
        return 2;
    }
    if (strcmp (o.cmd, "price") == 0)
        return s_price (&o);

    json_t *st = s_state_load (&o);
    tl_err_t e = { 0 };
    if (strcmp (o.cmd, "up") == 0) {
        if (!o.backend || (strcmp (o.backend, "ec2") && strcmp (o.backend, "ssh") && strcmp (o.backend, "local"))) {
            fprintf (stderr, "tally provision up: --backend is ec2, ssh or local\n");
            json_decref (st);
            return 2;
        }
        if (!o.broker) {
            fprintf (stderr, "tally provision up: --broker tcp://HOST:PORT is required (the broker as mappers reach it)\n");
            json_decref (st);
            return 2;
        }
        if (strcmp (o.backend, "ssh") == 0 && !o.hosts) {
            fprintf (stderr, "tally provision up: the ssh backend needs --hosts FILE\n");
            json_decref (st);
            return 2;
        }
        if (st && json_string_value (json_object_get (st, "backend"))) {
            fprintf (stderr, "tally provision up: fleet %s exists (%s); run tally provision down --fleet %s first, "
                             "or pick another --fleet\n", o.fleet, json_string_value (json_object_get (st, "backend")),
                     o.fleet);
            json_decref (st);
            return 2;
        }
        json_decref (st);
        int64_t t0 = tl_now_ms ();
        /* The broker must answer before anything is started. */
        if (s_ping (&o, 5000, &e) < 0) {
            fprintf (stderr, "tally provision: %s; nothing was started\n", e.msg);
            return 1;
        }
        st = json_pack ("{s:s, s:s, s:s, s:I}", "fleet", o.fleet, "backend", o.backend, "broker", o.broker, "created",
                        (json_int_t) time (NULL));
        if (s_state_save (&o, st, &e) != 0) {
            fprintf (stderr, "tally provision: %s\n", e.msg);
            json_decref (st);
            return 1;
        }
        int rc;
        if (strcmp (o.backend, "local") == 0)
            rc = s_local_up (&o, st, t0);
        else if (strcmp (o.backend, "ssh") == 0)
            rc = s_ssh_up (&o, st, t0);
        else
            rc = s_ec2_up (&o, st, t0);
        json_decref (st);
        return rc;
    }
    if (strcmp (o.cmd, "status") != 0 && strcmp (o.cmd, "down") != 0) {
        fprintf (stderr, "tally provision: unknown command '%s' (up, status, down, price)\n", o.cmd);
        json_decref (st);
        return 2;
    }
    const char *backend = st ? json_string_value (json_object_get (st, "backend")) : o.backend;
    if (!backend) {
        char dir [1024], name [256];
        s_state_path (&o, dir, sizeof dir, name, sizeof name);
        fprintf (stderr, "tally provision %s: no fleet '%s' here (no %s/%s); for EC2 pass --backend ec2 to find "
                         "instances by their tag\n", o.cmd, o.fleet, dir, name);
        json_decref (st);
        return 1;
    }
    if (st && !o.broker)
        o.broker = json_string_value (json_object_get (st, "broker"));
    int rc = 0;
    if (strcmp (backend, "ec2") == 0) {
        if (st && !o.endpoint && json_string_value (json_object_get (st, "endpoint")))
            o.endpoint = json_string_value (json_object_get (st, "endpoint"));
        if (st && !o.region && json_string_value (json_object_get (st, "region")))
            o.region = json_string_value (json_object_get (st, "region"));
        tl_ec2_t ec2;
        if (s_ec2_setup (&o, &ec2) != 0) {
            json_decref (st);
            return 1;
        }
        if (strcmp (o.cmd, "status") == 0) {
            s_inst_t *insts = NULL;
            int n = s_ec2_find (&ec2, o.fleet, &insts, &e);
            if (n < 0) {
                fprintf (stderr, "tally provision: %s\n", e.msg);
                rc = 1;
            }
            else
                s_ec2_report (&ec2, insts, n, o.fleet);
            free (insts);
        }
        else {
            rc = s_ec2_down_all (&o, &ec2, st);
            if (s_ec2_unstage (&o, st) != 0)
                rc = 1;
        }
    }
    else if (strcmp (backend, "local") == 0 || strcmp (backend, "ssh") == 0) {
        if (strcmp (o.cmd, "status") == 0) {
            json_t *list = json_object_get (st, strcmp (backend, "ssh") == 0 ? "hosts" : "pids");
            printf ("fleet %s: %s backend, %zu mapper(s) started", o.fleet, backend, json_array_size (list));
            if (o.broker) {
                int have = s_ping (&o, 3000, &e);
                if (have >= 0)
                    printf (", %d connected to %s", have, o.broker);
                else
                    printf (", broker %s not answering", o.broker);
            }
            printf ("; cost: none (%s)\n", strcmp (backend, "ssh") == 0 ? "your machines" : "this machine");
        }
        else
            rc = strcmp (backend, "ssh") == 0 ? s_ssh_down (&o, st) : s_local_down (&o, st);
    }
    else {
        fprintf (stderr, "tally provision: fleet %s has an unknown backend '%s'\n", o.fleet, backend);
        rc = 1;
    }
    if (strcmp (o.cmd, "down") == 0 && st) {
        /* Keep the file while something is left to clean up, so down can be run again. */
        json_t *hosts = json_object_get (st, "hosts");
        if (rc == 0 && !json_object_get (st, "staged") && !json_array_size (hosts))
            s_state_remove (&o);
        else
            s_state_save (&o, st, &e);
    }
    json_decref (st);
    return rc;
}
