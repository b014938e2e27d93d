/*  The checkpoint log's records (reducer/ckptlog.c), and the state dir's base and log around
    them (reducer/ckptfile.c, at every crash point of a compaction): what is written reads back the same,
    through a reader fed in pieces of any size; a log cut at any byte yields exactly the whole
    units before the cut and says the rest is a torn tail; any single flipped byte is damage;
    generations tell a stale log from a damaged one. Replayed into a ledger, the records give
    the totals of applying the original partials. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reducer/ckptfile.h"
#include "reducer/ckptlog.h"
#include "reducer/ledger.h"
#include <stdint.h>
#include <unistd.h>

typedef struct {
    char *data;
    size_t len, cap;
    size_t bounds [4096];       /* the offset after each record */
    size_t nrec;
} s_buf_t;

static int
s_emit (void *arg, const void *rec, size_t len)
{
    s_buf_t *b = arg;
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->data = realloc (b->data, b->cap);
        assert_non_null (b->data);
    }
    memcpy (b->data + b->len, rec, len);
    b->len += len;
    if (b->nrec < 4096)
        b->bounds [b->nrec++] = b->len;
    return 0;
}

static void
s_init (s_buf_t *b)
{
    memset (b, 0, sizeof *b);
    s_emit (b, TL_CKPTLOG_MAGIC, TL_CKPTLOG_MAGIC_LEN);
}

/*  Partial i of a small job: n groups "k<j>" with counts, and one cell per group. */
typedef struct {
    tl_msg_t m;
    tl_agg_entry_t g [3000];
    tl_cell_t c [3000];
    char keys [3000][16];
} s_partial_t;

static void
s_make (s_partial_t *p, uint64_t task, size_t n)
{
    memset (p, 0, sizeof *p);
    for (size_t j = 0; j < n; j++) {
        snprintf (p->keys [j], sizeof p->keys [j], "k%zu", (j * 7 + task) % 5000);
        p->g [j] = (tl_agg_entry_t) { .key = p->keys [j], .len = (uint32_t) strlen (p->keys [j]),
                                      .count = task + j + 1, .cells = &p->c [j] };
        p->c [j] = (tl_cell_t) { .n = j, .bad = 1, .sum = (double) j / 3, .min = -1.5, .max = (double) j };
    }
    uint64_t rows = 0;      /* the ledger checks that the groups add up to the rows */
    for (size_t j = 0; j < n; j++)
        rows += p->g [j].count;
    p->m = (tl_msg_t) { .type = TL_MSG_PARTIAL, .task = task, .attempt = 2, .length = 1000 + task,
                        .mapper = "m-1", .rows = rows, .bytes = 100, .bad = 3, .blank = 4, .filtered = 5,
                        .fetched = 600, .skipped = 7, .groups = p->g, .n_groups = n, .ncells = 1 };
}

static const size_t SIZES [] = { 0, 1, 2500, 3, 0, 40 };
#define NTASKS (sizeof SIZES / sizeof SIZES [0])

/*  A job's log: the task count, six tasks (one of many chunks at a 4 KiB chunk), the end.
    Returns the unit count; *units_end gets the offset after each unit. */
static size_t
s_job_log (s_buf_t *b, uint64_t gen, size_t *units_end)
{
    static s_partial_t p;
    size_t u = 0;
    s_init (b);
    assert_int_equal (tl_ckptlog_put_tasks (gen, NTASKS, 123456, s_emit, b), 0);
    units_end [u++] = b->len;
    for (size_t t = 0; t < NTASKS; t++) {
        s_make (&p, t, SIZES [t]);
        assert_int_equal (tl_ckptlog_put_task (gen, &p.m, NULL, 4096, s_emit, b), 0);
        units_end [u++] = b->len;
    }
    assert_int_equal (tl_ckptlog_put_end (gen, false, "incomplete: 1 of 6", s_emit, b), 0);
    units_end [u++] = b->len;
    return u;
}

