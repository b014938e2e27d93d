/*  sched.h — the scheduler: which task goes to which mapper, and when work is re-issued.

    Pure: no sockets, no clock (every call that needs the time takes `now` in ms), so it can be
    unit-tested and driven by a simulator at 1,000 mappers.

    Tasks move QUEUED -> RUNNING (on a mapper) -> MAPPED (mapper said DONE) -> APPLIED (the
    reducer said so). Only APPLIED is finished. A task goes back to the front of the queue when
    its mapper's lease lapses (no message for lease_ms), when its mapper leaves, when it fails
    with a retryable error (up to max_attempts), or when it stays MAPPED for apply_timeout_ms
    without being applied (its partial was lost). Re-issuing is always safe because the reducer
    applies a task id at most once.

    When the queue is empty and a mapper has an idle slot, the scheduler balances the tail:
      - steal: ask the runner of the task with the most bytes left to cut its range at or after
        its position (tl_sched_steal); the cut-off tail becomes a new task (tl_sched_cut);
      - backup: for what cannot be cut (compressed objects, tasks that had a runner lost), run a
        second copy of the slowest task; the first partial applied wins and the other is
        cancelled.
    Exactness under cuts: the reducer reports the length each applied partial covered. If that
    is a prefix of the task's range (a cut the broker never saw accepted), the rest becomes a
    new task. A cut is accepted only from the task's current attempt, and a task whose runner
    was ever lost (a possible zombie that might still deliver) is never cut again, so two
    different cuts of the same bytes can never both be applied.

    Credit: a mapper with S slots holds at most S+1 unfinished tasks. One spare keeps a slot busy
    while the next task is on the wire; any more would be static pre-assignment, and a mapper that
    joins late would find the queue empty. */
#ifndef TL_SCHED_H
#define TL_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { TL_TASK_QUEUED, TL_TASK_RUNNING, TL_TASK_MAPPED, TL_TASK_APPLIED, TL_TASK_FAILED } tl_task_state_t;

typedef struct {
    int mapper;             /* index, -1 when the slot is empty */
    uint32_t attempt;
    uint64_t bytes_done;    /* progress from heartbeats */
    int64_t since;          /* when it was assigned */
    uint32_t held_pos;      /* where the task's id is in its mapper's list (sched_index.c) */
} tl_runner_t;

typedef struct {
    uint64_t id;
    uint32_t object;        /* the shell's object index */
    uint64_t offset, length;
    tl_task_state_t state;
    uint32_t attempt;       /* number of the latest assignment, from 1 */
    uint32_t failures;
    uint32_t unapplied;     /* times it was finished but not applied within apply_timeout_ms */
    tl_runner_t run [2];    /* the runner, and a backup copy */
    int64_t since;          /* when it entered its state */
    bool splittable;        /* can be cut at a byte offset (not compressed) */
    bool zombie;            /* a runner was lost to a lapsed lease: it may still deliver */
    bool steal_pending;
    int64_t no_steal_until;
    const char *error;      /* last failure, "" for none: its own copy (tl_sched_set_error) or a
                               literal; a pointer, not 256 bytes, in each of a million tasks */
} tl_task_t;

typedef struct {
    char key [256];         /* the peer's identity, opaque */
    size_t keylen;
    char name [128];
    uint32_t slots;
    uint32_t held;          /* RUNNING tasks on it */
    int64_t last_seen;
    bool alive;
    uint64_t assigned, done;
    double rate;            /* bytes/ms over its finished tasks (moving average), 0 if unknown */
    uint32_t spare;         /* credit is slots + spare: 1, or more for short tasks (tl_sched_prefetch) */
    uint32_t spare_max;     /* the most spares it takes (1 unless tl_sched_prefetch said more) */
    double task_ms;         /* assignment to DONE, moving average over its tasks */
} tl_mapper_t;

typedef struct {
    int64_t lease_ms;           /* a mapper silent this long is lost (default 4000) */
    int64_t apply_timeout_ms;   /* MAPPED but not APPLIED this long: re-issue (default 60000) */
    uint32_t max_attempts;      /* retryable failures before a task fails (default 4) */
    uint64_t min_steal;         /* only cut tasks with at least this many bytes left (default 16 MiB), */
    int64_t steal_eta_ms;       /* or with at least min_steal/16 left that their runner needs this
                                   long for (default 100 ms): a straggler's small rest is still a
                                   long tail */
    bool no_backups;            /* never run backup copies */
    int64_t backup_after_ms;    /* back up a task only once it has run and has this long left (default 2000) */
    int64_t steal_after_ms;     /* steal from a task that has not reported progress only once it has
                                   been assigned this long (default 1000): a task just handed out is
                                   not a tail, and taking it back at once would bounce it between
                                   idle mappers for ever. A task that is running can be cut at once. */
} tl_sched_cfg_t;

typedef enum {
    TL_EV_JOINED,       /* mapper joined */
    TL_EV_LOST,         /* mapper's lease lapsed; n tasks re-queued */
    TL_EV_LEFT,         /* mapper said bye; n tasks re-queued */
    TL_EV_REQUEUED,     /* task re-queued (failure or apply timeout) */
    TL_EV_FAILED,       /* task failed for good */
    TL_EV_CANCEL,       /* tell mapper to drop task: it was applied from another attempt */
    TL_EV_SPLIT,        /* task was cut: n is the id of the new tail task */
    TL_EV_BACKUP,       /* a backup copy of task went to mapper */
} tl_sched_ev_type_t;

typedef struct {
    tl_sched_ev_type_t type;
    int mapper;
    uint64_t task;
    uint64_t n;
} tl_sched_ev_t;

