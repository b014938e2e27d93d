/*  broker.c — the broker process: listing, task cutting, and the wiring of broker/sched.c to a
    ROUTER (mappers) and a DEALER (reducer).

    The broker hands out no task until the reducer has answered JOB with its applied set, so
    that a task the reducer already holds is never run again. From then on each poll round does
    this: take messages, re-fill the credit of idle mappers from the queue, expire leases, and
    every hb_ms send heartbeats. Every 3 s it re-sends JOB, and the reducer answers with its full
    applied set. That heals lost acks and a reducer that restarted.

    When the queue runs dry and a mapper has an idle slot, the broker asks the runner of the task
    with the most bytes left to cut it (STEAL/CUT); the tail becomes a new task. What cannot be
    cut gets a backup copy near the end (see broker/sched.c).

    With --state-dir, the job (its id, objects and tasks) and every cut are journalled, and
    fsynced before the new task is handed out. A restarted broker replays the journal instead of
    listing again, takes the reducer's applied set as the truth, and re-issues the rest. */
#include "broker/broker.h"
#include "broker/jobrec.h"
#include "lib/core/digest.h"
#include "lib/wire/token.h"
#include "lib/core/query.h"
#include "cli/query_opts.h"
#include "lib/base/metrics.h"
#include "lib/wire/security.h"
#include "lib/base/log.h"
#include "lib/wire/net.h"
#include "broker/sched.h"
#include "lib/store/store.h"
#include "lib/store/expand.h"
#include "lib/core/format.h"
#include "lib/base/util.h"
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/random.h>

#define MAX_INPUTS 100000

typedef struct {
    const char *listen, *reducer_ep, *col;
    char **inputs;          /* --input and the lines of --input-from, as given (owned) */
    int ninputs;
    size_t capinputs;
    bool skip_missing;      /* --skip-missing: an input that is not found is a warning */
    tl_store_cfg_t cfg;
    uint64_t split;
    int64_t hb_ms;
    tl_sched_cfg_t sc;
    const char *state_dir;
    const char *keys;
    const char *metrics;
    tl_qargs_t qa;
    bool quiet;
    bool fresh;             /* --fresh: discard the state dir's old journal */
    double verify_fraction; /* --verify-fraction: re-run this share of tasks elsewhere and compare */
    char *col_text;         /* the query text built from the options (owned) */
} s_opts_t;

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally broker --listen EP --reducer EP --input URI [--input URI ...] --group-by COL [options]\n"
             "\n"
             "Lists the input, cuts it into tasks and hands them to mappers as their slots free up.\n"
             "The job ends when the reducer has applied every task.\n"
             "\n"
             "  --listen EP            where mappers connect (e.g. tcp://*:5555)\n"
             "  --reducer EP           the reducer's --listen address as mappers reach it (tcp://HOST:PORT)\n"
             "  --input URI            s3://bucket/prefix (a glob is allowed in the last segment),\n"
             "                         a local file or folder, file://PATH, or http(s)://URL; repeatable.\n"
             "                         Brace ranges name objects without a listing: x_{2009..2025}-{01..12}.parquet\n"
             "  --input-from FILE      more inputs, one a line ('-': stdin; blank lines and # comments ignored)\n"
             "  --skip-missing         an input that is not found (HTTP 404, no such key or file) is a warning\n"
             "                         counted in the summary, not an error\n"
             TL_QUERY_HELP
             "  --split-size SIZE      cut objects bigger than this into byte ranges (default 64M; 0: never)\n"
             "  --endpoint-url URL     S3 endpoint (path-style); default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL\n"
             "  --region REGION        S3 region; default AWS_REGION, AWS_DEFAULT_REGION, us-east-1\n"
             "  --no-sign-request      anonymous S3 requests (public buckets)\n"
             "  --hb-ms MS             heartbeat interval (default 1000)\n"
             "  --lease-ms MS          a mapper silent this long is lost and its tasks re-issued (default 4000)\n"
             "  --apply-timeout-ms MS  re-issue a finished task the reducer has not applied by then (default 60000)\n"
             "  --max-attempts N       tries per task on retryable errors (default 4)\n"
             "  --min-steal SIZE       cut a running task for an idle mapper only if this much is left (default 16M),\n"
             "                         or a 16th of it if its mapper needs 100 ms or more for the rest\n"
             "  --no-backups           never run backup copies of slow tasks near the end\n"
             "  --state-dir DIR        journal the job here; restart with the same DIR after a crash to carry on\n"
             "  --fresh                discard what --state-dir holds (a finished job, or another job) and start anew\n"
             "  --verify-fraction F    re-run this fraction of tasks (0 to 1, default 0) on another mapper and compare\n"
             "                         the two partials; a difference fails the job and names both mappers\n"
             "  --keys DIR             CURVE keys from tally keygen: authenticate and encrypt every peer\n"
             "  --metrics-listen ADDR  Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9101)\n"
             "  -v, --verbose / -q, --quiet\n"
             "  -h, --help\n");
}

/*  Take the strings of v (n of them) as inputs. */
static int
s_add_inputs (s_opts_t *o, char **v, size_t n, tl_err_t *e)
{
    if ((size_t) o->ninputs + n > MAX_INPUTS) {
        for (size_t i = 0; i < n; i++)
            free (v [i]);
        return tl_err_set (e, TL_EFULL, 0, "at most %d inputs", MAX_INPUTS);
    }
    if ((size_t) o->ninputs + n > o->capinputs) {
        size_t cap = ((size_t) o->ninputs + n) * 2;
        char **nv = realloc (o->inputs, cap * sizeof *nv);
        if (!nv) {
            for (size_t i = 0; i < n; i++)
                free (v [i]);
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        }
        o->inputs = nv;
        o->capinputs = cap;
    }
    for (size_t i = 0; i < n; i++)
        o->inputs [o->ninputs++] = v [i];
    return 0;
}

/*  --input-from FILE ('-': stdin): one URI a line. */
static int
s_input_from (s_opts_t *o, const char *path, tl_err_t *e)
{
    FILE *f = strcmp (path, "-") == 0 ? stdin : fopen (path, "r");
    if (!f)
        return tl_err_set (e, TL_EIO, 0, "%s", strerror (errno));
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    char buf [65536];
    int rc = 0;
    while ((got = fread (buf, 1, sizeof buf, f)) > 0) {
        if (len + got > (64u << 20)) {
            rc = tl_err_set (e, TL_EFULL, 0, "over 64 MiB: not a list of URIs?");
            break;
        }
        if (len + got > cap) {
            cap = (len + got) * 2;
            char *t = realloc (text, cap);
            if (!t) {
                rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
                break;
            }
            text = t;
        }
        memcpy (text + len, buf, got);
        len += got;
    }
    if (!rc && ferror (f))
        rc = tl_err_set (e, TL_EIO, 0, "cannot read: %s", strerror (errno));
    if (f != stdin)
        fclose (f);
    char **v = NULL;
    size_t n = 0;
    if (!rc && (rc = tl_expand_lines (text ? text : "", len, &v, &n, e)) == 0) {
        if (n == 0)
            rc = tl_err_set (e, TL_EINVAL, 0, "no URIs in it");
        else
            rc = s_add_inputs (o, v, n, e);
        free (v);
    }
    else
        tl_expand_free (v, n);
    free (text);
    return rc;
}

