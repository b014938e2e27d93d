/*  http_multi.c — one byte span read as several concurrent ranged GETs (curl multi).

    How it works: the span is cut into pieces of range_size. At most `concurrency` pieces are in
    flight, and the window never runs further ahead of the piece being delivered (the head).
    The head's bytes go straight to the sink. Later pieces keep what arrives in a buffer of at
    most PIECE_BUF (1 MiB) bytes, and past that they pause (CURL_WRITEFUNC_PAUSE; curl hands the same
    bytes again on resume). When the head completes, the next piece's buffer is flushed to the
    sink and it becomes the head. Memory per read is therefore bounded by
    concurrency x PIECE_BUF, whatever the object size.

    A piece that fails (a reset, a stall, a 5xx/SlowDown) is re-requested from its first byte
    not yet received, after a full-jitter backoff, so no byte reaches the sink twice. */
#include "lib/aws/http_multi.h"
#include "lib/aws/retry.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PIECE_BUF (1u << 20)
#define ERRBODY_MAX 4096

typedef struct s_piece s_piece_t;
typedef struct {
    const tl_http_req_t *r;
    tl_sink_fn sink;
    void *arg;
    int sink_rc;            /* non-zero once the sink said stop (1) or failed (<0) */
    int bad;                /* non-zero once a reply was judged wrong (tl_http_req_check; e says why) */
    tl_err_t *e;
    CURLM *multi;
    s_piece_t *pieces;
    size_t npieces, head, next;
    int active;
    struct timespec t0;
    uint64_t delivered;
} s_span_t;

struct s_piece {
    s_span_t *span;
    uint64_t start, end;    /* [start, end) of the object */
    uint64_t received;      /* bytes of this piece received (delivered or buffered) */
    char *buf;
    size_t buflen;
    bool paused, done, failed_now;
    int attempts;
    long status;
    uint64_t skip;          /* bytes to drop when a server ignored Range */
    char errbody [ERRBODY_MAX];
    size_t errlen;
    long retry_after;
    tl_http_seen_t seen;    /* what this attempt's headers said (Content-Range, ETag) */
    uint64_t from;          /* the first byte this attempt asked for */
    CURL *curl;
    struct curl_slist *hdrs;
};


static int
s_deliver (s_span_t *sp, const char *p, size_t n)
{
    if (sp->sink_rc || !n)
        return sp->sink_rc;
    int rc = sp->sink (sp->arg, p, n);
    sp->delivered += n;
    if (rc)
        sp->sink_rc = rc;
    if (!rc)
        tl_http_throttle (sp->r->rate_limit, sp->delivered, &sp->t0);
    return rc;
}

static size_t
s_write (char *ptr, size_t size, size_t nmemb, void *ud)
{
    s_piece_t *pc = ud;
    s_span_t *sp = pc->span;
    size_t n = size * nmemb;
    if (!pc->status) {
        curl_easy_getinfo (pc->curl, CURLINFO_RESPONSE_CODE, &pc->status);
        if (pc->status == 200)
            pc->skip = pc->start + pc->received;    /* Range ignored: drop what precedes */
        if (pc->status >= 200 && pc->status <= 299 && !sp->bad
            && (sp->bad = tl_http_req_check (sp->r, pc->curl, pc->status, pc->from, &pc->seen, sp->e)) != 0)
            return CURL_WRITEFUNC_ERROR;
    }
    if (pc->status < 200 || pc->status > 299) {
        size_t room = ERRBODY_MAX - 1 - pc->errlen, take = n < room ? n : room;
        memcpy (pc->errbody + pc->errlen, ptr, take);
        pc->errlen += take;
        pc->errbody [pc->errlen] = 0;
        return n;
    }
    if (sp->sink_rc)
        return CURL_WRITEFUNC_ERROR;
    const char *p = ptr;
    size_t len = n;
    if (pc->skip) {
        size_t s = len < pc->skip ? len : (size_t) pc->skip;
        pc->skip -= s;
        p += s;
        len -= s;
    }
    uint64_t want = pc->end - pc->start - pc->received;
    if (len > want)
        len = (size_t) want;
    if (&sp->pieces [sp->head] == pc) {
        pc->received += len;
        if (s_deliver (sp, p, len))
            return CURL_WRITEFUNC_ERROR;
    }
    else {
        if (pc->buflen + len > PIECE_BUF) {
            pc->paused = true;
            return CURL_WRITEFUNC_PAUSE;
        }
        if (!pc->buf && !(pc->buf = malloc (PIECE_BUF)))
            return CURL_WRITEFUNC_ERROR;
        memcpy (pc->buf + pc->buflen, p, len);
        pc->buflen += len;
        pc->received += len;
    }
    return n;
}

