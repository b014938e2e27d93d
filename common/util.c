/*  util.c — clocks, ids and number parsing for the shells. */
#include "util.h"
#include "err.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int64_t
tl_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
