/*  sched.c — the scheduler (see sched.h for the rules).

    The queue is a ring of task ids. Re-queued tasks go to the front, so that lost work is
    re-done first and the tail of the job is not held up by it. Dispatch walks the mappers
    round-robin from where it last stopped, so that work spreads evenly when many mappers have
    credit. */
#include "sched.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct tl_sched {
    tl_sched_cfg_t cfg;
    tl_task_t *tasks;
    size_t ntasks, tasks_cap;
    tl_mapper_t *mappers;
    size_t nmappers, mappers_cap;
    uint64_t *ring;             /* queue of task ids */
    size_t ring_cap, head, count;
    size_t rr;                  /* round-robin position */
    tl_sched_ev_t *evs;
    size_t nevs, evs_cap, ev_head;
    uint64_t applied, failed, mapped, running, reissued, lost;
};

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
    return self;
}

void
tl_sched_destroy (tl_sched_t **self_p)
{
    if (self_p && *self_p) {
        tl_sched_t *self = *self_p;
        free (self->tasks);
        free (self->mappers);
        free (self->ring);
        free (self->evs);
        free (self);
        *self_p = NULL;
    }
}

static void
s_event (tl_sched_t *self, tl_sched_ev_type_t type, int m, uint64_t task, uint32_t n)
{
    if (self->nevs == self->evs_cap) {
        /* compact consumed events first */
        if (self->ev_head) {
            memmove (self->evs, self->evs + self->ev_head, (self->nevs - self->ev_head) * sizeof *self->evs);
            self->nevs -= self->ev_head;
            self->ev_head = 0;
        }
        if (self->nevs == self->evs_cap) {
            size_t cap = self->evs_cap ? self->evs_cap * 2 : 64;
            tl_sched_ev_t *e = realloc (self->evs, cap * sizeof *e);
            if (!e)
                return;     /* events are advisory: dropping one loses a log line, not work */
            self->evs = e;
            self->evs_cap = cap;
        }
    }
    self->evs [self->nevs++] = (tl_sched_ev_t) { type, m, task, n };
}

bool
tl_sched_event (tl_sched_t *self, tl_sched_ev_t *ev)
{
    if (self->ev_head == self->nevs) {
        self->ev_head = self->nevs = 0;
        return false;
    }
    *ev = self->evs [self->ev_head++];
    return true;
}

static int
s_ring_grow (tl_sched_t *self)
{
    size_t cap = self->ring_cap ? self->ring_cap * 2 : 256;
    uint64_t *r = malloc (cap * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < self->count; i++)
        r [i] = self->ring [(self->head + i) % self->ring_cap];
    free (self->ring);
    self->ring = r;
    self->ring_cap = cap;
    self->head = 0;
    return 0;
}

static void
s_push_back (tl_sched_t *self, uint64_t id)
{
    if (self->count == self->ring_cap && s_ring_grow (self))
        abort ();   /* cannot queue: losing a task silently is worse than dying loudly */
    self->ring [(self->head + self->count) % self->ring_cap] = id;
    self->count++;
}

static void
s_push_front (tl_sched_t *self, uint64_t id)
{
    if (self->count == self->ring_cap && s_ring_grow (self))
        abort ();
    self->head = (self->head + self->ring_cap - 1) % self->ring_cap;
    self->ring [self->head] = id;
    self->count++;
}

