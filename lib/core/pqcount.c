/*  pqcount.c — counting a Parquet row group's decoded chunks into the aggregator (see
    pqcount.h). */
#include "lib/core/pqcount.h"
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/value.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- counting */

/*  One needed leaf: its reader, kept across row groups, and (query mode) the texts of its
    current dictionary. */
typedef struct {
    const tl_pq_column_t *col;
    tl_pq_col_t *rd;
    uint64_t gen;               /* dictionary the texts below belong to */
    const char **dtext;
    uint32_t *dlen;
    size_t *doff;
    size_t dcap;
    char *arena;                /* texts of non-string dictionary values */
    size_t acap;
    tl_pq_batch_t b;
    char buf [TL_PQ_TEXT_MAX];
} s_leaf_t;

struct tl_pqcount {
    const tl_pqquery_t *pq;
    const tl_pq_meta_t *m;
    tl_agg_t *agg;
    size_t max_page;
    s_leaf_t leaf [TL_PQ_MAX_NEEDED];
    tl_field_t *fields;         /* query mode: one per leaf up to maxcol */
    int nfields;
    /* plain mode */
    uint64_t *dcount;           /* per dictionary index */
    size_t dcount_n;
    const tl_pq_values_t *dict;
    uint64_t dict_gen;
    uint64_t nulls;
    tl_agg_t *raw;              /* plain pages: raw value bytes -> count */
    tl_qstats_t qs;             /* query mode */
    tl_pqcount_stats_t st;      /* plain mode: rows and bad; skipped always */
    uint64_t skipped_rows;      /* rows of row groups skipped by their statistics */
};

tl_pqcount_t *
tl_pqcount_new (const tl_pqquery_t *pq, const tl_pq_meta_t *m, tl_agg_t *agg, size_t max_page)
{
    tl_pqcount_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->pq = pq;
    self->m = m;
    self->agg = agg;
    self->max_page = max_page;
    for (int i = 0; i < pq->ncols; i++)
        self->leaf [i].col = &m->cols [pq->cols [i]];
    self->nfields = pq->q.maxcol + 1;
    if (!(self->fields = calloc ((size_t) self->nfields, sizeof *self->fields)) || !(self->raw = tl_agg_new ()))
        tl_pqcount_destroy (&self);
    return self;
}

void
tl_pqcount_destroy (tl_pqcount_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_pqcount_t *self = *self_p;
    for (int i = 0; i < TL_PQ_MAX_NEEDED; i++) {
        tl_pq_col_destroy (&self->leaf [i].rd);
        free (self->leaf [i].dtext);
        free (self->leaf [i].dlen);
        free (self->leaf [i].doff);
        free (self->leaf [i].arena);
    }
    free (self->fields);
    free (self->dcount);
    tl_agg_destroy (&self->raw);
    free (self);
    *self_p = NULL;
}

/*  A key into the table; too long a key makes its rows bad, as in CSV. */
static int
s_add (tl_pqcount_t *self, const char *key, size_t len, uint64_t n)
{
    int rc = tl_agg_add (self->agg, key, len, n);
    if (rc == TL_EINVAL) {
        self->st.bad += n;
        return 0;
    }
    if (rc == 0)
        self->st.rows += n;
    return rc;
}

/*  Dictionary counts into the table, texted once per index seen. */
static int
s_flush_dict (tl_pqcount_t *self)
{
    const tl_pq_column_t *col = self->leaf [0].col;
    char buf [TL_PQ_TEXT_MAX];
    int rc = 0;
    for (size_t i = 0; i < self->dcount_n && self->dict && !rc; i++)
        if (self->dcount [i]) {
            const char *t;
            size_t n = tl_pq_value_text (col, self->dict, i, buf, &t);
            rc = s_add (self, t, n, self->dcount [i]);
            self->dcount [i] = 0;
        }
    if (self->nulls && !rc) {
        rc = s_add (self, "", 0, self->nulls);
        self->nulls = 0;
    }
    return rc;
}

