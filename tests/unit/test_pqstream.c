/*  The column reader fed through a byte source (lib/core/parquet/column.h, tl_pq_src_t) rather
    than a whole chunk, on a file of tally's writer with one big row group of many pages: an
    INT64 column of plain pages, an OPTIONAL INT32 dictionary column, a STRING dictionary of
    8,000 entries (over 100 KB, longer than the header probe), a STRING column whose dictionary
    falls back to plain pages midway, an OPTIONAL DOUBLE of plain pages; uncompressed (so the
    dictionaries are stored as they are and must be copied), SNAPPY and ZSTD.

    The source under test hands out each read in a fresh buffer sized to the read, and scribbles
    over (0xAA) and frees the previous one: a pointer the reader keeps across a read shows up
    as a wrong value in Release and as a heap-use-after-free under ASan. It also records the
    largest read, which must be the larger of the header probe and the largest compressed page,
    far below the chunk. Counts and batches must equal the whole-chunk reader's, and counts the
    values written (the ground truth). A source's error comes back as the source set it; a
    page header longer than the probe is read with a longer one; a chunk cut anywhere fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/core/pqcount.h"
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/page.h"
#include "lib/core/parquet/value.h"
#include "lib/core/parquet/write.h"

#define ROWS 300000
#define NDICT 8000          /* distinct values of s */
#define NCOLS 5

/* ---- the file and its ground truth */

