/*  The aggregator and the reducer's ledger. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/core/agg.h"
#include "lib/core/query.h"
#include "cli/render.h"
#include "reducer/ledger.h"

static void
test_agg_many (void **state)
{
    (void) state;
    tl_agg_t *a = tl_agg_new ();
    char k [32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 100000; i++) {
            int n = snprintf (k, sizeof k, "key-%d", i);
            assert_int_equal (tl_agg_add (a, k, (size_t) n, (uint64_t) i % 7 + 1), 0);
        }
    assert_int_equal (tl_agg_size (a), 100000);
    assert_int_equal (tl_agg_get (a, "key-13", 6), 3 * (13 % 7 + 1));
    assert_int_equal (tl_agg_get (a, "nope", 4), 0);
    tl_agg_entry_t *v = calloc (100000, sizeof *v);
    tl_agg_sorted (a, v);
    for (int i = 1; i < 100000; i++)
        assert_true (v [i - 1].count >= v [i].count);
    free (v);
    char big [TL_AGG_KEY_MAX + 1];
    memset (big, 'x', sizeof big);
    assert_int_equal (tl_agg_add (a, big, sizeof big, 1), TL_EINVAL);
    tl_agg_clear (a);
    assert_int_equal (tl_agg_size (a), 0);
    assert_int_equal (tl_agg_total (a), 0);
    tl_agg_destroy (&a);
    assert_null (a);
}

static void
test_sort_ties (void **state)
{
    (void) state;
    tl_agg_t *a = tl_agg_new ();
    tl_agg_add (a, "b", 1, 5);
    tl_agg_add (a, "a", 1, 5);
    tl_agg_add (a, "c", 1, 9);
    tl_agg_add (a, "", 0, 5);
    tl_agg_entry_t v [4];
    tl_agg_sorted (a, v);
    assert_memory_equal (v [0].key, "c", 1);
    assert_int_equal (v [1].len, 0);
    assert_memory_equal (v [2].key, "a", 1);
    assert_memory_equal (v [3].key, "b", 1);
    tl_agg_destroy (&a);
}

/*  A table big enough for the pipelined path (adds queued with their slot prefetched): every
    read sees every add, including adds of keys already there, keys of every length (0, the
    longest, and with zero bytes), and a clear with adds still queued. */
static void
test_agg_pipeline (void **state)
{
    (void) state;
    tl_agg_t *a = tl_agg_new ();
    char k [TL_AGG_KEY_MAX];
    const int n = 60000;
    uint64_t total = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < n; i++) {
            size_t len = (size_t) (i % 97) * (i % 7 == 0 ? 10 : 1);
            if (len > TL_AGG_KEY_MAX)
                len = TL_AGG_KEY_MAX;
            memset (k, 0, len);
            snprintf (k, sizeof k, "%d", i);
            if (len < 8)
                len = strlen (k);   /* short keys: just the number */
            assert_int_equal (tl_agg_add (a, k, len, 1 + (uint64_t) round), 0);
            total += 1 + (uint64_t) round;
            if (i % 9973 == 0)      /* a read in the middle sees what was added just before */
                assert_int_equal (tl_agg_get (a, k, len), (uint64_t) (round ? 3 : 1));
        }
    assert_int_equal (tl_agg_size (a), n);
    assert_int_equal (tl_agg_total (a), total);
    /* iteration gives every group once, with its count */
    size_t pos = 0, seen = 0;
    tl_agg_entry_t e;
    while (tl_agg_next (a, &pos, &e)) {
        assert_int_equal (e.count, 3);
        assert_int_equal (tl_agg_get (a, e.key, e.len), 3);
        seen++;
    }
    assert_int_equal (seen, n);
    assert_int_equal (tl_agg_add (a, "", 0, 5), 0);
    assert_int_equal (tl_agg_get (a, "", 0), 5);
    for (int i = 0; i < 10; i++)
        tl_agg_add (a, "queued", 6, 1);
    tl_agg_clear (a);
    assert_int_equal (tl_agg_size (a), 0);
    assert_int_equal (tl_agg_get (a, "queued", 6), 0);
    assert_int_equal (tl_agg_add (a, "x", 1, 2), 0);
    assert_int_equal (tl_agg_total (a), 2);
    tl_agg_destroy (&a);
}

