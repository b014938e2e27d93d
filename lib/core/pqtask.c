/*  pqtask.c — see pqtask.h. */
#include "lib/core/pqtask.h"
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/stats.h"
#include "lib/core/parquet/value.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- columns */

/*  Can a CSV header field carry this name exactly (header.c trims spaces, tabs and a CR, drops
    surrounding quotes and a leading BOM, splits at commas, and reads a field that starts with
    a quote as a quoted one, which may hold commas)? */
static bool
s_header_safe (const char *n, bool first)
{
    size_t len = strlen (n);
    if (len == 0 || strpbrk (n, ",\n\r"))
        return false;
    if (n [0] == ' ' || n [0] == '\t' || n [len - 1] == ' ' || n [len - 1] == '\t')
        return false;
    if (n [0] == '"')
        return false;
    return !(first && len >= 3 && memcmp (n, "\xEF\xBB\xBF", 3) == 0);
}

static void
s_need (tl_pqquery_t *pq, int col)
{
    for (int i = 0; i < pq->ncols; i++)
        if (pq->cols [i] == col)
            return;
    pq->cols [pq->ncols++] = col;
}

/*  The first column of q that did not resolve (the one tl_query_resolve complained about). */
static const tl_qcol_t *
s_unresolved (const tl_query_t *q)
{
    for (int i = 0; i < q->nby; i++)
        if (q->by [i].col < 0)
            return &q->by [i];
    for (int i = 0; i < q->naggs; i++)
        if (q->aggs [i].kind != TL_Q_COUNT && q->aggs [i].col.col < 0)
            return &q->aggs [i].col;
    for (int i = 0; i < q->nwhere; i++)
        if (q->where [i].col.col < 0)
            return &q->where [i].col;
    return NULL;
}

static int
s_check_col (const tl_qcol_t *c, const tl_pq_meta_t *m, tl_err_t *e)
{
    if (c->col < 0 || (size_t) c->col >= m->ncols)
        return tl_err_set (e, TL_ECOLUMN, 0, "column %d not found: the file has %zu columns", c->num, m->ncols);
    if (m->cols [c->col].max_rep > 0)
        return tl_err_set (e, TL_EINVAL, 0, "column '%s' is nested in a list or map: grouping by a nested column "
                           "is not supported", m->cols [c->col].name);
    return 0;
}

int
tl_pqquery_resolve (tl_pqquery_t *pq, const char *text, const tl_pq_meta_t *m, tl_err_t *e)
{
    memset (pq, 0, sizeof *pq);
    int rc = tl_query_parse (text, &pq->q, e);
    if (rc)
        return rc;
    size_t hlen = 0;
    for (size_t i = 0; i < m->ncols; i++)
        hlen += strlen (m->cols [i].name) + 1;
    char *hdr = malloc (hlen + 1), *p = hdr;
    if (!hdr)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < m->ncols; i++) {
        if (i)
            *p++ = ',';
        const char *n = m->cols [i].name;
        if (s_header_safe (n, i == 0)) {
            size_t l = strlen (n);
            memcpy (p, n, l);
            p += l;
        }
    }
    *p = 0;
    rc = tl_query_resolve (&pq->q, hdr, (size_t) (p - hdr), e);
    if (rc == TL_ECOLUMN) {
        /* The header above is made up: say it in the file's own terms. A name twice, or two of
           its aliases, keeps the message that says so. */
        const tl_qcol_t *c = s_unresolved (&pq->q);
        if (c && c->num)
            rc = tl_err_set (e, TL_ECOLUMN, 0, "column %d not found: the file has %zu columns", c->num, m->ncols);
        else if (!c || tl_query_find_column (&pq->q, hdr, (size_t) (p - hdr), c->name) == -1)
            rc = tl_err_set (e, TL_ECOLUMN, 0, "column '%s' not found among the file's %zu Parquet columns",
                             c ? c->name : "?", m->ncols);
    }
    free (hdr);
    if (rc)
        return rc;
    const tl_query_t *q = &pq->q;
    for (int i = 0; i < q->nby && !rc; i++)
        if (!(rc = s_check_col (&q->by [i], m, e)))
            s_need (pq, q->by [i].col);
    for (int i = 0; i < q->naggs && !rc; i++)
        if (q->aggs [i].kind != TL_Q_COUNT && !(rc = s_check_col (&q->aggs [i].col, m, e)))
            s_need (pq, q->aggs [i].col.col);
    for (int i = 0; i < q->nwhere && !rc; i++)
        if (!(rc = s_check_col (&q->where [i].col, m, e)))
            s_need (pq, q->where [i].col.col);
    pq->plain = !rc && tl_query_is_plain (text) && q->nby == 1 && q->nvals == 0 && q->nwhere == 0
                && q->by [0].from == 0 && q->by [0].to == UINT32_MAX;
    return rc;
}