static uint64_t
s_mix (uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*  Row r: id a random 44-bit number (so its pages do not compress), k = r % 7 or NULL every
    11th, s one of NDICT strings, t one of 1,000 (the dictionary falls back after 300), x a
    half-integer or NULL every 13th. */
static int64_t s_id (int r) { return (int64_t) (s_mix ((uint64_t) r) & 0xfffffffffffULL); }
static bool s_k_null (int r) { return r % 11 == 0; }
static bool s_x_null (int r) { return r % 13 == 0; }
static int s_sv (int r) { return (int) (s_mix ((uint64_t) r + 77) % NDICT); }
static double s_x (int r) { return (r % 4001) * 0.5; }

static void
s_texts (int r, char b [NCOLS][64], tl_field_t *f)
{
    snprintf (b [0], 64, "%lld", (long long) s_id (r));
    snprintf (b [1], 64, "%d", r % 7);
    snprintf (b [2], 64, "str-%06d", s_sv (r));
    snprintf (b [3], 64, "t%d", r % 1000);
    int h = r % 4001;
    if (h % 2)
        snprintf (b [4], 64, "%d.5", h / 2);
    else
        snprintf (b [4], 64, "%d", h / 2);
    for (int i = 0; i < NCOLS; i++)
        f [i] = (tl_field_t) { b [i], strlen (b [i]) };
    if (s_k_null (r))
        f [1] = (tl_field_t) { "", 0 };
    if (s_x_null (r))
        f [4] = (tl_field_t) { "", 0 };
}

static uint8_t *
s_file (tl_pq_wcodec_t codec, size_t *len)
{
    tl_pq_wcol_t cols [NCOLS] = {
        { .name = "id", .type = TL_PQW_INT64, .encoding = TL_PQW_PLAIN },
        { .name = "k", .type = TL_PQW_INT32, .optional = true, .encoding = TL_PQW_DICT },
        { .name = "s", .type = TL_PQW_BYTE_ARRAY, .logical = TL_PQW_STRING, .encoding = TL_PQW_DICT },
        { .name = "t", .type = TL_PQW_BYTE_ARRAY, .logical = TL_PQW_STRING, .encoding = TL_PQW_DICT_FALLBACK },
        { .name = "x", .type = TL_PQW_DOUBLE, .optional = true, .encoding = TL_PQW_PLAIN },
    };
    tl_pq_wopts_t o = { .codec = codec, .page_size = 16 << 10, .dict_max = 300 };
    tl_pq_writer_t *w = tl_pq_writer_new (cols, NCOLS, &o, NULL);
    assert_non_null (w);
    for (int r = 0; r < ROWS; r++) {
        char b [NCOLS][64];
        tl_field_t f [NCOLS];
        s_texts (r, b, f);
        assert_int_equal (tl_pq_writer_add_i64 (w, 0, s_id (r)), 0);
        assert_int_equal (s_k_null (r) ? tl_pq_writer_add_null (w, 1) : tl_pq_writer_add_i32 (w, 1, r % 7), 0);
        assert_int_equal (tl_pq_writer_add_bytes (w, 2, b [2], strlen (b [2])), 0);
        assert_int_equal (tl_pq_writer_add_bytes (w, 3, b [3], strlen (b [3])), 0);
        assert_int_equal (s_x_null (r) ? tl_pq_writer_add_null (w, 4) : tl_pq_writer_add_f64 (w, 4, s_x (r)), 0);
    }
    uint8_t *buf;
    assert_int_equal (tl_pq_writer_finish (w, &buf, len), 0);   /* one row group */
    tl_pq_writer_destroy (&w);
    return buf;
}

static tl_pq_meta_t *
s_meta (const uint8_t *f, size_t n)
{
    uint32_t mlen;
    tl_err_t e;
    tl_pq_meta_t *m = NULL;
    assert_int_equal (tl_pq_footer_len (f, n, &mlen, &e), 0);
    assert_int_equal (tl_pq_meta_parse (f + n - 8 - mlen, mlen, &m, &e), 0);
    assert_int_equal (m->nrgs, 1);
    return m;
}

static const uint8_t *
s_chunk (const uint8_t *f, size_t n, const tl_pq_meta_t *m, int col, size_t *len)
{
    uint64_t off, l;
    tl_err_t e;
    assert_int_equal (tl_pq_chunk_range (&m->rgs [0].chunks [col], n, &off, &l, &e), 0);
    *len = (size_t) l;
    return f + off;
}

/*  The largest compressed page body and header of a chunk, walked in memory. */
static void
s_largest (const uint8_t *c, size_t len, size_t *body, size_t *hdr, size_t *npages)
{
    *body = *hdr = *npages = 0;
    for (size_t at = 0; at < len;) {
        tl_pq_page_t h;
        const char *why;
        assert_int_equal (tl_pq_page_header (c + at, len - at, &h, &why), 0);
        *body = (size_t) h.compressed_size > *body ? (size_t) h.compressed_size : *body;
        *hdr = h.header_len > *hdr ? h.header_len : *hdr;
        (*npages)++;
        at += h.header_len + (size_t) h.compressed_size;
    }
}

/* ---- the scribbling source */

typedef struct {
    const uint8_t *chunk;
    size_t len;
    uint8_t *held;              /* the last read's bytes, scribbled over and freed at the next */
    size_t held_len;
    size_t max_read, reads;
    size_t fail_at;             /* read number that fails with TL_ENET (0: none) */
} t_src_t;

static int
t_read (void *arg, uint64_t off, size_t len, const uint8_t **p, tl_err_t *e)
{
    t_src_t *s = arg;
    if (off > s->len || len > s->len - off)
        fail_msg ("read [%llu, +%zu) past the chunk's %zu bytes", (unsigned long long) off, len, s->len);
    if (s->held) {
        memset (s->held, 0xAA, s->held_len);
        free (s->held);
    }
    s->reads++;
    if (s->fail_at && s->reads == s->fail_at) {
        s->held = NULL;
        return tl_err_set (e, TL_ENET, 1, "test source: connection reset at byte %llu", (unsigned long long) off);
    }
    s->held = malloc (len ? len : 1);
    assert_non_null (s->held);
    memcpy (s->held, s->chunk + off, len);
    s->held_len = len;
    s->max_read = len > s->max_read ? len : s->max_read;
    *p = s->held;
    return 0;
}

static tl_pq_src_t
t_src (t_src_t *s, const uint8_t *chunk, size_t len)
{
    memset (s, 0, sizeof *s);
    s->chunk = chunk;
    s->len = len;
    return (tl_pq_src_t) { .read = t_read, .arg = s, .len = len };
}

static void
t_free (t_src_t *s)
{
    free (s->held);
    s->held = NULL;
}

/* ---- counting */

static tl_agg_t *
s_count (const uint8_t *f, size_t n, const tl_pq_meta_t *m, const char *query, bool streamed, t_src_t *ts)
{
    tl_pqquery_t pq;
    tl_err_t e;
    assert_int_equal (tl_pqquery_resolve (&pq, query, m, &e), 0);
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) pq.q.nvals);
    tl_pqcount_t *c = tl_pqcount_new (&pq, m, agg, 0);
    assert_non_null (c);
    const uint8_t *chunks [TL_PQ_MAX_NEEDED];
    size_t lens [TL_PQ_MAX_NEEDED];
    tl_pq_src_t srcs [TL_PQ_MAX_NEEDED];
    for (int j = 0; j < pq.ncols; j++) {
        chunks [j] = s_chunk (f, n, m, pq.cols [j], &lens [j]);
        srcs [j] = t_src (&ts [j], chunks [j], lens [j]);
    }
    int rc = streamed ? tl_pqcount_rowgroup_src (c, 0, srcs, &e) : tl_pqcount_rowgroup (c, 0, chunks, lens, &e);
    if (rc)
        fail_msg ("%s: %s", query, e.msg);
    assert_int_equal (tl_pqcount_finish (c, &e), 0);
    tl_pqcount_destroy (&c);
    for (int j = 0; j < pq.ncols; j++)
        t_free (&ts [j]);
    return agg;
}