static int
s_new_dict (tl_pqcount_t *self, const tl_pq_batch_t *b)
{
    int rc = s_flush_dict (self);
    if (rc)
        return rc;
    self->dict = b->dict;
    self->dict_gen = b->dict_gen;
    if (b->dict->n + 1 > self->dcount_n || !self->dcount) {
        free (self->dcount);
        self->dcount_n = b->dict->n + 1;
        if (!(self->dcount = calloc (self->dcount_n, sizeof *self->dcount)))
            return TL_ENOMEM;
    }
    else
        memset (self->dcount, 0, self->dcount_n * sizeof *self->dcount);
    self->dcount_n = b->dict->n;
    return 0;
}

/*  The raw bytes of value i (plain pages), as the raw table's key. */
static void
s_raw_key (const tl_pq_values_t *v, size_t i, const void **p, size_t *n)
{
    if (v->type == TL_PQ_BYTE_ARRAY) {
        *p = v->ba [i].p;
        *n = v->ba [i].len;
        return;
    }
    const uint8_t *base = v->fixed ? v->fixed : v->i32 ? (const void *) v->i32 : v->i64 ? (const void *) v->i64
                          : v->f32 ? (const void *) v->f32 : (const void *) v->f64;
    *p = base + i * v->width;
    *n = v->width;
}

/*  The plain count of one column: runs of dictionary indices, or raw values. */
static int
s_count_plain (tl_pqcount_t *self, const tl_pq_batch_t *b)
{
    if (b->kind != TL_PQ_BATCH_VALUES && b->dict_gen != self->dict_gen) {
        int rc = s_new_dict (self, b);
        if (rc)
            return rc;
    }
    uint64_t *c = self->dcount;
    size_t nd = self->dcount_n;
    if (b->kind == TL_PQ_BATCH_RUNS) {
        const uint32_t *lit = b->idx;
        for (size_t r = 0; r < b->nruns; r++) {
            uint32_t ix = b->runs [r].index, len = b->runs [r].len;
            if (ix == TL_PQ_NULL_INDEX)
                self->nulls += len;
            else if (ix == TL_PQ_LIT_INDEX) {
                for (uint32_t j = 0; j < len; j++) {
                    uint32_t x = lit [j];
                    if (x < nd)
                        c [x]++;
                    else
                        self->nulls++;  /* the reader checks indices; only NULL is left */
                }
                lit += len;
            }
            else if (ix < nd)
                c [ix] += len;
            else
                self->nulls += len;
        }
    }
    else if (b->kind == TL_PQ_BATCH_INDICES) {
        for (size_t i = 0; i < b->rows; i++) {
            if (b->idx [i] < nd)
                c [b->idx [i]]++;
            else
                self->nulls++;
        }
    }
    else {
        for (size_t i = 0; i < b->rows; i++) {
            if (b->valid && !b->valid [i]) {
                self->nulls++;
                continue;
            }
            const void *p;
            size_t n;
            s_raw_key (&b->vals, i, &p, &n);
            int rc = tl_agg_add (self->raw, p, n, 1);
            if (rc == TL_EINVAL)
                self->st.bad++;     /* over TL_AGG_KEY_MAX bytes: so is its text */
            else if (rc)
                return rc;
        }
    }
    return 0;
}

/*  Raw values into the table as texts. */
static int
s_flush_raw (tl_pqcount_t *self)
{
    if (!self->pq->ncols)
        return 0;
    const tl_pq_column_t *col = self->leaf [0].col;
    size_t pos = 0;
    tl_agg_entry_t en;
    char buf [TL_PQ_TEXT_MAX];
    int rc = 0;
    while (!rc && tl_agg_next (self->raw, &pos, &en)) {
        tl_pq_values_t v;
        tl_pq_bytes_t ba = { (const uint8_t *) en.key, en.len };
        uint64_t aligned [TL_AGG_KEY_MAX / 8 + 1];     /* the table's keys are not aligned */
        if (col->type == TL_PQ_BYTE_ARRAY)
            tl_pq_values_set (&v, col->type, 0, &ba, 1);
        else {
            memcpy (aligned, en.key, en.len);
            tl_pq_values_set (&v, col->type, en.len, aligned, 1);
        }
        const char *t;
        size_t n = tl_pq_value_text (col, &v, 0, buf, &t);
        rc = s_add (self, t, n, en.count);
    }
    tl_agg_clear (self->raw);
    return rc;
}

