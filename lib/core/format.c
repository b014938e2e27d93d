/*  format.c — the two formats behind format.h: CSV (cut at byte offsets, the line rule keeps
    records whole) and Parquet (cut between row groups, pqtask.c). */
#include "lib/core/format.h"
#include "lib/core/pqtask.h"
#include "lib/core/parquet/meta.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
tl_format_name_compressed (const char *uri)
{
    size_t n = strlen (uri);
    static const char *ext [] = { ".gz", ".zst", ".bz2", ".xz", ".zip", ".lz4" };
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t e = strlen (ext [i]);
        if (n > e && strcasecmp (uri + n - e, ext [i]) == 0)
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------- csv */

static bool
s_csv_probe (const tl_format_probe_t *p)
{
    return true;    /* anything that is not another format */
}

static uint64_t
s_csv_tail (const tl_format_probe_t *p)
{
    return 0;
}

static int
s_csv_plan (const tl_format_probe_t *p, const tl_format_plan_opts_t *o, tl_format_task_t **tasks, size_t *n,
            char *note, size_t notelen)
{
    bool splittable = !tl_format_name_compressed (p->uri);
    uint64_t size = p->size, split = o->split;
    size_t k = split && size > split && splittable ? (size_t) ((size + split - 1) / split) : 1;
    *tasks = calloc (k, sizeof **tasks);
    if (!*tasks)
        return TL_ENOMEM;
    if (k == 1)
        (*tasks) [0] = (tl_format_task_t) { 0, size, splittable };
    else
        for (size_t i = 0; i < k; i++) {
            uint64_t off = (uint64_t) i * split;
            (*tasks) [i] = (tl_format_task_t) { off, size - off < split ? size - off : split, true };
        }
    *n = k;
    return 0;
}

const tl_format_t tl_format_csv = {
    .name = "csv", .probe = s_csv_probe, .tail_needed = s_csv_tail, .plan = s_csv_plan,
};

/* ---------------------------------------------------------------- parquet */

static bool
s_pq_probe (const tl_format_probe_t *p)
{
    return p->size >= 12 && p->nhead >= 4 && p->ntail >= 4 && memcmp (p->head, "PAR1", 4) == 0
           && memcmp (p->tail + p->ntail - 4, "PAR1", 4) == 0;
}

static uint64_t
s_pq_tail (const tl_format_probe_t *p)
{
    uint32_t mlen;
    tl_err_t e;
    if (p->ntail < 8 || tl_pq_footer_len (p->tail, p->ntail, &mlen, &e) != 0)
        return 0;
    uint64_t want = (uint64_t) mlen + 8;
    /* A footer longer than the object (or than we would fetch) is for the mapper to report. */
    return want > p->ntail && want + 4 <= p->size && want <= (64u << 20) ? want : 0;
}

/*  One task of the whole object: what a mapper reports on, when the broker cannot plan. */
static int
s_pq_whole (const tl_format_probe_t *p, tl_format_task_t **tasks, size_t *n)
{
    if (!(*tasks = calloc (1, sizeof **tasks)))
        return TL_ENOMEM;
    (*tasks) [0] = (tl_format_task_t) { 0, p->size, false };
    *n = 1;
    return 0;
}

static int
s_pq_plan (const tl_format_probe_t *p, const tl_format_plan_opts_t *o, tl_format_task_t **tasks, size_t *n,
           char *note, size_t notelen)
{
    tl_err_t e = { 0 };
    uint32_t mlen;
    tl_pq_meta_t *m = NULL;
    tl_pqquery_t *pq = NULL;
    tl_pqrange_t *r = NULL;
    size_t nr = 0;
    int rc = tl_pq_footer_len (p->tail, p->ntail, &mlen, &e);
    if (!rc && (uint64_t) mlen + 8 > p->ntail)
        rc = tl_err_set (&e, TL_EPROTO, 0, "footer of %u bytes, %zu fetched", mlen, p->ntail);
    if (!rc)
        rc = tl_pq_meta_parse (p->tail + p->ntail - 8 - mlen, mlen, &m, &e);
    if (!rc && !(pq = malloc (sizeof *pq)))
        rc = tl_err_set (&e, TL_ENOMEM, 0, "out of memory");
    if (!rc)
        rc = tl_pqquery_resolve (pq, o->query, m, &e);
    if (!rc)
        rc = tl_pqtask_plan (m, p->size, pq, o->split, &r, &nr, &e);
    if (rc == TL_ENOMEM)
        goto done;
    if (rc) {
        /* The mapper will say the same, naming the task: here it is only a note. */
        snprintf (note, notelen, "%s", e.msg);
        rc = s_pq_whole (p, tasks, n);
        goto done;
    }
    if (!(*tasks = calloc (nr, sizeof **tasks))) {
        rc = TL_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nr; i++)
        (*tasks) [i] = (tl_format_task_t) { r [i].offset, r [i].length, false };
    *n = nr;
    if (note && notelen)
        snprintf (note, notelen, "%zu row group(s), %zu task(s)", m->nrgs, nr);
done:
    free (r);
    free (pq);
    tl_pq_meta_destroy (&m);
    return rc;
}

const tl_format_t tl_format_parquet = {
    .name = "parquet", .probe = s_pq_probe, .tail_needed = s_pq_tail, .plan = s_pq_plan,
};

/* ---------------------------------------------------------------- lookup */

static const tl_format_t *const s_formats [] = { &tl_format_parquet, &tl_format_csv };

const tl_format_t *
tl_format_detect (const tl_format_probe_t *p)
{
    for (size_t i = 0; i < sizeof s_formats / sizeof *s_formats; i++)
        if (s_formats [i]->probe (p))
            return s_formats [i];
    return &tl_format_csv;
}

const tl_format_t *
tl_format_by_name (const char *name)
{
    for (size_t i = 0; name && i < sizeof s_formats / sizeof *s_formats; i++)
        if (strcmp (s_formats [i]->name, name) == 0)
            return s_formats [i];
    return NULL;
}