static tl_agg_t *
s_brute (const char *query)
{
    tl_query_t q;
    tl_err_t e;
    assert_int_equal (tl_query_parse (query, &q, &e), 0);
    const char *hdr = "id,k,s,t,x";
    assert_int_equal (tl_query_resolve (&q, hdr, strlen (hdr), &e), 0);
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) q.nvals);
    tl_qstats_t qs = { 0 };
    for (int r = 0; r < ROWS; r++) {
        char b [NCOLS][64];
        tl_field_t f [NCOLS];
        s_texts (r, b, f);
        tl_query_row (&q, f, NCOLS, agg, &qs);
    }
    return agg;
}

/*  a ⊆ b, cell by cell; called both ways. */
static void
s_same (tl_agg_t *a, tl_agg_t *b, const char *query)
{
    if (tl_agg_size (a) != tl_agg_size (b))
        fail_msg ("%s: %zu groups against %zu", query, tl_agg_size (a), tl_agg_size (b));
    size_t pos = 0;
    tl_agg_entry_t en;
    while (tl_agg_next (a, &pos, &en)) {
        if (tl_agg_get (b, en.key, en.len) != en.count)
            fail_msg ("%s: group '%.*s' counts %llu against %llu", query, (int) en.len, en.key,
                      (unsigned long long) en.count, (unsigned long long) tl_agg_get (b, en.key, en.len));
        int rc;
        if (tl_agg_ncells (a)) {
            tl_cell_t *c = tl_agg_upsert (b, en.key, en.len, 0, &rc);
            for (unsigned i = 0; i < tl_agg_ncells (a); i++) {
                assert_int_equal (c [i].n, en.cells [i].n);
                assert_true (c [i].sum == en.cells [i].sum);
                assert_true (c [i].max == en.cells [i].max);
            }
        }
    }
}

static const tl_pq_wcodec_t s_codecs [] = { TL_PQW_UNCOMPRESSED, TL_PQW_SNAPPY, TL_PQW_ZSTD };

/*  Plain counts (runs of dictionary indices; raw values of plain pages) and row-aligned queries
    over several columns: streamed = whole chunk = the values written. */
static void
test_counts (void **state)
{
    (void) state;
    static const char *queries [] = {
        "s", "t", "k", "x",
        "by s\nby k\nagg count\nagg sum:x\nagg max:id\nwhere k > 0\n",
        "by t[0:2]\nagg sum:x\nagg max:x\nwhere s != str-000007\nwhere x < 1500\n",
        "by k\nby t\nagg max:id\n",
    };
    /* the values written are the same for every codec: each query's truth is counted once
       (s_same only reads its second table when the counts agree) */
    enum { NQ = sizeof queries / sizeof *queries };
    tl_agg_t *truth [NQ];
    for (size_t i = 0; i < NQ; i++)
        truth [i] = s_brute (queries [i]);
    for (size_t c = 0; c < sizeof s_codecs / sizeof *s_codecs; c++) {
        size_t n;
        uint8_t *f = s_file (s_codecs [c], &n);
        tl_pq_meta_t *m = s_meta (f, n);
        for (size_t i = 0; i < NQ; i++) {
            t_src_t ts [TL_PQ_MAX_NEEDED];
            tl_agg_t *whole = s_count (f, n, m, queries [i], false, ts);
            tl_agg_t *streamed = s_count (f, n, m, queries [i], true, ts);
            s_same (streamed, whole, queries [i]);
            s_same (whole, streamed, queries [i]);
            s_same (streamed, truth [i], queries [i]);
            s_same (truth [i], streamed, queries [i]);
            tl_agg_destroy (&whole);
            tl_agg_destroy (&streamed);
        }
        tl_pq_meta_destroy (&m);
        free (f);
    }
    for (size_t i = 0; i < NQ; i++)
        tl_agg_destroy (&truth [i]);
}

