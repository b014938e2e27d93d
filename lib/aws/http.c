/*  http.c — the single-request engine: one streamed GET with retries and resume, and small
    requests (tl_http_fetch); tl_http_stream hands spans of objects of known size to the ranged
    engine (http_multi.c).

    The write callback looks at the response code before the first body byte: a 2xx body goes
    to the sink (after skipping bytes if a server ignored our Range), anything else is kept (up
    to 4 KiB) to explain the error. */
#include "lib/aws/http.h"
#include "lib/aws/http_multi.h"
#include "lib/base/text.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ERRBODY_MAX 4096

typedef struct {
    CURL *curl;
    const tl_http_req_t *r;
    tl_sink_fn sink;
    void *arg;
    int sink_rc;                /* last non-zero sink result */
    uint64_t received;          /* body bytes handed to the sink this request */
    uint64_t skip;              /* bytes to drop (server ignored Range) */
    uint64_t want;              /* bytes wanted this request, UINT64_MAX for all */
    long status;
    char errbody [ERRBODY_MAX];
    size_t errlen;
    long retry_after;
    uint64_t rate;
    struct timespec t0;
    const volatile int *cancel;
    uint64_t range_from;        /* first byte asked for with Range */
    tl_http_seen_t seen;        /* what the headers said (Content-Range, ETag) */
    tl_err_t *e;                /* where a reply judged wrong says why */
    int bad;                    /* non-zero: the reply is not what was asked for (tl_http_req_check) */
} s_xfer_t;

static size_t
s_write (char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_xfer_t *x = userdata;
    size_t n = size * nmemb;
    if (!x->status) {
        curl_easy_getinfo (x->curl, CURLINFO_RESPONSE_CODE, &x->status);
        /* A server that ignores Range answers 200 with the whole body: drop the head. */
        if (x->status == 200 && x->range_from)
            x->skip = x->range_from;
        if (x->r && x->status >= 200 && x->status <= 299
            && (x->bad = tl_http_req_check (x->r, x->curl, x->status, x->range_from, &x->seen, x->e)) != 0)
            return CURL_WRITEFUNC_ERROR;
    }
    if (x->status < 200 || x->status > 299) {
        size_t room = ERRBODY_MAX - 1 - x->errlen;
        size_t take = n < room ? n : room;
        memcpy (x->errbody + x->errlen, ptr, take);
        x->errlen += take;
        x->errbody [x->errlen] = 0;
        return n;
    }
    if (!x->sink)
        return n;
    char *p = ptr;
    size_t len = n;
    if (x->skip) {
        size_t s = len < x->skip ? len : (size_t) x->skip;
        x->skip -= s;
        p += s;
        len -= s;
    }
    if (x->want != UINT64_MAX && x->received + len > x->want)
        len = (size_t) (x->want - x->received);
    if (len) {
        x->received += len;
        int rc = x->sink (x->arg, p, len);
        if (rc != 0) {
            x->sink_rc = rc;
            return CURL_WRITEFUNC_ERROR;
        }
    }
    if (x->want != UINT64_MAX && x->received >= x->want) {
        x->sink_rc = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    tl_http_throttle (x->rate, x->received, &x->t0);
    return n;
}

static size_t
s_header (char *buf, size_t size, size_t nitems, void *userdata)
{
    s_xfer_t *x = userdata;
    size_t n = size * nitems;
    tl_http_retry_after (buf, n, &x->retry_after);
    tl_http_req_seen (&x->seen, buf, n);
    if (n > 5 && strncmp (buf, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 100-continue): reset what we learned. */
        x->status = 0;
        x->errlen = 0;
    }
    return n;
}

static int
s_progress (void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void) dltotal; (void) dlnow; (void) ultotal; (void) ulnow;
    s_xfer_t *x = clientp;
    return x->cancel && *x->cancel ? 1 : 0;
}

static int
s_curl_retryable (CURLcode c)
{
    switch (c) {
        case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_PARTIAL_FILE: case CURLE_GOT_NOTHING:
        case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
            return 1;
        default:
            return 0;
    }
}

