/*  lib/store: an object that changed since it was listed fails the read with TL_ECHANGED (file
    backend here; s3 and http against moto and nginx in tests/integration/test_store_changed.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/store/store.h"

static char s_dir [64], s_path [128];

static void
s_write (const char *text)
{
    FILE *f = fopen (s_path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
}

static int
s_count (void *arg, const char *buf, size_t len)
{
    (void) buf;
    *(uint64_t *) arg += len;
    return 0;
}

/*  List the file, then read it naming the listed version. */
static int
s_read_listed (const tl_objlist_t *l, tl_err_t *e, uint64_t *n)
{
    tl_store_cfg_t cfg = { .size_hint = l->v [0].size, .expect_mtime_ns = l->v [0].mtime_ns };
    *n = 0;
    return tl_store_read (&cfg, l->v [0].uri, 0, UINT64_MAX, s_count, n, NULL, NULL, e);
}

static void
test_file_changed (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/tally-store.XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    snprintf (s_path, sizeof s_path, "%s/a.csv", s_dir);
    s_write ("x\n1\n2\n");
    tl_objlist_t l = { 0 };
    tl_err_t e = { 0 };
    uint64_t n;
    assert_int_equal (tl_store_list (NULL, s_path, &l, &e), 0);
    assert_int_equal (l.n, 1);
    assert_true (l.v [0].mtime_ns > 0);
    assert_null (l.v [0].etag);
    /* Unchanged: the read goes through. */
    assert_int_equal (s_read_listed (&l, &e, &n), 0);
    assert_int_equal (n, 6);

    /* Overwritten with more bytes after the listing. */
    s_write ("x\n1\n2\n3\n");
    assert_int_equal (s_read_listed (&l, &e, &n), TL_ECHANGED);
    assert_int_equal (e.code, TL_ECHANGED);
    assert_false (e.retryable);
    char want [256];
    snprintf (want, sizeof want, "object changed since it was listed: %s (was 6 bytes, mtime ", s_path);
    assert_non_null (strstr (e.msg, want));
    assert_non_null (strstr (e.msg, ", now 8 bytes, mtime "));

    /* Same size, rewritten later: the mtime tells. */
    tl_objlist_free (&l);
    assert_int_equal (tl_store_list (NULL, s_path, &l, &e), 0);
    struct timespec ts [2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = 1000000000, .tv_nsec = 5 } };
    assert_int_equal (utimensat (AT_FDCWD, s_path, ts, 0), 0);
    assert_int_equal (s_read_listed (&l, &e, &n), TL_ECHANGED);
    assert_non_null (strstr (e.msg, "now 8 bytes, mtime 1000000000.000000005)"));

    /* Without expect_mtime_ns nothing is checked, as before. */
    tl_store_cfg_t plain = { .size_hint = 6 };
    n = 0;
    assert_int_equal (tl_store_read (&plain, l.v [0].uri, 0, UINT64_MAX, s_count, &n, NULL, NULL, &e), 0);
    assert_int_equal (n, 8);
    tl_objlist_free (&l);
    assert_int_equal (l.n, 0);
    unlink (s_path);
    rmdir (s_dir);
}

static void
test_objlist_version (void **state)
{
    (void) state;
    tl_objlist_t l = { 0 };
    assert_int_equal (tl_objlist_push_version (&l, "s3://b/k", 10, "\"abc\"", 0), 0);
    assert_int_equal (tl_objlist_push (&l, "s3://b/j", 20), 0);
    assert_string_equal (l.v [0].etag, "\"abc\"");
    assert_null (l.v [1].etag);
    assert_int_equal (l.v [1].mtime_ns, 0);
    tl_objlist_free (&l);
    assert_null (l.v);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_file_changed),
        cmocka_unit_test (test_objlist_version),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
