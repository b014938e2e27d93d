/*  The final table without a replica (lib/wire/final.c): a done snapshot in parts is taken
    whole and in order; deltas and snapshots of a running job are ignored; a lost part is a gap
    that a new snapshot repairs; a snapshot out of order (an older reducer) is put in order; a
    group named twice is refused; an empty table takes its cells from the query. Streaming:
    parts are handed out in order and none kept; after a gap the same job's table sent again
    (cut into parts differently) goes on exactly where the output stopped, and another job, a
    table that differs at the resume point or is shorter, or parts out of order are refused; a
    first part out of order falls back to gathering. Every message goes through the codec
    first, as it would over the wire. The expected orders are written out by hand, and a
    randomised round (tables, cuts and losses from a fixed seed) checks that what is handed out
    is always the table, whole, once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wire/final.h"
#include "tests/unit/update_msg.h"

static tl_msg_t
s_update_of (const char *job, const char *kind, uint64_t seq, uint64_t part, uint64_t parts, const s_group_t *g,
             size_t n, bool done)
{
    return s_update_msg (job, kind, seq, seq - 1, part, parts, g, n, done);
}

static tl_msg_t
s_update (const char *kind, uint64_t seq, uint64_t part, uint64_t parts, const s_group_t *g, size_t n, bool done)
{
    return s_update_of ("j", kind, seq, part, parts, g, n, done);
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

/*  What a streaming tl_final_t handed out, a "key count" line per group. */
typedef struct {
    char text [1 << 16];
    size_t n;
} s_out_t;

static tl_final_rc_t
s_stream_feed (tl_final_t *f, s_out_t *o, const char *job, const char *kind, uint64_t seq, uint64_t part,
               uint64_t parts, const s_group_t *g, size_t n)
{
    tl_msg_t m = s_update_of (job, kind, seq, part, parts, g, n, true);
    tl_final_rc_t rc = tl_final_apply (f, &m);
    const tl_agg_entry_t *h;
    size_t k;
    const tl_msg_t *p = tl_final_part (f, &h, &k);
    if (rc != TL_FINAL_STREAM && rc != TL_FINAL_END) {
        assert_null (p);
        assert_int_equal (k, 0);
        return rc;
    }
    assert_non_null (p);
    assert_string_equal (p->job, job);
    for (size_t i = 0; i < k; i++) {
        int w = snprintf (o->text + o->n, sizeof o->text - o->n, "%.*s %llu\n", (int) h [i].len, h [i].key,
                          (unsigned long long) h [i].count);
        assert_true (w > 0 && (size_t) w < sizeof o->text - o->n);
        o->n += (size_t) w;
    }
    return rc;
}
#define SSNAP(f, o, job, seq, part, parts, g) \
    s_stream_feed (f, o, job, TL_UPDATE_SNAPSHOT, seq, part, parts, g, sizeof g / sizeof g [0])

static tl_final_t *
s_streaming (void)
{
    tl_final_t *f = tl_final_new ();
    assert_non_null (f);
    tl_final_set_stream (f, true);
    return f;
}

/*  Parts in order are handed out as they come, and only the part just taken is held. */
static void
test_stream_in_order (void **state)
{
    (void) state;
    tl_final_t *f = s_streaming ();
    s_out_t *o = calloc (1, sizeof *o);
    s_group_t run [] = { { "z", 1 } }, p1 [] = { { "b", 9 }, { "a", 5 } }, p2 [] = { { "c", 5 }, { "aa", 2 } },
              p3 [] = { { "d", 1 } };
    assert_int_equal (SNAP (f, 5, 1, 1, run, false), TL_FINAL_IGNORED);
    assert_int_equal (DELTA (f, 6, run, true), TL_FINAL_IGNORED);
    assert_false (tl_final_begun (f));
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_string_equal (o->text, "b 9\na 5\n");
    assert_true (tl_final_begun (f));
    assert_int_equal (tl_final_written (f), 2);
    assert_null (tl_final_last (f));            /* not before the end */
    assert_int_equal (SSNAP (f, o, "j", 6, 2, 3, p2), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_END);
    assert_string_equal (o->text, "b 9\na 5\nc 5\naa 2\nd 1\n");
    assert_int_equal (tl_final_written (f), 5);
    assert_non_null (tl_final_last (f));
    assert_true (tl_final_last (f)->ok);
    size_t n = 9;
    assert_null (tl_final_groups (f, &n));      /* none kept */
    assert_int_equal (n, 0);
    /* After the end, a later final table is a new output. */
    o->n = 0;
    o->text [0] = 0;
    assert_int_equal (SSNAP (f, o, "k", 9, 1, 1, p3), TL_FINAL_END);
    assert_string_equal (o->text, "d 1\n");
    assert_int_equal (tl_final_written (f), 1);
    free (o);
    tl_final_destroy (&f);
    assert_null (f);
}