/*  Cells stay with their group as the table grows, and merge. */
static void
test_agg_cells_grow (void **state)
{
    (void) state;
    tl_agg_t *a = tl_agg_new_cells (2);
    char k [32];
    int rc;
    for (int i = 0; i < 50000; i++) {
        int n = snprintf (k, sizeof k, "g%d", i % 20000);
        tl_cell_t *c = tl_agg_upsert (a, k, (size_t) n, 1, &rc);
        assert_int_equal (rc, 0);
        assert_non_null (c);
        c [0].n++;
        c [0].sum += i;
        c [1].max = c [1].max > i ? c [1].max : i;
    }
    tl_cell_t in [2];
    tl_cell_init (&in [0]);
    tl_cell_init (&in [1]);
    in [1].max = 1e9;
    assert_int_equal (tl_agg_merge (a, "g5", 2, 4, in), 0);
    size_t pos = 0;
    tl_agg_entry_t e;
    while (tl_agg_next (a, &pos, &e))
        if (e.len == 2 && memcmp (e.key, "g5", 2) == 0) {
            assert_int_equal (e.count, 3 + 4);
            assert_int_equal (e.cells [0].n, 3);
            assert_true (e.cells [0].sum == 5 + 20005 + 40005);
            assert_true (e.cells [1].max == 1e9);
        }
    assert_int_equal (tl_agg_size (a), 20000);
    tl_agg_destroy (&a);
}

static int
s_ref_cmp (const void *a, const void *b)
{
    const tl_agg_entry_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp (x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/*  The radix sort gives qsort's order: counts, long common prefixes (timestamps), keys that
    are prefixes of others, zero bytes, the empty key, and runs big enough for every path. */
static void
test_sort_matches_qsort (void **state)
{
    (void) state;
    const size_t n = 70000;     /* past 2 MiB of sort buffer: the huge-page allocation too */
    char *keys = calloc (n, 48);
    tl_agg_entry_t *v = calloc (n, sizeof *v), *w = calloc (n, sizeof *w);
    uint64_t r = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        char *k = keys + i * 48;
        uint32_t len;
        switch (r % 5) {
            case 0: len = (uint32_t) snprintf (k, 48, "2009-01-%02d %02d:%02d:%02d,2009", (int) (r >> 8) % 3,
                                                 (int) (r >> 16) % 4, (int) (r >> 24) % 60, (int) (r >> 32) % 60); break;
            case 1: len = (uint32_t) ((r >> 8) % 20); memset (k, 0, len); if (len) k [len - 1] = (char) (r >> 16); break;
            case 2: len = (uint32_t) ((r >> 8) % 3); memset (k, 'a', len); break;
            case 3: len = (uint32_t) snprintf (k, 48, "%u", (unsigned) (r >> 40) % 500); break;
            default: len = (uint32_t) ((r >> 8) % 47); for (uint32_t j = 0; j < len; j++) k [j] = (char) ('x' + ((r >> j) & 1)); break;
        }
        v [i] = (tl_agg_entry_t) { k, len, (r >> 50) % 4 == 0 ? 1 + (r >> 20) % 3 : 7, NULL };
    }
    for (size_t m = 0; m <= n; m += m < 100 ? 7 : 13331) {
        memcpy (w, v, m * sizeof *v);
        tl_agg_sort_entries (w, m);
        tl_agg_entry_t *ref = calloc (m + 1, sizeof *ref);
        memcpy (ref, v, m * sizeof *v);
        qsort (ref, m, sizeof *ref, s_ref_cmp);
        for (size_t i = 0; i < m; i++) {
            assert_int_equal (w [i].count, ref [i].count);
            assert_int_equal (w [i].len, ref [i].len);
            assert_memory_equal (w [i].key, ref [i].key, w [i].len);
        }
        free (ref);
    }
    free (keys);
    free (v);
    free (w);
}

/*  tl_agg_sorted sorts inside the caller's array: the same order as qsort over the groups, each
    entry whole (count, key and its own cells), for tables with and without cells, big enough
    for every path of the radix sort. */
static void
test_sorted_in_place (void **state)
{
    (void) state;
    for (unsigned ncells = 0; ncells <= 2; ncells += 2) {
        tl_agg_t *a = tl_agg_new_cells (ncells);
        uint64_t r = 0x9E3779B97F4A7C15ULL;
        char k [64];
        for (int i = 0; i < 120000; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            int len = (r % 3) ? snprintf (k, sizeof k, "2009-01-%02d %02d:%02d:%02d\x1f" "2009", (int) (r >> 8) % 31,
                                          (int) (r >> 16) % 24, (int) (r >> 24) % 60, (int) (r >> 32) % 60)
                              : snprintf (k, sizeof k, "%u", (unsigned) (r >> 40) % 3000);
            tl_cell_t cells [2];
            tl_cell_init (&cells [0]);
            tl_cell_init (&cells [1]);
            uint64_t add = 1 + (r >> 60) % 2;
            cells [0].n = add;                  /* so a group's cell n is its count */
            cells [0].sum = (double) len;
            assert_int_equal (tl_agg_merge (a, k, (size_t) len, add, ncells ? cells : NULL), 0);
        }
        size_t n = tl_agg_size (a);
        tl_agg_entry_t *got = calloc (n + 1, sizeof *got), *ref = calloc (n + 1, sizeof *ref);
        size_t pos = 0, m = 0;
        while (tl_agg_next (a, &pos, &ref [m]))
            m++;
        assert_int_equal (m, n);
        qsort (ref, n, sizeof *ref, s_ref_cmp);
        tl_agg_sorted (a, got);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal (got [i].count, ref [i].count);
            assert_int_equal (got [i].len, ref [i].len);
            assert_memory_equal (got [i].key, ref [i].key, got [i].len);
            tl_agg_entry_t e;
            assert_true (tl_agg_find (a, got [i].key, got [i].len, &e));
            assert_ptr_equal (got [i].cells, e.cells);
            if (ncells)
                assert_true (got [i].cells [0].n == got [i].count);
        }
        free (got);
        free (ref);
        tl_agg_destroy (&a);
    }
}

