/*  ec2_api.c — see ec2_api.h. */
#include "provision/ec2_api.h"
#include "lib/aws/creds.h"
#include "lib/aws/http.h"
#include "lib/aws/s3xml.h"
#include "lib/base/url.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_VERSION "2016-11-15"

int
tl_ec2_init (tl_ec2_t *c, const char *endpoint_url, const char *region, tl_err_t *e)
{
    memset (c, 0, sizeof *c);
    char cfg_region [64] = "";
    if (!region || !*region)
        region = getenv ("AWS_REGION");
    if (!region || !*region)
        region = getenv ("AWS_DEFAULT_REGION");
    if ((!region || !*region) && tl_config_region (cfg_region, sizeof cfg_region) == 0)
        region = cfg_region;
    snprintf (c->region, sizeof c->region, "%s", region && *region ? region : "us-east-1");
    if (!endpoint_url || !*endpoint_url)
        endpoint_url = getenv ("AWS_ENDPOINT_URL_EC2");
    if (!endpoint_url || !*endpoint_url)
        endpoint_url = getenv ("AWS_ENDPOINT_URL");
    if (endpoint_url && *endpoint_url)
        snprintf (c->endpoint, sizeof c->endpoint, "%s", endpoint_url);
    else
        snprintf (c->endpoint, sizeof c->endpoint, "https://ec2.%s.amazonaws.com", c->region);
    tl_url_t u;
    if (tl_url_split_endpoint (c->endpoint, &u) != 0)
        return tl_err_set (e, TL_EINVAL, 0, "EC2 endpoint '%s' is not a URL (want http://host:port)", c->endpoint);
    if (*u.path)
        return tl_err_set (e, TL_EINVAL, 0, "EC2 endpoint '%s%s' must not have a path", u.origin, u.path);
    snprintf (c->endpoint, sizeof c->endpoint, "%s", u.origin);
    snprintf (c->host, sizeof c->host, "%s", u.host);
    return 0;
}

char *
tl_ec2_body (const char *action, const tl_kv_t *params, size_t n)
{
    tl_kv_t *all = calloc (n + 2, sizeof *all);
    if (!all)
        return NULL;
    all [0] = (tl_kv_t) { "Action", action };
    all [1] = (tl_kv_t) { "Version", S_VERSION };
    memcpy (all + 2, params, n * sizeof *params);
    char *body = tl_sigv4_canonical_query (all, n + 2);
    free (all);
    return body;
}

typedef struct {
    const tl_ec2_t *c;
    const char *body;
    tl_creds_t creds;
} s_call_t;

static struct curl_slist *
s_headers (void *arg, const char *method, const char *range, tl_err_t *e)
{
    (void) range;
    s_call_t *k = arg;
    if (tl_creds_get (&k->creds, e) != 0)
        return NULL;
    char date [20];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    char hash [65];
    tl_sha256_hex (k->body, strlen (k->body), hash);
    tl_kv_t ct [1] = { { "content-type", "application/x-www-form-urlencoded; charset=utf-8" } };
    tl_sigv4_req_t r = {
        .method = method, .host = k->c->host, .path = "/", .headers = ct, .n_headers = 1, .payload_hash = hash,
        .amz_date = date, .region = k->c->region, .service = "ec2", .access_key = k->creds.access_key,
        .secret_key = k->creds.secret_key, .session_token = k->creds.session_token,
    };
    char auth [1024], line [4200];
    if (tl_sigv4_authorization (&r, auth, sizeof auth) != 0) {
        tl_err_set (e, TL_EAUTH, 0, "EC2: could not sign the request");
        return NULL;
    }
    struct curl_slist *h = NULL;
    snprintf (line, sizeof line, "Authorization: %s", auth);
    h = curl_slist_append (h, line);
    snprintf (line, sizeof line, "x-amz-date: %s", date);
    h = curl_slist_append (h, line);
    snprintf (line, sizeof line, "x-amz-content-sha256: %s", hash);
    h = curl_slist_append (h, line);
    h = curl_slist_append (h, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    if (*k->creds.session_token) {
        snprintf (line, sizeof line, "x-amz-security-token: %s", k->creds.session_token);
        h = curl_slist_append (h, line);
    }
    return h;
}

int
tl_ec2_call (const tl_ec2_t *c, const char *action, const tl_kv_t *params, size_t n, tl_xml_t **reply,
             tl_err_t *e)
{
    *reply = NULL;
    char *body = tl_ec2_body (action, params, n);
    if (!body)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    s_call_t *k = calloc (1, sizeof *k);
    if (!k) {
        free (body);
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    }
    k->c = c;
    k->body = body;
    char what [600], url [600];
    snprintf (what, sizeof what, "EC2 %s at %s", action, c->endpoint);
    snprintf (url, sizeof url, "%s/", c->endpoint);
    /* Error bodies read as S3's (Code and Message at the top): EC2's own form nests them deeper
       and is read below; an InternalError at the top is retried like S3's. */
    tl_http_req_t r = { .url = url, .what = what, .headers = s_headers, .headers_arg = k, .body = body,
                        .body_len = strlen (body), .max_attempts = 4, .explain = tl_s3xml_explain };
    tl_http_reply_t res;
    int rc = tl_http_fetch (&r, "POST", true, 16 * 1024 * 1024, &res, e);
    char *out = res.body;
    size_t len = res.len;
    long status = res.status;
    if (rc == 0) {
        tl_err_t xe = { 0 };
        tl_xml_t *x = tl_xml_parse (out, len, &xe);
        if (status >= 200 && status <= 299 && x)
            *reply = x;
        else {
            /* <Response><Errors><Error><Code>…</Code><Message>…</Message> */
            const char *code = x ? tl_xml_text (x, "Errors/Error/Code") : "";
            const char *msg = x ? tl_xml_text (x, "Errors/Error/Message") : "";
            if (!*code && x) {
                code = tl_xml_text (x, "Code");
                msg = tl_xml_text (x, "Message");
            }
            if (*code)
                rc = tl_err_set (e, status == 401 || status == 403 ? TL_EAUTH : TL_EIO, 0, "EC2 %s: %s: %s", action,
                                 code, msg);
            else if (status >= 200 && status <= 299)
                rc = tl_err_set (e, TL_EPROTO, 0, "EC2 %s: %s", action, xe.msg);
            else
                rc = tl_err_set (e, TL_EIO, 0, "EC2 %s: HTTP %ld", action, status);
            tl_xml_destroy (&x);
        }
    }
    free (out);
    free (body);
    free (k);
    return rc;
}

void
tl_ec2_iso_time (time_t t, char out [32])
{
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*  "2026-11-25T07:36:08.000Z" or "2026-11-25 07:39:12" -> unix seconds; 0 if unparsable. */
time_t
tl_ec2_parse_time (const char *s)
{
    struct tm tm = { 0 };
    if (sscanf (s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm (&tm);
}
