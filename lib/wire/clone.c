/*  clone.c — the replica of the reducer's table (lib/wire/clone.h).

    How it works. Five states:
      EMPTY   nothing yet; our subscription was the request for a snapshot
      WHOLE   the table is exact at `seq`
      SNAP    a snapshot is being assembled into `next` (the old table is still shown, stale)
      DELTA   a delta in several parts is being applied to the table (between two states)
      STALE   something was lost; a snapshot was asked for (the old table is shown, stale)
    A part must follow the one before it (same seq, part + 1). Messages come in the order they
    were sent, a publisher only drops whole messages, and its queue is the only place they are
    dropped, so "not the next one" always means "lost". Groups hold totals, not increments,
    so applying a group twice does no harm, and a delta applied over a snapshot that already
    holds it changes nothing.

    A snapshot of the seq we already hold is the state we have (the reducer flushes its changes
    as a delta before it snapshots, so both share a seq): a whole replica skips it. That keeps
    a snapshot sent for a late subscriber from costing everyone else a rebuild.

    The top N: `top` holds the best `topcap` groups as of the last tl_clone_top, `cand` the
    groups changed since that may now belong there (every changed group that is not after the
    worst of `top`). The next tl_clone_top ranks top and cand together (keys are stable
    pointers into the table, so a group's duplicates are found by pointer). A new table, a
    count that fell, or too many candidates mean a pass over the whole table instead. */
#include "lib/wire/clone.h"
#include "lib/core/query.h"
#include <stdlib.h>
#include <string.h>

typedef enum { S_EMPTY, S_WHOLE, S_SNAP, S_DELTA, S_STALE } s_state_t;

struct tl_clone {
    s_state_t state;
    tl_agg_t *table;            /* the replica */
    tl_agg_t *next;             /* SNAP: the snapshot being assembled */
    char *job;                  /* the table's job (NULL before the first snapshot) */
    uint64_t seq;               /* WHOLE: the state the table holds */
    char *pjob;                 /* SNAP, DELTA: the update in progress */
    uint64_t pseq, pnext, pparts;
    tl_msg_t last;              /* the update that last made the table whole, owned */
    bool have_last;
    tl_agg_entry_t *top;        /* the best topcap groups (as of the last tl_clone_top) */
    size_t ntop, topcap;
    bool top_stale;             /* rank the whole table next time */
    tl_agg_entry_t *cand;       /* changed since, maybe better than top's worst */
    size_t ncand, candcap;
    tl_clone_stats_t st;
};

tl_clone_t *
tl_clone_new (void)
{
    tl_clone_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->table = tl_agg_new ();
    if (!self->table) {
        free (self);
        return NULL;
    }
    return self;
}

void
tl_clone_destroy (tl_clone_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_clone_t *self = *self_p;
    tl_agg_destroy (&self->table);
    tl_agg_destroy (&self->next);
    free (self->job);
    free (self->pjob);
    tl_msg_clear (&self->last);
    free (self->top);
    free (self->cand);
    free (self);
    *self_p = NULL;
}

static bool
s_same (const char *a, const char *b)
{
    return a && b && strcmp (a, b) == 0;
}

static void
s_keep_last (tl_clone_t *self, tl_msg_t *m)
{
    tl_msg_clear (&self->last);
    self->last = *m;
    self->have_last = true;
    memset (m, 0, sizeof *m);
}

static tl_clone_rc_t
s_gap (tl_clone_t *self)
{
    self->state = S_STALE;
    tl_agg_destroy (&self->next);
    self->st.gaps++;
    return TL_CLONE_GAP;
}

/*  Remember a changed group for the top: if it is not after top's worst, it may belong there. */
static void
s_candidate (tl_clone_t *self, const tl_agg_entry_t *e, uint64_t old)
{
    if (self->top_stale || !self->topcap)
        return;     /* the next tl_clone_top ranks everything anyway */
    if (e->count < old) {
        self->top_stale = true;
        return;
    }
    if (self->ntop == self->topcap && self->ntop && tl_agg_entry_before (&self->top [self->ntop - 1], e))
        return;
    if (self->ncand == self->candcap) {
        /* Many changed groups (early in a job everything is new): one pass over the table
           then costs about what ranking them would. */
        size_t limit = 4 * self->topcap + tl_agg_size (self->table) / 4 + 64;
        size_t cap = self->candcap ? self->candcap * 2 : 256;
        tl_agg_entry_t *c = cap <= limit ? realloc (self->cand, cap * sizeof *c) : NULL;
        if (!c) {
            self->top_stale = true;
            self->ncand = 0;
            return;
        }
        self->cand = c;
        self->candcap = cap;
    }
    self->cand [self->ncand++] = *e;
}

