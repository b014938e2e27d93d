/*  store/s3.c — S3 over HTTP: ListObjectsV2 with continuation tokens, GETs with Range,
    signed with SigV4 (lib/aws/sigv4.c) or anonymous with nosign.

    Addressing: with a custom endpoint (--endpoint-url, AWS_ENDPOINT_URL[_S3]) we use path
    style, {endpoint}/{bucket}/{key}, which every emulator understands. On AWS we use virtual
    hosts, https://{bucket}.s3.{region}.amazonaws.com/{key}, except for bucket names with dots
    (their certificates do not match), which go path style. */
#include "lib/aws/creds.h"
#include "lib/aws/http.h"
#include "lib/aws/s3xml.h"
#include "lib/aws/sigv4.h"
#include "lib/base/url.h"
#include "lib/store/s3.h"
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char bucket [256];
    char key [2048];        /* raw key or prefix */
    char origin [1024];     /* scheme://host[:port] */
    char host [512];        /* Host header */
    char path [4096];       /* raw path to sign: /bucket/key or /key */
    const tl_store_cfg_t *cfg;
    tl_creds_t creds;
    const tl_kv_t *query;
    size_t n_query;
    char payload_hash [65];     /* of the request body; empty means no body */
} s_s3_t;

static int
s_parse (const tl_store_cfg_t *cfg, const char *uri, s_s3_t *s, tl_err_t *e)
{
    memset (s, 0, sizeof *s);
    s->cfg = cfg;
    const char *p = uri + 5;
    const char *slash = strchr (p, '/');
    size_t blen = slash ? (size_t) (slash - p) : strlen (p);
    if (blen == 0 || blen >= sizeof s->bucket)
        return tl_err_set (e, TL_EINVAL, 0, "%s: not a valid s3://bucket/key URI", uri);
    memcpy (s->bucket, p, blen);
    snprintf (s->key, sizeof s->key, "%s", slash ? slash + 1 : "");
    const char *region = cfg && cfg->region ? cfg->region : "us-east-1";
    if (cfg && cfg->endpoint) {
        tl_url_t u;
        if (tl_url_split_endpoint (cfg->endpoint, &u) != 0)
            return tl_err_set (e, TL_EINVAL, 0, "endpoint '%s' is not a URL (want http://host:port)", cfg->endpoint);
        snprintf (s->origin, sizeof s->origin, "%s", u.origin);
        snprintf (s->host, sizeof s->host, "%s", u.host);
        snprintf (s->path, sizeof s->path, "%s/%s/%s", u.path, s->bucket, s->key);
    }
    else if (strchr (s->bucket, '.')) {
        snprintf (s->host, sizeof s->host, "s3.%s.amazonaws.com", region);
        snprintf (s->origin, sizeof s->origin, "https://%s", s->host);
        snprintf (s->path, sizeof s->path, "/%s/%s", s->bucket, s->key);
    }
    else {
        snprintf (s->host, sizeof s->host, "%s.s3.%s.amazonaws.com", s->bucket, region);
        snprintf (s->origin, sizeof s->origin, "https://%s", s->host);
        snprintf (s->path, sizeof s->path, "/%s", s->key);
    }
    if (!(cfg && cfg->nosign))
        return tl_creds_get (&s->creds, e);
    return 0;
}

/*  The URL for s->path (origin, then the path encoded) plus an optional query. */
static char *
s_url (const s_s3_t *s, const char *query)
{
    char *enc = tl_uri_encode (s->path, 1);
    if (!enc)
        return NULL;
    size_t n = strlen (s->origin) + strlen (enc) + (query ? strlen (query) + 1 : 0) + 1;
    char *url = malloc (n);
    if (url)
        snprintf (url, n, "%s%s%s%s", s->origin, enc, query && *query ? "?" : "", query ? query : "");
    free (enc);
    return url;
}