/*  A part lost after the output began: the same job's table sent again, cut into parts
    differently, goes on where the output stopped (mid-part and on a part's boundary). */
static void
test_stream_resume (void **state)
{
    (void) state;
    s_group_t p1 [] = { { "b", 9 }, { "a", 5 } }, p2 [] = { { "c", 5 }, { "aa", 2 } }, p3 [] = { { "d", 1 } };
    s_group_t q1 [] = { { "b", 9 } }, q2 [] = { { "a", 5 }, { "c", 5 }, { "aa", 2 } }, q3 [] = { { "d", 1 } };
    const char *whole = "b 9\na 5\nc 5\naa 2\nd 1\n";
    s_out_t *o = calloc (1, sizeof *o);
    tl_final_t *f = s_streaming ();
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_GAP);     /* part 2 lost */
    assert_true (tl_final_begun (f));
    assert_int_equal (tl_final_written (f), 2);
    assert_int_equal (DELTA (f, 7, p3, true), TL_FINAL_IGNORED);          /* a heartbeat of the job */
    /* Sent again as 1 + 3 + 1 groups: the resume point (after "a") is inside part 2. */
    assert_int_equal (SSNAP (f, o, "j", 8, 1, 3, q1), TL_FINAL_STREAM);
    assert_int_equal (tl_final_written (f), 2);                          /* nothing new in it */
    assert_int_equal (SSNAP (f, o, "j", 8, 2, 3, q2), TL_FINAL_STREAM);
    assert_int_equal (tl_final_written (f), 4);
    assert_int_equal (SSNAP (f, o, "j", 8, 3, 3, q3), TL_FINAL_END);
    assert_string_equal (o->text, whole);
    tl_final_destroy (&f);
    /* Lost twice, the second time on a part's boundary. */
    o->n = 0;
    f = s_streaming ();
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, q1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, q3), TL_FINAL_GAP);
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);   /* "a" is new */
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);   /* a gap and a start: none new */
    assert_int_equal (tl_final_written (f), 2);
    assert_int_equal (SSNAP (f, o, "j", 6, 2, 3, p2), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_END);
    assert_string_equal (o->text, whole);
    tl_final_destroy (&f);
    free (o);
}

/*  What cannot go on where the output stopped is BAD, and says where it was cut. */
static void
test_stream_resume_refused (void **state)
{
    (void) state;
    s_group_t p1 [] = { { "b", 9 }, { "a", 5 } }, p2 [] = { { "c", 5 } }, p3 [] = { { "d", 1 } };
    s_group_t other [] = { { "b", 9 }, { "a", 4 }, { "c", 3 } }, shorter [] = { { "b", 9 }, { "a", 5 } };
    s_out_t *o = calloc (1, sizeof *o);
    /* Another job's final table. */
    tl_final_t *f = s_streaming ();
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_GAP);
    assert_int_equal (SSNAP (f, o, "k", 2, 1, 1, p1), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "cut short at group 2 and"));
    assert_non_null (strstr (tl_final_error (f), "'k'"));
    tl_final_destroy (&f);
    f = s_streaming ();     /* a job with no name is another job too */
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_GAP);
    assert_int_equal (SSNAP (f, o, "", 2, 1, 1, p1), TL_FINAL_BAD);
    assert_non_null (
        strstr (tl_final_error (f), "cut short at group 2 and the next one is another job's ('', not 'j')"));
    tl_final_destroy (&f);
    /* Another job's running update: the reducer has gone on, ours will not come again. */
    f = s_streaming ();
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_GAP);
    tl_msg_t m = s_update_of ("k", TL_UPDATE_DELTA, 3, 1, 1, p3, 1, false);
    assert_int_equal (tl_final_apply (f, &m), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "gone on to job 'k'"));
    tl_final_destroy (&f);
    /* A table that differs at the resume point. */
    f = s_streaming ();
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_GAP);
    assert_int_equal (SSNAP (f, o, "j", 7, 1, 1, other), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "differs there ('a' 4, not 'a' 5)"));
    tl_final_destroy (&f);
    /* A shorter one. */
    f = s_streaming ();
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 2, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 2, 2, p2), TL_FINAL_END);
    tl_final_destroy (&f);
    f = s_streaming ();
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 2, 3, p2), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 1, shorter), TL_FINAL_BAD);  /* part 3 lost, then 2 groups */
    assert_non_null (strstr (tl_final_error (f), "cut short at group 3 and the table sent again has only 2 groups"));
    tl_final_destroy (&f);
    /* Sent again out of order: it cannot be sorted under what is out. */
    f = s_streaming ();
    s_group_t unordered [] = { { "a", 5 }, { "b", 9 } };
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 6, 3, 3, p3), TL_FINAL_GAP);
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 1, unordered), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "sent again is not in output order"));
    tl_final_destroy (&f);
    free (o);
}