static tl_ledger_t *
s_ledger (void)
{
    tl_ledger_t *l = tl_ledger_new ();
    assert_non_null (l);
    assert_int_equal (tl_ledger_set_cells (l, 1), 0);
    assert_int_equal (tl_ledger_set_tasks (l, NTASKS), 0);
    return l;
}

static void
s_same_totals (const tl_ledger_t *a, const tl_ledger_t *b)
{
    const tl_agg_t *ta = tl_ledger_totals (a), *tb = tl_ledger_totals (b);
    assert_int_equal (tl_agg_size (ta), tl_agg_size (tb));
    size_t pos = 0;
    tl_agg_entry_t e, f;
    while (tl_agg_next (ta, &pos, &e)) {
        assert_int_equal (tl_agg_find (tb, e.key, e.len, &f), 1);
        assert_int_equal (e.count, f.count);
        assert_memory_equal (e.cells, f.cells, sizeof *e.cells);
    }
    tl_ledger_stats_t sa = tl_ledger_stats (a), sb = tl_ledger_stats (b);
    assert_int_equal (sa.tasks_applied, sb.tasks_applied);
    assert_int_equal (sa.rows, sb.rows);
    assert_int_equal (sa.bytes, sb.bytes);
    assert_int_equal (sa.bad, sb.bad);
    assert_int_equal (sa.blank, sb.blank);
    assert_int_equal (sa.filtered, sb.filtered);
    assert_int_equal (sa.fetched, sb.fetched);
    assert_int_equal (sa.skipped, sb.skipped);
    for (uint64_t t = 0; t < NTASKS; t++)
        assert_int_equal (tl_ledger_applied_length (a, t), tl_ledger_applied_length (b, t));
}

/*  Feed data in pieces of `piece` bytes; apply every unit to l. Returns the units read, or a
    negative error; *good and *torn as the reader says. */
static long
s_read (const char *data, size_t len, uint64_t gen, size_t piece, tl_ledger_t *l, uint64_t *good, uint64_t *torn,
        bool *stale, tl_err_t *e)
{
    tl_ckptlog_reader_t *rd = tl_ckptlog_reader_new (gen);
    assert_non_null (rd);
    long units = 0;
    size_t off = 0;
    int rc = 0;
    for (;;) {
        size_t n = len - off < piece ? len - off : piece;
        assert_int_equal (tl_ckptlog_reader_feed (rd, data + off, n), 0);
        off += n;
        tl_ckptlog_rec_t rec;
        while ((rc = tl_ckptlog_reader_next (rd, &rec, e)) == 1) {
            units++;
            if (l && rec.kind == TL_CKPTLOG_TASK)
                assert_int_equal (tl_ledger_apply (l, &rec.msg), 1);
            if (rec.kind == TL_CKPTLOG_TASKS) {
                assert_int_equal (rec.msg.tasks, NTASKS);
                assert_int_equal (rec.msg.bytes_total, 123456);
            }
            if (rec.kind == TL_CKPTLOG_END) {
                assert_false (rec.msg.ok);
                assert_string_equal (rec.msg.error, "incomplete: 1 of 6");
            }
        }
        if (rc < 0 || n == 0)
            break;
    }
    *good = tl_ckptlog_reader_good (rd, torn);
    if (stale)
        *stale = tl_ckptlog_reader_stale (rd);
    tl_ckptlog_reader_destroy (&rd);
    return rc < 0 ? rc : units;
}

