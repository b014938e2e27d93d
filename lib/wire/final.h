/*  final.h — the final table of a job, taken from the reducer's last snapshot without keeping a
    replica (for `tally watch --until-done` when it shows nothing live).

    A watcher that only prints the result at the end needs none of the live updates: keeping a
    replica of a table of millions of groups (a hash table, then a sort) cost it more than the
    reducer's own work. The reducer publishes the whole table once more when a job ends, as a
    snapshot with done set, and lists its groups in output order (count descending, then key:
    docs/PROTOCOL.md). A tl_final_t ignores everything else, gathers the parts of that snapshot
    (each must follow the one before: same job, seq and parts, part + 1), checks the order as
    they come, and hands back every group in output order. A snapshot that is not in that order
    (a reducer before it was) is sorted here instead; a group named twice is refused.

    Streaming (tl_final_set_stream): each part is handed out as soon as it is known to be the
    next piece of the output, and dropped at the next apply, so the caller can print it while
    the rest comes and never holds more than one part. A snapshot whose first part is not in
    output order is gathered and sorted as above instead (WHOLE). Once a part has been handed
    out, the output has begun and cannot be taken back: a lost part is still a GAP (ask again),
    but the next done snapshot must be the same job's table, which does not change any more;
    the groups already handed out are skipped, the one just before the resume point must be
    the last one handed out (key and count), and the output goes on from there. Anything else
    (another job, a table that differs there or is shorter, parts out of order) is BAD.

    Pure: no sockets, no clock. One owner, one thread. */
#ifndef TL_FINAL_H
#define TL_FINAL_H
#include "lib/core/agg.h"
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tl_final tl_final_t;

typedef enum {
    TL_FINAL_IGNORED,   /* not a part of a final snapshot (a delta, a snapshot of a running job) */
    TL_FINAL_PART,      /* a part was taken (gathered); more are to come */
    TL_FINAL_WHOLE,     /* the final table is here: tl_final_last, tl_final_groups */
    TL_FINAL_GAP,       /* parts were lost (or the memory ran out): ask for a snapshot again */
    TL_FINAL_BAD,       /* the snapshot names a group twice, or (streaming) the output cannot go
                           on where it stopped: tl_final_error says why */
    TL_FINAL_STREAM,    /* streaming: the next piece of the output (tl_final_part); more to come */
    TL_FINAL_END,       /* streaming: the output's last piece (tl_final_part); tl_final_last
                           has the job's totals */
} tl_final_rc_t;

tl_final_t *tl_final_new (void);
void tl_final_destroy (tl_final_t **self_p);
/*  Hand out each part as it comes (STREAM, END) instead of gathering (PART, WHOLE) whenever
    the snapshot is in output order. Set it before the first apply. */
void tl_final_set_stream (tl_final_t *self, bool stream);
/*  Take one decoded message. It takes what *m holds and leaves it cleared. */
tl_final_rc_t tl_final_apply (tl_final_t *self, tl_msg_t *m);
/*  Has a done update (of any kind) come? The final snapshot follows it at once: if it does not
    come whole, the caller asks for one. */
bool tl_final_seen_done (const tl_final_t *self);
/*  After WHOLE: the snapshot's last part (job, totals, ok, error; its own `groups` are only that
    part's) and every group in output order (borrowed from the parts, valid until the next
    apply or destroy; the caller may reorder the array). After END: the last part, and
    tl_final_groups has none. */
const tl_msg_t *tl_final_last (const tl_final_t *self);
tl_agg_entry_t *tl_final_groups (tl_final_t *self, size_t *n);
/*  After STREAM or END: the part just taken (its totals are the job's; `col` names the query)
    and *n groups at *groups that come next in the output, after the tl_final_written of
    before (both borrowed, valid until the next apply or destroy). A part resumed after a gap
    may hand out fewer groups than it holds, or none. */
const tl_msg_t *tl_final_part (const tl_final_t *self, const tl_agg_entry_t **groups, size_t *n);
/*  Streaming: groups handed out since the output began (tl_final_part's included); whether it
    has begun (a part was handed out: a header may have been written). */
uint64_t tl_final_written (const tl_final_t *self);
bool tl_final_begun (const tl_final_t *self);
/*  After BAD: what is wrong, for an operator. */
const char *tl_final_error (const tl_final_t *self);
#endif
