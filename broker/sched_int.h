/*  sched_int.h — the scheduler's insides, shared by its pieces and by no one else.

    The scheduler is one object (struct tl_sched) cut into files by concern: sched.c (the task
    and mapper life cycle), sched_index.c (the queue and the indexes that keep every event off
    O(tasks)), sched_assign.c (dispatch and credit), sched_tail.c (the end-game: steals and
    backup copies) and sched_event.c (events and the read-only views). This header holds the
    struct, the small task helpers (static inline: they sit on every event's path) and the
    functions the pieces call in one another. Only broker/sched*.c include it; everyone else
    uses sched.h. */
#ifndef TL_SCHED_INT_H
#define TL_SCHED_INT_H
#include "broker/sched.h"

typedef struct {
    uint64_t *ids;
    uint32_t n, cap;
} tl_sched_held_t;

typedef struct {
    int64_t since;
    uint64_t id;
    uint32_t gen;
} tl_sched_mapped_t;

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
    tl_sched_held_t *held;             /* per mapper: the tasks it runs (mappers_cap of them) */
    uint64_t *runset;           /* tasks with a runner */
    size_t nrunset;
    uint32_t *runpos;           /* per task: its position in runset (tasks_cap of them) */
    uint32_t *mgen;             /* per task: bumped each time it becomes MAPPED */
    tl_sched_mapped_t *heap;           /* MAPPED tasks by since (min-heap, lazily invalidated) */
    size_t nheap, heap_cap;
    bool applies_held;          /* tl_sched_hold_applies: no apply timeouts now */
    int64_t held_at;            /* since when */
    uint64_t *idle;             /* bit per mapper: alive with an idle slot (held < slots) */
    uint64_t *credit;           /* bit per mapper: alive with credit (held < slots + spare) */
    uint32_t *nidle;            /* per mapper: its idle slots, counted in idle_slots */
    uint64_t idle_slots;
    uint64_t applied, failed, mapped, running, reissued, lost;
    uint64_t steals, steals_declined, steals_returned, backups, remainders;
};

/*  sched_index.c: the queue (a ring of task ids), the per-mapper lists, the running set, the
    mapper bitsets and the apply-timeout heap. */
void tl_sched_push_back (tl_sched_t *self, uint64_t id);
void tl_sched_push_front (tl_sched_t *self, uint64_t id);
uint32_t tl_sched_held_add (tl_sched_t *self, int m, uint64_t id);
void tl_sched_held_del (tl_sched_t *self, int m, uint64_t id, uint32_t pos);
void tl_sched_runset_add (tl_sched_t *self, uint64_t id);
void tl_sched_runset_del (tl_sched_t *self, uint64_t id);
void tl_sched_mapper_sync (tl_sched_t *self, int m);
int tl_sched_bits_next (const tl_sched_t *self, const uint64_t *bits, size_t from);
void tl_sched_heap_pop (tl_sched_t *self);
void tl_sched_heap_push (tl_sched_t *self, uint64_t id, int64_t since);

/*  sched_assign.c: handing a task to a mapper and taking it back. */
bool tl_sched_drop_runner (tl_sched_t *self, tl_task_t *t, int r, bool requeue);
void tl_sched_assign (tl_sched_t *self, tl_task_t *t, int r, int m, int64_t now);

/*  sched_tail.c: with the queue empty, a backup copy for an idle slot (the second half of
    tl_sched_next). */
bool tl_sched_backup (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt);

/*  sched_event.c: queue an event for tl_sched_event. */
void tl_sched_emit (tl_sched_t *self, tl_sched_ev_type_t type, int m, uint64_t task, uint64_t n);

static inline int
s_nrun (const tl_task_t *t)
{
    return (t->run [0].mapper >= 0) + (t->run [1].mapper >= 0);
}

static inline int
s_runner (const tl_task_t *t, int m, uint32_t attempt)
{
    for (int r = 0; r < 2; r++)
        if (t->run [r].mapper == m && t->run [r].attempt == attempt)
            return r;
    return -1;
}

static inline tl_task_t *
s_task (tl_sched_t *self, uint64_t id)
{
    return id < self->ntasks ? &self->tasks [id] : NULL;
}

static inline bool
s_heap_live (const tl_sched_t *self, const tl_sched_mapped_t *e)
{
    return self->tasks [e->id].state == TL_TASK_MAPPED && self->mgen [e->id] == e->gen;
}

/*  Remaining bytes and the estimated time left of runner r (ms; huge when unknown). */
static inline uint64_t
s_left (const tl_task_t *t, int r)
{
    uint64_t done = t->run [r].bytes_done;
    return done >= t->length ? 0 : t->length - done;
}

static inline double
s_eta_ms (const tl_task_t *t, int r, int64_t now)
{
    double el = (double) (now - t->run [r].since);
    double done = (double) t->run [r].bytes_done;
    if (done <= 0)
        return el > 0 ? 1e12 : 0;
    return (double) s_left (t, r) * el / done;
}
#endif