uint64_t
tl_sched_add (tl_sched_t *self, uint32_t object, uint64_t offset, uint64_t length)
{
    if (self->ntasks == self->tasks_cap) {
        size_t cap = self->tasks_cap ? self->tasks_cap * 2 : 256;
        tl_task_t *t = realloc (self->tasks, cap * sizeof *t);
        if (!t)
            abort ();
        self->tasks = t;
        self->tasks_cap = cap;
    }
    tl_task_t *t = &self->tasks [self->ntasks];
    memset (t, 0, sizeof *t);
    t->id = self->ntasks++;
    t->object = object;
    t->offset = offset;
    t->length = length;
    t->state = TL_TASK_QUEUED;
    t->mapper = -1;
    s_push_back (self, t->id);
    return t->id;
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

/*  Put every task RUNNING on m back at the front of the queue. Returns how many. */
static uint32_t
s_requeue_mapper (tl_sched_t *self, int m)
{
    uint32_t n = 0;
    for (size_t i = 0; i < self->ntasks && self->mappers [m].held; i++) {
        tl_task_t *t = &self->tasks [i];
        if (t->state == TL_TASK_RUNNING && t->mapper == m) {
            t->state = TL_TASK_QUEUED;
            t->mapper = -1;
            t->bytes_done = 0;
            self->running--;
            self->mappers [m].held--;
            self->reissued++;
            s_push_front (self, t->id);
            n++;
        }
    }
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
        uint32_t n = s_requeue_mapper (self, m);
        if (n)
            s_event (self, TL_EV_LEFT, m, 0, n);
    }
    else {
        if (self->nmappers == self->mappers_cap) {
            size_t cap = self->mappers_cap ? self->mappers_cap * 2 : 16;
            tl_mapper_t *v = realloc (self->mappers, cap * sizeof *v);
            if (!v)
                return -1;
            self->mappers = v;
            self->mappers_cap = cap;
        }
        m = (int) self->nmappers++;
        memset (&self->mappers [m], 0, sizeof self->mappers [m]);
        memcpy (self->mappers [m].key, key, keylen);
        self->mappers [m].keylen = keylen;
    }
    tl_mapper_t *mp = &self->mappers [m];
    snprintf (mp->name, sizeof mp->name, "%s", name ? name : "?");
    mp->slots = slots;
    mp->alive = true;
    mp->last_seen = now;
    s_event (self, TL_EV_JOINED, m, 0, slots);
    return m;
}

void
tl_sched_seen (tl_sched_t *self, int m, int64_t now)
{
    if (m >= 0 && (size_t) m < self->nmappers && self->mappers [m].alive)
        self->mappers [m].last_seen = now;
}

static tl_task_t *
s_task (tl_sched_t *self, uint64_t id)
{
    return id < self->ntasks ? &self->tasks [id] : NULL;
}

void
tl_sched_progress (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, uint64_t bytes_done)
{
    tl_task_t *t = s_task (self, task);
    if (t && t->state == TL_TASK_RUNNING && t->mapper == m && t->attempt == attempt && bytes_done <= t->length + (1 << 20))
        t->bytes_done = bytes_done;
}

bool
tl_sched_next (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task)
{
    if (!self->count || !self->nmappers)
        return false;
    for (size_t k = 0; k < self->nmappers; k++) {
        size_t i = (self->rr + k) % self->nmappers;
        tl_mapper_t *mp = &self->mappers [i];
        if (!mp->alive || mp->held >= mp->slots + 1)
            continue;
        /* Skip ids that are no longer queued (applied by a straggler while waiting). */
        while (self->count) {
            uint64_t id = self->ring [self->head];
            self->head = (self->head + 1) % self->ring_cap;
            self->count--;
            tl_task_t *t = &self->tasks [id];
            if (t->state != TL_TASK_QUEUED)
                continue;
            t->state = TL_TASK_RUNNING;
            t->mapper = (int) i;
            t->attempt++;
            t->since = now;
            t->bytes_done = 0;
            mp->held++;
            mp->assigned++;
            self->running++;
            self->rr = (i + 1) % self->nmappers;
            *m = (int) i;
            *task = t;
            return true;
        }
        return false;
    }
    return false;
}

void
tl_sched_done (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    if (!t || t->state != TL_TASK_RUNNING || t->mapper != m || t->attempt != attempt)
        return;     /* stale: that assignment was already taken back */
    t->state = TL_TASK_MAPPED;
    t->mapper = -1;
    t->since = now;
    self->running--;
    self->mapped++;
    self->mappers [m].held--;
    self->mappers [m].done++;
}

