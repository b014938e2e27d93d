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
    messages.

    Streaming keeps only the part just taken (until the next apply) and copies of two groups:
    the last of this snapshot so far (each part must start strictly after it: in order across
    parts means no group twice) and the last handed out (the resume point after a gap). A part
    is checked whole before any of it is handed out, so a first part out of order can still
    fall back to gathering. Where a part falls in the output is counted in groups (`at`: this
    snapshot's before it; `out`: handed out so far), not in parts, so a snapshot sent again
    may be cut into parts differently. */
#include "lib/wire/final.h"
#include "lib/core/query.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HINT_MAX ((size_t) 1 << 26)   /* at most this many entries reserved from a part's say-so */

/*  A group kept across parts (its part is freed): key and count, all that the order reads. */
typedef struct {
    uint64_t count;
    uint32_t len;
    char key [TL_AGG_KEY_MAX];
} s_kept_t;

struct tl_final {
    bool gathering, whole, seen_done, ordered;
    char *job;                  /* gathering: the snapshot's job, seq, parts; the next part */
    uint64_t seq, parts, next;
    uint64_t ncells;
    tl_msg_t *msgs;             /* the parts taken, owned */
    size_t nmsgs, capmsgs;
    tl_agg_entry_t *groups;     /* every group taken, pointing into msgs */
    size_t n, cap;
    /* Streaming (tl_final_set_stream). */
    bool stream;                /* asked for */
    bool streaming;             /* this snapshot is handed out part by part */
    bool has_cur, ended;        /* cur holds the part handed out; it was the output's last */
    tl_msg_t cur;               /* owned until the next apply */
    size_t from;                /* cur.groups [from..] are the output's next groups */
    uint64_t at;                /* this snapshot's groups before the next part */
    bool begun;                 /* the output has begun: it can only go on where it stopped */
    bool resumed;               /* this snapshot goes on with an output begun before a gap */
    uint64_t out;               /* groups handed out since it began */
    char *out_job;              /* whose table the output is */
    bool has_prev;
    s_kept_t prev;              /* this snapshot's last group so far */
    s_kept_t last;              /* the last group handed out (out > 0) */
    char error [256];
};

tl_final_t *
tl_final_new (void)
{
    return calloc (1, sizeof (tl_final_t));
}

/*  Forget the snapshot being taken (not the output: a gap does not undo what was written). */
static void
s_reset (tl_final_t *self)
{
    for (size_t i = 0; i < self->nmsgs; i++)
        tl_msg_clear (&self->msgs [i]);
    self->nmsgs = 0;
    self->n = 0;
    free (self->job);
    self->job = NULL;
    self->gathering = self->whole = self->streaming = self->has_prev = false;
    self->at = 0;
}

/*  Drop the part handed out last; after the output's end, the output too (a later final
    table would be a new one). */
static void
s_drop_cur (tl_final_t *self)
{
    tl_msg_clear (&self->cur);
    self->has_cur = false;
    self->from = 0;
    if (self->ended) {
        self->ended = self->begun = false;
        self->out = 0;
        free (self->out_job);
        self->out_job = NULL;
    }
}

void
tl_final_destroy (tl_final_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_final_t *self = *self_p;
    s_reset (self);
    self->ended = true;
    s_drop_cur (self);
    free (self->msgs);
    free (self->groups);
    free (self);
    *self_p = NULL;
}

void
tl_final_set_stream (tl_final_t *self, bool stream)
{
    self->stream = stream;
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

static void
s_keep (s_kept_t *k, const tl_agg_entry_t *g)
{
    k->count = g->count;
    k->len = g->len;
    memcpy (k->key, g->key, g->len);
}

static tl_agg_entry_t
s_kept (const s_kept_t *k)
{
    return (tl_agg_entry_t) { .key = k->key, .len = k->len, .count = k->count };
}

/*  BAD, with the reason formatted, the snapshot forgotten. */
static tl_final_rc_t
s_bad (tl_final_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static tl_final_rc_t
s_bad (tl_final_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->error, sizeof self->error, fmt, ap);
    va_end (ap);
    s_reset (self);
    return TL_FINAL_BAD;
}

/*  The first group of m's that does not come strictly after the one before it (the part
    before's last for the first), or m->n_groups. */
static size_t
s_disorder (const tl_final_t *self, const tl_msg_t *m)
{
    tl_agg_entry_t prev = s_kept (&self->prev);
    for (size_t i = 0; i < m->n_groups; i++) {
        const tl_agg_entry_t *a = i ? &m->groups [i - 1] : self->has_prev ? &prev : NULL;
        if (a && !tl_agg_entry_before (a, &m->groups [i]))
            return i;
    }
    return m->n_groups;
}

/*  Why the output cannot go on past group i of m, which is out of order. */
static tl_final_rc_t
s_bad_order (tl_final_t *self, const tl_msg_t *m, size_t i)
{
    tl_agg_entry_t prev = s_kept (&self->prev);
    const tl_agg_entry_t *a = i ? &m->groups [i - 1] : &prev, *b = &m->groups [i];
    if (a->len == b->len && memcmp (a->key, b->key, a->len) == 0)
        return s_bad (self, "the final table was cut short at group %llu and the table names group '%.*s' twice",
                      (unsigned long long) self->out, (int) (b->len < 64 ? b->len : 64), b->key);
    return s_bad (self, "the final table was cut short at group %llu and the table%s is not in output order",
                  (unsigned long long) self->out, self->resumed ? " sent again" : "");
}

/*  Streaming: hand out part m (in order, checked) past what the output already has. After a
    gap the groups before the resume point are skipped, and the one just before it must be the
    last one handed out. */
static tl_final_rc_t
s_hand (tl_final_t *self, tl_msg_t *m, uint64_t part, uint64_t parts)
{
    size_t n = m->n_groups, from = 0;
    if (self->out > self->at) {
        uint64_t k = self->out - self->at;     /* this part's groups the output has */
        if (k <= n) {
            const tl_agg_entry_t *g = &m->groups [k - 1];
            if (g->count != self->last.count || g->len != self->last.len
                || memcmp (g->key, self->last.key, g->len) != 0)
                return s_bad (self, "the final table was cut short at group %llu and the table sent again "
                                    "differs there ('%.*s' %llu, not '%.*s' %llu)",
                              (unsigned long long) self->out, (int) (g->len < 64 ? g->len : 64), g->key,
                              (unsigned long long) g->count, (int) (self->last.len < 64 ? self->last.len : 64),
                              self->last.key, (unsigned long long) self->last.count);
            from = (size_t) k;
        }
        else
            from = n;
    }
    if (part == parts && self->at + n < self->out)
        return s_bad (self, "the final table was cut short at group %llu and the table sent again has only %llu groups",
                      (unsigned long long) self->out, (unsigned long long) (self->at + n));
    if (!self->begun && !(self->out_job = strdup (self->job)))
        return s_gap (self);
    if (n) {
        s_keep (&self->prev, &m->groups [n - 1]);
        self->has_prev = true;
    }
    if (n > from)
        s_keep (&self->last, &m->groups [n - 1]);
    self->at += n;
    self->out += n - from;
    self->begun = true;
    self->cur = *m;
    memset (m, 0, sizeof *m);
    self->has_cur = true;
    self->from = from;
    self->next++;
    if (part < parts)
        return TL_FINAL_STREAM;
    /* An empty table's parts decode without cells: its shape is the query's. */
    if (!self->at)
        self->ncells = tl_query_ncells (self->cur.col);
    self->cur.ncells = (size_t) self->ncells;
    self->gathering = false;
    self->ended = true;
    return TL_FINAL_END;
}

/*  Gather part m (kept whole, its groups appended). */
static tl_final_rc_t
s_gather (tl_final_t *self, tl_msg_t *m, uint64_t part, uint64_t parts)
{
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


/*  Take a part that belongs (part 1, or the next one of the snapshot being gathered). */
static tl_final_rc_t
s_take (tl_final_t *self, tl_msg_t *m, uint64_t part, uint64_t parts)
{
    size_t dis = 0;         /* part 1's first group out of order (streaming asked for) */
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
        self->resumed = self->begun;
        if (self->begun && strcmp (self->job, self->out_job) != 0)
            return s_bad (self, "the final table was cut short at group %llu and the next one is another job's "
                                "('%.64s', not '%.64s')", (unsigned long long) self->out, self->job, self->out_job);
        /* Streamed if its first part is in order and the job ended ok; else gathered and
           sorted (an older reducer; a failed job's table goes out unsorted), which an output
           begun cannot be. */
        if (self->stream) {
            dis = s_disorder (self, m);
            self->streaming = m->ok && dis == m->n_groups;
            if (self->begun && dis < m->n_groups)
                return s_bad_order (self, m, dis);
            if (self->begun && !m->ok)
                return s_bad (self, "the final table was cut short at group %llu and the table sent again is "
                                    "of a job that failed", (unsigned long long) self->out);
        }
    }
    if (m->n_groups && m->ncells != self->ncells)
        return s_bad (self, "the final table's parts disagree on the value cells (%llu, %llu)",
                      (unsigned long long) self->ncells, (unsigned long long) m->ncells);
    if (self->streaming) {
        for (size_t i = 0; i < m->n_groups; i++)
            if (m->groups [i].len > TL_AGG_KEY_MAX)     /* the codec refuses them: not kept */
                return s_bad (self, "the final table has a key longer than %d bytes", TL_AGG_KEY_MAX);
        size_t i = part == 1 ? dis : s_disorder (self, m);
        return i < m->n_groups ? s_bad_order (self, m, i) : s_hand (self, m, part, parts);
    }
    return s_gather (self, m, part, parts);
}

tl_final_rc_t
tl_final_apply (tl_final_t *self, tl_msg_t *m)
{
    tl_final_rc_t rc = TL_FINAL_IGNORED;
    s_drop_cur (self);
    if (m->type == TL_MSG_UPDATE) {
        uint64_t part, parts;
        bool delta = tl_update_where (m, &part, &parts);
        const char *job = m->job ? m->job : "";
        if (m->done)
            self->seen_done = true;
        if (self->gathering && (delta || m->seq != self->seq || part != self->next || parts != self->parts
                                || strcmp (job, self->job) != 0))
            rc = s_gap (self);  /* not the next part; it may still start a snapshot below */
        if (self->begun && !self->gathering && *job && strcmp (job, self->out_job) != 0)
            /* The output waits for its job's table again, and the reducer has gone on. */
            rc = s_bad (self, "the final table was cut short at group %llu and the reducer has gone on to job '%.64s' "
                              "(from '%.64s')", (unsigned long long) self->out, job, self->out_job);
        else if (!delta && m->done && part >= 1 && part <= parts && (part == 1 || self->gathering))
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
    if (self->ended)
        return &self->cur;
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

const tl_msg_t *
tl_final_part (const tl_final_t *self, const tl_agg_entry_t **groups, size_t *n)
{
    *groups = self->has_cur && self->cur.groups ? self->cur.groups + self->from : NULL;
    *n = self->has_cur ? self->cur.n_groups - self->from : 0;
    return self->has_cur ? &self->cur : NULL;
}

uint64_t
tl_final_written (const tl_final_t *self)
{
    return self->out;
}

bool
tl_final_begun (const tl_final_t *self)
{
    return self->begun;
}
