/*  sched.c — the scheduler (see sched.h for the rules): the life of tasks and mappers.

    This file holds the object itself and every transition a message from outside causes: a task
    is added, a mapper joins, is seen, reports progress, finishes, fails or leaves, the reducer
    applies a task, and time passes (leases lapse, apply timeouts fire). The other pieces
    (sched_int.h lists them) keep the indexes, hand out work, balance the tail and report events.

    The queue is a ring of task ids. Re-queued tasks go to the front, so that lost work is
    re-done first and the tail of the job is not held up by it. Dispatch walks the mappers
    round-robin from where it last stopped, so that work spreads evenly when many mappers have
    credit.

    Cost per event does not grow with the number of tasks. Three indexes, besides the queue:
      - per mapper, the ids of the tasks it runs (at most slots + 1): a lost or leaving mapper
        gives back its tasks without a scan of the job;
      - the running set (tasks with a runner), with each task's position in it: steal and backup
        choose among running tasks only, which are at most the fleet's credit, however long the
        job. Their choice (most time left at the runner's pace) depends on `now`, and the order
        of two tasks' ETAs can flip as time passes, so no static heap key would give the same
        answers; a scan of the running set does, and it is only reached once the queue is empty.
        Ties go to the lowest task id, as the old scan in id order did;
      - a min-heap of MAPPED tasks by the time they became MAPPED, for apply timeouts. Entries
        are invalidated lazily (a generation per task) and the heap is rebuilt when most of it is
        dead. Tasks that time out in one tick are re-queued in id order, as before.
    Work per event is O(log n) for the heap, O(slots) for a mapper's list, O(running) for a steal
    or backup choice, and O(mappers) to find a mapper with credit: none of it O(tasks). */
#include "broker/sched_int.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>


tl_sched_t *
tl_sched_new (const tl_sched_cfg_t *cfg)
{
    tl_sched_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (cfg)
        self->cfg = *cfg;
    if (self->cfg.lease_ms <= 0)
        self->cfg.lease_ms = 4000;
    if (self->cfg.apply_timeout_ms <= 0)
        self->cfg.apply_timeout_ms = 60000;
    if (self->cfg.max_attempts == 0)
        self->cfg.max_attempts = 4;
    if (self->cfg.min_steal == 0)
        self->cfg.min_steal = 16ULL << 20;
    if (self->cfg.backup_after_ms <= 0)
        self->cfg.backup_after_ms = 2000;
    if (self->cfg.steal_after_ms <= 0)
        self->cfg.steal_after_ms = 1000;
    if (self->cfg.steal_eta_ms <= 0)
        self->cfg.steal_eta_ms = 100;
    return self;
}

static const char s_no_error [] = "";
static const char s_error_nomem [] = "(out of memory recording its error)";

static void
s_error_free (tl_task_t *t)
{
    if (t->error != s_no_error && t->error != s_error_nomem)
        free ((char *) t->error);
    t->error = s_no_error;
}

/*  A task's last failure: a copy of at most 255 bytes, as the array it replaced held. */
static void
s_set_error (tl_task_t *t, const char *error)
{
    s_error_free (t);
    char *copy = strndup (error, 255);
    t->error = copy ? copy : s_error_nomem;
}

