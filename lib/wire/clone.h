/*  clone.h — the receiving side of the reducer's live updates: a replica of its table.

    The reducer publishes (docs/PROTOCOL.md, "reducer → watchers") a snapshot of the whole
    table, in parts when it is big, and then deltas: the groups that changed since the update
    before, with their new totals. Every message has a seq; a delta also has a base, the seq it
    follows. A tl_clone_t takes the decoded UPDATEs in the order they came and keeps a replica
    (a tl_agg_t) that is exact, or says that it cannot: a delta whose base is not the seq we
    hold, or a part that does not follow the one before, means messages were lost (the
    publisher's queue for us was full), and only a new snapshot helps. The caller then asks for
    one (tally watch unsubscribes and subscribes again: the reducer answers every subscription
    with a snapshot) and shows its view as stale until the snapshot is whole.

    The replica also keeps the best groups (count descending, then key) up to date from the
    deltas, so showing the top N costs O(changed groups + N log N) per update, not a pass over
    the table: within a job counts only grow, so the new top N lies among the old top N and the
    groups that changed. A count that goes down (it cannot, but the replica does not rely on
    it) makes the next tl_clone_top look at every group.

    Pure: no sockets, no clock. One owner, one thread (the table's reads are not const inside). */
#ifndef TL_CLONE_H
#define TL_CLONE_H
#include "lib/core/agg.h"
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tl_clone tl_clone_t;

typedef enum {
    TL_CLONE_APPLIED,   /* the replica is whole and has changed: show it */
    TL_CLONE_SKIPPED,   /* nothing changed: an old or repeated update, or a snapshot of what we hold */
    TL_CLONE_PART,      /* a part of an update was taken; more are to come (the view is stale) */
    TL_CLONE_WAITING,   /* ignored: a snapshot is awaited (asked for, or our subscription's) */
    TL_CLONE_GAP,       /* updates were lost: ask for a snapshot; the view is stale until it is whole */
} tl_clone_rc_t;

typedef struct {
    uint64_t snapshots;     /* snapshots applied whole */
    uint64_t deltas;        /* deltas applied whole */
    uint64_t gaps;          /* losses found (each a TL_CLONE_GAP) */
    uint64_t skipped;       /* updates that changed nothing */
} tl_clone_stats_t;

tl_clone_t *tl_clone_new (void);
void tl_clone_destroy (tl_clone_t **self_p);
/*  Take one decoded message. It takes what *update holds (its arena) and leaves it cleared.
    Anything but an UPDATE is SKIPPED. */
tl_clone_rc_t tl_clone_apply (tl_clone_t *self, tl_msg_t *update);
/*  The replica is whole: every part of the last update arrived, and nothing was lost since. */
bool tl_clone_whole (const tl_clone_t *self);
/*  The seq of the state the replica holds (0 before the first snapshot). */
uint64_t tl_clone_seq (const tl_clone_t *self);
/*  The last update that made the replica whole: its job, totals, progress, mappers and activity
    (borrowed, valid until the next apply), or NULL before the first. Its `groups` are only those
    that message carried: the table is tl_clone_table, tl_clone_top or tl_clone_all. */
const tl_msg_t *tl_clone_last (const tl_clone_t *self);
/*  The replica (borrowed). Empty before the first snapshot. */
const tl_agg_t *tl_clone_table (const tl_clone_t *self);
/*  The best n groups in output order (count descending, then key) into out, which has room for
    n; returns how many there are (fewer when the table is smaller). Keys and cells are borrowed
    from the table: valid until the next apply. */
size_t tl_clone_top (tl_clone_t *self, size_t n, tl_agg_entry_t *out);
/*  Every group, in output order, into a new array (caller frees); *n of them. NULL when out of
    memory (or when the table is empty, with *n = 0). Borrowed like tl_clone_top's. */
tl_agg_entry_t *tl_clone_all (tl_clone_t *self, size_t *n);
tl_clone_stats_t tl_clone_stats (const tl_clone_t *self);
#endif
