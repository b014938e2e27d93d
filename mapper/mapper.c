/*  mapper.c — the mapper process: one DEALER to the broker, one to the reducer, N slot threads.

    The main thread owns both sockets. A slot thread (a zactor) gets a tl_work_t pointer, runs it
    to the end and hands back a tl_work_result_t pointer. Pointers cross the inproc pipe, and
    ownership goes with them. Progress and cancel are shared words in the slot's struct.

    Order of reporting: the PARTIAL goes to the reducer before DONE goes to the broker. The
    broker waits for the reducer's APPLIED anyway, so this order only saves a round of
    re-issue when the mapper dies in between.

    Sending the PARTIAL: a table of more than one part's groups goes as several PARTIALs
    (docs/PROTOCOL.md), each encoded only when the reducer's socket takes the one before, so the
    mapper holds the table and one part, never the whole message. The slot keeps its task until
    the last part is queued (it reports the task in heartbeats, declines steals, and a CANCEL
    stops the sending); then DONE. Sends never block the loop: a full queue is tried again next
    round, and a queue that takes nothing for SEND_WAIT_MS fails the task (retry). A task whose
    parts were not all sent is never reported DONE; the reducer drops its staged parts.

    Batches: HELLO says `batch`, and a broker that knows them sends this round's assignments
    as one TASKS and answers WELCOME with `batch`; then the DONEs of one loop round go out as
    one DONES. With tasks of a few KiB, a message and a wake-up of each process per task was
    what bounded a job (docs/PROTOCOL.md, "Batches"). An older broker sends TASKs and gets DONEs.

    Failure handling: a broker silent for 5 heartbeats gets a new socket and a new HELLO, with
    backoff from 1 s up to 10 s. Our running tasks are cancelled, because the broker has
    re-queued them. SIGTERM (or SIGINT) sends BYE, so the broker re-queues our tasks at once,
    and then we exit. */
#include "mapper/mapper.h"
#include "mapper/opts.h"
#include "lib/wire/security.h"
#include "lib/base/metrics.h"
#include "lib/base/log.h"
#include "lib/wire/net.h"
#include "mapper/work.h"
#include "lib/base/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEND_WAIT_MS 60000          /* a reducer queue that takes nothing this long fails the task */
#define PARTS_PER_ROUND 4           /* parts sent per loop round, so broker messages are not kept waiting */
/*  PARTIALs queued towards the reducer: with parts of up to ~4 MiB this bounds the bytes a slow
    reducer makes us hold; a full queue makes the next part wait (it is not encoded yet). */
#define REDUCER_SNDHWM 16

typedef struct {
    zactor_t *actor;
    tl_work_t *work;            /* running task, NULL when idle */
    volatile int cancel;
    _Atomic uint64_t progress;
    tl_steal_t steal;
    tl_colcache_t *cache;
    const char *name;
    const tl_store_cfg_t *cfg;
    tl_work_result_t *out;      /* a finished task whose PARTIAL is being sent (owned), or NULL */
    int64_t out_since;          /* when the reducer's socket last took a message of it */
    size_t last_groups;         /* groups of the slot's last task, its length and job: the next */
    uint64_t last_length;       /* task's table of the same job starts that big, in proportion */
    char last_job [64];
    tl_agg_t *spare;            /* the table of the slot's last task in parts, for the next task to
                                   count into (tl_work_t.spare); only the main thread touches it
                                   while the slot is idle, only the slot thread while it runs */
    size_t spare_groups;        /* the groups it held */
} s_slot_t;

typedef struct {
    const char *broker_ep;
    char name [128];
    char known_as [128];    /* the name the broker knows us by (fleet/name): partials carry it,
                               because the broker's assignment tokens are made out to it */
    const char *fleet;      /* --fleet: the provisioned fleet this mapper belongs to */
    uint32_t nslots;
    bool stay;
    tl_store_cfg_t cfg;
    zsock_t *broker, *reducer;
    uint64_t broker_gen;    /* bumped with each new broker socket (s_connect_broker) */
    char reducer_ep [TL_STR_MAX + 1];
    s_slot_t *slots;
    tl_work_t **queue;          /* received, not yet started */
    size_t nqueue;
    int64_t hb_ms;
    int64_t last_heard, last_hb, last_hello;
    bool welcomed;
    uint64_t tasks_done, tasks_failed;
    int64_t backoff_ms;
    bool ended;
    tl_security_t *sec;
    uint64_t retries, bytes, rows, bad;
    zhash_t *seen;              /* failure messages already logged (tl_seen_before) */
    int64_t part_pace_ms;       /* TALLY_PART_PACE_MS: at least this between two parts of a partial
                                   (0); the tests use it to kill a mapper between parts */
    bool dones_ok;              /* the broker's WELCOME said it takes DONES */
    tl_done_t dones [TL_BATCH_MAX];     /* DONEs not yet sent (s_flush_dones) */
    size_t ndones;
    int64_t dones_since;        /* when the oldest of them was added */
} s_mapper_t;

