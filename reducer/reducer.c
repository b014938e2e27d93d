/*  reducer.c — the reducer process.

    Sockets: a ROUTER on --listen takes JOB/END from the broker and PARTIALs from mappers; an
    XPUB on --publish serves watchers. XPUB hands us every subscription (XPUB_VERBOSE), and we
    answer each with a snapshot of the whole table: that lets a late watcher see the whole
    table at once, and the final result long after the job ended.

    Acks: applied task ids (with the length each partial covered) are batched and sent to the
    broker after each poll round, as the next entries of this process's ack log
    (lib/wire/applied.h). The broker re-sends JOB every few seconds with how much of the log it
    holds, and we answer with the rest: the whole applied set only when its view is not a
    prefix of our log (we restarted, it did, or a digest disagrees). So a lost ack only delays
    a task's completion; it never loses or repeats one, and a JOB costs what changed.

    Durability (--state-dir, reducer/ckptfile.h): a base (the whole ledger, written atomically)
    plus an append-only log of what was applied since. Each applied task goes into the log
    (s_log_applied, the one place that appends a task), and at most every 100 ms the log is
    fsynced; acks wait for the fsync that holds them. So a checkpoint costs O(changes), and
    whatever the broker counts as applied survives a kill -9; a partial applied but not yet
    synced is simply re-done. A new base is written when a job starts, when the log outgrows
    max(64 MiB, twice the base or the state) or --compact-bytes, and after a failed append; the job's end is a
    log record.
    Each run has a random instance id in its acks, so the broker can tell that we restarted
    and re-issue what we may have lost.

    A partial for a task id beyond the job's current count (a tail split whose JOB update has
    not arrived yet) is held, up to 1,024 of them, and applied when the count grows.

    A task's partial of many groups comes in parts (docs/PROTOCOL.md): each part's groups are
    staged as the part arrives (reducer/stage.h), and the task is applied when its last part is
    in, whole, once. Every apply, whole or staged, goes through s_apply.

    One job at a time, and nothing crosses between jobs. A JOB with another id is refused
    (REFUSED) while the current job has not ended; a partial is applied, or held, only if it
    belongs to the current job and carries the token the broker gave that assignment
    (lib/wire/token.h); anything else is dropped and counted. At END the job is ok only if the
    applied set covers the broker's whole task list (count and digest of every (id, length)).

    Watchers (the Clone pattern, docs/PROTOCOL.md): what goes out costs O(changes), not
    O(groups). The ledger's totals remember which groups each partial touched; at most 5 times a
    second the groups changed since the last update go out as a delta (their totals, with seq
    and base = the seq before). A snapshot, the whole table, goes out when a subscription
    arrives, when a job starts, and at the job's end. Updates go in parts of at most 64 K
    groups, or in 24 parts when the table is bigger than 24 x 64 K. Before a snapshot the
    pending changes go out as a delta (maybe empty), and the snapshot takes its seq: a watcher
    that already holds that seq skips it, so one late watcher does not make every other rebuild
    its table. Snapshots asked for by subscriptions are spaced so that they take at most a
    tenth of the reducer's time (a lossy watcher that keeps asking cannot swamp it).

    The XPUB queue per subscriber (SNDHWM) holds 64 messages: two updates of 24 parts (a
    snapshot, a delta that touched every group) and some. So a snapshot fits in the queue of a
    watcher that reads, and one that stops reading holds at most 64 messages (shared between
    subscribers: at the very worst about 2.7 tables, usually a few deltas). What a slow
    watcher misses is a gap it sees (a delta's base is not the seq it holds) and repairs by
    subscribing again. While a job runs, and for 30 s after its end, an empty delta goes out
    when nothing else has for 2 s, so a watcher that missed the last update finds out. */
#include "reducer/reducer.h"
#include "reducer/opts.h"
#include "lib/wire/security.h"
#include "lib/base/metrics.h"
#include "lib/wire/applied.h"
#include "reducer/ledger.h"
#include "reducer/stage.h"
#include "reducer/ckptfile.h"
#include "lib/wire/token.h"
#include "lib/core/query.h"
#include "lib/base/log.h"
#include "lib/wire/net.h"
#include "lib/base/util.h"
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLISH_MIN_MS 200
#define CHECKPOINT_MIN_MS 100
#define CHECKPOINT_MAX_MS 1000  /* and at most this long apart while partials keep coming */
#define PENDING_MAX 1024
#define PART_GROUPS 65536       /* groups per message of a snapshot or a delta, at most, */
#define PARTS_MAX 24            /* unless the table needs more: then a table takes 24 parts */
#define XPUB_HWM (2 * PARTS_MAX + 16)   /* messages queued per watcher: a snapshot, a delta that
                                           touched every group, and some */
#define HEARTBEAT_MS 2000       /* an empty delta when nothing went out for this long, */
#define FINAL_REPEAT_FOR_MS 30000   /* while the job runs and this long after its end */
#define DRAIN_MAX_MS 50          /* a round of the loop reads messages this long at most */
#define SNAPSHOT_SPACING 9      /* a requested snapshot waits 9x what the last one took: <= 10% */
#define STALL_WARN_MS 5000
#define STAGE_TASKS_MAX 256         /* tasks whose partial is coming in parts, at most, */
#define STAGE_GROUPS_MAX (16u << 20)  /* and their groups in all (~1.2 GB at ~75 bytes a staged group) */
#define PENDING_STAGED_MAX 8        /* held partials that came in parts (each a whole task's groups) */
/*  The ROUTER's message cap: a PARTIAL (or one part of one) is at most TL_PARTIAL_MAX, and the
    broker's ACTIVITY rings are a few MB at their caps. Was 64 MiB when a task's partial was one
    message whatever its groups. */
#define ROUTER_MSG_MAX ((int64_t) 8 << 20)
/*  Messages the ROUTER reads ahead per peer: with parts of up to ~4 MiB, 64 of them bound what
    a fast mapper can park in our memory while we merge; it waits on its send queue instead. */
#define ROUTER_RCVHWM 64

/*  A task that came in parts with at least this many groups is merged into the totals by the
    merger thread (s_merger_t); smaller ones, and whole PARTIALs, here. */
#define MERGE_ASIDE_MIN 16384
/*  While a merge runs, what reads the totals (checkpoint, publishing) waits for it, at most
    this long: then this thread waits for the merge instead. */
#define MERGE_HOLD_MAX_MS 500

/*  The merger: a second thread that adds a big task's groups to the totals (tl_ledger_merge)
    while this one goes on reading, staging, digesting and logging the next task's parts. With
    one slot at millions of groups the reducer was the bound, and half of its time was the
    merge. One task at a time. The task is booked first, here (tl_ledger_admit: applied id,
    length, digest, counters, the log record, the ack), so only the totals are the merger's
    until s_settle: everything that reads or changes them settles first (s_apply, JOB, END,
    the checkpoint, publishing, the end of the process). The merger touches nothing else, but
    for the one other work it is lent when it is idle: half of the final table's sort
    (s_run_two). */
typedef struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running;           /* the thread was started */
    bool busy;              /* a task was handed over and its merge has not finished */
    bool quit;
    tl_ledger_t *ledger;
    tl_staged_t *task;      /* the task handed over, owned until s_settle frees it */
    void (*work) (void *);  /* or a piece of other work handed over (s_run_two), with its arg */
    void *work_arg;
    int pace_ms;            /* TALLY_MERGE_PACE_MS (tests): each merge waits this long first */
} s_merger_t;

/*  A partial held until JOB announces its task id: a whole PARTIAL, or the whole task of
    one that came in parts. */
typedef struct {
    tl_msg_t m;
    tl_staged_t *staged;
} s_held_t;

