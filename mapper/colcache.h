/*  colcache.h — the mapper's cache of header lines. */
#ifndef TL_COLCACHE_H
#define TL_COLCACHE_H
#include <stddef.h>
#include <stdint.h>

/*  The mapper's cache of header lines, keyed by object and its version (as listed: size, mtime,
    ETag), so that the header of an object cut into many ranges is read once per mapper, not
    once per range, and a mapper that stays for the next job (--stay) never reads an object
    written since with the old one's header. Thread-safe; small (the oldest entries are
    dropped). */
typedef struct tl_colcache tl_colcache_t;
tl_colcache_t *tl_colcache_new (void);
void tl_colcache_destroy (tl_colcache_t **self_p);
/*  A copy of the cached header line (caller frees; *len its length, *at where it starts in the
    object), or NULL. */
char *tl_colcache_get (tl_colcache_t *self, const char *uri, const char *version, size_t *len, uint64_t *at);
void tl_colcache_put (tl_colcache_t *self, const char *uri, const char *version, const char *line, size_t len,
                      uint64_t at);
#endif
