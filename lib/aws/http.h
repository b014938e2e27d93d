/*  http.h — libcurl requests with retries, backoff and resumable streaming bodies: the public
    entry of the HTTP client. tl_http_stream picks the engine: one streamed GET (http.c) or, for
    a span of an object of known size, concurrent ranged GETs (http_multi.c). Both follow the
    retry policy of lib/aws/retry.h; a body that breaks off is re-requested with Range from the
    last byte received, so a sink never sees a byte twice. */
#ifndef TL_HTTP_H
#define TL_HTTP_H
#include "lib/aws/http_req.h"
#include "lib/aws/retry.h"

/*  Stream [offset, offset+length) of the body into sink (length UINT64_MAX: to the end). With
    range_size and a known size, the span is fetched as concurrent ranged GETs through the curl
    multi interface and delivered in order; otherwise as one streamed GET. */
int tl_http_stream (const tl_http_req_t *r, uint64_t offset, uint64_t length, tl_sink_fn sink, void *arg, tl_err_t *e);

/*  The reply to a small request. */
typedef struct {
    char *body;                 /* the whole body, NUL-terminated (caller frees); NULL if not asked */
    size_t len;
    long status;
    long long content_length;   /* -1 if the reply had none (HEAD: the object's length) */
    char etag [256];            /* the ETag header as sent (quotes kept), or "" */
    int64_t last_modified;      /* the Last-Modified header as a Unix time, -1 if none */
} tl_http_reply_t;
/*  A small request: the whole body (at most max bytes) when want_body, the status, length and
    ETag into *out. Non-2xx statuses are returned in out->status, not as errors; only transport
    failures are errors. Retryable statuses are retried first. */
int tl_http_fetch (const tl_http_req_t *r, const char *method, bool want_body, size_t max, tl_http_reply_t *out,
                   tl_err_t *e);
#endif