typedef struct {
    zsock_t *router, *xpub;
    tl_ledger_t *ledger;
    char job [TL_STR_MAX + 1];
    char col [TL_STR_MAX + 1];
    char error [TL_STR_MAX + 1];
    uint64_t bytes_total;
    bool have_job, done, ok;
    int64_t started, finished;
    uint64_t seq;           /* of the last update published */
    bool dirty;             /* something changed since (totals, progress, activity) */
    int64_t last_pub;
    bool fresh;             /* the next update is a snapshot with a new seq (start, a new job) */
    bool want_snapshot;     /* a subscriber arrived: a snapshot once snap_after is reached */
    int64_t snap_after;
    uint64_t pub_msgs, pub_bytes, pub_snapshots, pub_deltas, snap_requests;
    uint64_t pub_bare, pub_delta_groups; /* deltas sent bare; groups sent in deltas */
    uint64_t snap_bytes, snap_groups, snap_parts;   /* of the last snapshot */
    char broker [256];
    size_t brokerlen;
    uint64_t *acks, *ack_lens;
    size_t nacks, acks_cap;
    tl_acklog_t *acklog;    /* every id acked by this process, in order (lib/wire/applied.h) */
    uint64_t ids_sent;      /* task ids sent in APPLIED, all told */
    uint64_t full_sent;     /* APPLIED messages that held the whole set */
    uint64_t stale;     /* partials for another job */
    const char *state_dir;
    tl_ckptfile_t *ckpt;    /* the base and log in state_dir, NULL without one */
    char instance [17];
    bool unsaved;       /* applied since the last checkpoint */
    int64_t last_ckpt;
    s_held_t pending [PENDING_MAX];
    size_t npending;
    size_t npending_staged;     /* of them, partials that came in parts */
    tl_stage_t *stage;          /* partials coming in parts (reducer/stage.h) */
    uint64_t stage_evicted_said;    /* evictions already logged */
    uint8_t key [TL_TOKEN_KEY_LEN];     /* the job's token key, from JOB */
    tl_token_mac_t *mac;    /* key made ready for checks (s_token_ok), remade when key changes */
    char fingerprint [TL_STR_MAX + 1];
    uint64_t forged;        /* partials without a valid token */
    uint64_t refused;       /* JOBs refused */
    uint64_t write_errors;  /* checkpoints that could not be written */
    char stalled [TL_STR_MAX];  /* why acks are held back, "" when they are not */
    int64_t stall_warned, stall_told;
    int64_t compact_failed;     /* when a compaction last failed: the next waits STALL_WARN_MS */
    tl_msg_t activity;      /* the broker's last ACTIVITY (bounded rings), owned */
    bool act_wanted;        /* a dashboard subscribes to TL_ACT_TOPIC: UPDATEs carry the activity */
    bool groups_wanted;     /* a replica subscribes to TL_GROUPS_TOPIC: deltas carry their groups */
    s_merger_t merger;
    int64_t hold_since;     /* rounds have waited for a merge since then (0: none is waiting) */
} s_reducer_t;

static void *
s_merger_main (void *arg)
{
    s_merger_t *w = arg;
    pthread_mutex_lock (&w->mu);
    for (;;) {
        while (!w->busy && !w->quit)
            pthread_cond_wait (&w->cv, &w->mu);
        if (!w->busy)
            break;      /* quit, with nothing handed over */
        tl_staged_t *t = w->task;
        void (*work) (void *) = w->work;
        void *work_arg = w->work_arg;
        pthread_mutex_unlock (&w->mu);
        if (work)
            work (work_arg);
        else {
            if (w->pace_ms)
                zclock_sleep (w->pace_ms);
            tl_ledger_merge (w->ledger, &t->msg);
        }
        pthread_mutex_lock (&w->mu);
        w->busy = false;
        pthread_cond_broadcast (&w->cv);
    }
    pthread_mutex_unlock (&w->mu);
    return NULL;
}

/*  Start the merger; without it (no thread to be had) every merge is done here. */
static void
s_merger_start (s_merger_t *w, tl_ledger_t *ledger)
{
    w->ledger = ledger;
    const char *pace = getenv ("TALLY_MERGE_PACE_MS");
    w->pace_ms = pace ? atoi (pace) : 0;
    if (pthread_mutex_init (&w->mu, NULL) != 0)
        return;
    if (pthread_cond_init (&w->cv, NULL) != 0) {
        pthread_mutex_destroy (&w->mu);
        return;
    }
    w->running = pthread_create (&w->thread, NULL, s_merger_main, w) == 0;
    if (!w->running) {
        pthread_cond_destroy (&w->cv);
        pthread_mutex_destroy (&w->mu);
        tl_warn ("cannot start the merger thread: big tasks are merged on the main thread");
    }
}

/*  Is a merge under way? */
static bool
s_merging (s_reducer_t *r)
{
    s_merger_t *w = &r->merger;
    if (!w->task)
        return false;
    pthread_mutex_lock (&w->mu);
    bool busy = w->busy;
    pthread_mutex_unlock (&w->mu);
    return busy;
}

/*  Wait until the merge handed over (if any) is in the totals, and free its task. */
static void
s_settle (s_reducer_t *r)
{
    s_merger_t *w = &r->merger;
    if (!w->task)
        return;
    pthread_mutex_lock (&w->mu);
    while (w->busy)
        pthread_cond_wait (&w->cv, &w->mu);
    pthread_mutex_unlock (&w->mu);
    tl_staged_destroy (&w->task);
}

/*  Merge an admitted task's groups: handed to the merger when it is big and the merger runs
    (*own is then the merger's and set to NULL), else here. */
static void
s_merge (s_reducer_t *r, const tl_msg_t *m, tl_staged_t **own)
{
    s_merger_t *w = &r->merger;
    /* Stopping (a signal): merged here, so that the stop waits for this merge only. */
    if (!own || !*own || !w->running || m != &(*own)->msg || m->n_groups < MERGE_ASIDE_MIN || zsys_interrupted) {
        tl_ledger_merge (r->ledger, m);
        return;
    }
    tl_debug ("task %llu: its %llu groups go to the merger", (unsigned long long) m->task,
              (unsigned long long) m->n_groups);
    pthread_mutex_lock (&w->mu);
    w->task = *own;
    *own = NULL;
    w->busy = true;
    pthread_cond_signal (&w->cv);
    pthread_mutex_unlock (&w->mu);
}

/*  A tl_agg_run_fn: the works two at a time, one on the merger and one here; without the
    merger, all here. The final table's sort is cut in two this way: the job is over, the
    mapper idle, and the merger has nothing else to do. The merger is idle: the sort's
    callers (s_publish_delta, s_publish_snapshot) settled it before the sort began. */
static void
s_run_two (void *ctx, void (*work) (void *), void **args, size_t n)
{
    s_reducer_t *r = ctx;
    s_merger_t *w = &r->merger;
    assert (!w->task);
    for (size_t i = 0; i < n; i += 2) {
        if (i + 1 == n || !w->running) {
            work (args [i]);
            if (i + 1 < n)
                work (args [i + 1]);
            continue;
        }
        pthread_mutex_lock (&w->mu);
        w->work = work;
        w->work_arg = args [i + 1];
        w->busy = true;
        pthread_cond_signal (&w->cv);
        pthread_mutex_unlock (&w->mu);
        work (args [i]);
        pthread_mutex_lock (&w->mu);
        while (w->busy)
            pthread_cond_wait (&w->cv, &w->mu);
        w->work = NULL;
        pthread_mutex_unlock (&w->mu);
    }
}

static void
s_merger_stop (s_reducer_t *r)
{
    s_merger_t *w = &r->merger;
    if (!w->running)
        return;
    s_settle (r);
    pthread_mutex_lock (&w->mu);
    w->quit = true;
    pthread_cond_signal (&w->cv);
    pthread_mutex_unlock (&w->mu);
    pthread_join (w->thread, NULL);
    pthread_cond_destroy (&w->cv);
    pthread_mutex_destroy (&w->mu);
    w->running = false;
}

static void
s_free_data (void *data, void *hint)
{
    (void) hint;
    free (data);
}

/*  Is f an XPUB (un)subscription of topic? */
static bool
s_topic_is (zframe_t *f, const char *topic)
{
    size_t tn = strlen (topic);
    return f && zframe_size (f) == 1 + tn && memcmp (zframe_data (f) + 1, topic, tn) == 0;
}

/*  Encode and send one UPDATE (zero-copy), and count it. */
static void
s_send_update (s_reducer_t *r, const tl_msg_t *m)
{
    char *data = NULL;
    size_t len = 0;
    zmq_msg_t msg;
    if (tl_msg_encode (m, &data, &len) != 0 || zmq_msg_init_data (&msg, data, len, s_free_data, NULL) != 0) {
        free (data);
        tl_warn ("publish failed: out of memory");
        return;
    }
    if (zmq_msg_send (&msg, zsock_resolve (r->xpub), ZMQ_DONTWAIT) < 0) {
        tl_warn ("publish failed: %s", zmq_strerror (zmq_errno ()));
        zmq_msg_close (&msg);
        return;
    }
    r->pub_msgs++;
    r->pub_bytes += len;
}

