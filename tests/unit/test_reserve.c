/*  tl_agg_reserve: a table sized ahead holds the same groups and counts as one that grew as it
    went, whether the room is made before the first add, between adds (with adds still queued
    in a big table) or smaller than the table already is; a sealed table refuses it.
    tl_agg_add_entries: a batch of entries (keys repeated inside it and across batches, a big
    table and a small one, with cells) gives what one tl_agg_merge per entry gives. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/base/err.h"
#include "lib/core/agg.h"

/*  The table's big arrays (2 MiB and up: its index among them) come from aligned_alloc
    (agg.c's s_big_malloc): counted here, in front of libc's (-Wl,--wrap, tests/CMakeLists.txt). */
void *__real_aligned_alloc (size_t align, size_t n);
void *__wrap_aligned_alloc (size_t align, size_t n);
static size_t s_big_allocs;

void *
__wrap_aligned_alloc (size_t align, size_t n)
{
    s_big_allocs++;
    return __real_aligned_alloc (align, n);
}

/*  Add key i (i in [0, n)) to a, with count i % 5 + 1; each key twice when twice. */
static void
s_fill (tl_agg_t *a, size_t from, size_t to, size_t reserve_at, size_t reserve_n)
{
    char k [32];
    for (size_t i = from; i < to; i++) {
        if (i == reserve_at)
            assert_int_equal (tl_agg_reserve (a, reserve_n), 0);
        int n = snprintf (k, sizeof k, "group-%zu", (i * 2654435761u) % 1000003);
        assert_int_equal (tl_agg_add (a, k, (size_t) n, i % 5 + 1), 0);
    }
}

/*  a and b hold the same groups with the same counts, in the same output order. */
static void
s_same (tl_agg_t *a, tl_agg_t *b)
{
    size_t n = tl_agg_size (a);
    assert_int_equal (tl_agg_size (b), n);
    tl_agg_entry_t *va = calloc (n + 1, sizeof *va), *vb = calloc (n + 1, sizeof *vb);
    tl_agg_sorted (a, va);
    tl_agg_sorted (b, vb);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal (va [i].len, vb [i].len);
        assert_memory_equal (va [i].key, vb [i].key, va [i].len);
        assert_int_equal (va [i].count, vb [i].count);
        assert_int_equal (tl_agg_get (a, va [i].key, va [i].len), va [i].count);
    }
    free (va);
    free (vb);
}

static void
test_reserve_same (void **state)
{
    (void) state;
    struct { size_t n, at, room; } cases [] = {
        { 1000, 0, 1000 },          /* before the first add, exactly */
        { 300000, 0, 300000 },      /* big: adds are queued (prefetched) */
        { 300000, 0, 10 },          /* less than it will hold: it grows past */
        { 300000, 150000, 600000 }, /* between adds, with adds queued */
        { 300000, 200000, 1000 },   /* smaller than it is: nothing */
        { 70000, 35000, 5000000 },  /* far more than it will hold */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tl_agg_t *a = tl_agg_new (), *b = tl_agg_new ();
        s_fill (a, 0, cases [c].n, cases [c].at, cases [c].room);
        s_fill (a, 0, cases [c].n / 3, SIZE_MAX, 0);   /* some groups again */
        s_fill (b, 0, cases [c].n, SIZE_MAX, 0);
        s_fill (b, 0, cases [c].n / 3, SIZE_MAX, 0);
        s_same (a, b);
        tl_agg_destroy (&a);
        tl_agg_destroy (&b);
    }
}

/*  Room made ahead is used: filling a reserved table allocates fewer big arrays than filling
    one that grows (its index doubles through 2 and 4 MiB on the way to 300 k groups). */
static void
test_reserve_spares_growth (void **state)
{
    (void) state;
    tl_agg_t *a = tl_agg_new (), *b = tl_agg_new ();
    assert_int_equal (tl_agg_reserve (a, 300000), 0);
    size_t before = s_big_allocs;
    s_fill (a, 0, 300000, SIZE_MAX, 0);
    size_t reserved = s_big_allocs - before;
    before = s_big_allocs;
    s_fill (b, 0, 300000, SIZE_MAX, 0);
    size_t grown = s_big_allocs - before;
    assert_true (reserved + 2 <= grown);
    s_same (a, b);
    tl_agg_destroy (&a);
    tl_agg_destroy (&b);
}

