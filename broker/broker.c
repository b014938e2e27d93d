/*  broker.c — the broker process: listing, task cutting, and the wiring of broker/sched.c to a
    ROUTER (mappers) and a DEALER (reducer).

    The broker hands out no task until the reducer has answered JOB with its applied set, so
    that a task the reducer already holds is never run again. From then on each poll round does
    this: take messages, re-fill the credit of idle mappers from the queue, expire leases, and
    every hb_ms send heartbeats. Every 3 s it re-sends JOB, and the reducer answers with what the
    broker lacks of its applied set (all of it after either side restarted). That heals lost
    acks and a reducer that restarted; and since every JOB is answered, its silence says that
    the reducer is gone (s_reducer_silence).

    When the queue runs dry and a mapper has an idle slot, the broker asks the runner of the task
    with the most bytes left to cut it (STEAL/CUT); the tail becomes a new task. What cannot be
    cut gets a backup copy near the end (see broker/sched.c).

    With --state-dir, the job (its id, objects and tasks) and every cut are journalled, and
    fsynced before the new task is handed out. A restarted broker replays the journal instead of
    listing again, takes the reducer's applied set as the truth, and re-issues the rest. */
#include "broker/broker.h"
#include "broker/state.h"
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


/*  The definition: what the user asked for. The fingerprint adds the inputs as listed, so two
    jobs with the same flags over changed objects differ too. */
static void
s_fingerprints (tl_broker_t *b)
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
    /* Whether it verifies: a reducer keeps the digests a copy is compared with only while JOB
       does not say noverify, so a job resumed with verification turned on would find its tasks
       applied before unverifiable, and end ok on what it was asked to check. Off, the
       definition is what it was before there was a flag. */
    if (b->o.verify_fraction > 0)
        tl_digest_str (d, "verify");
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
s_task_digest (tl_broker_t *b, char out [TL_DIGEST_HEX + 1])
{
    tl_digest_t *d = tl_digest_new ();
    uint64_t n = tl_sched_stats (b->sched).tasks;
    *out = 0;
    if (!d)
        return;
    tl_digest_u64 (d, n);
    for (uint64_t i = 0; i < n; i++) {
        tl_digest_task (d, i, tl_sched_task (b->sched, i)->length);
    }
    tl_digest_hex (d, out);
    tl_digest_destroy (&d);
}

/*  One assignment: its token made, the dashboard told. token holds TL_TOKEN_HEX + 1 bytes. */
static void
s_assign (tl_broker_t *b, int m, const tl_task_t *t, uint32_t attempt, uint64_t verify, tl_assign_t *a, char *token)
{
    const tl_mapper_t *mp = tl_sched_mapper (b->sched, m);
    const tl_object_t *obj = &b->objs.v [t->object];
    tl_token_claim_t claim = { .job = b->job, .task = t->id, .attempt = attempt, .mapper = mp->name,
                               .offset = t->offset, .verify = verify };
    if (tl_token_mac_ready (&b->mac, b->jr.key))
        tl_token_mac_make (b->mac, &claim, token);
    else
        tl_token_make (b->jr.key, &claim, token);
    *a = (tl_assign_t) {
        .task = t->id, .attempt = attempt, .uri = obj->uri, .offset = t->offset, .length = t->length,
        .size = obj->size, .token = token, .etag = obj->etag ? obj->etag : "", .mtime = (uint64_t) obj->mtime_ns,
        .format = b->fmts && b->fmts [t->object] ? b->fmts [t->object]->name : "", .verify = verify,
    };
    bool backup = t->run [1].mapper == m && t->run [1].attempt == attempt;
    tl_bact_start (b->act, t->id, attempt, mp->name,
                   verify ? "verify" : backup ? "backup" : attempt > 1 ? "reissue"
                   : tl_bact_is_tail (b->act, t->id) ? "tail" : "original", t->offset, t->length, tl_now_ms ());
}

