/*  work.c — one task, start to finish, in the format the broker named (or, without one, the
    format a probe of the object's head and tail finds: `tally scan`).

    CSV. A range that does not start at 0 has no header in its bytes, so we first read the
    object's head (up to 1 MiB) until the first newline and resolve the column from that. The
    range is then read from tl_csv_stream_offset() to the object's end, and the scanner stops
    the read once it has finished the last line that starts inside the range (the line rule).

    Parquet. The footer comes from the mapper's cache, or from a ranged GET of the object's
    last 64 KiB (and a second GET for the rest of a longer footer). The task owns the row
    groups whose first needed chunk starts inside its range (lib/core/pqtask.h). For each, in
    file order: skip it if its statistics rule out every row of a --where, else count it,
    reading each needed column chunk [off, off+len) through a window of its own: the column
    reader asks for a page header, then a page body (lib/core/parquet/column.h), and a read
    outside the window refills it with one ranged GET of the next PQ_WINDOW bytes (or of the
    read, if longer) through tl_store_read (retries, resume and If-Match pinning as for CSV).
    Memory: per needed column, the window (or its largest page, if larger), one decompressed
    page and the dictionary; not the chunk, which for a TLC file's one row group is tens of MB. */
#include "mapper/work.h"
#include "mapper/pqcache.h"
#include "lib/wire/codec.h"
#include "lib/core/csv.h"
#include "lib/core/decomp.h"
#include "lib/core/format.h"
#include "lib/core/pqcount.h"
#include "lib/core/parquet/column.h"
#include "lib/core/query.h"
#include "lib/base/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  How much of an object's start a range task reads to find its header: enough to tell a header
    over TL_CSV_LINE_MAX (an error) from one not yet complete. */
#define HEAD_MAX (TL_CSV_LINE_MAX + (64 << 10))

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
    /* A record that spans lines (a quoted newline) makes a cut inexact (lib/core/csv.h): decline. */
    bool multiline = tl_csv_stats (s->csv).multiline > 0;
    if (!compressed && !multiline && s->end > pos && s->end - pos >= (256 << 10)) {
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
    return h->len >= HEAD_MAX ? 1 : 0;
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
        free ((*w_p)->format);
        free (*w_p);
        *w_p = NULL;
    }
}

/*  The PARTIAL's header: the task and its counters, the same in every part. */
static tl_msg_t
s_header (const tl_work_t *w, const char *mapper_name, const tl_work_result_t *out)
{
    return (tl_msg_t) {
        .type = TL_MSG_PARTIAL, .job = w->job, .task = w->task, .attempt = w->attempt, .mapper = mapper_name,
        .offset = w->offset, .length = out->covered,
        .rows = out->rows, .bytes = out->covered, .bad = out->bad, .blank = out->blank,
        .ncells = out->ncells, .filtered = out->filtered, .token = w->token, .verify = w->verify,
        .fetched = out->fetched, .skipped = out->skipped,
    };
}

/*  The groups of one part from *pos on, into groups (NULL: only count them): at most
    TL_PART_GROUPS, and at most TL_PART_BYTES of them encoded, but at least one. */
static size_t
s_part_take (const tl_agg_t *agg, size_t *pos, unsigned ncells, tl_agg_entry_t *groups)
{
    size_t n = 0, bytes = 0;
    tl_agg_entry_t e;
    while (n < TL_PART_GROUPS) {
        size_t at = *pos;
        if (!tl_agg_next (agg, pos, &e))
            break;
        size_t b = tl_msg_group_bound (e.len, ncells);
        if (n && bytes + b > TL_PART_BYTES) {
            *pos = at;      /* it starts the next part */
            break;
        }
        bytes += b;
        if (groups)
            groups [n] = e;
        n++;
    }
    return n;
}

/*  A finished count into the result: one whole PARTIAL when its groups fit in one part (or the
    caller takes no parts), else the table itself, which tl_work_next_part encodes part by part.
    Takes *agg_p in that case. */