/*  One update: the whole table (snapshot) or the groups changed since the last update (delta),
    in parts that share seq: at most PART_GROUPS groups each, or a PARTS_MAXth of the table
    when that is more, so that an update is never more parts than the XPUB queues. Totals, progress and mappers go in
    every part; the dashboard's activity only in the last. Groups are not sorted (the receiver
    ranks them: lib/wire/clone.h), but for a done job's snapshot, the final table, which lists
    them in output order. Its callers (s_publish_delta, s_publish_snapshot) have settled the
    merger. */
static void
s_publish_update (s_reducer_t *r, int64_t now, bool snapshot, uint64_t seq, uint64_t base)
{
    const tl_agg_t *totals = tl_ledger_totals (r->ledger);
    const tl_agg_t *mappers = tl_ledger_mappers (r->ledger);
    tl_ledger_stats_t st = tl_ledger_stats (r->ledger);
    size_t size = tl_agg_size (totals), nm = tl_agg_size (mappers);
    /* Nobody keeps a replica (every watcher prints only the final table): a delta is progress
       only. A replica that subscribes later starts from a snapshot anyway. */
    bool bare = !snapshot && !r->groups_wanted;
    size_t ng = snapshot ? size : bare ? 0 : tl_ledger_changed_count (r->ledger);
    size_t per = (size + PARTS_MAX - 1) / PARTS_MAX;
    if (per < PART_GROUPS)
        per = PART_GROUPS;
    size_t parts = ng ? (ng + per - 1) / per : 1;
    /* The final table goes out in output order (docs/PROTOCOL.md): sorted once for the job (the
       ledger keeps the order; later snapshots of it re-use it), so a watcher that only prints
       the result needs no replica and no sort of its own (lib/wire/final.h). A failed job's
       table is not sealed: it is read as it is. */
    bool final = snapshot && r->done && r->ok && size > 1;
    int64_t sort0 = final ? tl_now_ms () : 0;
    tl_agg_view_t *view = final ? tl_ledger_sorted_par (r->ledger, s_run_two, r) : NULL;
    if (final)
        tl_debug ("the final table's order: %zu groups in %lld ms", size, (long long) (tl_now_ms () - sort0));
    if (final && !view)
        tl_warn ("the final snapshot goes out unsorted: out of memory");
    size_t room = ng < per ? ng : per;
    tl_agg_entry_t *groups = malloc (room * sizeof *groups + 1);
    /* The keys the view rebuilds from its records (the same length each), a part's worth. */
    size_t klen = view ? tl_agg_view_keylen (view) : 0;
    char *keys = malloc (room * klen + 1);
    tl_agg_entry_t *ments = calloc (nm + 1, sizeof *ments);
    tl_mapper_stat_t *ms = calloc (nm + 1, sizeof *ms);
    char *names = calloc (nm + 1, TL_AGG_KEY_MAX + 1);
    if (!groups || !keys || !ments || !ms || !names) {
        tl_warn ("publish failed: out of memory");
        goto done;
    }
    tl_agg_sorted (mappers, ments);
    for (size_t i = 0; i < nm; i++) {
        char *n = names + i * (TL_AGG_KEY_MAX + 1);
        memcpy (n, ments [i].key, ments [i].len);
        ms [i].name = n;
        ms [i].tasks = ments [i].count;
    }
    tl_msg_t m = {
        .type = TL_MSG_UPDATE, .seq = seq, .job = r->job, .col = r->col, .done = r->done, .ok = r->ok,
        .error = r->error, .tasks_done = st.tasks_applied, .tasks_total = st.tasks_total, .rows = st.rows,
        .bytes = st.bytes, .bytes_total = r->bytes_total, .bad = st.bad, .blank = st.blank, .dups = st.dups,
        .elapsed_ms = (uint64_t) ((r->done ? r->finished : now) - r->started),
        .groups = groups, .mappers = ms, .n_mappers = nm,
        .ncells = tl_agg_ncells (totals), .filtered = st.filtered, .fetched = st.fetched, .skipped = st.skipped,
        .kind = snapshot ? TL_UPDATE_SNAPSHOT : TL_UPDATE_DELTA, .base = base, .parts = parts, .bare = bare,
    };
    size_t pos = 0;
    uint64_t bytes0 = r->pub_bytes;
    for (size_t part = 1; part <= parts; part++) {
        size_t n = 0;
        m.groups = groups;
        if (view) {
            n = size - pos < per ? size - pos : per;
            for (size_t i = 0; i < n; i++, pos++) {
                tl_agg_view_prefetch_ahead (view, pos);
                tl_agg_view_at (view, pos, &groups [i], keys + i * klen);
            }
        }
        else
            while (!bare && n < per && (snapshot ? tl_agg_next (totals, &pos, &groups [n])
                                                : tl_ledger_changed_next (r->ledger, &pos, &groups [n])))
                n++;
        m.part = part;
        m.n_groups = n;
        if (part == parts && r->act_wanted && r->activity.type == TL_MSG_ACTIVITY
            && strcmp (r->activity.job, r->job) == 0) {
            m.spans = r->activity.spans, m.n_spans = r->activity.n_spans;
            m.events = r->activity.events, m.n_events = r->activity.n_events;
            m.workers = r->activity.workers, m.n_workers = r->activity.n_workers;
            m.clock = r->activity.clock;
        }
        s_send_update (r, &m);
        if (!snapshot)
            r->pub_delta_groups += n;
    }
    r->pub_bare += bare;
    if (snapshot) {
        r->snap_bytes = r->pub_bytes - bytes0;
        r->snap_groups = ng;
        r->snap_parts = parts;
    }
done:
    free (groups);
    free (keys);
    free (ments);
    free (ms);
    free (names);
}

/*  The groups changed since the last update, with seq + 1 and base = seq. With nothing
    changed it is a heartbeat: a watcher that missed the update before sees the gap. */
static void
s_publish_delta (s_reducer_t *r, int64_t now)
{
    s_settle (r);
    uint64_t base = r->seq++;
    s_publish_update (r, now, false, r->seq, base);
    tl_ledger_changes_clear (r->ledger);
    r->pub_deltas++;
    r->dirty = false;
    r->last_pub = now;
}

/*  The whole table. Pending changes go out first as a delta (empty if there are none), and
    the snapshot takes its seq: it is the state that seq names, so a watcher that holds it skips
    the snapshot. Always a delta, not only when something is known to have changed: then no
    field that changed without marking the state dirty can give one seq two states. A fresh
    snapshot (a start, a new job, most groups changed) takes a new seq instead. */
static void
s_publish_snapshot (s_reducer_t *r, int64_t now)
{
    s_settle (r);
    /* When most groups changed, the delta would be about a snapshot itself: send only the
       snapshot, under a new seq (every watcher rebuilds, as it would have applied as much). */
    size_t changed = tl_ledger_changed_count (r->ledger);
    if (changed > tl_agg_size (tl_ledger_totals (r->ledger)) / 2)
        r->fresh = true;
    if (!r->fresh)
        s_publish_delta (r, now);   /* even an empty one: the snapshot's seq then names now */
    if (r->fresh)
        r->seq++;
    int64_t t0 = tl_now_ms ();
    s_publish_update (r, now, true, r->seq, 0);
    tl_ledger_changes_clear (r->ledger);
    int64_t took = tl_now_ms () - t0;
    tl_debug ("snapshot %llu: %llu groups in %llu part(s), %llu bytes, %lld ms", (unsigned long long) r->seq,
              (unsigned long long) r->snap_groups, (unsigned long long) r->snap_parts,
              (unsigned long long) r->snap_bytes, (long long) took);
    r->pub_snapshots++;
    r->fresh = r->want_snapshot = r->dirty = false;
    r->last_pub = now;
    r->snap_after = t0 + took + (SNAPSHOT_SPACING * took > PUBLISH_MIN_MS ? SNAPSHOT_SPACING * took : PUBLISH_MIN_MS);
}

static void
s_hex64 (uint64_t v, char out [17])
{
    snprintf (out, 17, "%016llx", (unsigned long long) v);
}

/*  Acks to the broker: with full, the whole applied set (the log starts again from it);
    otherwise the pending acks join the log and its entries from `from` on go out. answer: it
    answers a JOB, and goes out even with nothing new (the broker tells a reducer that is gone
    from one with nothing to say by these answers). */