/*  Runs in the slot thread: wake the main thread so that a steal's answer goes out at once. */
static void
s_notify_cut (void *arg)
{
    zsock_send ((zsock_t *) arg, "sp", "CUT", NULL);
}

static void
s_slot_actor (zsock_t *pipe, void *args)
{
    s_slot_t *slot = args;
    slot->steal.notify = s_notify_cut;
    slot->steal.notify_arg = pipe;
    zsock_signal (pipe, 0);
    while (true) {
        char *cmd = NULL;
        void *ptr = NULL;
        if (zsock_recv (pipe, "sp", &cmd, &ptr) != 0)
            break;
        bool term = cmd && streq (cmd, "$TERM");
        if (cmd && streq (cmd, "RUN")) {
            tl_work_result_t *res = calloc (1, sizeof *res);
            if (res)
                tl_work_run (slot->work, slot->name, slot->cfg, &slot->cancel, &slot->progress, &slot->steal, slot->cache,
                             res);
            zsock_send (pipe, "sp", "DONE", res);
        }
        zstr_free (&cmd);
        if (term)
            break;
    }
}

static tl_work_t *
s_work_from (const tl_msg_t *m)
{
    tl_work_t *w = calloc (1, sizeof *w);
    if (!w)
        return NULL;
    snprintf (w->job, sizeof w->job, "%s", m->job);
    w->task = m->task;
    w->attempt = m->attempt;
    w->uri = strdup (m->uri);
    w->offset = m->offset;
    w->length = m->length;
    w->size = m->size;
    w->col = strdup (m->col);
    w->endpoint = m->endpoint && *m->endpoint ? strdup (m->endpoint) : NULL;
    w->region = m->region && *m->region ? strdup (m->region) : NULL;
    w->nosign = m->nosign;
    w->token = strdup (m->token ? m->token : "");
    w->etag = m->etag && *m->etag ? strdup (m->etag) : NULL;
    w->mtime_ns = (int64_t) m->mtime;
    w->verify = m->verify;
    w->format = m->format && *m->format ? strdup (m->format) : NULL;
    w->parts = true;        /* a big table goes in parts (s_send_out) */
    if (!w->uri || !w->col || !w->token)
        tl_work_destroy (&w);
    return w;
}

static void
s_send_hello (s_mapper_t *mp, int64_t now)
{
    tl_msg_t m = { .type = TL_MSG_HELLO, .name = mp->name, .slots = mp->nslots, .fleet = mp->fleet,
                   .batch = TL_BATCH_MAX };
    tl_send (mp->broker, NULL, 0, &m, true);
    mp->last_hello = now;
}

static void
s_cancel_all (s_mapper_t *mp)
{
    for (size_t i = 0; i < mp->nqueue; i++)
        tl_work_destroy (&mp->queue [i]);
    mp->nqueue = 0;
    for (uint32_t i = 0; i < mp->nslots; i++)
        if (mp->slots [i].work)
            mp->slots [i].cancel = 1;
}