static int
s_encode (const tl_work_t *w, const char *mapper_name, tl_agg_t **agg_p, unsigned ncells, uint64_t filtered,
          tl_work_result_t *out)
{
    tl_agg_t *agg = *agg_p;
    size_t ng = tl_agg_size (agg);
    out->filtered = filtered;
    out->ncells = ncells;
    out->groups = ng;
    if (w->parts) {
        uint32_t parts = 0;
        size_t pos = 0;
        while (s_part_take (agg, &pos, ncells, NULL))
            parts++;
        if (parts > 1) {
            out->agg = agg;
            *agg_p = NULL;
            out->parts = parts;
            return 0;
        }
    }
    tl_agg_entry_t *groups = calloc (ng + 1, sizeof *groups);
    if (!groups)
        return tl_err_set (&out->err, TL_ENOMEM, 1, "out of memory");
    size_t pos = 0, i = 0;
    while (tl_agg_next (agg, &pos, &groups [i]))
        i++;
    tl_msg_t m = s_header (w, mapper_name, out);
    m.groups = groups;
    m.n_groups = ng;
    int rc = 0;
    if (tl_msg_encode (&m, &out->partial, &out->partial_len) != 0)
        rc = tl_err_set (&out->err, TL_ENOMEM, 1, "cannot encode partial");
    free (groups);
    return rc;
}

int
tl_work_next_part (const tl_work_t *w, const char *mapper_name, tl_work_result_t *out)
{
    if (!out->agg || out->part >= out->parts)
        return 1;
    free (out->partial);
    out->partial = NULL;
    out->partial_len = 0;
    size_t cap = tl_agg_size (out->agg) < TL_PART_GROUPS ? tl_agg_size (out->agg) : TL_PART_GROUPS;
    tl_agg_entry_t *groups = malloc ((cap + 1) * sizeof *groups);
    if (!groups)
        return TL_ENOMEM;
    tl_msg_t m = s_header (w, mapper_name, out);
    m.groups = groups;
    m.n_groups = s_part_take (out->agg, &out->pos, out->ncells, groups);
    m.part = out->part + 1;
    m.parts = out->parts;
    int rc = tl_msg_encode (&m, &out->partial, &out->partial_len) != 0 ? TL_ENOMEM : 0;
    free (groups);
    if (rc == 0)
        out->part++;
    return rc;
}

void
tl_work_result_clear (tl_work_result_t *out)
{
    free (out->partial);
    out->partial = NULL;
    tl_agg_destroy (&out->agg);
}

/*  Prefix out's message with the object's name. */
static int
s_name_object (tl_work_result_t *out, const char *uri, int rc)
{
    char m [sizeof out->err.msg];
    snprintf (m, sizeof m, "%s", out->err.msg);
    int retry = out->err.retryable;
    tl_err_set (&out->err, rc, retry, "%s: %s", uri, m);
    return rc;
}

/*  The object's version as listed, for the header cache: a header read from another version
    (the object written since, between two jobs of a mapper that stays) must not be used. */
static void
s_version (const tl_work_t *w, char *buf, size_t n)
{
    snprintf (buf, n, "%llu %lld %s", (unsigned long long) w->size, (long long) w->mtime_ns, w->etag ? w->etag : "");
}

/*  The task's own table: the slot's spare one, cleared, when it has the query's cells (its pages
    are in memory already: on a VM every fresh page of every task's table was a fault and a
    zeroing, a tenth of a mapper's time), else a new one. Takes the spare either way. */
static tl_agg_t *
s_own_table (const tl_work_t *w, unsigned ncells)
{
    tl_agg_t *t = w->spare ? *w->spare : NULL;
    if (w->spare)
        *w->spare = NULL;
    if (t && tl_agg_ncells (t) == ncells) {
        tl_agg_clear (t);
        return t;
    }
    tl_agg_destroy (&t);
    return tl_agg_new_cells (ncells);
}