void
tl_broker_send_task (tl_broker_t *b, int m, const tl_task_t *t, uint32_t attempt, uint64_t verify)
{
    const tl_mapper_t *mp = tl_sched_mapper (b->sched, m);
    char token [TL_TOKEN_HEX + 1];
    tl_assign_t a;
    s_assign (b, m, t, attempt, verify, &a, token);
    tl_msg_t msg = {
        .type = TL_MSG_TASK, .job = b->job, .task = a.task, .attempt = a.attempt, .uri = a.uri,
        .offset = a.offset, .length = a.length, .size = a.size, .col = b->o.col,
        .endpoint = b->o.cfg.endpoint ? b->o.cfg.endpoint : "", .nosign = b->o.cfg.nosign,
        .region = b->o.cfg.region ? b->o.cfg.region : "", .token = token,
        .etag = a.etag, .mtime = a.mtime, .format = a.format, .verify = verify,
    };
    if (tl_send (b->router, mp->key, mp->keylen, &msg, true) != 0)
        tl_debug ("task %llu to %s not sent (%s); its lease will lapse", (unsigned long long) t->id, mp->name,
                  zmq_strerror (zmq_errno ()));
}

/*  A round of the loop that had messages lasts this long at least (tl_pace). */
#define PACE_US 1000

/*  Tasks done by mappers and not yet acknowledged by the reducer beyond which the broker
    hands out nothing new (below). The reducer acks once per loop round of up to 1,000
    partials, so this leaves it several rounds of work in hand. */
#define LAG_MAX 4096
#define VERDICT_WAIT_MS 10000   /* after END, how long the reducer's verdict is awaited */

/*  An assignment of this round, for a mapper that takes TASKS. */
struct tl_pending {
    int m;
    uint64_t task;
    uint32_t attempt;
    size_t seq;         /* the scheduler's order, kept within a mapper (a tail first, say) */
};

void
tl_broker_queue_task (tl_broker_t *b, int m, const tl_task_t *t, uint32_t attempt)
{
    if ((size_t) m >= b->nbatch || !b->batch [m]) {
        tl_broker_send_task (b, m, t, attempt, 0);
        return;
    }
    if (b->npend == b->cappend) {
        size_t cap = b->cappend ? 2 * b->cappend : 256;
        struct tl_pending *p = realloc (b->pend, cap * sizeof *p);
        if (!p) {
            tl_broker_send_task (b, m, t, attempt, 0);
            return;
        }
        b->pend = p;
        b->cappend = cap;
    }
    b->pend [b->npend] = (struct tl_pending) { m, t->id, attempt, b->npend };
    b->npend++;
}

static int
s_pendcmp (const void *x, const void *y)
{
    const struct tl_pending *a = x, *c = y;
    if (a->m != c->m)
        return a->m < c->m ? -1 : 1;
    return a->seq < c->seq ? -1 : a->seq > c->seq;
}

/*  One TASKS per mapper and up to its batch size: the round's assignments in a few messages
    where each was a message (and a wake-up of the mapper) of its own. */
void
tl_broker_flush_tasks (tl_broker_t *b)
{
    if (!b->npend)
        return;
    qsort (b->pend, b->npend, sizeof *b->pend, s_pendcmp);
    tl_assign_t items [TL_BATCH_MAX];
    char tokens [TL_BATCH_MAX][TL_TOKEN_HEX + 1];
    for (size_t i = 0; i < b->npend;) {
        int m = b->pend [i].m;
        const tl_mapper_t *mp = tl_sched_mapper (b->sched, m);
        size_t cap = b->batch [m] < TL_BATCH_MAX ? b->batch [m] : TL_BATCH_MAX, n = 0;
        while (i < b->npend && b->pend [i].m == m && n < cap) {
            s_assign (b, m, tl_sched_task (b->sched, b->pend [i].task), b->pend [i].attempt, 0, &items [n], tokens [n]);
            n++;
            i++;
        }
        tl_msg_t msg = { .type = TL_MSG_TASKS, .job = b->job, .col = b->o.col,
                         .endpoint = b->o.cfg.endpoint ? b->o.cfg.endpoint : "", .nosign = b->o.cfg.nosign,
                         .region = b->o.cfg.region ? b->o.cfg.region : "", .assigns = items, .n_assigns = n };
        if (tl_send (b->router, mp->key, mp->keylen, &msg, true) != 0)
            tl_debug ("%zu task(s) to %s not sent (%s); their lease will lapse", n, mp->name,
                      zmq_strerror (zmq_errno ()));
        b->tasks_msgs++;
        b->tasks_sent += n;
    }
    b->npend = 0;
}

