/*  The final table without a replica (lib/wire/final.c): a done snapshot in parts is taken
    whole and in order; deltas and snapshots of a running job are ignored; a lost part is a gap
    that a new snapshot repairs; a snapshot out of order (an older reducer) is put in order; a
    group named twice is refused; an empty table takes its cells from the query. Every message
    goes through the codec first, as it would over the wire. The expected orders are written
    out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wire/final.h"

typedef struct {
    const char *key;
    uint64_t count;
} s_group_t;

/*  m through the codec, as over the wire. */
static tl_msg_t
s_roundtrip (const tl_msg_t *m)
{
    char *buf;
    size_t len;
    assert_int_equal (tl_msg_encode (m, &buf, &len), 0);
    tl_msg_t d;
    tl_err_t err;
    assert_int_equal (tl_msg_decode (buf, len, &d, &err), 0);
    free (buf);
    return d;
}

static tl_msg_t
s_update (const char *kind, uint64_t seq, uint64_t part, uint64_t parts, const s_group_t *g, size_t n, bool done)
{
    tl_agg_entry_t *e = calloc (n + 1, sizeof *e);
    for (size_t i = 0; i < n; i++)
        e [i] = (tl_agg_entry_t) { g [i].key, (uint32_t) strlen (g [i].key), g [i].count, NULL };
    tl_msg_t m = { .type = TL_MSG_UPDATE, .seq = seq, .job = "j", .col = "c", .done = done, .ok = done,
                   .groups = e, .n_groups = n, .kind = kind, .base = seq - 1, .part = part, .parts = parts };
    tl_msg_t d = s_roundtrip (&m);
    free (e);
    return d;
}

static tl_final_rc_t
s_feed (tl_final_t *f, const char *kind, uint64_t seq, uint64_t part, uint64_t parts, const s_group_t *g, size_t n,
        bool done)
{
    tl_msg_t m = s_update (kind, seq, part, parts, g, n, done);
    tl_final_rc_t rc = tl_final_apply (f, &m);
    assert_null (m.arena_);
    return rc;
}
#define SNAP(f, seq, part, parts, g, done) \
    s_feed (f, TL_UPDATE_SNAPSHOT, seq, part, parts, g, sizeof g / sizeof g [0], done)
#define DELTA(f, seq, g, done) s_feed (f, TL_UPDATE_DELTA, seq, 1, 1, g, sizeof g / sizeof g [0], done)

/*  The groups held, against the keys and counts expected in this order. */
static void
s_expect (tl_final_t *f, const s_group_t *want, size_t n)
{
    size_t got;
    tl_agg_entry_t *g = tl_final_groups (f, &got);
    assert_int_equal (got, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal (g [i].len, strlen (want [i].key));
        assert_memory_equal (g [i].key, want [i].key, g [i].len);
        assert_int_equal (g [i].count, want [i].count);
    }
}

static void
test_whole_in_order (void **state)
{
    (void) state;
    tl_final_t *f = tl_final_new ();
    s_group_t run [] = { { "z", 1 } }, p1 [] = { { "b", 9 }, { "a", 5 } }, p2 [] = { { "c", 5 }, { "aa", 2 } },
              p3 [] = { { "d", 1 } };
    assert_int_equal (SNAP (f, 5, 1, 1, run, false), TL_FINAL_IGNORED);   /* a running job's */
    assert_int_equal (DELTA (f, 6, run, false), TL_FINAL_IGNORED);
    assert_false (tl_final_seen_done (f));
    assert_int_equal (DELTA (f, 7, run, true), TL_FINAL_IGNORED);        /* the end, as a delta */
    assert_true (tl_final_seen_done (f));
    assert_null (tl_final_last (f));
    assert_int_equal (SNAP (f, 7, 1, 3, p1, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 7, 2, 3, p2, true), TL_FINAL_PART);
    assert_null (tl_final_last (f));
    assert_int_equal (SNAP (f, 7, 3, 3, p3, true), TL_FINAL_WHOLE);
    assert_non_null (tl_final_last (f));
    assert_true (tl_final_last (f)->ok);
    s_group_t want [] = { { "b", 9 }, { "a", 5 }, { "c", 5 }, { "aa", 2 }, { "d", 1 } };
    s_expect (f, want, 5);
    tl_final_destroy (&f);
    assert_null (f);
}