void
tl_sched_destroy (tl_sched_t **self_p)
{
    if (self_p && *self_p) {
        tl_sched_t *self = *self_p;
        for (size_t i = 0; i < self->ntasks; i++)
            s_error_free (&self->tasks [i]);
        free (self->tasks);
        free (self->mappers);
        free (self->ring);
        free (self->evs);
        for (size_t i = 0; i < self->nmappers; i++)
            free (self->held [i].ids);
        free (self->held);
        free (self->runset);
        free (self->runpos);
        free (self->mgen);
        free (self->heap);
        free (self->idle);
        free (self->credit);
        free (self->nidle);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
tl_sched_add (tl_sched_t *self, uint32_t object, uint64_t offset, uint64_t length, bool splittable)
{
    if (self->ntasks == self->tasks_cap) {
        size_t cap = self->tasks_cap ? self->tasks_cap * 2 : 256;
        tl_task_t *t = realloc (self->tasks, cap * sizeof *t);
        if (!t)
            abort ();   /* cannot track the task: losing it silently is worse than dying loudly */
        self->tasks = t;
        uint64_t *rs = realloc (self->runset, cap * sizeof *rs);
        if (rs)
            self->runset = rs;
        uint32_t *rp = realloc (self->runpos, cap * sizeof *rp);
        if (rp)
            self->runpos = rp;
        uint32_t *mg = realloc (self->mgen, cap * sizeof *mg);
        if (mg)
            self->mgen = mg;
        if (!rs || !rp || !mg)
            abort ();
        self->tasks_cap = cap;
    }
    tl_task_t *t = &self->tasks [self->ntasks];
    memset (t, 0, sizeof *t);
    t->id = self->ntasks++;
    t->object = object;
    t->offset = offset;
    t->length = length;
    t->state = TL_TASK_QUEUED;
    t->splittable = splittable;
    t->run [0].mapper = t->run [1].mapper = -1;
    t->error = s_no_error;
    self->mgen [t->id] = 0;
    tl_sched_push_back (self, t->id);
    return t->id;
}

void
tl_sched_set_length (tl_sched_t *self, uint64_t task, uint64_t length)
{
    if (task < self->ntasks)
        self->tasks [task].length = length;
}

void
tl_sched_all_zombie (tl_sched_t *self)
{
    for (size_t i = 0; i < self->ntasks; i++)
        self->tasks [i].zombie = true;
}

int
tl_sched_find (const tl_sched_t *self, const void *key, size_t keylen)
{
    for (size_t i = 0; i < self->nmappers; i++) {
        const tl_mapper_t *m = &self->mappers [i];
        if (m->alive && m->keylen == keylen && memcmp (m->key, key, keylen) == 0)
            return (int) i;
    }
    return -1;
}

static int
s_cmp_id (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/*  Take back every task mapper m runs. Returns how many went back to the queue. */
static uint32_t
s_requeue_mapper (tl_sched_t *self, int m, bool lapsed)
{
    uint32_t n = 0;
    tl_sched_held_t *h = &self->held [m];
    if (!h->n)
        return 0;
    /* In id order, as a scan of the job would: re-queued tasks go to the front one by one. */
    uint64_t *ids = malloc (h->n * sizeof *ids);
    if (!ids)
        abort ();
    uint32_t nids = h->n;
    memcpy (ids, h->ids, nids * sizeof *ids);
    qsort (ids, nids, sizeof *ids, s_cmp_id);
    for (uint32_t i = 0; i < nids; i++) {
        tl_task_t *t = &self->tasks [ids [i]];
        if (t->state != TL_TASK_RUNNING)
            continue;
        for (int r = 1; r >= 0; r--)
            if (t->run [r].mapper == m) {
                if (lapsed)
                    t->zombie = true;
                if (tl_sched_drop_runner (self, t, r, true)) {
                    n++;
                    self->reissued++;
                }
            }
    }
    free (ids);
    return n;
}

int
tl_sched_join (tl_sched_t *self, const void *key, size_t keylen, const char *name, uint32_t slots, int64_t now)
{
    if (slots == 0 || slots > 4096 || keylen == 0 || keylen > sizeof self->mappers [0].key)
        return -1;
    int m = tl_sched_find (self, key, keylen);
    if (m >= 0) {
        /* Re-join (the mapper restarted its session): what it held is gone from it. */
        uint32_t n = s_requeue_mapper (self, m, false);
        if (n)
            tl_sched_emit (self, TL_EV_LEFT, m, 0, n);
    }
    else {
        if (self->nmappers == self->mappers_cap) {
            size_t cap = self->mappers_cap ? self->mappers_cap * 2 : 16;
            tl_mapper_t *v = realloc (self->mappers, cap * sizeof *v);
            if (!v)
                return -1;
            self->mappers = v;
            tl_sched_held_t *hv = realloc (self->held, cap * sizeof *hv);
            if (!hv)
                return -1;
            self->held = hv;
            uint32_t *ni = realloc (self->nidle, cap * sizeof *ni);
            if (!ni)
                return -1;
            self->nidle = ni;
            uint64_t *b1 = calloc (cap / 64 + 1, sizeof *b1), *b2 = calloc (cap / 64 + 1, sizeof *b2);
            if (!b1 || !b2) {
                free (b1);
                free (b2);
                return -1;
            }
            if (self->idle) {
                memcpy (b1, self->idle, (self->mappers_cap / 64 + 1) * sizeof *b1);
                memcpy (b2, self->credit, (self->mappers_cap / 64 + 1) * sizeof *b2);
            }
            free (self->idle);
            free (self->credit);
            self->idle = b1;
            self->credit = b2;
            self->mappers_cap = cap;
        }
        m = (int) self->nmappers++;
        memset (&self->mappers [m], 0, sizeof self->mappers [m]);
        memset (&self->held [m], 0, sizeof self->held [m]);
        self->nidle [m] = 0;
        memcpy (self->mappers [m].key, key, keylen);
        self->mappers [m].keylen = keylen;
    }
    tl_mapper_t *mp = &self->mappers [m];
    snprintf (mp->name, sizeof mp->name, "%s", name ? name : "?");
    mp->slots = slots;
    mp->alive = true;
    mp->last_seen = now;
    mp->spare = mp->spare_max = 1;
    mp->task_ms = 0;
    tl_sched_mapper_sync (self, m);
    tl_sched_emit (self, TL_EV_JOINED, m, 0, slots);
    return m;
}

void
tl_sched_prefetch (tl_sched_t *self, int m, uint32_t spare_max)
{
    if (m < 0 || (size_t) m >= self->nmappers)
        return;
    tl_mapper_t *mp = &self->mappers [m];
    mp->spare_max = spare_max ? spare_max : 1;
    if (mp->spare > mp->spare_max)
        mp->spare = mp->spare_max;
    tl_sched_mapper_sync (self, m);
}

/*  The spares a mapper gets: TL_SCHED_PREFETCH_MS of work per slot by its tasks' average time
    (a quarter of a millisecond at least: the clock is in ms), within [1, spare_max]. */
static void
s_spare (tl_sched_t *self, int m, int64_t took_ms)
{
    tl_mapper_t *mp = &self->mappers [m];
    mp->task_ms = mp->task_ms > 0 ? 0.875 * mp->task_ms + 0.125 * (double) took_ms : (double) took_ms + 0.01;
    if (mp->spare_max <= 1)
        return;
    double want = (double) mp->slots * TL_SCHED_PREFETCH_MS / (mp->task_ms > 0.25 ? mp->task_ms : 0.25);
    uint32_t spare = want >= mp->spare_max ? mp->spare_max : want < 1 ? 1 : (uint32_t) want;
    if (spare != mp->spare) {
        mp->spare = spare;
        tl_sched_mapper_sync (self, m);
    }
}

void
tl_sched_seen (tl_sched_t *self, int m, int64_t now)
{
    if (m >= 0 && (size_t) m < self->nmappers && self->mappers [m].alive)
        self->mappers [m].last_seen = now;
}

void
tl_sched_progress (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, uint64_t bytes_done)
{
    tl_task_t *t = s_task (self, task);
    int r = t && t->state == TL_TASK_RUNNING ? s_runner (t, m, attempt) : -1;
    if (r >= 0 && bytes_done <= t->length + (1 << 20))
        t->run [r].bytes_done = bytes_done;
}

void
tl_sched_done (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    int r = t && t->state == TL_TASK_RUNNING ? s_runner (t, m, attempt) : -1;
    if (r < 0)
        return;     /* stale: that assignment was already taken back */
    self->mappers [m].done++;
    s_spare (self, m, now > t->run [r].since ? now - t->run [r].since : 0);
    if (now > t->run [r].since) {
        double rate = (double) t->length / (double) (now - t->run [r].since);
        tl_mapper_t *mp = &self->mappers [m];
        mp->rate = mp->rate > 0 ? 0.7 * mp->rate + 0.3 * rate : rate;
    }
    int other = 1 - r;
    if (t->run [other].mapper >= 0) {
        tl_sched_emit (self, TL_EV_CANCEL, t->run [other].mapper, t->id, 0);
        tl_sched_drop_runner (self, t, other, false);
        r = 0;
    }
    tl_sched_drop_runner (self, t, r, false);
    t->state = TL_TASK_MAPPED;
    t->since = now;
    self->mapped++;
    tl_sched_heap_push (self, t->id, now);
}

void
tl_sched_fail (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, bool retryable, const char *error, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    int r = t && t->state == TL_TASK_RUNNING ? s_runner (t, m, attempt) : -1;
    if (r < 0)
        return;
    s_set_error (t, error ? error : "unknown error");
    if (s_nrun (t) == 2) {          /* the other copy is still going */
        tl_sched_drop_runner (self, t, r, false);
        return;
    }
    tl_sched_drop_runner (self, t, r, false);
    t->since = now;
    t->failures++;
    if (retryable && t->failures < self->cfg.max_attempts) {
        t->state = TL_TASK_QUEUED;
        self->reissued++;
        tl_sched_push_front (self, t->id);
        tl_sched_emit (self, TL_EV_REQUEUED, m, t->id, t->failures);
    }
    else {
        t->state = TL_TASK_FAILED;
        self->failed++;
        tl_sched_emit (self, TL_EV_FAILED, m, t->id, t->failures);
    }
}

bool
tl_sched_applied (tl_sched_t *self, uint64_t task, uint64_t length, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    if (!t)
        return false;
    switch (t->state) {
        case TL_TASK_APPLIED:
            /* The same reducer names one length per task, the one we took first. A shorter one
               comes from another reducer process (restarted without its state) that applied a
               cut copy of the task (a straggler): its totals hold only that prefix, so the rest
               is queued as below (rv13). */
            if (!length || length >= t->length)
                return true;
            break;
        case TL_TASK_RUNNING:
            /* Applied from an earlier attempt while a re-run goes on: stop the re-runs. */
            for (int r = 1; r >= 0; r--)
                if (t->run [r].mapper >= 0) {
                    tl_sched_emit (self, TL_EV_CANCEL, t->run [r].mapper, t->id, 0);
                    tl_sched_drop_runner (self, t, r, false);
                }
            break;
        case TL_TASK_MAPPED:
            self->mapped--;
            break;
        case TL_TASK_FAILED:
            self->failed--;     /* a straggler's partial made it after all */
            break;
        case TL_TASK_QUEUED:
            break;              /* still in the ring: skipped on dispatch */
    }
    if (t->state != TL_TASK_APPLIED) {
        t->state = TL_TASK_APPLIED;
        t->since = now;
        self->applied++;
    }
    if (length && length < t->length) {
        /* The applied partial covered only a prefix (a cut we never accepted): queue the rest. */
        uint64_t end = t->offset + t->length;
        uint64_t start = t->offset + length;
        t->length = length;
        uint32_t object = t->object;
        bool splittable = t->splittable;
        uint64_t id = tl_sched_add (self, object, start, end - start, splittable);
        self->remainders++;
        tl_sched_emit (self, TL_EV_SPLIT, -1, task, id);
    }
    return true;
}

uint32_t
tl_sched_requeue_mapped (tl_sched_t *self)
{
    /* Every live heap entry, in id order (as a scan of the job would re-queue them). */
    uint32_t n = 0;
    uint64_t *ids = malloc ((self->nheap + 1) * sizeof *ids);
    if (!ids)
        abort ();
    size_t k = 0;
    for (size_t i = 0; i < self->nheap; i++)
        if (s_heap_live (self, &self->heap [i]))
            ids [k++] = self->heap [i].id;
    self->nheap = 0;
    if (k > 1)
        qsort (ids, k, sizeof *ids, s_cmp_id);
    for (size_t i = 0; i < k; i++) {
        tl_task_t *t = &self->tasks [ids [i]];
        if (t->state == TL_TASK_MAPPED) {
            /* Its partial may still be on its way (queued in a mapper towards the reducer that
               went, and delivered to the new one): never cut it, or that whole copy and a cut
               one could both be applied (rules of docs/ARCHITECTURE.md, "Cuts"; rv13). */
            t->zombie = true;
            t->state = TL_TASK_QUEUED;
            self->mapped--;
            self->reissued++;
            tl_sched_push_front (self, t->id);
            n++;
        }
    }
    free (ids);
    return n;
}

uint32_t
tl_sched_unapply_missing (tl_sched_t *self, const uint64_t *ids, size_t n)
{
    uint64_t *has = calloc (self->ntasks / 64 + 1, sizeof *has);
    if (!has)
        abort ();   /* cannot tell which tasks are lost: counting on would be wrong */
    for (size_t i = 0; i < n; i++)
        if (ids [i] < self->ntasks)
            has [ids [i] / 64] |= 1ull << (ids [i] % 64);
    uint32_t k = 0;
    for (size_t id = 0; id < self->ntasks; id++) {
        tl_task_t *t = &self->tasks [id];
        if (t->state != TL_TASK_APPLIED || (has [id / 64] >> (id % 64) & 1))
            continue;
        t->zombie = true;   /* copies of it may still come (as in tl_sched_requeue_mapped) */
        t->state = TL_TASK_QUEUED;
        self->applied--;
        self->reissued++;
        tl_sched_push_back (self, t->id);
        k++;
    }
    free (has);
    return k;
}

void
tl_sched_leave (tl_sched_t *self, int m)
{
    if (m < 0 || (size_t) m >= self->nmappers || !self->mappers [m].alive)
        return;
    uint32_t n = s_requeue_mapper (self, m, false);
    self->mappers [m].alive = false;
    tl_sched_mapper_sync (self, m);
    tl_sched_emit (self, TL_EV_LEFT, m, 0, n);
}

void
tl_sched_hold_applies (tl_sched_t *self, bool hold, int64_t now)
{
    if (self->applies_held && !hold) {
        /* The held time does not count: each wait resumes where the hold found it (one that
           began during the hold starts now). Restarting every wait from the release instead
           let a stall or a silence that kept coming back, more often than the apply timeout,
           keep a partial the reducer cannot take waiting for ever (rv13 H1). min (x + d, now)
           keeps the heap's order. */
        int64_t d = now - self->held_at;
        for (size_t i = 0; i < self->nheap; i++)
            self->heap [i].since = self->heap [i].since + d < now ? self->heap [i].since + d : now;
    }
    if (hold && !self->applies_held)
        self->held_at = now;
    self->applies_held = hold;
}

#define UNAPPLIED_PER_ATTEMPT 2

void
tl_sched_tick (tl_sched_t *self, int64_t now)
{
    for (size_t i = 0; i < self->nmappers; i++) {
        tl_mapper_t *mp = &self->mappers [i];
        if (mp->alive && now - mp->last_seen > self->cfg.lease_ms) {
            uint32_t n = s_requeue_mapper (self, (int) i, true);
            mp->alive = false;
            tl_sched_mapper_sync (self, (int) i);
            self->lost++;
            tl_sched_emit (self, TL_EV_LOST, (int) i, 0, n);
        }
    }
    /* Apply timeouts: pop what is due from the heap, then re-queue it in id order. */
    uint64_t *due = NULL;
    size_t ndue = 0, due_cap = 0;
    while (!self->applies_held && self->nheap && now - self->heap [0].since > self->cfg.apply_timeout_ms) {
        tl_sched_mapped_t e = self->heap [0];
        tl_sched_heap_pop (self);
        if (!s_heap_live (self, &e))
            continue;
        if (ndue == due_cap) {
            due_cap = due_cap ? due_cap * 2 : 16;
            uint64_t *d = realloc (due, due_cap * sizeof *d);
            if (!d)
                abort ();
            due = d;
        }
        due [ndue++] = e.id;
    }
    if (ndue > 1)
        qsort (due, ndue, sizeof *due, s_cmp_id);
    for (size_t i = 0; i < ndue; i++) {
        tl_task_t *t = &self->tasks [due [i]];
        self->mapped--;
        /* A task that mappers keep finishing and the reducer never applies (a partial it cannot
           take) would be re-run for ever: after UNAPPLIED_PER_ATTEMPT x max_attempts it fails,
           and the job with it, loudly. A reducer that is merely away loses far fewer rounds. */
        if (++t->unapplied >= UNAPPLIED_PER_ATTEMPT * self->cfg.max_attempts) {
            char why [256];
            snprintf (why, sizeof why, "finished %u times by mappers but never applied by the reducer "
                      "(each time within %lld ms): its partial is one the reducer cannot take; see the reducer's log",
                      t->unapplied, (long long) self->cfg.apply_timeout_ms);
            s_set_error (t, why);
            t->failures = t->unapplied;
            t->state = TL_TASK_FAILED;
            t->since = now;
            self->failed++;
            tl_sched_emit (self, TL_EV_FAILED, -1, t->id, t->failures);
            continue;
        }
        t->state = TL_TASK_QUEUED;
        self->reissued++;
        tl_sched_push_front (self, t->id);
        tl_sched_emit (self, TL_EV_REQUEUED, -1, t->id, 0);
    }
    free (due);
}