typedef struct {
    uint64_t tasks, queued, running, mapped, applied, failed;
    uint64_t reissued, mappers_alive, mappers_lost;
    uint64_t steals, steals_declined, steals_returned, backups, remainders;
} tl_sched_stats_t;

typedef struct tl_sched tl_sched_t;

tl_sched_t *tl_sched_new (const tl_sched_cfg_t *cfg);
void tl_sched_destroy (tl_sched_t **self_p);
/*  Add a task for bytes [offset, offset+length) of object. Returns its id. */
uint64_t tl_sched_add (tl_sched_t *self, uint32_t object, uint64_t offset, uint64_t length, bool splittable);
/*  Replay of a journalled cut: task's length becomes `length`. */
void tl_sched_set_length (tl_sched_t *self, uint64_t task, uint64_t length);
/*  After a restart from a journal: every earlier attempt may still deliver, so no task is cut. */
void tl_sched_all_zombie (tl_sched_t *self);
/*  A mapper says hello. A known key re-joining first gives back what it held. Returns its index,
    or -1 for a bad argument (slots 0, key too long). */
int tl_sched_join (tl_sched_t *self, const void *key, size_t keylen, const char *name, uint32_t slots, int64_t now);
/*  Mapper m holds up to spare_max tasks beyond its slots (its HELLO's `batch`). It gets more
    than the one spare only while its tasks are short: as many as about TL_SCHED_PREFETCH_MS of
    work per slot, by the moving average of its tasks' time from assignment to DONE. A task of a
    few KiB takes well under a millisecond, and with one spare each task was a round trip through
    three processes on its own; with a handful in hand, TASKS and DONES carry many at once. Long
    tasks keep the one spare, so a late mapper still finds the work queued. */
#define TL_SCHED_PREFETCH_MS 20
void tl_sched_prefetch (tl_sched_t *self, int m, uint32_t spare_max);
/*  Index of the live mapper with this key, or -1. */
int tl_sched_find (const tl_sched_t *self, const void *key, size_t keylen);
/*  Any message from mapper m: renew its lease. Progress is optional (NULL, 0). */
void tl_sched_seen (tl_sched_t *self, int m, int64_t now);
void tl_sched_progress (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, uint64_t bytes_done);
/*  The next assignment, if any mapper has credit and a task is queued (or, with an empty
    queue and an idle slot, a backup copy is due): returns true and sets *m, *task (borrowed)
    and *attempt (the attempt number to send). */
bool tl_sched_next (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt);
/*  A steal to ask for, when the queue is empty and some mapper has an idle slot: sets the
    victim *m, *task, *attempt, and *keep_permille, the share of the remaining bytes the victim
    should keep (by the two mappers' speeds). */
bool tl_sched_steal (tl_sched_t *self, int64_t now, int *m, const tl_task_t **task, uint32_t *attempt,
                     uint32_t *keep_permille);
/*  The victim's answer: it cut task at byte `cut` (0: it declined), or, with `returned`, it had
    not started the task and gives it all back (it is re-queued). Returns the new tail task's
    id, or UINT64_MAX if nothing was split. */
uint64_t tl_sched_cut (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, uint64_t cut, bool returned,
                       int64_t now);
/*  Mapper m finished task/attempt (its partial is on the way to the reducer). */
void tl_sched_done (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, int64_t now);
/*  Mapper m failed task/attempt. */
void tl_sched_fail (tl_sched_t *self, int m, uint64_t task, uint32_t attempt, bool retryable,
                    const char *error, int64_t now);
/*  The reducer applied task, covering `length` bytes from its offset. A shorter length than
    the task's queues the rest as a new task. Unknown ids are ignored (returns false). */
bool tl_sched_applied (tl_sched_t *self, uint64_t task, uint64_t length, int64_t now);
/*  Re-queue tasks that are MAPPED (their partial was sent) but not applied: used when the
    reducer restarted and may have lost them. Returns how many. */
uint32_t tl_sched_requeue_mapped (tl_sched_t *self);
/*  A reducer process that started afresh answered with every task it holds (ids, n): re-queue
    each task APPLIED here that it lacks (it had no --state-dir, or its state dir lost records),
    so that the job still counts every task once in the totals that reducer keeps. Returns how
    many. */
uint32_t tl_sched_unapply_missing (tl_sched_t *self, const uint64_t *ids, size_t n);
/*  The reducer's acks wait (its checkpoint cannot be written, a full disk), or it is silent
    (gone, or cut off): while held, a task that mappers finished is neither re-issued nor failed
    for want of its ack (a stall of 2 x max_attempts x apply_timeout_ms failed the job, blaming
    the partials: rt13, rt12). Released, the wait for each such task starts again from now. */
void tl_sched_hold_applies (tl_sched_t *self, bool hold, int64_t now);
/*  Mapper m leaves (bye): its tasks go back to the queue. */
void tl_sched_leave (tl_sched_t *self, int m);
/*  Expire leases and apply timeouts. */
void tl_sched_tick (tl_sched_t *self, int64_t now);
/*  Pop the next event for the shell to log or act on. */
bool tl_sched_event (tl_sched_t *self, tl_sched_ev_t *ev);
/*  Every task applied or failed. */
bool tl_sched_finished (const tl_sched_t *self);
tl_sched_stats_t tl_sched_stats (const tl_sched_t *self);
const tl_task_t *tl_sched_task (const tl_sched_t *self, uint64_t id);
size_t tl_sched_mapper_count (const tl_sched_t *self);
const tl_mapper_t *tl_sched_mapper (const tl_sched_t *self, int m);
#endif