/*  Apply a message's groups to table t (totals, so a repeat is harmless). Cells are taken only
    if they have the table's shape. Returns 0 or an error (the table is then not trustworthy). */
static int
s_apply_groups (tl_clone_t *self, tl_agg_t *t, const tl_msg_t *m, bool track_top)
{
    /* Groups whose cells do not have the table's shape cannot be taken as they are, and taking
       their counts alone would show sums of nothing: the table is not trustworthy. */
    if (m->n_groups && m->ncells != tl_agg_ncells (t))
        return TL_EPROTO;
    bool cells = m->ncells != 0;
    for (size_t i = 0; i < m->n_groups; i++) {
        const tl_agg_entry_t *g = &m->groups [i];
        uint64_t old = 0;
        tl_agg_entry_t e;
        int rc = tl_agg_set (t, g->key, g->len, g->count, cells ? g->cells : NULL, &old, &e);
        if (rc)
            return rc;
        if (track_top)
            s_candidate (self, &e, old);
    }
    return 0;
}

static char *
s_strdup (const char *s)
{
    return strdup (s ? s : "");
}

/*  The last part of a snapshot is in: it becomes the table. */
static tl_clone_rc_t
s_snapshot_done (tl_clone_t *self, tl_msg_t *m)
{
    tl_agg_destroy (&self->table);
    self->table = self->next;
    self->next = NULL;
    free (self->job);
    self->job = self->pjob;
    self->pjob = NULL;
    self->seq = self->pseq;
    self->state = S_WHOLE;
    self->top_stale = true;     /* top's keys pointed into the old table */
    self->ncand = 0;
    self->st.snapshots++;
    s_keep_last (self, m);
    return TL_CLONE_APPLIED;
}

static tl_clone_rc_t
s_snapshot (tl_clone_t *self, tl_msg_t *m, uint64_t part, uint64_t parts)
{
    if (self->state == S_WHOLE && s_same (self->job, m->job) && m->seq == self->seq) {
        self->st.skipped++;
        return TL_CLONE_SKIPPED;
    }
    if (part == 1) {
        tl_agg_destroy (&self->next);
        free (self->pjob);
        self->next = tl_agg_new_cells (m->n_groups ? (unsigned) m->ncells : tl_query_ncells (m->col));
        self->pjob = s_strdup (m->job);
        if (!self->next || !self->pjob)
            return s_gap (self);
        self->pseq = m->seq;
        self->pnext = 1;
        self->pparts = parts;
        self->state = S_SNAP;
    }
    else if (self->state != S_SNAP || m->seq != self->pseq || !s_same (self->pjob, m->job) || part != self->pnext
             || parts != self->pparts) {
        /* A part without its beginning. Just subscribed (or asked again): the snapshot we asked
           for is on its way, whole. Otherwise parts were lost. */
        if (self->state == S_EMPTY || self->state == S_STALE)
            return TL_CLONE_WAITING;
        return s_gap (self);
    }
    if (s_apply_groups (self, self->next, m, false) != 0)
        return s_gap (self);
    self->pnext++;
    return part == parts ? s_snapshot_done (self, m) : TL_CLONE_PART;
}

static tl_clone_rc_t
s_delta (tl_clone_t *self, tl_msg_t *m, uint64_t part, uint64_t parts)
{
    bool same_job = s_same (self->job, m->job);
    if (self->state == S_WHOLE && same_job) {
        if (m->seq <= self->seq) {      /* a repeat, or older than what we hold */
            self->st.skipped++;
            return TL_CLONE_SKIPPED;
        }
        if (m->base != self->seq || part != 1)
            return s_gap (self);
        self->pseq = m->seq;
        self->pnext = 1;
        self->pparts = parts;
        self->state = S_DELTA;
    }
    else if (self->state == S_DELTA && same_job && m->seq == self->pseq && part == self->pnext
             && parts == self->pparts)
        ;
    else if (self->state == S_EMPTY || self->state == S_STALE)
        return TL_CLONE_WAITING;    /* deltas mean nothing until the snapshot is here */
    else
        return s_gap (self);        /* another job's delta, a snapshot cut short, a lost part */
    if (m->bare)
        return s_gap (self);        /* its groups were left out: the reducer did not know of us */
    if (s_apply_groups (self, self->table, m, true) != 0)
        return s_gap (self);
    self->pnext++;
    if (part < parts)
        return TL_CLONE_PART;
    self->seq = self->pseq;
    self->state = S_WHOLE;
    self->st.deltas++;
    s_keep_last (self, m);
    return TL_CLONE_APPLIED;
}

