/*  store/http.c — one object behind an http(s) URL. Its size and version come from a HEAD
    request: the ETag, or where the server sends none its Last-Modified (kept as the object's
    mtime, in ns), which every read then checks. A server that sends neither leaves only the
    size to check: that is said once a process, as a warning naming the first such URL. */
#include "lib/aws/http.h"
#include "lib/base/log.h"
#include "lib/store/store.h"
#include <string.h>

static int
s_list (const tl_store_cfg_t *cfg, const char *uri, tl_objlist_t *out, tl_err_t *e)
{
    tl_http_req_t r = { .url = uri, .what = uri, .max_attempts = cfg ? cfg->max_attempts : 0 };
    tl_http_reply_t reply;
    int rc = tl_http_fetch (&r, "HEAD", false, 0, &reply, e);
    if (rc)
        return rc;
    long status = reply.status;
    long long cl = reply.content_length;
    if (status < 200 || status > 299)
        return tl_err_set (e, status == 404 ? TL_ENOTFOUND : TL_EHTTP, 0, "%s: HEAD answered HTTP %ld", uri, status);
    if (cl < 0)
        return tl_err_set (e, TL_EHTTP, 0, "%s: HEAD gave no Content-Length", uri);
    if (cl == 0) {
        out->skipped_empty++;
        return 0;
    }
    int64_t mtime = !*reply.etag && reply.last_modified > 0 ? reply.last_modified * 1000000000 : 0;
    static bool s_said;
    if (!*reply.etag && !mtime && !s_said) {
        s_said = true;
        tl_warn ("%s: the server sends neither ETag nor Last-Modified, so only the size of its objects "
                 "is checked: one rewritten at the same size during the job would not be noticed", uri);
    }
    if (tl_objlist_push_version (out, uri, (uint64_t) cl, *reply.etag ? reply.etag : NULL, mtime))
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    return 0;
}

static int
s_read (const tl_store_cfg_t *cfg, const char *uri, uint64_t offset, uint64_t length, tl_sink_fn sink,
        void *arg, const volatile int *cancel, tl_read_stats_t *st, tl_err_t *e)
{
    tl_http_req_t r = { .url = uri, .what = uri, .uri = uri, .cancel = cancel, .stats = st,
                        .max_attempts = cfg ? cfg->max_attempts : 0, .rate_limit = cfg ? cfg->rate_limit : 0,
                        .size = cfg ? cfg->size_hint : 0, .if_match = cfg ? cfg->if_match : NULL,
                        .last_modified = cfg && !(cfg->if_match && *cfg->if_match) ? cfg->expect_mtime_ns / 1000000000 : 0,
                        .range_size = cfg && cfg->size_hint ? (cfg->range_size ? cfg->range_size : 8ULL << 20) : 0,
                        .concurrency = cfg ? cfg->concurrency : 0 };
    return tl_http_stream (&r, offset, length, sink, arg, e);
}

const tl_store_ops_t tl_store_http = { .name = "http", .list = s_list, .read = s_read };
