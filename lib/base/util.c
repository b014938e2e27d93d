/*  util.c — clocks, ids and number parsing for the shells. */
#include "lib/base/util.h"
#include <czmq.h>
#include "lib/base/err.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t
tl_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
tl_now_ms (void)
{
    return tl_now_us () / 1000;
}

void
tl_malloc_keep (void)
{
#ifdef M_MMAP_THRESHOLD
    /* Up to glibc's ceiling for a fixed threshold (32 MiB on 64-bit): bigger blocks still come
       from mmap, and go back at once when freed. Never trim the heap's top. */
    (void) mallopt (M_MMAP_THRESHOLD, 32 << 20);
    (void) mallopt (M_TRIM_THRESHOLD, INT_MAX);
#endif
}

void
tl_random_id (char out [17])
{
    uint64_t v = 0;
    int fd = open ("/dev/urandom", O_RDONLY);
    if (fd < 0 || read (fd, &v, sizeof v) != sizeof v) {
        struct timespec ts;
        clock_gettime (CLOCK_REALTIME, &ts);
        v = ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) ts.tv_sec ^ ((uint64_t) getpid () << 40);
    }
    if (fd >= 0)
        close (fd);
    snprintf (out, 17, "%016llx", (unsigned long long) v);
}

int
tl_parse_uint (const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    if (!s || !isdigit ((unsigned char) *s))
        return TL_EINVAL;
    errno = 0;
    char *end;
    unsigned long long x = strtoull (s, &end, 10);
    if (errno || *end || x < min || x > max)
        return TL_EINVAL;
    *v = x;
    return 0;
}

int
tl_parse_size (const char *s, uint64_t *v)
{
    if (!s || !isdigit ((unsigned char) *s))
        return TL_EINVAL;
    errno = 0;
    char *end;
    unsigned long long x = strtoull (s, &end, 10);
    if (errno)
        return TL_EINVAL;
    uint64_t mult = 1;
    switch (toupper ((unsigned char) *end)) {
        case 0: break;
        case 'K': mult = 1ULL << 10; end++; break;
        case 'M': mult = 1ULL << 20; end++; break;
        case 'G': mult = 1ULL << 30; end++; break;
        default: return TL_EINVAL;
    }
    if (*end == 'i' || *end == 'I')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || (x && mult > UINT64_MAX / x))
        return TL_EINVAL;
    *v = x * mult;
    return 0;
}

int
tl_write_atomic (const char *dir, const char *name, const void *buf, size_t len, tl_err_t *e)
{
    char tmp [4096], path [4096];
    snprintf (tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf (path, sizeof path, "%s/%s", dir, name);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return tl_err_set (e, TL_EIO, 0, "%s: %s", tmp, strerror (errno));
    const char *p = buf;
    size_t left = len;
    while (left) {
        ssize_t n = write (fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = errno;
            close (fd);
            unlink (tmp);   /* else its bytes hold what is left of a full disk (rt13) */
            return tl_err_set (e, TL_EIO, 0, "%s: %s", tmp, strerror (err));
        }
        p += n;
        left -= (size_t) n;
    }
    int synced = fsync (fd), err = errno;
    if (close (fd) != 0 && synced == 0) {   /* (an fsync that failed still closes: no fd leaks per retry) */
        synced = -1;
        err = errno;
    }
    if (synced != 0) {
        unlink (tmp);
        return tl_err_set (e, TL_EIO, 0, "%s: fsync: %s", tmp, strerror (err));
    }
    if (rename (tmp, path) != 0) {
        err = errno;
        unlink (tmp);
        return tl_err_set (e, TL_EIO, 0, "rename %s: %s", path, strerror (err));
    }
    int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync (dfd);
        close (dfd);
    }
    return 0;
}

int
tl_read_file (const char *path, char **buf, size_t *len, size_t max, tl_err_t *e)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tl_err_set (e, errno == ENOENT ? TL_ENOTFOUND : TL_EIO, 0, "%s: %s", path, strerror (errno));
    struct stat st;
    if (fstat (fd, &st) != 0 || (size_t) st.st_size > max) {
        close (fd);
        return tl_err_set (e, TL_EIO, 0, "%s: unreadable or larger than %zu bytes", path, max);
    }
    *buf = malloc ((size_t) st.st_size + 1);
    if (!*buf) {
        close (fd);
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    }
    size_t got = 0;
    while (got < (size_t) st.st_size) {
        ssize_t n = read (fd, *buf + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    close (fd);
    (*buf) [got] = 0;
    *len = got;
    return 0;
}

int
tl_object_changed (tl_err_t *e, const char *uri, uint64_t size, const char *tag, const char *now)
{
    char was [400] = "";
    if (size)
        snprintf (was, sizeof was, "was %llu bytes", (unsigned long long) size);
    if (tag && *tag)
        snprintf (was + strlen (was), sizeof was - strlen (was), "%s%s", *was ? ", " : "was ", tag);
    return tl_err_set (e, TL_ECHANGED, 0, "object changed since it was listed: %s (%s%snow %s)", uri, was,
                       *was ? ", " : "", now);
}

int
tl_mkdirs (const char *path, tl_err_t *e)
{
    char p [4096];
    snprintf (p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir (p, 0755);
            *s = '/';
        }
    if (mkdir (p, 0755) != 0 && errno != EEXIST)
        return tl_err_set (e, TL_EIO, 0, "%s: %s", path, strerror (errno));
    return 0;
}

uint64_t
tl_seen_before (zhash_t *seen, const char *text)
{
    uint64_t n = (uint64_t) (uintptr_t) zhash_lookup (seen, text);
    if (n == 0 && zhash_size (seen) >= 4096) {
        /* Bounded: a long-lived mapper may meet endless distinct texts. */
        zlist_t *keys = zhash_keys (seen);
        for (const char *k = keys ? zlist_first (keys) : NULL; k; k = zlist_next (keys))
            zhash_delete (seen, k);
        zlist_destroy (&keys);
    }
    zhash_update (seen, text, (void *) (uintptr_t) (n + 1));
    return n;
}
