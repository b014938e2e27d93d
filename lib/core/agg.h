/*  agg.h — the aggregator: a hash table from a group key (bytes) to a count.
    Keys are copied into an arena owned by the table. The table grows by doubling and never
    shrinks; a group costs at most 48 bytes plus its key's (see agg.c). It is pure: no I/O.
    The reducer merges partials with tl_agg_add.
    On a big table, adds of a table without cells are queued a few at a time with their slot
    prefetched, and every read (get, size, total, next, sorted) places them first: so even the
    const calls change the table's insides, and one table must not be read from two threads at
    once. Cells returned by tl_agg_upsert stay where they are as the table grows. */
#ifndef TL_AGG_H
#define TL_AGG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_AGG_KEY_MAX 1024

typedef struct tl_agg tl_agg_t;

/*  A value cell: one aggregate (sum, min, max, avg) of one group. min/max are +inf/-inf while
    n is 0. */
typedef struct {
    uint64_t n;         /* numbers taken */
    uint64_t bad;       /* values that were not numbers (empty ones included) */
    double sum, min, max;
} tl_cell_t;

typedef struct {
    const char *key;    /* borrowed from the table */
    uint32_t len;
    uint64_t count;
    const tl_cell_t *cells;     /* ncells of them, borrowed; NULL when the table has none */
} tl_agg_entry_t;

tl_agg_t *tl_agg_new (void);
/*  Whether big arrays are marked for transparent huge pages (the default: fewer page faults and
    TLB misses). Off for a VM where huge pages come from memory the host must fault in 4 KiB at a
    time (free page reporting): there they cost more than they save. Set once, at start. */
void tl_agg_huge_pages (bool on);
/*  A table whose groups also carry ncells value cells. */
tl_agg_t *tl_agg_new_cells (unsigned ncells);
unsigned tl_agg_ncells (const tl_agg_t *self);
/*  Add n to key's count and return its cells (valid until the next insert), or NULL when the
    table has none or on error (*rc then says which). */
tl_cell_t *tl_agg_upsert (tl_agg_t *self, const char *key, size_t len, uint64_t n, int *rc);
/*  Add n to key's count and merge cells (ncells of them, may be NULL) into its cells. */
int tl_agg_merge (tl_agg_t *self, const char *key, size_t len, uint64_t n, const tl_cell_t *cells);
void tl_cell_init (tl_cell_t *c);
void tl_cell_merge (tl_cell_t *into, const tl_cell_t *from);
void tl_agg_destroy (tl_agg_t **self_p);
/*  Add n to key's count. Returns 0, TL_EINVAL for a key longer than TL_AGG_KEY_MAX,
    TL_ENOMEM if the table cannot grow. */
int tl_agg_add (tl_agg_t *self, const char *key, size_t len, uint64_t n);
/*  Count for key, 0 if absent. */
uint64_t tl_agg_get (const tl_agg_t *self, const char *key, size_t len);
size_t tl_agg_size (const tl_agg_t *self);
/*  Bytes the keys take in the table's arena (each key's bytes and a 2-byte length). */
uint64_t tl_agg_key_bytes (const tl_agg_t *self);
/*  Sum of all counts. */
uint64_t tl_agg_total (const tl_agg_t *self);
/*  Fill out (caller-owned array of tl_agg_size entries) sorted by count descending, then key.
    The sort works inside out and allocates only a few KB: at millions of groups, the cheapest
    way to an array of entries in the output order (tl_agg_order is cheaper still when the
    table is not needed for lookups after it). */
void tl_agg_sorted (const tl_agg_t *self, tl_agg_entry_t *out);
/*  An array for n entries (uninitialised; free() it), in huge pages when it is big (agg.c):
    for the output of a table of millions of groups. NULL if there is no memory. */
tl_agg_entry_t *tl_agg_entries_alloc (size_t n);
/*  The output order (count descending, then key) as group numbers for tl_agg_at: *order_p gets
    tl_agg_size of them (the caller frees it). Sorts in the place of the table's hash index,
    which it takes: afterwards the table can be read (tl_agg_at, tl_agg_next, size, total) and
    destroyed, but no longer added to, searched or cleared. For a result written once at
    millions of groups: 16 bytes per group while sorting (in the index's own pages when they
    fit), 4 after, where tl_agg_sorted needs a 32-byte entry per group on top of the index.
    Returns 0, or TL_ENOMEM (the table may have lost its index then too: read it with
    tl_agg_next). */
int tl_agg_order (tl_agg_t *self, uint32_t **order_p);
/*  The groups in the output order, to be read once in that order (tally scan's result): like
    tl_agg_order, it sorts in the table's index's place and seals the table, but it keeps the
    sort's records (16 bytes per group) and reads each group from them where it can, without
    touching the table (agg.c). Returns 0, or TL_ENOMEM as tl_agg_order. */
typedef struct tl_agg_view tl_agg_view_t;
int tl_agg_view_new (tl_agg_t *self, tl_agg_view_t **view_p);
/*  Runs work (args [i]) for i in [0, n), perhaps at once on other threads, and returns when
    all n are done (and their writes are seen by the caller: a join, or a lock). The core has
    no threads of its own: a caller that has an idle one lends it through this. */
typedef void tl_agg_run_fn (void *ctx, void (*work) (void *arg), void **args, size_t n);
/*  tl_agg_view_new with every step of the sort cut in two works, given to run (with ctx) two
    at a time: at 6 M groups it takes about 55% of tl_agg_view_new's time when run has two
    idle cores (bench/sort_par). The view is the same as tl_agg_view_new's, entry for entry,
    and so are the memory (a few KB more for the sorter) and the errors; run NULL is
    tl_agg_view_new. The works read the table while run runs them: nothing else may touch it
    until run returns. */
