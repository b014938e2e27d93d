/*  http_req.c — see http_req.h. */
#include "lib/aws/http_req.h"
#include "lib/base/util.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct curl_slist *
tl_http_req_headers (const tl_http_req_t *r, const char *method, const char *range, tl_err_t *e)
{
    struct curl_slist *h = NULL;
    char line [600];
    if (r->headers) {
        if (!(h = r->headers (r->headers_arg, method, range, e)))
            return NULL;
    }
    else if (range) {
        snprintf (line, sizeof line, "Range: %s", range);
        h = curl_slist_append (h, line);
    }
    if (r->if_match && *r->if_match && strcmp (method, "GET") == 0) {
        snprintf (line, sizeof line, "If-Match: %s", r->if_match);
        h = curl_slist_append (h, line);
    }
    return h;
}

void
tl_http_req_explain (const tl_http_req_t *r, const char *body, size_t len, tl_http_error_t *out)
{
    memset (out, 0, sizeof *out);
    if (r->explain && body && len)
        r->explain (body, len, out);
}

static int
s_changed (const tl_http_req_t *r, const char *now, tl_err_t *e)
{
    char tag [300] = "";
    if (r->if_match && *r->if_match)
        snprintf (tag, sizeof tag, "ETag %s", r->if_match);
    else if (r->last_modified)
        snprintf (tag, sizeof tag, "Last-Modified %lld", (long long) r->last_modified);
    return tl_object_changed (e, r->uri ? r->uri : r->what, r->size, tag, now);
}

int
tl_http_req_fail (const tl_http_req_t *r, long status, const char *desc, tl_err_t *e)
{
    if (status == 412 && r->if_match && *r->if_match)
        return s_changed (r, "HTTP 412 Precondition Failed", e);
    if (status == 416 && r->size)
        return s_changed (r, "shorter than the range read", e);
    int code = status == 404 ? TL_ENOTFOUND : (status == 401 || status == 403) ? TL_EAUTH : TL_EHTTP;
    return tl_err_set (e, code, 0, "%s: %s", r->what, desc);
}

/*  An ETag's opaque part: without a weak mark (W/, which nginx adds to a reply it compresses on
    the fly) and its quotes (a listing and a GET of some stores differ in them). */
static const char *
s_etag_core (const char *t, size_t *n)
{
    *n = strlen (t);
    if (*n >= 2 && t [0] == 'W' && t [1] == '/')
        t += 2, *n -= 2;
    if (*n >= 2 && t [0] == '"' && t [*n - 1] == '"')
        t++, *n -= 2;
    return t;
}

/*  The same ETag, weak marks and quotes aside. */
static bool
s_same_etag (const char *a, const char *b)
{
    size_t na, nb;
    a = s_etag_core (a, &na);
    b = s_etag_core (b, &nb);
    return na == nb && memcmp (a, b, na) == 0;
}

void
tl_http_req_seen (tl_http_seen_t *s, const char *line, size_t n)
{
    if (n > 5 && strncmp (line, "HTTP/", 5) == 0) {
        s->first = s->total = -1;
        s->etag [0] = 0;
    }
    tl_http_content_range (line, n, &s->first, &s->total);
    tl_http_etag (line, n, s->etag, sizeof s->etag);
}

int
tl_http_req_check (const tl_http_req_t *r, CURL *c, long status, uint64_t from, const tl_http_seen_t *s,
                   tl_err_t *e)
{
    char now [300];
    if (r->size) {
        int64_t total = s->total;   /* a 206's; a 200's is its whole body's length */
        curl_off_t cl = -1;
        if (status == 200 && curl_easy_getinfo (c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
            total = (int64_t) cl;
        if (status != 200 && status != 206)
            total = -1;
        if (total >= 0 && (uint64_t) total != r->size) {
            snprintf (now, sizeof now, "%lld bytes", (long long) total);
            return s_changed (r, now, e);
        }
    }
    /* A server that ignores If-Match still names what it sends. */
    if (r->if_match && *r->if_match && *s->etag && !s_same_etag (s->etag, r->if_match)) {
        snprintf (now, sizeof now, "ETag %s", s->etag);
        return s_changed (r, now, e);
    }
    curl_off_t ft = -1;
    if (r->last_modified && curl_easy_getinfo (c, CURLINFO_FILETIME_T, &ft) == CURLE_OK && ft >= 0
        && (int64_t) ft != r->last_modified) {
        snprintf (now, sizeof now, "Last-Modified %lld", (long long) ft);
        return s_changed (r, now, e);
    }
    if (status == 206 && s->first != (int64_t) from) {
        if (s->first < 0)
            return tl_err_set (e, TL_EPROTO, 0, "%s: HTTP 206 without a Content-Range (asked for bytes from %llu)",
                               r->what, (unsigned long long) from);
        return tl_err_set (e, TL_EPROTO, 0, "%s: asked for bytes from %llu, the server sent bytes from %lld "
                           "(Content-Range): not counting bytes from another place", r->what,
                           (unsigned long long) from, (long long) s->first);
    }
    return 0;
}

int
tl_http_req_check_empty (const tl_http_req_t *r, CURL *c, long status, uint64_t from, const tl_http_seen_t *s,
                         tl_err_t *e)
{
    int rc = tl_http_req_check (r, c, status, from, s, e);
    if (rc == 0 && status == 200 && r->size)
        rc = s_changed (r, "an empty body", e);
    return rc;
}
