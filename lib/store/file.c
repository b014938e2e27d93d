/*  store/file.c — local files. A folder lists every regular file below it (sorted, hidden
    files left out). Reads use pread in chunks growing from 64 KiB to 1 MiB. A listing records
    each file's mtime; a read given it (expect_mtime_ns) checks the file before and after. */
#include "lib/store/store.h"
#include "lib/base/util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *
s_path (const char *uri)
{
    return strncmp (uri, "file://", 7) == 0 ? uri + 7 : uri;
}

static int64_t
s_mtime_ns (const struct stat *st)
{
    return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/*  With expect_mtime_ns: is the open file still the one that was listed (its mtime, and its
    size when size_hint is set)? 0, or TL_ECHANGED. */
static int
s_check_version (const tl_store_cfg_t *cfg, int fd, const char *path, tl_err_t *e)
{
    if (!cfg || !cfg->expect_mtime_ns)
        return 0;
    struct stat st;
    if (fstat (fd, &st) != 0)
        return tl_err_set (e, TL_EIO, 0, "%s: %s", path, strerror (errno));
    int64_t mt = s_mtime_ns (&st);
    bool resized = cfg->size_hint && (uint64_t) st.st_size != cfg->size_hint;
    if (mt == cfg->expect_mtime_ns && !resized)
        return 0;
    char tag [64], now [128];
    snprintf (tag, sizeof tag, "mtime %lld.%09lld", (long long) (cfg->expect_mtime_ns / 1000000000),
              (long long) (cfg->expect_mtime_ns % 1000000000));
    snprintf (now, sizeof now, "%llu bytes, mtime %lld.%09lld", (unsigned long long) st.st_size,
              (long long) (mt / 1000000000), (long long) (mt % 1000000000));
    return tl_object_changed (e, path, cfg->size_hint, tag, now);
}

static int
s_name_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
s_walk (const char *dir, tl_objlist_t *out, int depth, tl_err_t *e)
{
    if (depth > 32)
        return tl_err_set (e, TL_EIO, 0, "%s: folders nested too deep", dir);
    DIR *d = opendir (dir);
    if (!d)
        return tl_err_set (e, TL_EIO, 0, "%s: %s", dir, strerror (errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir (d))) {
        if (de->d_name [0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc (names, cap * sizeof *nn);
            if (!nn) {
                rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
                goto done;
            }
            names = nn;
        }
        if (!(names [n] = strdup (de->d_name))) {
            rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
            goto done;
        }
        n++;
    }
    if (n)
        qsort (names, n, sizeof *names, s_name_cmp);
    for (size_t i = 0; i < n && !rc; i++) {
        char path [4096];
        snprintf (path, sizeof path, "%s%s%s", dir, dir [strlen (dir) - 1] == '/' ? "" : "/", names [i]);
        struct stat st;
        if (stat (path, &st) != 0)
            rc = tl_err_set (e, TL_EIO, 0, "%s: %s", path, strerror (errno));
        else if (S_ISDIR (st.st_mode))
            rc = s_walk (path, out, depth + 1, e);
        else if (!S_ISREG (st.st_mode))
            out->skipped_special++;     /* said by the caller, never left out in silence (rt14) */
        else {
            if (st.st_size == 0)
                out->skipped_empty++;
            else if (tl_objlist_push_version (out, path, (uint64_t) st.st_size, NULL, s_mtime_ns (&st)))
                rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        }
    }
done:
    for (size_t i = 0; i < n; i++)
        free (names [i]);
    free (names);
    closedir (d);
    return rc;
}

static int
s_list (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e)
{
    (void) cfg;
    const char *path = s_path (uri);
    struct stat st;
    if (stat (path, &st) != 0)
        return tl_err_set (e, errno == ENOENT ? TL_ENOTFOUND : TL_EIO, 0, "%s: %s", path, strerror (errno));
    if (S_ISDIR (st.st_mode))
        return s_walk (path, out, 0, e);
    /* A pipe (--input <(zcat x.gz), /dev/stdin) or a device has no size to cut by or pin to, and
       was taken for an empty object: 0 rows, ok (rt14). */
    if (!S_ISREG (st.st_mode))
        return tl_err_set (e, TL_EINVAL, 0, "%s is not a regular file (a pipe, socket or device): tally reads files by "
                           "their size and byte ranges, so write it to a file first", path);
    if (st.st_size == 0) {
        out->skipped_empty++;
        return 0;
    }
    if (tl_objlist_push_version (out, path, (uint64_t) st.st_size, NULL, s_mtime_ns (&st)))
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    return 0;
}

/*  Sleep so that `done` bytes take at least done/rate seconds since `t0`. */
static void
s_throttle (uint64_t rate, uint64_t done, const struct timespec *t0)
{
    if (!rate)
        return;
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    double elapsed = (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
    double want = (double) done / (double) rate;
    if (want > elapsed)
        usleep ((useconds_t) ((want - elapsed) * 1e6));
}

static int
s_read (const tl_store_cfg_t *cfg, const char *uri, uint64_t offset, uint64_t length, tl_sink_fn sink,
        void *arg, const volatile int *cancel, tl_read_stats_t *st, tl_err_t *e)
{
    (void) st;
    const char *path = s_path (uri);
    int fd = open (path, O_RDONLY);
    if (fd < 0)
        return tl_err_set (e, errno == ENOENT ? TL_ENOTFOUND : TL_EIO, 0, "%s: %s", path, strerror (errno));
    int vrc = s_check_version (cfg, fd, path, e);
    if (vrc) {
        close (fd);
        return vrc;
    }
    posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    /* Chunks start at 64 KiB and double to 1 MiB: a small byte-range task (and the line that
       finishes it) costs a small read, a big one streams in big reads. */
    size_t max_chunk = 1 << 20, chunk = 64 << 10;
    if (cfg && cfg->rate_limit && cfg->rate_limit < max_chunk * 4)
        max_chunk = cfg->rate_limit / 4 > 4096 ? cfg->rate_limit / 4 : 4096;
    if (chunk > max_chunk)
        chunk = max_chunk;
    char *buf = malloc (max_chunk);
    int rc = 0;
    if (!buf) {
        close (fd);
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    }
    struct timespec t0;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    uint64_t pos = offset, done = 0;
    while (length == UINT64_MAX || done < length) {
        if (cancel && *cancel) {
            rc = tl_err_set (e, TL_ECANCEL, 0, "%s: cancelled", path);
            break;
        }
        size_t want = chunk;
        if (length != UINT64_MAX && length - done < want)
            want = (size_t) (length - done);
        ssize_t n = pread (fd, buf, want, (off_t) pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = tl_err_set (e, TL_EIO, 0, "%s: read at %llu: %s", path, (unsigned long long) pos, strerror (errno));
            break;
        }
        if (n == 0)
            break;
        pos += n;
        done += n;
        int s = sink (arg, buf, (size_t) n);
        if (s < 0) {
            rc = s;
            break;
        }
        s_throttle (cfg ? cfg->rate_limit : 0, done, &t0);   /* every byte read counts, the last chunk too */
        if (s > 0)
            break;
        chunk = chunk * 2 < max_chunk ? chunk * 2 : max_chunk;   /* grow, never past the buffer */
    }
    if (rc == 0)
        rc = s_check_version (cfg, fd, path, e);    /* written to while we read it? */
    free (buf);
    close (fd);
    return rc;
}

const tl_store_ops_t tl_store_file = { .name = "file", .list = s_list, .read = s_read };