static void
s_send_applied (s_reducer_t *r, bool full, uint64_t from, bool answer)
{
    if (!r->brokerlen || !r->have_job)
        return;
    uint64_t *all = NULL, *lens = NULL;
    size_t n = 0;
    if (full) {
        if (tl_ledger_applied_ids (r->ledger, &all, &lens, &n) != 0)
            return;
        tl_acklog_clear (r->acklog);
        for (size_t i = 0; i < n; i++)
            if (tl_acklog_add (r->acklog, all [i], lens [i]) < 0) {
                tl_acklog_clear (r->acklog);    /* an empty log makes the next JOB full again */
                break;
            }
        from = 0;
    }
    else {
        if (r->nacks == 0 && from >= tl_acklog_size (r->acklog) && !answer)
            return;
        for (size_t i = 0; i < r->nacks; i++)
            if (tl_acklog_add (r->acklog, r->acks [i], r->ack_lens [i]) < 0)
                break;      /* out of memory: the broker's next JOB finds the gap */
    }
    r->nacks = 0;
    size_t size = tl_acklog_size (r->acklog);
    char dig [17];
    s_hex64 (tl_acklog_digest (r->acklog, size), dig);
    tl_msg_t m = { .type = TL_MSG_APPLIED, .job = r->job, .full = full, .instance = r->instance,
                   .stalled = r->stalled, .seq = from, .digest = dig, .answers = true };
    if (full) {
        m.ids = all;
        m.lengths = lens;
        m.n_ids = m.n_lengths = n;
    }
    else if (from < size) {
        m.ids = (uint64_t *) tl_acklog_ids (r->acklog) + from;
        m.lengths = (uint64_t *) tl_acklog_lengths (r->acklog) + from;
        m.n_ids = m.n_lengths = size - (size_t) from;
    }
    if (!full && m.n_ids == 0 && !answer)
        goto done;      /* nothing new; a JOB is answered anyway, so the broker knows we are here */
    if (tl_send (r->router, r->broker, r->brokerlen, &m, true) != 0)
        tl_debug ("ack to broker not sent (%s); it will re-sync", zmq_strerror (zmq_errno ()));
    r->ids_sent += m.n_ids;
    r->full_sent += full;
done:
    free (all);
    free (lens);
}

/*  While checkpoints fail, acks wait; tell the broker why, once a second. */
static void
s_send_applied_stalled (s_reducer_t *r, int64_t now)
{
    if (!*r->stalled || !r->brokerlen || now - r->stall_told < 1000)
        return;
    tl_msg_t m = { .type = TL_MSG_APPLIED, .job = r->job, .full = false, .instance = r->instance,
                   .stalled = r->stalled, .answers = true };
    tl_send (r->router, r->broker, r->brokerlen, &m, true);
    r->stall_told = now;
}

/*  A new base: the whole ledger and the job's meta (ckptfile.h says when). */
static int
s_write_base (s_reducer_t *r, tl_err_t *e)
{
    char key [2 * TL_TOKEN_KEY_LEN + 1];
    tl_token_key_hex (r->key, key);
    tl_ledger_meta_t meta = { r->job, r->col, r->bytes_total, r->done, r->ok, r->error, r->fingerprint, key, 0 };
    return tl_ckptfile_base (r->ckpt, r->ledger, &meta, e);
}

/*  Make what was applied durable: fsync the log, or write a base when one is due (a new job,
    a failed append) or the log has outgrown its bound. Acks wait until this succeeds. */
static void
s_checkpoint (s_reducer_t *r, int64_t now)
{
    s_settle (r);   /* a base, and the log's bound, read the totals */
    if (!r->state_dir) {
        r->unsaved = false;     /* nothing to make durable: acks go out at once */
        return;
    }
    if (!r->have_job)
        return;
    tl_err_t e = { 0 };
    int rc = tl_ckptfile_base_due (r->ckpt) ? TL_EINVAL : tl_ckptfile_sync (r->ckpt, &e);
    bool compact = tl_ckptfile_log_full (r->ckpt, r->ledger) && now - r->compact_failed >= STALL_WARN_MS;
    if (rc != 0 || compact) {
        tl_err_t be = { 0 };
        if (s_write_base (r, &be) == 0)
            rc = 0;
        else if (rc == 0) {
            /* A compaction that failed: the log is synced and holds everything, so acks go
               on; the log grows until a base can be written. A base is O(groups): try again
               only after a pause, warning each time. */
            r->write_errors++;
            r->compact_failed = now;
            tl_warn ("cannot write a new base in %s (the log is intact and keeps growing; next try in %d s): %s",
                     r->state_dir, STALL_WARN_MS / 1000, be.msg);
        }
        else
            e = be;
    }
    if (rc != 0) {
        /* Without a checkpoint we must not ack: the broker would count unsaved work as safe.
           Say so rarely (a full disk fails every 100 ms), count it, and tell the broker why. */
        r->write_errors++;
        snprintf (r->stalled, sizeof r->stalled, "cannot write the checkpoint in %s: %s", r->state_dir, e.msg);
        if (now - r->stall_warned >= STALL_WARN_MS) {
            tl_warn ("%s (%llu failed writes so far; acks to the broker wait until a write succeeds)", r->stalled,
                     (unsigned long long) r->write_errors);
            r->stall_warned = now;
        }
        r->last_ckpt = now;     /* retry at the checkpoint pace, not in a tight loop */
        return;
    }
    if (*r->stalled) {
        tl_info ("the checkpoint in %s is written again; acks resume", r->state_dir);
        *r->stalled = 0;
    }
    r->unsaved = false;
    r->last_ckpt = now;
}

/*  The log append for one applied task, and the only one: called once per task, right after
    the ledger applied it and before its ack can go out. hdr carries the task's header and
    counters (task, attempt, length, mapper, rows, bytes, bad, blank, filtered, fetched,
    skipped); its groups are hdr->groups when staged is NULL, or the staged table's (a partial
    that arrived in parts and was applied at once). */
static void
s_log_applied (s_reducer_t *r, const tl_msg_t *hdr, const tl_agg_t *staged)
{
    if (r->ckpt)
        tl_ckptfile_put_task (r->ckpt, hdr, staged);
}

static void
s_apply (s_reducer_t *r, const tl_msg_t *m, tl_staged_t **own);

static void
s_held_clear (s_reducer_t *r, s_held_t *h)
{
    if (h->staged)
        r->npending_staged--;
    tl_staged_destroy (&h->staged);
    tl_msg_clear (&h->m);
}

/*  Partials held for task ids beyond the job's count: apply those that fit now. */
static void
s_retry_pending (s_reducer_t *r)
{
    size_t keep = 0;
    for (size_t i = 0; i < r->npending; i++) {
        s_held_t *h = &r->pending [i];
        const tl_msg_t *m = h->staged ? &h->staged->msg : &h->m;
        if (m->task < tl_ledger_stats (r->ledger).tasks_total) {
            if (h->staged) {
                r->npending_staged--;
                tl_staged_t *st = h->staged;
                h->staged = NULL;
                s_apply (r, m, &st);    /* may hand st to the merger */
                tl_staged_destroy (&st);
            }
            else
                s_apply (r, m, NULL);
            s_held_clear (r, h);
        }
        else
            r->pending [keep++] = *h;
    }
    r->npending = keep;
}

static void
s_refuse (s_reducer_t *r, const void *ident, size_t identlen, const tl_msg_t *m, const char *why)
{
    r->refused++;
    tl_warn ("refused job %s from a broker: %s", m->job, why);
    tl_msg_t no = { .type = TL_MSG_REFUSED, .job = m->job, .current = r->job, .error = why };
    tl_send (r->router, ident, identlen, &no, true);
}

