/*  pqrows.c — see pqrows.h.

    A batch is worked column by column, then row by row: each filter narrows a pass mask
    (per dictionary entry through a table, per plain number through tl_query_where_num, else
    through the text), each aggregate fills a row's number and whether it is one, then the
    rows that pass build their key and land in the table. A run of rows with one key (sorted
    data, or a day of timestamps) costs one lookup. Everything that decides a row's fate is
    tl_query_*'s rule applied to the canonical text, or a typed shortcut that provably gives
    the same double that text would read as (s_typed). */
#include "lib/core/pqrows.h"
#include "lib/core/query.h"
#include "lib/core/parquet/value.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*  How a leaf's plain values become numbers without their text. */
enum { S_TEXT, S_I32, S_U32, S_I64, S_U64, S_F64, S_DEC32, S_DEC64 };

typedef struct {
    const tl_pq_column_t *col;
    int num;                    /* S_* */
    uint64_t gen;               /* the dictionary whose texts are below */
    uint64_t epoch;             /* ... and its number among all dictionaries this query saw */
    const char **dtext;
    uint32_t *dlen;
    size_t *doff;
    size_t dcap;
    char *arena;                /* texts of non-string dictionary values */
    size_t acap, used;
    char buf [TL_PQ_TEXT_MAX];
} s_leaf_t;

/*  A filter or an aggregate: one use of a leaf. */
typedef struct {
    int leaf;
    const tl_qwhere_t *w;       /* the filter, or NULL for an aggregate */
    const tl_qcol_t *c;         /* its column and slice */
    int cell;                   /* aggregates: the value cell */
    bool typed;                 /* plain values may skip their text */
    uint64_t gen;               /* the dictionary the tables are for */
    uint8_t *dok;               /* per entry: passes (filter) / is a number (aggregate) */
    double *dnum;               /* per entry: its number (aggregate) */
    size_t dcap;
    bool null_ok;               /* does NULL (the empty text) pass? (filters) */
    uint8_t *ok;                /* per row of the batch (aggregates) */
    double *num;
} s_use_t;

/*  A part of the group key. */
typedef struct {
    int leaf;
    const tl_qcol_t *c;
    bool day;                   /* a TIMESTAMP sliced within its date: texted once per day */
    bool raw;                   /* fixed-width plain values: texted once per run of one value */
    int64_t per_day;
    bool have;
    uint64_t last;              /* the day, or the value's bits, that text is for */
    char text [TL_PQ_TEXT_MAX];
    size_t tlen;
} s_by_t;

/*  A recent group of a one-part key, found by the value's identity instead of its text: a
    day, a value's bits, or a dictionary entry. Rows add to pending; the table sees the group
    once per stay in the cache. */
#define S_CBITS 10
#define S_CKEY 64
typedef struct {
    uint64_t id, kind;          /* kind: 0 a value or day, 1 NULL, 2 + epoch a dictionary's entry */
    bool used;
    uint64_t pending;
    tl_cell_t *cells;
    uint32_t len;
    char key [S_CKEY];
} s_slot_t;

struct tl_pqrows {
    const tl_pqquery_t *pq;
    tl_agg_t *agg;
    int nleaf;
    s_leaf_t leaf [TL_PQ_MAX_NEEDED];
    s_use_t where [TL_QUERY_MAX_WHERE];
    s_use_t aggs [TL_QUERY_MAX_AGG];
    int naggs;
    s_by_t by [TL_QUERY_MAX_BY];
    uint8_t *pass;
    size_t cap;                 /* rows the per-row arrays hold */
    char key [TL_AGG_KEY_MAX + 1];
    char last [TL_AGG_KEY_MAX + 1];
    size_t lastlen;
    bool have_last;
    uint64_t pending;           /* rows of the last key not yet added to agg */
    tl_cell_t *cells;           /* the last key's cells */
    s_slot_t *cache;            /* one-part keys: 1 << S_CBITS recent groups */
    uint64_t epochs;
    tl_qstats_t qs;
};

