/*  sched.c — the scheduler (see sched.h for the rules).

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
#include "broker/sched.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint64_t *ids;
    uint32_t n, cap;
} s_held_t;

typedef struct {
    int64_t since;
    uint64_t id;
    uint32_t gen;
} s_mapped_t;

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
    s_held_t *held;             /* per mapper: the tasks it runs (mappers_cap of them) */
    uint64_t *runset;           /* tasks with a runner */
    size_t nrunset;
    uint32_t *runpos;           /* per task: its position in runset (tasks_cap of them) */
    uint32_t *mgen;             /* per task: bumped each time it becomes MAPPED */
    s_mapped_t *heap;           /* MAPPED tasks by since (min-heap, lazily invalidated) */
    size_t nheap, heap_cap;
    uint64_t *idle;             /* bit per mapper: alive with an idle slot (held < slots) */
    uint64_t *credit;           /* bit per mapper: alive with credit (held < slots + 1) */
    uint32_t *nidle;            /* per mapper: its idle slots, counted in idle_slots */
    uint64_t idle_slots;
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
    self->mgen [t->id] = 0;
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

/*  The per-mapper lists and the running set. Memory for them is found or the broker dies:
    losing track of a running task would be worse. */
static void
s_held_add (tl_sched_t *self, int m, uint64_t id)
{
    s_held_t *h = &self->held [m];
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 4;
        uint64_t *v = realloc (h->ids, cap * sizeof *v);
        if (!v)
            abort ();
        h->ids = v;
        h->cap = cap;
    }
    h->ids [h->n++] = id;
}

static void
s_held_del (tl_sched_t *self, int m, uint64_t id)
{
    s_held_t *h = &self->held [m];
    for (uint32_t i = 0; i < h->n; i++)
        if (h->ids [i] == id) {
            h->ids [i] = h->ids [--h->n];
            return;
        }
}

static void
s_runset_add (tl_sched_t *self, uint64_t id)
{
    self->runpos [id] = (uint32_t) self->nrunset;
    self->runset [self->nrunset++] = id;
}

static void
s_runset_del (tl_sched_t *self, uint64_t id)
{
    uint32_t p = self->runpos [id];
    uint64_t last = self->runset [--self->nrunset];
    self->runset [p] = last;
    self->runpos [last] = p;
}

static int
s_cmp_id (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/*  Mappers with an idle slot, or with credit, as bitsets: dispatch finds the next one after the
    round-robin position in O(mappers / 64). */
static void
s_mapper_sync (tl_sched_t *self, int m)
{
    const tl_mapper_t *mp = &self->mappers [m];
    uint64_t bit = 1ULL << (m & 63);
    uint32_t idle = mp->alive && mp->held < mp->slots ? mp->slots - mp->held : 0;
    if (idle)
        self->idle [m >> 6] |= bit;
    else
        self->idle [m >> 6] &= ~bit;
    if (mp->alive && mp->held < mp->slots + 1)
        self->credit [m >> 6] |= bit;
    else
        self->credit [m >> 6] &= ~bit;
    self->idle_slots += idle;
    self->idle_slots -= self->nidle [m];
    self->nidle [m] = idle;
}

/*  The first mapper at or after `from` (cyclically) whose bit is set, or -1. */
static int
s_bits_next (const tl_sched_t *self, const uint64_t *bits, size_t from)
{
    size_t n = self->nmappers, nw = (n + 63) / 64;
    if (!n)
        return -1;
    from %= n;
    size_t w = from / 64;
    uint64_t x = bits [w] & (~0ULL << (from & 63));
    for (size_t k = 0; k <= nw; k++) {
        if (x) {
            size_t i = (w * 64) + (size_t) __builtin_ctzll (x);
            if (i < n)
                return (int) i;
        }
        w = (w + 1) % nw;
        x = bits [w];
    }
    return -1;
}

/*  The apply-timeout heap. */
static bool
s_heap_less (const s_mapped_t *a, const s_mapped_t *b)
{
    return a->since < b->since || (a->since == b->since && a->id < b->id);
}

static void
s_heap_down (s_mapped_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && s_heap_less (&h [l], &h [m]))
            m = l;
        if (l + 1 < n && s_heap_less (&h [l + 1], &h [m]))
            m = l + 1;
        if (m == i)
            return;
        s_mapped_t x = h [i];
        h [i] = h [m];
        h [m] = x;
        i = m;
    }
}