static void
test_reserve_sealed (void **state)
{
    (void) state;
    tl_agg_t *a = tl_agg_new ();
    s_fill (a, 0, 100, SIZE_MAX, 0);
    uint32_t *order = NULL;
    assert_int_equal (tl_agg_order (a, &order), 0);
    assert_int_equal (tl_agg_reserve (a, 1000), TL_EINVAL);
    free (order);
    tl_agg_clear (a);       /* unsealed again: room can be made */
    assert_int_equal (tl_agg_reserve (a, 1000), 0);
    s_fill (a, 0, 100, SIZE_MAX, 0);
    assert_int_equal (tl_agg_size (a), 100);
    tl_agg_destroy (&a);
}

static void
test_add_entries (void **state)
{
    (void) state;
    for (unsigned ncells = 0; ncells <= 1; ncells++)
        for (size_t n = 10; n <= 400000; n *= 200) {
            tl_agg_t *a = tl_agg_new_cells (ncells), *b = tl_agg_new_cells (ncells);
            tl_agg_entry_t *v = calloc (n, sizeof *v);
            tl_cell_t *cells = calloc (n, sizeof *cells);
            char *keys = malloc (n * 16);
            for (int batch = 0; batch < 3; batch++) {
                for (size_t i = 0; i < n; i++) {
                    /* about a third of the keys repeat inside a batch, and batches overlap */
                    size_t id = (i * 2654435761u + (size_t) batch * n / 2) % (n - n / 3);
                    v [i].len = (uint32_t) snprintf (keys + 16 * i, 16, "k%zu", id);
                    v [i].key = keys + 16 * i;
                    v [i].count = i % 7 + 1;
                    tl_cell_init (&cells [i]);
                    cells [i].n = 1;
                    cells [i].sum = (double) i;
                    v [i].cells = ncells ? &cells [i] : NULL;
                    assert_int_equal (tl_agg_merge (b, v [i].key, v [i].len, v [i].count, v [i].cells), 0);
                }
                assert_int_equal (tl_agg_add_entries (a, v, n), 0);
            }
            s_same (a, b);
            for (size_t i = 0; i < n && ncells; i++) {
                tl_agg_entry_t ea, eb;
                assert_int_equal (tl_agg_find (a, v [i].key, v [i].len, &ea), 1);
                assert_int_equal (tl_agg_find (b, v [i].key, v [i].len, &eb), 1);
                assert_true (ea.cells [0].sum == eb.cells [0].sum && ea.cells [0].n == eb.cells [0].n);
            }
            tl_agg_destroy (&a);
            tl_agg_destroy (&b);
            free (v);
            free (cells);
            free (keys);
        }
    /* A key too long stops it there, the entries before it added; a sealed table refuses it. */
    tl_agg_t *a = tl_agg_new ();
    assert_int_equal (tl_agg_reserve (a, 100000), 0);   /* big: the pipelined path */
    static char big [TL_AGG_KEY_MAX + 1];
    tl_agg_entry_t bad [] = { { "x", 1, 2, NULL }, { big, TL_AGG_KEY_MAX + 1, 1, NULL }, { "y", 1, 1, NULL } };
    assert_int_equal (tl_agg_add_entries (a, bad, 3), TL_EINVAL);
    assert_int_equal (tl_agg_get (a, "x", 1), 2);
    assert_int_equal (tl_agg_get (a, "y", 1), 0);
    uint32_t *order = NULL;
    assert_int_equal (tl_agg_order (a, &order), 0);
    assert_int_equal (tl_agg_add_entries (a, bad, 1), TL_EINVAL);
    free (order);
    tl_agg_destroy (&a);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_reserve_same),
        cmocka_unit_test (test_reserve_spares_growth),
        cmocka_unit_test (test_reserve_sealed),
        cmocka_unit_test (test_add_entries),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
