/*  agg.h — the aggregator: a hash table from a group key (bytes) to a count.
    Keys are copied into an arena owned by the table. The table grows by doubling and never
    shrinks. It is pure: no I/O. The reducer merges partials with tl_agg_add. */
#ifndef TL_AGG_H
#define TL_AGG_H
#include <stddef.h>
#include <stdint.h>

#define TL_AGG_KEY_MAX 1024

typedef struct tl_agg tl_agg_t;

typedef struct {
    const char *key;    /* borrowed from the table */
    uint32_t len;
    uint64_t count;
} tl_agg_entry_t;

tl_agg_t *tl_agg_new (void);
void tl_agg_destroy (tl_agg_t **self_p);
/*  Add n to key's count. Returns 0, TL_EINVAL for a key longer than TL_AGG_KEY_MAX,
    TL_ENOMEM if the table cannot grow. */
int tl_agg_add (tl_agg_t *self, const char *key, size_t len, uint64_t n);
/*  Count for key, 0 if absent. */
uint64_t tl_agg_get (const tl_agg_t *self, const char *key, size_t len);
size_t tl_agg_size (const tl_agg_t *self);
/*  Sum of all counts. */
uint64_t tl_agg_total (const tl_agg_t *self);
/*  Fill out (caller-owned array of tl_agg_size entries) sorted by count descending, then key. */
void tl_agg_sorted (const tl_agg_t *self, tl_agg_entry_t *out);
/*  Iterate in table order: *pos starts at 0. Returns 1 and fills e, or 0 at the end. */
int tl_agg_next (const tl_agg_t *self, size_t *pos, tl_agg_entry_t *e);
void tl_agg_clear (tl_agg_t *self);
/*  Sort entries by count descending, then key bytes ascending (the output order). */
void tl_agg_sort_entries (tl_agg_entry_t *v, size_t n);
#endif

