/*  inputs.c — what a job counts: every --input listed (brace ranges expanded, missing inputs
    failed or, with --skip-missing, counted), each object probed for its format (a ranged GET of
    its tail, and of its first bytes when the tail says Parquet), and, for a new job, each object
    cut into tasks by its format's plan: byte ranges of --split-size for CSV, runs of row groups
    for Parquet (lib/core/format.h). */
#include "broker/state.h"
#include "lib/base/log.h"
#include "lib/store/expand.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static int
s_objcmp (const void *a, const void *b)
{
    return strcmp (((const tl_object_t *) a)->uri, ((const tl_object_t *) b)->uri);
}

static void
s_same_file (void *arg, const char *gone, const char *kept)
{
    (void) arg;
    tl_warn ("%s is the same file as %s (listed by more than one --input): counted once", gone, kept);
}

/*  One URI of an input: listed, or a not-found counted (--skip-missing). */
static int
s_list_one (tl_broker_t *b, const char *uri)
{
    tl_err_t e = { 0 };
    size_t before = b->objs.n;
    int rc = tl_store_list_input (&b->o.cfg, uri, &b->objs, &e);
    if (rc == TL_ENOTFOUND && b->o.skip_missing) {
        tl_warn ("%s is missing: left out (--skip-missing): %s", uri, e.msg);
        b->missing++;
        return 0;
    }
    if (rc) {
        if (strstr (e.msg, uri))
            tl_error ("cannot list: %s", e.msg);
        else
            tl_error ("cannot list %s: %s", uri, e.msg);
        return -1;
    }
    tl_debug ("%s: %zu object(s)", uri, b->objs.n - before);
    return 0;
}

