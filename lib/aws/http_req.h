/*  http_req.h — one HTTP request as both engines see it (http.c, http_multi.c): what to fetch,
    how to sign it, how to read its error replies, and the object it must still be.

    A read may carry what the object was when it was listed: its size (size) and its ETag
    (if_match, sent as If-Match). A 412, a 416 on a range inside the listed size, a reply whose
    total size (Content-Range's, or a whole body's Content-Length) differs from the listed size,
    or a reply whose ETag differs from the listed one (a server that ignores If-Match), or whose
    Last-Modified does (a server without ETags: last_modified) fails the read with TL_ECHANGED, which is never retried: counting the bytes of a different object than
    the one listed would give totals that match neither. A 206 must also hold the bytes asked
    for: one whose Content-Range starts elsewhere (or that has none) fails with TL_EPROTO. */
#ifndef TL_HTTP_REQ_H
#define TL_HTTP_REQ_H
#include "lib/aws/retry.h"
#include "lib/base/err.h"
#include "lib/base/sink.h"
#include <curl/curl.h>

/*  Build the request headers for one attempt. range is "bytes=A-B" or NULL. The returned list
    is owned by the caller of the callback (freed after the attempt). NULL with e set on error. */
typedef struct curl_slist *(*tl_http_headers_fn) (void *arg, const char *method, const char *range, tl_err_t *e);

typedef struct {
    const char *url;            /* fully encoded URL */
    const char *what;           /* names the object in messages, e.g. s3://bucket/key (host h) */
    const char *uri;            /* the object as listed, for TL_ECHANGED messages (NULL: what) */
    tl_http_headers_fn headers; /* NULL for none but Range */
    void *headers_arg;
    tl_http_explain_fn explain; /* reads error bodies (S3's XML); NULL: the status says it all */
    const volatile int *cancel;
    int max_attempts;           /* 0: 6 */
    uint64_t rate_limit;        /* bytes/s, 0 for none */
    tl_read_stats_t *stats;     /* optional counters */
    uint64_t size;              /* the object's size if known (0: unknown): cuts ranged reads, and
                                   a reply that says otherwise is TL_ECHANGED */
    const char *if_match;       /* an ETag to send as If-Match on GETs, or NULL */
    int64_t last_modified;      /* http without an ETag: the Last-Modified listed (Unix time), which
                                   every reply must still give when it gives one; 0: none */
    uint64_t range_size;        /* > 0: read in pieces of this size, several at once (curl multi) */
    int concurrency;            /* pieces in flight at once (default 4) */
    const void *body;           /* tl_http_fetch: request body (POST, PUT), or NULL */
    size_t body_len;
} tl_http_req_t;

/*  The headers of one attempt: the caller's (which carry the Range), or just Range; then
    If-Match on a GET when r->if_match is set. NULL with e set on error. */
struct curl_slist *tl_http_req_headers (const tl_http_req_t *r, const char *method, const char *range, tl_err_t *e);
/*  What an error body says, through r->explain (zeroed when there is none). */
void tl_http_req_explain (const tl_http_req_t *r, const char *body, size_t len, tl_http_error_t *out);
/*  Fail for a reply that will not be retried: TL_ECHANGED for 412 (with If-Match) and for 416
    on a read of known size, else TL_ENOTFOUND, TL_EAUTH or TL_EHTTP with desc. Returns the code. */
int tl_http_req_fail (const tl_http_req_t *r, long status, const char *desc, tl_err_t *e);
/*  What a reply's headers said, for tl_http_req_check: gathered by tl_http_req_seen from each
    header line (a new status line, after a redirect, starts it afresh). */
typedef struct {
    int64_t first;      /* Content-Range's first byte, -1 if none */
    int64_t total;      /* Content-Range's total, -1 if none */
    char etag [256];    /* the ETag as sent, "" if none */
} tl_http_seen_t;
void tl_http_req_seen (tl_http_seen_t *s, const char *line, size_t n);
/*  Judge a 2xx reply at its first body byte, for a read whose first byte asked for is `from`:
    it must be the listed object (size, ETag) and, if a 206, start at `from`. 0, or TL_ECHANGED
    or TL_EPROTO with e set (neither is retried). */
int tl_http_req_check (const tl_http_req_t *r, CURL *c, long status, uint64_t from, const tl_http_seen_t *s,
                       tl_err_t *e);
/*  The same, for a 2xx whose transfer ended without a byte of body (it never reached the write
    callback, where replies are judged): a 200 is then the whole object, empty, which the listed
    size says it is not, even when no Content-Length says so (chunked, or closed). */
int tl_http_req_check_empty (const tl_http_req_t *r, CURL *c, long status, uint64_t from, const tl_http_seen_t *s,
                             tl_err_t *e);
#endif
