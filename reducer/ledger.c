/*  ledger.c — totals and the applied-id bitmap. */
#include "ledger.h"
#include "err.h"
#include <stdlib.h>
#include <string.h>

struct tl_ledger {
    tl_agg_t *totals;
    tl_agg_t *mappers;
    uint64_t *bits;
    size_t words;
    tl_ledger_stats_t st;
};

tl_ledger_t *
tl_ledger_new (void)
{
    tl_ledger_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->totals = tl_agg_new ();
    self->mappers = tl_agg_new ();
    if (!self->totals || !self->mappers)
        tl_ledger_destroy (&self);
    return self;
}

void
tl_ledger_destroy (tl_ledger_t **self_p)
{
    if (self_p && *self_p) {
        tl_agg_destroy (&(*self_p)->totals);
        tl_agg_destroy (&(*self_p)->mappers);
        free ((*self_p)->bits);
        free (*self_p);
        *self_p = NULL;
    }
}

void
tl_ledger_reset (tl_ledger_t *self)
{
    tl_agg_clear (self->totals);
    tl_agg_clear (self->mappers);
    if (self->bits)
        memset (self->bits, 0, self->words * sizeof (uint64_t));
    memset (&self->st, 0, sizeof self->st);
}

int
tl_ledger_set_tasks (tl_ledger_t *self, uint64_t n)
{
    if (n > (1ULL << 32))
        return TL_EINVAL;
    size_t words = (size_t) ((n + 63) / 64);
    if (words > self->words) {
        uint64_t *b = realloc (self->bits, words * sizeof (uint64_t));
        if (!b)
            return TL_ENOMEM;
        memset (b + self->words, 0, (words - self->words) * sizeof (uint64_t));
        self->bits = b;
        self->words = words;
    }
    if (n > self->st.tasks_total)
        self->st.tasks_total = n;
    return 0;
}

bool
tl_ledger_applied (const tl_ledger_t *self, uint64_t task)
{
    return task < self->st.tasks_total && (self->bits [task / 64] >> (task % 64)) & 1;
}

int
tl_ledger_apply (tl_ledger_t *self, const tl_msg_t *p)
{
    if (p->task >= self->st.tasks_total) {
        self->st.rejected++;
        return TL_EINVAL;
    }
    if (tl_ledger_applied (self, p->task)) {
        self->st.dups++;
        return 0;
    }
    for (size_t i = 0; i < p->n_groups; i++)
        if (tl_agg_add (self->totals, p->groups [i].key, p->groups [i].len, p->groups [i].count) != 0)
            abort ();   /* out of memory half-way through a partial: exactness is gone, stop loudly */
    const char *name = p->mapper ? p->mapper : "?";
    tl_agg_add (self->mappers, name, strlen (name) > TL_AGG_KEY_MAX ? TL_AGG_KEY_MAX : strlen (name), 1);
    self->bits [p->task / 64] |= 1ULL << (p->task % 64);
    self->st.tasks_applied++;
    self->st.rows += p->rows;
    self->st.bytes += p->bytes;
    self->st.bad += p->bad;
    self->st.blank += p->blank;
    return 1;
}

int
tl_ledger_applied_ids (const tl_ledger_t *self, uint64_t **ids, size_t *n)
{
    *n = 0;
    *ids = malloc ((self->st.tasks_applied + 1) * sizeof (uint64_t));
    if (!*ids)
        return TL_ENOMEM;
    for (uint64_t t = 0; t < self->st.tasks_total; t++)
        if (tl_ledger_applied (self, t))
            (*ids) [(*n)++] = t;
    return 0;
}

const tl_agg_t *
tl_ledger_totals (const tl_ledger_t *self)
{
    return self->totals;
}

const tl_agg_t *
tl_ledger_mappers (const tl_ledger_t *self)
{
    return self->mappers;
}

tl_ledger_stats_t
tl_ledger_stats (const tl_ledger_t *self)
{
    return self->st;
}
