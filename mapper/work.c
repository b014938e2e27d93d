/*  work.c — one task, start to finish.

    A range that does not start at 0 has no header in its bytes, so we first read the object's
    head (up to 1 MiB) until the first newline and resolve the column from that. The range is
    then read from tl_csv_stream_offset() to the object's end, and the scanner stops the read
    once it has finished the last line that starts inside the range (the line rule). */
#include "mapper/work.h"
#include "lib/wire/codec.h"
#include "lib/core/csv.h"
#include "lib/core/decomp.h"
#include "lib/core/query.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tl_csv_t *csv;
    tl_err_t *e;
    _Atomic uint64_t *progress;
    uint64_t read;
    tl_steal_t *steal;
    uint64_t end;           /* the range end now in force */
    tl_decomp_t *decomp;    /* whole-object tasks: gzip/zstd/plain, by magic bytes */
} s_scan_t;

/*  Someone wants part of our range: keep a share of what is left, at or after our position. */
static void
s_answer_steal (s_scan_t *s)
{
    uint64_t pos = tl_csv_position (s->csv), cut = 0;
    uint64_t keep = atomic_load (&s->steal->keep);
    bool compressed = s->decomp && tl_decomp_kind (s->decomp) != TL_DECOMP_PLAIN;
    if (!compressed && s->end > pos && s->end - pos >= (256 << 10)) {
        cut = pos + (s->end - pos) * keep / 1000;
        if (cut <= pos || cut >= s->end || tl_csv_set_end (s->csv, cut) != 0)
            cut = 0;
        else
            s->end = cut;
    }
    atomic_store (&s->steal->cut, cut);
    atomic_store (&s->steal->req, 2);
    if (s->steal->notify)
        s->steal->notify (s->steal->notify_arg);
}

/*  Text into the scanner (after decompression, if any). */
static int
s_scan_sink (void *arg, const char *buf, size_t len)
{
    s_scan_t *s = arg;
    if (s->steal && atomic_load (&s->steal->req) == 1)
        s_answer_steal (s);
    return tl_csv_feed (s->csv, buf, len, s->e);
}

/*  Bytes from storage: count them for progress (the broker measures tasks in stored bytes),
    then decompress or pass through. */
static int
s_read_sink (void *arg, const char *buf, size_t len)
{
    s_scan_t *s = arg;
    s->read += len;
    if (s->progress)
        atomic_store_explicit (s->progress, s->read, memory_order_relaxed);
    return s->decomp ? tl_decomp_feed (s->decomp, buf, len) : s_scan_sink (s, buf, len);
}

typedef struct {
    char *buf;
    size_t len;
    int found;
    size_t line, linelen;   /* the header line within buf */
    uint64_t at;            /* its offset in the object */
} s_head_t;

static int
s_head_sink (void *arg, const char *buf, size_t len)
{
    s_head_t *h = arg;
    char *nb = realloc (h->buf, h->len + len);
    if (!nb)
        return TL_ENOMEM;
    h->buf = nb;
    memcpy (h->buf + h->len, buf, len);
    h->len += len;
    const char *line;
    size_t n;
    uint64_t at;
    if (tl_csv_find_header (h->buf, h->len, &line, &n, &at)) {
        h->found = 1;
        h->line = (size_t) (line - h->buf);
        h->linelen = n;
        h->at = at;
        return 1;
    }
    return h->len >= (1 << 20) ? 1 : 0;
}

void
tl_work_destroy (tl_work_t **w_p)
{
    if (w_p && *w_p) {
        free ((*w_p)->uri);
        free ((*w_p)->col);
        free ((*w_p)->endpoint);
        free ((*w_p)->region);
        free ((*w_p)->token);
        free ((*w_p)->etag);
        free (*w_p);
        *w_p = NULL;
    }
}

