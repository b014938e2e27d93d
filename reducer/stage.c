/*  stage.c — staging of partials in parts (stage.h says what and why).

    A small array of entries, searched linearly: it holds at most max_tasks tasks (a few
    hundred), and the search is nothing beside copying a part's tens of thousands of groups.
    Each entry owns a tl_staged_t that becomes the caller's when the last part comes. A staged
    task's memory is one block for the header's strings, a growing array of group entries, and
    blocks (one per part, of its keys and cells, at least 64 KiB) that hold the keys and cells the
    entries point to: a task's groups cost their bytes plus 24 per entry, one allocation per
    part, and nothing is moved once copied. */
#include "reducer/stage.h"
#include "reducer/ledger.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MIN ((size_t) 64 << 10)

typedef struct s_block {
    struct s_block *next;
    size_t used, size;
    char data [];
} s_block_t;

/*  What a staged task owns (tl_staged_t.mem_). */
typedef struct {
    char *strs;             /* job, mapper, token */
    tl_agg_entry_t *v;      /* the groups so far */
    size_t cap;
    s_block_t *blocks;      /* keys and cells, newest first */
} s_mem_t;

typedef struct {
    tl_staged_t *s;         /* NULL: a free entry */
    uint64_t order;         /* when its first part came: the oldest is evicted first */
    uint64_t next;          /* the part expected next */
    uint64_t count;         /* the group counts of its parts, summed */
} s_entry_t;

struct tl_stage {
    s_entry_t *v;
    size_t max_tasks, max_groups;
    uint64_t clock;
    tl_stage_stats_t st;
};

tl_stage_t *
tl_stage_new (size_t max_tasks, size_t max_groups)
{
    tl_stage_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max_tasks = max_tasks ? max_tasks : 1;
    self->max_groups = max_groups;
    if (!(self->v = calloc (self->max_tasks, sizeof *self->v)))
        tl_stage_destroy (&self);
    return self;
}

/*  Free a staged task's groups (its header stays). */
static void
s_free_groups (tl_staged_t *s)
{
    s_mem_t *mem = s->mem_;
    while (mem->blocks) {
        s_block_t *n = mem->blocks->next;
        free (mem->blocks);
        mem->blocks = n;
    }
    free (mem->v);
    mem->v = NULL;
    mem->cap = 0;
    s->msg.groups = NULL;
    s->msg.n_groups = 0;
    s->merged = false;
}

void
tl_staged_destroy (tl_staged_t **self_p)
{
    if (self_p && *self_p) {
        s_mem_t *mem = (*self_p)->mem_;
        if (mem) {
            s_free_groups (*self_p);
            free (mem->strs);
            free (mem);
        }
        free (*self_p);
        *self_p = NULL;
    }
}

static size_t
s_align (size_t n)
{
    return (n + 7) & ~(size_t) 7;
}

/*  Room for n more bytes in the newest block, or a new block of at least n. */
static int
s_room (s_mem_t *mem, size_t n)
{
    s_block_t *b = mem->blocks;
    if (b && b->size - b->used >= n)
        return 0;
    size_t size = n > BLOCK_MIN ? n : BLOCK_MIN;
    if (!(b = malloc (sizeof *b + size)))
        return TL_ENOMEM;
    b->used = 0;
    b->size = size;
    b->next = mem->blocks;
    mem->blocks = b;
    return 0;
}

/*  n bytes (8-aligned) from the newest block, which has room (s_room). */
static void *
s_take (s_mem_t *mem, size_t n)
{
    s_block_t *b = mem->blocks;
    void *p = b->data + b->used;
    b->used += s_align (n);
    return p;
}

/*  Append a part's groups (keys and cells copied). */
static int
s_append (tl_staged_t *s, const tl_msg_t *m, unsigned ncells)
{
    s_mem_t *mem = s->mem_;
    size_t n = s->msg.n_groups;
    if (n + m->n_groups > mem->cap) {
        size_t cap = mem->cap ? mem->cap : 1024;
        while (cap < n + m->n_groups)
            cap *= 2;
        tl_agg_entry_t *v = realloc (mem->v, cap * sizeof *v);
        if (!v)
            return TL_ENOMEM;
        mem->v = v;
        mem->cap = cap;
        s->msg.groups = v;
    }
    size_t bytes = 0;
    for (size_t g = 0; g < m->n_groups; g++)
        bytes += s_align (m->groups [g].len + 1) + s_align (ncells * sizeof (tl_cell_t));
    if (s_room (mem, bytes) != 0)
        return TL_ENOMEM;
    for (size_t g = 0; g < m->n_groups; g++) {
        const tl_agg_entry_t *x = &m->groups [g];
        char *key = s_take (mem, x->len + 1);
        tl_cell_t *cells = ncells ? s_take (mem, ncells * sizeof *cells) : NULL;
        memcpy (key, x->key, x->len);
        key [x->len] = 0;
        if (ncells)
            memcpy (cells, x->cells, ncells * sizeof *cells);
        mem->v [n + g] = (tl_agg_entry_t) { key, x->len, x->count, cells };
        s->msg.n_groups++;
    }
    return 0;
}

