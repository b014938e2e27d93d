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

    Pure: no sockets, no clock. One owner, one thread. */
#ifndef TL_FINAL_H
#define TL_FINAL_H
#include "lib/core/agg.h"
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct tl_final tl_final_t;

typedef enum {
    TL_FINAL_IGNORED,   /* not a part of a final snapshot (a delta, a snapshot of a running job) */
    TL_FINAL_PART,      /* a part was taken; more are to come */
    TL_FINAL_WHOLE,     /* the final table is here: tl_final_last, tl_final_groups */
    TL_FINAL_GAP,       /* parts were lost (or the memory ran out): ask for a snapshot again */
    TL_FINAL_BAD,       /* the snapshot names a group twice: tl_final_error says which */
} tl_final_rc_t;

tl_final_t *tl_final_new (void);
void tl_final_destroy (tl_final_t **self_p);
/*  Take one decoded message. It takes what *m holds and leaves it cleared. */
tl_final_rc_t tl_final_apply (tl_final_t *self, tl_msg_t *m);
/*  Has a done update (of any kind) come? The final snapshot follows it at once: if it does not
    come whole, the caller asks for one. */
bool tl_final_seen_done (const tl_final_t *self);
/*  After WHOLE: the snapshot's last part (job, totals, ok, error; its own `groups` are only that
    part's) and every group in output order (borrowed from the parts, valid until the next
    apply or destroy; the caller may reorder the array). */
const tl_msg_t *tl_final_last (const tl_final_t *self);
tl_agg_entry_t *tl_final_groups (tl_final_t *self, size_t *n);
/*  After BAD: what is wrong, for an operator. */
const char *tl_final_error (const tl_final_t *self);
#endif