static void
test_round_trip (void **state)
{
    (void) state;
    static s_buf_t b;
    size_t ends [16];
    size_t nunits = s_job_log (&b, 7, ends);
    assert_true (b.nrec > 10);      /* the 2,500-group task took several chunk records */
    tl_ledger_t *want = s_ledger ();
    static s_partial_t p;
    for (size_t t = 0; t < NTASKS; t++) {
        s_make (&p, t, SIZES [t]);
        assert_int_equal (tl_ledger_apply (want, &p.m), 1);
    }
    size_t pieces [] = { 1, 7, 100, 4096, 1 << 20 };
    for (size_t i = 0; i < sizeof pieces / sizeof pieces [0]; i++) {
        tl_ledger_t *got = s_ledger ();
        uint64_t good, torn;
        tl_err_t e;
        assert_int_equal (s_read (b.data, b.len, 7, pieces [i], got, &good, &torn, NULL, &e), (long) nunits);
        assert_int_equal (good, b.len);
        assert_int_equal (torn, 0);
        s_same_totals (want, got);
        tl_ledger_destroy (&got);
    }
    tl_ledger_destroy (&want);
    free (b.data);
}

/*  The staged-table case (a partial that came in parts): groups from the table. */
static void
test_staged (void **state)
{
    (void) state;
    s_buf_t b;
    s_init (&b);
    tl_agg_t *staged = tl_agg_new_cells (2);
    for (int i = 0; i < 5000; i++) {
        char k [16];
        tl_cell_t c [2] = { { .n = 1, .sum = i, .min = i, .max = i }, { .bad = 1, .sum = 0, .min = INFINITY, .max = -INFINITY } };
        snprintf (k, sizeof k, "g%d", i % 3001);
        assert_int_equal (tl_agg_merge (staged, k, strlen (k), 2, c), 0);
    }
    tl_msg_t hdr = { .type = TL_MSG_PARTIAL, .task = 3, .attempt = 1, .length = 77, .mapper = "m", .rows = 5000 };
    assert_int_equal (tl_ckptlog_put_task (9, &hdr, staged, 8192, s_emit, &b), 0);
    assert_true (b.nrec > 3);
    tl_ckptlog_reader_t *rd = tl_ckptlog_reader_new (9);
    assert_int_equal (tl_ckptlog_reader_feed (rd, b.data, b.len), 0);
    tl_ckptlog_rec_t rec;
    tl_err_t e;
    int rc = tl_ckptlog_reader_next (rd, &rec, &e);
    if (rc != 1)
        fail_msg ("%d %s", rc, e.msg);
    assert_int_equal (rec.kind, TL_CKPTLOG_TASK);
    assert_int_equal (rec.msg.task, 3);
    assert_int_equal (rec.msg.length, 77);
    assert_int_equal (rec.msg.rows, 5000);
    assert_int_equal (rec.msg.ncells, 2);
    assert_int_equal (rec.msg.n_groups, tl_agg_size (staged));
    for (size_t i = 0; i < rec.msg.n_groups; i++) {
        tl_agg_entry_t f;
        const tl_agg_entry_t *g = &rec.msg.groups [i];
        assert_int_equal (tl_agg_find (staged, g->key, g->len, &f), 1);
        assert_int_equal (g->count, f.count);
        assert_memory_equal (g->cells, f.cells, 2 * sizeof *f.cells);
    }
    assert_int_equal (tl_ckptlog_reader_next (rd, &rec, &e), 0);
    tl_ckptlog_reader_destroy (&rd);
    tl_agg_destroy (&staged);
    free (b.data);
}

/*  Cut at every byte: only whole units before the cut, the rest reported as torn. */
static void
test_torn_everywhere (void **state)
{
    (void) state;
    static s_buf_t b;
    size_t ends [16];
    size_t nunits = s_job_log (&b, 1, ends);
    for (size_t cut = 0; cut <= b.len; cut += (cut < 200 || b.len - cut < 200) ? 1 : 41) {
        uint64_t good, torn;
        tl_err_t e;
        long got = s_read (b.data, cut, 1, 1000, NULL, &good, &torn, NULL, &e);
        assert_true (got >= 0);
        size_t whole = 0;
        while (whole < nunits && ends [whole] <= cut)
            whole++;
        assert_int_equal (got, (long) whole);
        uint64_t want_good = whole ? ends [whole - 1] : (cut >= TL_CKPTLOG_MAGIC_LEN ? TL_CKPTLOG_MAGIC_LEN : 0);
        assert_int_equal (good, want_good);
        assert_int_equal (torn, cut - want_good);
    }
    free (b.data);
}

