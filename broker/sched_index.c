/*  sched_index.c — the scheduler's queue and indexes (sched.c says why each exists).

    The queue is a ring of task ids that grows by doubling. The indexes keep every event off
    O(tasks): per mapper, the ids of the tasks it runs; the running set, with each task's
    position in it; a bit per mapper for "alive with an idle slot" and for "alive with credit",
    searched a word at a time from the round-robin position; and the min-heap of MAPPED tasks for
    apply timeouts, invalidated lazily. Memory for them is found or the broker dies: losing track
    of a task would be worse. */
#include "broker/sched_int.h"
#include <stdlib.h>
#include <string.h>

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

void
tl_sched_push_back (tl_sched_t *self, uint64_t id)
{
    if (self->count == self->ring_cap && s_ring_grow (self))
        abort ();   /* cannot queue: losing a task silently is worse than dying loudly */
    self->ring [(self->head + self->count) % self->ring_cap] = id;
    self->count++;
}

void
tl_sched_push_front (tl_sched_t *self, uint64_t id)
{
    if (self->count == self->ring_cap && s_ring_grow (self))
        abort ();
    self->head = (self->head + self->ring_cap - 1) % self->ring_cap;
    self->ring [self->head] = id;
    self->count++;
}

/*  The per-mapper lists and the running set. Memory for them is found or the broker dies:
    losing track of a running task would be worse. */
/*  Returns the id's position in the list, which the runner keeps (tl_runner_t.held_pos). */
uint32_t
tl_sched_held_add (tl_sched_t *self, int m, uint64_t id)
{
    tl_sched_held_t *h = &self->held [m];
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 4;
        uint64_t *v = realloc (h->ids, cap * sizeof *v);
        if (!v)
            abort ();
        h->ids = v;
        h->cap = cap;
    }
    h->ids [h->n] = id;
    return h->n++;
}

/*  The id at pos leaves the list in O(1): the last id takes its place, and the runner of that
    task on mapper m is told its new position (a scan of the list per finished task was 4% of
    the broker with a mapper of 1,000 slots). pos is checked; a wrong one (never expected) falls
    back to the scan. */
void
tl_sched_held_del (tl_sched_t *self, int m, uint64_t id, uint32_t pos)
{
    tl_sched_held_t *h = &self->held [m];
    if (pos >= h->n || h->ids [pos] != id) {
        for (pos = 0; pos < h->n && h->ids [pos] != id; pos++)
            ;
        if (pos == h->n)
            return;
    }
    uint32_t last = --h->n;
    if (pos == last)
        return;
    uint64_t moved = h->ids [last];
    h->ids [pos] = moved;
    tl_task_t *mt = &self->tasks [moved];
    for (int r = 0; r < 2; r++)
        if (mt->run [r].mapper == m && mt->run [r].held_pos == last) {
            mt->run [r].held_pos = pos;
            break;
        }
}

void
tl_sched_runset_add (tl_sched_t *self, uint64_t id)
{
    self->runpos [id] = (uint32_t) self->nrunset;
    self->runset [self->nrunset++] = id;
}

void
tl_sched_runset_del (tl_sched_t *self, uint64_t id)
{
    uint32_t p = self->runpos [id];
    uint64_t last = self->runset [--self->nrunset];
    self->runset [p] = last;
    self->runpos [last] = p;
}

/*  Mappers with an idle slot, or with credit, as bitsets: dispatch finds the next one after the
    round-robin position in O(mappers / 64). */
void
tl_sched_mapper_sync (tl_sched_t *self, int m)
{
    const tl_mapper_t *mp = &self->mappers [m];
    uint64_t bit = 1ULL << (m & 63);
    uint32_t idle = mp->alive && mp->held < mp->slots ? mp->slots - mp->held : 0;
    if (idle)
        self->idle [m >> 6] |= bit;
    else
        self->idle [m >> 6] &= ~bit;
    if (mp->alive && mp->held < mp->slots + mp->spare)
        self->credit [m >> 6] |= bit;
    else
        self->credit [m >> 6] &= ~bit;
    self->idle_slots += idle;
    self->idle_slots -= self->nidle [m];
    self->nidle [m] = idle;
}

/*  The first mapper at or after `from` (cyclically) whose bit is set, or -1. */
int
tl_sched_bits_next (const tl_sched_t *self, const uint64_t *bits, size_t from)
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
s_heap_less (const tl_sched_mapped_t *a, const tl_sched_mapped_t *b)
{
    return a->since < b->since || (a->since == b->since && a->id < b->id);
}

static void
s_heap_down (tl_sched_mapped_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && s_heap_less (&h [l], &h [m]))
            m = l;
        if (l + 1 < n && s_heap_less (&h [l + 1], &h [m]))
            m = l + 1;
        if (m == i)
            return;
        tl_sched_mapped_t x = h [i];
        h [i] = h [m];
        h [m] = x;
        i = m;
    }
}


void
tl_sched_heap_pop (tl_sched_t *self)
{
    self->heap [0] = self->heap [--self->nheap];
    s_heap_down (self->heap, self->nheap, 0);
}

void
tl_sched_heap_push (tl_sched_t *self, uint64_t id, int64_t since)
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
        tl_sched_mapped_t *h = realloc (self->heap, cap * sizeof *h);
        if (!h)
            abort ();
        self->heap = h;
        self->heap_cap = cap;
    }
    size_t i = self->nheap++;
    self->heap [i] = (tl_sched_mapped_t) { since, id, ++self->mgen [id] };
    while (i && s_heap_less (&self->heap [i], &self->heap [(i - 1) / 2])) {
        tl_sched_mapped_t x = self->heap [i];
        self->heap [i] = self->heap [(i - 1) / 2];
        self->heap [(i - 1) / 2] = x;
        i = (i - 1) / 2;
    }
}