void
tl_sched_fail (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, bool retryable, const char *error, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    if (!t || t->state != TL_TASK_RUNNING || t->mapper != m || t->attempt != attempt)
        return;
    self->running--;
    self->mappers [m].held--;
    t->mapper = -1;
    t->since = now;
    t->failures++;
    snprintf (t->error, sizeof t->error, "%s", error ? error : "unknown error");
    if (retryable && t->failures < self->cfg.max_attempts) {
        t->state = TL_TASK_QUEUED;
        self->reissued++;
        s_push_front (self, t->id);
        s_event (self, TL_EV_REQUEUED, m, t->id, t->failures);
    }
    else {
        t->state = TL_TASK_FAILED;
        self->failed++;
        s_event (self, TL_EV_FAILED, m, t->id, t->failures);
    }
}

bool
tl_sched_applied (tl_sched_t *self, uint64_t task, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    if (!t)
        return false;
    switch (t->state) {
        case TL_TASK_APPLIED:
            return true;
        case TL_TASK_RUNNING:
            /* Applied from an earlier attempt while a re-run is going: stop the re-run. */
            s_event (self, TL_EV_CANCEL, t->mapper, t->id, 0);
            self->mappers [t->mapper].held--;
            self->running--;
            t->mapper = -1;
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
    t->state = TL_TASK_APPLIED;
    t->since = now;
    self->applied++;
    return true;
}

void
tl_sched_leave (tl_sched_t *self, int m)
{
    if (m < 0 || (size_t) m >= self->nmappers || !self->mappers [m].alive)
        return;
    uint32_t n = s_requeue_mapper (self, m);
    self->mappers [m].alive = false;
    s_event (self, TL_EV_LEFT, m, 0, n);
}

void
tl_sched_tick (tl_sched_t *self, int64_t now)
{
    for (size_t i = 0; i < self->nmappers; i++) {
        tl_mapper_t *mp = &self->mappers [i];
        if (mp->alive && now - mp->last_seen > self->cfg.lease_ms) {
            uint32_t n = s_requeue_mapper (self, (int) i);
            mp->alive = false;
            self->lost++;
            s_event (self, TL_EV_LOST, (int) i, 0, n);
        }
    }
    if (self->mapped) {
        for (size_t i = 0; i < self->ntasks; i++) {
            tl_task_t *t = &self->tasks [i];
            if (t->state == TL_TASK_MAPPED && now - t->since > self->cfg.apply_timeout_ms) {
                t->state = TL_TASK_QUEUED;
                self->mapped--;
                self->reissued++;
                s_push_front (self, t->id);
                s_event (self, TL_EV_REQUEUED, -1, t->id, 0);
            }
        }
    }
}

bool
tl_sched_finished (const tl_sched_t *self)
{
    return self->applied + self->failed == self->ntasks;
}

tl_sched_stats_t
tl_sched_stats (const tl_sched_t *self)
{
    tl_sched_stats_t s = { 0 };
    s.tasks = self->ntasks;
    s.applied = self->applied;
    s.failed = self->failed;
    s.mapped = self->mapped;
    s.running = self->running;
    s.queued = self->ntasks - self->applied - self->failed - self->mapped - self->running;
    s.reissued = self->reissued;
    s.mappers_lost = self->lost;
    for (size_t i = 0; i < self->nmappers; i++)
        s.mappers_alive += self->mappers [i].alive;
    return s;
}

const tl_task_t *
tl_sched_task (const tl_sched_t *self, uint64_t id)
{
    return id < self->ntasks ? &self->tasks [id] : NULL;
}

size_t
tl_sched_mapper_count (const tl_sched_t *self)
{
    return self->nmappers;
}

const tl_mapper_t *
tl_sched_mapper (const tl_sched_t *self, int m)
{
    return m >= 0 && (size_t) m < self->nmappers ? &self->mappers [m] : NULL;
}
