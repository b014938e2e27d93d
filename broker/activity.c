/*  activity.c — the broker's bounded record of task attempts and events (activity.h).

    Spans are kept in assignment order in one array; an attempt is found from the newest end,
    where the running ones are. A span names its mapper by an index into the workers, and each
    worker counts its spans, so an assignment compares no strings. A span removed to keep the
    bounds (the oldest finished span of a mapper over its share, or of the whole set over
    TL_BACT_SPANS) is only marked dead, and the array is compacted when it fills, so that a
    removal costs O(1) amortised: at 4 KiB tasks the broker hands out 100 k assignments a second,
    and a memmove of the array and a string compare per span on each (as before) took most of
    its time (perf: memmove, strcmp and tl_bact_start, 35%). The scan for the oldest finished
    span starts at the first live one and stops at the first match, which is near the front:
    attempts end roughly in the order they started. */
#include "broker/activity.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tl_span_t s;
    int w;                  /* the mapper: index into workers; -1: removed (dead) */
    uint64_t done;          /* heartbeat progress */
} s_span_t;

typedef struct {
    tl_event_t e;
    char kind [16], mapper [128], text [256];
} s_event_t;

typedef struct {
    tl_worker_t w;
    char name [128], state [8];
    uint64_t finished;      /* bytes of its finished attempts */
    size_t nspans;          /* live spans of this mapper */
} s_worker_t;

/*  The span array holds live and dead spans; it is compacted when it reaches SPANS_CAP. A hash
    of task ids (open addressing, IDX_SLOTS entries of span index + 1) finds a task's spans: it
    is rebuilt at each compaction, so it holds at most SPANS_CAP entries (some of them dead). */
#define SPANS_CAP (2 * TL_BACT_SPANS)
#define IDX_SLOTS (2 * SPANS_CAP)
#define IDX_FIND_MAX 64     /* spans of one task looked at (backups, re-issues): a few in practice */

struct tl_bact {
    int64_t t0, last_sent;
    bool dirty;
    s_span_t *spans;
    size_t nspans;          /* used slots, dead ones included */
    size_t nlive;           /* live spans (at most TL_BACT_SPANS) */
    size_t first;           /* no live span before this index */
    size_t last_w;          /* the worker looked up last: tried first */
    uint32_t *idx;          /* task id -> span index + 1 (0: empty) */
    s_event_t events [TL_BACT_EVENTS];
    uint64_t nevents;       /* ever: the ring holds the last TL_BACT_EVENTS */
    s_worker_t *workers;
    size_t nworkers, capworkers;
    tl_span_t *out_spans;   /* tl_bact_message's arrays */
    tl_event_t out_events [TL_BACT_EVENTS];
    tl_worker_t *out_workers;
    uint64_t tails [256];   /* the last tail ids made by steals */
    size_t ntails;
};

static uint64_t
s_ms (const tl_bact_t *self, int64_t now)
{
    return now > self->t0 ? (uint64_t) (now - self->t0) : 0;
}

tl_bact_t *
tl_bact_new (int64_t now)
{
    tl_bact_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->spans = calloc (SPANS_CAP, sizeof *self->spans);
    self->out_spans = calloc (TL_BACT_SPANS, sizeof *self->out_spans);
    self->idx = calloc (IDX_SLOTS, sizeof *self->idx);
    if (!self->spans || !self->out_spans || !self->idx) {
        tl_bact_destroy (&self);
        return NULL;
    }
    self->t0 = now;
    return self;
}

void
tl_bact_destroy (tl_bact_t **self_p)
{
    if (self_p && *self_p) {
        tl_bact_t *self = *self_p;
        free (self->spans);
        free (self->out_spans);
        free (self->idx);
        free (self->workers);
        free (self->out_workers);
        free (self);
        *self_p = NULL;
    }
}

static s_worker_t *
s_worker (tl_bact_t *self, const char *name)
{
    if (self->last_w < self->nworkers && strcmp (self->workers [self->last_w].name, name) == 0)
        return &self->workers [self->last_w];
    for (size_t i = 0; i < self->nworkers; i++)
        if (strcmp (self->workers [i].name, name) == 0) {
            self->last_w = i;
            return &self->workers [i];
        }
    if (self->nworkers == TL_ACT_WORKERS_MAX)
        return NULL;
    if (self->nworkers == self->capworkers) {
        size_t cap = self->capworkers ? 2 * self->capworkers : 16;
        s_worker_t *w = realloc (self->workers, cap * sizeof *w);
        tl_worker_t *o = realloc (self->out_workers, cap * sizeof *o);
        if (w)
            self->workers = w;
        if (o)
            self->out_workers = o;
        if (!w || !o)
            return NULL;
        self->capworkers = cap;
    }
    s_worker_t *w = &self->workers [self->nworkers++];
    memset (w, 0, sizeof *w);
    snprintf (w->name, sizeof w->name, "%s", name);
    snprintf (w->state, sizeof w->state, "joined");
    self->last_w = self->nworkers - 1;
    return w;
}