/*  Every column read batch by batch in each mode, the streamed reader beside the whole-chunk
    one: the same rows, values and NULLs; the largest read is the probe or the largest page. */
static void
test_batches (void **state)
{
    (void) state;
    for (size_t c = 0; c < sizeof s_codecs / sizeof *s_codecs; c++) {
        size_t n;
        uint8_t *f = s_file (s_codecs [c], &n);
        tl_pq_meta_t *m = s_meta (f, n);
        size_t biggest_chunk = 0, biggest_read = 0;
        for (int col = 0; col < NCOLS; col++) {
            size_t len, body, hdr, npages;
            const uint8_t *chunk = s_chunk (f, n, m, col, &len);
            s_largest (chunk, len, &body, &hdr, &npages);
            print_message ("codec %d column %d: %zu pages, chunk %zu, largest page %zu\n", (int) s_codecs [c], col, npages, len, body);
            assert_true (npages >= 8);
            for (int mode = TL_PQ_RUNS; mode <= TL_PQ_VALUES; mode++) {
                tl_pq_col_opts_t o = { .mode = mode };
                const tl_pq_column_t *cd = &m->cols [col];
                const tl_pq_chunk_t *ch = &m->rgs [0].chunks [col];
                tl_pq_col_t *a, *b;
                tl_err_t e;
                t_src_t ts;
                tl_pq_src_t src = t_src (&ts, chunk, len);
                assert_int_equal (tl_pq_col_new (&a, cd, ch, 0, chunk, len, &o, &e), 0);
                assert_int_equal (tl_pq_col_new_src (&b, cd, ch, 0, &src, &o, &e), 0);
                size_t rows = 0, max = 1;
                for (;;) {
                    tl_pq_batch_t ba, bb;
                    max = max * 3 % 10007 + 1;       /* batch sizes that cross no pattern */
                    if (tl_pq_col_next (a, max, &ba, &e) != 0)
                        fail_msg ("whole: %s", e.msg);
                    if (tl_pq_col_next (b, max, &bb, &e) != 0)
                        fail_msg ("streamed: %s", e.msg);
                    assert_int_equal (ba.rows, bb.rows);
                    assert_int_equal (ba.kind, bb.kind);
                    assert_int_equal (ba.nulls, bb.nulls);
                    if (!ba.rows)
                        break;
                    for (size_t i = 0; i < ba.rows && ba.kind != TL_PQ_BATCH_RUNS; i++) {
                        bool va = ba.valid ? ba.valid [i] : ba.kind == TL_PQ_BATCH_VALUES || ba.idx [i] != TL_PQ_NULL_INDEX;
                        bool vb = bb.valid ? bb.valid [i] : bb.kind == TL_PQ_BATCH_VALUES || bb.idx [i] != TL_PQ_NULL_INDEX;
                        assert_int_equal (va, vb);
                        if (!va)
                            continue;
                        char x [TL_PQ_TEXT_MAX], y [TL_PQ_TEXT_MAX];
                        const char *tx, *ty;
                        size_t nx, ny;
                        if (ba.kind == TL_PQ_BATCH_VALUES) {
                            nx = tl_pq_value_text (cd, &ba.vals, i, x, &tx);
                            ny = tl_pq_value_text (cd, &bb.vals, i, y, &ty);
                        } else {
                            nx = tl_pq_value_text (cd, ba.dict, ba.idx [i], x, &tx);
                            ny = tl_pq_value_text (cd, bb.dict, bb.idx [i], y, &ty);
                        }
                        char want [NCOLS][64];
                        tl_field_t wf [NCOLS];
                        s_texts ((int) (rows + i), want, wf);
                        if (nx != ny || memcmp (tx, ty, nx) != 0 || nx != wf [col].n || memcmp (tx, wf [col].p, nx) != 0)
                            fail_msg ("column %s, row %zu: whole '%.*s', streamed '%.*s', written '%s'", cd->name,
                                      rows + i, (int) nx, tx, (int) ny, ty, wf [col].p);
                    }
                    if (ba.kind == TL_PQ_BATCH_RUNS) {
                        assert_int_equal (ba.nruns, bb.nruns);
                        assert_memory_equal (ba.runs, bb.runs, ba.nruns * sizeof *ba.runs);
                    }
                    rows += ba.rows;
                }
                assert_int_equal (rows, ROWS);
                /* Reads are header probes or page bodies, never the chunk. */
                size_t bound = body > TL_PQ_HEADER_PROBE ? body : TL_PQ_HEADER_PROBE;
                if (ts.max_read > bound || ts.max_read > body + hdr + TL_PQ_HEADER_PROBE)
                    fail_msg ("column %s: a read of %zu bytes, the largest page %zu (+%zu header), chunk %zu",
                              cd->name, ts.max_read, body, hdr, len);
                assert_true (ts.reads >= npages);
                biggest_chunk = len > biggest_chunk ? len : biggest_chunk;
                biggest_read = ts.max_read > biggest_read ? ts.max_read : biggest_read;
                tl_pq_col_destroy (&a);
                tl_pq_col_destroy (&b);
                t_free (&ts);
            }
        }
        print_message ("codec %d: largest chunk %zu bytes, largest read %zu bytes\n", (int) s_codecs [c],
                       biggest_chunk, biggest_read);
        assert_true (biggest_chunk >= 16 * biggest_read);
        tl_pq_meta_destroy (&m);
        free (f);
    }
}

