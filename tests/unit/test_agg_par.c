/*  The aggregator's sort cut in parts (tl_agg_view_new_par): the same view as
    tl_agg_view_new, entry by entry, over random tables of every shape the sort treats apart,
    with the parts run on two real threads and in reverse order on this one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/base/err.h"
#include "tests/unit/thread_job.h"
#include "lib/core/agg.h"

#define S_CDIRECT 1024          /* agg.c: counts from here on are sorted, not bucketed */

/*  A runner: how many times it was called and how many works it ran, so that a test knows
    the parts were given to it. */
typedef struct {
    size_t calls, works;
} s_runs_t;


/*  Every work on a thread of its own, all at once. */
static void
s_run_threads (void *ctx, void (*work) (void *arg), void **args, size_t n)
{
    s_runs_t *runs = ctx;
    pthread_t t [8];
    s_job_t j [8];
    assert_true (n <= 8);
    for (size_t i = 0; i < n; i++) {
        j [i] = (s_job_t) { work, args [i] };
        assert_int_equal (pthread_create (&t [i], NULL, s_thread, &j [i]), 0);
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal (pthread_join (t [i], NULL), 0);
    runs->calls++;
    runs->works += n;
}

/*  The works one after another, the last first: a part that needed another's writes fails. */
static void
s_run_reverse (void *ctx, void (*work) (void *arg), void **args, size_t n)
{
    s_runs_t *runs = ctx;
    for (size_t i = n; i-- > 0;)
        work (args [i]);
    runs->calls++;
    runs->works += n;
}

/*  splitmix64: the same tables from the same seed. */
static uint64_t
s_rand (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef enum {
    K_TIMES,        /* two timestamps, one length: the view rebuilds keys from the records */
    K_FIXED,        /* 20 bytes, mostly digits, a few positions free */
    K_VARY,         /* 0..24 bytes of 'a'..'c': empty keys, and keys that prefix others */
    K_PREFIX,       /* prefixes of a few long strings, the empty one included */
    K_ONEPOS,       /* "key-" + any byte + "-end": one position differs */
    K_LONGPREFIX,   /* 700 shared bytes, then 0..12 of them differ */
    K_HEADS,        /* one of 4 heads of 100 bytes (several levels, ties at the first), a tail */
    K_WIDE,         /* 40 bytes of 0..255: several levels, nearly all told apart at the first */
} s_keys_t;

typedef enum {
    C_ONE,          /* 1 per add (a key added twice has 2) */
    C_MIXED,        /* mostly 1..4, some around S_CDIRECT */
    C_BIG,          /* all from S_CDIRECT on, many equal */
} s_counts_t;

typedef struct {
    s_keys_t keys;
    s_counts_t counts;
    unsigned ncells;
    size_t n;           /* groups wanted (fewer if the keys run out) */
    uint64_t seed;
} s_spec_t;

static size_t
s_key (const s_spec_t *sp, uint64_t *st, char *k)
{
    uint64_t x = s_rand (st);
    switch (sp->keys) {
    case K_TIMES: {
        unsigned d = (unsigned) (x % 31) + 1, h = (unsigned) (x >> 8) % 24, m = (unsigned) (x >> 16) % 60,
                 s = (unsigned) (x >> 24) % 60, m2 = (m + (unsigned) (x >> 32) % 40) % 60,
                 s2 = (unsigned) (x >> 40) % 60;
        /* "\x1f" "2009": a hex escape would take the digits after it */
        return (size_t) snprintf (k, 64, "2009-01-%02u %02u:%02u:%02u\x1f" "2009-01-%02u %02u:%02u:%02u",
                                  d, h, m, s, d, h, m2, s2);
    }
    case K_FIXED:
        memcpy (k, "00000000000000000000", 20);
        k [3] = (char) ('0' + x % 10);
        k [7] = (char) ('0' + (x >> 8) % 10);
        k [8] = (char) ('A' + (x >> 16) % 26);
        k [15] = (char) ('0' + (x >> 24) % 3);
        k [19] = (char) ((x >> 32) % 256);
        return 20;
    case K_VARY: {
        size_t len = x % 25;
        for (size_t i = 0; i < len; i++)
            k [i] = (char) ('a' + s_rand (st) % 3);
        return len;
    }
    case K_PREFIX: {
        uint64_t base = x % 4, bst = base * 77 + 1;
        size_t len = (size_t) (x >> 8) % 41;
        for (size_t i = 0; i < len; i++)
            k [i] = (char) ('a' + s_rand (&bst) % 26);
        return len;
    }
    case K_ONEPOS:
        memcpy (k, "key-?-end", 9);
        k [4] = (char) (x % 256);
        return 9;
    case K_LONGPREFIX: {
        size_t len = (size_t) (x % 13);
        memset (k, 'x', 700);
        for (size_t i = 0; i < len; i++)
            k [700 + i] = (char) ('0' + s_rand (st) % 10);
        return 700 + len;
    }
    case K_HEADS: {
        uint64_t hst = (x % 4) * 1000 + 7;
        for (size_t i = 0; i < 100; i++)
            k [i] = (char) ('a' + s_rand (&hst) % 16);
        for (size_t i = 100; i < 120; i++)
            k [i] = (char) ('a' + s_rand (st) % 4);
        return 120;
    }
    case K_WIDE:
        for (size_t i = 0; i < 40; i++)
            k [i] = (char) s_rand (st);
        return 40;
    }
    return 0;
}

static uint64_t
s_count (const s_spec_t *sp, uint64_t *st)
{
    uint64_t x = s_rand (st);
    switch (sp->counts) {
    case C_ONE:
        return 1;
    case C_MIXED:
        return x % 10 ? x % 4 + 1 : S_CDIRECT - 3 + (x >> 8) % 6;
    case C_BIG:
        return S_CDIRECT + (x >> 8) % (x % 2 ? 3 : 100000);
    }
    return 1;
}

/*  The table of a spec: the same adds in the same order every time. */
static tl_agg_t *
s_table (const s_spec_t *sp)
{
    tl_agg_t *a = sp->ncells ? tl_agg_new_cells (sp->ncells) : tl_agg_new ();
    assert_non_null (a);
    uint64_t st = sp->seed;
    char k [TL_AGG_KEY_MAX];
    tl_cell_t cells [4];
    for (size_t tries = 0; tries < 4 * sp->n + 600 && tl_agg_size (a) < sp->n; tries++) {
        size_t len = s_key (sp, &st, k);
        uint64_t c = s_count (sp, &st);
        if (sp->ncells) {
            for (unsigned j = 0; j < sp->ncells; j++) {
                tl_cell_init (&cells [j]);
                cells [j].n = 1;
                cells [j].sum = cells [j].min = cells [j].max = (double) (s_rand (&st) % 1000) / 8;
            }
            assert_int_equal (tl_agg_merge (a, k, len, c, cells), 0);
        }
        else
            assert_int_equal (tl_agg_add (a, k, len, c), 0);
    }
    return a;
}

static void
s_same_entry (const tl_agg_entry_t *x, const tl_agg_entry_t *y, unsigned ncells)
{
    assert_int_equal (x->len, y->len);
    assert_int_equal (x->count, y->count);
    assert_memory_equal (x->key, y->key, x->len);
    if (ncells)
        assert_memory_equal (x->cells, y->cells, ncells * sizeof (tl_cell_t));
    else {
        assert_null (x->cells);
        assert_null (y->cells);
    }
}

/*  The sequential view and the parallel one of two equal tables: the same size and keylen,
    and the same entry at every j, in the output order (each before the next). */
static void
s_check (const s_spec_t *sp, tl_agg_run_fn *run)
{
    tl_agg_t *a = s_table (sp), *b = s_table (sp);
    size_t n = tl_agg_size (a);
    uint64_t total = tl_agg_total (a);
    assert_int_equal (tl_agg_size (b), n);
    tl_agg_view_t *va = NULL, *vb = NULL;
    s_runs_t runs = { 0, 0 };
    assert_int_equal (tl_agg_view_new (a, &va), 0);
    assert_int_equal (tl_agg_view_new_par (b, &vb, run, &runs), 0);
    if (n > 1) {
        assert_true (runs.calls >= 3);      /* scan, fill and sort, two parts each at least */
        assert_true (runs.works >= 6);
    }
    assert_int_equal (tl_agg_view_size (va), n);
    assert_int_equal (tl_agg_view_size (vb), n);
    assert_int_equal (tl_agg_view_keylen (va), tl_agg_view_keylen (vb));
    static char bufa [2][TL_AGG_KEY_MAX], bufb [TL_AGG_KEY_MAX];
    tl_agg_entry_t prev = { 0 };
    uint64_t sum = 0;
    for (size_t j = 0; j < n; j++) {
        tl_agg_entry_t x, y;
        tl_agg_view_prefetch_ahead (vb, j);
        tl_agg_view_at (va, j, &x, bufa [j % 2]);
        tl_agg_view_at (vb, j, &y, bufb);
        s_same_entry (&x, &y, sp->ncells);
        if (j)
            assert_true (tl_agg_entry_before (&prev, &x));
        prev = x;
        sum += x.count;
    }
    assert_int_equal (sum, total);
    tl_agg_view_destroy (&va);
    tl_agg_view_destroy (&vb);
    tl_agg_destroy (&a);
    tl_agg_destroy (&b);
}

/*  Every spec at the small sizes (where a part may be empty or one record), both runners. */
static void
s_check_sizes (s_keys_t keys, const size_t *sizes, size_t nsizes)
{
    for (size_t si = 0; si < nsizes; si++)
        for (int counts = C_ONE; counts <= C_BIG; counts++)
            for (unsigned ncells = 0; ncells <= 2; ncells += 2)
                for (uint64_t seed = 1; seed <= 3; seed++) {
                    s_spec_t sp = { keys, (s_counts_t) counts, ncells, sizes [si], seed * 1000003 + si };
                    s_check (&sp, s_run_threads);
                    s_check (&sp, s_run_reverse);
                }
}

static const size_t s_small [] = { 0, 1, 2, 3, 5, 17, 33, 100, 1000 };
#define S_NSMALL (sizeof s_small / sizeof s_small [0])

static void
test_par_times (void **state)
{
    (void) state;
    s_check_sizes (K_TIMES, s_small, S_NSMALL);
}

static void
test_par_fixed (void **state)
{
    (void) state;
    s_check_sizes (K_FIXED, s_small, S_NSMALL);
}

static void
test_par_vary (void **state)
{
    (void) state;
    s_check_sizes (K_VARY, s_small, S_NSMALL);
}

static void
test_par_prefix (void **state)
{
    (void) state;
    s_check_sizes (K_PREFIX, s_small, S_NSMALL);
}

static void
test_par_onepos (void **state)
{
    (void) state;
    s_check_sizes (K_ONEPOS, s_small, S_NSMALL);
}

static void
test_par_longprefix (void **state)
{
    (void) state;
    s_check_sizes (K_LONGPREFIX, s_small, S_NSMALL);
}

static void
test_par_heads (void **state)
{
    (void) state;
    s_check_sizes (K_HEADS, s_small, S_NSMALL);
}

static void
test_par_wide (void **state)
{
    (void) state;
    s_check_sizes (K_WIDE, s_small, S_NSMALL);
}

/*  Big tables (the pipelined adds, the big bucket cut in two by a pivot), a few shapes. */
static void
test_par_large (void **state)
{
    (void) state;
    const s_spec_t specs [] = {
        { K_TIMES, C_ONE, 0, 150000, 11 },     { K_TIMES, C_MIXED, 0, 100000, 12 },
        { K_TIMES, C_BIG, 0, 60000, 13 },      { K_TIMES, C_ONE, 2, 60000, 14 },
        { K_WIDE, C_ONE, 0, 100000, 15 },      { K_HEADS, C_ONE, 0, 60000, 16 },
        { K_VARY, C_MIXED, 0, 100000, 17 },    { K_FIXED, C_MIXED, 1, 60000, 18 },
        { K_LONGPREFIX, C_ONE, 0, 20000, 19 }, { K_PREFIX, C_BIG, 0, 100, 20 },
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs [0]; i++) {
        s_check (&specs [i], s_run_threads);
        s_check (&specs [i], s_run_reverse);
    }
}

/*  A table sealed by the parallel sort is read, cleared and added to like one sealed by the
    sequential sort. */
static void
test_par_clear (void **state)
{
    (void) state;
    s_spec_t sp = { K_TIMES, C_MIXED, 0, 5000, 99 };
    tl_agg_t *a = s_table (&sp);
    tl_agg_view_t *v = NULL;
    s_runs_t runs = { 0, 0 };
    assert_int_equal (tl_agg_view_new_par (a, &v, s_run_threads, &runs), 0);
    assert_int_equal (tl_agg_add (a, "x", 1, 1), TL_EINVAL);   /* sealed */
    tl_agg_view_destroy (&v);
    assert_null (v);
    tl_agg_clear (a);
    assert_int_equal (tl_agg_add (a, "x", 1, 2), 0);
    assert_int_equal (tl_agg_get (a, "x", 1), 2);
    /* No runner: the sequential sort. */
    assert_int_equal (tl_agg_view_new_par (a, &v, NULL, NULL), 0);
    assert_int_equal (tl_agg_view_size (v), 1);
    tl_agg_view_destroy (&v);
    tl_agg_destroy (&a);
}

/*  The sort's records when the index is too small for them come from aligned_alloc (agg.c's
    s_big_malloc, from 2 MiB): linked with --wrap=aligned_alloc, the next one fails when asked. */
static bool s_fail_big;
void *__real_aligned_alloc (size_t align, size_t size);
void *__wrap_aligned_alloc (size_t align, size_t size);

void *
__wrap_aligned_alloc (size_t align, size_t size)
{
    if (s_fail_big) {
        s_fail_big = false;
        return NULL;
    }
    return __real_aligned_alloc (align, size);
}

/*  No memory for the records: both sorts fail alike, the table sealed (no adds or lookups)
    but read as before in insertion order, and a clear opens it again. 190,000 groups sit in
    2^18 index slots (8 bytes each), too few for 16-byte records, which then take 3 MB. */
static void
test_par_nomem (void **state)
{
    (void) state;
    s_spec_t sp = { K_TIMES, C_MIXED, 1, 190000, 77 };
    tl_agg_t *a = s_table (&sp), *b = s_table (&sp);
    size_t n = tl_agg_size (a);
    assert_int_equal (n, 190000);
    tl_agg_view_t *va = NULL, *vb = NULL;
    s_runs_t runs = { 0, 0 };
    s_fail_big = true;
    assert_int_equal (tl_agg_view_new (a, &va), TL_ENOMEM);
    assert_false (s_fail_big);
    s_fail_big = true;
    assert_int_equal (tl_agg_view_new_par (b, &vb, s_run_threads, &runs), TL_ENOMEM);
    assert_false (s_fail_big);
    assert_null (va);
    assert_null (vb);
    assert_int_equal (runs.calls, 0);
    tl_agg_t *t [2] = { a, b };
    for (int x = 0; x < 2; x++) {
        assert_int_equal (tl_agg_size (t [x]), n);
        assert_int_equal (tl_agg_add (t [x], "new", 3, 1), TL_EINVAL);
        assert_int_equal (tl_agg_get (t [x], "new", 3), 0);
    }
    size_t pa = 0, pb = 0, seen = 0;
    tl_agg_entry_t x, y;
    while (tl_agg_next (a, &pa, &x)) {
        assert_int_equal (tl_agg_next (b, &pb, &y), 1);
        s_same_entry (&x, &y, sp.ncells);
        seen++;
    }
    assert_int_equal (tl_agg_next (b, &pb, &y), 0);
    assert_int_equal (seen, n);
    for (int z = 0; z < 2; z++) {
        tl_agg_clear (t [z]);
        assert_int_equal (tl_agg_add (t [z], "new", 3, 1), 0);
        assert_int_equal (tl_agg_get (t [z], "new", 3), 1);
    }
    tl_agg_destroy (&a);
    tl_agg_destroy (&b);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_par_times),      cmocka_unit_test (test_par_fixed),
        cmocka_unit_test (test_par_vary),       cmocka_unit_test (test_par_prefix),
        cmocka_unit_test (test_par_onepos),     cmocka_unit_test (test_par_longprefix),
        cmocka_unit_test (test_par_heads),      cmocka_unit_test (test_par_wide),
        cmocka_unit_test (test_par_large),      cmocka_unit_test (test_par_clear),
        cmocka_unit_test (test_par_nomem),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
