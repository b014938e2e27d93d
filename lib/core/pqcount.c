/*  pqcount.c — counting a Parquet row group's decoded chunks into the aggregator (see
    pqcount.h). */
#include "lib/core/pqcount.h"
#include "lib/core/pqrows.h"
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/value.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- counting */

/*  One needed leaf: its reader, kept across row groups, and its current batch. */
typedef struct {
    const tl_pq_column_t *col;
    tl_pq_col_t *rd;
    tl_pq_batch_t b;
} s_leaf_t;

struct tl_pqcount {
    const tl_pqquery_t *pq;
    const tl_pq_meta_t *m;
    tl_agg_t *agg;
    size_t max_page;
    s_leaf_t leaf [TL_PQ_MAX_NEEDED];
    tl_pqrows_t *rows;          /* query mode */
    tl_pq_batch_t batch [TL_PQ_MAX_NEEDED];
    /* plain mode */
    uint64_t *dcount;           /* per dictionary index */
    size_t dcount_n;
    const tl_pq_values_t *dict;
    uint64_t dict_gen;
    uint64_t nulls;
    tl_agg_t *raw;              /* plain pages: raw value bytes -> count */
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
    if (!(self->raw = tl_agg_new ()) || (!pq->plain && !(self->rows = tl_pqrows_new (pq, m, agg))))
        tl_pqcount_destroy (&self);
    return self;
}

void
tl_pqcount_destroy (tl_pqcount_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_pqcount_t *self = *self_p;
    for (int i = 0; i < TL_PQ_MAX_NEEDED; i++)
        tl_pq_col_destroy (&self->leaf [i].rd);
    tl_pqrows_destroy (&self->rows);
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
            /* ... and hold the rows the footer says, as the plain count requires (a reader that
               trusts the footer, DuckDB, gives another answer). */
            uint64_t rows = tl_pq_col_rows_read (self->leaf [0].rd);
            int64_t want = self->m->rgs [rg].num_rows;
            if (want >= 0 && rows != (uint64_t) want)
                return tl_err_set (e, TL_EPROTO, 0, "row group %zu, column '%s': %llu rows read, the footer says %lld",
                                   rg, self->leaf [0].col->name, (unsigned long long) rows, (long long) want);
            return 0;
        }
        for (int j = 0; j < pq->ncols; j++) {
            s_leaf_t *l = &self->leaf [j];
            if ((rc = tl_pq_col_next (l->rd, k, &self->batch [j], e)) != 0)
                return rc;
            if (self->batch [j].rows != k)
                return tl_err_set (e, TL_EPROTO, 0, "row group %zu, column '%s': %zu rows where %zu were ready", rg,
                                   l->col->name, self->batch [j].rows, k);
        }
        if ((rc = tl_pqrows_add (self->rows, self->batch, k, e)) != 0)
            return rc;
    }
}

int
tl_pqcount_rowgroup (tl_pqcount_t *self, size_t rg, const uint8_t *const *chunks, const size_t *lens, tl_err_t *e)
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
            rc = tl_pq_col_reset (l->rd, ch, (int) rg, chunks [j], lens [j], e);
        else {
            tl_pq_col_opts_t o = { .max_page = self->max_page, .mode = pq->plain ? TL_PQ_RUNS : TL_PQ_INDICES };
            rc = tl_pq_col_new (&l->rd, l->col, ch, (int) rg, chunks [j], lens [j], &o, e);
        }
        if (rc)
            return rc;
    }
    if (!pq->plain) {
        tl_pqrows_rowgroup (self->rows);
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
    if (self->rows && tl_pqrows_flush (self->rows, e))
        return e->code;
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
        tl_qstats_t qs = tl_pqrows_stats (self->rows);
        st.rows = qs.rows;
        st.bad = qs.bad;
        st.filtered = qs.filtered;
    }
    st.filtered += self->skipped_rows;
    return st;
}