/*  tl_agg_order gives qsort's order as group numbers, for tables with and without cells:
    counts past the directly bucketed ones (1024 and up, equal big counts among them), keys
    that are prefixes of others or equal but for trailing zero bytes, keys longer than 8
    varying bytes and keys that vary in one byte only; the table stays readable after it. */
static void
test_order (void **state)
{
    (void) state;
    for (unsigned ncells = 0; ncells <= 1; ncells++)
        for (int shape = 0; shape < 3; shape++) {
            tl_agg_t *a = tl_agg_new_cells (ncells);
            uint64_t r = 0x2545F4914F6CDD1DULL + (uint64_t) shape;
            char k [80];
            int adds = shape == 2 ? 3 : 90000;
            for (int i = 0; i < adds; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                int len;
                switch (shape ? (shape == 1 ? 0 : 4) : (int) (r % 5)) {
                    case 0: len = snprintf (k, sizeof k, "2009-01-%02d %02d:%02d:%02d\x1f" "2009-01-%02d %02d:%02d",
                                            (int) (r >> 8) % 31, (int) (r >> 16) % 24, (int) (r >> 24) % 60,
                                            (int) (r >> 32) % 60, (int) (r >> 40) % 31, (int) (r >> 44) % 24,
                                            (int) (r >> 50) % 60); break;
                    case 1: len = (int) ((r >> 8) % 6); memset (k, 0, (size_t) len); if (len) k [0] = (char) ('a' + (r >> 16) % 2); break;
                    case 2: len = (int) ((r >> 8) % 70); for (int j = 0; j < len; j++) k [j] = (char) ('x' + ((r >> (j % 60)) & 1)); break;
                    case 3: len = snprintf (k, sizeof k, "%u", (unsigned) (r >> 40) % 5000); break;
                    default: len = snprintf (k, sizeof k, "key-%u", (unsigned) (r >> 40) % 7); break;
                }
                uint64_t add = (r >> 58) == 0 ? 1ULL << 40 : (r >> 58) < 3 ? 1000 + (r >> 30) % 30 : 1;
                tl_cell_t c;
                tl_cell_init (&c);
                c.n = add;
                assert_int_equal (tl_agg_merge (a, k, (size_t) len, add, ncells ? &c : NULL), 0);
            }
            size_t n = tl_agg_size (a), pos = 0, m = 0;
            tl_agg_entry_t *ref = calloc (n + 1, sizeof *ref);
            while (tl_agg_next (a, &pos, &ref [m]))
                m++;
            assert_int_equal (m, n);
            qsort (ref, n, sizeof *ref, s_ref_cmp);
            uint32_t *order = NULL;
            assert_int_equal (tl_agg_order (a, &order), 0);
            assert_non_null (order);
            assert_int_equal (tl_agg_size (a), n);
            for (size_t i = 0; i < n; i++) {
                tl_agg_entry_t e;
                tl_agg_at (a, order [i], &e);
                assert_int_equal (e.count, ref [i].count);
                assert_int_equal (e.len, ref [i].len);
                assert_memory_equal (e.key, ref [i].key, e.len);
                assert_ptr_equal (e.cells, ref [i].cells);
                if (ncells)
                    assert_true (e.cells [0].n == e.count);
            }
            free (order);
            free (ref);
            tl_agg_destroy (&a);
        }
}