static void
s_run_csv (const tl_work_t *w, const char *mapper_name, tl_store_cfg_t cfg, const volatile int *cancel,
           _Atomic uint64_t *progress, tl_steal_t *steal, tl_colcache_t *cache, tl_work_result_t *out)
{
    tl_query_t *q = malloc (sizeof *q);
    tl_err_t qe;
    int qok = q && tl_query_parse (w->col, q, &qe) == 0;
    unsigned ncells = qok ? (unsigned) q->nvals : 0;
    free (q);
    if (qok && w->into && tl_agg_ncells (w->into) != ncells)
        qok = 0;
    tl_agg_t *own = qok && !w->into ? s_own_table (w, ncells) : NULL;
    if (own && w->groups_hint)
        (void) tl_agg_reserve (own, w->groups_hint);    /* a hint: without the memory, it grows as it goes */
    tl_agg_t *agg = qok && w->into ? w->into : own;
    tl_csv_t *csv = agg ? tl_csv_new (w->col, agg) : NULL;
    char *cached = NULL;
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
    char version [512];
    s_version (w, version, sizeof version);
    cached = w->offset > 0 ? tl_colcache_get (cache, w->uri, version, &hdr_len, &hdr_at) : NULL;
    if (cached && (rc = tl_csv_set_header_at (csv, cached, hdr_len, hdr_at, &out->err)) != 0) {
        char m [sizeof out->err.msg];
        snprintf (m, sizeof m, "%s", out->err.msg);
        tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, m);
        goto done;
    }
    else if (!cached && w->offset > 0) {
        tl_store_cfg_t hcfg = cfg;
        hcfg.size_hint = 0;     /* the header: one small plain GET */
        rc = tl_store_read (&hcfg, w->uri, 0, HEAD_MAX, s_head_sink, &head, cancel, &out->rs, &out->err);
        out->fetched += head.len;
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
        tl_colcache_put (cache, w->uri, version, head.buf + head.line, head.linelen, head.at);
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
        if (rc == TL_ECOLUMN || (rc == TL_EPROTO && strncmp (out->err.msg, w->uri, strlen (w->uri)) != 0)) {
            char m [sizeof out->err.msg];
            snprintf (m, sizeof m, "%s", out->err.msg);
            tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, m);
        }
        goto done;
    }
    tl_csv_stats_t st = tl_csv_stats (csv);
    if (st.multiline && !(w->offset == 0 && scan.end >= w->size)) {
        /* A range cannot know whether its first newline was inside quotes (csv.h): only a
           whole-object task counts records that span lines exactly. */
        uint64_t at = 0, line = 0;
        tl_csv_multiline_at (csv, &at, &line);
        rc = tl_err_set (&out->err, TL_EINVAL, 0, "%s: the record at byte %llu spans lines (a quoted newline) or holds an "
                         "odd number of quotes (a stray quote), which a byte-range task cannot count exactly: use "
                         "--split-size 0 (or a bigger one) for this object",
                         w->uri, (unsigned long long) at);
        goto done;
    }
    out->rows = st.rows;
    out->bad = st.bad;
    out->blank = st.blank;
    out->covered = scan.end - w->offset;
    out->bytes = out->covered;
    out->fetched += scan.read;
    if (w->into)
        out->filtered = st.filtered;
    else
        rc = s_encode (w, mapper_name, &own, ncells, st.filtered, out);     /* may take the table */
done:
    out->rc = rc;
    if (rc && !out->err.code)
        tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, tl_strerror (rc));
    free (cached);
    free (head.buf);
    tl_csv_destroy (&csv);
    tl_agg_destroy (&own);
}

/* ---------------------------------------------------------------- Parquet */

static _Atomic uint64_t s_max_page;

void
tl_work_set_max_page (uint64_t bytes)
{
    atomic_store (&s_max_page, bytes);
}

static size_t
s_page_cap (void)
{
    uint64_t v = atomic_load (&s_max_page);
    const char *env = getenv ("TALLY_MAX_PAGE_SIZE");
    if (!v && env && tl_parse_size (env, &v) != 0)
        v = 0;
    return v ? (size_t) v : TL_PQ_DEFAULT_MAX_PAGE;
}

typedef struct {
    uint8_t *p;
    size_t len, cap, want;
} s_buf_t;

