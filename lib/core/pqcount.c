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
    uint64_t *dcount;           /* per dictionary index, dlanes times over */
    size_t dcount_n, dcount_cap;
    int dlanes;
    const tl_pq_values_t *dict;
    uint64_t dict_gen;
    uint64_t nulls;
    tl_agg_t *raw;              /* plain pages: raw value bytes -> count */
    struct s_slot *fix;         /* plain pages, fixed-width values up to 8 bytes: bits -> count */
    size_t fix_cap, fix_n;      /* slots (0 or a power of 2), slots used */
    int fix_shift;              /* 64 - log2 (fix_cap) */
    uint64_t fix_free;          /* count of the value whose bits are S_FIX_FREE */
    uint64_t fix_spills;        /* values sent on to raw because the table was full */
    bool fix_bypass;            /* too many of them: skip the table until the flush */
    uint32_t fix_width;         /* bytes per value of the keys held */
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
    free (self->fix);
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

/*  Literal indices of a small dictionary are counted in S_LANES interleaved arrays, each
    taking every S_LANES-th index: with a few dominant values, one array would make each add
    wait for the previous add's store to the same counter. */
#define S_LANES 4
#define S_LANES_MAX 4096

/*  Dictionary counts into the table, texted once per index seen. */
static int
s_flush_dict (tl_pqcount_t *self)
{
    const tl_pq_column_t *col = self->leaf [0].col;
    char buf [TL_PQ_TEXT_MAX];
    size_t nd = self->dcount_n;
    int rc = 0;
    for (size_t i = 0; i < nd && self->dict && !rc; i++) {
        uint64_t n = 0;
        for (int l = 0; l < self->dlanes; l++) {
            n += self->dcount [(size_t) l * nd + i];
            self->dcount [(size_t) l * nd + i] = 0;
        }
        if (n) {
            const char *t;
            size_t len = tl_pq_value_text (col, self->dict, i, buf, &t);
            rc = s_add (self, t, len, n);
        }
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
    size_t nd = b->dict->n;
    int lanes = nd <= S_LANES_MAX ? S_LANES : 1;
    size_t need = nd * (size_t) lanes + 1;
    self->dict = b->dict;
    self->dict_gen = b->dict_gen;
    self->dcount_n = 0;
    if (need > self->dcount_cap) {
        free (self->dcount);
        self->dcount_cap = 0;
        if (!(self->dcount = calloc (need, sizeof *self->dcount)))
            return TL_ENOMEM;
        self->dcount_cap = need;
    }
    else
        memset (self->dcount, 0, need * sizeof *self->dcount);
    self->dcount_n = nd;
    self->dlanes = lanes;
    return 0;
}

/*  Fixed-width values of plain pages (up to 8 bytes: INT32, INT64, FLOAT, DOUBLE, BOOLEAN,
    short FIXED_LEN_BYTE_ARRAY) skip the general table: they are counted in an open-addressing
    table keyed by the value's bits, zero-extended to 64, with linear probing. It doubles while
    half full up to S_FIX_MAX slots; past that, new values spill to the general raw table,
    keyed by their bytes as before. A value may so be counted in both: the flush texts each key
    of each table once (tl_pq_value_text) and adds the text's count, so equal texts merge in the
    aggregator, just as -0.0 and 0.0, or two NaN payloads, always have.
    A slot keeps S_FIX_LANES counts, value i of a batch adding to count i % S_FIX_LANES: with a
    few dominant values, one count would make each add wait for the previous add's store to it.
    Free slots hold the key S_FIX_FREE; that value itself is counted apart (fix_free). */
#define S_FIX_LANES 4
struct s_slot {
    uint64_t key, count [S_FIX_LANES];
};

#define S_FIX_MAX ((size_t) 1 << 15)            /* 1.25 MiB of slots, 16,384 values */
#define S_FIX_MUL 0x9E3779B97F4A7C15ULL         /* Fibonacci hashing: the product's top bits */
#define S_FIX_FREE 0x7ff7a3c5e1d2b4f6ULL        /* a NaN payload: rare in any column */

static void
s_fix_put (struct s_slot *t, size_t cap, int shift, uint64_t key, const uint64_t *count)
{
    size_t h = (size_t) ((key * S_FIX_MUL) >> shift);
    while (t [h].key != S_FIX_FREE)
        h = (h + 1) & (cap - 1);
    t [h].key = key;
    memcpy (t [h].count, count, sizeof t [h].count);
}

static int
s_fix_grow (tl_pqcount_t *self)
{
    size_t cap = self->fix_cap ? self->fix_cap * 2 : 64;
    struct s_slot *t = calloc (cap, sizeof *t);
    if (!t)
        return TL_ENOMEM;
    int shift = 64;
    for (size_t c = cap; c > 1; c >>= 1)
        shift--;
    for (size_t i = 0; i < cap; i++)
        t [i].key = S_FIX_FREE;
    for (size_t i = 0; i < self->fix_cap; i++)
        if (self->fix [i].key != S_FIX_FREE)
            s_fix_put (t, cap, shift, self->fix [i].key, self->fix [i].count);
    free (self->fix);
    self->fix = t;
    self->fix_cap = cap;
    self->fix_shift = shift;
    return 0;
}

/*  A value not in the table (h: the free slot its probe ended on): into the table, which may
    grow first, or past S_FIX_MAX into the general one. */
static int
s_fix_miss (tl_pqcount_t *self, uint64_t v, size_t h)
{
    const uint64_t one [S_FIX_LANES] = { 1 };
    if (v == S_FIX_FREE) {
        self->fix_free++;
        return 0;
    }
    if (self->fix_n + 1 > self->fix_cap / 2) {
        if (self->fix_cap >= S_FIX_MAX)
        {
            self->fix_spills++;
            return tl_agg_add (self->raw, (const char *) &v, self->fix_width, 1);     /* little-endian: the value's bytes */
        }
        int rc = s_fix_grow (self);
        if (rc)
            return rc;
        s_fix_put (self->fix, self->fix_cap, self->fix_shift, v, one);
    }
    else {
        self->fix [h].key = v;
        self->fix [h].count [0] = 1;
    }
    self->fix_n++;
    return 0;
}

static inline uint64_t
s_load (const uint8_t *p, uint32_t w)
{
    uint64_t v = 0;
    memcpy (&v, p, w);      /* little-endian: the value's bits, zero-extended */
    return v;
}

/*  n values of w bytes each (w <= 8) from p, unaligned. Inlined with w constant, so that a
    value is one load; the table's fields stay in registers except past a miss. */
static inline __attribute__ ((always_inline)) int
s_count_w (tl_pqcount_t *self, const uint8_t *p, size_t n, uint32_t w)
{
    struct s_slot *t = self->fix;
    size_t mask = self->fix_cap - 1;
    int shift = self->fix_shift;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = s_load (p + i * w, w);
        size_t h = (size_t) ((v * S_FIX_MUL) >> shift);
        while (t [h].key != v && t [h].key != S_FIX_FREE)
            h = (h + 1) & mask;
        if (t [h].key == v && v != S_FIX_FREE) {
            t [h].count [i % S_FIX_LANES]++;
            continue;
        }
        int rc = s_fix_miss (self, v, h);
        if (rc)
            return rc;
        t = self->fix;
        mask = self->fix_cap - 1;
        shift = self->fix_shift;
    }
    return 0;
}