static void
s_on_job (s_reducer_t *r, const void *ident, size_t identlen, const tl_msg_t *m, int64_t now)
{
    s_settle (r);   /* a new job resets the totals */
    uint8_t key [TL_TOKEN_KEY_LEN];
    char why [TL_STR_MAX];
    if (tl_token_key_from_hex (m->key, key) != 0) {
        s_refuse (r, ident, identlen, m, "its token key is malformed");
        return;
    }
    if (r->have_job && strcmp (r->job, m->job) != 0 && !r->done) {
        tl_ledger_stats_t st = tl_ledger_stats (r->ledger);
        snprintf (why, sizeof why, "this reducer is serving job %s (%llu/%llu tasks applied), which has not ended; "
                  "one reducer serves one job at a time", r->job, (unsigned long long) st.tasks_applied,
                  (unsigned long long) st.tasks_total);
        s_refuse (r, ident, identlen, m, why);
        return;
    }
    if (r->have_job && strcmp (r->job, m->job) == 0) {
        if (strcmp (r->fingerprint, m->fingerprint) != 0 || memcmp (r->key, key, sizeof key) != 0) {
            s_refuse (r, ident, identlen, m, "a job with this id but another fingerprint or key is already here");
            return;
        }
        uint64_t seen = tl_ledger_stats (r->ledger).tasks_total;
        if (m->tasks < seen) {
            snprintf (why, sizeof why, "the broker's job has %llu task(s), but this reducer has seen %llu: the "
                      "broker's journal lost records, and carrying on would count wrongly",
                      (unsigned long long) m->tasks, (unsigned long long) seen);
            s_refuse (r, ident, identlen, m, why);
            return;
        }
    }
    if (!r->have_job || strcmp (r->job, m->job) != 0) {
        if (r->have_job)
            tl_info ("job %s replaces job %s, which had ended", m->job, r->job);
        tl_ledger_reset (r->ledger);
        for (size_t i = 0; i < r->npending; i++)
            s_held_clear (r, &r->pending [i]);
        r->npending = 0;
        tl_stage_clear (r->stage);
        tl_query_t *q = malloc (sizeof *q);
        tl_err_t qe = { 0 };
        if (!q || tl_query_parse (m->col, q, &qe) != 0 || tl_ledger_set_cells (r->ledger, (unsigned) q->nvals) != 0) {
            snprintf (why, sizeof why, "cannot use its query: %s", q ? qe.msg : "out of memory");
            free (q);
            s_refuse (r, ident, identlen, m, why);
            return;
        }
        free (q);
        snprintf (r->job, sizeof r->job, "%s", m->job);
        snprintf (r->col, sizeof r->col, "%s", m->col);
        snprintf (r->fingerprint, sizeof r->fingerprint, "%s", m->fingerprint);
        memcpy (r->key, key, sizeof key);
        r->error [0] = 0;
        r->have_job = true;
        r->fresh = true;        /* a new table: watchers get it whole, under a new seq */
        r->done = false;
        r->ok = false;
        r->started = now;
        r->unsaved = true;      /* the new job's identity goes into the checkpoint before any ack */
        if (r->ckpt)
            tl_ckptfile_want_base (r->ckpt);    /* a base of the new job, before anything is logged */
        tl_info ("job %s: %llu tasks, %llu bytes, group by '%s'", m->job, (unsigned long long) m->tasks,
                 (unsigned long long) m->bytes, m->col);
    }
    /* A job that sends no verification copies needs no digest of what is applied (a broker
       that does not say so may send them: digests are kept). */
    tl_ledger_keep_digests (r->ledger, !m->noverify);
    uint64_t tasks_before = tl_ledger_stats (r->ledger).tasks_total, bytes_before = r->bytes_total;
    if (tl_ledger_set_tasks (r->ledger, m->tasks) != 0)
        tl_error ("job %s: cannot track %llu tasks", m->job, (unsigned long long) m->tasks);
    r->bytes_total = m->bytes;
    /* Logged before any partial of the new tasks, so replay knows them when it gets there. */
    uint64_t tasks_now = tl_ledger_stats (r->ledger).tasks_total;
    if (r->ckpt && (tasks_now != tasks_before || r->bytes_total != bytes_before))
        tl_ckptfile_put_tasks (r->ckpt, tasks_now, r->bytes_total);
    memcpy (r->broker, ident, identlen);
    r->brokerlen = identlen;
    r->dirty = true;
    if (r->npending)
        s_retry_pending (r);
    /* The full set may include unsaved work: save first, so that every id we name is durable. */
    if (r->unsaved)
        s_checkpoint (r, now);
    /* The broker's view of our log: the rest of it, or the whole set when the view is not a
       prefix (another reducer process, a broker starting afresh, or digests that disagree). */
    uint64_t known = m->seq, kd = m->digest ? strtoull (m->digest, NULL, 16) : 0;
    bool delta = m->instance && strcmp (m->instance, r->instance) == 0 && m->digest && strlen (m->digest) == 16
                 && tl_acklog_has_prefix (r->acklog, known, kd);
    if (!r->unsaved)
        s_send_applied (r, !delta, known, true);
    else
        s_send_applied_stalled (r, now);
}

/*  Every task's apply goes through here, once per partial that reaches it: m is a whole
    PARTIAL (own NULL), or one that came in parts, put together by the stage (m is then
    &(*own)->msg, with every group of every part, unless !(*own)->merged: a copy of a task
    applied already, whose groups were not kept, which can only be a duplicate). A big task's
    groups are merged by the merger thread, which then owns *own (set to NULL). */
static void
s_apply (s_reducer_t *r, const tl_msg_t *m, tl_staged_t **own)
{
    const tl_staged_t *staged = own ? *own : NULL;
    s_settle (r);   /* one merge at a time; and admit reads the totals' shape */
    int rc = staged && !staged->merged ? tl_ledger_apply_dup (r->ledger, m) : tl_ledger_admit (r->ledger, m);
    if (rc == 1)
        s_log_applied (r, m, NULL);     /* a staged task's m holds all its groups, like a whole partial */
    if (rc == TL_EINVAL) {
        tl_err_t e;
        tl_err_set (&e, TL_EPROTO, 0, "partial for unknown task %llu", (unsigned long long) m->task);
        tl_badmsg ("a mapper", &e);
        return;
    }
    if (rc == 0)
        tl_debug ("task %llu attempt %llu from %s: duplicate, ignored", (unsigned long long) m->task,
                  (unsigned long long) m->attempt, m->mapper);
    else if (staged)
        tl_info ("task %llu attempt %llu from %s: applied its partial of %llu parts (%zu groups)",
                 (unsigned long long) m->task, (unsigned long long) m->attempt, m->mapper,
                 (unsigned long long) m->parts, staged->groups);
    /* Ack duplicates too (with the length that was applied): the broker may have missed the first.
       (Out of memory for the ack: none goes out now, and the acklog lacks it; the broker learns
       of the task when it re-runs it and the copy, a duplicate, is acked, or from a full answer.
       The totals are exact either way.) */
    if (r->nacks == r->acks_cap) {
        size_t cap = r->acks_cap ? r->acks_cap * 2 : 256;
        uint64_t *a = realloc (r->acks, cap * sizeof *a);
        if (a)
            r->acks = a;
        uint64_t *l = realloc (r->ack_lens, cap * sizeof *l);
        if (l)
            r->ack_lens = l;
        if (a && l)
            r->acks_cap = cap;
    }
    if (r->nacks < r->acks_cap) {
        r->acks [r->nacks] = m->task;
        r->ack_lens [r->nacks++] = tl_ledger_applied_length (r->ledger, m->task);
    }
    r->dirty = true;        /* a duplicate changes `dups`: a seq names one state, every field of it */
    if (rc == 1) {
        r->unsaved = true;
        tl_stage_release_task (r->stage, m->task);     /* other copies' staged tables are dups now */
        s_merge (r, m, own);    /* last: the merger may own the task from here */
    }
}

/*  A verification copy (--verify-fraction): compare it with the partial applied for the same
    task, never apply it, and tell the broker. A copy from the mapper whose partial was applied
    proves nothing: the broker is asked to send it elsewhere (retry). */
static void
s_on_verify (s_reducer_t *r, const tl_msg_t *m, uint64_t digest)
{
    const char *by = "?";
    int rc = m->verify - 1 == m->task ? tl_ledger_verify_digest (r->ledger, m->task, digest, &by) : TL_EINVAL;
    tl_msg_t v = { .type = TL_MSG_VERIFIED, .job = r->job, .task = m->task, .verify = m->verify, .mapper = by,
                   .name = m->mapper, .ok = rc == 1, .retry = (rc == 1 && strcmp (by, m->mapper) == 0) || rc == TL_EINVAL };
    /* ok and not retry: verified. ok and retry: same mapper, send it elsewhere. Not ok and retry:
       cannot be verified here. Neither: the counts differ. */
    char why [TL_STR_MAX];
    if (rc == TL_EINVAL)
        snprintf (why, sizeof why, "task %llu cannot be verified here (its digest was not kept: applied before this "
                  "reducer started, or while the job said it verifies nothing)", (unsigned long long) m->task);
    else if (rc == 0)
        snprintf (why, sizeof why, "task %llu was counted differently by mapper %s (applied) and mapper %s "
                  "(verification copy)", (unsigned long long) m->task, by, m->mapper);
    else
        *why = 0;
    v.error = why;
    if (rc == 0)
        tl_error ("verification failed: %s", why);
    if (r->brokerlen)
        tl_send (r->router, r->broker, r->brokerlen, &v, true);
}