/* ---------------------------------------------------------------- tasks */

int
tl_pqtask_rg_span (const tl_pq_meta_t *m, uint64_t size, const tl_pqquery_t *pq, size_t rg, uint64_t *start,
                   uint64_t *bytes, tl_err_t *e)
{
    *start = UINT64_MAX;
    *bytes = 0;
    if (rg >= m->nrgs)
        return tl_err_set (e, TL_EINVAL, 0, "row group %zu of %zu", rg, m->nrgs);
    for (int i = 0; i < pq->ncols; i++) {
        uint64_t off, len;
        int rc = tl_pq_chunk_range (&m->rgs [rg].chunks [pq->cols [i]], size, &off, &len, e);
        if (rc) {
            char why [sizeof e->msg];
            snprintf (why, sizeof why, "%s", e->msg);
            return tl_err_set (e, rc, 0, "row group %zu, column '%s': %s", rg, m->cols [pq->cols [i]].name, why);
        }
        if (off < *start)
            *start = off;
        *bytes += len;
    }
    if (pq->ncols == 0)
        *start = 4;
    return 0;
}

typedef struct {
    uint64_t start, bytes;
} s_span_t;

static int
s_span_cmp (const void *a, const void *b)
{
    const s_span_t *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

int
tl_pqtask_plan (const tl_pq_meta_t *m, uint64_t size, const tl_pqquery_t *pq, uint64_t split, tl_pqrange_t **out,
                size_t *n, tl_err_t *e)
{
    *out = NULL;
    *n = 0;
    s_span_t *sp = calloc (m->nrgs + 1, sizeof *sp);
    tl_pqrange_t *r = calloc (m->nrgs + 1, sizeof *r);
    if (!sp || !r) {
        free (sp);
        free (r);
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    }
    for (size_t i = 0; i < m->nrgs; i++) {
        int rc = tl_pqtask_rg_span (m, size, pq, i, &sp [i].start, &sp [i].bytes, e);
        if (rc) {
            free (sp);
            free (r);
            return rc;
        }
    }
    qsort (sp, m->nrgs, sizeof *sp, s_span_cmp);
    size_t k = 0;
    r [0].offset = 0;
    for (size_t i = 0; i < m->nrgs; i++) {
        r [k].needed += sp [i].bytes;
        r [k].rowgroups++;
        /* Cut after this row group when the task is full, unless the next one starts at the
           same byte (then both belong to whichever task holds that byte). */
        if (split && r [k].needed >= split && i + 1 < m->nrgs && sp [i + 1].start > sp [i].start) {
            r [k].length = sp [i + 1].start - r [k].offset;
            r [++k].offset = sp [i + 1].start;
        }
    }
    r [k].length = size - r [k].offset;
    free (sp);
    *out = r;
    *n = k + 1;
    return 0;
}

/* ---------------------------------------------------------------- statistics */

bool
tl_pqtask_null_passes (const tl_qwhere_t *w)
{
    /* The empty text: never a number, so a numeric literal compares it as text only for = and
       != (where it differs from any number's text); otherwise it is text against text. */
    size_t wn = strlen (w->value);
    if (w->numeric)
        return w->op == TL_Q_NE;
    switch (w->op) {
        case TL_Q_EQ: return wn == 0;
        case TL_Q_NE: return wn != 0;
        case TL_Q_LT: return wn > 0;
        case TL_Q_LE: return true;
        case TL_Q_GT: return false;
        case TL_Q_GE: return wn == 0;
    }
    return true;
}

/*  Leaves whose every non-null text reads as a number, and whose order as numbers is the order
    of their statistics. */
static bool
s_numeric_leaf (const tl_pq_column_t *c)
{
    switch (c->type) {
        case TL_PQ_INT32: case TL_PQ_INT64:
            return c->logical == TL_PQ_LT_NONE || c->logical == TL_PQ_LT_INT || c->logical == TL_PQ_LT_DECIMAL;
        case TL_PQ_FLOAT: case TL_PQ_DOUBLE:
            return c->logical == TL_PQ_LT_NONE;
        default:
            return false;
    }
}

static bool
s_text_leaf (const tl_pq_column_t *c)
{
    return c->type == TL_PQ_BYTE_ARRAY && (c->logical == TL_PQ_LT_NONE || c->logical == TL_PQ_LT_STRING
                                           || c->logical == TL_PQ_LT_ENUM || c->logical == TL_PQ_LT_JSON);
}

/*  A bound as the query would read its text: the value's canonical text, parsed as the query
    parses a field. Exact by construction (and monotone: text and parse both keep order). */
static bool
s_bound (const tl_pq_column_t *c, const tl_pq_values_t *v, double *d)
{
    char buf [TL_PQ_TEXT_MAX];
    const char *t;
    size_t n = tl_pq_value_text (c, v, 0, buf, &t);
    return tl_query_parse_num (t, n, d) == 1;
}

static int
s_bytes_cmp (const tl_pq_bytes_t *a, const char *b)
{
    size_t bn = strlen (b), n = a->len < bn ? a->len : bn;
    int c = memcmp (a->p, b, n);
    return c ? c : (a->len > bn) - (a->len < bn);
}

/*  1 if no row of this chunk passes w. */
static int
s_excludes (const tl_qwhere_t *w, const tl_pq_column_t *c, const tl_pq_chunk_t *ch, int64_t nrows)
{
    if (w->col.from != 0 || w->col.to != UINT32_MAX)
        return 0;
    tl_pq_minmax_t mm;
    tl_pq_chunk_minmax (c, ch, &mm);
    bool nulls_known = c->max_def == 0 || mm.has_null_count;
    int64_t nulls = c->max_def == 0 ? 0 : mm.null_count;
    if ((!nulls_known || nulls > 0) && tl_pqtask_null_passes (w))
        return 0;
    if (nulls_known && nrows > 0 && nulls >= nrows)
        return 1;       /* only NULLs, and a NULL does not pass */
    if (!mm.has_min || !mm.has_max)
        return 0;
    if (w->numeric && s_numeric_leaf (c)) {
        double lo, hi, v = w->num;
        if (!s_bound (c, &mm.min, &lo) || !s_bound (c, &mm.max, &hi))
            return 0;
        switch (w->op) {
            case TL_Q_EQ: return v < lo || v > hi;
            case TL_Q_LT: return lo >= v;
            case TL_Q_LE: return lo > v;
            case TL_Q_GT: return hi <= v;
            case TL_Q_GE: return hi < v;
            case TL_Q_NE:   /* floats may hold NaN, which statistics leave out and != keeps */
                return (c->type == TL_PQ_INT32 || c->type == TL_PQ_INT64) && lo == hi && lo == v;
        }
        return 0;
    }
    if (!w->numeric && s_text_leaf (c)) {
        int lo = s_bytes_cmp (&mm.min.ba [0], w->value), hi = s_bytes_cmp (&mm.max.ba [0], w->value);
        switch (w->op) {    /* lo, hi: min and max against the literal */
            case TL_Q_EQ: return lo > 0 || hi < 0;
            case TL_Q_LT: return lo >= 0;
            case TL_Q_LE: return lo > 0;
            case TL_Q_GT: return hi <= 0;
            case TL_Q_GE: return hi < 0;
            case TL_Q_NE: return lo == 0 && hi == 0;
        }
    }
    return 0;
}

int
tl_pqtask_skip (const tl_pqquery_t *pq, const tl_pq_meta_t *m, size_t rg)
{
    if (rg >= m->nrgs)
        return 0;
    for (int i = 0; i < pq->q.nwhere; i++) {
        int col = pq->q.where [i].col.col;
        if (col >= 0 && (size_t) col < m->ncols
            && s_excludes (&pq->q.where [i], &m->cols [col], &m->rgs [rg].chunks [col], m->rgs [rg].num_rows))
            return 1;
    }
    return 0;
}