/*  Any one flipped byte, anywhere, is damage (never a shorter log that passes). */
static void
test_flip_everywhere (void **state)
{
    (void) state;
    static s_buf_t b;
    size_t ends [16];
    s_job_log (&b, 1, ends);
    char *copy = malloc (b.len);
    for (size_t off = 0; off < b.len; off += (off < 400 || b.len - off < 400) ? 1 : 97) {
        memcpy (copy, b.data, b.len);
        copy [off] ^= 0x10;
        uint64_t good, torn;
        tl_err_t e;
        long got = s_read (copy, b.len, 1, 1 << 20, NULL, &good, &torn, NULL, &e);
        if (got >= 0)
            fail_msg ("a flipped byte at %zu was not noticed", off);
        assert_non_null (strstr (e.msg, "at offset"));
    }
    free (copy);
    free (b.data);
}

/*  A log of an older base is stale (nothing counts); a newer one is damage; a record of the
    current generation after stale ones is damage. */
static void
test_generations (void **state)
{
    (void) state;
    static s_buf_t b;
    size_t ends [16];
    s_job_log (&b, 5, ends);
    uint64_t good, torn;
    bool stale;
    tl_err_t e;
    assert_int_equal (s_read (b.data, b.len, 6, 4096, NULL, &good, &torn, &stale, &e), 0);
    assert_true (stale);
    assert_true (s_read (b.data, b.len, 4, 4096, NULL, &good, &torn, &stale, &e) < 0);
    assert_non_null (strstr (e.msg, "generation 5"));
    /* Stale records followed by current ones. */
    assert_int_equal (tl_ckptlog_put_tasks (6, 9, 9, s_emit, &b), 0);
    assert_true (s_read (b.data, b.len, 6, 4096, NULL, &good, &torn, &stale, &e) < 0);
    assert_non_null (strstr (e.msg, "after records of an older one"));
    free (b.data);
}

/*  Structure: a task's groups interrupted by another record, or groups of another task. */
static void
test_structure (void **state)
{
    (void) state;
    static s_partial_t p, q;
    s_make (&p, 1, 2500);
    s_make (&q, 2, 0);
    s_buf_t b;
    s_init (&b);
    assert_int_equal (tl_ckptlog_put_task (1, &p.m, NULL, 4096, s_emit, &b), 0);
    /* Keep the task header and its first chunk, then another task's header. */
    size_t keep = b.bounds [2];
    b.len = keep;
    b.nrec = 3;
    assert_int_equal (tl_ckptlog_put_task (1, &q.m, NULL, 4096, s_emit, &b), 0);
    uint64_t good, torn;
    tl_err_t e;
    assert_true (s_read (b.data, b.len, 1, 4096, NULL, &good, &torn, NULL, &e) < 0);
    assert_non_null (strstr (e.msg, "groups stop"));
    /* A groups record with no task before it. */
    s_buf_t c;
    s_init (&c);
    s_emit (&c, b.data + b.bounds [1], b.bounds [2] - b.bounds [1]);
    assert_true (s_read (c.data, c.len, 1, 4096, NULL, &good, &torn, NULL, &e) < 0);
    assert_non_null (strstr (e.msg, "groups of no task"));
    /* Not a log at all. */
    assert_true (s_read ("TALLYCK3xxxxxxxxxxxxxxxxxxxxxxxxxx", 30, 1, 4096, NULL, &good, &torn, NULL, &e) < 0);
    free (b.data);
    free (c.data);
}

/* ---- the state dir (reducer/ckptfile.c) ---- */

static void
s_sh (const char *fmt, const char *a, const char *b)
{
    char cmd [1024];
    snprintf (cmd, sizeof cmd, fmt, a, b);
    assert_int_equal (system (cmd), 0);
}