/*  A source's error comes back as it was set (text and retryable flag), at any read. */
static void
test_source_error (void **state)
{
    (void) state;
    size_t n;
    uint8_t *f = s_file (TL_PQW_SNAPPY, &n);
    tl_pq_meta_t *m = s_meta (f, n);
    tl_pqquery_t pq;
    tl_err_t e;
    assert_int_equal (tl_pqquery_resolve (&pq, "by s\nagg sum:x\n", m, &e), 0);
    for (size_t at = 1; at < 40; at += 3) {
        tl_agg_t *agg = tl_agg_new_cells ((unsigned) pq.q.nvals);
        tl_pqcount_t *c = tl_pqcount_new (&pq, m, agg, 0);
        t_src_t ts [2];
        tl_pq_src_t srcs [2];
        for (int j = 0; j < 2; j++) {
            size_t len;
            const uint8_t *chunk = s_chunk (f, n, m, pq.cols [j], &len);
            srcs [j] = t_src (&ts [j], chunk, len);
        }
        ts [1].fail_at = at;
        memset (&e, 0, sizeof e);
        assert_int_equal (tl_pqcount_rowgroup_src (c, 0, srcs, &e), TL_ENET);
        assert_int_equal (e.retryable, 1);
        assert_non_null (strstr (e.msg, "test source: connection reset at byte"));
        tl_pqcount_destroy (&c);
        tl_agg_destroy (&agg);
        t_free (&ts [0]);
        t_free (&ts [1]);
    }
    tl_pq_meta_destroy (&m);
    free (f);
}

/*  A page header longer than the probe (an unknown 100 KB field in it) is read with a longer
    read; above max_page it is refused naming the page. A chunk cut anywhere is an error. */