/*  Query mode: the texts of a leaf's new dictionary, once. Strings are borrowed from the
    dictionary; other texts go to the arena by offset (it may move while it fills). */
static int
s_leaf_dict (s_leaf_t *l, const tl_pq_batch_t *b)
{
    size_t n = b->dict->n;
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
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t;
        size_t len = tl_pq_value_text (l->col, b->dict, i, l->buf, &t);
        l->dlen [i] = (uint32_t) len;
        l->dtext [i] = t;
        l->doff [i] = SIZE_MAX;
        if (t != l->buf)
            continue;
        if (used + len > l->acap) {
            size_t cap = (used + len) * 2 + 4096;
            char *a = realloc (l->arena, cap);
            if (!a)
                return TL_ENOMEM;
            l->arena = a;
            l->acap = cap;
        }
        memcpy (l->arena + used, l->buf, len);
        l->doff [i] = used;
        used += len;
    }
    for (size_t i = 0; i < n; i++)
        if (l->doff [i] != SIZE_MAX)
            l->dtext [i] = l->arena + l->doff [i];
    l->gen = b->dict_gen;
    return 0;
}

/*  Row i of a leaf's batch as text. */
static tl_field_t
s_leaf_text (s_leaf_t *l, size_t i)
{
    const tl_pq_batch_t *b = &l->b;
    if (b->kind == TL_PQ_BATCH_INDICES) {
        uint32_t x = b->idx [i];
        if (x == TL_PQ_NULL_INDEX || x >= b->dict->n)
            return (tl_field_t) { "", 0 };
        return (tl_field_t) { l->dtext [x], l->dlen [x] };
    }
    if (b->valid && !b->valid [i])
        return (tl_field_t) { "", 0 };
    const char *t;
    size_t n = tl_pq_value_text (l->col, &b->vals, i, l->buf, &t);
    return (tl_field_t) { t, n };
}

static int
s_count_query (tl_pqcount_t *self, size_t rg, tl_err_t *e)
{
    const tl_pqquery_t *pq = self->pq;
    int rc;
    for (;;) {
        size_t k = 4096;
        for (int j = 0; j < pq->ncols; j++) {
            size_t r;
            if ((rc = tl_pq_col_ready (self->leaf [j].rd, &r, e)) != 0)
                return rc;
            if (r < k)
                k = r;
        }
        if (k == 0) {
            /* Every column must end here too, or the file's columns disagree on the row count. */
            for (int j = 0; j < pq->ncols; j++) {
                size_t r;
                if ((rc = tl_pq_col_ready (self->leaf [j].rd, &r, e)) != 0)
                    return rc;
                if (r)
                    return tl_err_set (e, TL_EPROTO, 0, "row group %zu: column '%s' has more rows than column '%s'",
                                       rg, self->leaf [j].col->name, self->leaf [0].col->name);
            }
            return 0;
        }
        for (int j = 0; j < pq->ncols; j++) {
            s_leaf_t *l = &self->leaf [j];
            if ((rc = tl_pq_col_next (l->rd, k, &l->b, e)) != 0)
                return rc;
            if (l->b.rows != k)
                return tl_err_set (e, TL_EPROTO, 0, "row group %zu, column '%s': %zu rows where %zu were ready", rg,
                                   l->col->name, l->b.rows, k);
            if (l->b.kind == TL_PQ_BATCH_INDICES && l->b.dict_gen != l->gen && (rc = s_leaf_dict (l, &l->b)) != 0)
                return tl_err_set (e, rc, 0, "out of memory");
        }
        for (size_t i = 0; i < k; i++) {
            for (int j = 0; j < pq->ncols; j++)
                self->fields [pq->cols [j]] = s_leaf_text (&self->leaf [j], i);
            tl_query_row (&pq->q, self->fields, self->nfields, self->agg, &self->qs);
        }
    }
}

