/*  store_read URI [--no-size|--no-etag]: list URI through lib/store, print what the listing
    says of its first object ("listed SIZE ETAG MTIME_NS"), wait for a line on stdin (the test
    changes the object meanwhile, or not), then read it whole as a mapper would, naming the
    version that was listed: size_hint (unless --no-size), if_match (unless --no-etag) and
    expect_mtime_ns. Prints "read N bytes", or "error CODE: message" and exits 1. For
    tests/integration/test_store_changed.sh. */
#include "lib/store/store.h"
#include <stdio.h>
#include <string.h>

static int
s_count (void *arg, const char *buf, size_t len)
{
    (void) buf;
    *(uint64_t *) arg += len;
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc < 2)
        return 2;
    tl_store_cfg_t cfg = { 0 };
    tl_store_cfg_from_env (&cfg);
    tl_objlist_t l = { 0 };
    tl_err_t e = { 0 };
    if (tl_store_list (&cfg, argv [1], &l, &e) != 0 || l.n == 0) {
        printf ("error %d: %s\n", e.code, e.msg);
        return 1;
    }
    const tl_object_t *o = &l.v [0];
    printf ("listed %llu %s %lld\n", (unsigned long long) o->size, o->etag ? o->etag : "-", (long long) o->mtime_ns);
    fflush (stdout);
    char line [64];
    if (!fgets (line, sizeof line, stdin))
        return 2;
    cfg.size_hint = argc > 2 && strcmp (argv [2], "--no-size") == 0 ? 0 : o->size;
    cfg.if_match = argc > 2 && strcmp (argv [2], "--no-etag") == 0 ? NULL : o->etag;
    cfg.expect_mtime_ns = o->mtime_ns;
    uint64_t n = 0;
    int rc = tl_store_read (&cfg, o->uri, 0, UINT64_MAX, s_count, &n, NULL, NULL, &e);
    if (rc)
        printf ("error %d: %s\n", e.code, e.msg);
    else
        printf ("read %llu bytes\n", (unsigned long long) n);
    tl_objlist_free (&l);
    return rc ? 1 : 0;
}