static tl_ledger_meta_t
s_meta (void)
{
    return (tl_ledger_meta_t) { .job = "j1", .col = "by passenger_count\nagg sum:fare\n", .bytes_total = 5, .fingerprint = "fp",
                                .key = "00" };
}

/*  Load dir into a new ledger: the load's result, and the ledger's rows and tasks applied. */
static int
s_load (const char *dir, uint64_t *rows, uint64_t *applied, tl_err_t *e)
{
    tl_ckptfile_t *f = tl_ckptfile_new (dir, TL_CKPTFILE_COMPACT_AUTO);
    tl_ledger_t *l = tl_ledger_new ();
    tl_ledger_meta_t m;
    int rc = tl_ckptfile_load (f, l, &m, e);
    if (getenv ("CKPTLOG_DEBUG") && rc)
        print_message ("load %s: %s\n", dir, e->msg);
    tl_ledger_stats_t st = tl_ledger_stats (l);
    *rows = st.rows;
    *applied = st.tasks_applied;
    tl_ledger_destroy (&l);
    tl_ckptfile_destroy (&f);
    return rc;
}

/*  A compaction cut short at each step loads to the state that was synced; a log newer than
    its base, or without one, is refused. */
/*  The state's size as the automatic compaction bound reads it: never below what a base
    really takes (else a log about the state itself would be compacted for nothing), nor far
    above it (else a log of repeats would grow unchecked), with and without value cells, as
    the ledger grows. */
static void
test_save_bound (void **state)
{
    (void) state;
    for (unsigned cells = 0; cells <= 1; cells++) {
        tl_ledger_t *l = tl_ledger_new ();
        assert_int_equal (tl_ledger_set_cells (l, cells), 0);
        assert_int_equal (tl_ledger_set_tasks (l, NTASKS), 0);
        static s_partial_t p;
        tl_ledger_meta_t meta = s_meta ();
        for (uint64_t t = 0; t < NTASKS; t++) {
            s_make (&p, t, SIZES [t]);
            p.m.ncells = cells;
            assert_int_equal (tl_ledger_apply (l, &p.m), 1);
            char *buf;
            size_t len;
            assert_int_equal (tl_ledger_save (l, &meta, &buf, &len), 0);
            free (buf);
            uint64_t bound = tl_ledger_save_bound (l);
            assert_true (bound >= len);
            assert_true (bound <= 3 * (uint64_t) len + 8192);
        }
        tl_ledger_destroy (&l);
    }
}