int
tl_broker_list_inputs (tl_broker_t *b)
{
    for (int i = 0; i < b->o.ninputs; i++) {
        tl_err_t e = { 0 };
        size_t before = b->objs.n;
        char **uris = NULL;
        size_t n = 0;
        if (tl_expand (b->o.inputs [i], 0, &uris, &n, &e) != 0) {
            tl_error ("--input %s: %s", b->o.inputs [i], e.msg);
            return -1;
        }
        int rc = 0;
        for (size_t k = 0; k < n && rc == 0; k++)
            rc = s_list_one (b, uris [k]);
        tl_expand_free (uris, n);
        if (rc)
            return -1;
        tl_info ("%s: %zu object(s)%s", b->o.inputs [i], b->objs.n - before, n > 1 ? " (brace ranges)" : "");
    }
    if (b->objs.skipped_empty)
        tl_info ("left out %zu empty object(s) (such as S3 \"folder\" markers)", b->objs.skipped_empty);
    if (b->objs.skipped_special)
        tl_warn ("left out %zu item(s) of the input folders that are not regular files (pipes, sockets, devices)",
                 b->objs.skipped_special);
    if (b->missing)
        tl_warn ("%zu input(s) not found and left out (--skip-missing)", b->missing);
    /* Overlapping inputs must not count an object twice. */
    if (b->objs.n)
        qsort (b->objs.v, b->objs.n, sizeof *b->objs.v, s_objcmp);
    size_t w = 0;
    for (size_t i = 0; i < b->objs.n; i++) {
        if (w && strcmp (b->objs.v [w - 1].uri, b->objs.v [i].uri) == 0) {
            tl_warn ("%s is listed by more than one --input: counted once", b->objs.v [i].uri);
            free (b->objs.v [i].uri);
            free (b->objs.v [i].etag);
            continue;
        }
        b->objs.v [w++] = b->objs.v [i];
    }
    b->objs.n = w;
    /* ... nor a local file under two names (./x, x, /abs/x, a link). */
    if (tl_objlist_dedup_files (&b->objs, s_same_file, NULL) != 0) {
        tl_error ("out of memory while listing the inputs");
        return -1;
    }
    if (!b->objs.n) {
        tl_error ("no objects to count: the inputs are empty or match nothing");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- probing and planning */

/*  One object's probe: its tail (the footer, for Parquet) and first bytes decide its format;
    with plan set, the format then cuts it into tasks. */
typedef struct {
    const tl_object_t *obj;
    const tl_store_cfg_t *cfg;
    const tl_format_plan_opts_t *po;
    bool plan;
    const tl_format_t *fmt;
    tl_format_task_t *tasks;
    size_t ntasks;
    char note [512];
    tl_err_t e;
    int rc;
} s_probe_t;

typedef struct {
    char *p;
    size_t len, want;
} s_pbuf_t;

static int
s_pbuf_sink (void *arg, const char *buf, size_t len)
{
    s_pbuf_t *b = arg;
    if (len > b->want - b->len)
        return TL_EPROTO;
    memcpy (b->p + b->len, buf, len);
    b->len += len;
    return 0;
}

/*  Bytes [off, off+len) of the object, pinned to the listed version. */
static int
s_read_range (s_probe_t *p, uint64_t off, uint64_t len, s_pbuf_t *buf)
{
    tl_store_cfg_t cfg = *p->cfg;
    cfg.size_hint = p->obj->size;
    cfg.if_match = p->obj->etag;
    cfg.expect_mtime_ns = p->obj->mtime_ns;
    buf->len = 0;
    buf->want = (size_t) len;
    if (!(buf->p = malloc (len ? len : 1)))
        return tl_err_set (&p->e, TL_ENOMEM, 0, "out of memory");
    tl_read_stats_t rs = { 0 };
    int rc = tl_store_read (&cfg, p->obj->uri, off, len, s_pbuf_sink, buf, NULL, &rs, &p->e);
    if (!rc && buf->len != len)
        rc = tl_err_set (&p->e, TL_ECHANGED, 0, "%s: %zu bytes at %llu where %llu were asked for", p->obj->uri,
                         buf->len, (unsigned long long) off, (unsigned long long) len);
    return rc;
}

static void
s_probe_one (s_probe_t *p)
{
    uint64_t size = p->obj->size, n = size < TL_FORMAT_TAIL ? size : TL_FORMAT_TAIL;
    s_pbuf_t tail = { 0 }, head = { 0 }, more = { 0 };
    tl_format_probe_t fp = { .uri = p->obj->uri, .size = size };
    p->fmt = &tl_format_csv;
    if ((p->rc = s_read_range (p, size - n, n, &tail)) != 0)
        goto done;
    fp.tail = (const uint8_t *) tail.p;
    fp.ntail = tail.len;
    if (n >= 4 && memcmp (tail.p + n - 4, "PAR1", 4) == 0) {
        if (n == size)
            fp.head = fp.tail, fp.nhead = fp.ntail;
        else if ((p->rc = s_read_range (p, 0, 4, &head)) != 0)
            goto done;
        else
            fp.head = (const uint8_t *) head.p, fp.nhead = head.len;
    }
    p->fmt = tl_format_detect (&fp);
    if (!p->plan)
        goto done;
    uint64_t want = p->fmt->tail_needed (&fp);
    if (want > fp.ntail) {
        if ((p->rc = s_read_range (p, size - want, want, &more)) != 0)
            goto done;
        fp.tail = (const uint8_t *) more.p;
        fp.ntail = more.len;
    }
    if (p->fmt->plan (&fp, p->po, &p->tasks, &p->ntasks, p->note, sizeof p->note) != 0)
        p->rc = tl_err_set (&p->e, TL_ENOMEM, 0, "out of memory");
done:
    free (tail.p);
    free (head.p);
    free (more.p);
}

typedef struct {
    s_probe_t *v;
    size_t n;
    _Atomic size_t next;
} s_pool_t;

static void *
s_probe_worker (void *arg)
{
    s_pool_t *pool = arg;
    size_t i;
    while ((i = atomic_fetch_add (&pool->next, 1)) < pool->n)
        s_probe_one (&pool->v [i]);
    return NULL;
}

/*  Probe every object (16 at a time: each is a round trip or two) and, with plan, cut them
    into tasks. Objects not found are left out under --skip-missing. Returns 0 or -1 (logged). */
int
tl_broker_probe_all (tl_broker_t *b, bool plan)
{
    size_t n = b->objs.n;
    s_probe_t *v = calloc (n + 1, sizeof *v);
    b->fmts = calloc (n + 1, sizeof *b->fmts);
    if (!v || !b->fmts) {
        free (v);
        tl_error ("out of memory");
        return -1;
    }
    tl_format_plan_opts_t po = { .split = b->o.split, .query = b->o.col };
    for (size_t i = 0; i < n; i++)
        v [i] = (s_probe_t) { .obj = &b->objs.v [i], .cfg = &b->o.cfg, .po = &po, .plan = plan };
    s_pool_t pool = { v, n, 0 };
    pthread_t th [16];
    size_t nth = n < 16 ? n : 16, started = 0;
    for (size_t i = 1; i < nth; i++)
        started += pthread_create (&th [started], NULL, s_probe_worker, &pool) == 0;
    s_probe_worker (&pool);
    for (size_t i = 0; i < started; i++)
        pthread_join (th [i], NULL);
    int rc = 0;
    size_t w = 0, unprobed = 0;
    for (size_t i = 0; i < n; i++) {
        s_probe_t *p = &v [i];
        if (p->rc == TL_ENOTFOUND && b->o.skip_missing && plan) {
            tl_warn ("%s is missing: left out (--skip-missing): %s", b->objs.v [i].uri, p->e.msg);
            b->missing++;
            free (b->objs.v [i].uri);
            free (b->objs.v [i].etag);
            free (p->tasks);
            continue;
        }
        if (p->rc && plan) {
            /* The probe only plans: the object becomes one task of its whole, and its mapper
               (which may have rights the broker lacks) probes it, or fails naming it. */
            tl_log (unprobed++ ? TL_LOG_DEBUG : TL_LOG_WARN, "cannot read %s to learn its format (%s): it becomes "
                    "one task, and its mapper looks at it", b->objs.v [i].uri, p->e.msg);
            free (p->tasks);
            if (!(p->tasks = calloc (1, sizeof *p->tasks))) {
                tl_error ("out of memory");
                rc = -1;
            }
            else {
                p->tasks [0] = (tl_format_task_t) { 0, b->objs.v [i].size, false };
                p->ntasks = 1;
            }
            p->fmt = NULL;
        }
        else if (p->rc)     /* a resumed job: its tasks are planned already; the mapper probes */
            p->fmt = NULL;
        if (p->fmt == &tl_format_parquet) {
            b->nparquet++;
            if (plan)
                tl_info ("%s: Parquet, %s", b->objs.v [i].uri, p->note);
        }
        b->fmts [w] = p->fmt;
        v [w] = *p;
        b->objs.v [w++] = b->objs.v [i];
    }
    b->objs.n = w;
    if (unprobed > 1)
        tl_warn ("%zu object(s) could not be read to learn their format; each is one task", unprobed);
    if (!rc && plan && !w) {
        tl_error ("no objects to count: every input is missing");
        rc = -1;
    }
    for (size_t i = 0; i < w && plan && !rc; i++)
        for (size_t k = 0; k < v [i].ntasks; k++) {
            b->bytes_total += k == 0 ? b->objs.v [i].size : 0;
            tl_sched_add (b->sched, (uint32_t) i, v [i].tasks [k].offset, v [i].tasks [k].length,
                          v [i].tasks [k].splittable);
        }
    for (size_t i = 0; i < w; i++)
        free (v [i].tasks);
    free (v);
    return rc;
}

