/*  creds.c — the credential chain (see creds.h). INI files are read with inih, the IMDS
    reply with jansson, and IMDS is reached with libcurl with short timeouts (1 s to connect):
    off EC2 there is nobody at that address, and we must not hang there. */
#include "lib/aws/creds.h"
#include "lib/base/log.h"
#include <curl/curl.h>
#include <ini.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static tl_creds_t s_cached;
static int s_have;

void
tl_creds_key_hint (const tl_creds_t *c, char out [16])
{
    size_t n = strlen (c->access_key);
    if (n >= 8)
        snprintf (out, 16, "%.4s...%s", c->access_key, c->access_key + n - 4);
    else
        snprintf (out, 16, "(short key)");
}

/* ------------------------------------------------------------------ files */

typedef struct {
    const char *want;       /* section name wanted */
    tl_creds_t *c;
    char region [64];
    int found;
} s_ini_t;

static int
s_ini_handler (void *user, const char *section, const char *name, const char *value)
{
    s_ini_t *s = user;
    if (strcmp (section, s->want) != 0)
        return 1;
    if (strcmp (name, "aws_access_key_id") == 0)
        snprintf (s->c->access_key, sizeof s->c->access_key, "%s", value);
    else if (strcmp (name, "aws_secret_access_key") == 0)
        snprintf (s->c->secret_key, sizeof s->c->secret_key, "%s", value);
    else if (strcmp (name, "aws_session_token") == 0)
        snprintf (s->c->session_token, sizeof s->c->session_token, "%s", value);
    else if (strcmp (name, "region") == 0)
        snprintf (s->region, sizeof s->region, "%s", value);
    s->found = 1;
    return 1;
}

static int
s_parse_section (const char *path, const char *section, tl_creds_t *c, char *region, size_t rlen)
{
    if (!path)
        return -1;
    s_ini_t s = { .want = section, .c = c };
    if (ini_parse (path, s_ini_handler, &s) < 0)
        return -1;      /* missing file: not an error, just not this link of the chain */
    if (region && *s.region)
        snprintf (region, rlen, "%s", s.region);
    return s.found ? 0 : -1;
}

static const char *
s_profile (void)
{
    const char *p = getenv ("AWS_PROFILE");
    return p && *p ? p : "default";
}

static void
s_default_path (char *out, size_t n, const char *env, const char *file)
{
    const char *v = getenv (env);
    if (v && *v) {
        snprintf (out, n, "%s", v);
        return;
    }
    const char *home = getenv ("HOME");
    snprintf (out, n, "%s/.aws/%s", home ? home : "", file);
}

int
tl_creds_from_files (const char *creds_path, const char *config_path, const char *profile, tl_creds_t *c)
{
    memset (c, 0, sizeof *c);
    if (s_parse_section (creds_path, profile, c, NULL, 0) == 0 && *c->access_key && *c->secret_key) {
        snprintf (c->source, sizeof c->source, "profile %s in %s", profile, creds_path);
        return 0;
    }
    memset (c, 0, sizeof *c);
    char section [200];
    if (strcmp (profile, "default") == 0)
        snprintf (section, sizeof section, "default");
    else
        snprintf (section, sizeof section, "profile %s", profile);
    if (s_parse_section (config_path, section, c, NULL, 0) == 0 && *c->access_key && *c->secret_key) {
        snprintf (c->source, sizeof c->source, "profile %s in %s", profile, config_path);
        return 0;
    }
    memset (c, 0, sizeof *c);
    return -1;
}

int
tl_config_region (char *out, size_t outlen)
{
    char path [4096], section [200];
    s_default_path (path, sizeof path, "AWS_CONFIG_FILE", "config");
    const char *profile = s_profile ();
    if (strcmp (profile, "default") == 0)
        snprintf (section, sizeof section, "default");
    else
        snprintf (section, sizeof section, "profile %s", profile);
    tl_creds_t scratch;
    char region [64] = "";
    memset (&scratch, 0, sizeof scratch);
    s_parse_section (path, section, &scratch, region, sizeof region);
    if (!*region)
        return -1;
    snprintf (out, outlen, "%s", region);
    return 0;
}

/* ------------------------------------------------------------------ IMDSv2 */

int
tl_creds_from_imds_json (const char *json, size_t len, tl_creds_t *c, tl_err_t *e)
{
    memset (c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_loadb (json, len, 0, &je);
    if (!root || !json_is_object (root)) {
        json_decref (root);
        return tl_err_set (e, TL_EAUTH, 1, "instance role credentials: the reply is not a JSON object");
    }
    const char *ak = json_string_value (json_object_get (root, "AccessKeyId"));
    const char *sk = json_string_value (json_object_get (root, "SecretAccessKey"));
    const char *tk = json_string_value (json_object_get (root, "Token"));
    const char *ex = json_string_value (json_object_get (root, "Expiration"));
    int rc = 0;
    if (!ak || !sk || strlen (ak) >= sizeof c->access_key || strlen (sk) >= sizeof c->secret_key
        || (tk && strlen (tk) >= sizeof c->session_token))
        rc = tl_err_set (e, TL_EAUTH, 1, "instance role credentials: AccessKeyId or SecretAccessKey missing");
    else {
        snprintf (c->access_key, sizeof c->access_key, "%s", ak);
        snprintf (c->secret_key, sizeof c->secret_key, "%s", sk);
        if (tk)
            snprintf (c->session_token, sizeof c->session_token, "%s", tk);
        if (ex) {
            struct tm tm;
            memset (&tm, 0, sizeof tm);
            if (strptime (ex, "%Y-%m-%dT%H:%M:%S", &tm))
                c->expires = (int64_t) timegm (&tm);
        }
    }
    json_decref (root);
    return rc;
}

typedef struct {
    char buf [16384];
    size_t len;
} s_body_t;

static size_t
s_body (char *p, size_t size, size_t n, void *ud)
{
    s_body_t *b = ud;
    size_t take = size * n;
    if (b->len + take >= sizeof b->buf)
        return 0;
    memcpy (b->buf + b->len, p, take);
    b->len += take;
    b->buf [b->len] = 0;
    return take;
}

/*  One IMDS request. Returns the HTTP status (0 on a transport failure). */
static long
s_imds (const char *method, const char *url, const char *header, s_body_t *body)
{
    CURL *c = curl_easy_init ();
    if (!c)
        return 0;
    struct curl_slist *h = header ? curl_slist_append (NULL, header) : NULL;
    body->len = 0;
    body->buf [0] = 0;
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp (method, "PUT") == 0) {
        curl_easy_setopt (c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_body);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_NOPROXY, "*");
    long status = 0;
    if (curl_easy_perform (c) == CURLE_OK)
        curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all (h);
    curl_easy_cleanup (c);
    return status;
}