static struct curl_slist *
s_headers (void *arg, const char *method, const char *range, tl_err_t *e)
{
    s_s3_t *s = arg;
    struct curl_slist *h = NULL;
    char line [4096];
    if (range) {
        snprintf (line, sizeof line, "Range: %s", range);
        h = curl_slist_append (h, line);
    }
    if (s->cfg && s->cfg->nosign) {
        /* curl sends no headers list at all if empty: give it a harmless one. */
        return h ? h : curl_slist_append (NULL, "Accept: */*");
    }
    /* Fresh for every attempt: instance-role credentials expire and are refreshed. */
    if (tl_creds_get (&s->creds, e) != 0) {
        curl_slist_free_all (h);
        return NULL;
    }
    char date [20];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    const char *empty = *s->payload_hash ? s->payload_hash
                                         : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    tl_kv_t extra [1] = { { "range", range } };
    tl_sigv4_req_t r = {
        .method = method, .host = s->host, .path = s->path, .query = s->query, .n_query = s->n_query,
        .headers = extra, .n_headers = range ? 1 : 0, .payload_hash = empty, .amz_date = date,
        .region = s->cfg && s->cfg->region ? s->cfg->region : "us-east-1", .service = "s3",
        .access_key = s->creds.access_key, .secret_key = s->creds.secret_key,
        .session_token = s->creds.session_token,
    };
    char auth [1024];
    if (tl_sigv4_authorization (&r, auth, sizeof auth) != 0) {
        curl_slist_free_all (h);
        tl_err_set (e, TL_EAUTH, 0, "s3://%s/%s: could not sign the request", s->bucket, s->key);
        return NULL;
    }
    snprintf (line, sizeof line, "Authorization: %s", auth);
    h = curl_slist_append (h, line);
    if (*s->payload_hash)   /* a body of bytes, not a form (servers may parse forms away) */
        h = curl_slist_append (h, "Content-Type: application/octet-stream");
    snprintf (line, sizeof line, "x-amz-date: %s", date);
    h = curl_slist_append (h, line);
    snprintf (line, sizeof line, "x-amz-content-sha256: %s", empty);
    h = curl_slist_append (h, line);
    if (*s->creds.session_token) {
        snprintf (line, sizeof line, "x-amz-security-token: %s", s->creds.session_token);
        h = curl_slist_append (h, line);
    }
    return h;
}