static void
test_long_header_and_cuts (void **state)
{
    (void) state;
    size_t n;
    uint8_t *f = s_file (TL_PQW_ZSTD, &n);
    tl_pq_meta_t *m = s_meta (f, n);
    size_t len;
    const int col = 1;
    const uint8_t *chunk = s_chunk (f, n, m, col, &len);
    tl_pq_page_t h;
    const char *why;
    assert_int_equal (tl_pq_page_header (chunk, len, &h, &why), 0);
    /* an unknown field 15 before the header's final STOP: compact type 8 (binary) with the id
       in long form (zigzag 30), then its 100,000 bytes' length as a 3-byte varint */
    size_t extra = 100000, hl = h.header_len;
    uint8_t *big = malloc (len + extra + 5);
    assert_non_null (big);
    memcpy (big, chunk, hl - 1);
    size_t at = hl - 1;
    big [at++] = 0x08;
    big [at++] = 30;
    big [at++] = (uint8_t) (extra | 0x80);
    big [at++] = (uint8_t) ((extra >> 7) | 0x80);
    big [at++] = (uint8_t) (extra >> 14);
    memset (big + at, 'z', extra);
    at += extra;
    memcpy (big + at, chunk + hl - 1, len - (hl - 1));
    size_t blen = at + len - (hl - 1);
    const tl_pq_column_t *cd = &m->cols [col];
    const tl_pq_chunk_t *ch = &m->rgs [0].chunks [col];
    tl_pq_col_opts_t o = { .mode = TL_PQ_INDICES };
    tl_pq_col_t *rd;
    tl_err_t e;
    tl_pq_batch_t b;
    t_src_t ts;
    tl_pq_src_t src = t_src (&ts, big, blen);
    assert_int_equal (tl_pq_col_new_src (&rd, cd, ch, 0, &src, &o, &e), 0);
    size_t rows = 0;
    int rc;
    while ((rc = tl_pq_col_next (rd, 5000, &b, &e)) == 0 && b.rows)
        rows += b.rows;
    if (rc)
        fail_msg ("%s", e.msg);
    assert_int_equal (rows, ROWS);
    assert_true (ts.max_read > TL_PQ_HEADER_PROBE && ts.max_read <= (size_t) 1 << 20);
    tl_pq_col_destroy (&rd);
    t_free (&ts);
    /* max_page below the header: refused, naming row group, column and page */
    tl_pq_col_opts_t small = { .mode = TL_PQ_INDICES, .max_page = 80 << 10 };
    src = t_src (&ts, big, blen);
    assert_int_equal (tl_pq_col_new_src (&rd, cd, ch, 0, &src, &small, &e), 0);
    assert_int_equal (tl_pq_col_next (rd, 5000, &b, &e), TL_EPROTO);
    assert_string_equal (e.msg, "row group 0, column 'k', page 0: page header of more than 81920 bytes: "
                                "binary length past the end of the data");
    tl_pq_col_destroy (&rd);
    t_free (&ts);
    free (big);
    /* Cut anywhere (every 101st byte, and around each page boundary): an error, never a crash. */
    size_t pages [4096], np = 0;
    for (size_t p = 0; p < len && np < 4096;) {
        assert_int_equal (tl_pq_page_header (chunk + p, len - p, &h, &why), 0);
        pages [np++] = p;
        p += h.header_len + (size_t) h.compressed_size;
    }
    size_t cuts = 0;
    for (size_t cut = 0; cut < len; cut += 101, cuts++) {
        for (int d = -2; d <= 2; d++) {
            size_t c = cut;
            if (cuts < np && d != 0) {
                if ((long) pages [cuts] + d < 0)
                    continue;
                c = (size_t) ((long) pages [cuts] + d);
            }
            if (c >= len || (d != 0 && cuts >= np))
                continue;
            src = t_src (&ts, chunk, c);
            assert_int_equal (tl_pq_col_new_src (&rd, cd, ch, 0, &src, &o, &e), 0);
            while ((rc = tl_pq_col_next (rd, 777, &b, &e)) == 0 && b.rows)
                ;
            if (rc == 0)
                fail_msg ("a chunk cut at %zu of %zu bytes read without an error", c, len);
            assert_non_null (strstr (e.msg, "row group 0, column 'k', page "));
            tl_pq_col_destroy (&rd);
            t_free (&ts);
        }
    }
    /* the last page's header claims more than is left: the one-line error */
    size_t last = pages [np - 1];
    assert_int_equal (tl_pq_page_header (chunk + last, len - last, &h, &why), 0);
    src = t_src (&ts, chunk, len - 1);
    assert_int_equal (tl_pq_col_new_src (&rd, cd, ch, 0, &src, &o, &e), 0);
    while ((rc = tl_pq_col_next (rd, 5000, &b, &e)) == 0 && b.rows)
        ;
    char want [256];
    snprintf (want, sizeof want, "row group 0, column 'k', page %zu: page of %d bytes runs past the end of the column "
              "chunk (%d bytes left)", np - 1, h.compressed_size, h.compressed_size - 1);
    assert_string_equal (e.msg, want);
    tl_pq_col_destroy (&rd);
    t_free (&ts);
    tl_pq_meta_destroy (&m);
    free (f);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_counts), cmocka_unit_test (test_batches), cmocka_unit_test (test_source_error),
        cmocka_unit_test (test_long_header_and_cuts),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
