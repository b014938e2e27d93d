/*  retry.h — the policy every HTTP request shares, whichever engine sends it (http.c: one
    streamed GET or a small request; http_multi.c: concurrent ranged GETs).

    Retried: connection failures and resets, stalls (no progress for the stall time), HTTP 429,
    500, 502, 503, 504, and error replies whose body the caller's explain callback marks as
    retryable (S3's SlowDown, RequestTimeout, InternalError: lib/aws/s3xml.c). The wait before
    attempt n is full jitter, rand(0,1) * min(0.1 s * 2^n, 20 s), or the server's Retry-After if
    that is longer. The engine knows HTTP only: what an error body means is the caller's to say. */
#ifndef TL_RETRY_H
#define TL_RETRY_H
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*  curl's receive buffer per transfer (CURLOPT_BUFFERSIZE). */
#define TL_HTTP_RECV_BUF (256L << 10)

/*  What an error reply's body says, as the service that sent it explains it. */
typedef struct {
    char code [128];        /* the service's error code ("NoSuchKey"), or "" */
    char msg [256];         /* its message, or "" */
    bool retry;             /* the code says that trying again may succeed */
} tl_http_error_t;
/*  Read an error reply's body (len > 0) into out (zeroed by the caller). */
typedef void (*tl_http_explain_fn) (const char *body, size_t len, tl_http_error_t *out);

/*  1 if an error reply may succeed on retry. why may be NULL. */
int tl_http_retryable (long status, const tl_http_error_t *why);
/*  Describe an error reply: "HTTP 404 NoSuchKey: The specified key does not exist." */
void tl_http_describe (long status, const tl_http_error_t *why, char *out, size_t outlen);
/*  Sleep before attempt n: full jitter, rand(0,1) * min(0.1 s * 2^n, 20 s), or the server's
    Retry-After if longer (under a minute). Returns early if *cancel becomes set. */
void tl_http_backoff (int attempt, long retry_after, const volatile int *cancel);
/*  The transport policy every request shares: connect timeout, stall detection (under 1 KiB/s
    for 30 s, or TALLY_STALL_SECS), redirects (at most 5), user agent, no signals, buffer size,
    the URL's path sent as it is (no "/../" squashed). */
void tl_http_policy (CURL *c);
/*  Sleep so that `done` bytes since t0 (CLOCK_MONOTONIC) take at least done/rate seconds. */
void tl_http_throttle (uint64_t rate, uint64_t done, const struct timespec *t0);
/*  If the header line is Retry-After, store its seconds in *retry_after. */
void tl_http_retry_after (const char *line, size_t n, long *retry_after);
/*  If the header line is Content-Range ("bytes A-B/TOTAL"), store A in *first and TOTAL in
    *total (each only when it is a number). */
void tl_http_content_range (const char *line, size_t n, int64_t *first, int64_t *total);
/*  If the header line is ETag, store its value (quotes kept, spaces trimmed) in out. */
void tl_http_etag (const char *line, size_t n, char *out, size_t outlen);
/*  Call once at start (curl_global_init); every engine calls it. */
void tl_http_global_init (void);
#endif