/*  One part of a partial that comes in parts (its job and token are checked): staged, and once
    the last is in, the whole task is verified, held or applied like a whole PARTIAL. A task
    applied already, and a verification copy, are followed without merging their groups. */
static void
s_on_part (s_reducer_t *r, const tl_msg_t *m)
{
    tl_staged_t *st = NULL;
    tl_err_t e = { 0 };
    bool merge = !m->verify && !tl_ledger_applied (r->ledger, m->task);
    int rc = tl_stage_offer (r->stage, m, tl_agg_ncells (tl_ledger_totals (r->ledger)), merge, &st, &e);
    tl_stage_stats_t ss = tl_stage_stats (r->stage);
    if (ss.evicted != r->stage_evicted_said) {
        tl_warn ("staging full (%u tasks or %u groups): evicted %llu staged task(s), the last task %llu attempt %llu "
                 "(%llu so far; the broker re-runs them)", STAGE_TASKS_MAX, STAGE_GROUPS_MAX,
                 (unsigned long long) (ss.evicted - r->stage_evicted_said), (unsigned long long) ss.last_evicted_task,
                 (unsigned long long) ss.last_evicted_attempt, (unsigned long long) ss.evicted);
        r->stage_evicted_said = ss.evicted;
    }
    if (rc < 0) {
        tl_badmsg ("a mapper", &e);
        return;
    }
    if (rc == TL_STAGE_MORE)
        return;
    const tl_msg_t *h = &st->msg;
    uint64_t total = tl_ledger_stats (r->ledger).tasks_total;
    if (h->verify)
        s_on_verify (r, h, st->digest);
    else if (h->task >= total && h->task < total + (1u << 20) && r->npending < PENDING_MAX
             && r->npending_staged < PENDING_STAGED_MAX) {
        r->pending [r->npending++] = (s_held_t) { .staged = st };
        r->npending_staged++;
        return;
    }
    else
        s_apply (r, h, &st);    /* may hand st to the merger */
    tl_staged_destroy (&st);
}

/*  The partial's token is the one the broker gave: checked with the job's key made ready once
    (tl_token_mac_t), not set up again per partial (that was a fifth of our CPU at 4 KiB tasks). */
static bool
s_token_ok (s_reducer_t *r, const tl_token_claim_t *claim, const char *token)
{
    return tl_token_mac_ready (&r->mac, r->key) ? tl_token_mac_check (r->mac, claim, token)
                                                 : tl_token_check (r->key, claim, token);
}

/*  Returns true if the message was kept (held for later): the caller must not clear it. */
static bool
s_on_partial (s_reducer_t *r, tl_msg_t *m)
{
    if (!r->have_job || strcmp (r->job, m->job) != 0 || r->done) {
        if (r->stale++ % 1000 == 0)
            tl_warn ("partial for job %s dropped: %s", m->job,
                     !r->have_job ? "no job is running" : r->done ? "the job has ended" : "another job is running");
        return false;
    }
    tl_token_claim_t claim = { .job = m->job, .task = m->task, .attempt = m->attempt, .mapper = m->mapper,
                               .offset = m->offset, .verify = m->verify };
    if (!s_token_ok (r, &claim, m->token)) {
        if (r->forged++ % 1000 == 0)
            tl_warn ("partial for task %llu attempt %llu from '%s' dropped: its token is not one the broker gave "
                     "(%llu such so far)", (unsigned long long) m->task, (unsigned long long) m->attempt, m->mapper,
                     (unsigned long long) r->forged);
        return false;
    }
    if (m->parts) {
        s_on_part (r, m);
        return false;
    }
    if (m->verify) {
        s_on_verify (r, m, tl_ledger_partial_digest (m));
        return false;
    }
    uint64_t total = tl_ledger_stats (r->ledger).tasks_total;
    if (m->task >= total && m->task < total + (1u << 20) && r->npending < PENDING_MAX) {
        r->pending [r->npending++] = (s_held_t) { .m = *m };
        return true;
    }
    s_apply (r, m, NULL);
    return false;
}

/*  The job's verdict to the broker, as an END of its own (docs/PROTOCOL.md): the broker exits
    with it, so that a job whose totals the reducer cannot vouch for (tasks missing, a digest
    that differs, a sum out of range) fails there too, not only in what watchers show. */
static void
s_send_verdict (s_reducer_t *r)
{
    if (!r->brokerlen)
        return;
    tl_msg_t v = { .type = TL_MSG_END, .job = r->job, .ok = r->ok, .error = r->ok ? NULL : r->error };
    tl_send (r->router, r->broker, r->brokerlen, &v, true);
}

static void
s_on_end (s_reducer_t *r, const tl_msg_t *m, int64_t now)
{
    s_settle (r);   /* the verdict and the final table read the totals whole */
    if (r->have_job && strcmp (r->job, m->job) == 0 && r->done) {
        s_send_verdict (r);     /* the broker asks again: the same answer */
        return;
    }
    if (!r->have_job || strcmp (r->job, m->job) != 0)
        return;
    r->done = true;
    r->ok = m->ok;
    r->finished = now;
    snprintf (r->error, sizeof r->error, "%s", m->error ? m->error : "");
    /* Done means complete: the applied set must cover the broker's whole task list. */
    uint64_t missing [8];
    char digest [TL_DIGEST_HEX + 1];
    uint64_t ntasks = m->tasks ? m->tasks : tl_ledger_stats (r->ledger).tasks_total;
    uint64_t absent = tl_ledger_coverage (r->ledger, ntasks, digest, missing, 8);
    if (m->ok && (absent || !m->digest || strcmp (digest, m->digest) != 0 || ntasks < tl_ledger_stats (r->ledger).tasks_total)) {
        r->ok = false;
        if (absent) {
            size_t off = (size_t) snprintf (r->error, sizeof r->error, "incomplete: %llu of %llu task(s) were never "
                                            "applied (task", (unsigned long long) absent, (unsigned long long) ntasks);
            for (uint64_t i = 0; i < absent && i < 8 && off < sizeof r->error; i++)
                off += (size_t) snprintf (r->error + off, sizeof r->error - off, "%s %llu", i ? "," : "",
                                          (unsigned long long) missing [i]);
            if (off < sizeof r->error)
                snprintf (r->error + off, sizeof r->error - off, "%s)", absent > 8 ? ", ..." : "");
        }
        else
            snprintf (r->error, sizeof r->error, "the applied tasks do not match the broker's task list (%llu "
                      "task(s) here, digest %.12s; broker %.12s): totals cannot be trusted",
                      (unsigned long long) ntasks, digest, m->digest ? m->digest : "-");
        tl_error ("job %s: %s", r->job, r->error);
    }
    /* Exact or loud: a sum out of a double's range is no total (the broker cannot see it). */
    tl_query_t *q = r->ok ? malloc (sizeof *q) : NULL;
    tl_err_t qe = { 0 };
    if (q && tl_query_parse (r->col, q, &qe) == 0) {
        char why [TL_STR_MAX - 64];
        if (tl_query_overflow (q, tl_ledger_totals (r->ledger), why, sizeof why)) {
            r->ok = false;
            snprintf (r->error, sizeof r->error, "%s: the totals cannot be trusted", why);
            tl_error ("job %s: %s", r->job, r->error);
        }
    }
    free (q);
    if (r->ckpt)
        tl_ckptfile_put_end (r->ckpt, r->ok, r->error);
    s_checkpoint (r, now);
    s_send_verdict (r);
    tl_ledger_stats_t st = tl_ledger_stats (r->ledger);
    tl_info ("job %s %s: %llu/%llu tasks, %llu rows, %llu bad rows, %llu duplicates ignored", r->job,
             r->ok ? "done" : "FAILED", (unsigned long long) st.tasks_applied, (unsigned long long) st.tasks_total,
             (unsigned long long) st.rows, (unsigned long long) st.bad, (unsigned long long) st.dups);
    /* The final state goes out whole, so a watcher that lost anything ends exact; the delta
       before it carries done, so a watcher that lost nothing ends at once. */
    s_publish_snapshot (r, now);
    tl_info ("published %llu update(s) so far: %llu snapshot(s), %llu delta(s), %llu message(s), %llu bytes; the final "
             "snapshot: %llu groups in %llu part(s), %llu bytes", (unsigned long long) (r->pub_snapshots + r->pub_deltas),
             (unsigned long long) r->pub_snapshots, (unsigned long long) r->pub_deltas, (unsigned long long) r->pub_msgs,
             (unsigned long long) r->pub_bytes, (unsigned long long) r->snap_groups, (unsigned long long) r->snap_parts,
             (unsigned long long) r->snap_bytes);
}

