/*  ledger.h — the reducer's book: running totals plus the set of task ids already applied.

    tl_ledger_apply adds a partial's counts and marks its task id applied in one step. A second
    partial for the same id changes nothing and is counted in `dups`. This is what makes
    re-runs, backup copies and duplicate deliveries safe. Task ids must be below the job's task
    count (tl_ledger_set_tasks), which bounds the applied bitmap whatever a peer sends.

    Pure: no sockets, no clock. */
#ifndef TL_LEDGER_H
#define TL_LEDGER_H
#include "lib/core/agg.h"
#include "lib/wire/codec.h"
#include "lib/core/digest.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct tl_ledger tl_ledger_t;

typedef struct {
    uint64_t tasks_total, tasks_applied;
    uint64_t rows, bytes, bad, blank, dups, rejected, filtered;
    uint64_t fetched, skipped;      /* bytes read from storage; Parquet row groups skipped */
} tl_ledger_stats_t;

tl_ledger_t *tl_ledger_new (void);
void tl_ledger_destroy (tl_ledger_t **self_p);
/*  Forget everything (a new job). */
void tl_ledger_reset (tl_ledger_t *self);
/*  The value cells per group of the job's query (call after reset, before applying). Partials
    with another number of cells are rejected. */
int tl_ledger_set_cells (tl_ledger_t *self, unsigned ncells);
/*  The job's task count; it may grow (splits), never shrink below an applied id. */
int tl_ledger_set_tasks (tl_ledger_t *self, uint64_t n);
/*  Apply a PARTIAL. Returns 1 if applied, 0 if it was a duplicate, TL_EINVAL if the task id
    is out of range (counted in `rejected`). */
int tl_ledger_apply (tl_ledger_t *self, const tl_msg_t *partial);
/*  tl_ledger_apply in two steps, for a caller that merges a big partial's groups on another
    thread: tl_ledger_admit books the task (applied id, length, digest, counters: everything
    but the totals) and returns what tl_ledger_apply would; on 1 the caller must then call
    tl_ledger_merge with the same partial, once, before anything reads or changes the totals
    (tl_ledger_totals, save, sort, reset, another merge). Between the two, only the totals
    may be touched by the merging thread, and the booking side (admit, applied, stats,
    applied ids, verify) only by the caller's. */
int tl_ledger_admit (tl_ledger_t *self, const tl_msg_t *partial);
void tl_ledger_merge (tl_ledger_t *self, const tl_msg_t *partial);
/*  A partial known by its header only (a task in parts whose groups were not kept because the
    task was applied already, reducer/stage.h): 0, a duplicate, if the task is applied; else
    TL_EINVAL (rejected), never applied without its groups. */
int tl_ledger_apply_dup (tl_ledger_t *self, const tl_msg_t *header);
bool tl_ledger_applied (const tl_ledger_t *self, uint64_t task);
/*  An order-independent digest of a partial's counts (groups, cells, row counters, length). It
    is the sum (mod 2^64) of the two below, so a partial in parts has the digest it would have
    had whole: the counters' once, plus the groups' of every part. */
uint64_t tl_ledger_partial_digest (const tl_msg_t *partial);
uint64_t tl_ledger_counters_digest (const tl_msg_t *partial);
uint64_t tl_ledger_groups_digest (const tl_agg_entry_t *groups, size_t n, size_t ncells);
/*  Whether an apply keeps its partial's digest, for a verification copy of the task to be
    compared with (the default). A job that verifies nothing (JOB's `verify` 0) spares the hash
    of every key it applies: a copy of a task applied meanwhile cannot be verified here then
    (TL_EINVAL, as for a task applied before a restart), never judged against a digest not made. */
void tl_ledger_keep_digests (tl_ledger_t *self, bool keep);
/*  Seed the digests' key hash with a secret of this process (set once, before any digest): the
    hash takes 8 key bytes a step, and without a secret a mapper could craft keys whose hash
    equals another's without a search. Without a call the seed is a constant (tests). */