static int
s_from_imds (tl_creds_t *c, tl_err_t *e)
{
    const char *ep = getenv ("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char base [512];
    snprintf (base, sizeof base, "%s", ep && *ep ? ep : "http://169.254.169.254");
    size_t n = strlen (base);
    while (n && base [n - 1] == '/')
        base [--n] = 0;
    char url [1024], hdr [256];
    s_body_t *b = malloc (sizeof *b);
    if (!b)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    int rc = 0;
    snprintf (url, sizeof url, "%s/latest/api/token", base);
    long st = s_imds ("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", b);
    if (st != 200 || !b->len || b->len > 200) {
        rc = tl_err_set (e, TL_EAUTH, st == 0, "no instance metadata service at %s (%s)", base,
                         st ? "token request refused" : "no answer");
        goto done;
    }
    snprintf (hdr, sizeof hdr, "X-aws-ec2-metadata-token: %.*s", (int) b->len, b->buf);
    snprintf (url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", base);
    st = s_imds ("GET", url, hdr, b);
    char role [256];
    snprintf (role, sizeof role, "%s", b->buf);
    role [strcspn (role, "\r\n")] = 0;
    if (st != 200 || !*role) {
        rc = tl_err_set (e, TL_EAUTH, 0, "the instance at %s has no IAM role (HTTP %ld)", base, st);
        goto done;
    }
    snprintf (url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    st = s_imds ("GET", url, hdr, b);
    if (st != 200) {
        rc = tl_err_set (e, TL_EAUTH, 1, "credentials of role %s: HTTP %ld from %s", role, st, base);
        goto done;
    }
    if ((rc = tl_creds_from_imds_json (b->buf, b->len, c, e)) == 0)
        snprintf (c->source, sizeof c->source, "instance role %s (IMDSv2 at %s)", role, base);
done:
    free (b);
    return rc;
}

/* ------------------------------------------------------------------ chain */

static int
s_load (tl_creds_t *c, tl_err_t *e)
{
    memset (c, 0, sizeof *c);
    const char *ak = getenv ("AWS_ACCESS_KEY_ID");
    const char *sk = getenv ("AWS_SECRET_ACCESS_KEY");
    const char *tk = getenv ("AWS_SESSION_TOKEN");
    if (ak && *ak && sk && *sk) {
        if (strlen (ak) >= sizeof c->access_key || strlen (sk) >= sizeof c->secret_key
            || (tk && strlen (tk) >= sizeof c->session_token))
            return tl_err_set (e, TL_EAUTH, 0, "AWS credentials in the environment are too long");
        snprintf (c->access_key, sizeof c->access_key, "%s", ak);
        snprintf (c->secret_key, sizeof c->secret_key, "%s", sk);
        if (tk)
            snprintf (c->session_token, sizeof c->session_token, "%s", tk);
        snprintf (c->source, sizeof c->source, "environment");
        return 0;
    }
    char cpath [4096], fpath [4096];
    s_default_path (cpath, sizeof cpath, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    s_default_path (fpath, sizeof fpath, "AWS_CONFIG_FILE", "config");
    if (tl_creds_from_files (cpath, fpath, s_profile (), c) == 0)
        return 0;
    const char *off = getenv ("AWS_EC2_METADATA_DISABLED");
    char why [400] = "instance metadata disabled (AWS_EC2_METADATA_DISABLED)";
    if (!(off && strcasecmp (off, "true") == 0)) {
        tl_err_t ie;
        if (s_from_imds (c, &ie) == 0)
            return 0;
        snprintf (why, sizeof why, "%s", ie.msg);
    }
    return tl_err_set (e, TL_EAUTH, 0,
                       "no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), "
                       "none for profile '%s' in %s or %s, and %s; or pass --no-sign-request for a public bucket",
                       s_profile (), cpath, fpath, why);
}

int
tl_creds_get (tl_creds_t *c, tl_err_t *e)
{
    pthread_mutex_lock (&s_lock);
    int64_t now = (int64_t) time (NULL);
    int rc = 0;
    if (!s_have || (s_cached.expires && s_cached.expires - now < 300)) {
        tl_creds_t fresh;
        rc = s_load (&fresh, e);
        if (rc == 0) {
            char hint [16];
            tl_creds_key_hint (&fresh, hint);
            tl_log (TL_LOG_INFO, "AWS credentials from %s (key %s%s)", fresh.source, hint,
                    fresh.expires ? ", temporary" : "");
            s_cached = fresh;
            s_have = 1;
        }
        else if (s_have && s_cached.expires > now)
            rc = 0;     /* refresh failed, but what we have is still valid: use it, try again later */
    }
    if (rc == 0)
        *c = s_cached;
    pthread_mutex_unlock (&s_lock);
    return rc;
}
