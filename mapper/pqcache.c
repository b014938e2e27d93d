/*  pqcache.c — see pqcache.h. A list, newest first, under one mutex: a lookup is a linear scan
    of at most max_entries, nothing next to a ranged GET. */
#include "mapper/pqcache.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_entry {
    struct s_entry *next;
    char *uri, *etag;
    uint64_t size;
    int64_t mtime_ns;
    tl_pq_meta_t *meta;
    int refs;
    int cached;             /* 1 while in the list; 0 once evicted (freed at the last release) */
} s_entry_t;

struct tl_pqcache {
    pthread_mutex_t lock;
    s_entry_t *list;        /* cached, newest first */
    s_entry_t *gone;        /* evicted while in use */
    size_t n, bytes, max_entries, max_bytes;
};

static void
s_free (s_entry_t *en)
{
    free (en->uri);
    free (en->etag);
    tl_pq_meta_destroy (&en->meta);
    free (en);
}

tl_pqcache_t *
tl_pqcache_new (size_t max_entries, size_t max_bytes)
{
    tl_pqcache_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    self->max_entries = max_entries ? max_entries : 1;
    self->max_bytes = max_bytes;
    return self;
}

void
tl_pqcache_destroy (tl_pqcache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_pqcache_t *self = *self_p;
    for (s_entry_t *l [2] = { self->list, self->gone }, **p = l; p < l + 2; p++)
        while (*p) {
            s_entry_t *n = (*p)->next;
            s_free (*p);
            *p = n;
        }
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static tl_pqcache_t *s_shared;

static void
s_make_shared (void)
{
    s_shared = tl_pqcache_new (64, 64u << 20);
}

tl_pqcache_t *
tl_pqcache_shared (void)
{
    pthread_once (&s_once, s_make_shared);
    return s_shared;
}

static int
s_same (const s_entry_t *en, const char *uri, uint64_t size, const char *etag, int64_t mtime_ns)
{
    return en->size == size && en->mtime_ns == mtime_ns && strcmp (en->uri, uri) == 0
           && strcmp (en->etag ? en->etag : "", etag ? etag : "") == 0;
}

const tl_pq_meta_t *
tl_pqcache_get (tl_pqcache_t *self, const char *uri, uint64_t size, const char *etag, int64_t mtime_ns)
{
    const tl_pq_meta_t *m = NULL;
    if (!self)
        return NULL;
    pthread_mutex_lock (&self->lock);
    for (s_entry_t *en = self->list; en && !m; en = en->next)
        if (s_same (en, uri, size, etag, mtime_ns)) {
            en->refs++;
            m = en->meta;
        }
    pthread_mutex_unlock (&self->lock);
    return m;
}

/*  Drop the oldest entries past the bounds (under the lock). */
static void
s_evict (tl_pqcache_t *self)
{
    while (self->list && self->list->next && (self->n > self->max_entries || self->bytes > self->max_bytes)) {
        s_entry_t **p = &self->list;
        while ((*p)->next)
            p = &(*p)->next;
        s_entry_t *old = *p;
        *p = NULL;
        self->n--;
        self->bytes -= old->meta->buf_len;
        old->cached = 0;
        if (old->refs) {
            old->next = self->gone;
            self->gone = old;
        }
        else
            s_free (old);
    }
}

const tl_pq_meta_t *
tl_pqcache_put (tl_pqcache_t *self, const char *uri, uint64_t size, const char *etag, int64_t mtime_ns,
                tl_pq_meta_t **meta_p)
{
    const tl_pq_meta_t *m = tl_pqcache_get (self, uri, size, etag, mtime_ns);
    s_entry_t *en = m ? NULL : calloc (1, sizeof *en);
    if (m || !en || !(en->uri = strdup (uri)) || (etag && !(en->etag = strdup (etag)))) {
        if (en) {
            free (en->uri);
            free (en);
        }
        tl_pq_meta_destroy (meta_p);
        return m;
    }
    en->size = size;
    en->mtime_ns = mtime_ns;
    en->meta = *meta_p;
    *meta_p = NULL;
    en->refs = 1;
    en->cached = 1;
    pthread_mutex_lock (&self->lock);
    en->next = self->list;
    self->list = en;
    self->n++;
    self->bytes += en->meta->buf_len;
    s_evict (self);
    pthread_mutex_unlock (&self->lock);
    return en->meta;
}

void
tl_pqcache_release (tl_pqcache_t *self, const tl_pq_meta_t *meta)
{
    if (!self || !meta)
        return;
    pthread_mutex_lock (&self->lock);
    for (s_entry_t **l [2] = { &self->list, &self->gone }, ***pp = l; pp < l + 2; pp++)
        for (s_entry_t **p = *pp; *p; p = &(*p)->next)
            if ((*p)->meta == meta) {
                s_entry_t *en = *p;
                en->refs--;
                if (!en->cached && en->refs == 0) {
                    *p = en->next;
                    s_free (en);
                }
                pthread_mutex_unlock (&self->lock);
                return;
            }
    pthread_mutex_unlock (&self->lock);
}