static void
s_send_job (tl_broker_t *b)
{
    char key [2 * TL_TOKEN_KEY_LEN + 1];
    tl_token_key_hex (b->jr.key, key);
    char dig [17];
    snprintf (dig, sizeof dig, "%016llx", (unsigned long long) b->view.digest);
    /* With our view of the reducer's ack log, so that it answers with what we lack. */
    tl_msg_t m = { .type = TL_MSG_JOB, .job = b->job, .col = b->o.col,
                   .tasks = tl_sched_stats (b->sched).tasks, .bytes = b->bytes_total,
                   .fingerprint = b->jr.fingerprint, .key = key, .instance = b->reducer_instance,
                   .seq = b->view.known, .digest = dig, .noverify = b->o.verify_fraction <= 0 };
    tl_send (b->reducer, NULL, 0, &m, true);
}

static void
s_to_mapper (tl_broker_t *b, const void *ident, size_t identlen, tl_msg_type_t type)
{
    tl_msg_t m = { .type = type, .job = b->job, .ok = true };
    tl_send (b->router, ident, identlen, &m, true);
}

static void
s_pong (tl_broker_t *b, const char *ident, size_t identlen, const char *fleet)
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

/*  Wait for the reducer's verdict on the job (an END from it, docs/PROTOCOL.md), reading and
    dropping anything else it sends. Returns 1 (ok), 0 (failed: its error in why), or -1 when
    none came within VERDICT_WAIT_MS. */
static int
s_await_verdict (tl_broker_t *b, char *why, size_t whylen)
{
    int64_t until = tl_now_ms () + VERDICT_WAIT_MS;
    zpoller_t *p = zpoller_new (b->reducer, NULL);
    int rc = -1;
    while (p && rc < 0 && !zsys_interrupted) {
        int64_t left = until - tl_now_ms ();
        if (left <= 0 || !zpoller_wait (p, (int) (left < 200 ? left : 200))) {
            if (left <= 0 || zpoller_terminated (p))
                break;
            continue;
        }
        tl_msg_t m;
        tl_err_t e;
        int got = tl_recv (b->reducer, NULL, NULL, &m, &e);
        if (got <= -2)
            break;
        if (got == -1) {
            tl_badmsg ("the reducer", &e);
            continue;
        }
        if (m.type == TL_MSG_END && strcmp (m.job, b->job) == 0) {
            rc = m.ok ? 1 : 0;
            snprintf (why, whylen, "%s", m.error && *m.error ? m.error : "no reason given");
        }
        tl_msg_clear (&m);
    }
    zpoller_destroy (&p);
    return rc;
}

/*  The reducer answers every JOB (sent every 3 s), and says so (`answers`: one from before that
    is silent when it has nothing new, and is not judged by it unless it is stalled). Silent longer than REDUCER_SILENT_MS, it is
    gone or cut off: say so (and again every minute), and hold the apply timeouts meanwhile,
    since a task finished while the reducer is away is not one whose partial it cannot take.
    Silent for REDUCER_GIVEUP_MS, the job fails, naming the reducer. */
#define REDUCER_SILENT_MS 15000
#define REDUCER_GIVEUP_MS 600000

static void
s_reducer_heard (tl_broker_t *b, int64_t now)
{
    if (b->reducer_warned) {
        tl_info ("the reducer at %s answers again, after %lld s", b->o.reducer_ep,
                 (long long) ((now - b->reducer_heard) / 1000));
        b->reducer_warned = 0;
        tl_sched_hold_applies (b->sched, *b->stalled != 0, now);
    }
    b->reducer_heard = now;
}

static void
s_reducer_silence (tl_broker_t *b, int64_t now)
{
    int64_t quiet = now - b->reducer_heard;
    /* One from before `answers` is judged too while it says it is stalled: a stalled reducer of
       any version says so every second (s_send_applied_stalled), and the stall holds every apply
       timeout, so one that died stalled would hold the job for ever (rv13 H2). */
    if (!b->synced || (!b->reducer_answers && !*b->stalled) || quiet < REDUCER_SILENT_MS)
        return;
    if (quiet >= REDUCER_GIVEUP_MS) {
        snprintf (b->fatal, sizeof b->fatal, "the reducer at %s has not answered for %lld s; the job cannot end "
                  "without it (restart the reducer, with its --state-dir if it had one, then the broker)",
                  b->o.reducer_ep, (long long) (quiet / 1000));
        return;
    }
    if (b->reducer_warned && now - b->reducer_warned < 60000)
        return;
    tl_warn ("the reducer at %s has not answered for %lld s (it is gone, cut off, or blocked, as by a long "
             "checkpoint write): finished tasks wait for it, none is re-run for it "
             "meanwhile, and the job fails after %d s of this (restart it: with its --state-dir it resumes, without "
             "one the tasks it had applied are run again)", b->o.reducer_ep, (long long) (quiet / 1000),
             REDUCER_GIVEUP_MS / 1000);
    b->reducer_warned = now;
    tl_sched_hold_applies (b->sched, true, now);
}