/*  A first part out of order (an older reducer) is gathered and sorted; once out, a later
    part out of order, or a group named twice across parts, is BAD. */
static void
test_stream_order (void **state)
{
    (void) state;
    s_out_t *o = calloc (1, sizeof *o);
    tl_final_t *f = s_streaming ();
    s_group_t p1 [] = { { "a", 1 }, { "c", 7 } }, p2 [] = { { "b", 7 }, { "d", 3 } };
    assert_int_equal (SSNAP (f, o, "j", 3, 1, 2, p1), TL_FINAL_PART);
    assert_false (tl_final_begun (f));
    assert_int_equal (SSNAP (f, o, "j", 3, 2, 2, p2), TL_FINAL_WHOLE);
    s_group_t want [] = { { "b", 7 }, { "c", 7 }, { "d", 3 }, { "a", 1 } };
    s_expect (f, want, 4);
    assert_int_equal (o->n, 0);
    /* In order within part 1 and within part 2, not across them. */
    s_group_t q1 [] = { { "c", 7 }, { "d", 3 } }, q2 [] = { { "b", 7 }, { "a", 1 } };
    assert_int_equal (SSNAP (f, o, "j", 4, 1, 2, q1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 4, 2, 2, q2), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "cut short at group 2 and the table is not in output order"));
    tl_final_destroy (&f);
    /* Named twice across a part's boundary, and within part 1 (gathered, then refused). */
    f = s_streaming ();
    s_group_t r1 [] = { { "b", 7 }, { "a", 1 } }, r2 [] = { { "a", 1 } };
    assert_int_equal (SSNAP (f, o, "j", 5, 1, 2, r1), TL_FINAL_STREAM);
    assert_int_equal (SSNAP (f, o, "j", 5, 2, 2, r2), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "names group 'a' twice"));
    tl_final_destroy (&f);
    f = s_streaming ();
    s_group_t t1 [] = { { "b", 7 }, { "b", 7 } }, t2 [] = { { "a", 1 } };
    assert_int_equal (SSNAP (f, o, "j", 5, 1, 2, t1), TL_FINAL_PART);
    assert_int_equal (SSNAP (f, o, "j", 5, 2, 2, t2), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "'b' twice"));
    tl_final_destroy (&f);
    free (o);
}

/*  Random tables (many count ties), cut into random parts, some lost and the table sent again
    cut differently, heartbeats between: what is handed out is always the table, once. */
static uint64_t s_rng = 0x9e3779b97f4a7c15ULL;
static uint32_t
s_rand (uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t) (s_rng % n);
}

static int
s_order_cmp (const void *a, const void *b)
{
    const s_group_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp (x->key, y->key);
}