int
tl_reducer_main (int argc, char **argv)
{
    tl_reducer_opts_t o = { 0 };
    int prc = tl_reducer_parse (argc, argv, &o);
    return prc ? (prc == 1 ? 0 : prc) : tl_reducer_run (&o);
}

int
tl_reducer_run (const tl_reducer_opts_t *o)
{
    const char *listen = o->listen, *publish = o->publish, *state_dir = o->state_dir, *keys = o->keys,
               *metrics = o->metrics;
    tl_log_init ("reducer", o->level);
    tl_malloc_keep ();
    static s_reducer_t r;   /* large (held partials): static rather than on the stack; one per process */
    memset (&r, 0, sizeof r);
    tl_security_t *sec = NULL;
    tl_metrics_t *met = NULL;
    int64_t last_metrics = 0;
    int rc = 1;
    r.state_dir = state_dir;
    tl_random_id (r.instance);
    /* The digests' key hash starts from a secret of this process (reducer/ledger.h). */
    {
        char seed [17];
        tl_random_id (seed);
        tl_ledger_digest_seed (strtoull (seed, NULL, 16));
    }
    /* Sequence numbers start from the wall clock, so they keep growing across restarts and a
       watcher never mistakes a restarted reducer's updates for old ones. */
    {
        struct timespec ts;
        clock_gettime (CLOCK_REALTIME, &ts);
        r.seq = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
    }
    r.fresh = true;     /* our first update is a snapshot: no watcher can hold our seqs yet */
    r.ledger = tl_ledger_new ();
    r.acklog = tl_acklog_new ();
    r.router = tl_sock_new (ZMQ_ROUTER, ROUTER_MSG_MAX);
    r.stage = tl_stage_new (STAGE_TASKS_MAX, STAGE_GROUPS_MAX);
    r.xpub = tl_sock_new (ZMQ_XPUB, 1024);
    if (!r.ledger || !r.acklog || !r.router || !r.xpub || !r.stage)
        goto done;
    zsock_set_rcvhwm (r.router, ROUTER_RCVHWM);
    zsock_set_xpub_verbose (r.xpub, 1);
    tl_err_t se;
    sec = tl_security_new (keys, true, &se);
    if (keys && !sec) {
        tl_error ("%s", se.msg);
        goto done;
    }
    tl_security_server (sec, r.router, "listen", &se);
    tl_security_server (sec, r.xpub, "publish", &se);
    if (metrics && !(met = tl_metrics_new (metrics, "reducer", &se))) {
        tl_error ("%s", se.msg);
        goto done;
    }
    if (state_dir) {
        tl_err_t e;
        if (tl_mkdirs (state_dir, &e) != 0) {
            tl_error ("--state-dir: %s", e.msg);
            goto done;
        }
        if (!(r.ckpt = tl_ckptfile_new (state_dir, o->compact_set ? o->compact_bytes : TL_CKPTFILE_COMPACT_AUTO)))
            goto done;
        tl_ledger_meta_t meta;
        int lrc = tl_ckptfile_load (r.ckpt, r.ledger, &meta, &e);
        if (lrc == 0) {
            snprintf (r.job, sizeof r.job, "%s", meta.job);
            snprintf (r.col, sizeof r.col, "%s", meta.col);
            snprintf (r.error, sizeof r.error, "%s", meta.error);
            snprintf (r.fingerprint, sizeof r.fingerprint, "%s", meta.fingerprint);
            if (tl_token_key_from_hex (meta.key, r.key) != 0) {
                tl_error ("%s/reducer.ckpt: the checkpoint's token key is malformed; move it away to start afresh",
                          state_dir);
                goto done;
            }
            r.bytes_total = meta.bytes_total;
            r.done = meta.done;
            r.ok = meta.ok;
            r.have_job = true;
            r.started = r.finished = tl_now_ms ();
            tl_ledger_stats_t st = tl_ledger_stats (r.ledger);
            tl_info ("resumed job %s from %s: %llu/%llu tasks applied, %llu rows (%llu log record(s) replayed over "
                     "the base)", r.job, state_dir, (unsigned long long) st.tasks_applied,
                     (unsigned long long) st.tasks_total, (unsigned long long) st.rows,
                     (unsigned long long) tl_ckptfile_stats (r.ckpt).replayed);
        }
        else if (lrc != TL_ENOTFOUND) {
            tl_error ("%s", e.msg);
            goto done;
        }
    }
    /* Fixed before the bind: libzmq 4.3 applies a changed SNDHWM to the pipes it has, and then
       loses messages on them (a raise while a job ran stalled every watcher for good). */
    zsock_set_sndhwm (r.xpub, XPUB_HWM);
    s_merger_start (&r.merger, r.ledger);
    if (zsock_bind (r.router, "%s", listen) < 0) {
        tl_error ("cannot listen on %s: %s", listen, zmq_strerror (zmq_errno ()));
        goto done;
    }
    if (zsock_bind (r.xpub, "%s", publish) < 0) {
        tl_error ("cannot publish on %s: %s", publish, zmq_strerror (zmq_errno ()));
        goto done;
    }
    /* ipc:// endpoints are guarded by file permissions (tally run uses a private 0700 folder). */
    if (!sec && !(strncmp (listen, "ipc://", 6) == 0 && strncmp (publish, "ipc://", 6) == 0))
        tl_warn ("running unauthenticated: anyone who can reach %s and %s can send counts or read them "
                 "(use --keys, see tally keygen)", listen, publish);
    tl_info ("listening on %s, publishing on %s", listen, publish);
    zpoller_t *poller = zpoller_new (r.router, r.xpub, NULL);
    while (!zsys_interrupted) {
        zpoller_wait (poller, 50);
        int64_t now = tl_now_ms (), round_us = tl_now_us ();
        if (zpoller_terminated (poller))
            break;
        /* Drain what is ready, a bounded batch per round so that publishing keeps its pace:
           at most 1000 messages, and at most DRAIN_MAX_MS (a partial of many groups takes
           milliseconds, and a fast mapper has the next one ready by then). */
        bool more = false;      /* the drain stopped at DRAIN_MAX_MS: messages are waiting */
        int nmsg = 0;
        for (int i = 0; i < 1000 && !zsys_interrupted; i++) {
            if (i && tl_now_ms () - now >= DRAIN_MAX_MS) {
                more = true;
                break;
            }
            char ident [256];
            size_t identlen = 0;
            tl_msg_t m;
            tl_err_t e;
            int got = tl_recv_nowait (r.router, ident, &identlen, &m, &e);
            if (got <= -2)
                break;
            nmsg++;
            if (got == -1)
                tl_badmsg ("a peer of --listen", &e);
            else {
                bool kept = false;
                if (m.type == TL_MSG_PARTIAL)
                    kept = s_on_partial (&r, &m);
                else if (m.type == TL_MSG_JOB)
                    s_on_job (&r, ident, identlen, &m, now);
                else if (m.type == TL_MSG_END)
                    s_on_end (&r, &m, now);
                else if (m.type == TL_MSG_ACTIVITY) {
                    /* Kept for the dashboards (the rings are whole in each): only the newest. */
                    tl_msg_clear (&r.activity);
                    r.activity = m;
                    kept = true;
                    r.dirty |= r.act_wanted;
                }
                else
                    tl_badmsg_unexpected ("a peer of --listen", m.type);
                if (!kept)
                    tl_msg_clear (&m);
            }
        }
        /* Every subscription waiting, whichever socket woke us (a busy ROUTER would starve
           the XPUB), before anything is published: a replica's two topics in one round. */
        while (zsock_events (r.xpub) & ZMQ_POLLIN) {
            zframe_t *f = zframe_recv (r.xpub);
            /* A subscription (first byte 1) asks for a snapshot: a new watcher, or one that lost
               updates and subscribed again. The dashboard's topic turns the activity on, and a
               replica's topic the deltas' groups; the unsubscription (the last one gone,
               XPUB_VERBOSE) turns it off. */
            if (s_topic_is (f, TL_ACT_TOPIC))
                r.act_wanted = zframe_data (f) [0] == 1;
            if (s_topic_is (f, TL_GROUPS_TOPIC))
                r.groups_wanted = zframe_data (f) [0] == 1;
            if (f && zframe_size (f) == 1 && zframe_data (f) [0] == 1) {     /* "": a snapshot, please */
                r.want_snapshot = true;
                r.snap_requests++;
            }
            zframe_destroy (&f);
        }
        /* A round cut short by the drain's time limit publishes, but does not checkpoint: the
           checkpoint (one fsync, and now and then a base of O(groups)) waits until the partials
           that are ready have been applied. But not for ever: under a steady flood every
           round is cut short, and acks held that long make the broker re-issue work (red team,
           session 7), so a checkpoint goes in at least every CHECKPOINT_MAX_MS. */
        /* A merge under way holds back what reads the totals (the checkpoint and its acks,
           publishing) for MERGE_HOLD_MAX_MS at most; then this round waits for it. */
        bool hold = false;
        if (s_merging (&r)) {
            if (!r.hold_since)
                r.hold_since = now;
            hold = now - r.hold_since < MERGE_HOLD_MAX_MS;
        }
        if (!hold) {
            r.hold_since = 0;
            s_settle (&r);
        }
        if (!hold && r.unsaved && (!r.state_dir || now - r.last_ckpt >= CHECKPOINT_MIN_MS)
            && (!more || now - r.last_ckpt >= CHECKPOINT_MAX_MS))
            s_checkpoint (&r, now);
        if (r.nacks && !r.unsaved)
            s_send_applied (&r, false, tl_acklog_size (r.acklog), false);
        if (r.unsaved)
            s_send_applied_stalled (&r, now);
        if (r.have_job && !hold) {
            if (r.fresh || (r.want_snapshot && now >= r.snap_after))
                s_publish_snapshot (&r, now);
            else if (r.dirty && now - r.last_pub >= PUBLISH_MIN_MS)
                s_publish_delta (&r, now);
            else if (now - r.last_pub >= HEARTBEAT_MS && (!r.done || now - r.finished <= FINAL_REPEAT_FOR_MS))
                s_publish_delta (&r, now);  /* nothing changed: the heartbeat that shows a gap */
        }
        if (met && now - last_metrics >= 200) {
            tl_ledger_stats_t st = tl_ledger_stats (r.ledger);
            tl_metrics_set (met, "tally_tasks", "gauge", "tasks in the job", (double) st.tasks_total);
            tl_metrics_set (met, "tally_tasks_applied", "gauge", "tasks applied (each once)", (double) st.tasks_applied);
            tl_metrics_set (met, "tally_rows_total", "counter", "rows counted", (double) st.rows);
            tl_metrics_set (met, "tally_bytes_total", "counter", "bytes covered by applied partials", (double) st.bytes);
            tl_metrics_set (met, "tally_bad_rows_total", "counter", "rows skipped as bad", (double) st.bad);
            tl_metrics_set (met, "tally_bytes_fetched_total", "counter",
                            "bytes read from storage by applied partials (Parquet: footers and needed chunks)",
                            (double) st.fetched);
            tl_metrics_set (met, "tally_rowgroups_skipped_total", "counter",
                            "Parquet row groups skipped by their statistics", (double) st.skipped);
            tl_metrics_set (met, "tally_duplicates_total", "counter", "duplicate partials ignored", (double) st.dups);
            tl_metrics_set (met, "tally_partials_rejected_total", "counter", "partials for unknown tasks", (double) st.rejected);
            tl_stage_stats_t ss = tl_stage_stats (r.stage);
            tl_metrics_set (met, "tally_partial_parts_total", "counter", "parts of partials that came in parts, taken",
                            (double) ss.parts);
            tl_metrics_set (met, "tally_partial_staged_total", "counter",
                            "partials that came in parts whose last part arrived", (double) ss.completed);
            tl_metrics_set (met, "tally_partial_parts_broken_total", "counter",
                            "parts dropped with their task's staging (gap, order, header, shape, size)",
                            (double) ss.broken);
            tl_metrics_set (met, "tally_partial_staging_evicted_total", "counter",
                            "staged tasks evicted by the staging caps", (double) ss.evicted);
            tl_metrics_set (met, "tally_partial_staged_groups", "gauge", "groups staged now", (double) ss.groups);
            tl_metrics_set (met, "tally_bad_messages_total", "counter", "malformed messages dropped", (double) tl_badmsg_count ());
            tl_metrics_set (met, "tally_job_done", "gauge", "1 once the job has ended", r.done ? 1 : 0);
            tl_metrics_set (met, "tally_applied_ids_sent_total", "counter",
                            "task ids sent to the broker in acks and answers to JOB", (double) r.ids_sent);
            tl_metrics_set (met, "tally_applied_full_total", "counter",
                            "answers to JOB that held the whole applied set", (double) r.full_sent);
            tl_metrics_set (met, "tally_state_write_errors_total", "counter", "checkpoints that could not be written",
                            (double) r.write_errors);
            if (r.ckpt) {
                tl_ckptfile_stats_t cs = tl_ckptfile_stats (r.ckpt);
                tl_metrics_set (met, "tally_checkpoint_base_bytes_total", "counter",
                                "bytes of checkpoint bases written (whole ledgers)", (double) cs.base_bytes);
                tl_metrics_set (met, "tally_checkpoint_log_bytes_total", "counter",
                                "bytes appended to the checkpoint log", (double) cs.log_bytes);
                tl_metrics_set (met, "tally_checkpoint_bases_total", "counter",
                                "checkpoint bases written (job start, compaction, after a failed append)",
                                (double) cs.bases);
                tl_metrics_set (met, "tally_checkpoint_compactions_total", "counter",
                                "bases written because the log outgrew max(--compact-bytes, the base)",
                                (double) cs.compactions);
                tl_metrics_set (met, "tally_checkpoint_log_size_bytes", "gauge", "the checkpoint log's size now",
                                (double) cs.log_size);
                tl_metrics_set (met, "tally_checkpoint_replayed_records", "gauge",
                                "log records (tasks, meta) replayed over the base at start", (double) cs.replayed);
            }
            tl_metrics_set (met, "tally_state_write_stalled", "gauge", "1 while checkpoints fail and acks wait",
                            *r.stalled ? 1 : 0);
            tl_metrics_set (met, "tally_partials_forged_total", "counter", "partials without a valid token",
                            (double) r.forged);
            tl_metrics_set (met, "tally_partials_stale_total", "counter", "partials of another job, dropped",
                            (double) r.stale);
            tl_metrics_set (met, "tally_jobs_refused_total", "counter", "JOBs refused (another job is running)",
                            (double) r.refused);
            tl_metrics_set (met, "tally_published_bytes_total", "counter", "bytes of UPDATE messages published",
                            (double) r.pub_bytes);
            tl_metrics_set (met, "tally_published_messages_total", "counter",
                            "UPDATE messages published (parts of snapshots and deltas)", (double) r.pub_msgs);
            tl_metrics_set (met, "tally_published_snapshots_total", "counter", "snapshots published (the whole table)",
                            (double) r.pub_snapshots);
            tl_metrics_set (met, "tally_published_deltas_total", "counter",
                            "deltas published (the groups changed since the update before)", (double) r.pub_deltas);
            tl_metrics_set (met, "tally_published_bare_deltas_total", "counter",
                            "deltas published bare (no subscriber kept a replica)", (double) r.pub_bare);
            tl_metrics_set (met, "tally_published_delta_groups_total", "counter", "groups published in deltas",
                            (double) r.pub_delta_groups);
            tl_metrics_set (met, "tally_snapshot_requests_total", "counter",
                            "subscriptions, each a request for a snapshot", (double) r.snap_requests);
            tl_metrics_set (met, "tally_snapshot_bytes", "gauge", "bytes of the last snapshot, all parts",
                            (double) r.snap_bytes);
            last_metrics = now;
        }
        /* Tasks of a few KiB: a round that had partials lasts 1 ms at least, so that the next
           one applies and acknowledges many at once (tl_pace; an APPLIED per partial before). */
        if (nmsg)
            tl_pace (round_us, 1000);
    }
    zpoller_destroy (&poller);
    tl_info ("stopped");
    rc = 0;
done:
    s_merger_stop (&r);
    zsock_destroy (&r.router);
    zsock_destroy (&r.xpub);
    tl_security_destroy (&sec);
    tl_metrics_destroy (&met);
    tl_ledger_destroy (&r.ledger);
    tl_ckptfile_destroy (&r.ckpt);
    tl_acklog_destroy (&r.acklog);
    tl_msg_clear (&r.activity);
    for (size_t i = 0; i < r.npending; i++)
        s_held_clear (&r, &r.pending [i]);
    tl_stage_destroy (&r.stage);
    tl_token_mac_destroy (&r.mac);
    free (r.acks);
    free (r.ack_lens);
    return rc;
}