static CURL *
s_easy (const tl_http_req_t *r, s_xfer_t *x, struct curl_slist *hdrs)
{
    CURL *c = curl_easy_init ();
    if (!c)
        return NULL;
    x->curl = c;
    curl_easy_setopt (c, CURLOPT_URL, r->url);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt (c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt (c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt (c, CURLOPT_NOPROGRESS, 0L);
    tl_http_policy (c);
    if (r->last_modified)
        curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
    if (hdrs)
        curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);
    return c;
}

/*  One streamed GET of the span, resumed with Range after a break. */
static int
s_stream_single (const tl_http_req_t *r, uint64_t offset, uint64_t length, tl_sink_fn sink, void *arg, tl_err_t *e)
{
    int attempts = r->max_attempts > 0 ? r->max_attempts : 6;
    uint64_t done = 0;      /* bytes delivered to the sink over all attempts */
    char last [512] = "no attempt made";
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (r->cancel && *r->cancel)
            return tl_err_set (e, TL_ECANCEL, 0, "%s: cancelled", r->what);
        if (attempt) {
            if (r->stats)
                r->stats->retries++;
            if (done && r->stats)
                r->stats->resumed++;
        }
        s_xfer_t x = { .r = r, .sink = sink, .arg = arg, .rate = r->rate_limit, .cancel = r->cancel,
                       .seen = { .first = -1, .total = -1 }, .e = e };
        x.want = length == UINT64_MAX ? UINT64_MAX : length - done;
        clock_gettime (CLOCK_MONOTONIC, &x.t0);
        char range [80] = "";
        uint64_t from = offset + done;
        x.range_from = from;
        if (from > 0 || length != UINT64_MAX) {
            if (length == UINT64_MAX)
                snprintf (range, sizeof range, "bytes=%llu-", (unsigned long long) from);
            else
                snprintf (range, sizeof range, "bytes=%llu-%llu", (unsigned long long) from,
                          (unsigned long long) (offset + length - 1));
        }
        struct curl_slist *hdrs = NULL;
        if ((*range || r->headers || (r->if_match && *r->if_match))
            && !(hdrs = tl_http_req_headers (r, "GET", *range ? range : NULL, e)))
            return e ? e->code : TL_EINVAL;
        CURL *c = s_easy (r, &x, hdrs);
        if (!c) {
            curl_slist_free_all (hdrs);
            return tl_err_set (e, TL_ENOMEM, 0, "curl_easy_init failed");
        }
        CURLcode cc = curl_easy_perform (c);
        long status = x.status;
        if (!status) {
            curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
            /* A 2xx with no body never reached s_write, so it was not judged there: now. */
            if (cc == CURLE_OK && r && status >= 200 && status <= 299)
                x.bad = tl_http_req_check_empty (r, c, status, x.range_from, &x.seen, e);
        }
        curl_easy_cleanup (c);
        curl_slist_free_all (hdrs);
        done += x.received;
        if (x.bad)
            return x.bad;                   /* another object, or other bytes, than asked for: in e */
        if (x.sink_rc < 0)
            return x.sink_rc;               /* the sink's own error, already in e */
        if (x.sink_rc > 0)
            return 0;                       /* the sink has what it needs */
        if (r->cancel && *r->cancel)
            return tl_err_set (e, TL_ECANCEL, 0, "%s: cancelled", r->what);
        if (cc == CURLE_OK && status >= 200 && status <= 299) {
            if (length == UINT64_MAX || done >= length)
                return 0;
            snprintf (last, sizeof last, "body ended after %llu of %llu bytes", (unsigned long long) done,
                      (unsigned long long) length);
            continue;   /* short body: resume */
        }
        if (cc == CURLE_OK) {
            if (status == 416 && length == UINT64_MAX && done > 0)
                return 0;   /* resumed exactly at the end */
            char desc [400];
            tl_http_error_t why;
            tl_http_req_explain (r, x.errbody, x.errlen, &why);
            tl_http_describe (status, &why, desc, sizeof desc);
            snprintf (last, sizeof last, "%s", desc);
            if (!tl_http_retryable (status, &why))
                return tl_http_req_fail (r, status, desc, e);
            tl_http_backoff (attempt, x.retry_after, r->cancel);
            continue;
        }
        snprintf (last, sizeof last, "%s", curl_easy_strerror (cc));
        if (!s_curl_retryable (cc))
            return tl_err_set (e, TL_ENET, 0, "%s: %s", r->what, last);
        tl_http_backoff (attempt, 0, r->cancel);
    }
    return tl_err_set (e, TL_ENET, 1, "%s: gave up after %d attempts: %s", r->what, attempts, last);
}

