/*  applied.h — the applied-set exchange between reducer and broker, kept O(changes).

    The reducer acknowledges applied tasks in batches (APPLIED). Each reducer process keeps an
    append-only log of the task ids it has acknowledged, in the order it did, with the
    applied-set digest (lib/core/digest.h) of every prefix. The broker keeps its view of that
    log: how many entries it holds contiguously from the start, and their digest. Its JOB
    (sent every few seconds, and after each split) carries that view (`instance`, `seq`,
    `digest`); the reducer answers with only the entries past `seq`, or with the whole set
    when the view is not a prefix of its log: another reducer process (a restart), a broker
    that starts afresh, or a digest that disagrees. A lost ack leaves a gap in the broker's
    view, which stops it there until the next JOB's answer fills it.

    Pure: no I/O, no clock. */
#ifndef TL_APPLIED_H
#define TL_APPLIED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- the reducer's log */

typedef struct tl_acklog tl_acklog_t;

tl_acklog_t *tl_acklog_new (void);
void tl_acklog_destroy (tl_acklog_t **self_p);
/*  Forget every entry (the whole set is about to be sent again from the start). */
void tl_acklog_clear (tl_acklog_t *self);
/*  Log task id, applied for length bytes, unless it is logged already. Returns 1 if added, 0
    if it was there, TL_ENOMEM. */
int tl_acklog_add (tl_acklog_t *self, uint64_t id, uint64_t length);
size_t tl_acklog_size (const tl_acklog_t *self);
/*  Digest of the first n entries (n <= size). */
uint64_t tl_acklog_digest (const tl_acklog_t *self, size_t n);
/*  Is a broker's view (n entries with digest d) a prefix of this log? */
bool tl_acklog_has_prefix (const tl_acklog_t *self, uint64_t n, uint64_t d);
/*  The entries, in log order (borrowed; valid until the next add or clear). */
const uint64_t *tl_acklog_ids (const tl_acklog_t *self);
const uint64_t *tl_acklog_lengths (const tl_acklog_t *self);

/* ---------------------------------------------------------------- the broker's view */

typedef struct {
    uint64_t known;         /* entries of the reducer's log held, contiguously from the start */
    uint64_t digest;        /* their digest */
} tl_appview_t;

/*  Take an APPLIED batch that holds log entries [from, from + n) (a full answer is from 0,
    after the view was reset). Entries past a gap are not taken (the caller still uses them:
    they are applied all the same). after is the digest of the log's first from + n entries
    as the reducer sent it (has_after false when it did not). Returns false when the view
    cannot be right (the digests disagree): the caller resets it, so that the next JOB asks
    for the whole set. */
bool tl_appview_take (tl_appview_t *self, uint64_t from, const uint64_t *ids, const uint64_t *lengths, size_t n,
                      bool has_after, uint64_t after);
#endif