/*  The reducer says it holds acks back (its checkpoint cannot be written): say so, rarely. */
static void
s_on_stalled (tl_broker_t *b, const char *why, int64_t now)
{
    tl_sched_hold_applies (b->sched, (why && *why) || b->reducer_warned, now);
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
s_on_mapper (tl_broker_t *b, const char *ident, size_t identlen, const tl_msg_t *m, int64_t now)
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
        if ((size_t) idx >= b->nbatch) {
            size_t n = 2 * (size_t) idx + 16;
            uint32_t *v = realloc (b->batch, n * sizeof *v);
            if (v) {
                memset (v + b->nbatch, 0, (n - b->nbatch) * sizeof *v);
                b->batch = v;
                b->nbatch = n;
            }
        }
        if ((size_t) idx < b->nbatch)
            b->batch [idx] = (uint32_t) (m->batch > TL_BATCH_MAX ? TL_BATCH_MAX : m->batch);
        /* A mapper that batches holds up to `batch` spares (more than one only for short tasks). */
        tl_sched_prefetch (b->sched, idx, (uint32_t) (m->batch > TL_BATCH_MAX ? TL_BATCH_MAX : m->batch));
        /* batch: we take DONES (a mapper that batches sends them once it knows). */
        tl_msg_t w = { .type = TL_MSG_WELCOME, .job = b->job, .reducer = b->o.reducer_ep, .hb_ms = (uint64_t) b->o.hb_ms,
                       .name = tl_sched_mapper (b->sched, idx)->name, .batch = TL_BATCH_MAX };
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
            {
                tl_sched_progress (b->sched, idx, m->running [i].task, (uint32_t) m->running [i].attempt,
                                   m->running [i].bytes_done);
                tl_bact_progress (b->act, m->running [i].task, m->running [i].attempt, m->running [i].bytes_done);
            }
            break;
        case TL_MSG_DONE: {
            tl_sched_done (b->sched, idx, m->task, (uint32_t) m->attempt, now);
            const tl_mapper_t *mp = tl_sched_mapper (b->sched, idx);
            tl_bact_end (b->act, m->task, m->attempt, NULL, "done", now);
            tl_bact_mapper (b->act, mp->name, mp->slots, "joined", mp->done);
            break;
        }
        case TL_MSG_DONES: {
            /* Each item as a DONE of its own, in order. */
            b->dones_msgs++;
            b->dones_got += m->n_dones;
            for (size_t i = 0; i < m->n_dones; i++) {
                tl_sched_done (b->sched, idx, m->dones [i].task, (uint32_t) m->dones [i].attempt, now);
                tl_bact_end (b->act, m->dones [i].task, m->dones [i].attempt, NULL, "done", now);
            }
            const tl_mapper_t *mp = tl_sched_mapper (b->sched, idx);
            tl_bact_mapper (b->act, mp->name, mp->slots, "joined", mp->done);
            break;
        }
        case TL_MSG_FAIL:
            if (m->attempt >= TL_VERIFY_ATTEMPT) {
                tl_verify_on_fail (b, m->task, now);
                break;
            }
            tl_log (tl_seen_before (b->seen, m->error) ? TL_LOG_DEBUG : TL_LOG_WARN, "task %llu failed on %s: %s%s",
                    (unsigned long long) m->task, tl_sched_mapper (b->sched, idx)->name, m->error,
                    m->retry ? " (will retry)" : "");
            tl_sched_fail (b->sched, idx, m->task, (uint32_t) m->attempt, m->retry, m->error, now);
            tl_bact_end (b->act, m->task, m->attempt, NULL, "failed", now);
            {
                char text [256];
                snprintf (text, sizeof text, "task %llu failed on %s%s: %s", (unsigned long long) m->task,
                          tl_sched_mapper (b->sched, idx)->name, m->retry ? " (will retry)" : "", m->error);
                tl_bact_event (b->act, "failed", tl_sched_mapper (b->sched, idx)->name, m->task, text, now);
            }
            break;
        case TL_MSG_BYE:
            tl_sched_leave (b->sched, idx);
            break;
        case TL_MSG_CUT:
            tl_sched_cut (b->sched, idx, m->task, (uint32_t) m->attempt, m->cut, m->returned, now);
            if (m->returned)
                tl_bact_end (b->act, m->task, m->attempt, NULL, "returned", now);
            break;
        default:
            tl_badmsg_unexpected ("a mapper", m->type);
    }
}

