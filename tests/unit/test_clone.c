/*  The replica of the reducer's table (lib/wire/clone.c): chunked snapshots, deltas, lost,
    repeated and out-of-place messages, a snapshot that replaces the table, the final state, and
    the top N kept from deltas against a full sort. Every message goes through the codec first,
    as it would over the wire. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wire/clone.h"
#include "tests/unit/update_msg.h"

/*  An UPDATE as the reducer sends it, encoded and decoded. kind NULL: one without a kind. */
static tl_msg_t
s_update (const char *job, const char *kind, uint64_t seq, uint64_t base, uint64_t part, uint64_t parts,
          const s_group_t *g, size_t n, bool done)
{
    return s_update_msg (job, kind, seq, base, part, parts, g, n, done);
}

static tl_clone_rc_t
s_feed (tl_clone_t *c, const char *job, const char *kind, uint64_t seq, uint64_t base, uint64_t part,
        uint64_t parts, const s_group_t *g, size_t n)
{
    tl_msg_t m = s_update (job, kind, seq, base, part, parts, g, n, false);
    tl_clone_rc_t rc = tl_clone_apply (c, &m);
    assert_null (m.arena_);     /* taken or released: nothing left for the caller */
    return rc;
}
#define SNAP(c, seq, part, parts, g) s_feed (c, "j", TL_UPDATE_SNAPSHOT, seq, 0, part, parts, g, sizeof g / sizeof g [0])
#define DELTA(c, seq, base, g) s_feed (c, "j", TL_UPDATE_DELTA, seq, base, 1, 1, g, sizeof g / sizeof g [0])

static uint64_t
s_get (tl_clone_t *c, const char *key)
{
    return tl_agg_get (tl_clone_table (c), key, strlen (key));
}

/*  A snapshot of 3 parts, then deltas carrying totals: applied, and repeats change nothing. */
static void
test_snapshot_and_deltas (void **state)
{
    (void) state;
    tl_clone_t *c = tl_clone_new ();
    s_group_t p1 [] = { { "a", 5 }, { "b", 3 } }, p2 [] = { { "c", 1 } }, p3 [] = { { "d", 7 } };
    assert_false (tl_clone_whole (c));
    assert_null (tl_clone_last (c));
    assert_int_equal (SNAP (c, 10, 1, 3, p1), TL_CLONE_PART);
    assert_int_equal (SNAP (c, 10, 2, 3, p2), TL_CLONE_PART);
    assert_false (tl_clone_whole (c));
    assert_int_equal (tl_agg_size (tl_clone_table (c)), 0);    /* not shown before it is whole */
    assert_int_equal (SNAP (c, 10, 3, 3, p3), TL_CLONE_APPLIED);
    assert_true (tl_clone_whole (c));
    assert_int_equal (tl_clone_seq (c), 10);
    assert_int_equal (tl_agg_size (tl_clone_table (c)), 4);
    assert_int_equal (s_get (c, "d"), 7);

    s_group_t d1 [] = { { "a", 9 }, { "e", 2 } };
    assert_int_equal (DELTA (c, 11, 10, d1), TL_CLONE_APPLIED);
    assert_int_equal (s_get (c, "a"), 9);       /* the new total, not 5 + 9 */
    assert_int_equal (s_get (c, "e"), 2);
    assert_int_equal (tl_agg_size (tl_clone_table (c)), 5);
    /* The same delta again (a duplicate), and an older one: nothing changes. */
    assert_int_equal (DELTA (c, 11, 10, d1), TL_CLONE_SKIPPED);
    s_group_t old [] = { { "a", 1 } };
    assert_int_equal (DELTA (c, 9, 8, old), TL_CLONE_SKIPPED);
    assert_int_equal (s_get (c, "a"), 9);
    assert_int_equal (tl_agg_total (tl_clone_table (c)), 9 + 3 + 1 + 7 + 2);
    /* A delta in two parts: whole only after the second. */
    s_group_t d2a [] = { { "b", 4 } }, d2b [] = { { "f", 1 } };
    assert_int_equal (s_feed (c, "j", TL_UPDATE_DELTA, 12, 11, 1, 2, d2a, 1), TL_CLONE_PART);
    assert_false (tl_clone_whole (c));
    assert_int_equal (s_feed (c, "j", TL_UPDATE_DELTA, 12, 11, 2, 2, d2b, 1), TL_CLONE_APPLIED);
    assert_true (tl_clone_whole (c));
    assert_int_equal (tl_clone_seq (c), 12);
    assert_int_equal (s_get (c, "b"), 4);
    tl_clone_stats_t st = tl_clone_stats (c);
    assert_int_equal (st.snapshots, 1);
    assert_int_equal (st.deltas, 2);
    assert_int_equal (st.skipped, 2);
    assert_int_equal (st.gaps, 0);
    tl_clone_destroy (&c);
    assert_null (c);
}

