/*  activity.h — what the broker saw happen, for the dashboard: task attempts (spans), events
    and the mappers, kept in bounded rings and sent whole to the reducer in ACTIVITY messages
    (docs/PROTOCOL.md), at most twice a second and only when something changed.

    Bounded: each mapper keeps its last TL_BACT_PER_MAPPER spans (its oldest finished one goes
    first), all of them at most TL_BACT_SPANS, and the events are a ring of TL_BACT_EVENTS. Pure:
    the clock is passed in; names are copied. */
#ifndef TL_BROKER_ACTIVITY_H
#define TL_BROKER_ACTIVITY_H
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stdint.h>

#define TL_BACT_PER_MAPPER 48
#define TL_BACT_SPANS 2048
#define TL_BACT_EVENTS 200
#define TL_BACT_EVERY_MS 500

typedef struct tl_bact tl_bact_t;

tl_bact_t *tl_bact_new (int64_t now);
void tl_bact_destroy (tl_bact_t **self_p);
/*  An attempt went to a mapper. kind: original, tail, backup, reissue, verify. */
void tl_bact_start (tl_bact_t *self, uint64_t task, uint64_t attempt, const char *mapper, const char *kind,
                    uint64_t offset, uint64_t length, int64_t now);
/*  An attempt ended: done, failed, cancelled or lost. attempt 0: every open attempt of task on
    mapper (NULL: on any mapper); task UINT64_MAX: every open attempt on mapper. */
void tl_bact_end (tl_bact_t *self, uint64_t task, uint64_t attempt, const char *mapper, const char *state, int64_t now);
/*  A steal cut the running attempt of task to `length`; `tail` is the new task. */
void tl_bact_cut (tl_bact_t *self, uint64_t task, uint64_t length, uint64_t tail, int64_t now);
/*  Task id `tail` was made by a steal: its first attempt is a tail, not an original. */
void tl_bact_tail (tl_bact_t *self, uint64_t tail);
bool tl_bact_is_tail (const tl_bact_t *self, uint64_t task);
/*  Heartbeat progress of an attempt (bytes done so far). */
void tl_bact_progress (tl_bact_t *self, uint64_t task, uint64_t attempt, uint64_t bytes_done);
/*  An event: text is what the list shows. */
void tl_bact_event (tl_bact_t *self, const char *kind, const char *mapper, uint64_t task, const char *text, int64_t now);
/*  A mapper's row: state is joined, lost or left; tasks = tasks done. */
void tl_bact_mapper (tl_bact_t *self, const char *name, uint64_t slots, const char *state, uint64_t tasks);
/*  Whether it is time to send (something changed, TL_BACT_EVERY_MS since the last). */
bool tl_bact_due (const tl_bact_t *self, int64_t now);
/*  Fill an ACTIVITY message (its arrays borrow from self until the next call) and mark it sent. */
void tl_bact_message (tl_bact_t *self, const char *job, tl_msg_t *m, int64_t now);
#endif
