/*  pqcache.h — the mapper's cache of parsed Parquet footers.

    Every task over a Parquet object needs the object's footer, and an object cut into several
    tasks would otherwise fetch and parse it once per task. The cache keeps parsed footers by
    object and version (URI, size, ETag, mtime), so a second task of the same object on this
    mapper reads no footer at all. It is bounded (entries and footer bytes); the oldest go
    first. Entries are reference-counted: a footer in use by a slot stays alive after it is
    evicted, until the slot releases it. Thread-safe.

    One cache per process (tl_pqcache_shared), because the slots of a mapper and `tally scan`
    reach work.c through the same entry point; it lives until the process ends. */
#ifndef TL_PQCACHE_H
#define TL_PQCACHE_H
#include "lib/core/parquet/meta.h"
#include <stdint.h>

typedef struct tl_pqcache tl_pqcache_t;

tl_pqcache_t *tl_pqcache_new (size_t max_entries, size_t max_bytes);
void tl_pqcache_destroy (tl_pqcache_t **self_p);
/*  The process's cache (created on first use). */
tl_pqcache_t *tl_pqcache_shared (void);
/*  A reference to the footer of this version of uri, or NULL. Release it when done. */
const tl_pq_meta_t *tl_pqcache_get (tl_pqcache_t *self, const char *uri, uint64_t size, const char *etag,
                                    int64_t mtime_ns);
/*  Add a footer (consumed: *meta_p is set to NULL) and return a reference to it (or to the
    equal entry another slot put first). NULL only when out of memory (the footer is freed). */
const tl_pq_meta_t *tl_pqcache_put (tl_pqcache_t *self, const char *uri, uint64_t size, const char *etag,
                                    int64_t mtime_ns, tl_pq_meta_t **meta_p);
/*  Give a reference back (NULL is fine). */
void tl_pqcache_release (tl_pqcache_t *self, const tl_pq_meta_t *meta);
#endif
