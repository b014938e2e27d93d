/*  colcache.c — see colcache.h. A ring of COLCACHE_MAX entries under one mutex: a lookup is a
    linear scan, which is nothing next to the read of a range. */
#include "mapper/colcache.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define COLCACHE_MAX 256
/*  Header lines by object: ranges of one object need its header, which lies in another range. */
struct tl_colcache {
    pthread_mutex_t lock;
    char *uris [COLCACHE_MAX];
    char *versions [COLCACHE_MAX];
    char *lines [COLCACHE_MAX];
    size_t lens [COLCACHE_MAX];
    uint64_t ats [COLCACHE_MAX];
    size_t next;
};

tl_colcache_t *
tl_colcache_new (void)
{
    tl_colcache_t *self = calloc (1, sizeof *self);
    if (self)
        pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
tl_colcache_destroy (tl_colcache_t **self_p)
{
    if (self_p && *self_p) {
        for (size_t i = 0; i < COLCACHE_MAX; i++) {
            free ((*self_p)->uris [i]);
            free ((*self_p)->versions [i]);
            free ((*self_p)->lines [i]);
        }
        pthread_mutex_destroy (&(*self_p)->lock);
        free (*self_p);
        *self_p = NULL;
    }
}

char *
tl_colcache_get (tl_colcache_t *self, const char *uri, const char *version, size_t *len, uint64_t *at)
{
    char *line = NULL;
    if (!self)
        return NULL;
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < COLCACHE_MAX && !line; i++)
        if (self->uris [i] && strcmp (self->uris [i], uri) == 0 && strcmp (self->versions [i], version) == 0
            && (line = malloc (self->lens [i] + 1))) {
            memcpy (line, self->lines [i], self->lens [i]);
            line [self->lens [i]] = 0;
            *len = self->lens [i];
            *at = self->ats [i];
        }
    pthread_mutex_unlock (&self->lock);
    return line;
}

void
tl_colcache_put (tl_colcache_t *self, const char *uri, const char *version, const char *line, size_t len,
                 uint64_t at)
{
    char *u = self ? strdup (uri) : NULL, *v = self ? strdup (version) : NULL, *l = self ? malloc (len + 1) : NULL;
    if (!u || !v || !l) {
        free (u);
        free (v);
        free (l);
        return;
    }
    memcpy (l, line, len);
    l [len] = 0;
    pthread_mutex_lock (&self->lock);
    free (self->uris [self->next]);
    free (self->versions [self->next]);
    free (self->lines [self->next]);
    self->uris [self->next] = u;
    self->versions [self->next] = v;
    self->lines [self->next] = l;
    self->lens [self->next] = len;
    self->ats [self->next] = at;
    self->next = (self->next + 1) % COLCACHE_MAX;
    pthread_mutex_unlock (&self->lock);
}