/*  A delta lost at the publisher: the next one does not follow, so the replica asks for a
    snapshot and ignores deltas until a whole one is in; then it is exact again. */
static void
test_dropped_delta (void **state)
{
    (void) state;
    tl_clone_t *c = tl_clone_new ();
    s_group_t s [] = { { "a", 1 }, { "b", 1 } };
    assert_int_equal (SNAP (c, 100, 1, 1, s), TL_CLONE_APPLIED);
    s_group_t d1 [] = { { "a", 2 } }, d3 [] = { { "c", 1 } };
    assert_int_equal (DELTA (c, 101, 100, d1), TL_CLONE_APPLIED);
    /* 102 (b = 5) is lost: 103 says base 102. */
    assert_int_equal (DELTA (c, 103, 102, d3), TL_CLONE_GAP);
    assert_false (tl_clone_whole (c));
    assert_int_equal (s_get (c, "c"), 0);       /* not applied on top of a table that misses 102 */
    s_group_t d4 [] = { { "a", 3 } };
    assert_int_equal (DELTA (c, 104, 103, d4), TL_CLONE_WAITING);
    assert_int_equal (tl_clone_stats (c).gaps, 1);  /* one loss, one request */
    /* The snapshot asked for (after 104: what 102..104 did is in it). */
    s_group_t f1 [] = { { "a", 3 }, { "b", 5 } }, f2 [] = { { "c", 1 } };
    assert_int_equal (SNAP (c, 104, 1, 2, f1), TL_CLONE_PART);
    assert_int_equal (SNAP (c, 104, 2, 2, f2), TL_CLONE_APPLIED);
    assert_true (tl_clone_whole (c));
    assert_int_equal (s_get (c, "a"), 3);
    assert_int_equal (s_get (c, "b"), 5);
    assert_int_equal (s_get (c, "c"), 1);
    s_group_t d5 [] = { { "c", 2 } };
    assert_int_equal (DELTA (c, 105, 104, d5), TL_CLONE_APPLIED);
    assert_int_equal (s_get (c, "c"), 2);
    /* The second part of a delta lost: the next message is not it. */
    assert_int_equal (s_feed (c, "j", TL_UPDATE_DELTA, 106, 105, 1, 2, d5, 1), TL_CLONE_PART);
    assert_int_equal (s_feed (c, "j", TL_UPDATE_DELTA, 107, 106, 1, 1, d5, 1), TL_CLONE_GAP);
    tl_clone_destroy (&c);
}

/*  A bare delta (no subscriber held tally-groups when it was sent: progress only), through
    the codec. Before our first snapshot it means nothing, as any delta; a repeat changes
    nothing; over the seq we hold it is a loss of its groups, so a gap. */
static tl_clone_rc_t
s_feed_bare (tl_clone_t *c, uint64_t seq, uint64_t base)
{
    tl_msg_t m = { .type = TL_MSG_UPDATE, .seq = seq, .job = "j", .col = "c", .kind = TL_UPDATE_DELTA,
                   .base = base, .part = 1, .parts = 1, .bare = true };
    tl_msg_t d = s_roundtrip (&m);
    assert_true (d.bare);
    assert_int_equal (d.n_groups, 0);
    return tl_clone_apply (c, &d);
}

static void
test_bare_delta (void **state)
{
    (void) state;
    tl_clone_t *c = tl_clone_new ();
    assert_int_equal (s_feed_bare (c, 5, 4), TL_CLONE_WAITING);
    s_group_t s [] = { { "a", 1 } };
    assert_int_equal (SNAP (c, 6, 1, 1, s), TL_CLONE_APPLIED);
    assert_int_equal (s_feed_bare (c, 6, 5), TL_CLONE_SKIPPED);
    assert_int_equal (s_feed_bare (c, 7, 6), TL_CLONE_GAP);
    assert_false (tl_clone_whole (c));
    assert_int_equal (tl_clone_stats (c).gaps, 1);
    /* An ordinary delta is not bare on the wire: the key is left out. */
    s_group_t d [] = { { "a", 2 } };
    tl_msg_t m = s_update ("j", TL_UPDATE_DELTA, 8, 7, 1, 1, d, 1, false);
    assert_false (m.bare);
    tl_msg_clear (&m);
    tl_clone_destroy (&c);
}