static size_t
s_header (char *buf, size_t size, size_t nitems, void *ud)
{
    s_piece_t *pc = ud;
    size_t n = size * nitems;
    tl_http_retry_after (buf, n, &pc->retry_after);
    tl_http_req_seen (&pc->seen, buf, n);
    return n;
}

static int
s_start (s_span_t *sp, s_piece_t *pc, tl_err_t *e)
{
    const tl_http_req_t *r = sp->r;
    char range [80];
    snprintf (range, sizeof range, "bytes=%llu-%llu", (unsigned long long) (pc->start + pc->received),
              (unsigned long long) (pc->end - 1));
    pc->status = 0;
    pc->errlen = 0;
    pc->skip = 0;
    pc->retry_after = 0;
    pc->seen = (tl_http_seen_t) { .first = -1, .total = -1 };
    pc->from = pc->start + pc->received;
    pc->paused = false;
    curl_slist_free_all (pc->hdrs);
    if (!(pc->hdrs = tl_http_req_headers (r, "GET", range, e)))
        return e ? e->code : TL_EINVAL;
    CURL *c = curl_easy_init ();
    if (!c)
        return tl_err_set (e, TL_ENOMEM, 0, "curl_easy_init failed");
    pc->curl = c;
    curl_easy_setopt (c, CURLOPT_URL, r->url);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, pc->hdrs);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, pc);
    curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt (c, CURLOPT_HEADERDATA, pc);
    curl_easy_setopt (c, CURLOPT_PRIVATE, pc);
    tl_http_policy (c);
    if (r->last_modified)
        curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
    pc->attempts++;
    curl_multi_add_handle (sp->multi, c);
    sp->active++;
    return 0;
}

static void
s_finish (s_span_t *sp, s_piece_t *pc)
{
    if (pc->curl) {
        curl_multi_remove_handle (sp->multi, pc->curl);
        curl_easy_cleanup (pc->curl);
        pc->curl = NULL;
        sp->active--;
    }
}

/*  Move the head forward over completed pieces, flushing buffers and waking paused ones. */
static void
s_advance (s_span_t *sp)
{
    while (sp->head < sp->npieces && !sp->sink_rc) {
        s_piece_t *pc = &sp->pieces [sp->head];
        if (pc->buflen) {
            s_deliver (sp, pc->buf, pc->buflen);
            pc->buflen = 0;
        }
        free (pc->buf);
        pc->buf = NULL;
        if (!pc->done) {
            if (pc->paused && pc->curl) {
                pc->paused = false;
                curl_easy_pause (pc->curl, CURLPAUSE_CONT);
            }
            return;
        }
        sp->head++;
    }
}