/*  A scheduler event, as the dashboard shows it (broker/activity.h). */
static void
s_activity (tl_broker_t *b, const tl_sched_ev_t *ev, const tl_mapper_t *mp, int64_t now)
{
    const char *name = mp ? mp->name : "";
    const tl_task_t *t = ev->type == TL_EV_JOINED || ev->type == TL_EV_LOST || ev->type == TL_EV_LEFT
                         ? NULL : tl_sched_task (b->sched, ev->task);
    char text [256];
    switch (ev->type) {
        case TL_EV_JOINED:
        case TL_EV_LOST:
        case TL_EV_LEFT: {
            const char *what = ev->type == TL_EV_JOINED ? "joined" : ev->type == TL_EV_LOST ? "lost" : "left";
            if (ev->type == TL_EV_JOINED)
                snprintf (text, sizeof text, "%s joined with %llu slot(s)", name, (unsigned long long) ev->n);
            else
                snprintf (text, sizeof text, "%s %s: %llu task(s) re-queued", name,
                          ev->type == TL_EV_LOST ? "lost (silent past its lease)" : "left", (unsigned long long) ev->n);
            if (ev->type != TL_EV_JOINED)
                tl_bact_end (b->act, UINT64_MAX, 0, name, "lost", now);
            if (mp)
                tl_bact_mapper (b->act, name, mp->slots, what, mp->done);
            tl_bact_event (b->act, what, name, 0, text, now);
            break;
        }
        case TL_EV_REQUEUED:
            snprintf (text, sizeof text, "task %llu re-queued%s%s", (unsigned long long) ev->task,
                      t && *t->error ? ": " : "", t ? t->error : "");
            tl_bact_event (b->act, "requeued", name, ev->task, text, now);
            break;
        case TL_EV_FAILED:
            snprintf (text, sizeof text, "task %llu failed for good: %s", (unsigned long long) ev->task, t ? t->error : "");
            tl_bact_event (b->act, "failed", name, ev->task, text, now);
            break;
        case TL_EV_CANCEL:
            tl_bact_end (b->act, ev->task, 0, name, "cancelled", now);
            snprintf (text, sizeof text, "task %llu: the copy on %s is cancelled (another copy won)",
                      (unsigned long long) ev->task, name);
            tl_bact_event (b->act, "cancelled", name, ev->task, text, now);
            break;
        case TL_EV_SPLIT:
            if (ev->mapper < 0 || !t)
                break;
            tl_bact_tail (b->act, ev->n);
            tl_bact_cut (b->act, ev->task, t->length, ev->n, now);
            snprintf (text, sizeof text, "task %llu on %s cut at byte %llu: the tail is task %llu",
                      (unsigned long long) ev->task, name, (unsigned long long) (t->offset + t->length),
                      (unsigned long long) ev->n);
            tl_bact_event (b->act, "steal", name, ev->task, text, now);
            break;
        case TL_EV_BACKUP:
            snprintf (text, sizeof text, "a backup copy of task %llu goes to %s", (unsigned long long) ev->task, name);
            tl_bact_event (b->act, "backup", name, ev->task, text, now);
            break;
    }
}

