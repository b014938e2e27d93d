/*  sched_assign.c — handing tasks to mappers, and taking them back.

    Credit is slots + 1 per mapper (sched.h says why). tl_sched_next fills idle slots first, then
    the one spare each, from the round-robin position, always with the task at the front of the
    queue; with the queue empty it turns to a backup copy (sched_tail.c). tl_sched_assign and
    tl_sched_drop_runner are the only places that change who runs a task, so the per-mapper
    lists, the running set and the credit bitsets change together. */
#include "broker/sched_int.h"

/*  Remove runner r of task t (frees the mapper's credit). If it was the last runner of a
    RUNNING task and requeue is set, the task goes back to the front of the queue, and true is
    returned (the caller says whether that counts as a re-issue). */
bool
tl_sched_drop_runner (tl_sched_t *self, tl_task_t *t, int r, bool requeue)
{
    int m = t->run [r].mapper;
    if (m < 0)
        return false;
    self->mappers [m].held--;
    tl_sched_held_del (self, m, t->id, t->run [r].held_pos);
    tl_sched_mapper_sync (self, m);
    t->run [r].mapper = -1;
    t->steal_pending = false;
    if (r == 0 && t->run [1].mapper >= 0) {     /* the backup becomes the runner */
        t->run [0] = t->run [1];
        t->run [1].mapper = -1;
    }
    if (s_nrun (t) == 0)
        tl_sched_runset_del (self, t->id);
    if (s_nrun (t) == 0 && t->state == TL_TASK_RUNNING) {
        self->running--;
        if (requeue) {
            t->state = TL_TASK_QUEUED;
            tl_sched_push_front (self, t->id);
            return true;
        }
    }
    return false;
}

void
tl_sched_assign (tl_sched_t *self, tl_task_t *t, int r, int m, int64_t now)
{
    if (s_nrun (t) == 0)
        tl_sched_runset_add (self, t->id);
    t->attempt++;
    t->run [r] = (tl_runner_t) { m, t->attempt, 0, now, 0 };
    self->mappers [m].held++;
    t->run [r].held_pos = tl_sched_held_add (self, m, t->id);
    tl_sched_mapper_sync (self, m);
    self->mappers [m].assigned++;
}

bool
tl_sched_next (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt)
{
    if (!self->nmappers)
        return false;
    /* Idle slots first, then the one spare each: a victim of a steal must not get its own tail.
       The first mapper with credit from the round-robin position takes the first queued task. */
    int i = self->count ? tl_sched_bits_next (self, self->idle, self->rr) : -1;
    if (self->count && i < 0)
        i = tl_sched_bits_next (self, self->credit, self->rr);
    while (i >= 0 && self->count) {
        uint64_t id = self->ring [self->head];
        self->head = (self->head + 1) % self->ring_cap;
        self->count--;
        tl_task_t *t = &self->tasks [id];
        if (t->state != TL_TASK_QUEUED)
            continue;   /* applied by a straggler while it waited */
        t->state = TL_TASK_RUNNING;
        t->since = now;
        tl_sched_assign (self, t, 0, i, now);
        self->running++;
        self->rr = ((size_t) i + 1) % self->nmappers;
        *m = i;
        *task = t;
        *attempt = t->attempt;
        return true;
    }
    if (self->count || self->cfg.no_backups)
        return false;
    return tl_sched_backup (self, now, m, task, attempt);
}