/*  Remove span i: it is marked dead, the order of the others stays. */
static void
s_drop (tl_bact_t *self, size_t i)
{
    self->workers [self->spans [i].w].nspans--;
    self->spans [i].w = -1;
    self->nlive--;
    while (self->first < self->nspans && self->spans [self->first].w < 0)
        self->first++;
}

static size_t
s_hash (uint64_t task)
{
    return (size_t) ((task * 0x9E3779B97F4A7C15ULL) >> 40) & (IDX_SLOTS - 1);
}

static void
s_index (tl_bact_t *self, size_t i)
{
    size_t h = s_hash (self->spans [i].s.task);
    while (self->idx [h])
        h = (h + 1) & (IDX_SLOTS - 1);
    self->idx [h] = (uint32_t) i + 1;
}

/*  The live spans of task, newest first, into out (at most IDX_FIND_MAX); returns how many. */
static size_t
s_find_all (const tl_bact_t *self, uint64_t task, size_t out [IDX_FIND_MAX])
{
    size_t n = 0;
    for (size_t h = s_hash (task); self->idx [h]; h = (h + 1) & (IDX_SLOTS - 1)) {
        size_t i = self->idx [h] - 1;
        if (self->spans [i].w >= 0 && self->spans [i].s.task == task && n < IDX_FIND_MAX)
            out [n++] = i;
    }
    for (size_t a = 1; a < n; a++)      /* insertion sort, descending: a handful */
        for (size_t b = a; b > 0 && out [b - 1] < out [b]; b--) {
            size_t t = out [b];
            out [b] = out [b - 1];
            out [b - 1] = t;
        }
    return n;
}

/*  Squeeze the dead spans out, keeping the order, and index what is left: once per
    TL_BACT_SPANS removals at least. */
static void
s_compact (tl_bact_t *self)
{
    size_t k = 0;
    for (size_t i = 0; i < self->nspans; i++)
        if (self->spans [i].w >= 0)
            self->spans [k++] = self->spans [i];
    self->nspans = k;
    self->first = 0;
    memset (self->idx, 0, IDX_SLOTS * sizeof *self->idx);
    for (size_t i = 0; i < k; i++)
        s_index (self, i);
}

void
tl_bact_start (tl_bact_t *self, uint64_t task, uint64_t attempt, const char *mapper, const char *kind,
               uint64_t offset, uint64_t length, int64_t now)
{
    if (!self)
        return;
    s_worker_t *w = s_worker (self, mapper);
    if (!w)
        return;     /* more mappers than a message may name: not shown */
    int wi = (int) (w - self->workers);
    /* Over the mapper's share or the whole bound: the oldest finished span of that mapper
       goes, else the oldest finished one of all, else the oldest. */
    bool over_mine = w->nspans >= TL_BACT_PER_MAPPER, over_all = self->nlive == TL_BACT_SPANS;
    if (over_mine || over_all) {
        size_t oldest_mine = SIZE_MAX, oldest = SIZE_MAX, oldest_live = SIZE_MAX;
        for (size_t i = self->first; i < self->nspans; i++) {
            const s_span_t *x = &self->spans [i];
            if (x->w < 0)
                continue;
            if (oldest_live == SIZE_MAX)
                oldest_live = i;
            bool fin = x->s.end_ms != 0;
            if (fin && x->w == wi) {
                oldest_mine = i;
                break;
            }
            if (fin && oldest == SIZE_MAX) {
                oldest = i;
                if (!over_mine)
                    break;
            }
        }
        if (over_mine && oldest_mine != SIZE_MAX)
            s_drop (self, oldest_mine);
        else if (over_all)
            s_drop (self, oldest != SIZE_MAX ? oldest : oldest_live);
    }
    if (self->nspans == SPANS_CAP)
        s_compact (self);
    s_span_t *s = &self->spans [self->nspans++];
    memset (s, 0, sizeof *s);
    s->w = wi;
    w->nspans++;
    self->nlive++;
    s->s = (tl_span_t) { .task = task, .attempt = attempt, .kind = kind, .state = "running",
                         .start_ms = s_ms (self, now), .offset = offset, .length = length };
    s_index (self, self->nspans - 1);
    self->dirty = true;
}

static s_span_t *
s_find (tl_bact_t *self, uint64_t task, uint64_t attempt)
{
    size_t at [IDX_FIND_MAX], n = s_find_all (self, task, at);
    for (size_t k = 0; k < n; k++)
        if (self->spans [at [k]].s.attempt == attempt)
            return &self->spans [at [k]];
    return NULL;
}