static int
s_count_fixed (tl_pqcount_t *self, const uint8_t *p, size_t n, uint32_t w)
{
    int rc;
    if (!self->fix && (rc = s_fix_grow (self)) != 0)
        return rc;
    self->fix_width = w;
    uint64_t spills = self->fix_spills;
    switch (w) {
        case 8: rc = s_count_w (self, p, n, 8); break;
        case 4: rc = s_count_w (self, p, n, 4); break;
        case 1: rc = s_count_w (self, p, n, 1); break;
        default: rc = s_count_w (self, p, n, w); break;
    }
    /* Most of a batch spilled (so the table is full): a column of many distinct values, which
       the table only slows down, its probes taking the cache the general table's prefetched
       adds need. The rest goes straight to the general table, as every value did before. */
    if ((self->fix_spills - spills) * 2 > n)
        self->fix_bypass = true;
    return rc;
}

/*  The non-null values of a DENSE batch: fixed widths up to 8 bytes by their bits, byte
    arrays and wider values (INT96, long FIXED_LEN_BYTE_ARRAY) by their bytes in the general
    table. */
static int
s_count_dense (tl_pqcount_t *self, const tl_pq_batch_t *b)
{
    const tl_pq_values_t *v = &b->vals;
    if (v->type != TL_PQ_BYTE_ARRAY && v->width <= 8 && v->width && !self->fix_bypass)
        return s_count_fixed (self, b->raw, v->n, v->width);
    for (size_t i = 0; i < v->n; i++) {
        const void *p = v->type == TL_PQ_BYTE_ARRAY ? (const void *) v->ba [i].p : (const void *) (b->raw + i * v->width);
        size_t n = v->type == TL_PQ_BYTE_ARRAY ? v->ba [i].len : v->width;
        int rc = tl_agg_add (self->raw, p, n, 1);
        if (rc == TL_EINVAL)
            self->st.bad++;     /* over TL_AGG_KEY_MAX bytes: so is its text */
        else if (rc)
            return rc;
    }
    return 0;
}

