/*  sched.c — the scheduler (see sched.h for the rules).

    The queue is a ring of task ids. Re-queued tasks go to the front, so that lost work is
    re-done first and the tail of the job is not held up by it. Dispatch walks the mappers
    round-robin from where it last stopped, so that work spreads evenly when many mappers have
    credit. */
#include "broker/sched.h"
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
    uint64_t steals, steals_declined, steals_returned, backups, remainders;
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
s_event (tl_sched_t *self, tl_sched_ev_type_t type, int m, uint64_t task, uint64_t n)
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
tl_sched_add (tl_sched_t *self, uint32_t object, uint64_t offset, uint64_t length, bool splittable)
{
    if (self->ntasks == self->tasks_cap) {
        size_t cap = self->tasks_cap ? self->tasks_cap * 2 : 256;
        tl_task_t *t = realloc (self->tasks, cap * sizeof *t);
        if (!t)
            abort ();   /* cannot track the task: losing it silently is worse than dying loudly */
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
    t->splittable = splittable;
    t->run [0].mapper = t->run [1].mapper = -1;
    s_push_back (self, t->id);
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
s_nrun (const tl_task_t *t)
{
    return (t->run [0].mapper >= 0) + (t->run [1].mapper >= 0);
}

/*  Remove runner r of task t (frees the mapper's credit). If it was the last runner of a
    RUNNING task and requeue is set, the task goes back to the front of the queue, and true is
    returned (the caller says whether that counts as a re-issue). */
static bool
s_drop_runner (tl_sched_t *self, tl_task_t *t, int r, bool requeue)
{
    int m = t->run [r].mapper;
    if (m < 0)
        return false;
    self->mappers [m].held--;
    t->run [r].mapper = -1;
    t->steal_pending = false;
    if (r == 0 && t->run [1].mapper >= 0) {     /* the backup becomes the runner */
        t->run [0] = t->run [1];
        t->run [1].mapper = -1;
    }
    if (s_nrun (t) == 0 && t->state == TL_TASK_RUNNING) {
        self->running--;
        if (requeue) {
            t->state = TL_TASK_QUEUED;
            s_push_front (self, t->id);
            return true;
        }
    }
    return false;
}

static int
s_runner (const tl_task_t *t, int m, uint32_t attempt)
{
    for (int r = 0; r < 2; r++)
        if (t->run [r].mapper == m && t->run [r].attempt == attempt)
            return r;
    return -1;
}

/*  Take back every task mapper m runs. Returns how many went back to the queue. */
static uint32_t
s_requeue_mapper (tl_sched_t *self, int m, bool lapsed)
{
    uint32_t n = 0;
    for (size_t i = 0; i < self->ntasks && self->mappers [m].held; i++) {
        tl_task_t *t = &self->tasks [i];
        if (t->state != TL_TASK_RUNNING)
            continue;
        for (int r = 1; r >= 0; r--)
            if (t->run [r].mapper == m) {
                if (lapsed)
                    t->zombie = true;
                if (s_drop_runner (self, t, r, true)) {
                    n++;
                    self->reissued++;
                }
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
        uint32_t n = s_requeue_mapper (self, m, false);
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
    int r = t && t->state == TL_TASK_RUNNING ? s_runner (t, m, attempt) : -1;
    if (r >= 0 && bytes_done <= t->length + (1 << 20))
        t->run [r].bytes_done = bytes_done;
}

static void
s_assign (tl_sched_t *self, tl_task_t *t, int r, int m, int64_t now)
{
    t->attempt++;
    t->run [r] = (tl_runner_t) { m, t->attempt, 0, now };
    self->mappers [m].held++;
    self->mappers [m].assigned++;
}

/*  Remaining bytes and the estimated time left of runner r (ms; huge when unknown). */
static uint64_t
s_left (const tl_task_t *t, int r)
{
    uint64_t done = t->run [r].bytes_done;
    return done >= t->length ? 0 : t->length - done;
}

static double
s_eta_ms (const tl_task_t *t, int r, int64_t now)
{
    double el = (double) (now - t->run [r].since);
    double done = (double) t->run [r].bytes_done;
    if (done <= 0)
        return el > 0 ? 1e12 : 0;
    return (double) s_left (t, r) * el / done;
}

static bool
s_idle_slot (const tl_mapper_t *mp)
{
    return mp->alive && mp->held < mp->slots;
}

bool
tl_sched_next (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt)
{
    if (!self->nmappers)
        return false;
    /* Idle slots first, then the one spare each: a victim of a steal must not get its own tail. */
    for (size_t k = 0; k < 2 * self->nmappers && self->count; k++) {
        size_t i = (self->rr + k) % self->nmappers;
        tl_mapper_t *mp = &self->mappers [i];
        if (!mp->alive || mp->held >= mp->slots + (k >= self->nmappers ? 1 : 0))
            continue;
        while (self->count) {
            uint64_t id = self->ring [self->head];
            self->head = (self->head + 1) % self->ring_cap;
            self->count--;
            tl_task_t *t = &self->tasks [id];
            if (t->state != TL_TASK_QUEUED)
                continue;   /* applied by a straggler while it waited */
            t->state = TL_TASK_RUNNING;
            t->since = now;
            s_assign (self, t, 0, (int) i, now);
            self->running++;
            self->rr = (i + 1) % self->nmappers;
            *m = (int) i;
            *task = t;
            *attempt = t->attempt;
            return true;
        }
    }
    if (self->count || self->cfg.no_backups)
        return false;
    /* The queue is empty: a backup copy for an idle slot, of the task that will take longest,
       among those stealing cannot help (unsplittable, zombie, or too little left to cut). */
    for (size_t k = 0; k < self->nmappers; k++) {
        size_t i = (self->rr + k) % self->nmappers;
        if (!s_idle_slot (&self->mappers [i]))
            continue;
        tl_task_t *best = NULL;
        double best_eta = 0;
        for (size_t j = 0; j < self->ntasks; j++) {
            tl_task_t *t = &self->tasks [j];
            if (t->state != TL_TASK_RUNNING || s_nrun (t) != 1 || t->run [0].mapper == (int) i)
                continue;
            bool stealable = t->splittable && !t->zombie && s_left (t, 0) >= self->cfg.min_steal;
            if (stealable || now - t->run [0].since < self->cfg.backup_after_ms)
                continue;
            double eta = s_eta_ms (t, 0, now);
            if (eta >= (double) self->cfg.backup_after_ms && eta > best_eta) {
                best = t;
                best_eta = eta;
            }
        }
        if (!best)
            return false;
        s_assign (self, best, 1, (int) i, now);
        self->backups++;
        self->rr = (i + 1) % self->nmappers;
        s_event (self, TL_EV_BACKUP, (int) i, best->id, best->attempt);
        *m = (int) i;
        *task = best;
        *attempt = best->attempt;
        return true;
    }
    return false;
}

bool
tl_sched_steal (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt,
                uint32_t *keep_permille)
{
    if (self->count)
        return false;
    /* A thief: a mapper with an idle slot (the +1 spare does not count), not already waiting
       for a steal on its behalf. */
    int thief = -1;
    uint32_t idle = 0, pending = 0;
    for (size_t i = 0; i < self->nmappers; i++)
        if (s_idle_slot (&self->mappers [i])) {
            idle += self->mappers [i].slots - self->mappers [i].held;
            if (thief < 0)
                thief = (int) i;
        }
    for (size_t j = 0; j < self->ntasks; j++)     /* (a finished task's unanswered steal is void) */
        pending += self->tasks [j].steal_pending && self->tasks [j].state == TL_TASK_RUNNING;
    if (thief < 0 || pending >= idle)
        return false;
    /* The victim: the task that will take longest (bytes left at its runner's pace), so that a
       straggler is relieved first. A task not yet started (pace unknown) counts as longest. */
    tl_task_t *best = NULL;
    double best_eta = -1;
    for (size_t j = 0; j < self->ntasks; j++) {
        tl_task_t *t = &self->tasks [j];
        if (t->state != TL_TASK_RUNNING || s_nrun (t) != 1 || !t->splittable || t->zombie || t->steal_pending
            || now < t->no_steal_until)
            continue;
        /* A spare (queued behind busy slots, not started) comes back whole, at once and at
           any size; a task just handed out is left alone for a while (no bouncing). */
        const tl_mapper_t *rm = &self->mappers [t->run [0].mapper];
        bool spare = t->run [0].bytes_done == 0 && rm->held > rm->slots;
        if (!spare && t->run [0].bytes_done == 0 && now - t->run [0].since < self->cfg.steal_after_ms)
            continue;
        uint64_t left = s_left (t, 0);
        double eta = s_eta_ms (t, 0, now);
        if (!spare && left < self->cfg.min_steal
            && !(left >= self->cfg.min_steal / 16 && eta >= (double) self->cfg.steal_eta_ms))
            continue;
        if (eta > best_eta) {
            best = t;
            best_eta = eta;
        }
    }
    if (!best)
        return false;
    /* Split the rest by speed: the victim keeps the share it can read while the thief reads the
       other, so both finish together. Speeds are measured on finished tasks; the victim's own
       progress on this task stands in when it has none, and unknown means equal. */
    const tl_mapper_t *vm = &self->mappers [best->run [0].mapper], *tm = &self->mappers [thief];
    double vr = vm->rate, tr = tm->rate;
    if (now > best->run [0].since && best->run [0].bytes_done)
        vr = (double) best->run [0].bytes_done / (double) (now - best->run [0].since);
    if (tr <= 0)
        tr = vr;
    uint32_t keep = 500;
    if (vr > 0 && tr > 0)
        keep = (uint32_t) (1000.0 * vr / (vr + tr));
    if (keep < 50)
        keep = 50;
    if (keep > 900)
        keep = 900;
    best->steal_pending = true;
    self->steals++;
    *m = best->run [0].mapper;
    *task = best;
    *attempt = best->run [0].attempt;
    *keep_permille = keep;
    return true;
}

uint64_t
tl_sched_cut (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, uint64_t cut, bool returned, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    if (!t)
        return UINT64_MAX;
    int r = t->state == TL_TASK_RUNNING ? s_runner (t, m, attempt) : -1;
    if (r != 0 || !t->steal_pending) {
        /* Stale: if it did cut, its partial will say so and the rest is re-queued then. */
        if (cut && !returned)
            t->zombie = true;
        return UINT64_MAX;
    }
    t->steal_pending = false;
    if (returned) {
        /* Not started there: the victim gave the whole task back. */
        self->steals_returned++;
        s_drop_runner (self, t, 0, true);     /* not lost: counted as returned, not re-issued */
        return UINT64_MAX;
    }
    if (!cut || cut <= t->offset || cut >= t->offset + t->length) {
        self->steals_declined++;
        t->no_steal_until = now + 1000;
        return UINT64_MAX;
    }
    uint64_t end = t->offset + t->length;
    t->length = cut - t->offset;
    uint32_t object = t->object;
    bool splittable = t->splittable;
    uint64_t id = tl_sched_add (self, object, cut, end - cut, splittable);   /* may move tasks */
    /* The tail goes to the front: the thief is waiting for it. */
    self->count--;
    s_push_front (self, id);
    s_event (self, TL_EV_SPLIT, m, task, id);
    return id;
}

void
tl_sched_done (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    int r = t && t->state == TL_TASK_RUNNING ? s_runner (t, m, attempt) : -1;
    if (r < 0)
        return;     /* stale: that assignment was already taken back */
    self->mappers [m].done++;
    if (now > t->run [r].since) {
        double rate = (double) t->length / (double) (now - t->run [r].since);
        tl_mapper_t *mp = &self->mappers [m];
        mp->rate = mp->rate > 0 ? 0.7 * mp->rate + 0.3 * rate : rate;
    }
    int other = 1 - r;
    if (t->run [other].mapper >= 0) {
        s_event (self, TL_EV_CANCEL, t->run [other].mapper, t->id, 0);
        s_drop_runner (self, t, other, false);
        r = 0;
    }
    s_drop_runner (self, t, r, false);
    t->state = TL_TASK_MAPPED;
    t->since = now;
    self->mapped++;
}

void
tl_sched_fail (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, bool retryable, const char *error, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    int r = t && t->state == TL_TASK_RUNNING ? s_runner (t, m, attempt) : -1;
    if (r < 0)
        return;
    snprintf (t->error, sizeof t->error, "%s", error ? error : "unknown error");
    if (s_nrun (t) == 2) {          /* the other copy is still going */
        s_drop_runner (self, t, r, false);
        return;
    }
    s_drop_runner (self, t, r, false);
    t->since = now;
    t->failures++;
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
tl_sched_applied (tl_sched_t *self, uint64_t task, uint64_t length, int64_t now)
{
    tl_task_t *t = s_task (self, task);
    if (!t)
        return false;
    switch (t->state) {
        case TL_TASK_APPLIED:
            return true;
        case TL_TASK_RUNNING:
            /* Applied from an earlier attempt while a re-run goes on: stop the re-runs. */
            for (int r = 1; r >= 0; r--)
                if (t->run [r].mapper >= 0) {
                    s_event (self, TL_EV_CANCEL, t->run [r].mapper, t->id, 0);
                    s_drop_runner (self, t, r, false);
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
    t->state = TL_TASK_APPLIED;
    t->since = now;
    self->applied++;
    if (length && length < t->length) {
        /* The applied partial covered only a prefix (a cut we never accepted): queue the rest. */
        uint64_t end = t->offset + t->length;
        uint64_t start = t->offset + length;
        t->length = length;
        uint32_t object = t->object;
        bool splittable = t->splittable;
        uint64_t id = tl_sched_add (self, object, start, end - start, splittable);
        self->remainders++;
        s_event (self, TL_EV_SPLIT, -1, task, id);
    }
    return true;
}

uint32_t
tl_sched_requeue_mapped (tl_sched_t *self)
{
    uint32_t n = 0;
    for (size_t i = 0; i < self->ntasks; i++) {
        tl_task_t *t = &self->tasks [i];
        if (t->state == TL_TASK_MAPPED) {
            t->state = TL_TASK_QUEUED;
            self->mapped--;
            self->reissued++;
            s_push_front (self, t->id);
            n++;
        }
    }
    return n;
}

void
tl_sched_leave (tl_sched_t *self, int m)
{
    if (m < 0 || (size_t) m >= self->nmappers || !self->mappers [m].alive)
        return;
    uint32_t n = s_requeue_mapper (self, m, false);
    self->mappers [m].alive = false;
    s_event (self, TL_EV_LEFT, m, 0, n);
}

void
tl_sched_tick (tl_sched_t *self, int64_t now)
{
    for (size_t i = 0; i < self->nmappers; i++) {
        tl_mapper_t *mp = &self->mappers [i];
        if (mp->alive && now - mp->last_seen > self->cfg.lease_ms) {
            uint32_t n = s_requeue_mapper (self, (int) i, true);
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
    s.steals = self->steals;
    s.steals_declined = self->steals_declined;
    s.steals_returned = self->steals_returned;
    s.backups = self->backups;
    s.remainders = self->remainders;
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
