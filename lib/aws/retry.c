/*  retry.c — see retry.h. */
#include "lib/aws/retry.h"
#include "lib/base/text.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static void
s_init (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

void
tl_http_global_init (void)
{
    pthread_once (&s_once, s_init);
}

void
tl_http_throttle (uint64_t rate, uint64_t done, const struct timespec *t0)
{
    if (!rate)
        return;
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    double el = (double) (now.tv_sec - t0->tv_sec) + (double) (now.tv_nsec - t0->tv_nsec) / 1e9;
    double want = (double) done / (double) rate;
    if (want > el)
        usleep ((useconds_t) ((want - el) * 1e6));
}

void
tl_http_retry_after (const char *line, size_t n, long *retry_after)
{
    if (n > 12 && strncasecmp (line, "retry-after:", 12) == 0)
        *retry_after = strtol (line + 12, NULL, 10);
}

void
tl_http_content_range (const char *line, size_t n, int64_t *first, int64_t *total)
{
    if (n <= 14 || strncasecmp (line, "content-range:", 14) != 0)
        return;
    const char *p = line + 14, *end = line + n;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (end - p > 6 && strncasecmp (p, "bytes ", 6) == 0 && p [6] >= '0' && p [6] <= '9')
        *first = strtoll (p + 6, NULL, 10);
    const char *slash = memchr (line, '/', n);
    if (slash && slash + 1 < line + n && slash [1] >= '0' && slash [1] <= '9')
        *total = strtoll (slash + 1, NULL, 10);
}

void
tl_http_etag (const char *line, size_t n, char *out, size_t outlen)
{
    if (n <= 5 || strncasecmp (line, "etag:", 5) != 0)
        return;
    const char *p = line + 5, *end = line + n;
    tl_trim (&p, &end);
    snprintf (out, outlen, "%.*s", (int) (end - p), p);
}

int
tl_http_retryable (long status, const tl_http_error_t *why)
{
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504)
        return 1;
    return why && why->retry;
}

void
tl_http_describe (long status, const tl_http_error_t *why, char *out, size_t outlen)
{
    if (why && *why->code)
        snprintf (out, outlen, "HTTP %ld %s%s%s", status, why->code, *why->msg ? ": " : "", why->msg);
    else if (status == 403)
        snprintf (out, outlen, "HTTP 403 Forbidden (check the credentials and their permissions; "
                               "a public bucket needs --no-sign-request)");
    else if (status == 404)
        snprintf (out, outlen, "HTTP 404 Not Found");
    else
        snprintf (out, outlen, "HTTP %ld", status);
}

void
tl_http_backoff (int attempt, long retry_after, const volatile int *cancel)
{
    double cap = 0.1 * (double) (1u << (attempt < 8 ? attempt : 8));
    if (cap > 20.0)
        cap = 20.0;
    unsigned seed = (unsigned) time (NULL) ^ (unsigned) (uintptr_t) &cap ^ (unsigned) attempt;
    double wait = cap * ((double) rand_r (&seed) / (double) RAND_MAX);
    if (retry_after > 0 && retry_after < 60 && wait < retry_after)
        wait = (double) retry_after;
    for (double slept = 0; slept < wait && !(cancel && *cancel); slept += 0.05)
        usleep (50000);
}

/*  Seconds under 1 KiB/s before a transfer counts as stalled: 30, or TALLY_STALL_SECS. */
static long
s_stall_secs (void)
{
    const char *v = getenv ("TALLY_STALL_SECS");
    long n = v ? strtol (v, NULL, 10) : 0;
    return n > 0 && n < 3600 ? n : 30;
}

void
tl_http_policy (CURL *c)
{
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 10L);
    /* A stall: under 1 KiB/s for the stall time. The transfer fails and is resumed. */
    curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, s_stall_secs ());
    curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
    /* The path as given: an S3 key is a name, not a path, and curl would read the key
       "d/x/../y.csv" as the object "d/y.csv" (a different object, signed for another path). */
    curl_easy_setopt (c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt (c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt (c, CURLOPT_USERAGENT, "tally/" TALLY_VERSION);
    /* Bigger reads than curl's 16 KiB default: a quarter of the recv calls and write callbacks
       per byte, and the scanner gets runs of ~2,000 lines instead of ~130. Costs 256 KiB per
       transfer in flight (bench/memory.sh keeps an eye on it). */
    curl_easy_setopt (c, CURLOPT_BUFFERSIZE, TL_HTTP_RECV_BUF);
}
