/*  http_req.c — see http_req.h. */
#include "lib/aws/http_req.h"
#include "lib/base/util.h"
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

int
tl_http_req_resized (const tl_http_req_t *r, int64_t total, tl_err_t *e)
{
    char now [64];
    snprintf (now, sizeof now, "%lld bytes", (long long) total);
    return s_changed (r, now, e);
}

int64_t
tl_http_req_total (CURL *c, long status, int64_t content_range_total)
{
    if (status == 206)
        return content_range_total;
    curl_off_t cl = -1;
    if (status == 200 && curl_easy_getinfo (c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
        return (int64_t) cl;
    return -1;
}