/*  Deltas while a snapshot is assembled mean the rest of the snapshot was lost; parts seen
    before any beginning (we joined in the middle of one) are waited out, not a loss. */
static void
test_deltas_during_snapshot (void **state)
{
    (void) state;
    tl_clone_t *c = tl_clone_new ();
    s_group_t p [] = { { "x", 1 } }, d [] = { { "x", 2 } };
    /* Joined mid-snapshot: its parts 2 and 3, then a delta: all waited out. */
    assert_int_equal (SNAP (c, 7, 2, 3, p), TL_CLONE_WAITING);
    assert_int_equal (SNAP (c, 7, 3, 3, p), TL_CLONE_WAITING);
    assert_int_equal (DELTA (c, 8, 7, d), TL_CLONE_WAITING);
    assert_int_equal (tl_clone_stats (c).gaps, 0);
    /* Our own snapshot, cut short: a delta comes after part 1 of 2. */
    assert_int_equal (SNAP (c, 8, 1, 2, p), TL_CLONE_PART);
    assert_int_equal (DELTA (c, 9, 8, d), TL_CLONE_GAP);
    assert_false (tl_clone_whole (c));
    /* A part that skips one (2 of 3 lost) is a loss too. */
    assert_int_equal (SNAP (c, 9, 1, 3, p), TL_CLONE_PART);
    assert_int_equal (SNAP (c, 9, 3, 3, p), TL_CLONE_GAP);
    /* Then a whole one. */
    s_group_t w [] = { { "x", 2 }, { "y", 4 } };
    assert_int_equal (SNAP (c, 9, 1, 1, w), TL_CLONE_APPLIED);
    assert_int_equal (DELTA (c, 10, 9, d), TL_CLONE_APPLIED);
    assert_int_equal (s_get (c, "y"), 4);
    assert_int_equal (tl_clone_stats (c).gaps, 2);
    tl_clone_destroy (&c);
}

/*  A snapshot with another seq or of another job replaces the table: groups it does not hold
    are gone. A snapshot of the seq we hold is what we have: skipped. */
static void
test_snapshot_replaces (void **state)
{
    (void) state;
    tl_clone_t *c = tl_clone_new ();
    s_group_t a [] = { { "old", 5 }, { "both", 1 } };
    assert_int_equal (SNAP (c, 20, 1, 1, a), TL_CLONE_APPLIED);
    s_group_t same [] = { { "not", 1 } };
    assert_int_equal (SNAP (c, 20, 1, 1, same), TL_CLONE_SKIPPED);
    assert_int_equal (s_get (c, "not"), 0);
    s_group_t b [] = { { "both", 2 }, { "new", 3 } };
    assert_int_equal (SNAP (c, 30, 1, 1, b), TL_CLONE_APPLIED);
    assert_int_equal (s_get (c, "old"), 0);
    assert_int_equal (s_get (c, "both"), 2);
    assert_int_equal (tl_agg_size (tl_clone_table (c)), 2);
    /* Another job, even with a lower seq (a new reducer): the new job's table. */
    s_group_t k [] = { { "k", 1 } };
    assert_int_equal (s_feed (c, "job2", TL_UPDATE_SNAPSHOT, 5, 0, 1, 1, k, 1), TL_CLONE_APPLIED);
    assert_string_equal (tl_clone_last (c)->job, "job2");
    assert_int_equal (tl_agg_size (tl_clone_table (c)), 1);
    /* A delta of the job before is a loss (of the new job's snapshot, in this order). */
    assert_int_equal (DELTA (c, 31, 30, k), TL_CLONE_GAP);
    /* An UPDATE without a kind (a reducer before deltas) is a whole state in one message. */
    s_group_t l [] = { { "legacy", 9 } };
    assert_int_equal (s_feed (c, "j", NULL, 40, 0, 0, 0, l, 1), TL_CLONE_APPLIED);
    assert_int_equal (s_get (c, "legacy"), 9);
    assert_int_equal (tl_agg_size (tl_clone_table (c)), 1);
    tl_clone_destroy (&c);
}

/*  The end of a job: the final delta (done) makes a whole replica final; the snapshot of the
    same seq after it is skipped by that one, and makes a lossy one exact and final. */