/*  One result through tl_render (an array of entries, sorted by it) and through
    tl_render_view (the table sorted in place): the same bytes in every format and order.
    Keys with two parts, some that need quoting, some empty parts; a sum and an avg. Shape 1
    has keys of one length that differ in few bytes, which the view rebuilds from the sort's
    records instead of reading them (but for counts of 1024 and more); shape 2 keys of one
    length that differ in more than 64 bits, which it must read. */
static void
test_render_table (void **state)
{
    (void) state;
    const char *by [] = { "a", "b" }, *aggs [] = { "count", "sum:c", "avg:c" };
    char *col = NULL;
    tl_err_t e;
    assert_int_equal (tl_query_build (by, 2, aggs, 3, NULL, 0, NULL, 0, &col, &e), 0);
    tl_query_t q;
    assert_int_equal (tl_query_parse (col, &q, &e), 0);
    const tl_fmt_t fmts [] = { TL_FMT_CSV, TL_FMT_JSON, TL_FMT_TABLE };
    const tl_sort_t sorts [] = { TL_SORT_COUNT, TL_SORT_KEY, TL_SORT_KEY_DESC };
    for (int shape = 0; shape < 3; shape++)
    for (int fi = 0; fi < 3; fi++)
        for (int si = 0; si < 3; si++) {
            tl_agg_t *a = tl_agg_new_cells ((unsigned) q.nvals);
            uint64_t r = 0x9E3779B97F4A7C15ULL;
            char k [64];
            for (int i = 0; i < 5000; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                int len;
                switch (shape ? 3 + shape : (int) (r % 4)) {
                    case 1: len = snprintf (k, sizeof k, "x,\"%u\"%c", (unsigned) (r >> 40) % 50, TL_QUERY_KEY_SEP); break;
                    case 2: len = snprintf (k, sizeof k, "%c%u", TL_QUERY_KEY_SEP, (unsigned) (r >> 40) % 300); break;
                    case 5: len = 24; for (int j = 0; j < len; j++) k [j] = (char) ('a' + (r >> (j * 2 % 60)) % 16); break;
                    case 4:
                    case 0: len = snprintf (k, sizeof k, "2009-01-%02u %02u:%02u%c%u", (unsigned) (r >> 8) % 3,
                                            (unsigned) (r >> 16) % 24, (unsigned) (r >> 24) % 60, TL_QUERY_KEY_SEP,
                                            (unsigned) (r >> 40) % 9); break;
                    default: len = snprintf (k, sizeof k, "%u.5%c-%u", (unsigned) (r >> 40) % 200, TL_QUERY_KEY_SEP,
                                             (unsigned) (r >> 50) % 3); break;
                }
                tl_cell_t c [2];
                for (int j = 0; j < 2; j++) {
                    tl_cell_init (&c [j]);
                    c [j].n = 1;
                    c [j].sum = c [j].min = c [j].max = (double) (r >> 44) / 7.0;
                }
                uint64_t add = (r >> 60) == 0 ? 2000 : 1 + (r >> 58) % 2;
                assert_int_equal (tl_agg_merge (a, k, (size_t) len, add, c), 0);
            }
            size_t n = tl_agg_size (a), pos = 0, m = 0;
            tl_agg_entry_t *g = calloc (n + 1, sizeof *g);
            while (tl_agg_next (a, &pos, &g [m]))
                m++;
            tl_msg_t u = { .type = TL_MSG_UPDATE, .col = col, .done = true, .ok = true, .error = "", .tasks_done = 1,
                           .tasks_total = 1, .rows = 5000, .bytes = 1, .bytes_total = 1, .elapsed_ms = 1234,
                           .groups = g, .n_groups = n, .ncells = (unsigned) q.nvals };
            char *want = NULL, *got = NULL;
            size_t wn = 0, gn = 0;
            FILE *f = open_memstream (&want, &wn);
            tl_render_set_sort (sorts [si]);
            assert_int_equal (tl_render (f, &u, fmts [fi]), 0);
            fclose (f);
            tl_agg_view_t *view = NULL;
            assert_int_equal (tl_agg_view_new (a, &view), 0);
            assert_int_equal (tl_agg_view_size (view), n);
            u.groups = NULL;
            f = open_memstream (&got, &gn);
            assert_int_equal (tl_render_view (f, &u, view, fmts [fi]), 0);
            fclose (f);
            assert_true (wn > 100);
            assert_int_equal (gn, wn);
            assert_memory_equal (got, want, wn);
            free (want);
            free (got);
            tl_agg_view_destroy (&view);
            free (g);
            tl_agg_destroy (&a);
        }
    tl_render_set_sort (TL_SORT_COUNT);
    free (col);
}

