/*  sigv4.c — AWS Signature V4.

    canonical request = METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH
    string to sign    = "AWS4-HMAC-SHA256" \n DATE \n SCOPE \n hex(sha256(canonical request))
    signing key       = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request"

    We sign host, x-amz-content-sha256, x-amz-date, x-amz-security-token (if any) and the
    caller's extra headers. Headers are sorted by lowercase name; values are trimmed and inner
    runs of spaces squeezed, as the spec asks. */
#include "lib/aws/sigv4.h"
#include "lib/base/err.h"
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
tl_uri_encode (const char *s, int keep_slash)
{
    size_t n = strlen (s);
    char *out = malloc (3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (isalnum (*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/'))
            *o++ = (char) *p;
        else
            o += sprintf (o, "%%%02X", *p);
    }
    *o = 0;
    return out;
}

void
tl_sha256_hex (const void *data, size_t len, char out [65])
{
    unsigned char md [SHA256_DIGEST_LENGTH];
    SHA256 (data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf (out + 2 * i, "%02x", md [i]);
}

typedef struct {
    char *k, *v;
} s_pair_t;

static int
s_pair_cmp (const void *a, const void *b)
{
    const s_pair_t *x = a, *y = b;
    int c = strcmp (x->k, y->k);
    return c ? c : strcmp (x->v, y->v);
}

/*  A growable string; on allocation failure `fail` is set and appends do nothing. */
typedef struct {
    char *s;
    size_t len, cap;
    int fail;
} s_buf_t;

static void
s_put (s_buf_t *b, const char *s, size_t n)
{
    if (b->fail)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc (b->s, cap);
        if (!ns) {
            b->fail = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy (b->s + b->len, s, n);
    b->len += n;
    b->s [b->len] = 0;
}

static void
s_puts (s_buf_t *b, const char *s)
{
    s_put (b, s, strlen (s));
}

static char *
s_finish (s_buf_t *b)
{
    if (b->fail || !b->s) {
        free (b->s);
        return b->fail ? NULL : strdup ("");
    }
    return b->s;
}

char *
tl_sigv4_canonical_query (const tl_kv_t *query, size_t n)
{
    s_pair_t *pairs = calloc (n ? n : 1, sizeof *pairs);
    s_buf_t b = { 0 };
    if (!pairs)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        pairs [i].k = tl_uri_encode (query [i].name, 0);
        pairs [i].v = tl_uri_encode (query [i].value ? query [i].value : "", 0);
        if (!pairs [i].k || !pairs [i].v)
            b.fail = 1;
    }
    if (!b.fail) {
        qsort (pairs, n, sizeof *pairs, s_pair_cmp);
        for (size_t i = 0; i < n; i++) {
            if (i)
                s_puts (&b, "&");
            s_puts (&b, pairs [i].k);
            s_puts (&b, "=");
            s_puts (&b, pairs [i].v);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free (pairs [i].k);
        free (pairs [i].v);
    }
    free (pairs);
    return s_finish (&b);
}

/*  Lowercase name, trimmed value with inner whitespace runs squeezed to one space. */
static void
s_norm_header (const char *name, const char *value, s_pair_t *out)
{
    out->k = strdup (name);
    if (out->k)
        for (char *p = out->k; *p; p++)
            *p = (char) tolower ((unsigned char) *p);
    out->v = malloc (strlen (value) + 1);
    if (out->v) {
        char *o = out->v;
        const char *p = value;
        while (*p == ' ' || *p == '\t')
            p++;
        while (*p) {
            if (*p == ' ' || *p == '\t') {
                while (*p == ' ' || *p == '\t')
                    p++;
                if (*p)
                    *o++ = ' ';
            }
            else
                *o++ = *p++;
        }
        *o = 0;
    }
}

/*  Canonical request; also returns the signed-headers list in *signed_out (caller frees). */
static char *
s_canonical (const tl_sigv4_req_t *r, char **signed_out)
{
    size_t nh = r->n_headers + 4;
    s_pair_t *h = calloc (nh, sizeof *h);
    s_buf_t b = { 0 }, sh = { 0 };
    char *uri = NULL, *query = NULL;
    if (!h)
        return NULL;
    size_t k = 0;
    s_norm_header ("host", r->host, &h [k++]);
    if (!r->presign)
        s_norm_header ("x-amz-content-sha256", r->payload_hash, &h [k++]);
    if (!r->presign)
        s_norm_header ("x-amz-date", r->amz_date, &h [k++]);
    if (!r->presign && r->session_token && *r->session_token)
        s_norm_header ("x-amz-security-token", r->session_token, &h [k++]);
    for (size_t i = 0; i < r->n_headers; i++)
        s_norm_header (r->headers [i].name, r->headers [i].value, &h [k++]);
    for (size_t i = 0; i < k; i++)
        if (!h [i].k || !h [i].v)
            b.fail = 1;
    uri = tl_uri_encode (r->path && *r->path ? r->path : "/", 1);
    query = tl_sigv4_canonical_query (r->query, r->n_query);
    if (!uri || !query)
        b.fail = 1;
    if (!b.fail) {
        qsort (h, k, sizeof *h, s_pair_cmp);
        s_puts (&b, r->method);
        s_puts (&b, "\n");
        s_puts (&b, uri);
        s_puts (&b, "\n");
        s_puts (&b, query);
        s_puts (&b, "\n");
        for (size_t i = 0; i < k; i++) {
            s_puts (&b, h [i].k);
            s_puts (&b, ":");
            s_puts (&b, h [i].v);
            s_puts (&b, "\n");
            if (i)
                s_puts (&sh, ";");
            s_puts (&sh, h [i].k);
        }
        s_puts (&b, "\n");
        s_puts (&b, sh.s ? sh.s : "");
        s_puts (&b, "\n");
        s_puts (&b, r->payload_hash);
    }
    for (size_t i = 0; i < k; i++) {
        free (h [i].k);
        free (h [i].v);
    }
    free (h);
    free (uri);
    free (query);
    char *out = s_finish (&b);
    char *signed_headers = s_finish (&sh);
    if (!out || !signed_headers) {
        free (out);
        free (signed_headers);
        return NULL;
    }
    if (signed_out)
        *signed_out = signed_headers;
    else
        free (signed_headers);
    return out;
}

char *
tl_sigv4_canonical_request (const tl_sigv4_req_t *r)
{
    return s_canonical (r, NULL);
}

static void
s_hmac (const void *key, size_t klen, const char *msg, unsigned char out [32])
{
    unsigned int n = 32;
    HMAC (EVP_sha256 (), key, (int) klen, (const unsigned char *) msg, strlen (msg), out, &n);
}

/*  The hex signature of r into hex, its scope into scope and its signed headers (caller frees). */
static int
s_sign (const tl_sigv4_req_t *r, char hex [65], char scope [256], char **signed_out)
{
    if (!r->amz_date || strlen (r->amz_date) != 16 || !r->access_key || !r->secret_key || !r->region
        || !r->service || !r->method || !r->host || !r->payload_hash)
        return TL_EINVAL;
    char *signed_headers = NULL;
    char *creq = s_canonical (r, &signed_headers);
    if (!creq)
        return TL_ENOMEM;
    char date [9];
    memcpy (date, r->amz_date, 8);
    date [8] = 0;
    snprintf (scope, 256, "%s/%s/%s/aws4_request", date, r->region, r->service);
    char chash [65];
    tl_sha256_hex (creq, strlen (creq), chash);
    char sts [512];
    snprintf (sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, chash);

    char ksecret [256];
    snprintf (ksecret, sizeof ksecret, "AWS4%s", r->secret_key);
    unsigned char k1 [32], k2 [32], k3 [32], k4 [32], sig [32];
    s_hmac (ksecret, strlen (ksecret), date, k1);
    s_hmac (k1, 32, r->region, k2);
    s_hmac (k2, 32, r->service, k3);
    s_hmac (k3, 32, "aws4_request", k4);
    s_hmac (k4, 32, sts, sig);
    for (int i = 0; i < 32; i++)
        sprintf (hex + 2 * i, "%02x", sig [i]);
    free (creq);
    *signed_out = signed_headers;
    /* Wipe key material from the stack. */
    OPENSSL_cleanse (ksecret, sizeof ksecret);
    OPENSSL_cleanse (k1, 32);
    OPENSSL_cleanse (k4, 32);
    return 0;
}

int
tl_sigv4_authorization (const tl_sigv4_req_t *r, char *auth, size_t authlen)
{
    char hex [65], scope [256];
    char *signed_headers = NULL;
    int rc = s_sign (r, hex, scope, &signed_headers);
    if (rc != 0)
        return rc;
    int n = snprintf (auth, authlen, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                      r->access_key, scope, signed_headers, hex);
    free (signed_headers);
    return n > 0 && (size_t) n < authlen ? 0 : TL_EINVAL;
}

char *
tl_sigv4_presign (const tl_sigv4_req_t *r, unsigned expires)
{
    if (!r->amz_date || strlen (r->amz_date) != 16 || !r->access_key || !r->region || !r->service)
        return NULL;
    size_t nq = r->n_query + 7;
    tl_kv_t *q = calloc (nq, sizeof *q);
    if (!q)
        return NULL;
    char cred [512], exp [16];
    snprintf (cred, sizeof cred, "%s/%.8s/%s/%s/aws4_request", r->access_key, r->amz_date, r->region, r->service);
    snprintf (exp, sizeof exp, "%u", expires);
    size_t k = 0;
    for (size_t i = 0; i < r->n_query; i++)
        q [k++] = r->query [i];
    q [k++] = (tl_kv_t) { "X-Amz-Algorithm", "AWS4-HMAC-SHA256" };
    q [k++] = (tl_kv_t) { "X-Amz-Credential", cred };
    q [k++] = (tl_kv_t) { "X-Amz-Date", r->amz_date };
    q [k++] = (tl_kv_t) { "X-Amz-Expires", exp };
    if (r->session_token && *r->session_token)
        q [k++] = (tl_kv_t) { "X-Amz-Security-Token", r->session_token };
    q [k++] = (tl_kv_t) { "X-Amz-SignedHeaders", "host" };
    tl_sigv4_req_t p = *r;
    p.presign = 1;
    p.query = q;
    p.n_query = k;
    p.payload_hash = "UNSIGNED-PAYLOAD";
    p.headers = NULL;
    p.n_headers = 0;
    char hex [65], scope [256];
    char *signed_headers = NULL;
    char *out = NULL;
    if (s_sign (&p, hex, scope, &signed_headers) == 0) {
        free (signed_headers);
        q [k++] = (tl_kv_t) { "X-Amz-Signature", hex };
        out = tl_sigv4_canonical_query (q, k);
    }
    free (q);
    return out;
}
