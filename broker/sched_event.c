/*  sched_event.c — what the scheduler tells its shell: events, stats and read-only views.

    Events queue up in an array that the shell drains with tl_sched_event after each call; the
    consumed front is compacted away before the array grows. Events are advisory (log lines and
    cancels the shell sends on), so one that finds no memory is dropped rather than failing the
    transition that raised it. */
#include "broker/sched_int.h"
#include <stdlib.h>
#include <string.h>

void
tl_sched_emit (tl_sched_t *self, tl_sched_ev_type_t type, int m, uint64_t task, uint64_t n)
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