static void
test_ledger_once (void **state)
{
    (void) state;
    tl_ledger_t *l = tl_ledger_new ();
    assert_int_equal (tl_ledger_set_tasks (l, 100), 0);
    tl_agg_entry_t g [] = { { "1", 1, 10, NULL }, { "2", 1, 5, NULL } };
    tl_msg_t p = { .type = TL_MSG_PARTIAL, .job = "j", .task = 7, .mapper = "m1", .rows = 15, .bytes = 100,
                   .offset = 0, .length = 100, .bad = 1, .groups = g, .n_groups = 2 };
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    assert_int_equal (tl_ledger_apply (l, &p), 0);     /* duplicate */
    p.attempt = 3;
    assert_int_equal (tl_ledger_apply (l, &p), 0);     /* re-run of the same task */
    p.task = 100;
    assert_int_equal (tl_ledger_apply (l, &p), TL_EINVAL);
    p.task = UINT64_MAX;
    assert_int_equal (tl_ledger_apply (l, &p), TL_EINVAL);
    p.task = 99;
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    tl_ledger_stats_t st = tl_ledger_stats (l);
    assert_int_equal (st.tasks_applied, 2);
    assert_int_equal (st.dups, 2);
    assert_int_equal (st.rejected, 2);
    assert_int_equal (st.rows, 30);
    assert_int_equal (tl_agg_get (tl_ledger_totals (l), "1", 1), 20);
    uint64_t *ids, *lens;
    size_t n;
    assert_int_equal (tl_ledger_applied_ids (l, &ids, &lens, &n), 0);
    assert_int_equal (n, 2);
    assert_int_equal (ids [0], 7);
    assert_int_equal (ids [1], 99);
    assert_int_equal (lens [0], 100);
    free (ids);
    free (lens);
    assert_int_equal (tl_ledger_set_tasks (l, 1ULL << 40), TL_EINVAL);

    /* A checkpoint round-trip keeps everything; a damaged one is refused. */
    tl_ledger_meta_t meta = { "job-1", "passenger_count", 12345, true, false, "2 task(s) failed", "fp", "k", 7 };
    char *buf;
    size_t len;
    assert_int_equal (tl_ledger_save (l, &meta, &buf, &len), 0);
    tl_ledger_t *l2 = tl_ledger_new ();
    tl_ledger_meta_t got;
    tl_err_t e;
    assert_int_equal (tl_ledger_load (l2, &got, buf, len, &e), 0);
    assert_string_equal (got.job, "job-1");
    assert_string_equal (got.col, "passenger_count");
    assert_string_equal (got.error, "2 task(s) failed");
    assert_int_equal (got.bytes_total, 12345);
    assert_true (got.done);
    assert_false (got.ok);
    assert_true (tl_ledger_applied (l2, 99));
    assert_false (tl_ledger_applied (l2, 98));
    assert_int_equal (tl_ledger_applied_length (l2, 7), 100);
    assert_int_equal (tl_agg_get (tl_ledger_totals (l2), "1", 1), 20);
    assert_int_equal (tl_ledger_stats (l2).dups, 2);
    p.task = 7;
    assert_int_equal (tl_ledger_apply (l2, &p), 0);    /* still a duplicate after the reload */
    for (size_t cut = 0; cut < len; cut += 7)
        assert_int_not_equal (tl_ledger_load (l2, &got, buf, cut, &e), 0);
    assert_string_equal (got.fingerprint, "fp");
    /* Coverage: 2 of 100 tasks applied, so 98 are missing, the first being 0..6. */
    uint64_t missing [4];
    char d1 [TL_DIGEST_HEX + 1], d2 [TL_DIGEST_HEX + 1];
    assert_int_equal (tl_ledger_coverage (l, 100, d1, missing, 4), 98);
    assert_int_equal (missing [0], 0);
    assert_int_equal (missing [3], 3);
    tl_ledger_t *l3 = tl_ledger_new ();
    tl_ledger_set_tasks (l3, 2);
    p.task = 0;
    tl_ledger_apply (l3, &p);
    p.task = 1;
    tl_ledger_apply (l3, &p);
    assert_int_equal (tl_ledger_coverage (l3, 2, d1, missing, 4), 0);
    /* The same digest as a broker computes over (2, (0, 100), (1, 100)). */
    tl_digest_t *d = tl_digest_new ();
    tl_digest_u64 (d, 2);
    for (uint64_t t = 0; t < 2; t++) {
        tl_digest_u64 (d, t);           /* written out, not tl_digest_task: the format itself */
        tl_digest_u64 (d, 100);
    }
    tl_digest_hex (d, d2);
    tl_digest_destroy (&d);
    assert_string_equal (d1, d2);
    tl_ledger_destroy (&l3);
    for (size_t at = 0; at < len; at++) {               /* any single damaged byte is refused */
        buf [at] ^= 0x10;
        assert_int_not_equal (tl_ledger_load (l2, &got, buf, len, &e), 0);
        buf [at] ^= 0x10;
    }
    free (buf);
    tl_ledger_destroy (&l2);
    tl_ledger_destroy (&l);
}

