/*  store/http.c — one object behind an http(s) URL. Its size comes from a HEAD request. */
#include "lib/aws/http.h"
#include "lib/store/store.h"
#include <string.h>

static int
s_list (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e)
{
    tl_http_req_t r = { .url = uri, .what = uri, .max_attempts = cfg ? cfg->max_attempts : 0 };
    long status = 0;
    long long cl = -1;
    int rc = tl_http_fetch (&r, "HEAD", NULL, NULL, &status, &cl, 0, e);
    if (rc)
        return rc;
    if (status < 200 || status > 299)
        return tl_err_set (e, status == 404 ? TL_ENOTFOUND : TL_EHTTP, 0, "%s: HEAD answered HTTP %ld", uri, status);
    if (cl < 0)
        return tl_err_set (e, TL_EHTTP, 0, "%s: HEAD gave no Content-Length", uri);
    if (cl == 0) {
        out->skipped_empty++;
        return 0;
    }
    if (tl_objlist_push (out, uri, (uint64_t) cl))
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    return 0;
}

static int
s_read (const tl_store_cfg_t *cfg, const char *uri, uint64_t offset, uint64_t length, tl_sink_fn sink,
        void *arg, const volatile int *cancel, tl_read_stats_t *st, tl_err_t *e)
{
    tl_http_req_t r = { .url = uri, .what = uri, .cancel = cancel, .stats = st,
                        .max_attempts = cfg ? cfg->max_attempts : 0, .rate_limit = cfg ? cfg->rate_limit : 0,
                            .size = cfg ? cfg->size_hint : 0,
                            .range_size = cfg && cfg->size_hint ? (cfg->range_size ? cfg->range_size : 8ULL << 20) : 0,
                            .concurrency = cfg ? cfg->concurrency : 0 };
    return tl_http_stream (&r, offset, length, sink, arg, e);
}

const tl_store_ops_t tl_store_http = { .name = "http", .list = s_list, .read = s_read };
