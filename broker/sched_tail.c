/*  sched_tail.c — the end-game: balancing the tail of a job once the queue is empty.

    Two tools, both chosen among the running tasks only (the running set), by the time each has
    left at its runner's pace. A steal (tl_sched_steal) asks the runner of the longest splittable
    task to cut its range, and tl_sched_cut takes the answer: the cut-off tail becomes a new task
    at the front of the queue for the waiting thief. A backup (tl_sched_backup) runs a second copy
    of the longest task that cannot be cut (compressed, a possible zombie, or too little left);
    the first partial applied wins. sched.h gives the exactness rules that decide which cuts are
    accepted. */
#include "broker/sched_int.h"

/*  With the queue empty: a backup copy for an idle slot, of the task that will take longest,
    among those stealing cannot help (unsplittable, zombie, or too little left to cut). */
bool
tl_sched_backup (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt)
{
    int i;
    if ((i = tl_sched_bits_next (self, self->idle, self->rr)) >= 0) {
        tl_task_t *best = NULL;
        double best_eta = 0;
        for (size_t j = 0; j < self->nrunset; j++) {
            tl_task_t *t = &self->tasks [self->runset [j]];
            /* Not while a steal is pending: the cut that comes back would shorten a task two
               copies run in full, and the tail would be counted twice (found by a red-team
               run; the reducer's digest at END caught it, loud but lost). */
            if (t->state != TL_TASK_RUNNING || s_nrun (t) != 1 || t->run [0].mapper == (int) i || t->steal_pending)
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
        tl_sched_assign (self, best, 1, i, now);
        self->backups++;
        self->rr = ((size_t) i + 1) % self->nmappers;
        tl_sched_emit (self, TL_EV_BACKUP, i, best->id, best->attempt);
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
    int thief = tl_sched_bits_next (self, self->idle, 0);
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
        tl_sched_drop_runner (self, t, 0, true);     /* not lost: counted as returned, not re-issued */
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
    tl_sched_push_front (self, id);
    tl_sched_emit (self, TL_EV_SPLIT, m, task, id);
    return id;
}