static void
s_events (tl_broker_t *b)
{
    tl_sched_ev_t ev;
    while (tl_sched_event (b->sched, &ev)) {
        const tl_mapper_t *mp = tl_sched_mapper (b->sched, ev.mapper);
        const char *name = mp ? mp->name : "-";
        s_activity (b, &ev, mp, tl_now_ms ());
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

int
tl_broker_main (int argc, char **argv)
{
    tl_broker_opts_t o = { 0 };
    int prc = tl_broker_parse (argc, argv, &o);
    if (prc) {
        tl_broker_opts_free (&o);
        return prc == 1 ? 0 : prc;
    }
    return tl_broker_run (&o);
}

int
tl_broker_run (tl_broker_opts_t *o)
{
    tl_broker_t b = { .o = *o };
    *o = (tl_broker_opts_t) { 0 };      /* what it held is b.o's now */
    tl_security_t *sec = NULL;
    tl_metrics_t *met = NULL;
    tl_log_init ("broker", b.o.level);
    tl_store_cfg_from_env (&b.o.cfg);
    int rc = 1;
    tl_random_id (b.job);
    b.sched = tl_sched_new (&b.o.sc);
    b.seen = zhash_new ();
    b.act = tl_bact_new (tl_now_ms ());
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
                tl_error ("%s holds job %s, which is another job (other --input, query, --split-size, or "
                          "--verify-fraction turned on or off: it groups by '%s'): use a new --state-dir, or --fresh "
                          "to discard it", b.o.state_dir, jr.id,
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
        if (tl_broker_probe_all (&b, false) != 0)
            goto done;
        tl_sched_all_zombie (b.sched);
        tl_info ("resumed job %s from %s: %zu object(s), %llu task(s); inputs are not listed again", b.job,
                 b.o.state_dir, b.objs.n, (unsigned long long) tl_sched_stats (b.sched).tasks);
    }
    else {
        if (tl_broker_list_inputs (&b) != 0 || tl_broker_probe_all (&b, true) != 0)
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
        int64_t round_us = tl_now_us ();
        int nmsg = 0;
        for (int k = 0; k < 1000; k++) {     /* both sockets, whichever woke us */
            char ident [256];
            size_t identlen = 0;
            tl_msg_t m;
            tl_err_t e;
            int got = tl_recv_nowait (b.router, ident, &identlen, &m, &e);
            if (got <= -2)
                break;
            nmsg++;
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
            nmsg++;
            s_reducer_heard (&b, now);
            if (got == -1)
                tl_badmsg ("the reducer", &e);
            else if (m.type == TL_MSG_VERIFIED && strcmp (m.job, b.job) == 0)
                tl_verify_on_answer (&b, &m, now);
            else if (m.type == TL_MSG_REFUSED && strcmp (m.job, b.job) == 0) {
                snprintf (b.fatal, sizeof b.fatal, "the reducer at %s refused job %s: %s", b.o.reducer_ep, b.job,
                          m.error);
            }
            else if (m.type == TL_MSG_APPLIED && strcmp (m.job, b.job) == 0) {
                s_on_stalled (&b, m.stalled, now);
                b.reducer_answers |= m.answers;
                if (strcmp (b.reducer_instance, m.instance) != 0) {
                    /* A new reducer process: what it had not checkpointed is gone, so every task
                       whose partial was sent but not acknowledged is re-done. */
                    if (*b.reducer_instance) {
                        uint32_t n = tl_sched_requeue_mapped (b.sched);
                        tl_warn ("the reducer restarted: %u task(s) sent but not applied are re-queued", n);
                    }
                    snprintf (b.reducer_instance, sizeof b.reducer_instance, "%s", m.instance);
                    b.view = (tl_appview_t) { 0 };
                }
                if (m.full)
                    b.view = (tl_appview_t) { 0 };
                bool has_after = m.digest && strlen (m.digest) == 16;
                if (m.n_ids && !tl_appview_take (&b.view, m.full ? 0 : m.seq, m.ids, m.lengths, m.n_ids, has_after,
                                                 has_after ? strtoull (m.digest, NULL, 16) : 0)) {
                    tl_warn ("the reducer's acks do not add up to what it says it applied; asking for its whole "
                             "applied set");
                    b.view = (tl_appview_t) { 0 };
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
                if (m.full) {
                    /* What it holds is what counts: a task counted applied here that its whole
                       set lacks (a reducer restarted without --state-dir, or on a state dir
                       that lost records) is not in its totals, so it runs again. */
                    uint32_t n = tl_sched_unapply_missing (b.sched, m.ids, m.n_ids);
                    if (n)
                        tl_warn ("the reducer at %s holds %u task(s) fewer than it had acknowledged (it restarted "
                                 "without --state-dir, or its state dir lost records): they are run again",
                                 b.o.reducer_ep, n);
                }
                if (m.full && !b.synced) {
                    b.synced = true;
                    tl_info ("reducer %s ready (%zu task(s) already applied)", b.o.reducer_ep, m.n_ids);
                }
            }
            tl_msg_clear (&m);
        }
        s_reducer_silence (&b, now);
        if (*b.fatal)
            break;
        tl_sched_tick (b.sched, now);
        s_events (&b);      /* before dispatch: a split is journalled before its tail goes out */
        if (b.synced) {
            int m;
            const tl_task_t *t;
            uint32_t attempt, keep;
            /* Flow control towards the reducer: no new assignments while LAG_MAX tasks done by
               mappers wait for its acks. Credit comes back with DONE, so without this bound
               fast mappers ran ahead of a slower reducer by as much as they liked (200 k queued
               partials at 4 KiB tasks, the last tenth of the job at a fifth of the rate while it
               drained), and every one of those partials is held in memory on the way. */
            if (tl_sched_stats (b.sched).mapped < LAG_MAX)
                while (tl_sched_next (b.sched, now, &m, &t, &attempt))
                    tl_broker_queue_task (&b, m, t, attempt);
            tl_broker_flush_tasks (&b);     /* before a STEAL or anything else goes to those mappers */
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
                tl_verify_start (&b, now);
            tl_verify_tick (&b, now);
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
        if (b.synced && tl_bact_due (b.act, now)) {
            tl_msg_t am;
            tl_bact_message (b.act, b.job, &am, now);
            tl_send (b.reducer, NULL, 0, &am, true);
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
        if (nmsg)
            tl_pace (round_us, PACE_US);    /* the next round takes what came meanwhile, at once */
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
    if (b.act) {   /* the dashboard's last word comes before END */
        char text [128];
        snprintf (text, sizeof text, "job %s: %llu/%llu task(s) applied", st.failed ? "failed" : "done",
                  (unsigned long long) st.applied, (unsigned long long) st.tasks);
        tl_bact_event (b.act, st.failed ? "failed" : "done", "", 0, text, now);
        tl_msg_t am;
        tl_bact_message (b.act, b.job, &am, now);
        tl_send (b.reducer, NULL, 0, &am, false);
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
    /* The reducer's word on the totals: it checks the applied set against our task list and the
       sums' range, which we cannot see. A failed check fails the job here too. */
    if (!st.failed) {
        char verdict [TL_STR_MAX] = "";
        int v = s_await_verdict (&b, verdict, sizeof verdict);
        if (v == 0) {
            snprintf (error, sizeof error, "the reducer failed the job: %s", verdict);
            st.failed = 1;
        }
        if (v < 0)
            tl_warn ("the reducer did not confirm the job's totals within %d s (an older reducer, or it is down): "
                     "its verdict is in its log and in what `tally watch` prints", VERDICT_WAIT_MS / 1000);
    }
    tl_info ("job %s %s in %.2f s: %llu/%llu task(s) applied, %llu re-issued, %llu mapper(s) lost, "
             "%llu steal(s) asked (%llu declined, %llu returned unstarted), %llu backup(s), %llu remainder(s)", b.job,
             st.failed ? "FAILED" : "done", (double) (now - started) / 1000.0, (unsigned long long) st.applied,
             (unsigned long long) st.tasks, (unsigned long long) st.reissued, (unsigned long long) st.mappers_lost,
             (unsigned long long) st.steals, (unsigned long long) st.steals_declined,
             (unsigned long long) st.steals_returned, (unsigned long long) st.backups,
             (unsigned long long) st.remainders);
    if (b.tasks_msgs || b.dones_msgs)
        tl_info ("batches: %llu assignment(s) in %llu TASKS message(s), %llu DONE(s) in %llu DONES message(s)",
                 (unsigned long long) b.tasks_sent, (unsigned long long) b.tasks_msgs,
                 (unsigned long long) b.dones_got, (unsigned long long) b.dones_msgs);
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
    tl_bact_destroy (&b.act);
    tl_objlist_free (&b.objs);
    free (b.fmts);
    tl_broker_opts_free (&b.o);
    free (b.verify);
    free (b.batch);
    free (b.pend);
    tl_token_mac_destroy (&b.mac);
    return rc;
}