static void
test_final_state (void **state)
{
    (void) state;
    tl_clone_t *ok = tl_clone_new (), *lossy = tl_clone_new ();
    s_group_t s [] = { { "a", 1 } }, d1 [] = { { "a", 2 } }, d2 [] = { { "b", 1 } };
    assert_int_equal (SNAP (ok, 50, 1, 1, s), TL_CLONE_APPLIED);
    assert_int_equal (SNAP (lossy, 50, 1, 1, s), TL_CLONE_APPLIED);
    assert_int_equal (DELTA (ok, 51, 50, d1), TL_CLONE_APPLIED);
    tl_msg_t fin = s_update ("j", TL_UPDATE_DELTA, 52, 51, 1, 1, d2, 1, true);
    assert_int_equal (tl_clone_apply (ok, &fin), TL_CLONE_APPLIED);
    assert_true (tl_clone_last (ok)->done);
    assert_true (tl_clone_last (ok)->ok);
    /* The lossy one missed 51 and sees the final delta: a gap, not a wrong final table. */
    fin = s_update ("j", TL_UPDATE_DELTA, 52, 51, 1, 1, d2, 1, true);
    assert_int_equal (tl_clone_apply (lossy, &fin), TL_CLONE_GAP);
    assert_false (tl_clone_last (lossy)->done);
    s_group_t all [] = { { "a", 2 }, { "b", 1 } };
    for (int i = 0; i < 2; i++) {
        tl_clone_t *c = i ? lossy : ok;
        tl_msg_t snap = s_update ("j", TL_UPDATE_SNAPSHOT, 52, 0, 1, 1, all, 2, true);
        assert_int_equal (tl_clone_apply (c, &snap), i ? TL_CLONE_APPLIED : TL_CLONE_SKIPPED);
        assert_true (tl_clone_whole (c));
        assert_true (tl_clone_last (c)->done);
        assert_int_equal (s_get (c, "a"), 2);
        assert_int_equal (s_get (c, "b"), 1);
        size_t n = 0;
        tl_agg_entry_t *v = tl_clone_all (c, &n);
        assert_int_equal (n, 2);
        assert_memory_equal (v [0].key, "a", 1);
        free (v);
    }
    /* The final state repeated (an empty delta after it): nothing to do. */
    assert_int_equal (s_feed (ok, "j", TL_UPDATE_DELTA, 53, 52, 1, 1, NULL, 0), TL_CLONE_APPLIED);
    assert_int_equal (tl_agg_size (tl_clone_table (ok)), 2);
    tl_clone_destroy (&ok);
    tl_clone_destroy (&lossy);
}

/*  The top N kept from deltas equals a full sort's first N, through growth, ties, groups that
    enter and leave the top, a snapshot in between, and a count that falls. */
static void
test_top (void **state)
{
    (void) state;
    enum { G = 3000, N = 25 };
    uint64_t *cnt = calloc (G, sizeof *cnt);
    char (*keys) [16] = calloc (G, sizeof *keys);
    s_group_t *g = calloc (G, sizeof *g);
    for (int i = 0; i < G; i++)
        snprintf (keys [i], sizeof keys [i], "k%05d", i);
    tl_clone_t *c = tl_clone_new ();
    assert_int_equal (s_feed (c, "j", TL_UPDATE_SNAPSHOT, 1, 0, 1, 1, NULL, 0), TL_CLONE_APPLIED);
    tl_agg_entry_t top [N], *all = calloc (G, sizeof *all);
    assert_int_equal (tl_clone_top (c, N, top), 0);
    unsigned seed = 16;
    uint64_t seq = 1;
    for (int round = 0; round < 300; round++) {
        size_t n = 0;
        int changes = round < 20 ? 200 : 1 + (int) (rand_r (&seed) % 30);
        for (int k = 0; k < changes; k++) {
            int i = (int) (rand_r (&seed) % G);
            /* mostly small steps, so ties are common and groups cross the top's edge */
            cnt [i] += 1 + rand_r (&seed) % (round % 7 == 0 ? 40 : 3);
            g [n++] = (s_group_t) { keys [i], cnt [i] };
        }
        if (round == 150) {
            /* a count that falls: no longer a job's counts, but the top must still be right */
            int i = (int) (rand_r (&seed) % G);
            cnt [i] = 0;
            g [n++] = (s_group_t) { keys [i], 0 };
        }
        tl_clone_rc_t rc;
        if (round == 200) {
            /* a snapshot of everything, with a new seq */
            n = 0;
            for (int i = 0; i < G; i++)
                if (cnt [i])
                    g [n++] = (s_group_t) { keys [i], cnt [i] };
            rc = s_feed (c, "j", TL_UPDATE_SNAPSHOT, seq + 1, 0, 1, 1, g, n);
        }
        else
            rc = s_feed (c, "j", TL_UPDATE_DELTA, seq + 1, seq, 1, 1, g, n);
        assert_int_equal (rc, TL_CLONE_APPLIED);
        seq++;
        if (round % 3 && round != 151)
            continue;   /* asked less often than updates come, except right after the fall */
        size_t want = round % 2 ? N : 10;
        size_t got = tl_clone_top (c, want, top);
        tl_agg_sorted (tl_clone_table (c), all);
        size_t size = tl_agg_size (tl_clone_table (c));
        assert_int_equal (got, size < want ? size : want);
        for (size_t i = 0; i < got; i++) {
            assert_int_equal (top [i].len, all [i].len);
            assert_memory_equal (top [i].key, all [i].key, all [i].len);
            assert_int_equal (top [i].count, all [i].count);
        }
    }
    free (all);
    free (g);
    free (keys);
    free (cnt);
    tl_clone_destroy (&c);
}

