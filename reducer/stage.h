/*  stage.h — partials that come in parts, staged until the last part is in.

    A mapper sends a task's table of more than one part's groups (TL_PART_GROUPS, TL_PART_BYTES)
    as several PARTIALs that share job, task, attempt, mapper, token, offset, length, verify and
    every counter, numbered part = 1..parts (docs/PROTOCOL.md). The reducer offers each part
    here, keyed by (task, attempt, mapper, verify). Parts must come in order: one mapper sends
    them down one socket, which keeps order, so anything else means a part was lost or forged.
    Each part's groups are added to the task's staged groups as the part arrives (keys and cells
    copied into the stage's own memory), so the reducer never holds a task's partial as
    messages; when the last part is in, the caller gets the whole task as one PARTIAL (header and
    all its groups) and applies it once, like any whole partial (tl_ledger_apply). Nothing of a
    task touches the totals before its last part, so a task is applied whole or not at all.
    The groups are appended, not merged into a hash table: each group is in one part (the
    mapper's table has each key once), so a second hash pass would only cost time (a quarter
    more of the reducer's CPU at 6 M groups, BENCHMARKS.md); a key that came twice is merged by
    the ledger, as it would be in a whole partial.

    What breaks a sequence drops that task's staging, counted, with a reason: a part > 1 with
    nothing staged (a gap, or its staging was evicted), a part that is not the next one, a header
    that differs from its first part's, cells of another shape, and at the last part, group
    counts that do not add up to the header's rows (every counted row is in one group, so a
    `parts` that lies shows there). The broker re-runs a task that
    is never applied (its DONE is not followed by APPLIED), so a dropped staging costs a re-run,
    never a count.

    Bounded: at most max_tasks staged tasks and max_groups staged groups in all. A new task, or a
    part that would pass the group cap, evicts the oldest staged tasks first (counted); a task
    that alone passes the group cap is dropped.

    A task already applied (a backup copy, a re-run) and a verification copy need no table: with
    merge false the stage only follows the sequence and the digest, and frees the groups it holds.

    Pure: no sockets, no clock, no files. */
#ifndef TL_STAGE_H
#define TL_STAGE_H
#include "lib/core/agg.h"
#include "lib/wire/codec.h"
#include "lib/base/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tl_stage tl_stage_t;

/*  A whole task, out of the stage: msg is the task's PARTIAL as if it had come whole (job,
    task, attempt, mapper, token, offset, length, verify, parts, the counters, and with merged
    every group of every part); its strings and groups belong to this struct. */
typedef struct {
    tl_msg_t msg;
    bool merged;            /* msg holds the groups; false: they were not kept (merge false), and
                               msg may only be counted as a duplicate or verified by digest */
    uint64_t digest;        /* tl_ledger_partial_digest of the task as one message, when its
                               groups were not kept from its first part on (a verification copy:
                               merge false throughout); with merged, digest msg itself */
    size_t groups;          /* groups received in all parts */
    void *mem_;             /* private */
} tl_staged_t;

typedef struct {
    uint64_t parts;         /* parts taken */
    uint64_t completed;     /* tasks whose last part came */
    uint64_t broken;        /* parts dropped with their task's staging: gaps, order, headers, shape, size */
    uint64_t evicted;       /* staged tasks evicted by the caps */
    uint64_t tasks;         /* staged now */
    uint64_t groups;        /* staged groups now */
    uint64_t last_evicted_task, last_evicted_attempt;   /* for the caller's log */
} tl_stage_stats_t;

#define TL_STAGE_MORE 0     /* the part is staged; more are to come */
#define TL_STAGE_DONE 1     /* the last part: *out holds the whole task */

tl_stage_t *tl_stage_new (size_t max_tasks, size_t max_groups);
void tl_stage_destroy (tl_stage_t **self_p);
/*  Offer part m (m->parts >= 1, 1 <= m->part <= m->parts, as the codec checks). ncells is the
    job's number of value cells. merge false: follow the sequence and the digest only (the task is
    applied already, or m is a verification copy). Returns TL_STAGE_MORE, TL_STAGE_DONE with a
    new *out (the caller owns it: tl_staged_destroy), or a negative error when the part is dropped
    and with it whatever was staged for its task (e says why). m stays the caller's. */
int tl_stage_offer (tl_stage_t *self, const tl_msg_t *m, unsigned ncells, bool merge, tl_staged_t **out, tl_err_t *e);
/*  The task is applied: free the groups staged for it (other attempts, backup copies, a dead
    mapper's parts). Their entries stay, so parts still on their way are followed quietly to a
    duplicate; an entry whose mapper died stays until the task cap evicts it. */
void tl_stage_release_task (tl_stage_t *self, uint64_t task);
/*  Drop everything staged (a new job). */
void tl_stage_clear (tl_stage_t *self);
tl_stage_stats_t tl_stage_stats (const tl_stage_t *self);
void tl_staged_destroy (tl_staged_t **self_p);
#endif