/*  Free entry i and take its groups off the count. */
static void
s_drop (tl_stage_t *self, size_t i)
{
    s_entry_t *x = &self->v [i];
    if (!x->s)
        return;
    self->st.groups -= x->s->msg.n_groups;
    tl_staged_destroy (&x->s);
    self->st.tasks--;
}

void
tl_stage_destroy (tl_stage_t **self_p)
{
    if (self_p && *self_p) {
        tl_stage_t *self = *self_p;
        for (size_t i = 0; self->v && i < self->max_tasks; i++)
            s_drop (self, i);
        free (self->v);
        free (self);
        *self_p = NULL;
    }
}

void
tl_stage_clear (tl_stage_t *self)
{
    for (size_t i = 0; i < self->max_tasks; i++)
        s_drop (self, i);
}

void
tl_stage_release_task (tl_stage_t *self, uint64_t task)
{
    /* Called for every task applied, most of which never came in parts: with nothing staged
       there is nothing to scan (the scan was 3% of the reducer at 4 KiB tasks). */
    if (!self->st.tasks)
        return;
    for (size_t i = 0; i < self->max_tasks; i++) {
        tl_staged_t *s = self->v [i].s;
        if (s && s->msg.task == task && s->merged) {
            self->st.groups -= s->msg.n_groups;
            s_free_groups (s);
        }
    }
}

tl_stage_stats_t
tl_stage_stats (const tl_stage_t *self)
{
    return self->st;
}

static bool
s_streq (const char *a, const char *b)
{
    return strcmp (a ? a : "", b ? b : "") == 0;
}

/*  The entry that stages m's task, or -1. */
static long
s_find (const tl_stage_t *self, const tl_msg_t *m)
{
    for (size_t i = 0; i < self->max_tasks; i++) {
        const tl_staged_t *s = self->v [i].s;
        if (s && s->msg.task == m->task && s->msg.attempt == m->attempt && s->msg.verify == m->verify
            && s_streq (s->msg.mapper, m->mapper))
            return (long) i;
    }
    return -1;
}

/*  Evict the oldest staged task other than entry keep (-1: none kept). False if there is none. */
static bool
s_evict_oldest (tl_stage_t *self, long keep)
{
    long oldest = -1;
    for (size_t i = 0; i < self->max_tasks; i++)
        if (self->v [i].s && (long) i != keep && (oldest < 0 || self->v [i].order < self->v [oldest].order))
            oldest = (long) i;
    if (oldest < 0)
        return false;
    self->st.evicted++;
    self->st.last_evicted_task = self->v [oldest].s->msg.task;
    self->st.last_evicted_attempt = self->v [oldest].s->msg.attempt;
    s_drop (self, (size_t) oldest);
    return true;
}

/*  Everything of a part but its number and groups must be what its first part said. */
static bool
s_same_header (const tl_msg_t *a, const tl_msg_t *b)
{
    return s_streq (a->job, b->job) && s_streq (a->token, b->token) && a->offset == b->offset
           && a->length == b->length && a->rows == b->rows && a->bytes == b->bytes && a->bad == b->bad
           && a->blank == b->blank && a->filtered == b->filtered && a->fetched == b->fetched
           && a->skipped == b->skipped && a->parts == b->parts;
}

/*  A new staged task from its first part: the header with its own copies of the strings. */
static tl_staged_t *
s_new_staged (const tl_msg_t *m, unsigned ncells, bool merge)
{
    tl_staged_t *s = calloc (1, sizeof *s);
    s_mem_t *mem = s ? calloc (1, sizeof *mem) : NULL;
    if (!mem) {
        free (s);
        return NULL;
    }
    s->mem_ = mem;
    s->merged = merge;
    const char *job = m->job ? m->job : "", *mapper = m->mapper ? m->mapper : "", *token = m->token ? m->token : "";
    size_t lj = strlen (job) + 1, lm = strlen (mapper) + 1, lt = strlen (token) + 1;
    if (!(mem->strs = malloc (lj + lm + lt))) {
        tl_staged_destroy (&s);
        return NULL;
    }
    char *strs = mem->strs;
    memcpy (strs, job, lj);
    memcpy (strs + lj, mapper, lm);
    memcpy (strs + lj + lm, token, lt);
    s->msg = (tl_msg_t) {
        .type = TL_MSG_PARTIAL, .job = strs, .mapper = strs + lj, .token = strs + lj + lm,
        .task = m->task, .attempt = m->attempt, .offset = m->offset, .length = m->length, .rows = m->rows,
        .bytes = m->bytes, .bad = m->bad, .blank = m->blank, .filtered = m->filtered, .fetched = m->fetched,
        .skipped = m->skipped, .verify = m->verify, .parts = m->parts, .ncells = ncells,
    };
    s->digest = tl_ledger_counters_digest (m);
    return s;
}