static void
test_stream_random (void **state)
{
    (void) state;
    enum { MAXG = 200 };
    static char keys [MAXG][12];
    s_group_t g [MAXG];
    s_out_t *o = calloc (1, sizeof *o), *want = calloc (1, sizeof *want);
    unsigned resumed = 0;
    for (int round = 0; round < 400; round++) {
        size_t n = s_rand (MAXG + 1);
        for (size_t i = 0; i < n; i++) {
            snprintf (keys [i], sizeof keys [i], "%c%zu", 'a' + (int) s_rand (3), i);
            g [i] = (s_group_t) { keys [i], 1 + s_rand (4) };
        }
        qsort (g, n, sizeof *g, s_order_cmp);
        want->n = o->n = 0;
        want->text [0] = 0;
        for (size_t i = 0; i < n; i++)
            want->n += (size_t) snprintf (want->text + want->n, sizeof want->text - want->n, "%s %llu\n", g [i].key,
                                          (unsigned long long) g [i].count);
        tl_final_t *f = s_streaming ();
        tl_final_rc_t rc = TL_FINAL_IGNORED;
        for (int sent = 0; rc != TL_FINAL_END; sent++) {
            assert_true (sent < 50);
            /* Cut into 1 to 5 parts (some may be empty), maybe one lost (never after 20 tries). */
            size_t parts = 1 + s_rand (5), cut [6] = { 0 };
            for (size_t p = 1; p < parts; p++)
                cut [p] = s_rand ((uint32_t) n + 1);
            cut [parts] = n;
            for (size_t p = 1; p < parts; p++)      /* sort the cuts (insertion: few) */
                for (size_t q = p; q > 1 && cut [q - 1] > cut [q]; q--) {
                    size_t t = cut [q];
                    cut [q] = cut [q - 1];
                    cut [q - 1] = t;
                }
            size_t lost = sent < 20 && s_rand (2) ? 1 + s_rand ((uint32_t) parts) : 0;
            bool begun = tl_final_begun (f);
            for (size_t p = 1; p <= parts; p++) {
                if (p == lost)
                    continue;
                rc = s_stream_feed (f, o, "j", TL_UPDATE_SNAPSHOT, 10 + (uint64_t) sent, p, parts, g + cut [p - 1],
                                    cut [p] - cut [p - 1]);
                assert_int_not_equal (rc, TL_FINAL_BAD);
                assert_int_not_equal (rc, TL_FINAL_PART);
            }
            if (begun && tl_final_begun (f))
                resumed++;
            if (rc != TL_FINAL_END) {
                s_group_t hb [] = { { "zz", 1 } };   /* a gap if the last part was lost */
                rc = DELTA (f, 100, hb, true);
                assert_true (rc == TL_FINAL_IGNORED || rc == TL_FINAL_GAP);
            }
        }
        assert_int_equal (tl_final_written (f), n);
        assert_int_equal (o->n, want->n);
        assert_memory_equal (o->text, want->text, o->n);
        tl_final_destroy (&f);
    }
    assert_true (resumed > 50);     /* the rounds did resume, many times */
    free (o);
    free (want);
}

/*  A failed job's table goes out unsorted (the reducer sorts only a job that ended ok). When
    its first part happens to be in order and a later one is not, a streaming watcher must not
    have written the first (it would stop on "not in output order" and never show the job's
    error): it gathers and sorts (review, session 8). */
static void
test_stream_failed_job (void **state)
{
    (void) state;
    tl_final_t *f = tl_final_new ();
    tl_final_set_stream (f, true);
    s_group_t p1 [] = { { "a", 3 }, { "b", 2 } }, p2 [] = { { "c", 1 }, { "d", 5 } };
    tl_msg_t m = s_update ("snapshot", 5, 1, 2, p1, 2, true);
    m.ok = false;
    assert_int_equal (tl_final_apply (f, &m), TL_FINAL_PART);     /* not STREAM: nothing written */
    m = s_update ("snapshot", 5, 2, 2, p2, 2, true);
    m.ok = false;
    assert_int_equal (tl_final_apply (f, &m), TL_FINAL_WHOLE);
    assert_false (tl_final_last (f)->ok);
    s_group_t want [] = { { "d", 5 }, { "a", 3 }, { "b", 2 }, { "c", 1 } };
    s_expect (f, want, 4);
    tl_final_destroy (&f);
}

/*  The output began, a part was lost, and the table that comes again is the same job's, in
    order, but says the job failed: it cannot go on (the output was of a table that ended ok),
    and it must say so, not read past the part's groups (reading the session's diff again). */
static void
test_stream_resume_failed (void **state)
{
    (void) state;
    tl_final_t *f = s_streaming ();
    s_out_t *o = calloc (1, sizeof *o);
    s_group_t p1 [] = { { "b", 9 }, { "a", 5 } };
    assert_int_equal (SSNAP (f, o, "j", 6, 1, 3, p1), TL_FINAL_STREAM);
    tl_msg_t m = s_update_of ("j", TL_UPDATE_SNAPSHOT, 7, 1, 2, p1, 2, true);
    m.ok = false;
    assert_int_equal (tl_final_apply (f, &m), TL_FINAL_BAD);
    assert_non_null (strstr (tl_final_error (f), "cut short at group 2"));
    assert_non_null (strstr (tl_final_error (f), "failed"));
    free (o);
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
        cmocka_unit_test (test_stream_in_order),
        cmocka_unit_test (test_stream_resume),
        cmocka_unit_test (test_stream_resume_refused),
        cmocka_unit_test (test_stream_order),
        cmocka_unit_test (test_stream_random),  cmocka_unit_test (test_stream_failed_job),
        cmocka_unit_test (test_stream_resume_failed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