int
tl_http_stream (const tl_http_req_t *r, uint64_t offset, uint64_t length, tl_sink_fn sink, void *arg, tl_err_t *e)
{
    tl_http_global_init ();
    if (r->range_size && r->size)
        return tl_http_stream_multi (r, offset, length, sink, arg, e);
    return s_stream_single (r, offset, length, sink, arg, e);
}

typedef struct {
    char *buf;
    size_t len, max;
    int over;
} s_body_t;

static size_t
s_body_write (char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_body_t *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > b->max) {
        b->over = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    char *nb = realloc (b->buf, b->len + n + 1);
    if (!nb)
        return CURL_WRITEFUNC_ERROR;
    b->buf = nb;
    memcpy (b->buf + b->len, ptr, n);
    b->len += n;
    b->buf [b->len] = 0;
    return n;
}

int
tl_http_fetch (const tl_http_req_t *r, const char *method, bool want_body, size_t max, tl_http_reply_t *out,
               tl_err_t *e)
{
    tl_http_global_init ();
    memset (out, 0, sizeof *out);
    int attempts = r->max_attempts > 0 ? r->max_attempts : 6;
    char last [512] = "no attempt made";
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (attempt && r->stats)
            r->stats->retries++;
        s_body_t b = { .max = max };
        s_xfer_t x = { .cancel = r->cancel, .seen = { .first = -1, .total = -1 } };
        struct curl_slist *hdrs = NULL;
        if (r->headers && !(hdrs = r->headers (r->headers_arg, method, NULL, e)))
            return e ? e->code : TL_EINVAL;
        CURL *c = s_easy (r, &x, hdrs);
        if (!c) {
            curl_slist_free_all (hdrs);
            return tl_err_set (e, TL_ENOMEM, 0, "curl_easy_init failed");
        }
        curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_body_write);
        curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
        if (r->body) {
            curl_easy_setopt (c, CURLOPT_POSTFIELDS, r->body);
            curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
        }
        curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
        if (strcmp (method, "HEAD") == 0)
            curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
        else if (strcmp (method, "GET") != 0 && strcmp (method, "POST") != 0)
            curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
        CURLcode cc = curl_easy_perform (c);
        long st = 0;
        curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &st);
        curl_off_t cl = -1, ft = -1;
        curl_easy_getinfo (c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        curl_easy_getinfo (c, CURLINFO_FILETIME_T, &ft);
        curl_easy_cleanup (c);
        curl_slist_free_all (hdrs);
        if (cc == CURLE_OK) {
            tl_http_error_t why;
            tl_http_req_explain (r, b.buf, b.len, &why);
            if (tl_http_retryable (st, &why) && attempt + 1 < attempts) {
                tl_http_describe (st, &why, last, sizeof last);
                free (b.buf);
                tl_http_backoff (attempt, x.retry_after, r->cancel);
                continue;
            }
            out->status = st;
            out->content_length = (long long) cl;
            out->last_modified = (int64_t) ft;
            snprintf (out->etag, sizeof out->etag, "%s", x.seen.etag);
            if (want_body) {
                out->body = b.buf ? b.buf : calloc (1, 1);
                out->len = b.len;
            }
            else
                free (b.buf);
            return 0;
        }
        free (b.buf);
        if (b.over)
            return tl_err_set (e, TL_EPROTO, 0, "%s: reply larger than %zu bytes", r->what, max);
        snprintf (last, sizeof last, "%s", curl_easy_strerror (cc));
        if (!s_curl_retryable (cc))
            return tl_err_set (e, TL_ENET, 0, "%s: %s", r->what, last);
        tl_http_backoff (attempt, 0, r->cancel);
    }
    return tl_err_set (e, TL_ENET, 1, "%s: gave up after %d attempts: %s", r->what, attempts, last);
}