static int
s_buf_sink (void *arg, const char *buf, size_t len)
{
    s_buf_t *b = arg;
    if (len > b->want - b->len)
        return TL_EPROTO;       /* more than asked for: the server ignored the range */
    if (b->len + len > b->cap) {
        size_t cap = b->want > b->cap ? b->want : b->cap * 2;
        uint8_t *p = realloc (b->p, cap);
        if (!p)
            return TL_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy (b->p + b->len, buf, len);
    b->len += len;
    return 0;
}

/*  Bytes [off, off+len) of the object into b after its first keep bytes (which stay), exactly. */
static int
s_fetch_after (const tl_work_t *w, const tl_store_cfg_t *cfg, size_t keep, uint64_t off, uint64_t len, s_buf_t *b,
               const volatile int *cancel, tl_work_result_t *out)
{
    b->len = keep;
    b->want = keep + (size_t) len;
    if (len == 0)
        return 0;
    int rc = tl_store_read (cfg, w->uri, off, len, s_buf_sink, b, cancel, &out->rs, &out->err);
    size_t got = b->len - keep;
    out->fetched += got;
    if (rc == TL_EPROTO && !out->err.code)
        return tl_err_set (&out->err, rc, 0, "%s: more bytes than the range [%llu, %llu) holds", w->uri,
                           (unsigned long long) off, (unsigned long long) (off + len));
    if (!rc && got != len)
        rc = tl_err_set (&out->err, TL_ECHANGED, 0, "%s: %zu bytes at %llu where %llu were asked for (was the object "
                         "changed since it was listed?)", w->uri, got, (unsigned long long) off,
                         (unsigned long long) len);
    return rc;
}

/*  Bytes [off, off+len) of the object into b, exactly. */
static int
s_fetch (const tl_work_t *w, const tl_store_cfg_t *cfg, uint64_t off, uint64_t len, s_buf_t *b,
         const volatile int *cancel, tl_work_result_t *out)
{
    return s_fetch_after (w, cfg, 0, off, len, b, cancel, out);
}

/*  How much of a column chunk one GET reads. On S3 every GET is a round trip of tens of ms and
    a request charge, so a window of a page or two (16 KiB to 1 MiB) would multiply requests by
    hundreds; the whole chunk is what a slot must not hold. 4 MiB a column keeps a TLC chunk to
    a few dozen requests and a 5-column query to about 20 MiB of windows. TALLY_PQ_WINDOW sets
    another size (the tests use a small one, and one past every chunk, which reads each chunk
    in one GET as before the window). */
#define PQ_WINDOW ((size_t) 4 << 20)

static size_t
s_window (void)
{
    uint64_t v = 0;
    const char *env = getenv ("TALLY_PQ_WINDOW");
    if (!env || tl_parse_size (env, &v) != 0 || v == 0)
        return PQ_WINDOW;
    return v > SIZE_MAX ? SIZE_MAX : (size_t) v;
}

/*  The object's footer: from the cache, or fetched (tail, then the rest of a longer footer). A
    probe may already hold the tail. Returns a cache reference in *meta. */
static int
s_footer (const tl_work_t *w, const tl_store_cfg_t *cfg, const volatile int *cancel, s_buf_t *tail,
          tl_work_result_t *out, const tl_pq_meta_t **meta)
{
    tl_pqcache_t *cache = tl_pqcache_shared ();
    if ((*meta = tl_pqcache_get (cache, w->uri, w->size, w->etag, w->mtime_ns)))
        return 0;
    int rc;
    if (w->size < 12)
        return tl_err_set (&out->err, TL_EPROTO, 0, "%s: %llu bytes is too short for Parquet", w->uri,
                           (unsigned long long) w->size);
    uint64_t n = w->size < TL_FORMAT_TAIL ? w->size : TL_FORMAT_TAIL;
    if (tail->len != n && (rc = s_fetch (w, cfg, w->size - n, n, tail, cancel, out)) != 0)
        return rc;
    uint32_t mlen;
    if ((rc = tl_pq_footer_len (tail->p, tail->len, &mlen, &out->err)) != 0)
        return s_name_object (out, w->uri, rc);
    if ((uint64_t) mlen + 12 > w->size)
        return tl_err_set (&out->err, TL_EPROTO, 0, "%s: footer length %u runs past the start of the object (%llu "
                           "bytes)", w->uri, mlen, (unsigned long long) w->size);
    if (mlen > (64u << 20))
        return tl_err_set (&out->err, TL_EFULL, 0, "%s: footer of %u bytes is over the 64 MiB limit", w->uri, mlen);
    const uint8_t *fp = tail->p + tail->len - 8 - mlen;
    s_buf_t whole = { 0 };
    if ((uint64_t) mlen + 8 > tail->len) {
        /* A footer longer than the tail: fetch what is missing before it, and join. */
        uint64_t have = tail->len - 8, miss = mlen - have;
        if ((rc = s_fetch (w, cfg, w->size - tail->len - miss, miss, &whole, cancel, out)) != 0) {
            free (whole.p);
            return rc;
        }
        uint8_t *p = realloc (whole.p, mlen);
        if (!p) {
            free (whole.p);
            return tl_err_set (&out->err, TL_ENOMEM, 1, "out of memory");
        }
        whole.p = p;
        memcpy (whole.p + miss, tail->p, have);
        fp = whole.p;
    }
    tl_pq_meta_t *m = NULL;
    rc = tl_pq_meta_parse (fp, mlen, &m, &out->err);
    free (whole.p);
    if (rc)
        return s_name_object (out, w->uri, rc);
    if (!(*meta = tl_pqcache_put (cache, w->uri, w->size, w->etag, w->mtime_ns, &m)))
        return tl_err_set (&out->err, TL_ENOMEM, 1, "out of memory");
    return 0;
}

/*  A steal asks for a cut: Parquet tasks are whole row groups, so it is declined. */
static void
s_decline_steal (tl_steal_t *steal)
{
    if (steal && atomic_load (&steal->req) == 1) {
        atomic_store (&steal->cut, 0);
        atomic_store (&steal->req, 2);
        if (steal->notify)
            steal->notify (steal->notify_arg);
    }
}

/*  A column chunk's byte source (tl_pq_src_t): buf holds the chunk's bytes [woff, woff+buf.len). */
typedef struct {
    const tl_work_t *w;
    const tl_store_cfg_t *cfg;
    const volatile int *cancel;
    tl_steal_t *steal;
    tl_work_result_t *out;
    uint64_t base, len;         /* the chunk is the object's bytes [base, base+len) */
    uint64_t woff;
    size_t window;
    s_buf_t buf;                /* kept across row groups: its capacity is reused */
} s_win_t;

static int
s_win_read (void *arg, uint64_t off, size_t len, const uint8_t **p, tl_err_t *e)
{
    static const uint8_t empty [1];
    s_win_t *s = arg;
    if (off > s->len || len > s->len - off)     /* the reader asks only inside the chunk */
        return tl_err_set (e, TL_EINVAL, 0, "%s: read of [%llu, +%zu) past a column chunk of %llu bytes", s->w->uri,
                           (unsigned long long) off, len, (unsigned long long) s->len);
    if (len == 0) {
        *p = empty;
        return 0;
    }
    if (s->buf.p && off >= s->woff && off - s->woff <= s->buf.len && len <= s->buf.len - (off - s->woff)) {
        *p = s->buf.p + (off - s->woff);
        return 0;
    }
    s_decline_steal (s->steal);     /* a row group can take a while: answer between GETs */
    uint64_t n = len > s->window ? len : s->window;
    n = n < s->len - off ? n : s->len - off;
    /* A read that starts inside the window (a header probe or a page crossing its end) keeps
       the window's tail and fetches only what follows it. */
    size_t keep = 0;
    if (s->buf.p && off >= s->woff && off - s->woff < s->buf.len) {
        keep = s->buf.len - (size_t) (off - s->woff);
        memmove (s->buf.p, s->buf.p + (off - s->woff), keep);
    }
    s->woff = off;
    int rc = s_fetch_after (s->w, s->cfg, keep, s->base + off + keep, n - keep, &s->buf, s->cancel, s->out);
    if (rc) {
        s->buf.len = 0;
        if (e != &s->out->err)
            *e = s->out->err;
        return rc;
    }
    *p = s->buf.p;
    return 0;
}

static void
s_run_parquet (const tl_work_t *w, const char *mapper_name, tl_store_cfg_t cfg, const volatile int *cancel,
               _Atomic uint64_t *progress, tl_steal_t *steal, s_buf_t *tail, tl_work_result_t *out)
{
    const tl_pq_meta_t *m = NULL;
    tl_pqquery_t *pq = malloc (sizeof *pq);
    tl_agg_t *agg = NULL, *own = NULL;
    tl_pqcount_t *count = NULL;
    s_win_t wins [TL_PQ_MAX_NEEDED] = { { 0 } };
    size_t window = s_window ();
    uint64_t *starts = NULL, *needs = NULL;
    int rc;
    if (!pq) {
        rc = tl_err_set (&out->err, TL_ENOMEM, 1, "out of memory");
        goto done;
    }
    if ((rc = s_footer (w, &cfg, cancel, tail, out, &m)) != 0)
        goto done;
    if ((rc = tl_pqquery_resolve (pq, w->col, m, &out->err)) != 0) {
        s_name_object (out, w->uri, rc);
        goto done;
    }
    if (w->into && tl_agg_ncells (w->into) != (unsigned) pq->q.nvals) {
        rc = tl_err_set (&out->err, TL_EINVAL, 0, "%s: the table counted into has %u cells, the query %d", w->uri,
                         tl_agg_ncells (w->into), pq->q.nvals);
        goto done;
    }
    own = w->into ? NULL : s_own_table (w, (unsigned) pq->q.nvals);
    if (own && w->groups_hint)
        (void) tl_agg_reserve (own, w->groups_hint);
    agg = w->into ? w->into : own;
    count = agg ? tl_pqcount_new (pq, m, agg, s_page_cap ()) : NULL;
    starts = calloc (m->nrgs + 1, sizeof *starts);
    needs = calloc (m->nrgs + 1, sizeof *needs);
    if (!count || !starts || !needs) {
        rc = tl_err_set (&out->err, TL_ENOMEM, 1, "out of memory");
        goto done;
    }
    /* The row groups this task owns, and their needed bytes (for progress). */
    uint64_t total = 0, done_bytes = 0;
    for (size_t r = 0; r < m->nrgs; r++) {
        if ((rc = tl_pqtask_rg_span (m, w->size, pq, r, &starts [r], &needs [r], &out->err)) != 0) {
            s_name_object (out, w->uri, rc);
            goto done;
        }
        if (tl_pqtask_owns (w->offset, w->length, starts [r]))
            total += needs [r];
    }
    for (size_t r = 0; r < m->nrgs; r++) {
        if (!tl_pqtask_owns (w->offset, w->length, starts [r]))
            continue;
        s_decline_steal (steal);
        if (cancel && *cancel) {
            rc = tl_err_set (&out->err, TL_ECANCEL, 0, "%s: cancelled", w->uri);
            goto done;
        }
        if (pq->q.nwhere && tl_pqtask_skip (pq, m, r)) {
            tl_pqcount_skipped (count, r);
            out->skipped++;
        }
        else {
            tl_pq_src_t srcs [TL_PQ_MAX_NEEDED];
            for (int j = 0; j < pq->ncols; j++) {
                uint64_t off, len;
                if ((rc = tl_pq_chunk_range (&m->rgs [r].chunks [pq->cols [j]], w->size, &off, &len, &out->err)) != 0) {
                    s_name_object (out, w->uri, rc);
                    goto done;
                }
                s_win_t *s = &wins [j];
                *s = (s_win_t) { .w = w, .cfg = &cfg, .cancel = cancel, .steal = steal, .out = out, .base = off,
                                 .len = len, .window = window, .buf = { .p = s->buf.p, .cap = s->buf.cap } };
                srcs [j] = (tl_pq_src_t) { .read = s_win_read, .arg = s, .len = len };
            }
            /* A read's error (network, cancel, a changed object) comes back as s_fetch set it. */
            if ((rc = tl_pqcount_rowgroup_src (count, r, srcs, &out->err)) != 0) {
                if (rc != TL_ECANCEL && !strstr (out->err.msg, w->uri))
                    s_name_object (out, w->uri, rc);
                goto done;
            }
        }
        done_bytes += needs [r];
        /* Progress is in the task's unit, bytes of its range: the share of its needed bytes. */
        if (progress && total)
            atomic_store_explicit (progress, (uint64_t) ((double) w->length * (double) done_bytes / (double) total),
                                   memory_order_relaxed);
    }
    if ((rc = tl_pqcount_finish (count, &out->err)) != 0)
        goto done;
    tl_pqcount_stats_t st = tl_pqcount_stats (count);
    out->rows = st.rows;
    out->bad = st.bad;
    out->covered = w->length;
    out->bytes = w->length;
    if (w->into)
        out->filtered = st.filtered;
    else
        rc = s_encode (w, mapper_name, &own, (unsigned) pq->q.nvals, st.filtered, out);     /* may take it */
done:
    out->rc = rc;
    if (rc && !out->err.code)
        tl_err_set (&out->err, rc, 0, "%s: %s", w->uri, tl_strerror (rc));
    for (int j = 0; j < TL_PQ_MAX_NEEDED; j++)
        free (wins [j].buf.p);
    free (starts);
    free (needs);
    tl_pqcount_destroy (&count);
    tl_agg_destroy (&own);
    free (pq);
    tl_pqcache_release (tl_pqcache_shared (), m);
}

/* ---------------------------------------------------------------- dispatch */

/*  No format named (`tally scan`, or a broker that predates formats): look at the object. The
    tail is kept, since a Parquet task needs it next. */
static const tl_format_t *
s_probe (const tl_work_t *w, const tl_store_cfg_t *cfg, const volatile int *cancel, s_buf_t *tail,
         tl_work_result_t *out)
{
    uint64_t n = w->size < TL_FORMAT_TAIL ? w->size : TL_FORMAT_TAIL;
    if (w->size < 12)
        return &tl_format_csv;
    /* A read that fails fails the task: guessing CSV would count a Parquet object's bytes. */
    if (s_fetch (w, cfg, w->size - n, n, tail, cancel, out) != 0)
        return NULL;
    if (memcmp (tail->p + n - 4, "PAR1", 4) != 0)
        return &tl_format_csv;
    uint8_t head [4];
    s_buf_t hb = { 0 };
    if (s_fetch (w, cfg, 0, 4, &hb, cancel, out) != 0) {
        free (hb.p);
        return NULL;
    }
    memcpy (head, hb.p, 4);
    free (hb.p);
    tl_format_probe_t p = { .uri = w->uri, .size = w->size, .head = head, .nhead = 4, .tail = tail->p, .ntail = tail->len };
    return tl_format_detect (&p);
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

    s_buf_t tail = { 0 };
    const tl_format_t *fmt = w->format && *w->format ? tl_format_by_name (w->format) : NULL;
    if (w->format && *w->format && !fmt) {
        out->rc = tl_err_set (&out->err, TL_EINVAL, 0, "%s: unknown format '%s' (this mapper reads csv and parquet)",
                              w->uri, w->format);
        return;
    }
    if (!fmt && !(fmt = s_probe (w, &cfg, cancel, &tail, out))) {
        out->rc = out->err.code ? out->err.code : TL_EIO;
        if (!strstr (out->err.msg, w->uri))
            s_name_object (out, w->uri, out->rc);
    }
    else if (fmt == &tl_format_parquet)
        s_run_parquet (w, mapper_name, cfg, cancel, progress, steal, &tail, out);
    else
        s_run_csv (w, mapper_name, cfg, cancel, progress, steal, cache, out);
    free (tail.p);
}