static bool
s_heap_live (const tl_sched_t *self, const s_mapped_t *e)
{
    return self->tasks [e->id].state == TL_TASK_MAPPED && self->mgen [e->id] == e->gen;
}

static void
s_heap_pop (tl_sched_t *self)
{
    self->heap [0] = self->heap [--self->nheap];
    s_heap_down (self->heap, self->nheap, 0);
}

static void
s_heap_push (tl_sched_t *self, uint64_t id, int64_t since)
{
    if (self->nheap > 64 && self->nheap > 2 * self->mapped) {
        /* Mostly dead entries (applied tasks): keep the live ones and re-heapify. */
        size_t k = 0;
        for (size_t i = 0; i < self->nheap; i++)
            if (s_heap_live (self, &self->heap [i]))
                self->heap [k++] = self->heap [i];
        self->nheap = k;
        for (size_t i = k / 2; i-- > 0;)
            s_heap_down (self->heap, k, i);
    }
    if (self->nheap == self->heap_cap) {
        size_t cap = self->heap_cap ? self->heap_cap * 2 : 64;
        s_mapped_t *h = realloc (self->heap, cap * sizeof *h);
        if (!h)
            abort ();
        self->heap = h;
        self->heap_cap = cap;
    }
    size_t i = self->nheap++;
    self->heap [i] = (s_mapped_t) { since, id, ++self->mgen [id] };
    while (i && s_heap_less (&self->heap [i], &self->heap [(i - 1) / 2])) {
        s_mapped_t x = self->heap [i];
        self->heap [i] = self->heap [(i - 1) / 2];
        self->heap [(i - 1) / 2] = x;
        i = (i - 1) / 2;
    }
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
    s_held_del (self, m, t->id);
    s_mapper_sync (self, m);
    t->run [r].mapper = -1;
    t->steal_pending = false;
    if (r == 0 && t->run [1].mapper >= 0) {     /* the backup becomes the runner */
        t->run [0] = t->run [1];
        t->run [1].mapper = -1;
    }
    if (s_nrun (t) == 0)
        s_runset_del (self, t->id);
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
    s_held_t *h = &self->held [m];
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
                if (s_drop_runner (self, t, r, true)) {
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
            s_event (self, TL_EV_LEFT, m, 0, n);
    }
    else {
        if (self->nmappers == self->mappers_cap) {
            size_t cap = self->mappers_cap ? self->mappers_cap * 2 : 16;
            tl_mapper_t *v = realloc (self->mappers, cap * sizeof *v);
            if (!v)
                return -1;
            self->mappers = v;
            s_held_t *hv = realloc (self->held, cap * sizeof *hv);
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
    s_mapper_sync (self, m);
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
    if (s_nrun (t) == 0)
        s_runset_add (self, t->id);
    t->attempt++;
    t->run [r] = (tl_runner_t) { m, t->attempt, 0, now };
    self->mappers [m].held++;
    s_held_add (self, m, t->id);
    s_mapper_sync (self, m);
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

bool
tl_sched_next (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt)
{
    if (!self->nmappers)
        return false;
    /* Idle slots first, then the one spare each: a victim of a steal must not get its own tail.
       The first mapper with credit from the round-robin position takes the first queued task. */
    int i = self->count ? s_bits_next (self, self->idle, self->rr) : -1;
    if (self->count && i < 0)
        i = s_bits_next (self, self->credit, self->rr);
    while (i >= 0 && self->count) {
        uint64_t id = self->ring [self->head];
        self->head = (self->head + 1) % self->ring_cap;
        self->count--;
        tl_task_t *t = &self->tasks [id];
        if (t->state != TL_TASK_QUEUED)
            continue;   /* applied by a straggler while it waited */
        t->state = TL_TASK_RUNNING;
        t->since = now;
        s_assign (self, t, 0, i, now);
        self->running++;
        self->rr = ((size_t) i + 1) % self->nmappers;
        *m = i;
        *task = t;
        *attempt = t->attempt;
        return true;
    }
    if (self->count || self->cfg.no_backups)
        return false;
    /* The queue is empty: a backup copy for an idle slot, of the task that will take longest,
       among those stealing cannot help (unsplittable, zombie, or too little left to cut). */
    if ((i = s_bits_next (self, self->idle, self->rr)) >= 0) {
        tl_task_t *best = NULL;
        double best_eta = 0;
        for (size_t j = 0; j < self->nrunset; j++) {
            tl_task_t *t = &self->tasks [self->runset [j]];
            if (t->state != TL_TASK_RUNNING || s_nrun (t) != 1 || t->run [0].mapper == (int) i)
                continue;
            bool stealable = t->splittable && !t->zombie && s_left (t, 0) >= self->cfg.min_steal;
            if (stealable || now - t->run [0].since < self->cfg.backup_after_ms)
                continue;
            double eta = s_eta_ms (t, 0, now);
            if (eta >= (double) self->cfg.backup_after_ms
                && (eta > best_eta || (eta == best_eta && t->id < best->id))) {
                best = t;
                best_eta = eta;
            }
        }
        if (!best)
            return false;
        s_assign (self, best, 1, i, now);
        self->backups++;
        self->rr = ((size_t) i + 1) % self->nmappers;
        s_event (self, TL_EV_BACKUP, i, best->id, best->attempt);
        *m = i;
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
    int thief = s_bits_next (self, self->idle, 0);
    uint64_t idle = self->idle_slots, pending = 0;
    for (size_t j = 0; j < self->nrunset; j++) {     /* (a finished task's unanswered steal is void) */
        const tl_task_t *t = &self->tasks [self->runset [j]];
        pending += t->steal_pending && t->state == TL_TASK_RUNNING;
    }
    if (thief < 0 || pending >= idle)
        return false;
    /* The victim: the task that will take longest (bytes left at its runner's pace), so that a
       straggler is relieved first. A task not yet started (pace unknown) counts as longest. */
    tl_task_t *best = NULL;
    double best_eta = -1;
    for (size_t j = 0; j < self->nrunset; j++) {
        tl_task_t *t = &self->tasks [self->runset [j]];
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
        if (eta > best_eta || (eta == best_eta && t->id < best->id)) {
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
    s_heap_push (self, t->id, now);
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
            t->state = TL_TASK_QUEUED;
            self->mapped--;
            self->reissued++;
            s_push_front (self, t->id);
            n++;
        }
    }
    free (ids);
    return n;
}

void
tl_sched_leave (tl_sched_t *self, int m)
{
    if (m < 0 || (size_t) m >= self->nmappers || !self->mappers [m].alive)
        return;
    uint32_t n = s_requeue_mapper (self, m, false);
    self->mappers [m].alive = false;
    s_mapper_sync (self, m);
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
            s_mapper_sync (self, (int) i);
            self->lost++;
            s_event (self, TL_EV_LOST, (int) i, 0, n);
        }
    }
    /* Apply timeouts: pop what is due from the heap, then re-queue it in id order. */
    uint64_t *due = NULL;
    size_t ndue = 0, due_cap = 0;
    while (self->nheap && now - self->heap [0].since > self->cfg.apply_timeout_ms) {
        s_mapped_t e = self->heap [0];
        s_heap_pop (self);
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
        t->state = TL_TASK_QUEUED;
        self->mapped--;
        self->reissued++;
        s_push_front (self, t->id);
        s_event (self, TL_EV_REQUEUED, -1, t->id, 0);
    }
    free (due);
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