static int
s_leaf_of (const tl_pqquery_t *pq, int col)
{
    for (int j = 0; j < pq->ncols; j++)
        if (pq->cols [j] == col)
            return j;
    return 0;   /* resolve put every used column in cols */
}

static int
s_num_kind (const tl_pq_column_t *c)
{
    bool plain = c->logical == TL_PQ_LT_NONE, ints = plain || c->logical == TL_PQ_LT_INT;
    bool uns = c->logical == TL_PQ_LT_INT && !c->is_signed;
    bool dec = c->logical == TL_PQ_LT_DECIMAL && c->scale >= 0 && c->scale <= 22;
    switch (c->type) {
        case TL_PQ_INT32: return ints ? (uns ? S_U32 : S_I32) : dec ? S_DEC32 : S_TEXT;
        case TL_PQ_INT64: return ints ? (uns ? S_U64 : S_I64) : dec ? S_DEC64 : S_TEXT;
        case TL_PQ_DOUBLE: return plain ? S_F64 : S_TEXT;
        default: return S_TEXT;     /* FLOAT's text is its shortest float form, not its double */
    }
}

static bool
s_whole (const tl_qcol_t *c)
{
    return c->from == 0 && c->to == UINT32_MAX;
}

/*  Value i as the very double tl_query_parse_num reads from its text: true with *d, false
    when only the text can tell. Integers: the text is their digits, which strtod rounds to
    the same double as the conversion. DOUBLE: the text reads back to the value (-0 as 0;
    NaN and inf have texts that are not numbers). DECIMAL: the text is its digits with the
    point, which tl_query_parse_num reads as digits / 10^scale when the digits fit 2^52. */
static bool
s_typed (int kind, int scale, const tl_pq_values_t *v, size_t i, double *d)
{
    static const double pow10 [] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    int64_t x;
    switch (kind) {
        case S_I32: *d = v->i32 [i]; return true;
        case S_U32: *d = (uint32_t) v->i32 [i]; return true;
        case S_I64: *d = (double) v->i64 [i]; return true;
        case S_U64: *d = (double) (uint64_t) v->i64 [i]; return true;
        case S_F64:
            if (!isfinite (v->f64 [i]))
                return false;
            *d = v->f64 [i] + 0.0;
            return true;
        case S_DEC32: x = v->i32 [i]; break;
        case S_DEC64: x = v->i64 [i]; break;
        default: return false;
    }
    uint64_t m = x < 0 ? (uint64_t) 0 - (uint64_t) x : (uint64_t) x;
    if (m >= (uint64_t) 1 << 52)
        return false;
    double q = (double) m / pow10 [scale];
    *d = x < 0 ? -q : q;
    return true;
}

tl_pqrows_t *
tl_pqrows_new (const tl_pqquery_t *pq, const tl_pq_meta_t *m, tl_agg_t *agg)
{
    tl_pqrows_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    const tl_query_t *q = &pq->q;
    self->pq = pq;
    self->agg = agg;
    self->nleaf = pq->ncols;
    for (int j = 0; j < pq->ncols; j++) {
        self->leaf [j].col = &m->cols [pq->cols [j]];
        self->leaf [j].num = s_num_kind (self->leaf [j].col);
    }
    for (int i = 0; i < q->nwhere; i++) {
        s_use_t *u = &self->where [i];
        u->w = &q->where [i];
        u->c = &u->w->col;
        u->leaf = s_leaf_of (pq, u->c->col);
        u->typed = u->w->numeric && s_whole (u->c) && self->leaf [u->leaf].num != S_TEXT;
        u->null_ok = tl_query_where_text (u->w, "", 0);
    }
    for (int i = 0; i < q->naggs; i++) {
        if (q->aggs [i].cell < 0)
            continue;
        s_use_t *u = &self->aggs [self->naggs++];
        u->c = &q->aggs [i].col;
        u->cell = q->aggs [i].cell;
        u->leaf = s_leaf_of (pq, u->c->col);
        u->typed = s_whole (u->c) && self->leaf [u->leaf].num != S_TEXT;
    }
    for (int i = 0; i < q->nby; i++) {
        s_by_t *p = &self->by [i];
        p->c = &q->by [i];
        p->leaf = s_leaf_of (pq, p->c->col);
        const tl_pq_column_t *c = self->leaf [p->leaf].col;
        if (c->type == TL_PQ_INT64 && c->logical == TL_PQ_LT_TIMESTAMP && p->c->to <= 10 && c->unit <= 2) {
            static const int64_t per_sec [3] = { 1000, 1000000, 1000000000 };
            p->day = true;
            p->per_day = per_sec [c->unit] * 86400;
        }
        else
            p->raw = c->type == TL_PQ_INT32 || c->type == TL_PQ_INT64 || c->type == TL_PQ_FLOAT
                     || c->type == TL_PQ_DOUBLE;
    }
    if (q->nby == 1 && !(self->cache = calloc ((size_t) 1 << S_CBITS, sizeof *self->cache)))
        tl_pqrows_destroy (&self);
    return self;
}