void tl_ledger_digest_seed (uint64_t seed);
/*  Compare a verification copy (copy->verify = 1 + the task it re-ran) with the partial that was
    applied for that task: 1 if they agree, 0 if not, TL_EINVAL if the task is not applied.
    *applied_by names the mapper whose partial was applied (borrowed). Digests and producers
    are not checkpointed: after a reducer restart, verification of earlier tasks says TL_EINVAL. */
int tl_ledger_verify (const tl_ledger_t *self, const tl_msg_t *copy, const char **applied_by);
/*  The same for a verification copy that came in parts: its task and its whole digest. */
int tl_ledger_verify_digest (const tl_ledger_t *self, uint64_t task, uint64_t digest, const char **applied_by);
/*  All applied ids, ascending, and the length each covered, into new arrays (caller frees both). */
int tl_ledger_applied_ids (const tl_ledger_t *self, uint64_t **ids, uint64_t **lengths, size_t *n);
/*  The length task's applied partial covered (0 if not applied). */
uint64_t tl_ledger_applied_length (const tl_ledger_t *self, uint64_t task);

/*  What a checkpoint holds besides the ledger. Strings are borrowed on save, and owned by the
    ledger on load (valid until the next load or destroy). */
typedef struct {
    const char *job;
    const char *col;
    uint64_t bytes_total;
    bool done, ok;          /* the job's end, once the broker said so */
    const char *error;
    const char *fingerprint;    /* the job's fingerprint (broker/jobrec.h) */
    const char *key;            /* the job's token key, hex */
    uint64_t seq;               /* checkpoint sequence number: one more at every write */
} tl_ledger_meta_t;

/*  Serialise everything (meta, totals, applied ids and lengths, counters) to a new buffer. */
int tl_ledger_save (const tl_ledger_t *self, const tl_ledger_meta_t *meta, char **buf, size_t *len);
/*  Replace the ledger's contents with a saved buffer. Validates as strictly as the codec does. */
int tl_ledger_load (tl_ledger_t *self, tl_ledger_meta_t *meta, const char *buf, size_t len, tl_err_t *e);
const tl_agg_t *tl_ledger_totals (const tl_ledger_t *self);
/*  About what tl_ledger_save would write now (bytes, an upper estimate, O(1)). */
uint64_t tl_ledger_save_bound (const tl_ledger_t *self);
/*  The totals in the output order (count descending, then key), for a job that is over: the
    first call sorts them once (tl_agg_view_new: 16 bytes per group, in the hash index's place)
    and seals the table, so every later partial is rejected (counted) until a reset, a new query
    shape or a load, which unseal it. The totals can still be read (tl_agg_next, the changed
    groups). NULL if there was no memory to sort: the table is sealed all the same, and is read
    unsorted. */
tl_agg_view_t *tl_ledger_sorted (tl_ledger_t *self);
/*  The same, with the sort cut in two and run by run (tl_agg_view_new_par): for a caller with a
    thread that is idle when the job ends. */
tl_agg_view_t *tl_ledger_sorted_par (tl_ledger_t *self, tl_agg_run_fn *run, void *ctx);
/*  The groups whose totals changed since the last tl_ledger_changes_clear (a reset, a new
    query shape or a load starts afresh: everything loaded counts as changed). Iterate like
    tl_agg_next; each entry holds the group's totals now. O(changed groups), not O(groups). */
size_t tl_ledger_changed_count (const tl_ledger_t *self);
int tl_ledger_changed_next (const tl_ledger_t *self, size_t *pos, tl_agg_entry_t *e);
void tl_ledger_changes_clear (tl_ledger_t *self);
/*  Tasks applied per mapper name. */
const tl_agg_t *tl_ledger_mappers (const tl_ledger_t *self);
tl_ledger_stats_t tl_ledger_stats (const tl_ledger_t *self);
/*  Does the applied set cover tasks 0..ntasks-1? Returns how many are missing (the first
    nmissing ids go into missing), and the digest over the count and every applied (id, length),
    which equals the broker's task-list digest exactly when both saw the same tasks and cuts. */
uint64_t tl_ledger_coverage (const tl_ledger_t *self, uint64_t ntasks, char digest [TL_DIGEST_HEX + 1],
                             uint64_t *missing, size_t nmissing);
#endif