static int
s_parse (int argc, char **argv, s_opts_t *o)
{
    static const struct option opts [] = {
        { "listen", required_argument, 0, 'l' },   { "reducer", required_argument, 0, 'r' },
        { "input", required_argument, 0, 'i' },    TL_QUERY_OPTIONS,
        { "input-from", required_argument, 0, 'I' }, { "skip-missing", no_argument, 0, 'K' },
        { "split-size", required_argument, 0, 'S' }, { "endpoint-url", required_argument, 0, 'e' },
        { "region", required_argument, 0, 'R' },   { "no-sign-request", no_argument, 0, 'N' },
        { "hb-ms", required_argument, 0, 'H' },    { "lease-ms", required_argument, 0, 'L' },
        { "apply-timeout-ms", required_argument, 0, 'A' }, { "max-attempts", required_argument, 0, 'M' },
        { "min-steal", required_argument, 0, 'm' }, { "no-backups", no_argument, 0, 'B' },
        { "state-dir", required_argument, 0, 'D' }, { "keys", required_argument, 0, 'k' },
        { "metrics-listen", required_argument, 0, 'P' }, { "fresh", no_argument, 0, 'F' },
        { "verify-fraction", required_argument, 0, 'V' },
        { "verbose", no_argument, 0, 'v' },        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
    };
    int c, level = TL_LOG_INFO;
    uint64_t v;
    tl_err_t qe = { 0 };
    o->split = 64ULL << 20;
    o->hb_ms = 1000;
    optind = 1;
    while ((c = getopt_long (argc, argv, "vqh", opts, NULL)) != -1) {
        switch (c) {
            case 'l': o->listen = optarg; break;
            case 'r': o->reducer_ep = optarg; break;
            case 'i': {
                char *one = strdup (optarg);
                if (!one || s_add_inputs (o, &one, 1, &qe) != 0) {
                    fprintf (stderr, "tally broker: --input '%s': %s\n", optarg, one ? qe.msg : "out of memory");
                    return 2;
                }
                break;
            }
            case 'I':
                if (s_input_from (o, optarg, &qe) != 0) {
                    fprintf (stderr, "tally broker: --input-from %s: %s\n", optarg, qe.msg);
                    return 2;
                }
                break;
            case 'K': o->skip_missing = true; break;
            case TL_QOPT_BY: case TL_QOPT_AGG: case TL_QOPT_WHERE: case TL_QOPT_ALIAS:
                if (tl_qargs_take (&o->qa, c, optarg, &qe) < 0) {
                    fprintf (stderr, "tally broker: %s\n", qe.msg);
                    return 2;
                }
                break;
            case 'S':
                if (tl_parse_size (optarg, &o->split) || (o->split && o->split < 4096)) {
                    fprintf (stderr, "tally broker: --split-size wants a size such as 64M (at least 4K, or 0), not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'e': o->cfg.endpoint = optarg; break;
            case 'R': o->cfg.region = optarg; break;
            case 'N': o->cfg.nosign = true; break;
            case 'H': case 'L': case 'A':
                if (tl_parse_uint (optarg, 10, 3600000, &v)) {
                    fprintf (stderr, "tally broker: --%s wants milliseconds from 10 to 3600000, not '%s'\n",
                             c == 'H' ? "hb-ms" : c == 'L' ? "lease-ms" : "apply-timeout-ms", optarg);
                    return 2;
                }
                if (c == 'H') o->hb_ms = (int64_t) v;
                if (c == 'L') o->sc.lease_ms = (int64_t) v;
                if (c == 'A') o->sc.apply_timeout_ms = (int64_t) v;
                break;
            case 'M':
                if (tl_parse_uint (optarg, 1, 100, &v)) {
                    fprintf (stderr, "tally broker: --max-attempts wants 1 to 100, not '%s'\n", optarg);
                    return 2;
                }
                o->sc.max_attempts = (uint32_t) v;
                break;
            case 'm':
                if (tl_parse_size (optarg, &o->sc.min_steal) || o->sc.min_steal < 4096) {
                    fprintf (stderr, "tally broker: --min-steal wants a size of at least 4K, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'B': o->sc.no_backups = true; break;
            case 'D': o->state_dir = optarg; break;
            case 'F': o->fresh = true; break;
            case 'V': {
                char *end = NULL;
                o->verify_fraction = strtod (optarg, &end);
                if (!end || *end || !(o->verify_fraction >= 0 && o->verify_fraction <= 1)) {
                    fprintf (stderr, "tally broker: --verify-fraction wants a number from 0 to 1, not '%s'\n", optarg);
                    return 2;
                }
                break;
            }
            case 'k': o->keys = optarg; break;
            case 'P': o->metrics = optarg; break;
            case 'v': level = TL_LOG_DEBUG; break;
            case 'q': level = TL_LOG_WARN; o->quiet = true; break;
            case 'h': s_usage (stdout); return 1;
            default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tally broker: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    if (o->fresh && !o->state_dir) {
        fprintf (stderr, "tally broker: --fresh discards a --state-dir, and none is given\n");
        return 2;
    }
    if (!o->listen || !o->reducer_ep || !o->ninputs || !o->qa.nby) {
        fprintf (stderr, "tally broker: --listen, --reducer, --input and --group-by are required (see --help)\n");
        return 2;
    }
    char *text = NULL;
    if (tl_qargs_build (&o->qa, &text, &qe) != 0) {
        fprintf (stderr, "tally broker: %s\n", qe.msg);
        return 2;
    }
    o->col = o->col_text = text;    /* freed at the end of tl_broker_main */
    if (!o->sc.lease_ms)
        o->sc.lease_ms = 4 * o->hb_ms;
    tl_log_init ("broker", level);
    return 0;
}

static int
s_objcmp (const void *a, const void *b)
{
    return strcmp (((const tl_object_t *) a)->uri, ((const tl_object_t *) b)->uri);
}

/*  One verification: task `task` re-run by a mapper other than the one whose partial was applied. */
typedef struct {
    uint64_t task;
    size_t next_mapper;     /* round robin over live mappers */
    int tries;
    bool sent, settled;
    int64_t sent_at;
} s_verify_t;

typedef struct {
    s_opts_t o;
    char job [TL_STR_MAX + 1];
    tl_objlist_t objs;
    const tl_format_t **fmts;   /* per object: what a probe of it found */
    size_t missing;         /* inputs not found, left out under --skip-missing */
    size_t nparquet;        /* objects that are Parquet */
    tl_sched_t *sched;
    zsock_t *router, *reducer;
    bool synced;
    uint64_t bytes_total;
    tl_journal_t *journal;
    tl_jobrec_t jr;         /* the job's identity: fingerprint, token key (journalled) */
    char reducer_instance [TL_STR_MAX + 1];
    bool resumed;
    zhash_t *seen;          /* failure messages already logged (tl_seen_before) */
    char fatal [TL_STR_MAX];    /* set when the job must stop: a refusal, a journal that cannot be written */
    char stalled [TL_STR_MAX];  /* the reducer's reason for holding back acks, "" when it does not */
    int64_t stalled_at, stalled_logged;
    s_verify_t *verify;     /* --verify-fraction: the copies to run at the end */
    size_t nverify, verify_left;
    uint64_t verified, unverified;
} s_broker_t;

/*  The definition: what the user asked for. The fingerprint adds the inputs as listed, so two
    jobs with the same flags over changed objects differ too. */
static void
s_fingerprints (s_broker_t *b)
{
    tl_digest_t *d = tl_digest_new ();
    if (!d)
        return;
    tl_digest_str (d, "tally-job-1");       /* the split rules' version: the line rule, --split-size cuts */
    tl_digest_u64 (d, (uint64_t) b->o.ninputs);
    for (int i = 0; i < b->o.ninputs; i++)
        tl_digest_str (d, b->o.inputs [i]);
    tl_digest_str (d, b->o.col);
    tl_digest_u64 (d, b->o.split);
    tl_digest_hex (d, b->jr.definition);
    tl_digest_destroy (&d);
    if (!(d = tl_digest_new ()))
        return;
    tl_digest_str (d, b->jr.definition);
    tl_digest_u64 (d, b->objs.n);
    for (size_t i = 0; i < b->objs.n; i++) {
        tl_digest_str (d, b->objs.v [i].uri);
        tl_digest_u64 (d, b->objs.v [i].size);
        tl_digest_str (d, b->objs.v [i].etag);
        tl_digest_u64 (d, (uint64_t) b->objs.v [i].mtime_ns);
    }
    tl_digest_hex (d, b->jr.fingerprint);
    tl_digest_destroy (&d);
}

/*  The digest of the task list as it stands: count, then every task's id and length. The
    reducer computes the same over what it applied. */
static void
s_task_digest (s_broker_t *b, char out [TL_DIGEST_HEX + 1])
{
    tl_digest_t *d = tl_digest_new ();
    uint64_t n = tl_sched_stats (b->sched).tasks;
    *out = 0;
    if (!d)
        return;
    tl_digest_u64 (d, n);
    for (uint64_t i = 0; i < n; i++) {
        tl_digest_u64 (d, i);
        tl_digest_u64 (d, tl_sched_task (b->sched, i)->length);
    }
    tl_digest_hex (d, out);
    tl_digest_destroy (&d);
}

static void
s_send_task (s_broker_t *b, int m, const tl_task_t *t, uint32_t attempt)
{
    const tl_mapper_t *mp = tl_sched_mapper (b->sched, m);
    const tl_object_t *obj = &b->objs.v [t->object];
    tl_token_claim_t claim = { .job = b->job, .task = t->id, .attempt = attempt, .mapper = mp->name,
                               .offset = t->offset };
    char token [TL_TOKEN_HEX + 1];
    tl_token_make (b->jr.key, &claim, token);
    tl_msg_t msg = {
        .type = TL_MSG_TASK, .job = b->job, .task = t->id, .attempt = attempt, .uri = obj->uri,
        .offset = t->offset, .length = t->length, .size = obj->size, .col = b->o.col,
        .endpoint = b->o.cfg.endpoint ? b->o.cfg.endpoint : "", .nosign = b->o.cfg.nosign,
        .region = b->o.cfg.region ? b->o.cfg.region : "", .token = token,
        .etag = obj->etag ? obj->etag : "", .mtime = (uint64_t) obj->mtime_ns,
        .format = b->fmts && b->fmts [t->object] ? b->fmts [t->object]->name : "",
    };
    if (tl_send (b->router, mp->key, mp->keylen, &msg, true) != 0)
        tl_debug ("task %llu to %s not sent (%s); its lease will lapse", (unsigned long long) t->id, mp->name,
                  zmq_strerror (zmq_errno ()));
}

static void
s_send_job (s_broker_t *b)
{
    char key [2 * TL_TOKEN_KEY_LEN + 1];
    tl_token_key_hex (b->jr.key, key);
    tl_msg_t m = { .type = TL_MSG_JOB, .job = b->job, .col = b->o.col,
                   .tasks = tl_sched_stats (b->sched).tasks, .bytes = b->bytes_total,
                   .fingerprint = b->jr.fingerprint, .key = key };
    tl_send (b->reducer, NULL, 0, &m, true);
}

static void
s_to_mapper (s_broker_t *b, const void *ident, size_t identlen, tl_msg_type_t type)
{
    tl_msg_t m = { .type = type, .job = b->job, .ok = true };
    tl_send (b->router, ident, identlen, &m, true);
}

static void
s_pong (s_broker_t *b, const char *ident, size_t identlen, const char *fleet)
{
    size_t n = tl_sched_mapper_count (b->sched), k = 0, flen = fleet ? strlen (fleet) : 0;
    tl_mapper_stat_t *ms = calloc (n ? n : 1, sizeof *ms);
    if (!ms)
        return;
    for (size_t i = 0; i < n; i++) {
        const tl_mapper_t *mp = tl_sched_mapper (b->sched, (int) i);
        if (!mp->alive || (flen && !(strncmp (mp->name, fleet, flen) == 0 && mp->name [flen] == '/')))
            continue;
        ms [k++] = (tl_mapper_stat_t) { .name = mp->name, .tasks = mp->done };
    }
    tl_sched_stats_t st = tl_sched_stats (b->sched);
    tl_msg_t p = { .type = TL_MSG_PONG, .job = b->job, .tasks_done = st.applied, .tasks_total = st.tasks,
                   .mappers = ms, .n_mappers = k };
    tl_send (b->router, ident, identlen, &p, true);
    free (ms);
}

/* ---------------------------------------------------------------- verification copies */

/*  Attempt numbers of verification copies start here, far above any real attempt. */
#define VERIFY_ATTEMPT 1000000u
#define VERIFY_TIMEOUT_MS 30000

/*  Is task id one to verify? A hash of the job and the id, so the choice is the same after a
    restart and cannot be steered by a mapper. */
static bool
s_chosen (const s_broker_t *b, uint64_t id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = b->job; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    h ^= id * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return (double) (h >> 11) / 9007199254740992.0 < b->o.verify_fraction;
}

static void
s_verify_settle (s_broker_t *b, s_verify_t *v, bool verified, const char *why)
{
    if (v->settled)
        return;
    v->settled = true;
    b->verify_left--;
    if (verified)
        b->verified++;
    else {
        b->unverified++;
        tl_warn ("task %llu not verified: %s", (unsigned long long) v->task, why);
    }
}

/*  Send v to the next live mapper in turn. */
static void
s_verify_send (s_broker_t *b, s_verify_t *v, int64_t now)
{
    size_t n = tl_sched_mapper_count (b->sched);
    if (v->tries >= (int) (n < 8 ? n : 8)) {
        s_verify_settle (b, v, false, "no other mapper could run a copy");
        return;
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = (v->next_mapper + k) % n;
        const tl_mapper_t *mp = tl_sched_mapper (b->sched, (int) i);
        if (!mp->alive)
            continue;
        const tl_task_t *t = tl_sched_task (b->sched, v->task);
        const tl_object_t *obj = &b->objs.v [t->object];
        uint32_t attempt = VERIFY_ATTEMPT + (uint32_t) v->tries;
        tl_token_claim_t claim = { .job = b->job, .task = t->id, .attempt = attempt, .mapper = mp->name,
                                   .offset = t->offset, .verify = t->id + 1 };
        char token [TL_TOKEN_HEX + 1];
        tl_token_make (b->jr.key, &claim, token);
        tl_msg_t msg = {
            .type = TL_MSG_TASK, .job = b->job, .task = t->id, .attempt = attempt, .uri = obj->uri,
            .offset = t->offset, .length = t->length, .size = obj->size, .col = b->o.col,
            .endpoint = b->o.cfg.endpoint ? b->o.cfg.endpoint : "", .nosign = b->o.cfg.nosign,
            .region = b->o.cfg.region ? b->o.cfg.region : "", .token = token,
            .etag = obj->etag ? obj->etag : "", .mtime = (uint64_t) obj->mtime_ns, .verify = t->id + 1,
            .format = b->fmts && b->fmts [t->object] ? b->fmts [t->object]->name : "",
        };
        tl_send (b->router, mp->key, mp->keylen, &msg, true);
        v->next_mapper = i + 1;
        v->tries++;
        v->sent = true;
        v->sent_at = now;
        return;
    }
    s_verify_settle (b, v, false, "no live mapper");
}

/*  All tasks are applied: choose the copies and send them out. */
static void
s_verify_start (s_broker_t *b, int64_t now)
{
    uint64_t n = tl_sched_stats (b->sched).tasks;
    size_t k = 0;
    for (uint64_t i = 0; i < n; i++)
        k += s_chosen (b, i);
    b->verify = calloc (k ? k : 1, sizeof *b->verify);
    if (!b->verify) {
        snprintf (b->fatal, sizeof b->fatal, "out of memory for --verify-fraction");
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        if (s_chosen (b, i))
            b->verify [b->nverify++] = (s_verify_t) { .task = i, .next_mapper = (size_t) i };
    b->verify_left = b->nverify;
    tl_info ("verifying %zu of %llu task(s) on other mappers (--verify-fraction %g)", b->nverify,
             (unsigned long long) n, b->o.verify_fraction);
    for (size_t i = 0; i < b->nverify; i++)
        s_verify_send (b, &b->verify [i], now);
}

static s_verify_t *
s_verify_find (s_broker_t *b, uint64_t task)
{
    for (size_t i = 0; i < b->nverify; i++)
        if (b->verify [i].task == task)
            return &b->verify [i];
    return NULL;
}

/*  The reducer compared a copy with the applied partial. */
static void
s_on_verified (s_broker_t *b, const tl_msg_t *m, int64_t now)
{
    s_verify_t *v = s_verify_find (b, m->task);
    if (!v || v->settled)
        return;
    if (m->ok && !m->retry) {
        tl_debug ("task %llu verified: %s and %s agree", (unsigned long long) m->task, m->mapper, m->name);
        s_verify_settle (b, v, true, NULL);
    }
    else if (m->ok)
        s_verify_send (b, v, now);      /* the copy ran where the original did: proves nothing */
    else if (m->retry)
        s_verify_settle (b, v, false, m->error);
    else {
        s_verify_settle (b, v, false, m->error);
        snprintf (b->fatal, sizeof b->fatal, "verification failed: %s", m->error);
    }
}

static void
s_verify_tick (s_broker_t *b, int64_t now)
{
    for (size_t i = 0; i < b->nverify; i++) {
        s_verify_t *v = &b->verify [i];
        if (!v->settled && v->sent && now - v->sent_at > VERIFY_TIMEOUT_MS)
            s_verify_send (b, v, now);
    }
}

/*  The reducer says it holds acks back (its checkpoint cannot be written): say so, rarely. */
static void
s_on_stalled (s_broker_t *b, const char *why, int64_t now)
{
    if (!why || !*why) {
        if (*b->stalled)
            tl_info ("the reducer acknowledges again");
        *b->stalled = 0;
        return;
    }
    if (!*b->stalled)
        b->stalled_at = now;
    snprintf (b->stalled, sizeof b->stalled, "%s", why);
    if (now - b->stalled_logged >= 5000) {
        tl_warn ("the reducer is not acknowledging applied tasks because its checkpoint fails: %s", why);
        b->stalled_logged = now;
    }
}

static void
s_on_mapper (s_broker_t *b, const char *ident, size_t identlen, const tl_msg_t *m, int64_t now)
{
    if (m->type == TL_MSG_PING) {
        /* `tally provision` asks who is here: the live mappers of one fleet (or all). */
        s_pong (b, ident, identlen, m->fleet);
        return;
    }
    int idx = tl_sched_find (b->sched, ident, identlen);
    if (m->type == TL_MSG_HELLO) {
        char name [128];
        if (m->fleet && *m->fleet)
            snprintf (name, sizeof name, "%s/%s", m->fleet, m->name);
        else
            snprintf (name, sizeof name, "%s", m->name);
        idx = tl_sched_join (b->sched, ident, identlen, name, (uint32_t) (m->slots > 4096 ? 0 : m->slots), now);
        if (idx < 0) {
            tl_err_t e;
            tl_err_set (&e, TL_EPROTO, 0, "hello with %llu slots refused", (unsigned long long) m->slots);
            tl_badmsg ("a mapper", &e);
            return;
        }
        tl_msg_t w = { .type = TL_MSG_WELCOME, .job = b->job, .reducer = b->o.reducer_ep, .hb_ms = (uint64_t) b->o.hb_ms,
                       .name = tl_sched_mapper (b->sched, idx)->name };
        tl_send (b->router, ident, identlen, &w, true);
        return;
    }
    if (idx < 0) {
        /* A stranger, or a mapper whose lease lapsed: it must say hello again. */
        if (m->type != TL_MSG_BYE)
            s_to_mapper (b, ident, identlen, TL_MSG_RESET);
        return;
    }
    tl_sched_seen (b->sched, idx, now);
    switch (m->type) {
        case TL_MSG_HB:
            for (size_t i = 0; i < m->n_running; i++)
                tl_sched_progress (b->sched, idx, m->running [i].task, (uint32_t) m->running [i].attempt,
                                   m->running [i].bytes_done);
            break;
        case TL_MSG_DONE:
            tl_sched_done (b->sched, idx, m->task, (uint32_t) m->attempt, now);
            break;
        case TL_MSG_FAIL:
            if (m->attempt >= VERIFY_ATTEMPT) {
                s_verify_t *v = s_verify_find (b, m->task);
                if (v && !v->settled)
                    s_verify_send (b, v, now);
                break;
            }
            tl_log (tl_seen_before (b->seen, m->error) ? TL_LOG_DEBUG : TL_LOG_WARN, "task %llu failed on %s: %s%s",
                    (unsigned long long) m->task, tl_sched_mapper (b->sched, idx)->name, m->error,
                    m->retry ? " (will retry)" : "");
            tl_sched_fail (b->sched, idx, m->task, (uint32_t) m->attempt, m->retry, m->error, now);
            break;
        case TL_MSG_BYE:
            tl_sched_leave (b->sched, idx);
            break;
        case TL_MSG_CUT:
            tl_sched_cut (b->sched, idx, m->task, (uint32_t) m->attempt, m->cut, m->returned, now);
            break;
        default:
            tl_badmsg_unexpected ("a mapper", m->type);
    }
}

static void
s_events (s_broker_t *b)
{
    tl_sched_ev_t ev;
    while (tl_sched_event (b->sched, &ev)) {
        const tl_mapper_t *mp = tl_sched_mapper (b->sched, ev.mapper);
        const char *name = mp ? mp->name : "-";
        tl_sched_stats_t st = tl_sched_stats (b->sched);
        switch (ev.type) {
            case TL_EV_JOINED:
                tl_info ("mapper %s joined with %u slots (%llu mappers; %llu/%llu tasks applied)", name, (unsigned) ev.n,
                         (unsigned long long) st.mappers_alive, (unsigned long long) st.applied,
                         (unsigned long long) st.tasks);
                break;
            case TL_EV_LOST:
                tl_warn ("mapper %s lost (silent past its lease): %u task(s) re-queued", name, (unsigned) ev.n);
                break;
            case TL_EV_LEFT:
                tl_info ("mapper %s left: %u task(s) re-queued", name, (unsigned) ev.n);
                break;
            case TL_EV_REQUEUED:
                tl_info ("task %llu re-queued", (unsigned long long) ev.task);
                break;
            case TL_EV_FAILED: {
                const tl_task_t *t = tl_sched_task (b->sched, ev.task);
                char key [TL_STR_MAX + 16];
                snprintf (key, sizeof key, "for good: %s", t->error);
                tl_log (tl_seen_before (b->seen, key) ? TL_LOG_DEBUG : TL_LOG_ERROR,
                        "task %llu (%s) failed for good after %u attempt(s): %s", (unsigned long long) ev.task,
                        b->objs.v [t->object].uri, t->failures, t->error);
                break;
            }
            case TL_EV_CANCEL:
                if (mp) {
                    tl_msg_t m = { .type = TL_MSG_CANCEL, .task = ev.task };
                    tl_send (b->router, mp->key, mp->keylen, &m, true);
                }
                break;
            case TL_EV_SPLIT: {
                const tl_task_t *t = tl_sched_task (b->sched, ev.task), *tail = tl_sched_task (b->sched, ev.n);
                /* Durable before the tail is handed out, so a restart cannot reuse its id. */
                if (b->journal) {
                    tl_err_t e = { 0 };
                    if (tl_jobrec_put_cut (b->journal, t, tail) != 0 || tl_journal_sync (b->journal, &e) != 0) {
                        /* The tail must not go out unrecorded: stop the job, loudly. */
                        snprintf (b->fatal, sizeof b->fatal, "cannot record a cut in the journal: %s",
                                  *e.msg ? e.msg : "out of memory");
                        return;
                    }
                }
                if (ev.mapper >= 0)
                    tl_info ("steal: task %llu cut at byte %llu of %s; tail is task %llu (%llu bytes)",
                             (unsigned long long) t->id, (unsigned long long) (t->offset + t->length),
                             b->objs.v [t->object].uri, (unsigned long long) tail->id,
                             (unsigned long long) tail->length);
                else
                    tl_info ("task %llu was applied for its first %llu bytes only; the rest is task %llu",
                             (unsigned long long) t->id, (unsigned long long) t->length,
                             (unsigned long long) tail->id);
                s_send_job (b);
                break;
            }
            case TL_EV_BACKUP:
                tl_info ("backup: a second copy of task %llu (%s) goes to %s", (unsigned long long) ev.task,
                         b->objs.v [tl_sched_task (b->sched, ev.task)->object].uri, name);
                break;
        }
    }
}

/*  Is this an S3 key named in full (no glob, not a "folder")? Listing it as a prefix and
    finding nothing is S3's way of saying 404. */
static bool
s_s3_exact (const char *uri)
{
    size_t n = strlen (uri);
    const char *key = strncmp (uri, "s3://", 5) == 0 ? strchr (uri + 5, '/') : NULL;
    return key && key [1] && uri [n - 1] != '/' && !strpbrk (key, "*?[");
}

/*  One URI of an input: listed, or a not-found counted (--skip-missing). */
static int
s_list_one (s_broker_t *b, const char *uri)
{
    tl_err_t e = { 0 };
    size_t before = b->objs.n, empties = b->objs.skipped_empty;
    int rc = tl_store_list (&b->o.cfg, uri, &b->objs, &e);
    if (rc == 0 && b->objs.n == before && b->objs.skipped_empty == empties && s_s3_exact (uri))
        rc = tl_err_set (&e, TL_ENOTFOUND, 0, "%s: not found (no object or prefix of that name; no objects to count)",
                         uri);
    if (rc == TL_ENOTFOUND && b->o.skip_missing) {
        tl_warn ("%s is missing: left out (--skip-missing): %s", uri, e.msg);
        b->missing++;
        return 0;
    }
    if (rc) {
        if (strstr (e.msg, uri))
            tl_error ("cannot list: %s", e.msg);
        else
            tl_error ("cannot list %s: %s", uri, e.msg);
        return -1;
    }
    tl_debug ("%s: %zu object(s)", uri, b->objs.n - before);
    return 0;
}

static int
s_list_inputs (s_broker_t *b)
{
    for (int i = 0; i < b->o.ninputs; i++) {
        tl_err_t e = { 0 };
        size_t before = b->objs.n;
        char **uris = NULL;
        size_t n = 0;
        if (tl_expand (b->o.inputs [i], 0, &uris, &n, &e) != 0) {
            tl_error ("--input %s: %s", b->o.inputs [i], e.msg);
            return -1;
        }
        int rc = 0;
        for (size_t k = 0; k < n && rc == 0; k++)
            rc = s_list_one (b, uris [k]);
        tl_expand_free (uris, n);
        if (rc)
            return -1;
        tl_info ("%s: %zu object(s)%s", b->o.inputs [i], b->objs.n - before, n > 1 ? " (brace ranges)" : "");
    }
    if (b->objs.skipped_empty)
        tl_info ("left out %zu empty object(s) (such as S3 \"folder\" markers)", b->objs.skipped_empty);
    if (b->missing)
        tl_warn ("%zu input(s) not found and left out (--skip-missing)", b->missing);
    /* Overlapping inputs must not count an object twice. */
    if (b->objs.n)
        qsort (b->objs.v, b->objs.n, sizeof *b->objs.v, s_objcmp);
    size_t w = 0;
    for (size_t i = 0; i < b->objs.n; i++) {
        if (w && strcmp (b->objs.v [w - 1].uri, b->objs.v [i].uri) == 0) {
            tl_warn ("%s is listed by more than one --input: counted once", b->objs.v [i].uri);
            free (b->objs.v [i].uri);
            free (b->objs.v [i].etag);
            continue;
        }
        b->objs.v [w++] = b->objs.v [i];
    }
    b->objs.n = w;
    if (!b->objs.n) {
        tl_error ("no objects to count: the inputs are empty or match nothing");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- probing and planning */

/*  One object's probe: its tail (the footer, for Parquet) and first bytes decide its format;
    with plan set, the format then cuts it into tasks. */
typedef struct {
    const tl_object_t *obj;
    const tl_store_cfg_t *cfg;
    const tl_format_plan_opts_t *po;
    bool plan;
    const tl_format_t *fmt;
    tl_format_task_t *tasks;
    size_t ntasks;
    char note [512];
    tl_err_t e;
    int rc;
} s_probe_t;

typedef struct {
    char *p;
    size_t len, want;
} s_pbuf_t;

static int
s_pbuf_sink (void *arg, const char *buf, size_t len)
{
    s_pbuf_t *b = arg;
    if (len > b->want - b->len)
        return TL_EPROTO;
    memcpy (b->p + b->len, buf, len);
    b->len += len;
    return 0;
}

/*  Bytes [off, off+len) of the object, pinned to the listed version. */
static int
s_read_range (s_probe_t *p, uint64_t off, uint64_t len, s_pbuf_t *buf)
{
    tl_store_cfg_t cfg = *p->cfg;
    cfg.size_hint = p->obj->size;
    cfg.if_match = p->obj->etag;
    cfg.expect_mtime_ns = p->obj->mtime_ns;
    buf->len = 0;
    buf->want = (size_t) len;
    if (!(buf->p = malloc (len ? len : 1)))
        return tl_err_set (&p->e, TL_ENOMEM, 0, "out of memory");
    tl_read_stats_t rs = { 0 };
    int rc = tl_store_read (&cfg, p->obj->uri, off, len, s_pbuf_sink, buf, NULL, &rs, &p->e);
    if (!rc && buf->len != len)
        rc = tl_err_set (&p->e, TL_ECHANGED, 0, "%s: %zu bytes at %llu where %llu were asked for", p->obj->uri,
                         buf->len, (unsigned long long) off, (unsigned long long) len);
    return rc;
}

static void
s_probe_one (s_probe_t *p)
{
    uint64_t size = p->obj->size, n = size < TL_FORMAT_TAIL ? size : TL_FORMAT_TAIL;
    s_pbuf_t tail = { 0 }, head = { 0 }, more = { 0 };
    tl_format_probe_t fp = { .uri = p->obj->uri, .size = size };
    p->fmt = &tl_format_csv;
    if ((p->rc = s_read_range (p, size - n, n, &tail)) != 0)
        goto done;
    fp.tail = (const uint8_t *) tail.p;
    fp.ntail = tail.len;
    if (n >= 4 && memcmp (tail.p + n - 4, "PAR1", 4) == 0) {
        if (n == size)
            fp.head = fp.tail, fp.nhead = fp.ntail;
        else if ((p->rc = s_read_range (p, 0, 4, &head)) != 0)
            goto done;
        else
            fp.head = (const uint8_t *) head.p, fp.nhead = head.len;
    }
    p->fmt = tl_format_detect (&fp);
    if (!p->plan)
        goto done;
    uint64_t want = p->fmt->tail_needed (&fp);
    if (want > fp.ntail) {
        if ((p->rc = s_read_range (p, size - want, want, &more)) != 0)
            goto done;
        fp.tail = (const uint8_t *) more.p;
        fp.ntail = more.len;
    }
    if (p->fmt->plan (&fp, p->po, &p->tasks, &p->ntasks, p->note, sizeof p->note) != 0)
        p->rc = tl_err_set (&p->e, TL_ENOMEM, 0, "out of memory");
done:
    free (tail.p);
    free (head.p);
    free (more.p);
}

typedef struct {
    s_probe_t *v;
    size_t n;
    _Atomic size_t next;
} s_pool_t;

static void *
s_probe_worker (void *arg)
{
    s_pool_t *pool = arg;
    size_t i;
    while ((i = atomic_fetch_add (&pool->next, 1)) < pool->n)
        s_probe_one (&pool->v [i]);
    return NULL;
}

/*  Probe every object (16 at a time: each is a round trip or two) and, with plan, cut them
    into tasks. Objects not found are left out under --skip-missing. Returns 0 or -1 (logged). */
static int
s_probe_all (s_broker_t *b, bool plan)
{
    size_t n = b->objs.n;
    s_probe_t *v = calloc (n + 1, sizeof *v);
    b->fmts = calloc (n + 1, sizeof *b->fmts);
    if (!v || !b->fmts) {
        free (v);
        tl_error ("out of memory");
        return -1;
    }
    tl_format_plan_opts_t po = { .split = b->o.split, .query = b->o.col };
    for (size_t i = 0; i < n; i++)
        v [i] = (s_probe_t) { .obj = &b->objs.v [i], .cfg = &b->o.cfg, .po = &po, .plan = plan };
    s_pool_t pool = { v, n, 0 };
    pthread_t th [16];
    size_t nth = n < 16 ? n : 16, started = 0;
    for (size_t i = 1; i < nth; i++)
        started += pthread_create (&th [started], NULL, s_probe_worker, &pool) == 0;
    s_probe_worker (&pool);
    for (size_t i = 0; i < started; i++)
        pthread_join (th [i], NULL);
    int rc = 0;
    size_t w = 0, unprobed = 0;
    for (size_t i = 0; i < n; i++) {
        s_probe_t *p = &v [i];
        if (p->rc == TL_ENOTFOUND && b->o.skip_missing && plan) {
            tl_warn ("%s is missing: left out (--skip-missing): %s", b->objs.v [i].uri, p->e.msg);
            b->missing++;
            free (b->objs.v [i].uri);
            free (b->objs.v [i].etag);
            free (p->tasks);
            continue;
        }
        if (p->rc && plan) {
            /* The probe only plans: the object becomes one task of its whole, and its mapper
               (which may have rights the broker lacks) probes it, or fails naming it. */
            tl_log (unprobed++ ? TL_LOG_DEBUG : TL_LOG_WARN, "cannot read %s to learn its format (%s): it becomes "
                    "one task, and its mapper looks at it", b->objs.v [i].uri, p->e.msg);
            free (p->tasks);
            if (!(p->tasks = calloc (1, sizeof *p->tasks))) {
                tl_error ("out of memory");
                rc = -1;
            }
            else {
                p->tasks [0] = (tl_format_task_t) { 0, b->objs.v [i].size, false };
                p->ntasks = 1;
            }
            p->fmt = NULL;
        }
        else if (p->rc)     /* a resumed job: its tasks are planned already; the mapper probes */
            p->fmt = NULL;
        if (p->fmt == &tl_format_parquet) {
            b->nparquet++;
            if (plan)
                tl_info ("%s: Parquet, %s", b->objs.v [i].uri, p->note);
        }
        b->fmts [w] = p->fmt;
        v [w] = *p;
        b->objs.v [w++] = b->objs.v [i];
    }
    b->objs.n = w;
    if (unprobed > 1)
        tl_warn ("%zu object(s) could not be read to learn their format; each is one task", unprobed);
    if (!rc && plan && !w) {
        tl_error ("no objects to count: every input is missing");
        rc = -1;
    }
    for (size_t i = 0; i < w && plan && !rc; i++)
        for (size_t k = 0; k < v [i].ntasks; k++) {
            b->bytes_total += k == 0 ? b->objs.v [i].size : 0;
            tl_sched_add (b->sched, (uint32_t) i, v [i].tasks [k].offset, v [i].tasks [k].length,
                          v [i].tasks [k].splittable);
        }
    for (size_t i = 0; i < w; i++)
        free (v [i].tasks);
    free (v);
    return rc;
}

int
tl_broker_main (int argc, char **argv)
{
    s_broker_t b = { 0 };
    tl_security_t *sec = NULL;
    tl_metrics_t *met = NULL;
    int prc = s_parse (argc, argv, &b.o);
    if (prc)
        return prc == 1 ? 0 : prc;
    tl_store_cfg_from_env (&b.o.cfg);
    int rc = 1;
    tl_random_id (b.job);
    b.sched = tl_sched_new (&b.o.sc);
    b.seen = zhash_new ();
    long replayed = 0;
    if (getrandom (b.jr.key, sizeof b.jr.key, 0) != (ssize_t) sizeof b.jr.key) {
        tl_error ("cannot draw the job's token key from the kernel");
        goto done;
    }
    if (b.o.state_dir) {
        tl_err_t e = { 0 };
        if (!(b.journal = tl_journal_open (b.o.state_dir, "broker.journal", &e))) {
            tl_error ("--state-dir: %s", e.msg);
            goto done;
        }
        if (b.o.fresh) {
            if (tl_journal_reset (b.journal, &e) != 0) {
                tl_error ("--fresh: %s", e.msg);
                goto done;
            }
            tl_info ("--fresh: discarded the journal in %s", b.o.state_dir);
        }
        tl_jobrec_t jr = { 0 };
        replayed = tl_jobrec_replay (b.journal, &jr, &b.objs, b.sched, &e);
        if (replayed < 0) {
            tl_error ("cannot resume from %s: %s", b.o.state_dir, e.msg);
            goto done;
        }
        if (replayed > 0) {
            s_fingerprints (&b);    /* the definition of this invocation, to compare */
            if (jr.ended) {
                tl_error ("%s holds job %s, which has finished (%s): use a new --state-dir, or --fresh to discard it",
                          b.o.state_dir, jr.id, jr.ended_ok ? "ok" : "failed");
                goto done;
            }
            if (strcmp (jr.definition, b.jr.definition) != 0) {
                tl_error ("%s holds job %s, which is another job (other --input, query or --split-size: it groups "
                          "by '%s'): use a new --state-dir, or --fresh to discard it", b.o.state_dir, jr.id,
                          strchr (jr.col, '\n') ? "a query" : jr.col);
                goto done;
            }
            b.jr = jr;
            snprintf (b.job, sizeof b.job, "%s", jr.id);
            b.bytes_total = jr.bytes_total;
        }
    }
    if (replayed > 0) {
        b.resumed = true;
        /* The journal holds the tasks, not the formats: probe again (a round trip each). */
        if (s_probe_all (&b, false) != 0)
            goto done;
        tl_sched_all_zombie (b.sched);
        tl_info ("resumed job %s from %s: %zu object(s), %llu task(s); inputs are not listed again", b.job,
                 b.o.state_dir, b.objs.n, (unsigned long long) tl_sched_stats (b.sched).tasks);
    }
    else {
        if (s_list_inputs (&b) != 0 || s_probe_all (&b, true) != 0)
            goto done;
        s_fingerprints (&b);
        snprintf (b.jr.id, sizeof b.jr.id, "%s", b.job);
        snprintf (b.jr.col, sizeof b.jr.col, "%s", b.o.col);
        b.jr.bytes_total = b.bytes_total;
        b.jr.split = b.o.split;
        if (b.journal) {
            tl_err_t e = { 0 };
            if (tl_jobrec_put_job (b.journal, &b.jr, &b.objs, b.sched) != 0 || tl_journal_sync (b.journal, &e) != 0) {
                tl_error ("cannot write the journal: %s", *e.msg ? e.msg : "out of memory");
                goto done;
            }
        }
    }
    tl_info ("job %s: %zu object(s) (%zu Parquet), %llu bytes, %llu task(s), group by '%s'", b.job, b.objs.n,
             b.nparquet, (unsigned long long) b.bytes_total, (unsigned long long) tl_sched_stats (b.sched).tasks,
             b.o.col);
    b.router = tl_sock_new (ZMQ_ROUTER, 1 << 20);
    b.reducer = tl_sock_new (ZMQ_DEALER, 64 << 20);
    if (!b.router || !b.reducer)
        goto done;
    tl_err_t se;
    sec = tl_security_new (b.o.keys, true, &se);
    if (b.o.keys && !sec) {
        tl_error ("%s", se.msg);
        goto done;
    }
    tl_security_server (sec, b.router, "listen", &se);
    tl_security_client (sec, b.reducer, &se);
    if (b.o.metrics && !(met = tl_metrics_new (b.o.metrics, "broker", &se))) {
        tl_error ("%s", se.msg);
        goto done;
    }
    if (zsock_bind (b.router, "%s", b.o.listen) < 0) {
        tl_error ("cannot listen on %s: %s", b.o.listen, zmq_strerror (zmq_errno ()));
        goto done;
    }
    if (tl_sock_connect (b.reducer, b.o.reducer_ep) < 0) {
        tl_error ("cannot connect to reducer %s: %s", b.o.reducer_ep, zmq_strerror (zmq_errno ()));
        goto done;
    }
    /* ipc:// endpoints are guarded by file permissions (tally run uses a private 0700 folder). */
    if (!sec && strncmp (b.o.listen, "ipc://", 6) != 0)
        tl_warn ("running unauthenticated: anyone who can reach %s can take tasks (use --keys, see tally keygen)",
                 b.o.listen);
    s_send_job (&b);
    int64_t now = tl_now_ms (), last_hb = now, last_job = now, last_progress = now, started = now, last_metrics = 0;
    int64_t last_bar = 0;
    /* The bar: on a terminal, unless -q or JSON logs. */
    const char *lf = getenv ("TALLY_LOG_FORMAT");
    bool bar = isatty (STDERR_FILENO) && !b.o.quiet && !(lf && strcmp (lf, "json") == 0);
    zpoller_t *poller = zpoller_new (b.router, b.reducer, NULL);
    bool interrupted = false;
    while (true) {
        zpoller_wait (poller, 50);
        if (zpoller_terminated (poller) || zsys_interrupted) {
            interrupted = true;
            break;
        }
        now = tl_now_ms ();
        for (int k = 0; k < 1000; k++) {     /* both sockets, whichever woke us */
            char ident [256];
            size_t identlen = 0;
            tl_msg_t m;
            tl_err_t e;
            int got = tl_recv_nowait (b.router, ident, &identlen, &m, &e);
            if (got <= -2)
                break;
            if (got == -1)
                tl_badmsg ("a peer of --listen", &e);
            else {
                s_on_mapper (&b, ident, identlen, &m, now);
                tl_msg_clear (&m);
            }
        }
        for (int k = 0; k < 1000; k++) {
            tl_msg_t m;
            tl_err_t e;
            int got = tl_recv_nowait (b.reducer, NULL, NULL, &m, &e);
            if (got <= -2)
                break;
            if (got == -1)
                tl_badmsg ("the reducer", &e);
            else if (m.type == TL_MSG_VERIFIED && strcmp (m.job, b.job) == 0)
                s_on_verified (&b, &m, now);
            else if (m.type == TL_MSG_REFUSED && strcmp (m.job, b.job) == 0) {
                snprintf (b.fatal, sizeof b.fatal, "the reducer at %s refused job %s: %s", b.o.reducer_ep, b.job,
                          m.error);
            }
            else if (m.type == TL_MSG_APPLIED && strcmp (m.job, b.job) == 0) {
                s_on_stalled (&b, m.stalled, now);
                if (strcmp (b.reducer_instance, m.instance) != 0) {
                    /* A new reducer process: what it had not checkpointed is gone, so every task
                       whose partial was sent but not acknowledged is re-done. */
                    if (*b.reducer_instance) {
                        uint32_t n = tl_sched_requeue_mapped (b.sched);
                        tl_warn ("the reducer restarted: %u task(s) sent but not applied are re-queued", n);
                    }
                    snprintf (b.reducer_instance, sizeof b.reducer_instance, "%s", m.instance);
                }
                uint64_t ntasks = tl_sched_stats (b.sched).tasks;
                for (size_t i = 0; i < m.n_ids; i++) {
                    if (m.ids [i] >= ntasks) {
                        /* The reducer holds a task this broker never made: the journal lost records. */
                        snprintf (b.fatal, sizeof b.fatal, "the reducer has applied task %llu, but this job has only "
                                  "%llu task(s): the journal%s%s lost records, and resuming would count wrongly",
                                  (unsigned long long) m.ids [i], (unsigned long long) ntasks,
                                  b.o.state_dir ? " in " : "", b.o.state_dir ? b.o.state_dir : "");
                        break;
                    }
                    tl_sched_applied (b.sched, m.ids [i], m.lengths [i], now);
                }
                if (m.full && !b.synced) {
                    b.synced = true;
                    tl_info ("reducer %s ready (%zu task(s) already applied)", b.o.reducer_ep, m.n_ids);
                }
            }
            tl_msg_clear (&m);
        }
        tl_sched_tick (b.sched, now);
        s_events (&b);      /* before dispatch: a split is journalled before its tail goes out */
        if (b.synced) {
            int m;
            const tl_task_t *t;
            uint32_t attempt, keep;
            while (tl_sched_next (b.sched, now, &m, &t, &attempt))
                s_send_task (&b, m, t, attempt);
            while (tl_sched_steal (b.sched, now, &m, &t, &attempt, &keep)) {
                const tl_mapper_t *mp = tl_sched_mapper (b.sched, m);
                tl_msg_t st = { .type = TL_MSG_STEAL, .task = t->id, .attempt = attempt, .keep = keep };
                tl_send (b.router, mp->key, mp->keylen, &st, true);
                tl_debug ("steal: asking %s to cut task %llu (keeps %u/1000 of the rest)", mp->name,
                          (unsigned long long) t->id, keep);
            }
            s_events (&b);
        }
        if (*b.fatal)
            break;
        if (tl_sched_finished (b.sched)) {
            if (b.o.verify_fraction <= 0 || tl_sched_stats (b.sched).failed)
                break;
            if (!b.verify)
                s_verify_start (&b, now);
            s_verify_tick (&b, now);
            if (*b.fatal)
                break;
            if (b.verify && !b.verify_left)
                break;
        }
        if (now - last_hb >= b.o.hb_ms) {
            for (size_t i = 0; i < tl_sched_mapper_count (b.sched); i++) {
                const tl_mapper_t *mp = tl_sched_mapper (b.sched, (int) i);
                if (mp->alive)
                    s_to_mapper (&b, mp->key, mp->keylen, TL_MSG_HB);
            }
            last_hb = now;
        }
        if (now - last_job >= 3000) {
            if (!b.synced)
                tl_info ("waiting for the reducer at %s", b.o.reducer_ep);
            s_send_job (&b);
            last_job = now;
        }
        if (met && now - last_metrics >= 200) {
            tl_sched_stats_t ms = tl_sched_stats (b.sched);
            tl_metrics_set (met, "tally_tasks", "gauge", "tasks in the job", (double) ms.tasks);
            tl_metrics_set (met, "tally_tasks_applied", "gauge", "tasks the reducer has applied", (double) ms.applied);
            tl_metrics_set (met, "tally_tasks_running", "gauge", "tasks on mappers", (double) ms.running);
            tl_metrics_set (met, "tally_tasks_queued", "gauge", "tasks waiting for a mapper", (double) ms.queued);
            tl_metrics_set (met, "tally_tasks_lag", "gauge", "tasks done by a mapper, not yet applied", (double) ms.mapped);
            tl_metrics_set (met, "tally_tasks_failed", "gauge", "tasks failed for good", (double) ms.failed);
            tl_metrics_set (met, "tally_reissues_total", "counter", "tasks re-issued", (double) ms.reissued);
            tl_metrics_set (met, "tally_steals_total", "counter", "tail steals asked", (double) ms.steals);
            tl_metrics_set (met, "tally_backups_total", "counter", "backup copies run", (double) ms.backups);
            tl_metrics_set (met, "tally_mappers", "gauge", "mappers connected", (double) ms.mappers_alive);
            tl_metrics_set (met, "tally_mappers_lost_total", "counter", "mappers lost to a lapsed lease", (double) ms.mappers_lost);
            tl_metrics_set (met, "tally_bad_messages_total", "counter", "malformed messages dropped", (double) tl_badmsg_count ());
            tl_metrics_set (met, "tally_bytes", "gauge", "bytes in the job", (double) b.bytes_total);
            last_metrics = now;
        }
        if (bar && now - last_bar >= 250) {
            /* On a terminal: a progress bar under the log lines. */
            tl_sched_stats_t st = tl_sched_stats (b.sched);
            double frac = st.tasks ? (double) st.applied / (double) st.tasks : 0;
            char line [256], fill [31];
            int w = (int) (frac * 30 + 0.5);
            for (int i = 0; i < 30; i++)
                fill [i] = i < w ? '#' : '.';
            fill [30] = 0;
            snprintf (line, sizeof line, "[%s] %3.0f%%  %llu/%llu tasks  %llu running  %llu queued  %llu mapper(s)  %.0f s",
                      fill, frac * 100, (unsigned long long) st.applied, (unsigned long long) st.tasks,
                      (unsigned long long) st.running, (unsigned long long) st.queued,
                      (unsigned long long) st.mappers_alive, (double) (now - started) / 1000.0);
            tl_log_status (line);
            last_bar = now;
        }
        if (now - last_progress >= 5000) {
            tl_sched_stats_t st = tl_sched_stats (b.sched);
            tl_log (bar ? TL_LOG_DEBUG : TL_LOG_INFO, "progress: %llu/%llu tasks applied, %llu running, %llu queued, %llu mapper(s)%s%s",
                     (unsigned long long) st.applied, (unsigned long long) st.tasks, (unsigned long long) st.running,
                     (unsigned long long) st.queued, (unsigned long long) st.mappers_alive,
                     *b.stalled ? "; the reducer is not acknowledging because its checkpoint fails: " : "", b.stalled);
            last_progress = now;
        }
    }
    zpoller_destroy (&poller);
    if (bar)
        tl_log_status (NULL);
    if (*b.fatal) {
        tl_error ("job %s stopped: %s", b.job, b.fatal);
        tl_msg_t end = { .type = TL_MSG_END, .job = b.job, .ok = false, .error = b.fatal };
        if (!strstr (b.fatal, "refused"))
            tl_send (b.reducer, NULL, 0, &end, false);
        rc = 1;
        goto done;
    }
    if (interrupted) {
        tl_warn ("interrupted: the job is not finished (mappers will wait for a broker)");
        rc = 130;
        goto done;
    }
    tl_sched_stats_t st = tl_sched_stats (b.sched);
    char error [TL_STR_MAX] = "";
    if (st.failed) {
        /* Each distinct error once, with how many tasks it failed. */
        zhash_t *count = zhash_new ();
        for (uint64_t i = 0; i < st.tasks; i++) {
            const tl_task_t *t = tl_sched_task (b.sched, i);
            if (t->state == TL_TASK_FAILED)
                tl_seen_before (count, t->error);
        }
        size_t off = (size_t) snprintf (error, sizeof error, "%llu task(s) failed:", (unsigned long long) st.failed);
        for (uint64_t i = 0; i < st.tasks && off < sizeof error; i++) {
            const tl_task_t *t = tl_sched_task (b.sched, i);
            uint64_t n = t->state == TL_TASK_FAILED ? (uint64_t) (uintptr_t) zhash_lookup (count, t->error) : 0;
            if (!n)
                continue;
            off += (size_t) snprintf (error + off, sizeof error - off, "%s %s", error [off - 1] != ':' ? ";" : "",
                                      t->error);
            if (n > 1 && off < sizeof error)
                off += (size_t) snprintf (error + off, sizeof error - off, " (%llu tasks)", (unsigned long long) n);
            zhash_delete (count, t->error);     /* listed */
        }
        zhash_destroy (&count);
    }
    char digest [TL_DIGEST_HEX + 1];
    s_task_digest (&b, digest);
    tl_msg_t end = { .type = TL_MSG_END, .job = b.job, .ok = st.failed == 0, .error = error, .tasks = st.tasks,
                     .digest = digest };
    if (b.journal) {
        tl_err_t je = { 0 };
        if (tl_jobrec_put_end (b.journal, st.failed == 0, error) != 0 || tl_journal_sync (b.journal, &je) != 0)
            tl_warn ("cannot record the end of the job in the journal: %s", *je.msg ? je.msg : "out of memory");
    }
    tl_send (b.reducer, NULL, 0, &end, false);
    for (size_t i = 0; i < tl_sched_mapper_count (b.sched); i++) {
        const tl_mapper_t *mp = tl_sched_mapper (b.sched, (int) i);
        if (mp->alive) {
            tl_msg_t e = { .type = TL_MSG_END, .job = b.job, .ok = st.failed == 0 };
            tl_send (b.router, mp->key, mp->keylen, &e, true);
        }
        tl_info ("mapper %s: %llu task(s) assigned, %llu done", mp->name, (unsigned long long) mp->assigned,
                 (unsigned long long) mp->done);
    }
    tl_info ("job %s %s in %.2f s: %llu/%llu task(s) applied, %llu re-issued, %llu mapper(s) lost, "
             "%llu steal(s) asked (%llu declined, %llu returned unstarted), %llu backup(s), %llu remainder(s)", b.job,
             st.failed ? "FAILED" : "done", (double) (now - started) / 1000.0, (unsigned long long) st.applied,
             (unsigned long long) st.tasks, (unsigned long long) st.reissued, (unsigned long long) st.mappers_lost,
             (unsigned long long) st.steals, (unsigned long long) st.steals_declined,
             (unsigned long long) st.steals_returned, (unsigned long long) st.backups,
             (unsigned long long) st.remainders);
    if (b.missing)
        tl_warn ("%zu input(s) were not found and were left out (--skip-missing)", b.missing);
    if (b.nverify)
        tl_info ("verification: %llu of %zu copies agreed with the applied partial, %llu could not run",
                 (unsigned long long) b.verified, b.nverify, (unsigned long long) b.unverified);
    if (st.failed)
        tl_error ("%s", error);
    rc = st.failed ? 1 : 0;
done:
    zsock_destroy (&b.router);
    zsock_destroy (&b.reducer);
    tl_security_destroy (&sec);
    tl_metrics_destroy (&met);
    tl_journal_destroy (&b.journal);
    tl_sched_destroy (&b.sched);
    zhash_destroy (&b.seen);
    tl_objlist_free (&b.objs);
    free (b.fmts);
    for (int i = 0; i < b.o.ninputs; i++)
        free (b.o.inputs [i]);
    free (b.o.inputs);
    free (b.o.col_text);
    free (b.verify);
    return rc;
}
