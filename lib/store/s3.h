/*  s3.h — what only the s3 backend does: object writes, for `tally provision` staging (PUT a
    small body, DELETE) and a presigned GET URL. Reads and listings go through store.h. */
#ifndef TL_STORE_S3_H
#define TL_STORE_S3_H
#include "lib/store/store.h"

/*  PUT len bytes at data to uri (s3://bucket/key). */
int tl_s3_put (const tl_store_cfg_t *cfg, const char *uri, const void *data, size_t len, tl_err_t *e);
/*  DELETE uri. */
int tl_s3_delete (const tl_store_cfg_t *cfg, const char *uri, tl_err_t *e);
/*  A presigned GET URL for uri valid for `expires` seconds (caller frees; NULL with e set on
    error). */
char *tl_s3_presign (const tl_store_cfg_t *cfg, const char *uri, unsigned expires, tl_err_t *e);
#endif
