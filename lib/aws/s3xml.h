/*  s3xml.h — S3's XML replies, parsed with expat: ListObjectsV2 pages and error documents. */
#ifndef TL_S3XML_H
#define TL_S3XML_H
#include "lib/base/err.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *key;      /* owned */
    uint64_t size;
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
#endif
