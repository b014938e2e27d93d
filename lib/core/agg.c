/*  agg.c — open-addressing hash table (linear probing, power-of-two capacity, load <= 1/2).

    Group-bys over TLC data have few keys (passenger_count: ~10, dates: ~5,000), so the hot path
    is a lookup that hits. We keep the 64-bit hash in the slot and compare it before the bytes. */
#include "lib/core/agg.h"
#include "lib/base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash;      /* 0 means empty */
    uint64_t count;
    uint32_t off;       /* key offset in arena */
    uint32_t len;
} s_slot_t;

struct tl_agg {
    s_slot_t *slots;
    tl_cell_t *cells;   /* ncells per slot, parallel to slots; NULL when ncells is 0 */
    unsigned ncells;
    size_t cap, size;
    char *arena;
    size_t arena_len, arena_cap;
};

static uint64_t
s_hash (const char *p, size_t n)
{
    /* FNV-1a with a final mix; never returns 0 (0 marks an empty slot). */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char) p [i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

tl_agg_t *
tl_agg_new (void)
{
    return tl_agg_new_cells (0);
}

tl_agg_t *
tl_agg_new_cells (unsigned ncells)
{
    tl_agg_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = 64;
    self->ncells = ncells;
    self->slots = calloc (self->cap, sizeof (s_slot_t));
    if (ncells)
        self->cells = calloc (self->cap * ncells, sizeof (tl_cell_t));
    self->arena_cap = 1024;
    self->arena = malloc (self->arena_cap);
    if (!self->slots || !self->arena || (ncells && !self->cells)) {
        tl_agg_destroy (&self);
        return NULL;
    }
    return self;
}

void
tl_agg_destroy (tl_agg_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->slots);
        free ((*self_p)->cells);
        free ((*self_p)->arena);
        free (*self_p);
        *self_p = NULL;
    }
}

static s_slot_t *
s_find (const tl_agg_t *self, const char *key, size_t len, uint64_t h)
{
    size_t mask = self->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        s_slot_t *s = &self->slots [i];
        if (s->hash == 0)
            return s;
        if (s->hash == h && s->len == len && memcmp (self->arena + s->off, key, len) == 0)
            return s;
    }
}

static int
s_grow (tl_agg_t *self)
{
    size_t ncap = self->cap * 2, nc = self->ncells;
    s_slot_t *ns = calloc (ncap, sizeof (s_slot_t));
    tl_cell_t *ncl = nc ? calloc (ncap * nc, sizeof (tl_cell_t)) : NULL;
    if (!ns || (nc && !ncl)) {
        free (ns);
        free (ncl);
        return TL_ENOMEM;
    }
    for (size_t i = 0; i < self->cap; i++) {
        s_slot_t *s = &self->slots [i];
        if (!s->hash)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns [j].hash)
            j = (j + 1) & (ncap - 1);
        ns [j] = *s;
        if (nc)
            memcpy (ncl + j * nc, self->cells + i * nc, nc * sizeof (tl_cell_t));
    }
    free (self->slots);
    free (self->cells);
    self->cells = ncl;
    self->slots = ns;
    self->cap = ncap;
    return 0;
}

void
tl_cell_init (tl_cell_t *c)
{
    c->n = c->bad = 0;
    c->sum = 0;
    c->min = INFINITY;
    c->max = -INFINITY;
}

void
tl_cell_merge (tl_cell_t *into, const tl_cell_t *from)
{
    into->n += from->n;
    into->bad += from->bad;
    into->sum += from->sum;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

unsigned
tl_agg_ncells (const tl_agg_t *self)
{
    return self->ncells;
}

tl_cell_t *
tl_agg_upsert (tl_agg_t *self, const char *key, size_t len, uint64_t n, int *rc)
{
    *rc = tl_agg_add (self, key, len, n);
    if (*rc != 0 || !self->ncells)
        return NULL;
    s_slot_t *s = s_find (self, key, len, s_hash (key, len));
    return self->cells + (size_t) (s - self->slots) * self->ncells;
}

int
tl_agg_merge (tl_agg_t *self, const char *key, size_t len, uint64_t n, const tl_cell_t *cells)
{
    int rc;
    tl_cell_t *c = tl_agg_upsert (self, key, len, n, &rc);
    if (rc == 0 && c && cells)
        for (unsigned i = 0; i < self->ncells; i++)
            tl_cell_merge (&c [i], &cells [i]);
    return rc;
}

int
tl_agg_add (tl_agg_t *self, const char *key, size_t len, uint64_t n)
{
    if (len > TL_AGG_KEY_MAX)
        return TL_EINVAL;
    uint64_t h = s_hash (key, len);
    s_slot_t *s = s_find (self, key, len, h);
    if (s->hash) {
        s->count += n;
        return 0;
    }
    if (self->ncells)
        for (unsigned i = 0; i < self->ncells; i++)
            tl_cell_init (&self->cells [(size_t) (s - self->slots) * self->ncells + i]);
    if (self->arena_len + len > self->arena_cap) {
        size_t ncap = self->arena_cap * 2 + len;
        if (ncap > UINT32_MAX)
            return TL_ENOMEM;
        char *na = realloc (self->arena, ncap);
        if (!na)
            return TL_ENOMEM;
        self->arena = na;
        self->arena_cap = ncap;
    }
    memcpy (self->arena + self->arena_len, key, len);
    s->hash = h;
    s->count = n;
    s->off = (uint32_t) self->arena_len;
    s->len = (uint32_t) len;
    self->arena_len += len;
    self->size++;
    if (self->size * 2 > self->cap)
        return s_grow (self);
    return 0;
}

uint64_t
tl_agg_get (const tl_agg_t *self, const char *key, size_t len)
{
    if (len > TL_AGG_KEY_MAX)
        return 0;
    s_slot_t *s = s_find (self, key, len, s_hash (key, len));
    return s->hash ? s->count : 0;
}

size_t
tl_agg_size (const tl_agg_t *self)
{
    return self->size;
}

uint64_t
tl_agg_total (const tl_agg_t *self)
{
    uint64_t t = 0;
    for (size_t i = 0; i < self->cap; i++)
        t += self->slots [i].count;
    return t;
}

int
tl_agg_next (const tl_agg_t *self, size_t *pos, tl_agg_entry_t *e)
{
    for (; *pos < self->cap; (*pos)++) {
        s_slot_t *s = &self->slots [*pos];
        if (s->hash) {
            e->key = self->arena + s->off;
            e->len = s->len;
            e->count = s->count;
            e->cells = self->ncells ? self->cells + *pos * self->ncells : NULL;
            (*pos)++;
            return 1;
        }
    }
    return 0;
}

static int
s_cmp (const void *a, const void *b)
{
    const tl_agg_entry_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp (x->key, y->key, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

void
tl_agg_sorted (const tl_agg_t *self, tl_agg_entry_t *out)
{
    size_t pos = 0, i = 0;
    while (tl_agg_next (self, &pos, &out [i]))
        i++;
    qsort (out, i, sizeof *out, s_cmp);
}

void
tl_agg_clear (tl_agg_t *self)
{
    memset (self->slots, 0, self->cap * sizeof (s_slot_t));
    self->size = 0;
    self->arena_len = 0;
}

void
tl_agg_sort_entries (tl_agg_entry_t *v, size_t n)
{
    if (n)
        qsort (v, n, sizeof *v, s_cmp);
}