tl_clone_rc_t
tl_clone_apply (tl_clone_t *self, tl_msg_t *m)
{
    tl_clone_rc_t rc = TL_CLONE_SKIPPED;
    if (m->type == TL_MSG_UPDATE) {
        uint64_t part, parts;
        bool delta = tl_update_where (m, &part, &parts);
        rc = delta ? s_delta (self, m, part, parts) : s_snapshot (self, m, part, parts);
    }
    tl_msg_clear (m);   /* kept (moved out) if it made the table whole */
    return rc;
}

bool
tl_clone_whole (const tl_clone_t *self)
{
    return self->state == S_WHOLE;
}

uint64_t
tl_clone_seq (const tl_clone_t *self)
{
    return self->seq;
}

const tl_msg_t *
tl_clone_last (const tl_clone_t *self)
{
    return self->have_last ? &self->last : NULL;
}

const tl_agg_t *
tl_clone_table (const tl_clone_t *self)
{
    return self->table;
}

tl_clone_stats_t
tl_clone_stats (const tl_clone_t *self)
{
    return self->st;
}

/*  The best topcap groups of the whole table into top, sorted. */
static void
s_rank_all (tl_clone_t *self)
{
    size_t k = 0, pos = 0;
    tl_agg_entry_t e;
    while (tl_agg_next (self->table, &pos, &e))
        tl_agg_top_offer (self->top, self->topcap, &k, &e);
    tl_agg_sort_entries (self->top, k);
    self->ntop = k;
}

static int
s_by_key_ptr (const void *a, const void *b)
{
    const char *x = ((const tl_agg_entry_t *) a)->key, *y = ((const tl_agg_entry_t *) b)->key;
    return (x > y) - (x < y);
}

/*  Rank the old top and the candidates together (their counts read afresh). */
static int
s_rank_changed (tl_clone_t *self)
{
    size_t n = self->ntop + self->ncand;
    tl_agg_entry_t *v = malloc (n * sizeof *v);
    if (!v)
        return -1;
    memcpy (v, self->top, self->ntop * sizeof *v);
    memcpy (v + self->ntop, self->cand, self->ncand * sizeof *v);
    qsort (v, n, sizeof *v, s_by_key_ptr);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && v [u - 1].key == v [i].key)
            continue;
        if (!tl_agg_find (self->table, v [i].key, v [i].len, &v [u]))
            continue;       /* cannot happen: the table never loses a group but by a new snapshot */
        u++;
    }
    tl_agg_sort_entries (v, u);
    self->ntop = u < self->topcap ? u : self->topcap;
    memcpy (self->top, v, self->ntop * sizeof *v);
    free (v);
    return 0;
}

size_t
tl_clone_top (tl_clone_t *self, size_t n, tl_agg_entry_t *out)
{
    if (n > self->topcap) {
        tl_agg_entry_t *t = realloc (self->top, n * sizeof *t);
        if (!t)
            return 0;
        self->top = t;
        self->topcap = n;
        self->top_stale = true;
    }
    /* Without candidates nothing in top changed: a changed top group is always a candidate. */
    if (self->top_stale || (self->ncand && s_rank_changed (self) != 0)) {
        s_rank_all (self);
        self->top_stale = false;
    }
    self->ncand = 0;
    size_t k = n < self->ntop ? n : self->ntop;
    memcpy (out, self->top, k * sizeof *out);
    return k;
}

tl_agg_entry_t *
tl_clone_all (tl_clone_t *self, size_t *n)
{
    *n = tl_agg_size (self->table);
    tl_agg_entry_t *v = malloc ((*n ? *n : 1) * sizeof *v);
    if (!v) {
        *n = 0;
        return NULL;
    }
    tl_agg_sorted (self->table, v);
    return v;
}