static int
s_list (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e)
{
    s_s3_t *s = malloc (sizeof *s);
    if (!s)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    int rc = s_parse (cfg, uri, s, e);
    if (rc)
        goto done;
    /* A glob in the last segment: list its literal prefix, then match. */
    char pattern [2048] = "";
    char prefix [2048];
    snprintf (prefix, sizeof prefix, "%s", s->key);
    const char *last = strrchr (s->key, '/');
    last = last ? last + 1 : s->key;
    size_t g = strcspn (last, "*?[");
    if (last [g]) {
        snprintf (pattern, sizeof pattern, "%s", s->key);
        prefix [(last - s->key) + g] = 0;
    }
    /* The request path is the bucket root. */
    char keep [2048];
    snprintf (keep, sizeof keep, "%s", s->key);
    s->key [0] = 0;
    char *slash = strrchr (s->path, '/');
    size_t keylen = strlen (keep);
    if (slash && strlen (s->path) >= keylen)
        s->path [strlen (s->path) - keylen] = 0;
    char token [2048] = "";
    size_t pages = 0, before = out->n, before_empty = out->skipped_empty;
    bool empty_hit = false;     /* the key named in full is an empty object */
    do {
        tl_kv_t q [3] = { { "list-type", "2" }, { "prefix", prefix }, { "continuation-token", token } };
        s->query = q;
        s->n_query = *token ? 3 : 2;
        char *qs = tl_sigv4_canonical_query (q, s->n_query);
        char *url = qs ? s_url (s, qs) : NULL;
        free (qs);
        if (!url) {
            rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
            goto done;
        }
        char what [2400];
        snprintf (what, sizeof what, "listing s3://%s/%s at %s", s->bucket, prefix, s->host);
        tl_http_req_t r = { .url = url, .what = what, .headers = s_headers, .headers_arg = s,
                            .explain = tl_s3xml_explain, .max_attempts = cfg ? cfg->max_attempts : 0 };
        tl_http_reply_t reply;
        rc = tl_http_fetch (&r, "GET", true, 64 << 20, &reply, e);
        free (url);
        if (rc)
            goto done;
        char *body = reply.body;
        size_t blen = reply.len;
        long status = reply.status;
        if (status != 200) {
            char desc [512];
            tl_s3xml_describe (status, body, blen, desc, sizeof desc);
            rc = tl_err_set (e, status == 404 ? TL_ENOTFOUND : (status == 403 || status == 401) ? TL_EAUTH : TL_EHTTP,
                             0, "%s: %s", what, desc);
            free (body);
            goto done;
        }
        tl_s3_page_t page;
        rc = tl_s3xml_list (body, blen, &page, e);
        free (body);
        if (rc)
            goto done;
        for (size_t i = 0; i < page.n && !rc; i++) {
            const char *k = page.v [i].key;
            if (*pattern && fnmatch (pattern, k, FNM_PATHNAME) != 0 && strcmp (k, keep) != 0)
                continue;   /* (a key spelled as the pattern is kept: see below) */
            if (page.v [i].size == 0) {
                out->skipped_empty++;   /* "folder" objects such as "trip data/" */
                empty_hit |= strcmp (k, keep) == 0;
                continue;
            }
            char full [2400];
            snprintf (full, sizeof full, "s3://%s/%s", s->bucket, k);
            if (tl_objlist_push_version (out, full, page.v [i].size, page.v [i].etag, 0))
                rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        }
        token [0] = 0;
        if (page.truncated && strlen (page.next_token) < sizeof token)     /* tl_s3xml_list: set */
            snprintf (token, sizeof token, "%s", page.next_token);
        else if (page.truncated && !rc)     /* stopping here would leave the later pages out */
            rc = tl_err_set (e, TL_EPROTO, 0, "%s: the continuation token after page %zu is over %zu bytes",
                             what, pages + 1, sizeof token - 1);
        tl_s3xml_page_free (&page);
        pages++;
    } while (*token && !rc);
    /* A key named in full that is an object is that object alone, not a prefix: s3://b/d/x.csv
       must not count d/x.csv.gz and d/x.csv.bak too, even when d/x.csv is empty (then there is
       nothing to count). A key that is no object stays a prefix. The same for a glob that is
       itself the name of an object, as a local path is (rt14: s3://b/g/[x].csv counted g/x.csv
       instead of the object g/[x].csv, and s3://b/g/a*b.csv counted g/aXb.csv beside it). */
    if (!rc && keylen && keep [keylen - 1] != '/') {
        char full [2400];
        snprintf (full, sizeof full, "s3://%s/%s", s->bucket, keep);
        size_t hit = out->n;
        for (size_t i = before; i < out->n && hit == out->n; i++)
            if (strcmp (out->v [i].uri, full) == 0)
                hit = i;
        bool found = hit < out->n;
        if (found || empty_hit) {   /* an empty object named in full is that object alone too */
            for (size_t i = before; i < out->n; i++)
                if (i != hit) {
                    free (out->v [i].uri);
                    free (out->v [i].etag);
                }
            if (found)
                out->v [before] = out->v [hit];
            out->n = before + found;
            out->skipped_empty = before_empty + !found;
        }
    }
done:
    free (s);
    return rc;
}