static void
test_file_crash_points (void **state)
{
    (void) state;
    char dir [] = "/tmp/test_ckptlog.XXXXXX", saved [64], old [64];
    assert_non_null (mkdtemp (dir));
    snprintf (saved, sizeof saved, "%s.saved", dir);
    snprintf (old, sizeof old, "%s.old", dir);
    tl_ckptfile_t *f = tl_ckptfile_new (dir, 0);     /* 0: a base at every checkpoint when asked */
    tl_ledger_t *l = s_ledger ();
    tl_ledger_meta_t meta = s_meta ();
    tl_err_t e;
    assert_true (tl_ckptfile_base_due (f));
    assert_int_equal (tl_ckptfile_base (f, l, &meta, &e), 0);        /* the job's start: generation 1 */
    static s_partial_t p;
    uint64_t rows = 0;
    for (uint64_t t = 0; t < 3; t++) {
        s_make (&p, t, SIZES [t + 1]);
        assert_int_equal (tl_ledger_apply (l, &p.m), 1);
        tl_ckptfile_put_task (f, &p.m, NULL);
        rows += p.m.rows;
    }
    assert_int_equal (tl_ckptfile_sync (f, &e), 0);
    assert_true (tl_ckptfile_log_full (f, l));
    s_sh ("rm -rf %s%s", saved, "");
    s_sh ("cp -r %s %s", dir, saved);        /* base 1 + a log of 3 tasks */
    s_sh ("cp %s/reducer.log %s", dir, old);
    /* (a) Died before the new base's rename: a .tmp lies around; the old base and log hold. */
    s_sh ("cp %s/reducer.ckpt %s/reducer.ckpt.tmp", saved, saved);
    uint64_t got_rows, got_applied;
    assert_int_equal (s_load (saved, &got_rows, &got_applied, &e), 0);
    assert_int_equal (got_rows, rows);
    assert_int_equal (got_applied, 3);
    /* The compaction: base 2 holds the 3 tasks, the log is emptied. */
    assert_int_equal (tl_ckptfile_base (f, l, &meta, &e), 0);
    assert_int_equal (meta.seq, 2);
    assert_int_equal (tl_ckptfile_stats (f).log_size, TL_CKPTLOG_MAGIC_LEN);
    assert_int_equal (s_load (dir, &got_rows, &got_applied, &e), 0);
    assert_int_equal (got_rows, rows);
    /* (b) Died after the rename, before the log was emptied: the old log is stale. */
    s_sh ("cp %s %s/reducer.log", old, dir);
    assert_int_equal (s_load (dir, &got_rows, &got_applied, &e), 0);
    assert_int_equal (got_rows, rows);
    assert_int_equal (got_applied, 3);
    /* ... and the load emptied it: loading again replays nothing and gives the same. */
    assert_int_equal (s_load (dir, &got_rows, &got_applied, &e), 0);
    assert_int_equal (got_rows, rows);
    /* (c) Died between the truncation and the magic: an empty log. */
    s_sh ("truncate -s 0 %s/reducer.log%s", dir, "");
    assert_int_equal (s_load (dir, &got_rows, &got_applied, &e), 0);
    assert_int_equal (got_applied, 3);
    /* A log newer than its base (an old base put back): refused. */
    s_sh ("cp %s/reducer.ckpt %s/reducer.ckpt.2", dir, dir);
    s_sh ("cp %s/reducer.log %s/reducer.log.2", dir, dir);
    tl_ckptfile_destroy (&f);
    f = tl_ckptfile_new (dir, TL_CKPTFILE_COMPACT_AUTO);
    tl_ledger_t *l2 = tl_ledger_new ();
    assert_int_equal (tl_ckptfile_load (f, l2, &meta, &e), 0);
    s_make (&p, 3, 5);
    assert_int_equal (tl_ledger_apply (l2, &p.m), 1);
    tl_ckptfile_put_task (f, &p.m, NULL);
    assert_int_equal (tl_ckptfile_sync (f, &e), 0);
    tl_ckptfile_destroy (&f);
    assert_int_equal (s_load (dir, &got_rows, &got_applied, &e), 0);
    assert_int_equal (got_applied, 4);                           /* base 2 + 1 logged task */
    s_sh ("cp %s/reducer.ckpt %s/reducer.ckpt", saved, dir);     /* base 1 under a log of generation 2 */
    assert_true (s_load (dir, &got_rows, &got_applied, &e) < 0);
    assert_non_null (strstr (e.msg, "generation 2"));
    assert_non_null (strstr (e.msg, "reducer.log is damaged at offset 8"));
    /* A log of records without its base: refused. */
    s_sh ("rm %s/reducer.ckpt%s", dir, "");
    assert_true (s_load (dir, &got_rows, &got_applied, &e) < 0);
    assert_non_null (strstr (e.msg, "is missing"));
    /* No state at all: start afresh. */
    s_sh ("rm %s/reducer.log%s", dir, "");
    assert_int_equal (s_load (dir, &got_rows, &got_applied, &e), TL_ENOTFOUND);
    tl_ledger_destroy (&l);
    tl_ledger_destroy (&l2);
    s_sh ("rm -rf %s %s", dir, saved);
    s_sh ("rm -f %s%s", old, "");
}

/*  Records of a MiB or so (a big task's groups) go to the log as they are, around the write
    buffer (ckptfile.c, s_emit): in order after what was buffered, every byte of them, and
    counted in the log's size. A task too big for the buffer's path, between two small ones. */
