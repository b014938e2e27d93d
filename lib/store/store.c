/*  store.c — backend dispatch and the object list. */
#include "lib/store/store.h"
#include "lib/aws/creds.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const tl_store_ops_t *
tl_store_for (const char *uri)
{
    if (strncmp (uri, "s3://", 5) == 0)
        return &tl_store_s3;
    if (strncmp (uri, "http://", 7) == 0 || strncmp (uri, "https://", 8) == 0)
        return &tl_store_http;
    if (strncmp (uri, "file://", 7) == 0 || !strstr (uri, "://"))
        return &tl_store_file;
    return NULL;
}

int
tl_store_list (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e)
{
    const tl_store_ops_t *ops = tl_store_for (uri);
    if (!ops)
        return tl_err_set (e, TL_EINVAL, 0, "%s: unsupported scheme (use s3://, http(s)://, file:// or a path)", uri);
    return ops->list (cfg, uri, out, e);
}

/*  Is this an S3 key named in full (no glob, not a "folder")? Listing it as a prefix and
    finding nothing is S3's way of saying 404. */
static bool
s_s3_exact (const char *uri)
{
    size_t n = strlen (uri);
    const char *key = strncmp (uri, "s3://", 5) == 0 ? strchr (uri + 5, '/') : NULL;
    return key && key [1] && uri [n - 1] != '/' && !strpbrk (key, "*?[");
}

int
tl_store_list_input (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e)
{
    size_t before = out->n, empties = out->skipped_empty;
    int rc = tl_store_list (cfg, uri, out, e);
    if (rc || out->n != before || out->skipped_empty != empties)
        return rc;
    if (s_s3_exact (uri))
        return tl_err_set (e, TL_ENOTFOUND, 0, "%s: not found (no object or prefix of that name; no objects to count)",
                           uri);
    return tl_err_set (e, TL_ENOTFOUND, 0, "%s: matches no objects (an empty folder or prefix, or a glob that "
                       "matches nothing)", uri);
}

int
tl_store_read (const tl_store_cfg_t *cfg, const char *uri, uint64_t offset, uint64_t length,
               tl_sink_fn sink, void *arg, const volatile int *cancel, tl_read_stats_t *st, tl_err_t *e)
{
    const tl_store_ops_t *ops = tl_store_for (uri);
    if (!ops)
        return tl_err_set (e, TL_EINVAL, 0, "%s: unsupported scheme", uri);
    return ops->read (cfg, uri, offset, length, sink, arg, cancel, st, e);
}

int
tl_objlist_push (tl_objlist_t *l, const char *uri, uint64_t size)
{
    return tl_objlist_push_version (l, uri, size, NULL, 0);
}

int
tl_objlist_push_version (tl_objlist_t *l, const char *uri, uint64_t size, const char *etag, int64_t mtime_ns)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        tl_object_t *v = realloc (l->v, cap * sizeof *v);
        if (!v)
            return TL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    tl_object_t *o = &l->v [l->n];
    memset (o, 0, sizeof *o);
    if (!(o->uri = strdup (uri)))
        return TL_ENOMEM;
    if (etag && !(o->etag = strdup (etag))) {
        free (o->uri);
        return TL_ENOMEM;
    }
    o->size = size;
    o->mtime_ns = mtime_ns;
    l->n++;
    return 0;
}

void
tl_objlist_free (tl_objlist_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free (l->v [i].uri);
        free (l->v [i].etag);
    }
    free (l->v);
    memset (l, 0, sizeof *l);
}

void
tl_store_cfg_from_env (tl_store_cfg_t *cfg)
{
    const char *v;
    if (!cfg->endpoint && (v = getenv ("AWS_ENDPOINT_URL_S3")) && *v)
        cfg->endpoint = v;
    if (!cfg->endpoint && (v = getenv ("AWS_ENDPOINT_URL")) && *v)
        cfg->endpoint = v;
    if (!cfg->region && (v = getenv ("AWS_REGION")) && *v)
        cfg->region = v;
    if (!cfg->region && (v = getenv ("AWS_DEFAULT_REGION")) && *v)
        cfg->region = v;
    static __thread char config_region [64];
    if (!cfg->region && tl_config_region (config_region, sizeof config_region) == 0)
        cfg->region = config_region;
    if (!cfg->region)
        cfg->region = "us-east-1";
}

/*  A local file by identity: which object, and the file it names. */
typedef struct {
    dev_t dev;
    ino_t ino;
    size_t i;
    const char *uri;            /* not a local file: known by its URI */
} s_fileid_t;

static int
s_idcmp (const void *a, const void *b)
{
    const s_fileid_t *x = a, *y = b;
    if (!x->uri != !y->uri)
        return x->uri ? 1 : -1;
    if (x->uri) {
        int c = strcmp (x->uri, y->uri);
        if (c)
            return c;
    }
    else if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int
tl_objlist_dedup_files (tl_objlist_t *l, void (*dup) (void *arg, const char *gone, const char *kept), void *arg)
{
    if (l->n < 2)
        return 0;
    s_fileid_t *ids = malloc (l->n * sizeof *ids);
    bool *drop = calloc (l->n, sizeof *drop);
    if (!ids || !drop) {
        free (ids);
        free (drop);
        return TL_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct stat st;
        const char *u = l->v [i].uri;
        if (tl_store_for (u) != &tl_store_file)
            ids [n++] = (s_fileid_t) { 0, 0, i, u };
        else if (stat (strncmp (u, "file://", 7) == 0 ? u + 7 : u, &st) == 0)
            ids [n++] = (s_fileid_t) { st.st_dev, st.st_ino, i, NULL };
    }
    if (n)
        qsort (ids, n, sizeof *ids, s_idcmp);
    for (size_t k = 1, first = 0; k < n; k++) {
        const s_fileid_t *x = &ids [k], *y = &ids [first];
        bool same = x->uri ? y->uri && strcmp (x->uri, y->uri) == 0 : !y->uri && x->dev == y->dev && x->ino == y->ino;
        if (!same) {
            first = k;      /* a run of one file, sorted by index: its first name stays */
            continue;
        }
        drop [ids [k].i] = true;
        if (dup)
            dup (arg, l->v [ids [k].i].uri, l->v [ids [first].i].uri);
    }
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (drop [i]) {
            free (l->v [i].uri);
            free (l->v [i].etag);
            continue;
        }
        l->v [w++] = l->v [i];
    }
    l->n = w;
    free (ids);
    free (drop);
    return 0;
}