static int
s_read (const tl_store_cfg_t *cfg, const char *uri, uint64_t offset, uint64_t length, tl_sink_fn sink,
        void *arg, const volatile int *cancel, tl_read_stats_t *st, tl_err_t *e)
{
    s_s3_t *s = malloc (sizeof *s);
    if (!s)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    int rc = s_parse (cfg, uri, s, e);
    char *url = NULL;
    if (!rc && !(url = s_url (s, NULL)))
        rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    if (!rc) {
        char what [2400], name [2400];
        snprintf (what, sizeof what, "s3://%s/%s (host %s)", s->bucket, s->key, s->host);
        snprintf (name, sizeof name, "s3://%s/%s", s->bucket, s->key);
        tl_http_req_t r = { .url = url, .what = what, .uri = name, .headers = s_headers, .headers_arg = s,
                            .explain = tl_s3xml_explain, .cancel = cancel, .if_match = cfg ? cfg->if_match : NULL,
                            .stats = st, .max_attempts = cfg ? cfg->max_attempts : 0,
                            .rate_limit = cfg ? cfg->rate_limit : 0,
                            .size = cfg ? cfg->size_hint : 0,
                            .range_size = cfg && cfg->size_hint ? (cfg->range_size ? cfg->range_size : 8ULL << 20) : 0,
                            .concurrency = cfg ? cfg->concurrency : 0 };
        rc = tl_http_stream (&r, offset, length, sink, arg, e);
    }
    free (url);
    free (s);
    return rc;
}

const tl_store_ops_t tl_store_s3 = { .name = "s3", .list = s_list, .read = s_read };

/*  A small request on one object (PUT with a body, DELETE): the reply status checked. */
static int
s_object_request (const tl_store_cfg_t *cfg, const char *uri, const char *method, const void *data, size_t len,
                  tl_err_t *e)
{
    s_s3_t *s = malloc (sizeof *s);
    if (!s)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    int rc = s_parse (cfg, uri, s, e);
    char *url = NULL, *body = NULL;
    if (rc == 0 && !*s->key)
        rc = tl_err_set (e, TL_EINVAL, 0, "%s: no key", uri);
    if (rc == 0 && !(url = s_url (s, NULL)))
        rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    if (rc == 0) {
        if (data)
            tl_sha256_hex (data, len, s->payload_hash);
        tl_http_req_t r = { .url = url, .what = uri, .headers = s_headers, .headers_arg = s,
                            .explain = tl_s3xml_explain, .max_attempts = cfg ? cfg->max_attempts : 0,
                            .body = data ? data : "", .body_len = data ? len : 0 };
        tl_http_reply_t reply;
        rc = tl_http_fetch (&r, method, true, 64 * 1024, &reply, e);
        body = reply.body;
        long status = reply.status;
        if (rc == 0 && (status < 200 || status > 299)) {
            char desc [512];
            tl_s3xml_describe (status, body, reply.len, desc, sizeof desc);
            rc = tl_err_set (e, status == 403 ? TL_EAUTH : TL_EIO, 0, "%s %s: %s", method, uri, desc);
        }
    }
    free (body);
    free (url);
    free (s);
    return rc;
}

int
tl_s3_put (const tl_store_cfg_t *cfg, const char *uri, const void *data, size_t len, tl_err_t *e)
{
    return s_object_request (cfg, uri, "PUT", data, len, e);
}

int
tl_s3_delete (const tl_store_cfg_t *cfg, const char *uri, tl_err_t *e)
{
    return s_object_request (cfg, uri, "DELETE", NULL, 0, e);
}

char *
tl_s3_presign (const tl_store_cfg_t *cfg, const char *uri, unsigned expires, tl_err_t *e)
{
    s_s3_t *s = malloc (sizeof *s);
    if (!s) {
        tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        return NULL;
    }
    char *out = NULL;
    if (s_parse (cfg, uri, s, e) == 0) {
        char date [20];
        time_t now = time (NULL);
        struct tm tm;
        gmtime_r (&now, &tm);
        strftime (date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
        tl_sigv4_req_t r = {
            .method = "GET", .host = s->host, .path = s->path, .amz_date = date,
            .region = cfg && cfg->region ? cfg->region : "us-east-1", .service = "s3",
            .access_key = s->creds.access_key, .secret_key = s->creds.secret_key,
            .session_token = s->creds.session_token,
        };
        char *q = tl_sigv4_presign (&r, expires);
        out = q ? s_url (s, q) : NULL;
        free (q);
        if (!out)
            tl_err_set (e, TL_ENOMEM, 0, "%s: could not presign", uri);
    }
    free (s);
    return out;
}