void
tl_work_run (const tl_work_t *w, const char *mapper_name, const tl_store_cfg_t *mcfg,
             const volatile int *cancel, _Atomic uint64_t *progress, tl_steal_t *steal, tl_colcache_t *cache,
             tl_work_result_t *out)
{
    memset (out, 0, sizeof *out);
    tl_store_cfg_t cfg = { 0 };
    if (mcfg)
        cfg = *mcfg;
    if (!cfg.endpoint && w->endpoint && *w->endpoint)
        cfg.endpoint = w->endpoint;
    if (!cfg.region && w->region && *w->region)
        cfg.region = w->region;
    cfg.nosign = cfg.nosign || w->nosign;
    cfg.size_hint = w->size;
    cfg.if_match = w->etag;             /* pinned: the object must be the one that was listed */
    cfg.expect_mtime_ns = w->mtime_ns;
    tl_store_cfg_from_env (&cfg);

    tl_query_t *q = malloc (sizeof *q);
    tl_err_t qe;
    int qok = q && tl_query_parse (w->col, q, &qe) == 0;
    unsigned ncells = qok ? (unsigned) q->nvals : 0;
    free (q);
    tl_agg_t *agg = qok ? tl_agg_new_cells (ncells) : NULL;
    tl_csv_t *csv = agg ? tl_csv_new (w->col, agg) : NULL;
    char *cached = NULL;
    tl_agg_entry_t *groups = NULL;
    s_head_t head = { 0 };
    int rc = 0;
    if (!csv) {
        rc = tl_err_set (&out->err, TL_EINVAL, 0, "bad group-by spec '%s'", w->col);
        goto done;
    }
    uint64_t end = w->offset + w->length;
    tl_csv_set_range (csv, w->offset, end >= w->size ? UINT64_MAX : end);
    uint64_t hdr_at = 0;
    size_t hdr_len = 0;
    cached = w->offset > 0 ? tl_colcache_get (cache, w->uri, &hdr_len, &hdr_at) : NULL;
    if (cached && (rc = tl_csv_set_header_at (csv, cached, hdr_len, hdr_at, &out->err)) != 0) {
        char m [sizeof out->err.msg];
        snprintf (m, sizeof m, "%s", out->err.msg);
        tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, m);
        goto done;
    }
    else if (!cached && w->offset > 0) {
        tl_store_cfg_t hcfg = cfg;
        hcfg.size_hint = 0;     /* the header: one small plain GET */
        rc = tl_store_read (&hcfg, w->uri, 0, 1 << 20, s_head_sink, &head, cancel, &out->rs, &out->err);
        if (rc)
            goto done;
        if (head.len >= 2 && ((unsigned char) head.buf [0] == 0x1f && (unsigned char) head.buf [1] == 0x8b)) {
            rc = tl_err_set (&out->err, TL_EINVAL, 0, "%s is gzip-compressed and cannot be split into byte ranges "
                             "(give it a .gz name, or --split-size 0)", w->uri);
            goto done;
        }
        if (!head.found) {
            rc = tl_err_set (&out->err, TL_EPROTO, 0, "%s: no header line in the first %zu bytes", w->uri, head.len);
            goto done;
        }
        if ((rc = tl_csv_set_header_at (csv, head.buf + head.line, head.linelen, head.at, &out->err)) != 0) {
            char m [sizeof out->err.msg];
            snprintf (m, sizeof m, "%s", out->err.msg);
            tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, m);
            goto done;
        }
        tl_colcache_put (cache, w->uri, head.buf + head.line, head.linelen, head.at);
    }
    uint64_t from = tl_csv_stream_offset (csv);
    s_scan_t scan = { .csv = csv, .e = &out->err, .progress = progress, .steal = steal, .end = end };
    if (w->offset == 0 && !(scan.decomp = tl_decomp_new (s_scan_sink, &scan, &out->err))) {
        rc = out->err.code;
        goto done;
    }
    rc = tl_store_read (&cfg, w->uri, from, UINT64_MAX, s_read_sink, &scan, cancel, &out->rs, &out->err);
    if (rc == 0 && scan.decomp) {
        if (tl_decomp_kind (scan.decomp) != TL_DECOMP_PLAIN && w->length < w->size)
            rc = tl_err_set (&out->err, TL_EINVAL, 0, "%s is compressed and cannot be split into byte ranges "
                             "(give it a .gz/.zst name, or --split-size 0)", w->uri);
        else if ((rc = tl_decomp_finish (scan.decomp)) != 0) {
            char m [sizeof out->err.msg];
            snprintf (m, sizeof m, "%s", out->err.msg);
            tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, m);
        }
    }
    tl_decomp_destroy (&scan.decomp);
    if (rc == 0)
        rc = tl_csv_finish (csv, &out->err);
    if (rc) {
        if (rc == TL_ECOLUMN) {
            char m [sizeof out->err.msg];
            snprintf (m, sizeof m, "%s", out->err.msg);
            tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, m);
        }
        goto done;
    }
    tl_csv_stats_t st = tl_csv_stats (csv);
    out->rows = st.rows;
    out->bad = st.bad;
    out->blank = st.blank;
    out->covered = scan.end - w->offset;
    out->bytes = out->covered;
    size_t ng = tl_agg_size (agg);
    groups = calloc (ng + 1, sizeof *groups);
    if (!groups) {
        rc = tl_err_set (&out->err, TL_ENOMEM, 1, "out of memory");
        goto done;
    }
    size_t pos = 0, i = 0;
    while (tl_agg_next (agg, &pos, &groups [i]))
        i++;
    tl_msg_t m = {
        .type = TL_MSG_PARTIAL, .job = w->job, .task = w->task, .attempt = w->attempt, .mapper = mapper_name,
        .offset = w->offset, .length = out->covered,
        .rows = st.rows, .bytes = out->covered, .bad = st.bad, .blank = st.blank, .groups = groups, .n_groups = ng,
        .ncells = ncells, .filtered = st.filtered, .token = w->token, .verify = w->verify,
    };
    if (tl_msg_encode (&m, &out->partial, &out->partial_len) != 0)
        rc = tl_err_set (&out->err, TL_ENOMEM, 1, "cannot encode partial");
done:
    out->rc = rc;
    if (rc && !out->err.code)
        tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, tl_strerror (rc));
    free (groups);
    free (cached);
    free (head.buf);
    tl_csv_destroy (&csv);
    tl_agg_destroy (&agg);
}
