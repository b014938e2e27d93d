/*  http.h — libcurl requests with retries, backoff and resumable streaming bodies.

    Retried: connection failures and resets, stalls (no progress for the stall time), HTTP 429,
    500, 502, 503, 504, and S3's SlowDown and RequestTimeout. The wait before attempt n is full
    jitter, rand(0,1) * min(0.1 s * 2^n, 20 s), or the server's Retry-After if that is longer.
    A streaming body that breaks off is re-requested with Range from the last byte received. */
#ifndef TL_HTTP_H
#define TL_HTTP_H
#include "lib/base/err.h"
#include "lib/base/sink.h"
#include <curl/curl.h>
#include <time.h>

/*  curl's receive buffer per transfer (CURLOPT_BUFFERSIZE). */
#define TL_HTTP_RECV_BUF (256L << 10)

/*  Build the request headers for one attempt. range is "bytes=A-B" or NULL. The returned list
    is owned by the caller of the callback (freed after the attempt). NULL with e set on error. */
typedef struct curl_slist *(*tl_http_headers_fn) (void *arg, const char *method, const char *range, tl_err_t *e);

typedef struct {
    const char *url;            /* fully encoded URL */
    const char *what;           /* names the object in messages, e.g. s3://bucket/key */
    tl_http_headers_fn headers; /* NULL for none */
    void *headers_arg;
    const volatile int *cancel;
    int max_attempts;           /* 0: 6 */
    uint64_t rate_limit;        /* bytes/s, 0 for none */
    tl_read_stats_t *stats;     /* optional counters */
    uint64_t size;              /* the object's size if known (0: unknown), to cut ranged reads */
    uint64_t range_size;        /* > 0: read in pieces of this size, several at once (curl multi) */
    int concurrency;            /* pieces in flight at once (default 4) */
    const void *body;           /* tl_http_fetch: request body (POST, PUT), or NULL */
    size_t body_len;
} tl_http_req_t;

/*  Stream [offset, offset+length) of the body into sink (length UINT64_MAX: to the end). With
    range_size and a known size, the span is fetched as concurrent ranged GETs through the curl
    multi interface and delivered in order; otherwise as one streamed GET. */
int tl_http_stream (const tl_http_req_t *r, uint64_t offset, uint64_t length, tl_sink_fn sink, void *arg, tl_err_t *e);
/*  A small request: the whole body (at most max bytes) into *body (caller frees) and the status.
    Non-2xx statuses are returned in *status, not as errors; only transport failures are errors.
    Retryable statuses are retried first. For HEAD, *content_length gets the length (or -1). */
int tl_http_fetch (const tl_http_req_t *r, const char *method, char **body, size_t *len, long *status,
                   long long *content_length, size_t max, tl_err_t *e);
/*  Describe an error reply: "HTTP 404 NoSuchKey: The specified key does not exist." */
void tl_http_describe (long status, const char *body, size_t len, char *out, size_t outlen);
/*  1 if an error reply may succeed on retry. */
int tl_http_retryable (long status, const char *body, size_t len);
/*  Sleep before attempt n: full jitter, rand(0,1) * min(0.1 s * 2^n, 20 s), or the server's
    Retry-After if longer (under a minute). Returns early if *cancel becomes set. */
void tl_http_backoff (int attempt, long retry_after, const volatile int *cancel);
/*  The transport policy every request shares: connect timeout, stall detection, redirects
    (at most 5), user agent, no signals. */
void tl_http_policy (CURL *c);
/*  Seconds under 1 KiB/s before a transfer counts as stalled: 30, or TALLY_STALL_SECS. */
long tl_http_stall_secs (void);
/*  Sleep so that `done` bytes since t0 (CLOCK_MONOTONIC) take at least done/rate seconds. */
void tl_http_throttle (uint64_t rate, uint64_t done, const struct timespec *t0);
/*  If the header line is Retry-After, store its seconds in *retry_after. */
void tl_http_retry_after (const char *line, size_t n, long *retry_after);
/*  Call once at start (curl_global_init). */
void tl_http_global_init (void);
#endif