int
tl_http_stream_multi (const tl_http_req_t *r, uint64_t offset, uint64_t length, tl_sink_fn sink, void *arg,
                      tl_err_t *e)
{
    tl_http_global_init ();
    uint64_t end = length == UINT64_MAX ? r->size : offset + length;
    if (end > r->size)
        end = r->size;
    if (end <= offset)
        return 0;
    s_span_t sp = { .r = r, .sink = sink, .arg = arg, .e = e };
    clock_gettime (CLOCK_MONOTONIC, &sp.t0);
    uint64_t rs = r->range_size;
    sp.npieces = (size_t) ((end - offset + rs - 1) / rs);
    sp.pieces = calloc (sp.npieces, sizeof *sp.pieces);
    sp.multi = curl_multi_init ();
    int conc = r->concurrency > 0 ? r->concurrency : 4;
    int attempts = r->max_attempts > 0 ? r->max_attempts : 6;
    int rc = 0;
    if (!sp.pieces || !sp.multi) {
        rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < sp.npieces; i++) {
        sp.pieces [i].span = &sp;
        sp.pieces [i].start = offset + i * rs;
        sp.pieces [i].end = sp.pieces [i].start + rs < end ? sp.pieces [i].start + rs : end;
    }
    while (sp.head < sp.npieces && !sp.sink_rc) {
        if (r->cancel && *r->cancel) {
            rc = tl_err_set (e, TL_ECANCEL, 0, "%s: cancelled", r->what);
            break;
        }
        /* Fill the window. */
        while (sp.next < sp.npieces && sp.next < sp.head + (size_t) conc && sp.active < conc) {
            if ((rc = s_start (&sp, &sp.pieces [sp.next], e)) != 0)
                goto done;
            sp.next++;
        }
        int running = 0;
        curl_multi_perform (sp.multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read (sp.multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            s_piece_t *pc = NULL;
            curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &pc);
            CURLcode cc = msg->data.result;
            if (!pc->status) {  /* a reply with no body never reached s_write */
                curl_easy_getinfo (msg->easy_handle, CURLINFO_RESPONSE_CODE, &pc->status);
                /* Nor was it judged there: an empty 2xx (the object emptied or replaced behind a
                   server that ignores Range and If-Match) fails as changed, not as a short body
                   retried until the attempts run out. */
                if (cc == CURLE_OK && pc->status >= 200 && pc->status <= 299 && !sp.bad)
                    sp.bad = tl_http_req_check_empty (r, pc->curl, pc->status, pc->from, &pc->seen, e);
            }
            s_finish (&sp, pc);
            if (sp.sink_rc)
                break;
            if (sp.bad) {
                rc = sp.bad;    /* another object, or other bytes, than asked for: in e */
                goto done;
            }
            bool complete = pc->received >= pc->end - pc->start;
            if (cc == CURLE_OK && pc->status >= 200 && pc->status <= 299 && complete) {
                pc->done = true;
                continue;
            }
            char desc [512];
            bool retry;
            if (cc == CURLE_OK && (pc->status < 200 || pc->status > 299)) {
                tl_http_error_t why;
                tl_http_req_explain (r, pc->errbody, pc->errlen, &why);
                tl_http_describe (pc->status, &why, desc, sizeof desc);
                retry = tl_http_retryable (pc->status, &why);
                if (!retry) {
                    rc = tl_http_req_fail (r, pc->status, desc, e);
                    goto done;
                }
            }
            else {
                snprintf (desc, sizeof desc, "%s", cc == CURLE_OK ? "body ended early" : curl_easy_strerror (cc));
                retry = true;
            }
            if (pc->attempts >= attempts) {
                rc = tl_err_set (e, TL_ENET, 1, "%s: bytes %llu-%llu: gave up after %d attempts: %s", r->what,
                                 (unsigned long long) pc->start, (unsigned long long) (pc->end - 1), attempts, desc);
                goto done;
            }
            if (r->stats) {
                r->stats->retries++;
                if (pc->received)
                    r->stats->resumed++;
            }
            tl_http_backoff (pc->attempts, pc->retry_after, r->cancel);
            if ((rc = s_start (&sp, pc, e)) != 0)
                goto done;
        }
        s_advance (&sp);
        if (sp.head < sp.npieces && !sp.sink_rc)
            curl_multi_poll (sp.multi, NULL, 0, 100, NULL);
    }
    if (sp.sink_rc < 0)
        rc = sp.sink_rc;    /* the sink's own error, already in e */
done:
    for (size_t i = 0; sp.pieces && i < sp.npieces; i++) {
        s_finish (&sp, &sp.pieces [i]);
        curl_slist_free_all (sp.pieces [i].hdrs);
        free (sp.pieces [i].buf);
    }
    free (sp.pieces);
    if (sp.multi)
        curl_multi_cleanup (sp.multi);
    return rc;
}
