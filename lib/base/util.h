/*  util.h — small helpers for the shells: clocks, ids, numbers. Not used by the pure core. */
#ifndef TL_UTIL_H
#define TL_UTIL_H
#include <stdint.h>

/*  Microseconds and milliseconds on a monotonic clock. */
int64_t tl_now_us (void);
int64_t tl_now_ms (void);
/*  For a process that decodes and frees big messages all the time (reducer, mapper, watch):
    keep freed memory in the heap instead of handing it back to the kernel, so that the next
    message reuses warm pages. Each fresh page costs a fault and its zeroing, and on a VM more
    (at 6 M groups a watcher took 2.7 page faults per resident page; 1 after). The heap then
    stays at its peak until the process ends. */
void tl_malloc_keep (void);
/*  A random 16-hex-digit id into out[17]. */
void tl_random_id (char out [17]);
/*  Parse "123", "64M", "1G", "8k" (binary multiples) into *v. Returns 0 or TL_EINVAL. */
int tl_parse_size (const char *s, uint64_t *v);
/*  Parse a non-negative integer in [min, max]. Returns 0 or TL_EINVAL. */
int tl_parse_uint (const char *s, uint64_t min, uint64_t max, uint64_t *v);
/*  Write buf to dir/name atomically: write dir/name.tmp, fsync, rename, fsync the folder.
    Returns 0 or TL_EIO with e filled. */
#include "lib/base/err.h"
#include <stddef.h>
int tl_write_atomic (const char *dir, const char *name, const void *buf, size_t len, tl_err_t *e);
/*  Read a whole file of at most max bytes into a new buffer. TL_ENOTFOUND if it does not exist. */
int tl_read_file (const char *path, char **buf, size_t *len, size_t max, tl_err_t *e);
/*  Fill e with TL_ECHANGED (not retryable) for an object that is not what was listed, and return
    the code: "object changed since it was listed: URI (was SIZE bytes, TAG, now NOW)". size 0
    and tag "" or NULL are left out; tag is e.g. `ETag "abc"`, now e.g. "HTTP 412 Precondition
    Failed" or "1048577 bytes". */
int tl_object_changed (tl_err_t *e, const char *uri, uint64_t size, const char *tag, const char *now);
/*  Create a folder (and its parents) if missing. */
int tl_mkdirs (const char *path, tl_err_t *e);
/*  Counts repeats of a text in `seen` (a czmq zhash, borrowed) and returns how many times it was
    seen before this call: 0 the first time. A job can fail every task with the same message (a
    column missing from an object that is cut into 100 ranges); the first is worth a log line at
    its level, the repeats only at debug. The set forgets everything once it holds 4,096 texts. */
struct _zhash_t;
uint64_t tl_seen_before (struct _zhash_t *seen, const char *text);
#endif
