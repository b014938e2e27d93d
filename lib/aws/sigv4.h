/*  sigv4.h — AWS Signature Version 4, computed with OpenSSL (HMAC-SHA256, SHA-256).

    Pure: the date is passed in, nothing is read from the environment. Names and values in
    the request are raw (not percent-encoded); the signer encodes them the way S3 expects
    (RFC 3986 unreserved characters kept, '/' kept in the path, no double encoding). */
#ifndef TL_SIGV4_H
#define TL_SIGV4_H
#include <stddef.h>

typedef struct {
    const char *name;
    const char *value;
} tl_kv_t;

typedef struct {
    const char *method;         /* "GET" */
    const char *host;           /* Host header value, with ":port" when the URL has one */
    const char *path;           /* raw path, starting with '/' */
    const tl_kv_t *query;       /* raw query parameters (value NULL means "name=") */
    size_t n_query;
    const tl_kv_t *headers;     /* extra headers to sign, e.g. range (any case) */
    size_t n_headers;
    const char *payload_hash;   /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;       /* "20130524T000000Z" */
    const char *region;
    const char *service;        /* "s3", "ec2" */
    const char *access_key;
    const char *secret_key;
    const char *session_token;  /* NULL if none; signed as x-amz-security-token */
    int presign;                /* tl_sigv4_presign: only host is signed, no x-amz-* headers */
} tl_sigv4_req_t;

/*  Percent-encode s (RFC 3986 unreserved kept; '/' kept if keep_slash). Caller frees. */
char *tl_uri_encode (const char *s, int keep_slash);
/*  Hex SHA-256 of data into out[65]. */
void tl_sha256_hex (const void *data, size_t len, char out [65]);
/*  The canonical query string for r (sorted, encoded). Caller frees. */
char *tl_sigv4_canonical_query (const tl_kv_t *query, size_t n);
/*  The canonical request text (for tests and debugging). Caller frees. */
char *tl_sigv4_canonical_request (const tl_sigv4_req_t *r);
/*  Compute the Authorization header value into auth. Returns 0 or TL_EINVAL / TL_ENOMEM. */
int tl_sigv4_authorization (const tl_sigv4_req_t *r, char *auth, size_t authlen);
/*  A presigned URL's query string (query authentication): r's query plus X-Amz-Algorithm,
    -Credential, -Date, -Expires (seconds), -SignedHeaders=host, -Security-Token if any and
    -Signature, encoded and sorted. The payload is UNSIGNED-PAYLOAD. Caller frees; NULL on error. */
char *tl_sigv4_presign (const tl_sigv4_req_t *r, unsigned expires);
#endif