void
tl_bact_end (tl_bact_t *self, uint64_t task, uint64_t attempt, const char *mapper, const char *state, int64_t now)
{
    if (!self)
        return;
    int wi = -1;
    if (mapper) {
        s_worker_t *mw = s_worker (self, mapper);
        if (!mw)
            return;
        wi = (int) (mw - self->workers);
    }
    bool done = strcmp (state, "done") == 0;
    /* A task's spans through the index; every span of a mapper (task UINT64_MAX) by a scan. */
    size_t at [IDX_FIND_MAX], n = task != UINT64_MAX ? s_find_all (self, task, at) : self->nspans - self->first;
    for (size_t k = 0; k < n; k++) {
        size_t i = task != UINT64_MAX ? at [k] : self->nspans - 1 - k;
        s_span_t *s = &self->spans [i];
        if (s->w < 0 || (task != UINT64_MAX && s->s.task != task) || s->s.end_ms
            || (attempt && s->s.attempt != attempt) || (mapper && s->w != wi))
            continue;
        uint64_t ms = s_ms (self, now);
        s->s.end_ms = ms > s->s.start_ms ? ms : s->s.start_ms + 1;     /* 0 means running */
        s->s.state = state;
        self->workers [s->w].finished += done ? s->s.length : s->done;
        self->dirty = true;
        if (attempt)
            break;
    }
}

void
tl_bact_cut (tl_bact_t *self, uint64_t task, uint64_t length, uint64_t tail, int64_t now)
{
    if (!self)
        return;
    size_t at [IDX_FIND_MAX], n = s_find_all (self, task, at);
    for (size_t k = 0; k < n; k++) {
        s_span_t *s = &self->spans [at [k]];
        if (!s->s.end_ms) {
            s->s.length = length;
            s->s.cut_ms = s_ms (self, now) ? s_ms (self, now) : 1;
            s->s.tail = tail;
            self->dirty = true;
            return;
        }
    }
}

void
tl_bact_tail (tl_bact_t *self, uint64_t tail)
{
    if (self)
        self->tails [self->ntails++ % 256] = tail;
}

bool
tl_bact_is_tail (const tl_bact_t *self, uint64_t task)
{
    for (size_t i = 0; self && i < self->ntails && i < 256; i++)
        if (self->tails [i] == task)
            return true;
    return false;
}

void
tl_bact_progress (tl_bact_t *self, uint64_t task, uint64_t attempt, uint64_t bytes_done)
{
    s_span_t *s = self ? s_find (self, task, attempt) : NULL;
    if (s && !s->s.end_ms && s->done != bytes_done) {
        s->done = bytes_done;
        self->dirty = true;
    }
}

void
tl_bact_event (tl_bact_t *self, const char *kind, const char *mapper, uint64_t task, const char *text, int64_t now)
{
    if (!self)
        return;
    s_event_t *e = &self->events [self->nevents % TL_BACT_EVENTS];
    snprintf (e->kind, sizeof e->kind, "%s", kind);
    snprintf (e->mapper, sizeof e->mapper, "%s", mapper ? mapper : "");
    snprintf (e->text, sizeof e->text, "%s", text);
    e->e = (tl_event_t) { .n = ++self->nevents, .ms = s_ms (self, now), .task = task };
    self->dirty = true;
}

void
tl_bact_mapper (tl_bact_t *self, const char *name, uint64_t slots, const char *state, uint64_t tasks)
{
    s_worker_t *w = self ? s_worker (self, name) : NULL;
    if (!w)
        return;
    w->w.slots = slots;
    w->w.tasks = tasks;
    snprintf (w->state, sizeof w->state, "%s", state);
    self->dirty = true;
}

bool
tl_bact_due (const tl_bact_t *self, int64_t now)
{
    return self && self->dirty && now - self->last_sent >= TL_BACT_EVERY_MS;
}

void
tl_bact_message (tl_bact_t *self, const char *job, tl_msg_t *m, int64_t now)
{
    size_t n = 0;
    for (size_t i = self->first; i < self->nspans; i++) {
        if (self->spans [i].w < 0)
            continue;
        self->out_spans [n] = self->spans [i].s;
        self->out_spans [n++].mapper = self->workers [self->spans [i].w].name;
    }
    size_t ne = self->nevents < TL_BACT_EVENTS ? (size_t) self->nevents : TL_BACT_EVENTS;
    for (size_t i = 0; i < ne; i++) {       /* oldest first */
        const s_event_t *e = &self->events [(self->nevents - ne + i) % TL_BACT_EVENTS];
        self->out_events [i] = e->e;
        self->out_events [i].kind = e->kind;
        self->out_events [i].mapper = e->mapper;
        self->out_events [i].text = e->text;
    }
    for (size_t i = 0; i < self->nworkers; i++)
        self->workers [i].w.bytes = 0;      /* the running attempts' progress, summed here */
    for (size_t k = self->first; k < self->nspans; k++)
        if (self->spans [k].w >= 0 && !self->spans [k].s.end_ms)
            self->workers [self->spans [k].w].w.bytes += self->spans [k].done;
    for (size_t i = 0; i < self->nworkers; i++) {
        s_worker_t *w = &self->workers [i];
        uint64_t running = w->w.bytes;
        self->out_workers [i] = w->w;
        self->out_workers [i].name = w->name;
        self->out_workers [i].state = w->state;
        self->out_workers [i].bytes = w->finished + running;
    }
    *m = (tl_msg_t) { .type = TL_MSG_ACTIVITY, .job = job, .clock = s_ms (self, now),
                      .spans = self->out_spans, .n_spans = n,
                      .events = self->out_events, .n_events = ne,
                      .workers = self->out_workers, .n_workers = self->nworkers };
    self->dirty = false;
    self->last_sent = now;
}