/*  Change tracking: each touched group once, in the order first touched, through the
    pipelined path of a big table, cells, sets and clears; and the ledger's changed groups are
    those of the partials applied since the last clear. */
/*  A job that is over: its totals sorted once (the final table) and sealed. Partials not yet
    applied are refused then (counted), duplicates are still duplicates; the sorted view lists
    the totals in output order, with fixed-length keys rebuilt from the records; a reset unseals
    the table, which takes adds again. */
static void
test_ledger_sorted (void **state)
{
    (void) state;
    tl_ledger_t *l = tl_ledger_new ();
    assert_int_equal (tl_ledger_set_tasks (l, 3), 0);
    tl_agg_entry_t g0 [] = { { "2009-01-01 00:00:01", 19, 1, NULL }, { "2009-01-01 00:00:02", 19, 4, NULL },
                             { "2009-01-01 00:00:03", 19, 1, NULL } };
    tl_agg_entry_t g1 [] = { { "2009-01-01 00:00:01", 19, 2, NULL }, { "2009-01-02 13:00:00", 19, 1, NULL } };
    tl_msg_t p = { .type = TL_MSG_PARTIAL, .job = "j", .task = 0, .mapper = "m", .rows = 6, .length = 10,
                   .groups = g0, .n_groups = 3 };
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    p.task = 1, p.groups = g1, p.n_groups = 2, p.rows = 3;
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    tl_agg_view_t *v = tl_ledger_sorted (l);
    assert_non_null (v);
    assert_ptr_equal (tl_ledger_sorted (l), v);        /* sorted once */
    assert_int_equal (tl_agg_view_size (v), 4);
    const char *want [] = { "2009-01-01 00:00:02", "2009-01-01 00:00:01", "2009-01-01 00:00:03",
                            "2009-01-02 13:00:00" };
    uint64_t counts [] = { 4, 3, 1, 1 };
    char buf [4] [32];
    size_t klen = tl_agg_view_keylen (v);
    assert_true (klen == 0 || klen == 19);
    for (size_t j = 0; j < 4; j++) {
        tl_agg_entry_t e;
        tl_agg_view_at (v, j, &e, buf [j]);
        assert_int_equal (e.len, 19);
        assert_memory_equal (e.key, want [j], 19);
        assert_int_equal (e.count, counts [j]);
    }
    /* Sealed: task 2 (never applied) is refused, task 0 is a duplicate; the totals are intact. */
    p.task = 2;
    assert_int_equal (tl_ledger_apply (l, &p), TL_EINVAL);
    p.task = 0;
    assert_int_equal (tl_ledger_apply (l, &p), 0);
    tl_ledger_stats_t st = tl_ledger_stats (l);
    assert_int_equal (st.rejected, 1);
    assert_int_equal (st.tasks_applied, 2);
    assert_int_equal (tl_agg_total (tl_ledger_totals (l)), 9);
    assert_int_equal (tl_agg_size (tl_ledger_totals (l)), 4);
    /* A new job: unsealed, empty, and counting again. */
    tl_ledger_reset (l);
    assert_int_equal (tl_ledger_set_tasks (l, 3), 0);
    p.task = 2;
    assert_int_equal (tl_ledger_apply (l, &p), 1);
    assert_int_equal (tl_agg_get (tl_ledger_totals (l), "2009-01-02 13:00:00", 19), 1);
    assert_int_equal (tl_agg_size (tl_ledger_totals (l)), 2);
    tl_ledger_destroy (&l);

    /* A bare table: adds to a sealed one fail, a cleared one takes them. */
    tl_agg_t *a = tl_agg_new ();
    assert_int_equal (tl_agg_add (a, "x", 1, 2), 0);
    uint32_t *order;
    assert_int_equal (tl_agg_order (a, &order), 0);
    free (order);
    assert_int_equal (tl_agg_add (a, "y", 1, 1), TL_EINVAL);
    assert_int_equal (tl_agg_get (a, "x", 1), 0);
    tl_agg_clear (a);
    assert_int_equal (tl_agg_add (a, "y", 1, 1), 0);
    assert_int_equal (tl_agg_get (a, "y", 1), 1);
    tl_agg_destroy (&a);
}

