/*  applied.c — see applied.h. */
#include "lib/wire/applied.h"
#include "lib/base/err.h"
#include "lib/core/digest.h"
#include <stdlib.h>
#include <string.h>

struct tl_acklog {
    uint64_t *ids, *lengths;
    uint64_t *dig;          /* dig [i]: digest of the first i entries; size + 1 of them */
    size_t n, cap;
    uint8_t *in;            /* in [id]: logged */
    size_t incap;
};

tl_acklog_t *
tl_acklog_new (void)
{
    tl_acklog_t *self = calloc (1, sizeof *self);
    if (self && !(self->dig = calloc (1, sizeof *self->dig)))
        tl_acklog_destroy (&self);
    return self;
}

void
tl_acklog_destroy (tl_acklog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_acklog_t *self = *self_p;
    free (self->ids);
    free (self->lengths);
    free (self->dig);
    free (self->in);
    free (self);
    *self_p = NULL;
}

void
tl_acklog_clear (tl_acklog_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        self->in [self->ids [i]] = 0;
    self->n = 0;
}

int
tl_acklog_add (tl_acklog_t *self, uint64_t id, uint64_t length)
{
    if (id >= (uint64_t) SIZE_MAX / 2)
        return TL_EINVAL;
    if (id >= self->incap) {
        size_t cap = self->incap ? self->incap : 1024;
        while (cap <= id)
            cap *= 2;
        uint8_t *in = realloc (self->in, cap);
        if (!in)
            return TL_ENOMEM;
        memset (in + self->incap, 0, cap - self->incap);
        self->in = in;
        self->incap = cap;
    }
    if (self->in [id])
        return 0;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 1024;
        uint64_t *a = realloc (self->ids, cap * sizeof *a);
        if (a)
            self->ids = a;
        uint64_t *l = realloc (self->lengths, cap * sizeof *l);
        if (l)
            self->lengths = l;
        uint64_t *d = realloc (self->dig, (cap + 1) * sizeof *d);
        if (d)
            self->dig = d;
        if (!a || !l || !d)
            return TL_ENOMEM;
        self->cap = cap;
    }
    self->ids [self->n] = id;
    self->lengths [self->n] = length;
    self->dig [self->n + 1] = self->dig [self->n] + tl_digest_pair (id, length);
    self->n++;
    self->in [id] = 1;
    return 1;
}

size_t
tl_acklog_size (const tl_acklog_t *self)
{
    return self->n;
}

uint64_t
tl_acklog_digest (const tl_acklog_t *self, size_t n)
{
    return self->dig [n <= self->n ? n : self->n];
}

bool
tl_acklog_has_prefix (const tl_acklog_t *self, uint64_t n, uint64_t d)
{
    return n <= self->n && self->dig [n] == d;
}

const uint64_t *
tl_acklog_ids (const tl_acklog_t *self)
{
    return self->ids;
}

const uint64_t *
tl_acklog_lengths (const tl_acklog_t *self)
{
    return self->lengths;
}

bool
tl_appview_take (tl_appview_t *self, uint64_t from, const uint64_t *ids, const uint64_t *lengths, size_t n,
                 bool has_after, uint64_t after)
{
    if (from > self->known)
        return true;            /* a gap: wait for the next JOB's answer */
    for (size_t i = (size_t) (self->known - from); i < n; i++) {
        self->digest += tl_digest_pair (ids [i], lengths [i]);
        self->known++;
    }
    return !has_after || from + n != self->known || self->digest == after;
}
