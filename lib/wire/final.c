/*  final.c — the final table from the reducer's last snapshot (lib/wire/final.h).

    How it works. Two states: idle, or gathering the parts of a done snapshot (job, seq and
    parts of part 1; the next part expected). Each part's decoded message is kept (its arena
    holds the keys and cells) and its groups are appended to one array of entries that point
    into those arenas, so a group costs its entry (32 bytes) beyond the bytes that came on the
    wire: no hash table, no sort. While appending, each group is checked to come strictly after
    the one before in output order; a snapshot that is not in order (an older reducer, which
    sent its table in insertion order) is sorted when whole, and then adjacent groups must
    differ. Anything that is not the next part while gathering means parts were lost: the
    reducer sends the parts of one update back to back, and its queue only drops whole
    messages. */
#include "lib/wire/final.h"
#include "lib/core/query.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HINT_MAX ((size_t) 1 << 26)   /* at most this many entries reserved from a part's say-so */

struct tl_final {
    bool gathering, whole, seen_done, ordered;
    char *job;                  /* gathering: the snapshot's job, seq, parts; the next part */
    uint64_t seq, parts, next;
    uint64_t ncells;
    tl_msg_t *msgs;             /* the parts taken, owned */
    size_t nmsgs, capmsgs;
    tl_agg_entry_t *groups;     /* every group taken, pointing into msgs */
    size_t n, cap;
    char error [256];
};

tl_final_t *
tl_final_new (void)
{
    return calloc (1, sizeof (tl_final_t));
}

static void
s_reset (tl_final_t *self)
{
    for (size_t i = 0; i < self->nmsgs; i++)
        tl_msg_clear (&self->msgs [i]);
    self->nmsgs = 0;
    self->n = 0;
    free (self->job);
    self->job = NULL;
    self->gathering = self->whole = false;
}

void
tl_final_destroy (tl_final_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_final_t *self = *self_p;
    s_reset (self);
    free (self->msgs);
    free (self->groups);
    free (self);
    *self_p = NULL;
}

/*  Room for n more groups (hint: how many the whole snapshot may have). */
static int
s_room (tl_final_t *self, size_t n, size_t hint)
{
    if (self->n + n <= self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : 1024;
    if (!self->cap && hint > cap)
        cap = hint < S_HINT_MAX ? hint : S_HINT_MAX;
    if (cap < self->n + n)
        cap = self->n + n;
    tl_agg_entry_t *g;
    if (!self->groups)
        g = tl_agg_entries_alloc (cap);
    else
        g = cap <= SIZE_MAX / sizeof *g ? realloc (self->groups, cap * sizeof *g) : NULL;
    if (!g)
        return -1;
    self->groups = g;
    self->cap = cap;
    return 0;
}

static tl_final_rc_t
s_gap (tl_final_t *self)
{
    s_reset (self);
    return TL_FINAL_GAP;
}

/*  Take a part that belongs (part 1, or the next one of the snapshot being gathered). */
static tl_final_rc_t
s_take (tl_final_t *self, tl_msg_t *m, uint64_t part, uint64_t parts)
{
    if (part == 1) {
        s_reset (self);
        self->job = strdup (m->job ? m->job : "");
        if (!self->job)
            return s_gap (self);
        self->seq = m->seq;
        self->parts = parts;
        self->next = 1;
        self->ncells = m->ncells;
        self->ordered = true;
        self->gathering = true;
    }
    if (m->n_groups && m->ncells != self->ncells) {
        snprintf (self->error, sizeof self->error, "the final table's parts disagree on the value cells (%llu, %llu)",
                  (unsigned long long) self->ncells, (unsigned long long) m->ncells);
        s_reset (self);
        return TL_FINAL_BAD;
    }
    size_t hint = m->n_groups && parts <= SIZE_MAX / m->n_groups ? (size_t) (parts * m->n_groups) : 0;
    if (self->nmsgs == self->capmsgs) {
        size_t c = self->capmsgs ? self->capmsgs * 2 : 32;
        tl_msg_t *v = realloc (self->msgs, c * sizeof *v);
        if (!v)
            return s_gap (self);
        self->msgs = v;
        self->capmsgs = c;
    }
    if (s_room (self, m->n_groups, hint) != 0)
        return s_gap (self);
    for (size_t i = 0; i < m->n_groups; i++) {
        const tl_agg_entry_t *g = &m->groups [i];
        if (self->ordered && self->n && !tl_agg_entry_before (&self->groups [self->n - 1], g))
            self->ordered = false;
        self->groups [self->n++] = *g;
    }
    self->msgs [self->nmsgs++] = *m;
    memset (m, 0, sizeof *m);
    self->next++;
    if (part < parts)
        return TL_FINAL_PART;
    self->gathering = false;
    if (!self->ordered) {
        tl_agg_sort_entries (self->groups, self->n);
        for (size_t i = 1; i < self->n; i++) {
            const tl_agg_entry_t *a = &self->groups [i - 1], *b = &self->groups [i];
            if (a->len == b->len && memcmp (a->key, b->key, a->len) == 0) {
                snprintf (self->error, sizeof self->error, "the final table names group '%.*s' twice",
                          (int) (a->len < 64 ? a->len : 64), a->key);
                s_reset (self);
                return TL_FINAL_BAD;
            }
        }
    }
    /* An empty table's parts decode without cells: its shape is the query's. */
    tl_msg_t *last = &self->msgs [self->nmsgs - 1];
    if (!self->n)
        self->ncells = tl_query_ncells (last->col);
    last->ncells = (size_t) self->ncells;
    self->whole = true;
    return TL_FINAL_WHOLE;
}

tl_final_rc_t
tl_final_apply (tl_final_t *self, tl_msg_t *m)
{
    tl_final_rc_t rc = TL_FINAL_IGNORED;
    if (m->type == TL_MSG_UPDATE) {
        uint64_t part, parts;
        bool delta = tl_update_where (m, &part, &parts);
        if (m->done)
            self->seen_done = true;
        if (self->gathering && (delta || m->seq != self->seq || part != self->next || parts != self->parts
                                || strcmp (m->job ? m->job : "", self->job) != 0))
            rc = s_gap (self);  /* not the next part; it may still start a snapshot below */
        if (!delta && m->done && part >= 1 && part <= parts && (part == 1 || self->gathering))
            rc = s_take (self, m, part, parts);
    }
    tl_msg_clear (m);   /* kept (moved out) if it was taken */
    return rc;
}

bool
tl_final_seen_done (const tl_final_t *self)
{
    return self->seen_done;
}

const tl_msg_t *
tl_final_last (const tl_final_t *self)
{
    return self->whole && self->nmsgs ? &self->msgs [self->nmsgs - 1] : NULL;
}

tl_agg_entry_t *
tl_final_groups (tl_final_t *self, size_t *n)
{
    *n = self->whole ? self->n : 0;
    return self->whole ? self->groups : NULL;
}

const char *
tl_final_error (const tl_final_t *self)
{
    return self->error;
}