static void
test_file_big_records (void **state)
{
    (void) state;
    char dir [] = "/tmp/test_ckptlog.XXXXXX";
    assert_non_null (mkdtemp (dir));
    tl_ckptfile_t *f = tl_ckptfile_new (dir, TL_CKPTFILE_COMPACT_AUTO);
    tl_ledger_t *l = s_ledger ();
    tl_ledger_meta_t meta = s_meta ();
    tl_err_t e;
    assert_int_equal (tl_ckptfile_base (f, l, &meta, &e), 0);
    uint64_t log0 = tl_ckptfile_stats (f).log_bytes;
    static s_partial_t p;
    uint64_t rows = 0;
    s_make (&p, 0, 3);                  /* buffered */
    assert_int_equal (tl_ledger_apply (l, &p.m), 1);
    tl_ckptfile_put_task (f, &p.m, NULL);
    rows += p.m.rows;
    /* 40 K groups of 40-byte keys and a cell: ~4 MiB of records of about 1 MiB each */
    size_t n = 40000;
    tl_agg_entry_t *g = calloc (n, sizeof *g);
    tl_cell_t *c = calloc (n, sizeof *c);
    char *keys = malloc (n * 41);
    uint64_t big_rows = 0;
    for (size_t j = 0; j < n; j++) {
        snprintf (keys + 41 * j, 41, "big-%036zu", j);
        g [j] = (tl_agg_entry_t) { .key = keys + 41 * j, .len = 40, .count = j % 3 + 1, .cells = &c [j] };
        c [j] = (tl_cell_t) { .n = 1, .sum = (double) j, .min = (double) j, .max = (double) j };
        big_rows += g [j].count;
    }
    tl_msg_t big = { .type = TL_MSG_PARTIAL, .task = 1, .attempt = 1, .length = 1001, .mapper = "m-1",
                     .rows = big_rows, .bytes = 100, .groups = g, .n_groups = n, .ncells = 1 };
    assert_int_equal (tl_ledger_apply (l, &big), 1);
    tl_ckptfile_put_task (f, &big, NULL);
    rows += big_rows;
    s_make (&p, 2, 5);                  /* buffered again, after the big one */
    assert_int_equal (tl_ledger_apply (l, &p.m), 1);
    tl_ckptfile_put_task (f, &p.m, NULL);
    rows += p.m.rows;
    assert_int_equal (tl_ckptfile_sync (f, &e), 0);
    tl_ckptfile_stats_t st = tl_ckptfile_stats (f);
    char path [128];
    snprintf (path, sizeof path, "%s/reducer.log", dir);
    FILE *fp = fopen (path, "rb");
    assert_non_null (fp);
    assert_int_equal (fseek (fp, 0, SEEK_END), 0);
    uint64_t size = (uint64_t) ftell (fp);
    fclose (fp);
    assert_true (size > (2u << 20));
    assert_int_equal (st.log_size, size);
    assert_int_equal (st.log_bytes - log0, size - TL_CKPTLOG_MAGIC_LEN);
    tl_ckptfile_destroy (&f);
    uint64_t got_rows, got_applied;
    assert_int_equal (s_load (dir, &got_rows, &got_applied, &e), 0);
    assert_int_equal (got_rows, rows);
    assert_int_equal (got_applied, 3);
    tl_ledger_destroy (&l);
    free (g);
    free (c);
    free (keys);
    s_sh ("rm -rf %s%s", dir, "");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip),      cmocka_unit_test (test_staged), cmocka_unit_test (test_save_bound),
        cmocka_unit_test (test_torn_everywhere), cmocka_unit_test (test_flip_everywhere),
        cmocka_unit_test (test_generations),     cmocka_unit_test (test_structure),
        cmocka_unit_test (test_file_crash_points),
        cmocka_unit_test (test_file_big_records),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
