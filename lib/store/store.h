/*  store.h — where objects come from: a small vtable with three backends.

      file   local paths and file:// URIs (a file, or every regular file under a folder)
      http   http:// and https:// single objects
      s3     s3://bucket/prefix, listed with ListObjectsV2; a glob is allowed in the last segment

    Reads are streamed into a sink, so memory stays bounded whatever the object size. A broken
    HTTP body is resumed with Range from the last byte received, so a sink never sees a byte
    twice. A read may name the version of the object it expects, as listed (size_hint, if_match,
    expect_mtime_ns): if the object changed since, the read fails with TL_ECHANGED. */
#ifndef TL_STORE_H
#define TL_STORE_H
#include "lib/base/err.h"
#include "lib/base/sink.h"
#include <stdbool.h>
#include <stdint.h>

/*  Options that say how to reach storage. Strings are borrowed. */
typedef struct {
    const char *endpoint;   /* S3 endpoint URL (path-style); NULL for AWS */
    const char *region;     /* NULL: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1 */
    bool nosign;            /* anonymous S3 requests */
    int max_attempts;       /* HTTP attempts per request; 0 means the default (6) */
    uint64_t rate_limit;    /* bytes/s per read, 0 for none */
    uint64_t range_size;    /* HTTP/S3: ranged GETs of this size (default 8 MiB; 0 here means default) */
    int concurrency;        /* HTTP/S3: ranged GETs in flight per read (default 4) */
    uint64_t size_hint;     /* the object's size when the caller knows it (0: unknown); a read that
                               finds another size fails with TL_ECHANGED */
    const char *if_match;   /* s3, http: the ETag the object had when listed, sent as If-Match
                               (NULL: none); a 412 fails the read with TL_ECHANGED */
    int64_t expect_mtime_ns;    /* file: the mtime it had when listed (0: none); checked before
                                   and after the read, TL_ECHANGED if it moved. http without an
                                   ETag: its Last-Modified, which every reply must match */
} tl_store_cfg_t;

typedef struct {
    char *uri;              /* owned */
    uint64_t size;
    char *etag;             /* owned, may be NULL: s3's ETag from the listing (quotes kept, as S3
                               sends it), http's from the HEAD */
    int64_t mtime_ns;       /* file: st_mtim in ns; http without an ETag: Last-Modified; 0 if unknown */
} tl_object_t;

typedef struct {
    tl_object_t *v;
    size_t n, cap;
    size_t skipped_empty;   /* zero-byte objects ("folders") left out */
    size_t skipped_special; /* in a folder: pipes, sockets and devices left out (no size to cut by) */
} tl_objlist_t;

typedef struct {
    const char *name;
    int (*list) (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e);
    int (*read) (const tl_store_cfg_t *cfg, const char *uri, uint64_t offset, uint64_t length,
                 tl_sink_fn sink, void *arg, const volatile int *cancel, tl_read_stats_t *st, tl_err_t *e);
} tl_store_ops_t;

extern const tl_store_ops_t tl_store_file;
extern const tl_store_ops_t tl_store_http;
extern const tl_store_ops_t tl_store_s3;

/*  The backend for a URI, chosen by scheme (no scheme means a local path). */
const tl_store_ops_t *tl_store_for (const char *uri);
/*  List uri's objects, appended to out. */
int tl_store_list (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e);
/*  The same for one of a job's inputs: one that lists no object (an S3 key that is not there;
    a glob, prefix or folder that matches nothing) is TL_ENOTFOUND, saying which, as missing as
    a key, so that a typo in one of several inputs never leaves its objects out without a word.
    (A prefix of only empty folder objects is not an error.) */
int tl_store_list_input (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e);
/*  Stream bytes [offset, offset+length) of uri into sink; length UINT64_MAX means to the end. */
int tl_store_read (const tl_store_cfg_t *cfg, const char *uri, uint64_t offset, uint64_t length,
                   tl_sink_fn sink, void *arg, const volatile int *cancel, tl_read_stats_t *st, tl_err_t *e);
int tl_objlist_push (tl_objlist_t *l, const char *uri, uint64_t size);
/*  The same with what identifies this version of the object (etag copied; NULL for none). */
int tl_objlist_push_version (tl_objlist_t *l, const char *uri, uint64_t size, const char *etag, int64_t mtime_ns);
/*  Drop the objects that name one already in the list: the same URI, or a local file under
    another name (./x and x, /abs/x, dd//x, a symlink or a hard link: the same device and inode).
    The first name stays, the order is kept; dup (if set) hears of each one dropped. 0, or
    TL_ENOMEM (the list unchanged). */
int tl_objlist_dedup_files (tl_objlist_t *l, void (*dup) (void *arg, const char *gone, const char *kept), void *arg);
/*  Free every uri and etag, and the list itself (left empty). */
void tl_objlist_free (tl_objlist_t *l);
/*  Apply S3 endpoint/region defaults from the environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
    AWS_REGION, AWS_DEFAULT_REGION) where cfg leaves them unset. */
void tl_store_cfg_from_env (tl_store_cfg_t *cfg);
#endif
