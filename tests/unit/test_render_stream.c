/*  The final table written a piece at a time (cli/render.h: tl_render_begin, tl_render_rows,
    tl_render_end) gives the bytes of the whole-table render (tl_render_ordered) in csv and json,
    however the groups are cut into pieces (empty pieces too): keys that need quoting and
    escaping, two keys, a sum with bad values (json's footer adds them up over the pieces), an
    empty table, a plain count. An abandoned output (last NULL) has no footer. Which formats
    stream depends on the sort. The json bytes of keys of every byte class, written out by
    hand (the rows are formatted into a buffer, plain runs copied as they are). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/render.h"
#include "lib/core/query.h"

/*  n groups in output order; keys with commas, quotes, newlines, and two parts; cells of one sum. */
static tl_agg_entry_t *
s_groups (size_t n, char (*keys) [32], tl_cell_t *cells)
{
    tl_agg_entry_t *g = calloc (n + 1, sizeof *g);
    static const char *odd [] = { "a,b", "q\"x", "new\nline", "", "tab\tu" };
    for (size_t i = 0; i < n; i++) {
        int len = snprintf (keys [i], 32, "%s%c%zu", odd [i % 5], TL_QUERY_KEY_SEP, i);
        cells [i] = (tl_cell_t) { .n = i % 3, .bad = i % 4, .sum = 1.5 * (double) i, .min = 0, .max = (double) i };
        g [i] = (tl_agg_entry_t) { keys [i], (uint32_t) len, 1000 - i / 3, &cells [i] };
    }
    return g;
}

/*  (Not inlined: GCC's -Wdangling-pointer takes open_memstream's buffer for the local whose
    address it was given.) */
__attribute__ ((noinline)) static char *
s_whole (tl_msg_t *u, tl_fmt_t fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    assert_int_equal (tl_render_ordered (f, u, fmt), 0);
    fclose (f);
    return buf;
}

/*  u's groups through begin/rows/end, cut at every step-th group (step 0: one empty piece
    first, then all). */
__attribute__ ((noinline)) static char *
s_pieces (const tl_msg_t *u, tl_fmt_t fmt, size_t step, bool abandon)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    tl_msg_t head = *u;
    head.groups = NULL;
    head.n_groups = 0;
    tl_render_stream_t *s = tl_render_begin (f, &head, fmt);
    assert_non_null (s);
    tl_msg_t part = *u;
    if (step == 0) {
        part.n_groups = 0;
        assert_int_equal (tl_render_rows (s, &part), 0);
        assert_int_equal (tl_render_rows (s, u), 0);
    }
    for (size_t at = 0, k; step && at < u->n_groups; at += k) {
        k = u->n_groups - at < step ? u->n_groups - at : step;
        part.groups = u->groups + at;
        part.n_groups = k;
        assert_int_equal (tl_render_rows (s, &part), 0);
    }
    assert_int_equal (tl_render_end (&s, abandon ? NULL : u), 0);
    assert_null (s);
    fclose (f);
    return buf;
}

static void
s_same (tl_msg_t *u)
{
    tl_fmt_t fmts [] = { TL_FMT_CSV, TL_FMT_JSON };
    for (size_t k = 0; k < 2; k++) {
        char *whole = s_whole (u, fmts [k]);
        size_t steps [] = { 0, 1, 2, 7, 64, 1000 };
        for (size_t i = 0; i < sizeof steps / sizeof steps [0]; i++) {
            char *p = s_pieces (u, fmts [k], steps [i], false);
            assert_string_equal (p, whole);
            free (p);
        }
        /* Abandoned: all but the footer (json), all of it (csv: there is none). */
        char *p = s_pieces (u, fmts [k], 3, true);
        if (fmts [k] == TL_FMT_CSV)
            assert_string_equal (p, whole);
        else {
            size_t head = strlen (whole) - strlen (strstr (whole, "],\"rows\":"));
            assert_int_equal (strlen (p), head);
            assert_memory_equal (p, whole, head);
        }
        free (p);
        free (whole);
    }
}