int tl_agg_view_new_par (tl_agg_t *self, tl_agg_view_t **view_p, tl_agg_run_fn *run, void *ctx);
void tl_agg_view_destroy (tl_agg_view_t **view_p);
size_t tl_agg_view_size (const tl_agg_view_t *view);
const tl_agg_t *tl_agg_view_table (const tl_agg_view_t *view);
/*  Group j of the output into e: its key borrowed from the table or written into buf
    (TL_AGG_KEY_MAX bytes, the caller's), so e is valid until the next call with that buf.
    Cheapest with j in order (not const: it remembers where it is). */
void tl_agg_view_at (tl_agg_view_t *view, size_t j, tl_agg_entry_t *e, char *buf);
/*  The length of the keys tl_agg_view_at writes into buf (all of them the same), or 0 when
    it writes none (every key is borrowed from the table). */
size_t tl_agg_view_keylen (const tl_agg_view_t *view);
/*  Hint that group j will be read soon: its entry in the table (key false), or its key (key
    true: reads the entry, so hint that first, some groups ahead). Nothing when j needs no
    table read. */
void tl_agg_view_prefetch (const tl_agg_view_t *view, size_t j, bool key);
/*  Reading the groups in order at j: hint those read soon (an entry 40 ahead, a key 20 ahead:
    in the output order they are all over the table, a cache miss each). */
void tl_agg_view_prefetch_ahead (const tl_agg_view_t *view, size_t j);
/*  Group i (0 <= i < tl_agg_size) in insertion order, borrowed. */
void tl_agg_at (const tl_agg_t *self, size_t i, tl_agg_entry_t *e);
/*  Iterate in insertion order: *pos starts at 0. Returns 1 and fills e, or 0 at the end. */
int tl_agg_next (const tl_agg_t *self, size_t *pos, tl_agg_entry_t *e);
/*  Add every entry of v [0..n) (key, count and, with cells, its cells) as tl_agg_merge would, one
    after the other; the keys must stay put until it returns, which spares copying each aside
    while its slot is fetched (a merger's partial of half a million groups). Stops at the first
    error (TL_EINVAL: a key too long or a sealed table; TL_ENOMEM), with the entries before it
    added. */
int tl_agg_add_entries (tl_agg_t *self, const tl_agg_entry_t *v, size_t n);
/*  Make the index room for `groups` groups, so that a table known to grow about that big is
    not rehashed on the way (each doubling re-inserts every group: a tenth of a mapper's time
    at half a million groups per task). Only a hint: a table may still grow past it. Returns 0,
    TL_ENOMEM (the table as it was) or TL_EINVAL (sealed). */
int tl_agg_reserve (tl_agg_t *self, size_t groups);
/*  Empty the table. A sealed one (tl_agg_order, tl_agg_view_new; their view or order must be
    gone by then) gets a new index and can be added to again. */
void tl_agg_clear (tl_agg_t *self);
/*  Sort entries by count descending, then key bytes ascending (the output order). */
void tl_agg_sort_entries (tl_agg_entry_t *v, size_t n);
/*  Is x before y in the output order (count descending, then key bytes ascending)? */
int tl_agg_entry_before (const tl_agg_entry_t *x, const tl_agg_entry_t *y);
/*  Keep the best cap entries (output order) of those offered one by one: h holds *n of them
    (a heap with the worst at h [0] once full, so unsorted; tl_agg_sort_entries orders them).
    The watcher's top N and the dashboard's selection both rank this way. */
void tl_agg_top_offer (tl_agg_entry_t *h, size_t cap, size_t *n, const tl_agg_entry_t *e);

/*  Find key: 1 with *e filled (key and cells borrowed from the table), or 0. */
int tl_agg_find (const tl_agg_t *self, const char *key, size_t len, tl_agg_entry_t *e);
/*  Set key's count and cells (ncells of them, copied; NULL leaves a group's cells as they are)
    to these values, inserting the group if it is new: a replica applies absolute totals, so
    applying one twice changes nothing. *old (may be NULL) gets the count before (0 if new), *e
    (may be NULL) the group as stored. Errors as tl_agg_add. */
int tl_agg_set (tl_agg_t *self, const char *key, size_t len, uint64_t count, const tl_cell_t *cells,
                uint64_t *old, tl_agg_entry_t *e);

/*  Change tracking, for publishing only what changed (the reducer's deltas). From
    tl_agg_track on, the table remembers each group that an add, merge or set touches, once,
    until tl_agg_touched_clear (tl_agg_clear forgets them too). It costs a branch per add when
    off, and 4 bytes plus a bit per group when on; it is reserved with the group, so recording
    a touch never fails. Returns 0 or TL_ENOMEM. */
int tl_agg_track (tl_agg_t *self);
/*  How many groups were touched since the last clear. */
size_t tl_agg_touched_count (const tl_agg_t *self);
/*  Iterate over the touched groups (in the order first touched): *pos starts at 0. Returns 1
    and fills e with the group as it is now, or 0 at the end. */
int tl_agg_touched_next (const tl_agg_t *self, size_t *pos, tl_agg_entry_t *e);
/*  Forget the touched groups (O(touched)). */
void tl_agg_touched_clear (tl_agg_t *self);
#endif