static void
test_lost_part (void **state)
{
    (void) state;
    tl_final_t *f = tl_final_new ();
    s_group_t p1 [] = { { "b", 9 } }, p2 [] = { { "a", 5 } }, p3 [] = { { "c", 1 } };
    assert_int_equal (SNAP (f, 7, 1, 3, p1, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 7, 3, 3, p3, true), TL_FINAL_GAP);      /* part 2 lost */
    assert_null (tl_final_last (f));
    assert_int_equal (SNAP (f, 7, 2, 3, p2, true), TL_FINAL_IGNORED);  /* no beginning */
    /* A delta between parts means parts were lost as well. */
    assert_int_equal (SNAP (f, 7, 1, 3, p1, true), TL_FINAL_PART);
    assert_int_equal (DELTA (f, 8, p2, true), TL_FINAL_GAP);
    /* A new snapshot starts over, also in the middle of another. */
    assert_int_equal (SNAP (f, 8, 1, 3, p1, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 9, 1, 3, p1, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 9, 2, 3, p2, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 9, 3, 3, p3, true), TL_FINAL_WHOLE);
    s_group_t want [] = { { "b", 9 }, { "a", 5 }, { "c", 1 } };
    s_expect (f, want, 3);
    tl_final_destroy (&f);
}

static void
test_unordered_and_twice (void **state)
{
    (void) state;
    tl_final_t *f = tl_final_new ();
    s_group_t p1 [] = { { "a", 1 }, { "c", 7 } }, p2 [] = { { "b", 7 }, { "d", 3 } };
    assert_int_equal (SNAP (f, 3, 1, 2, p1, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 3, 2, 2, p2, true), TL_FINAL_WHOLE);
    s_group_t want [] = { { "b", 7 }, { "c", 7 }, { "d", 3 }, { "a", 1 } };
    s_expect (f, want, 4);
    /* The same group in two parts, in order or not. */
    s_group_t q1 [] = { { "b", 7 }, { "a", 1 } }, q2 [] = { { "a", 1 } };
    assert_int_equal (SNAP (f, 4, 1, 2, q1, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 4, 2, 2, q2, true), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "'a' twice"));
    s_group_t r1 [] = { { "a", 1 }, { "b", 7 } }, r2 [] = { { "a", 1 } };
    assert_int_equal (SNAP (f, 5, 1, 2, r1, true), TL_FINAL_PART);
    assert_int_equal (SNAP (f, 5, 2, 2, r2, true), TL_FINAL_BAD);
    tl_final_destroy (&f);
}

/*  An empty final table of a query with sums: the cells' shape comes from the query. */
static void
test_empty_with_cells (void **state)
{
    (void) state;
    tl_final_t *f = tl_final_new ();
    tl_msg_t m = { .type = TL_MSG_UPDATE, .seq = 2, .job = "j", .col = "by a\nagg sum:b\n", .done = true,
                   .ok = true, .kind = TL_UPDATE_SNAPSHOT, .part = 1, .parts = 1 };
    tl_msg_t d = s_roundtrip (&m);
    assert_int_equal (tl_final_apply (f, &d), TL_FINAL_WHOLE);
    assert_int_equal (tl_final_last (f)->ncells, 1);
    size_t n = 9;
    tl_final_groups (f, &n);
    assert_int_equal (n, 0);
    tl_final_destroy (&f);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_whole_in_order),
        cmocka_unit_test (test_lost_part),
        cmocka_unit_test (test_unordered_and_twice),
        cmocka_unit_test (test_empty_with_cells),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