/*  Value cells of a query travel with the totals; the codec refuses UPDATEs that say what they
    are wrongly. */
static void
test_cells_and_codec (void **state)
{
    (void) state;
    tl_cell_t cells [1] = { { 2, 0, 7.5, 3.0, 4.5 } };
    tl_agg_entry_t e = { "k", 1, 2, cells };
    tl_msg_t m = { .type = TL_MSG_UPDATE, .seq = 3, .job = "j", .col = "by a\nagg sum:b\n", .groups = &e,
                   .n_groups = 1, .ncells = 1, .kind = TL_UPDATE_SNAPSHOT, .part = 1, .parts = 1 };
    char *buf;
    size_t len;
    assert_int_equal (tl_msg_encode (&m, &buf, &len), 0);
    tl_msg_t d;
    tl_err_t err;
    assert_int_equal (tl_msg_decode (buf, len, &d, &err), 0);
    free (buf);
    tl_clone_t *c = tl_clone_new ();
    assert_int_equal (tl_clone_apply (c, &d), TL_CLONE_APPLIED);
    tl_agg_entry_t got;
    assert_true (tl_agg_find (tl_clone_table (c), "k", 1, &got));
    assert_non_null (got.cells);
    assert_true (got.cells [0].sum == 7.5 && got.cells [0].max == 4.5);
    tl_clone_destroy (&c);

    struct { const char *kind; uint64_t part, parts; bool base; } bad [] = {
        { "bogus", 1, 1, true }, { TL_UPDATE_SNAPSHOT, 0, 1, false }, { TL_UPDATE_SNAPSHOT, 3, 2, false },
        { TL_UPDATE_DELTA, 1, 1, false },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        /* Written by hand: the encoder leaves out base for a snapshot and kind-less fields. */
        char raw [512];
        size_t n = 0;
        const char *fields [] = { "v", "t", "seq", "job", "col", "done", "ok", "tasks_done", "tasks_total", "rows",
                                  "bytes", "bytes_total", "bad", "elapsed_ms", "groups", "kind", "part", "parts", "base" };
        int nf = bad [i].base ? 19 : 18;
        raw [n++] = (char) 0xde;
        raw [n++] = 0;
        raw [n++] = (char) nf;
        for (int f = 0; f < nf; f++) {
            size_t kl = strlen (fields [f]);
            raw [n++] = (char) (0xa0 | kl);
            memcpy (raw + n, fields [f], kl);
            n += kl;
            const char *k = fields [f];
            if (!strcmp (k, "v"))
                raw [n++] = TL_PROTO_VERSION;
            else if (!strcmp (k, "t"))
                raw [n++] = (char) 0xa6, memcpy (raw + n, "update", 6), n += 6;
            else if (!strcmp (k, "job") || !strcmp (k, "col"))
                raw [n++] = (char) 0xa1, raw [n++] = 'j';
            else if (!strcmp (k, "done") || !strcmp (k, "ok"))
                raw [n++] = (char) 0xc2;
            else if (!strcmp (k, "groups"))
                raw [n++] = (char) 0x90;
            else if (!strcmp (k, "kind")) {
                size_t l = strlen (bad [i].kind);
                raw [n++] = (char) (0xa0 | l);
                memcpy (raw + n, bad [i].kind, l);
                n += l;
            }
            else if (!strcmp (k, "part"))
                raw [n++] = (char) bad [i].part;
            else if (!strcmp (k, "parts"))
                raw [n++] = (char) bad [i].parts;
            else
                raw [n++] = 1;
        }
        assert_int_equal (tl_msg_decode (raw, n, &d, &err), TL_EPROTO);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_snapshot_and_deltas), cmocka_unit_test (test_dropped_delta),
        cmocka_unit_test (test_deltas_during_snapshot), cmocka_unit_test (test_snapshot_replaces),
        cmocka_unit_test (test_final_state),      cmocka_unit_test (test_top),
        cmocka_unit_test (test_cells_and_codec),  cmocka_unit_test (test_bare_delta),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