void
tl_pqrows_destroy (tl_pqrows_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_pqrows_t *self = *self_p;
    for (int j = 0; j < TL_PQ_MAX_NEEDED; j++) {
        free (self->leaf [j].dtext);
        free (self->leaf [j].dlen);
        free (self->leaf [j].doff);
        free (self->leaf [j].arena);
    }
    for (int i = 0; i < TL_QUERY_MAX_WHERE; i++) {
        free (self->where [i].dok);
        free (self->where [i].dnum);
    }
    for (int i = 0; i < TL_QUERY_MAX_AGG; i++) {
        free (self->aggs [i].dok);
        free (self->aggs [i].dnum);
        free (self->aggs [i].ok);
        free (self->aggs [i].num);
    }
    free (self->pass);
    free (self->cache);
    free (self);
    *self_p = NULL;
}

/*  A leaf's new dictionary: its entries' texts are made when first asked for (a timestamp
    column's dictionary can hold an entry per row, and a date slice needs few of them).
    Strings are borrowed from the dictionary; other texts go to the arena by offset (it may
    move while it fills). */
#define S_UNSET UINT32_MAX
static int
s_leaf_dict (tl_pqrows_t *self, s_leaf_t *l, const tl_pq_batch_t *b)
{
    size_t n = b->dict->n;
    l->epoch = ++self->epochs;
    if (n > l->dcap || !l->dtext) {
        free (l->dtext);
        free (l->dlen);
        free (l->doff);
        l->dtext = malloc ((n + 1) * sizeof *l->dtext);
        l->dlen = malloc ((n + 1) * sizeof *l->dlen);
        l->doff = malloc ((n + 1) * sizeof *l->doff);
        l->dcap = l->dtext && l->dlen && l->doff ? n : 0;
        if (!l->dcap && n)
            return TL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        l->dlen [i] = S_UNSET;
    l->used = 0;
    l->gen = b->dict_gen;
    return 0;
}

/*  Entry x's text. */
static int
s_dtext (s_leaf_t *l, const tl_pq_values_t *dict, uint32_t x, const char **t, size_t *n)
{
    if (l->dlen [x] == S_UNSET) {
        const char *s;
        size_t len = tl_pq_value_text (l->col, dict, x, l->buf, &s);
        l->dtext [x] = s;
        l->doff [x] = SIZE_MAX;
        if (s == l->buf) {
            if (l->used + len > l->acap) {
                size_t cap = (l->used + len) * 2 + 4096;
                char *a = realloc (l->arena, cap);
                if (!a)
                    return TL_ENOMEM;
                l->arena = a;
                l->acap = cap;
            }
            memcpy (l->arena + l->used, l->buf, len);
            l->doff [x] = l->used;
            l->used += len;
        }
        l->dlen [x] = (uint32_t) len;
    }
    *t = l->doff [x] != SIZE_MAX ? l->arena + l->doff [x] : l->dtext [x];
    *n = l->dlen [x];
    return 0;
}

/*  A use's tables for the batch's dictionary, filled as entries are met: 2 is not yet known. */
static int
s_use_dict (tl_pqrows_t *self, s_use_t *u, const tl_pq_batch_t *b)
{
    s_leaf_t *l = &self->leaf [u->leaf];
    if (l->gen != b->dict_gen && s_leaf_dict (self, l, b))
        return TL_ENOMEM;
    size_t n = b->dict->n;
    if (n > u->dcap || !u->dok) {
        free (u->dok);
        free (u->dnum);
        u->dok = malloc (n + 1);
        u->dnum = malloc ((n + 1) * sizeof *u->dnum);
        u->dcap = u->dok && u->dnum ? n : 0;
        if (!u->dcap && n)
            return TL_ENOMEM;
    }
    memset (u->dok, 2, n);
    u->gen = b->dict_gen;
    return 0;
}

/*  Entry x for use u: passes (a filter) or is a number (an aggregate, with u->dnum [x]). */
static int
s_use_entry (tl_pqrows_t *self, s_use_t *u, const tl_pq_values_t *dict, uint32_t x, uint8_t *ok)
{
    if (u->dok [x] == 2) {
        const char *t;
        size_t n;
        if (s_dtext (&self->leaf [u->leaf], dict, x, &t, &n))
            return TL_ENOMEM;
        u->dnum [x] = 0;
        u->dok [x] = u->w ? tl_query_where_text (u->w, t, n) : (uint8_t) tl_query_value_num (u->c, t, n, &u->dnum [x]);
    }
    *ok = u->dok [x];
    return 0;
}

/*  Filter u narrows pass over the batch's k rows. */
static int
s_filter (tl_pqrows_t *self, s_use_t *u, const tl_pq_batch_t *b, size_t k)
{
    uint8_t *pass = self->pass;
    s_leaf_t *l = &self->leaf [u->leaf];
    if (b->kind == TL_PQ_BATCH_INDICES) {
        if (u->gen != b->dict_gen && s_use_dict (self, u, b))
            return TL_ENOMEM;
        size_t n = b->dict->n;
        for (size_t r = 0; r < k; r++) {
            uint32_t x = b->idx [r];
            uint8_t ok = u->null_ok;
            if (pass [r] && x < n && s_use_entry (self, u, b->dict, x, &ok))
                return TL_ENOMEM;
            pass [r] &= ok;
        }
        return 0;
    }
    for (size_t r = 0; r < k; r++) {
        if (!pass [r])
            continue;
        double d;
        if (b->valid && !b->valid [r])
            pass [r] = u->null_ok;
        else if (u->typed && s_typed (l->num, l->col->scale, &b->vals, r, &d))
            pass [r] = tl_query_where_num (u->w, d);
        else {
            const char *t;
            size_t len = tl_pq_value_text (l->col, &b->vals, r, l->buf, &t);
            pass [r] = tl_query_where_text (u->w, t, len);
        }
    }
    return 0;
}

/*  Aggregate u's number for every row that passes. */
static int
s_numbers (tl_pqrows_t *self, s_use_t *u, const tl_pq_batch_t *b, size_t k)
{
    const uint8_t *pass = self->pass;
    s_leaf_t *l = &self->leaf [u->leaf];
    if (b->kind == TL_PQ_BATCH_INDICES) {
        if (u->gen != b->dict_gen && s_use_dict (self, u, b))
            return TL_ENOMEM;
        size_t n = b->dict->n;
        for (size_t r = 0; r < k; r++) {
            uint32_t x = b->idx [r];
            u->ok [r] = 0;
            if (!pass [r] || x >= n)
                continue;
            if (s_use_entry (self, u, b->dict, x, &u->ok [r]))
                return TL_ENOMEM;
            u->num [r] = u->dnum [x];
        }
        return 0;
    }
    for (size_t r = 0; r < k; r++) {
        u->ok [r] = 0;
        if (!pass [r] || (b->valid && !b->valid [r]))
            continue;       /* NULL is the empty text: not a number */
        if (u->typed && s_typed (l->num, l->col->scale, &b->vals, r, &u->num [r]))
            u->ok [r] = 1;
        else {
            const char *t;
            size_t len = tl_pq_value_text (l->col, &b->vals, r, l->buf, &t);
            u->ok [r] = (uint8_t) tl_query_value_num (u->c, t, len, &u->num [r]);
        }
    }
    return 0;
}

static uint64_t
s_bits (const tl_pq_values_t *v, size_t i)
{
    switch (v->type) {
        case TL_PQ_INT32: return (uint32_t) v->i32 [i];
        case TL_PQ_FLOAT: { uint32_t u; memcpy (&u, &v->f32 [i], 4); return u; }
        case TL_PQ_DOUBLE: { uint64_t u; memcpy (&u, &v->f64 [i], 8); return u; }
        default: return (uint64_t) v->i64 [i];
    }
}

/*  Row r's text for key part p (its slice applied). 0 or TL_ENOMEM. */
static int
s_part (tl_pqrows_t *self, s_by_t *p, const tl_pq_batch_t *b, size_t r, const char **t, size_t *n)
{
    s_leaf_t *l = &self->leaf [p->leaf];
    if (b->kind == TL_PQ_BATCH_INDICES) {
        uint32_t x = b->idx [r];
        if (x >= b->dict->n) {
            *t = "";
            *n = 0;
            return 0;
        }
        if (s_dtext (l, b->dict, x, t, n))
            return TL_ENOMEM;
    }
    else if (b->valid && !b->valid [r]) {
        *t = "";
        *n = 0;
        return 0;
    }
    else if (p->day) {
        int64_t v = b->vals.i64 [r], day = v / p->per_day;
        day -= (v % p->per_day) < 0;
        if (!p->have || (uint64_t) day != p->last) {
            p->tlen = tl_pq_text_date (day, p->text);
            p->last = (uint64_t) day;
            p->have = true;
        }
        if (p->tlen == 10) {        /* years 0-9999: the timestamp's text starts with it */
            *t = p->text;
            *n = 10;
        }
        else
            *n = tl_pq_value_text (l->col, &b->vals, r, l->buf, t);
    }
    else if (p->raw) {
        uint64_t bits = s_bits (&b->vals, r);
        if (!p->have || bits != p->last) {
            const char *s;
            p->tlen = tl_pq_value_text (l->col, &b->vals, r, p->text, &s);
            if (s != p->text)
                memmove (p->text, s, p->tlen);
            p->last = bits;
            p->have = true;
        }
        *t = p->text;
        *n = p->tlen;
    }
    else
        *n = tl_pq_value_text (l->col, &b->vals, r, l->buf, t);
    tl_field_t f = tl_query_slice (p->c, (tl_field_t) { *t, *n });
    *t = f.p;
    *n = f.n;
    return 0;
}

void
tl_pqrows_rowgroup (tl_pqrows_t *self)
{
    for (int j = 0; j < TL_PQ_MAX_NEEDED; j++)
        self->leaf [j].gen = 0;
    for (int i = 0; i < TL_QUERY_MAX_WHERE; i++)
        self->where [i].gen = 0;
    for (int i = 0; i < TL_QUERY_MAX_AGG; i++)
        self->aggs [i].gen = 0;
}

/*  Row r's identity for a one-part key: a value whose text, and so whose group, it decides.
    false when only the text can tell (strings of plain pages, dates past year 9999). */
/*  The identity of value i of v for part p: its day, or its bits. */
static bool
s_ident_value (const s_by_t *p, const tl_pq_values_t *v, size_t i, uint64_t *id)
{
    if (p->day) {
        int64_t x = v->i64 [i], day = x / p->per_day;
        day -= (x % p->per_day) < 0;
        *id = (uint64_t) day;
        return day >= -719528 && day <= 2932896;    /* 0000-01-01 .. 9999-12-31: a 10-byte date */
    }
    if (p->raw) {
        *id = s_bits (v, i);
        return true;
    }
    return false;
}

static bool
s_ident (tl_pqrows_t *self, const s_by_t *p, const tl_pq_batch_t *b, size_t r, uint64_t *id, uint64_t *kind)
{
    const s_leaf_t *l = &self->leaf [p->leaf];
    bool null = b->kind == TL_PQ_BATCH_INDICES ? b->idx [r] >= b->dict->n : b->valid && !b->valid [r];
    if (null) {
        *id = 0;
        *kind = 1;
        return true;
    }
    *kind = 0;
    if (b->kind != TL_PQ_BATCH_INDICES)
        return s_ident_value (p, &b->vals, r, id);
    if (p->day || p->raw)       /* a dictionary's entry is known by its value, like a plain one */
        return s_ident_value (p, b->dict, b->idx [r], id);
    *id = b->idx [r];
    *kind = 2 + l->epoch;
    return true;
}

static int
s_evict (tl_pqrows_t *self, s_slot_t *s)
{
    int rc = 0;
    if (s->used && s->pending)
        rc = tl_agg_add (self->agg, s->key, s->len, s->pending);
    s->used = false;
    s->pending = 0;
    return rc;
}

/*  Row r of a one-part key through the cache: its group's cells (NULL without cells), or
    *uncached when the caller must take the general path. */
static int
s_cached (tl_pqrows_t *self, const tl_pq_batch_t *b, size_t r, bool *uncached, tl_cell_t **cells)
{
    const tl_query_t *q = &self->pq->q;
    s_by_t *p = &self->by [0];
    const tl_pq_batch_t *bb = &b [p->leaf];
    uint64_t id, kind;
    *uncached = !s_ident (self, p, bb, r, &id, &kind);
    if (*uncached)
        return 0;
    s_slot_t *s = &self->cache [((id ^ (kind << 40)) * 0x9E3779B97F4A7C15ULL) >> (64 - S_CBITS)];
    if (s->used && s->id == id && s->kind == kind) {
        s->pending++;
        *cells = s->cells;
        return 0;
    }
    const char *t;
    size_t n;
    int rc = s_part (self, p, bb, r, &t, &n);
    if (rc)
        return rc;
    if (n > S_CKEY) {
        *uncached = true;
        return 0;
    }
    if ((rc = s_evict (self, s)) != 0)
        return rc;
    memcpy (s->key, t, n);
    s->len = (uint32_t) n;
    s->id = id;
    s->kind = kind;
    s->used = true;
    s->pending = 1;
    s->cells = NULL;
    if (q->nvals) {
        s->cells = tl_agg_upsert (self->agg, s->key, n, 1, &rc);
        s->pending = 0;
    }
    *cells = s->cells;
    return rc;
}

int
tl_pqrows_flush (tl_pqrows_t *self, tl_err_t *e)
{
    int rc = 0;
    for (size_t i = 0; self->cache && i < (size_t) 1 << S_CBITS && !rc; i++)
        rc = s_evict (self, &self->cache [i]);
    if (!rc && self->pending)
        rc = tl_agg_add (self->agg, self->last, self->lastlen, self->pending);
    self->pending = 0;
    return rc ? tl_err_set (e, rc, 0, "out of memory for the group table") : 0;
}

/*  Row r's numbers into its group's cells, in row order as tl_query_row adds them. */
static void
s_cells (tl_pqrows_t *self, tl_cell_t *cells, size_t r)
{
    if (!cells)
        return;
    for (int i = 0; i < self->naggs; i++) {
        const s_use_t *u = &self->aggs [i];
        tl_cell_t *c = &cells [u->cell];
        if (!u->ok [r]) {
            c->bad++;
            continue;
        }
        double d = u->num [r];
        c->n++;
        c->sum += d;
        if (d < c->min)
            c->min = d;
        if (d > c->max)
            c->max = d;
    }
}

static int
s_grow (tl_pqrows_t *self, size_t k)
{
    if (k <= self->cap)
        return 0;
    free (self->pass);
    if (!(self->pass = malloc (k)))
        return TL_ENOMEM;
    for (int i = 0; i < self->naggs; i++) {
        s_use_t *u = &self->aggs [i];
        free (u->ok);
        free (u->num);
        u->ok = malloc (k);
        u->num = malloc (k * sizeof *u->num);
        if (!u->ok || !u->num)
            return TL_ENOMEM;
    }
    self->cap = k;
    return 0;
}

int
tl_pqrows_add (tl_pqrows_t *self, const tl_pq_batch_t *b, size_t k, tl_err_t *e)
{
    const tl_query_t *q = &self->pq->q;
    int rc = s_grow (self, k);
    if (rc) {
        self->cap = 0;
        return tl_err_set (e, rc, 0, "out of memory for a batch of %zu rows", k);
    }
    memset (self->pass, 1, k);
    for (int i = 0; i < q->nwhere && !rc; i++)
        rc = s_filter (self, &self->where [i], &b [self->where [i].leaf], k);
    for (int i = 0; i < self->naggs && !rc; i++)
        rc = s_numbers (self, &self->aggs [i], &b [self->aggs [i].leaf], k);
    for (int i = 0; i < q->nby && !rc; i++) {
        const tl_pq_batch_t *bb = &b [self->by [i].leaf];
        s_leaf_t *l = &self->leaf [self->by [i].leaf];
        if (bb->kind == TL_PQ_BATCH_INDICES && bb->dict_gen != l->gen)
            rc = s_leaf_dict (self, l, bb);
    }
    if (rc)
        return tl_err_set (e, rc, 0, "out of memory for a dictionary's texts");
    for (size_t r = 0; r < k; r++) {
        if (!self->pass [r]) {
            self->qs.filtered++;
            continue;
        }
        if (self->cache) {
            bool uncached;
            tl_cell_t *cells = NULL;
            if ((rc = s_cached (self, b, r, &uncached, &cells)) != 0)
                return tl_err_set (e, rc, 0, "out of memory for the group table");
            if (!uncached) {
                self->qs.rows++;
                s_cells (self, cells, r);
                continue;
            }
        }
        size_t len = 0;
        bool bad = false;
        for (int i = 0; i < q->nby && !bad; i++) {
            const char *t;
            size_t n;
            if ((rc = s_part (self, &self->by [i], &b [self->by [i].leaf], r, &t, &n)) != 0)
                return tl_err_set (e, rc, 0, "out of memory for a dictionary's texts");
            if (tl_query_part_bad (q, len, i, t, n, true)) {
                bad = true;
                break;
            }
            if (i)
                self->key [len++] = TL_QUERY_KEY_SEP;
            memcpy (self->key + len, t, n);
            len += n;
        }
        if (bad) {
            self->qs.bad++;
            continue;
        }
        if (self->have_last && len == self->lastlen && memcmp (self->key, self->last, len) == 0)
            self->pending++;
        else {
            if ((rc = tl_pqrows_flush (self, e)) != 0)
                return rc;
            if (q->nvals) {
                self->cells = tl_agg_upsert (self->agg, self->key, len, 1, &rc);
                if (rc)
                    return tl_err_set (e, rc, 0, "out of memory for the group table");
            }
            else
                self->pending = 1;
            memcpy (self->last, self->key, len);
            self->lastlen = len;
            self->have_last = true;
        }
        self->qs.rows++;
        s_cells (self, q->nvals ? self->cells : NULL, r);
    }
    return 0;
}

tl_qstats_t
tl_pqrows_stats (const tl_pqrows_t *self)
{
    return self->qs;
}