static void
test_pieces_are_the_whole (void **state)
{
    (void) state;
    enum { N = 150 };
    static char keys [N][32];
    static tl_cell_t cells [N];
    tl_agg_entry_t *g = s_groups (N, keys, cells);
    tl_msg_t u = { .type = TL_MSG_UPDATE, .job = "j", .col = "by a\nby b\nagg sum:c\n", .done = true, .ok = true,
                   .rows = 12345, .bad = 6, .seq = 9, .ncells = 1, .groups = g, .n_groups = N };
    s_same (&u);
    /* The sum's bad values in json's footer are the sum over all groups, not the last piece's. */
    char *p = s_pieces (&u, TL_FMT_JSON, 7, false);
    uint64_t bad = 0;
    for (size_t i = 0; i < N; i++)
        bad += cells [i].bad;
    char want [64];
    snprintf (want, sizeof want, "\"bad_values\":{\"sum(c)\":%llu}", (unsigned long long) bad);
    assert_non_null (strstr (p, want));
    free (p);
    u.n_groups = 0;             /* an empty table */
    s_same (&u);
    tl_msg_t plain = { .type = TL_MSG_UPDATE, .job = "j", .col = "passenger_count", .done = true, .ok = false,
                       .error = "1 task(s) failed: boom", .groups = g, .n_groups = N };
    for (size_t i = 0; i < N; i++)
        g [i].cells = NULL;
    s_same (&plain);
    free (g);
}

static void
test_json_bytes (void **state)
{
    (void) state;
    static const struct { const char *key; size_t len; } k [] = {
        { "plain", 5 }, { "a\"b\\c", 5 }, { "x\x01\x7f", 3 }, { "caf\xc3\xa9", 5 }, { "bad\xff" "end", 7 },
        { "n\0l", 3 }, { "tail\n", 5 }, { "", 0 }, { "\xe6\x97\xa5 ok \"", 8 }, { "c:\\d", 4 },
    };
    enum { N = sizeof k / sizeof k [0] };
    tl_agg_entry_t g [N];
    for (size_t i = 0; i < N; i++)
        g [i] = (tl_agg_entry_t) { k [i].key, (uint32_t) k [i].len, 100 - i, NULL };
    tl_msg_t u = { .type = TL_MSG_UPDATE, .job = "j", .col = "k", .done = true, .ok = true, .groups = g, .n_groups = N };
    char *p = s_whole (&u, TL_FMT_JSON);
    const char *want = "\"groups\":[{\"key\":\"plain\",\"count\":100},{\"key\":\"a\\\"b\\\\c\",\"count\":99},"
                       "{\"key\":\"x\\u0001\\u007f\",\"count\":98},{\"key\":\"caf\xc3\xa9\",\"count\":97},"
                       "{\"key\":\"bad\\ufffdend\",\"count\":96},{\"key\":\"n\\u0000l\",\"count\":95},"
                       "{\"key\":\"tail\\u000a\",\"count\":94},{\"key\":\"\",\"count\":93},"
                       "{\"key\":\"\xe6\x97\xa5 ok \\\"\",\"count\":92},{\"key\":\"c:\\\\d\",\"count\":91}],";
    if (!strstr (p, want))
        fail_msg ("got %s", p);
    assert_non_null (strstr (p, "\"keys_not_utf8\":1,"));
    free (p);
    /* Two keys: "key" joins the escaped parts, "keys" has them apart. */
    char two [] = "a\"1\x1f" "b\xff";
    tl_agg_entry_t g2 = { two, 6, 5, NULL };
    tl_msg_t u2 = { .type = TL_MSG_UPDATE, .job = "j", .col = "by a\nby b\n", .done = true, .ok = true, .groups = &g2,
                    .n_groups = 1 };
    p = s_whole (&u2, TL_FMT_JSON);
    want = "\"groups\":[{\"key\":\"a\\\"1,b\\ufffd\",\"keys\":[\"a\\\"1\",\"b\\ufffd\"],\"count\":5}],";
    if (!strstr (p, want))
        fail_msg ("got %s", p);
    free (p);
}

static void
test_streams_by_sort (void **state)
{
    (void) state;
    assert_true (tl_render_streams (TL_FMT_CSV));
    assert_true (tl_render_streams (TL_FMT_JSON));
    assert_false (tl_render_streams (TL_FMT_TABLE));
    assert_false (tl_render_streams (TL_FMT_JSONL));
    tl_render_set_sort (TL_SORT_KEY);
    assert_false (tl_render_streams (TL_FMT_CSV));
    tl_render_set_sort (TL_SORT_KEY_DESC);
    assert_false (tl_render_streams (TL_FMT_JSON));
    tl_render_set_sort (TL_SORT_COUNT);
    assert_true (tl_render_streams (TL_FMT_CSV));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_pieces_are_the_whole),
        cmocka_unit_test (test_json_bytes),
        cmocka_unit_test (test_streams_by_sort),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