static int
s_connect_broker (s_mapper_t *mp)
{
    /* Drop what the old socket still queues (a HELLO sent into the void would join a ghost). */
    if (mp->broker)
        zsock_set_linger (mp->broker, 0);
    zsock_destroy (&mp->broker);
    mp->broker = tl_sock_new (ZMQ_DEALER, 1 << 20);
    mp->broker_gen++;   /* the new socket may sit where the old one did: pointers cannot tell */
    if (!mp->broker)
        return -1;
    tl_err_t se;
    tl_security_client (mp->sec, mp->broker, &se);
    zsock_set_linger (mp->broker, 500);
    if (tl_sock_connect (mp->broker, mp->broker_ep) < 0) {
        tl_error ("cannot connect to broker %s: %s", mp->broker_ep, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

/*  About how many groups a task will have, from the slot's last task of the same job: as many
    in proportion to the length, at most twice as many (a tail task of a few KB after a big one
    must not start with the big one's index, nor a task of another job or query with any). */
static size_t
s_groups_hint (const s_slot_t *s, const tl_work_t *w)
{
    if (!s->last_length || strcmp (s->last_job, w->job) != 0)
        return 0;
    double h = (double) s->last_groups * ((double) w->length / (double) s->last_length);
    return h > 2.0 * (double) s->last_groups ? 2 * s->last_groups : (size_t) h;
}

static void
s_dispatch (s_mapper_t *mp)
{
    for (uint32_t i = 0; i < mp->nslots && mp->nqueue; i++) {
        s_slot_t *s = &mp->slots [i];
        if (s->work)
            continue;
        s->work = mp->queue [0];
        s->work->groups_hint = s_groups_hint (s, s->work);
        /* A spare table much bigger than this task needs would cost more to clear than it saves
           (a tail task after big ones, another job): freed instead. */
        if (s->spare && (!s->work->groups_hint || s->work->groups_hint * 4 < s->spare_groups))
            tl_agg_destroy (&s->spare);
        s->work->spare = &s->spare;
        memmove (mp->queue, mp->queue + 1, (mp->nqueue - 1) * sizeof *mp->queue);
        mp->nqueue--;
        s->cancel = 0;
        atomic_store (&s->progress, 0);
        atomic_store (&s->steal.req, 0);
        tl_debug ("task %llu attempt %llu: %s [%llu+%llu] on slot %u", (unsigned long long) s->work->task,
                  (unsigned long long) s->work->attempt, s->work->uri, (unsigned long long) s->work->offset,
                  (unsigned long long) s->work->length, i);
        zsock_send (s->actor, "sp", "RUN", NULL);
    }
}

static void
s_on_task (s_mapper_t *mp, const tl_msg_t *m)
{
    /* Credit: slots + 1, or up to slots + TL_BATCH_MAX spares for short tasks (our HELLO's batch). */
    if (mp->nqueue >= mp->nslots + TL_BATCH_MAX && !m->verify) {     /* verification copies come at the end, all at once */
        tl_warn ("broker sent task %llu beyond our credit; queued anyway", (unsigned long long) m->task);
    }
    tl_work_t *w = s_work_from (m);
    tl_work_t **q = realloc (mp->queue, (mp->nqueue + 1) * sizeof *q);
    if (!w || !q) {
        tl_msg_t f = { .type = TL_MSG_FAIL, .task = m->task, .attempt = m->attempt, .retry = true,
                       .error = "mapper out of memory" };
        tl_send (mp->broker, NULL, 0, &f, true);
        tl_work_destroy (&w);
        if (q)
            mp->queue = q;
        return;
    }
    mp->queue = q;
    mp->queue [mp->nqueue++] = w;
    s_dispatch (mp);
}

static void
s_on_broker (s_mapper_t *mp, const tl_msg_t *m, int64_t now)
{
    switch (m->type) {
        case TL_MSG_WELCOME:
            mp->welcomed = true;
            snprintf (mp->known_as, sizeof mp->known_as, "%s", m->name && *m->name ? m->name : mp->name);
            mp->backoff_ms = 1000;
            mp->hb_ms = m->hb_ms >= 50 && m->hb_ms <= 60000 ? (int64_t) m->hb_ms : 1000;
            mp->dones_ok = m->batch > 0;
            if (strcmp (mp->reducer_ep, m->reducer) != 0) {
                zsock_destroy (&mp->reducer);
                mp->reducer = tl_sock_new (ZMQ_DEALER, 1024);
                if (mp->reducer)
                    zsock_set_sndhwm (mp->reducer, REDUCER_SNDHWM);
                snprintf (mp->reducer_ep, sizeof mp->reducer_ep, "%s", m->reducer);
                tl_err_t se;
                if (mp->reducer)
                    tl_security_client (mp->sec, mp->reducer, &se);
                if (!mp->reducer || tl_sock_connect (mp->reducer, m->reducer) < 0)
                    tl_error ("cannot connect to reducer %s: %s", m->reducer, zmq_strerror (zmq_errno ()));
            }
            tl_info ("joined job %s as %s with %u slots; reducer %s", m->job, mp->name, mp->nslots, m->reducer);
            break;
        case TL_MSG_TASK:
            s_on_task (mp, m);
            break;
        case TL_MSG_TASKS:
            /* Each assignment as the TASK it stands for, in order. */
            for (size_t i = 0; i < m->n_assigns; i++) {
                const tl_assign_t *a = &m->assigns [i];
                tl_msg_t t = { .type = TL_MSG_TASK, .job = m->job, .col = m->col, .endpoint = m->endpoint,
                               .nosign = m->nosign, .region = m->region, .task = a->task, .attempt = a->attempt,
                               .uri = a->uri, .offset = a->offset, .length = a->length, .size = a->size,
                               .token = a->token, .etag = a->etag, .mtime = a->mtime, .verify = a->verify,
                               .format = a->format };
                s_on_task (mp, &t);
            }
            break;
        case TL_MSG_CANCEL:
            for (size_t i = 0; i < mp->nqueue; i++)
                if (mp->queue [i]->task == m->task) {
                    tl_work_destroy (&mp->queue [i]);
                    memmove (mp->queue + i, mp->queue + i + 1, (mp->nqueue - i - 1) * sizeof *mp->queue);
                    mp->nqueue--;
                    break;
                }
            for (uint32_t i = 0; i < mp->nslots; i++)
                if (mp->slots [i].work && mp->slots [i].work->task == m->task)
                    mp->slots [i].cancel = 1;
            break;
        case TL_MSG_STEAL: {
            bool asked = false;
            for (uint32_t i = 0; i < mp->nslots && !asked; i++) {
                s_slot_t *sl = &mp->slots [i];
                if (sl->work && sl->work->task == m->task && sl->work->attempt == m->attempt
                    && atomic_load (&sl->steal.req) == 0) {
                    atomic_store (&sl->steal.keep, (uint32_t) (m->keep > 1000 ? 1000 : m->keep));
                    atomic_store (&sl->steal.req, 1);
                    asked = true;
                }
            }
            uint64_t cut = 0;
            for (size_t i = 0; i < mp->nqueue && !asked; i++)
                if (mp->queue [i]->task == m->task && mp->queue [i]->attempt == m->attempt) {
                    /* Not started here: give it all back (cut at its own offset). */
                    cut = mp->queue [i]->offset;
                    tl_work_destroy (&mp->queue [i]);
                    memmove (mp->queue + i, mp->queue + i + 1, (mp->nqueue - i - 1) * sizeof *mp->queue);
                    mp->nqueue--;
                    asked = true;
                    tl_msg_t c = { .type = TL_MSG_CUT, .task = m->task, .attempt = m->attempt, .cut = cut,
                                   .returned = true };
                    tl_send (mp->broker, NULL, 0, &c, true);
                }
            if (!asked) {   /* already finished: nothing to cut */
                tl_msg_t c = { .type = TL_MSG_CUT, .task = m->task, .attempt = m->attempt, .cut = 0 };
                tl_send (mp->broker, NULL, 0, &c, true);
            }
            break;
        }
        case TL_MSG_RESET:
            tl_warn ("broker does not know us (lease lapsed or broker restarted): rejoining");
            s_cancel_all (mp);
            s_send_hello (mp, now);
            break;
        case TL_MSG_END:
            tl_info ("job %s ended (%s)", m->job, m->ok ? "ok" : "failed");
            if (!mp->stay)
                mp->ended = true;
            break;
        case TL_MSG_HB:
            break;
        default:
            tl_badmsg_unexpected ("the broker", m->type);
    }
}

/*  Pass a slot's answer to a steal on to the broker. */
static void
s_steal_answer (s_mapper_t *mp, s_slot_t *s)
{
    int req = atomic_load (&s->steal.req);
    if (!req || !s->work)
        return;
    if (req == 1 && s->work)
        return;     /* the slot has not looked yet */
    uint64_t cut = atomic_load (&s->steal.cut);
    tl_msg_t c = { .type = TL_MSG_CUT, .task = s->work->task, .attempt = s->work->attempt, .cut = cut };
    tl_send (mp->broker, NULL, 0, &c, true);
    if (cut)
        tl_info ("task %llu: cut at byte %llu for another mapper", (unsigned long long) s->work->task,
                 (unsigned long long) cut);
    atomic_store (&s->steal.req, 0);
}

/*  How long a DONE may wait to share a DONES with others while the mapper has tasks in hand.
    Each message wakes three processes' threads on its way; tasks of a few KiB end every 50 us,
    so a round of the loop rarely had more than one DONE to send (strace: 8 polls in the broker
    per task). A millisecond costs a task of seconds nothing. */
#define DONES_HOLD_MS 1

/*  The DONEs collected in one DONES. */
static void
s_flush_dones (s_mapper_t *mp)
{
    if (!mp->ndones)
        return;
    tl_msg_t d = { .type = TL_MSG_DONES, .dones = mp->dones, .n_dones = mp->ndones };
    tl_send (mp->broker, NULL, 0, &d, true);
    mp->ndones = 0;
}

static void
s_send_out (s_mapper_t *mp, s_slot_t *s);

static void
s_on_result (s_mapper_t *mp, s_slot_t *s, tl_work_result_t *res)
{
    tl_work_t *w = s->work;
    /* A steal the slot never saw is declined; one it answered is reported before DONE. */
    if (atomic_load (&s->steal.req) == 1) {
        atomic_store (&s->steal.cut, 0);
        atomic_store (&s->steal.req, 2);
    }
    s_steal_answer (mp, s);
    if (!res) {
        tl_msg_t f = { .type = TL_MSG_FAIL, .task = w->task, .attempt = w->attempt, .retry = true,
                       .error = "mapper out of memory" };
        tl_send (mp->broker, NULL, 0, &f, true);
    }
    else if (res->rc == TL_ECANCEL || (s->cancel && res->rc)) {
        tl_debug ("task %llu cancelled", (unsigned long long) w->task);
    }
    else if (res->rc) {
        mp->tasks_failed++;
        tl_log (tl_seen_before (mp->seen, res->err.msg) ? TL_LOG_DEBUG : TL_LOG_WARN, "task %llu failed: %s",
                (unsigned long long) w->task, res->err.msg);
        tl_msg_t f = { .type = TL_MSG_FAIL, .task = w->task, .attempt = w->attempt,
                       .retry = res->err.retryable || res->rc == TL_ENET || res->rc == TL_ENOMEM, .error = res->err.msg };
        tl_send (mp->broker, NULL, 0, &f, true);
    }
    else {
        /* Sent from the main loop (s_send_out), part by part if it comes in parts. */
        s->out = res;
        s->out_since = tl_now_ms ();
        s_send_out (mp, s);
        return;
    }
    if (res) {
        mp->retries += res->rs.retries;
        tl_work_result_clear (res);
    }
    free (res);
    tl_work_destroy (&s->work);
}

/*  Send what the slot's finished task still has to send, while the reducer's socket takes it:
    the whole PARTIAL, or its next parts (each encoded only now). After the last, DONE. */
static void
s_send_out (s_mapper_t *mp, s_slot_t *s)
{
    tl_work_result_t *res = s->out;
    tl_work_t *w = s->work;
    int64_t now = tl_now_ms ();
    const char *fail = NULL;
    bool finished = false;
    if (atomic_load (&s->steal.req) == 1) {     /* counted already: nothing to cut */
        atomic_store (&s->steal.cut, 0);
        atomic_store (&s->steal.req, 2);
    }
    if (s->cancel && res->parts) {     /* (a whole partial still goes, as it always did) */
        tl_debug ("task %llu cancelled while its partial was sent (%u of %u parts)", (unsigned long long) w->task,
                  res->part, res->parts);
        goto release;
    }
    for (int k = 0; k < PARTS_PER_ROUND && !finished; k++) {
        if (res->parts && res->part && now - s->out_since < mp->part_pace_ms)
            return;     /* TALLY_PART_PACE_MS (tests): parts spaced out */
        if (res->parts && !res->partial) {
            int rc = tl_work_next_part (w, s->name, res);
            if (rc == 1) {
                finished = true;
                break;
            }
            if (rc) {
                fail = "mapper out of memory (encoding a part of the partial)";
                break;
            }
        }
        if (!mp->reducer || zmq_send (zsock_resolve (mp->reducer), res->partial, res->partial_len, ZMQ_DONTWAIT) < 0) {
            int err = zmq_errno ();
            if (mp->reducer && (err == EAGAIN || err == EINTR) && now - s->out_since < SEND_WAIT_MS)
                return;     /* the queue is full: again next round */
            fail = mp->reducer ? "reducer unreachable (its send queue took nothing for 60 s)"
                               : "reducer unreachable (no socket)";
            break;
        }
        s->out_since = now;
        if (res->parts) {
            tl_debug ("task %llu: part %u of %u sent (%zu bytes)", (unsigned long long) w->task, res->part, res->parts,
                      res->partial_len);
            res->partial_max = res->partial_len > res->partial_max ? res->partial_len : res->partial_max;
            free (res->partial);
            res->partial = NULL;
            finished = res->part >= res->parts;
        }
        else
            finished = true;
    }
    if (!finished && !fail)
        return;     /* more parts: next round */
    if (fail) {
        /* Parts already sent stay staged at the reducer until it drops them: never applied. */
        tl_msg_t f = { .type = TL_MSG_FAIL, .task = w->task, .attempt = w->attempt, .retry = true, .error = fail };
        tl_send (mp->broker, NULL, 0, &f, true);
        tl_warn ("task %llu: %s", (unsigned long long) w->task, fail);
        goto release;
    }
    mp->tasks_done++;
    s->last_groups = res->groups;
    s->last_length = w->length;
    snprintf (s->last_job, sizeof s->last_job, "%s", w->job);
    mp->bytes += res->bytes;
    mp->rows += res->rows;
    mp->bad += res->bad;
    if (res->parts)
        tl_info ("task %llu: partial of %zu groups sent in %u parts, the largest %zu bytes", (unsigned long long) w->task,
                 res->groups, res->parts, res->partial_max);
    tl_debug ("task %llu: %llu rows, %llu bytes fetched, %llu row group(s) skipped by statistics",
              (unsigned long long) w->task, (unsigned long long) res->rows, (unsigned long long) res->fetched,
              (unsigned long long) res->skipped);
    if (res->rs.retries)
        tl_info ("task %llu: %llu request(s) retried, %llu resumed mid-body", (unsigned long long) w->task,
                 (unsigned long long) res->rs.retries, (unsigned long long) res->rs.resumed);
    if (mp->dones_ok) {
        /* Sent with the round's others (s_flush_dones), after this PARTIAL in any case. */
        if (mp->ndones == TL_BATCH_MAX)
            s_flush_dones (mp);
        if (!mp->ndones)
            mp->dones_since = now;
        mp->dones [mp->ndones++] = (tl_done_t) { w->task, w->attempt, res->rows, res->bytes, res->bad };
    }
    else {
        tl_msg_t d = { .type = TL_MSG_DONE, .task = w->task, .attempt = w->attempt, .rows = res->rows,
                       .bytes = res->bytes, .bad = res->bad };
        tl_send (mp->broker, NULL, 0, &d, true);
    }
release:
    mp->retries += res->rs.retries;
    if (res->agg && !s->spare) {
        s->spare = res->agg;        /* the next task counts into it */
        s->spare_groups = res->groups;
        res->agg = NULL;
    }
    tl_work_result_clear (res);
    free (res);
    s->out = NULL;
    tl_work_destroy (&s->work);
}

static void
s_heartbeat (s_mapper_t *mp, int64_t now)
{
    tl_running_t run [mp->nslots + 1];
    size_t n = 0;
    for (uint32_t i = 0; i < mp->nslots; i++)
        if (mp->slots [i].work)
            run [n++] = (tl_running_t) { mp->slots [i].work->task, mp->slots [i].work->attempt,
                                         atomic_load (&mp->slots [i].progress) };
    tl_msg_t m = { .type = TL_MSG_HB, .running = run, .n_running = n };
    tl_send (mp->broker, NULL, 0, &m, true);
    mp->last_hb = now;
}

int
tl_mapper_main (int argc, char **argv)
{
    tl_mapper_opts_t o = { 0 };
    int prc = tl_mapper_parse (argc, argv, &o);
    return prc ? (prc == 1 ? 0 : prc) : tl_mapper_run (&o);
}

int
tl_mapper_run (const tl_mapper_opts_t *o)
{
    s_mapper_t mp = { .broker_ep = o->broker_ep, .fleet = o->fleet, .nslots = o->nslots, .stay = o->stay,
                      .cfg = o->cfg };
    const char *keys = o->keys, *metrics = o->metrics;
    if (!mp.nslots) {
        long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
        mp.nslots = ncpu > 0 ? (uint32_t) ncpu : 1;
    }
    if (o->name)
        snprintf (mp.name, sizeof mp.name, "%s", o->name);
    else {
        char host [64] = "mapper";
        gethostname (host, sizeof host - 1);
        snprintf (mp.name, sizeof mp.name, "%s-%d", host, (int) getpid ());
    }
    if (o->max_page)
        tl_work_set_max_page (o->max_page);
    tl_log_init ("mapper", o->level);
    tl_malloc_keep ();
    int rc = 1;
    tl_err_t se;
    mp.sec = tl_security_new (keys, false, &se);
    if (keys && !mp.sec) {
        tl_error ("%s", se.msg);
        return 1;
    }
    tl_metrics_t *met = NULL;
    if (metrics && !(met = tl_metrics_new (metrics, "mapper", &se))) {
        tl_error ("%s", se.msg);
        tl_security_destroy (&mp.sec);
        return 1;
    }
    int64_t last_metrics = 0;
    zpoller_t *poller = NULL;
    uint64_t polled = 0;        /* the broker socket the poller holds, by generation: made again with the
                                   socket (by pointer, a new socket at the old one's address was missed,
                                   the poller polled a closed socket, and the mapper stopped at its first
                                   reconnect: test_papercuts_provision) */
    mp.seen = zhash_new ();
    const char *pace = getenv ("TALLY_PART_PACE_MS");
    mp.part_pace_ms = pace ? atoll (pace) : 0;
    mp.hb_ms = 1000;
    mp.backoff_ms = 1000;
    mp.slots = calloc (mp.nslots, sizeof *mp.slots);
    tl_colcache_t *cache = tl_colcache_new ();
    if (!mp.slots || s_connect_broker (&mp) != 0)
        goto done;
    for (uint32_t i = 0; i < mp.nslots; i++) {
        mp.slots [i].name = mp.known_as;
        mp.slots [i].cfg = &mp.cfg;
        mp.slots [i].cache = cache;
        if (!(mp.slots [i].actor = tl_actor_new (s_slot_actor, &mp.slots [i])))
            goto done;
    }
    int64_t now = tl_now_ms ();
    mp.last_heard = now;
    s_send_hello (&mp, now);
    snprintf (mp.known_as, sizeof mp.known_as, "%s", mp.name);
    tl_info ("%s: %u slots, broker %s", mp.name, mp.nslots, mp.broker_ep);
    int64_t last_wait_log = 0;     /* when "no answer from the broker" was last said; 0: not in this wait */
    while (!zsys_interrupted && !mp.ended) {
        if (polled != mp.broker_gen) {
            zpoller_destroy (&poller);
            poller = zpoller_new (mp.broker, NULL);
            for (uint32_t i = 0; i < mp.nslots; i++)
                zpoller_add (poller, mp.slots [i].actor);
            polled = mp.broker_gen;
        }
        bool sending = false;
        for (uint32_t i = 0; i < mp.nslots; i++)
            sending |= mp.slots [i].out != NULL;
        /* A partial being sent goes on at once (or, with a full queue, in a millisecond). */
        int wait = (int) (mp.hb_ms / 4 > 0 ? mp.hb_ms / 4 : 1);
        if (sending)
            wait = 1;
        if (mp.ndones && wait > DONES_HOLD_MS)
            wait = DONES_HOLD_MS;
        void *which = zpoller_wait (poller, wait);
        if (zpoller_terminated (poller))
            break;
        now = tl_now_ms ();
        if (which == mp.broker) {
            for (int k = 0; k < 100; k++) {
                tl_msg_t m;
                tl_err_t e;
                int got = tl_recv_nowait (mp.broker, NULL, NULL, &m, &e);
                if (got <= -2)
                    break;
                mp.last_heard = now;
                if (got == -1) {
                    tl_badmsg ("the broker", &e);
                    continue;
                }
                s_on_broker (&mp, &m, now);
                tl_msg_clear (&m);
            }
        }
        for (uint32_t i = 0; i < mp.nslots; i++) {
            s_slot_t *s = &mp.slots [i];
            if (which == s->actor || (s->work && (zsock_events (zactor_sock (s->actor)) & ZMQ_POLLIN))) {
                char *cmd = NULL;
                void *ptr = NULL;
                if (zsock_recv (s->actor, "sp", &cmd, &ptr) == 0 && cmd && streq (cmd, "DONE"))
                    s_on_result (&mp, s, ptr);
                else if (cmd && streq (cmd, "CUT"))
                    s_steal_answer (&mp, s);
                zstr_free (&cmd);
            }
        }
        for (uint32_t i = 0; i < mp.nslots; i++)
            if (mp.slots [i].out)
                s_send_out (&mp, &mp.slots [i]);
        for (uint32_t i = 0; i < mp.nslots; i++)
            s_steal_answer (&mp, &mp.slots [i]);
        /* DONEs wait up to DONES_HOLD_MS for company while we hold spare tasks; once the spares
           run low they go at once, as credit is what brings more. */
        if (mp.ndones && (mp.nqueue < mp.nslots || now - mp.dones_since >= DONES_HOLD_MS))
            s_flush_dones (&mp);
        s_dispatch (&mp);
        if (now - mp.last_hb >= mp.hb_ms)
            s_heartbeat (&mp, now);
        if (met && now - last_metrics >= 200) {
            uint32_t busy = 0;
            for (uint32_t i = 0; i < mp.nslots; i++)
                busy += mp.slots [i].work != NULL;
            tl_metrics_set (met, "tally_slots", "gauge", "slots", (double) mp.nslots);
            tl_metrics_set (met, "tally_slots_busy", "gauge", "slots running a task", (double) busy);
            tl_metrics_set (met, "tally_tasks_done_total", "counter", "tasks finished", (double) mp.tasks_done);
            tl_metrics_set (met, "tally_tasks_failed_total", "counter", "tasks failed", (double) mp.tasks_failed);
            tl_metrics_set (met, "tally_bytes_total", "counter", "bytes of finished tasks", (double) mp.bytes);
            tl_metrics_set (met, "tally_rows_total", "counter", "rows counted", (double) mp.rows);
            tl_metrics_set (met, "tally_bad_rows_total", "counter", "rows skipped as bad", (double) mp.bad);
            tl_metrics_set (met, "tally_retries_total", "counter", "storage requests retried", (double) mp.retries);
            tl_metrics_set (met, "tally_bad_messages_total", "counter", "malformed messages dropped", (double) tl_badmsg_count ());
            last_metrics = now;
        }
        /* Waiting for a broker that does not answer (not there yet, gone, or out of reach): say so
           after 3 s and then every 30 s, while the HELLOs go on. */
        if (mp.welcomed)
            last_wait_log = 0;
        else if (now - mp.last_heard >= 3000 && (!last_wait_log || now - last_wait_log >= 30000)) {
            tl_warn ("no answer from the broker at %s: is it running%s? (still trying)", mp.broker_ep,
                     strncmp (mp.broker_ep, "tcp://", 6) == 0 ? ", and is the port open" : "");
            last_wait_log = now;
        }
        if (now - mp.last_heard > 5 * mp.hb_ms && now - mp.last_hello >= mp.backoff_ms) {
            if (mp.welcomed)
                tl_warn ("no word from the broker for %lld ms: reconnecting", (long long) (now - mp.last_heard));
            s_cancel_all (&mp);
            mp.welcomed = false;
            if (s_connect_broker (&mp) != 0)
                goto done;
            s_send_hello (&mp, now);
            mp.backoff_ms = mp.backoff_ms * 2 > 10000 ? 10000 : mp.backoff_ms * 2;
        }
    }
    s_flush_dones (&mp);
    if (!mp.ended) {
        tl_msg_t bye = { .type = TL_MSG_BYE };
        tl_send (mp.broker, NULL, 0, &bye, true);
        tl_info ("stopping: unfinished work handed back to the broker");
    }
    rc = 0;
done:
    /* The work is handed back (or the job is over): from here on a signal must not interrupt
       czmq's own waits in the teardown below (a slot thread left holding its socket would block
       the process at exit for ever), so default handling returns and a signal simply ends us. */
    zsys_handler_reset ();
    zpoller_destroy (&poller);
    if (mp.slots) {
        for (uint32_t i = 0; i < mp.nslots; i++)
            mp.slots [i].cancel = 1;
        for (uint32_t i = 0; i < mp.nslots; i++) {
            /* A slot that finished while we were leaving has a result waiting: take it. (One
               whose DONE came already, its partial still going out, owes nothing: waiting for
               it blocked the exit for ever behind a reducer that took nothing.) */
            while (mp.slots [i].actor && mp.slots [i].work && !mp.slots [i].out) {
                char *cmd = NULL;
                void *ptr = NULL;
                if (zsock_recv (mp.slots [i].actor, "sp", &cmd, &ptr) != 0)
                    break;
                bool done = cmd && streq (cmd, "DONE");
                if (done && ptr) {
                    tl_work_result_clear (ptr);
                    free (ptr);
                }
                zstr_free (&cmd);
                if (done)
                    break;
            }
            zactor_destroy (&mp.slots [i].actor);
            if (mp.slots [i].out) {
                tl_work_result_clear (mp.slots [i].out);
                free (mp.slots [i].out);
            }
            tl_work_destroy (&mp.slots [i].work);
            tl_agg_destroy (&mp.slots [i].spare);
        }
    }
    for (size_t i = 0; i < mp.nqueue; i++)
        tl_work_destroy (&mp.queue [i]);
    free (mp.queue);
    free (mp.slots);
    tl_colcache_destroy (&cache);
    zsock_destroy (&mp.broker);
    zsock_destroy (&mp.reducer);
    tl_security_destroy (&mp.sec);
    tl_metrics_destroy (&met);
    zhash_destroy (&mp.seen);
    tl_info ("%llu tasks done, %llu failed", (unsigned long long) mp.tasks_done, (unsigned long long) mp.tasks_failed);
    return rc;
}