int
tl_pqcount_rowgroup (tl_pqcount_t *self, size_t rg, const uint8_t *const *chunks, const size_t *lens, tl_err_t *e)
{
    tl_pq_src_t srcs [TL_PQ_MAX_NEEDED];
    for (int j = 0; j < self->pq->ncols; j++)
        srcs [j] = tl_pq_src_mem (chunks [j], lens [j]);
    return tl_pqcount_rowgroup_src (self, rg, srcs, e);
}

int
tl_pqcount_rowgroup_src (tl_pqcount_t *self, size_t rg, const tl_pq_src_t *srcs, tl_err_t *e)
{
    const tl_pqquery_t *pq = self->pq;
    const tl_pq_meta_t *m = self->m;
    int rc = 0;
    if (rg >= m->nrgs)
        return tl_err_set (e, TL_EINVAL, 0, "row group %zu of %zu", rg, m->nrgs);
    if (pq->ncols == 0)
        return 0;
    for (int j = 0; j < pq->ncols; j++) {
        s_leaf_t *l = &self->leaf [j];
        const tl_pq_chunk_t *ch = &m->rgs [rg].chunks [pq->cols [j]];
        if (l->rd)
            rc = tl_pq_col_reset_src (l->rd, ch, (int) rg, &srcs [j], e);
        else {
            tl_pq_col_opts_t o = { .max_page = self->max_page, .mode = pq->plain ? TL_PQ_RUNS : TL_PQ_INDICES };
            rc = tl_pq_col_new_src (&l->rd, l->col, ch, (int) rg, &srcs [j], &o, e);
        }
        l->gen = 0;     /* a reset drops the dictionary */
        if (rc)
            return rc;
    }
    if (!pq->plain) {
        return s_count_query (self, rg, e);
    }
    tl_pq_batch_t b;
    uint64_t rows = 0;
    for (;;) {
        if ((rc = tl_pq_col_next (self->leaf [0].rd, 65536, &b, e)) != 0)
            return rc;
        if (b.rows == 0)
            break;
        rows += b.rows;
        if ((rc = s_count_plain (self, &b)) != 0)
            return tl_err_set (e, rc, 0, "out of memory");
    }
    /* The dictionary dies with the row group's bytes: its counts become keys now. */
    if ((rc = s_flush_dict (self)) != 0)
        return tl_err_set (e, rc, 0, "out of memory");
    self->dict = NULL;
    self->dict_gen = 0;
    if ((uint64_t) m->rgs [rg].num_rows != rows && m->rgs [rg].num_rows >= 0)
        return tl_err_set (e, TL_EPROTO, 0, "row group %zu, column '%s': %llu rows read, the footer says %lld", rg,
                           self->leaf [0].col->name, (unsigned long long) rows, (long long) m->rgs [rg].num_rows);
    return 0;
}

void
tl_pqcount_skipped (tl_pqcount_t *self, size_t rg)
{
    self->st.skipped++;
    if (rg < self->m->nrgs && self->m->rgs [rg].num_rows > 0)
        self->skipped_rows += (uint64_t) self->m->rgs [rg].num_rows;
}

int
tl_pqcount_finish (tl_pqcount_t *self, tl_err_t *e)
{
    int rc = s_flush_dict (self);
    if (!rc)
        rc = s_flush_raw (self);
    return rc ? tl_err_set (e, rc, 0, "out of memory") : 0;
}

tl_pqcount_stats_t
tl_pqcount_stats (const tl_pqcount_t *self)
{
    tl_pqcount_stats_t st = self->st;
    if (!self->pq->plain) {
        st.rows = self->qs.rows;
        st.bad = self->qs.bad;
        st.filtered = self->qs.filtered;
    }
    st.filtered += self->skipped_rows;
    return st;
}