/*  The plain count of one column (batches from tl_pq_col_next_unordered): runs of dictionary
    indices, or the non-null values of other pages. */
static int
s_count_plain (tl_pqcount_t *self, const tl_pq_batch_t *b)
{
    if (b->kind == TL_PQ_BATCH_DENSE) {
        self->nulls += b->nulls;
        return s_count_dense (self, b);
    }
    if (b->dict_gen != self->dict_gen) {
        /* A second dictionary page in one chunk (the format allows one): the reader has
           already replaced the first, so the counts per index could no longer be named. */
        if (self->dict)
            return TL_EPROTO;
        int rc = s_new_dict (self, b);
        if (rc)
            return rc;
    }
    uint64_t *c = self->dcount;
    size_t nd = self->dcount_n;
    const uint32_t *lit = b->idx;
    for (size_t r = 0; r < b->nruns; r++) {
        uint32_t ix = b->runs [r].index, len = b->runs [r].len;
        if (ix == TL_PQ_NULL_INDEX)
            self->nulls += len;
        else if (ix == TL_PQ_LIT_INDEX) {
            uint32_t j = 0;
            if (self->dlanes == S_LANES)
                for (; j + 4 <= len; j += 4) {
                    uint32_t x0 = lit [j], x1 = lit [j + 1], x2 = lit [j + 2], x3 = lit [j + 3];
                    if ((x0 >= nd) | (x1 >= nd) | (x2 >= nd) | (x3 >= nd))
                        break;      /* the loop below sorts it out */
                    c [x0]++;
                    c [nd + x1]++;
                    c [2 * nd + x2]++;
                    c [3 * nd + x3]++;
                }
            for (; j < len; j++) {
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
    return 0;
}

/*  Value bytes of a column of this type as one value (aligned), texted, into the table. */
static int
s_flush_one (tl_pqcount_t *self, const void *key, size_t len, uint64_t count, char buf [TL_PQ_TEXT_MAX])
{
    const tl_pq_column_t *col = self->leaf [0].col;
    tl_pq_values_t v;
    tl_pq_bytes_t ba = { (const uint8_t *) key, (uint32_t) len };
    uint64_t aligned [TL_AGG_KEY_MAX / 8 + 1];     /* the table's keys are not aligned */
    if (col->type == TL_PQ_BYTE_ARRAY)
        tl_pq_values_set (&v, col->type, 0, &ba, 1);
    else {
        memcpy (aligned, key, len);
        tl_pq_values_set (&v, col->type, (uint32_t) len, aligned, 1);
    }
    const char *t;
    size_t n = tl_pq_value_text (col, &v, 0, buf, &t);
    return s_add (self, t, n, count);
}

/*  Raw values of both tables into the table as texts. */
static int
s_flush_raw (tl_pqcount_t *self)
{
    if (!self->pq->ncols)
        return 0;
    size_t pos = 0;
    tl_agg_entry_t en;
    char buf [TL_PQ_TEXT_MAX];
    int rc = 0;
    for (size_t i = 0; i < self->fix_cap && !rc; i++)
        if (self->fix [i].key != S_FIX_FREE) {
            uint64_t n = 0;
            for (int l = 0; l < S_FIX_LANES; l++)
                n += self->fix [i].count [l];
            rc = s_flush_one (self, &self->fix [i].key, self->fix_width, n, buf);     /* little-endian */
            self->fix [i] = (struct s_slot) { .key = S_FIX_FREE };
        }
    if (self->fix_free && !rc) {
        uint64_t k = S_FIX_FREE;
        rc = s_flush_one (self, &k, self->fix_width, self->fix_free, buf);
        self->fix_free = 0;
    }
    self->fix_n = 0;
    self->fix_bypass = false;
    while (!rc && tl_agg_next (self->raw, &pos, &en))
        rc = s_flush_one (self, en.key, en.len, en.count, buf);
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
        if ((rc = tl_pq_col_next_unordered (self->leaf [0].rd, 65536, &b, e)) != 0)
            return rc;
        if (b.rows == 0)
            break;
        rows += b.rows;
        if ((rc = s_count_plain (self, &b)) != 0) {
            if (rc == TL_EPROTO)
                return tl_err_set (e, rc, 0, "row group %zu, column '%s': a second dictionary page in one column "
                                   "chunk (the format allows one)", rg, self->leaf [0].col->name);
            return tl_err_set (e, rc, 0, "out of memory");
        }
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