static void
test_agg_track (void **state)
{
    (void) state;
    tl_agg_t *a = tl_agg_new ();
    char k [32];
    for (int i = 0; i < 50000; i++)
        tl_agg_add (a, k, (size_t) snprintf (k, sizeof k, "before-%d", i), 1);     /* not tracked yet */
    assert_int_equal (tl_agg_track (a), 0);
    assert_int_equal (tl_agg_touched_count (a), 0);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 100000; i += 2) {
            /* half of them old groups, half new; each twice */
            int n = i < 50000 ? snprintf (k, sizeof k, "before-%d", i) : snprintf (k, sizeof k, "new-%d", i);
            assert_int_equal (tl_agg_add (a, k, (size_t) n, 1), 0);
        }
    assert_int_equal (tl_agg_touched_count (a), 50000);
    size_t pos = 0, seen = 0;
    tl_agg_entry_t e;
    while (tl_agg_touched_next (a, &pos, &e)) {
        int i = (int) seen * 2;
        int n = i < 50000 ? snprintf (k, sizeof k, "before-%d", i) : snprintf (k, sizeof k, "new-%d", i);
        assert_int_equal (e.len, n);
        assert_memory_equal (e.key, k, (size_t) n);
        assert_int_equal (e.count, i < 50000 ? 3 : 2);
        seen++;
    }
    assert_int_equal (seen, 50000);
    tl_agg_touched_clear (a);
    assert_int_equal (tl_agg_touched_count (a), 0);
    tl_agg_add (a, "before-1", 8, 1);
    tl_agg_add (a, "before-1", 8, 1);
    assert_int_equal (tl_agg_touched_count (a), 1);
    /* Set: absolute values; twice is once. */
    uint64_t old = 99;
    assert_int_equal (tl_agg_set (a, "before-1", 8, 10, NULL, &old, &e), 0);
    assert_int_equal (old, 3);
    assert_int_equal (tl_agg_set (a, "before-1", 8, 10, NULL, &old, NULL), 0);
    assert_int_equal (old, 10);
    assert_int_equal (tl_agg_set (a, "fresh", 5, 4, NULL, &old, NULL), 0);
    assert_int_equal (old, 0);
    assert_int_equal (tl_agg_get (a, "fresh", 5), 4);
    assert_int_equal (tl_agg_touched_count (a), 2);
    assert_true (tl_agg_find (a, "fresh", 5, &e));
    assert_false (tl_agg_find (a, "stale", 5, &e));
    tl_agg_clear (a);
    assert_int_equal (tl_agg_touched_count (a), 0);
    tl_agg_add (a, "x", 1, 1);
    assert_int_equal (tl_agg_touched_count (a), 1);
    tl_agg_destroy (&a);

    tl_agg_t *c = tl_agg_new_cells (1);
    assert_int_equal (tl_agg_track (c), 0);
    tl_cell_t cell = { 1, 0, 2.5, 2.5, 2.5 };
    assert_int_equal (tl_agg_merge (c, "k", 1, 1, &cell), 0);
    assert_int_equal (tl_agg_set (c, "j", 1, 7, &cell, NULL, NULL), 0);
    pos = 0;
    assert_true (tl_agg_touched_next (c, &pos, &e));
    assert_true (e.cells && e.cells [0].sum == 2.5);
    assert_true (tl_agg_touched_next (c, &pos, &e));
    assert_int_equal (e.count, 7);
    assert_false (tl_agg_touched_next (c, &pos, &e));
    tl_agg_destroy (&c);

    tl_ledger_t *l = tl_ledger_new ();
    tl_ledger_set_tasks (l, 10);
    tl_agg_entry_t g1 [] = { { "1", 1, 10, NULL }, { "2", 1, 5, NULL } }, g2 [] = { { "2", 1, 1, NULL }, { "3", 1, 1, NULL } };
    tl_msg_t p = { .type = TL_MSG_PARTIAL, .job = "j", .task = 0, .mapper = "m", .groups = g1, .n_groups = 2 };
    tl_ledger_apply (l, &p);
    assert_int_equal (tl_ledger_changed_count (l), 2);
    tl_ledger_changes_clear (l);
    p.task = 1, p.groups = g2;
    tl_ledger_apply (l, &p);
    tl_ledger_apply (l, &p);        /* a duplicate changes nothing */
    assert_int_equal (tl_ledger_changed_count (l), 2);
    pos = 0;
    assert_true (tl_ledger_changed_next (l, &pos, &e));
    assert_memory_equal (e.key, "2", 1);
    assert_int_equal (e.count, 6);      /* the total, not the partial's 1 */
    /* A new query shape (a new job) keeps tracking. */
    assert_int_equal (tl_ledger_set_cells (l, 1), 0);
    tl_ledger_reset (l);
    assert_int_equal (tl_ledger_changed_count (l), 0);
    tl_ledger_destroy (&l);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_agg_many),       cmocka_unit_test (test_sort_ties),
        cmocka_unit_test (test_agg_pipeline),   cmocka_unit_test (test_agg_cells_grow),
        cmocka_unit_test (test_sort_matches_qsort),
        cmocka_unit_test (test_sorted_in_place), cmocka_unit_test (test_ledger_once),
        cmocka_unit_test (test_ledger_sorted),
        cmocka_unit_test (test_agg_track),        cmocka_unit_test (test_order), cmocka_unit_test (test_render_table),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