/*  Drop entry i (if any) with the part that broke it, and say why. */
static int
s_broken (tl_stage_t *self, long i, tl_err_t *e, int code, const char *fmt, const tl_msg_t *m, const char *why)
{
    self->st.broken++;
    if (i >= 0)
        s_drop (self, (size_t) i);
    return tl_err_set (e, code, 0, fmt, (unsigned long long) m->task, (unsigned long long) m->attempt,
                       m->mapper ? m->mapper : "?", (unsigned long long) m->part, (unsigned long long) m->parts, why);
}

#define BROKEN "task %llu attempt %llu from '%s', part %llu of %llu: %s; its staged parts are dropped"

int
tl_stage_offer (tl_stage_t *self, const tl_msg_t *m, unsigned ncells, bool merge, tl_staged_t **out, tl_err_t *e)
{
    *out = NULL;
    long i = s_find (self, m);
    if (m->parts < 1 || m->part < 1 || m->part > m->parts)
        return s_broken (self, i, e, TL_EPROTO, BROKEN, m, "not a part");
    if (m->n_groups && m->ncells != ncells)
        return s_broken (self, i, e, TL_EPROTO, BROKEN, m, "its groups have another number of value cells than the job");
    if (m->part == 1) {
        if (i >= 0)     /* a first part again: what was staged can never complete */
            s_broken (self, i, e, TL_EPROTO, BROKEN, m, "a first part while its parts were staged");
        while (self->st.tasks >= self->max_tasks && s_evict_oldest (self, -1))
            ;
        for (i = 0; self->v [i].s; i++)
            ;
        tl_staged_t *s = s_new_staged (m, ncells, merge);
        if (!s) {
            self->st.broken++;
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory staging task %llu", (unsigned long long) m->task);
        }
        self->v [i] = (s_entry_t) { .s = s, .order = ++self->clock, .next = 1 };
        self->st.tasks++;
    }
    else if (i < 0)
        return s_broken (self, -1, e, TL_EPROTO, BROKEN, m,
                         "nothing is staged for it (a part was lost, or the staging was evicted)");
    s_entry_t *x = &self->v [i];
    if (m->part != x->next)
        return s_broken (self, i, e, TL_EPROTO, BROKEN, m, "parts out of order (one was lost)");
    if (!s_same_header (&x->s->msg, m))
        return s_broken (self, i, e, TL_EPROTO, BROKEN, m, "its header differs from the first part's");
    if (!merge && x->s->merged) {   /* applied meanwhile: the digest is all that is needed */
        self->st.groups -= x->s->msg.n_groups;
        s_free_groups (x->s);
    }
    if (x->s->merged) {
        /* Room first: evict the oldest others while this part could pass the cap. */
        while (self->st.groups + m->n_groups > self->max_groups && s_evict_oldest (self, i))
            ;
        if (self->st.groups + m->n_groups > self->max_groups) {
            char why [160];
            snprintf (why, sizeof why, "the task alone has more groups than the staging holds (%zu)", self->max_groups);
            return s_broken (self, i, e, TL_EFULL, BROKEN, m, why);
        }
        size_t before = x->s->msg.n_groups;
        int rc = s_append (x->s, m, ncells);
        self->st.groups += x->s->msg.n_groups - before;
        if (rc) {
            self->st.broken++;
            s_drop (self, i);
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory staging task %llu", (unsigned long long) m->task);
        }
    }
    if (!x->s->merged)      /* with the groups kept, the ledger digests them at the apply */
        x->s->digest += tl_ledger_groups_digest (m->groups, m->n_groups, ncells);
    x->s->groups += m->n_groups;
    for (size_t g = 0; g < m->n_groups; g++)
        x->count += m->groups [g].count;
    self->st.parts++;
    x->next++;
    if (m->part < m->parts)
        return TL_STAGE_MORE;
    /* Every row counted is in one group, so a task's group counts add up to its rows: a part
       missing in a way its numbers cannot show (a `parts` that lies) shows here. */
    if (x->count != x->s->msg.rows) {
        char why [160];
        snprintf (why, sizeof why, "its parts' groups add up to %llu rows, its header says %llu",
                  (unsigned long long) x->count, (unsigned long long) x->s->msg.rows);
        self->st.parts--;
        return s_broken (self, i, e, TL_EPROTO, BROKEN, m, why);
    }
    /* The last part: the task leaves the stage, whole. */
    self->st.groups -= x->s->msg.n_groups;
    *out = x->s;
    x->s = NULL;
    self->st.tasks--;
    self->st.completed++;
    return TL_STAGE_DONE;
}
