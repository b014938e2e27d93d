/*  s3xml.h — S3's XML replies, parsed with expat: ListObjectsV2 pages and error documents. */
#ifndef TL_S3XML_H
#define TL_S3XML_H
#include "lib/aws/retry.h"
#include "lib/base/err.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *key;      /* owned */
    uint64_t size;
    char *etag;     /* owned, with the quotes S3 sends; NULL if the listing had none */
} tl_s3_entry_t;

typedef struct {
    tl_s3_entry_t *v;
    size_t n;
    int truncated;
    char *next_token;   /* owned; NULL when not truncated */
} tl_s3_page_t;

/*  Parse one ListObjectsV2 page. TL_EPROTO on malformed XML or a document that is not a
    ListBucketResult. */
int tl_s3xml_list (const char *xml, size_t len, tl_s3_page_t *page, tl_err_t *e);
void tl_s3xml_page_free (tl_s3_page_t *page);
/*  Pull Code and Message from an <Error> document. Leaves them empty if absent. */
void tl_s3xml_error (const char *xml, size_t len, char *code, size_t codelen, char *msg, size_t msglen);
/*  An S3 error reply for the HTTP engine (a tl_http_explain_fn): Code and Message, and whether
    the code asks for a retry (SlowDown, RequestTimeout, InternalError). */
void tl_s3xml_explain (const char *body, size_t len, tl_http_error_t *out);
/*  Describe an S3 error reply: "HTTP 404 NoSuchKey: The specified key does not exist." */
void tl_s3xml_describe (long status, const char *body, size_t len, char *out, size_t outlen);
#endif
