/*  web.c — the dashboard's HTTP server.

    How it works. libmicrohttpd runs the server in threads of its own, one per connection, so a
    Server-Sent Events stream can simply block: its content callback waits on a condition until
    the watch loop feeds a newer state (or 15 s pass, and a comment line keeps proxies and the
    browser from timing out). The watch loop's side is tl_web_feed, which moves the decoded
    UPDATE in under a mutex and wakes the streams: with no browser attached that is all it
    costs. JSON is made by whoever needs it, under the same mutex, through the same renderer as
    `watch --format json` (cli/render.c) and cached per version, so ten browsers cost one
    rendering per update.

    The watch loop keeps the replica of the reducer's table (lib/wire/clone.h) and feeds a view
    of it: the totals and the best TL_WEB_KEEP groups, plus how many groups there are. So a
    feed costs O(that), whatever the table's size, and a stream that falls behind skips to the
    newest view instead of queueing: what a browser receives is bounded by what it can take.
    Events carry the top TL_WEB_TOP groups (chosen with a bounded heap); /api/state has the
    groups held (every group of a job with at most TL_WEB_KEEP), or ?top=N&q=TEXT among them.

    Access. Bound to loopback, a request must name a loopback Host (a page elsewhere cannot
    reach it through DNS rebinding). With --keys the job is meant to be private, so another
    address is refused unless --web-allow-remote; that flag makes every request carry the token
    printed at start (?token= or "Authorization: Bearer"). The page makes no request beyond this
    process, and its Content-Security-Policy forbids any. */
#include "cli/web.h"
#include "cli/render.h"
#include "lib/base/json.h"
#include "lib/base/log.h"
#include "cli/web_activity.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TL_WEB_TOP 200          /* groups in each event; the page shows up to this many */
#define TL_WEB_MAX_CONN 64      /* connections at once (each holds a thread) */
#define TL_WEB_PING_S 15        /* a comment on an idle stream this often */

extern const char tl_web_page [];
extern const size_t tl_web_page_len;

struct tl_web {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    tl_msg_t last;              /* the newest view (totals and the top groups), owned */
    size_t n_groups;            /* groups in the job's table (last holds at most TL_WEB_KEEP) */
    bool stale;                 /* the watcher lost updates and waits for a snapshot */
    bool have;
    uint64_t version;           /* one more per feed */
    char *cache;                /* the event for `cache_version`, rendered once */
    size_t cache_len;
    uint64_t cache_version;
    tl_webact_t *activity;      /* task spans, events and mappers merged from the UPDATEs */
    int streams;                /* open /api/events */
    bool closing;
    bool need_token, check_host;
    char token [33];
    char url [640];
    char who [32];
};

/*  One /api/events stream. */
typedef struct {
    tl_web_t *web;
    uint64_t sent;              /* the version last sent */
    char *out;                  /* bytes to send, from `off` */
    size_t len, off;
    bool hello;                 /* the retry line went out */
} s_stream_t;

/* ---------------------------------------------------------------- address */

typedef struct {
    struct sockaddr_storage sa;
    socklen_t salen;
    char host [256], port [16];
    bool loopback;
} s_addr_t;

static bool
s_is_loopback (const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl (((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK (a))
            return true;
        return IN6_IS_ADDR_V4MAPPED (a) && a->s6_addr [12] == 127;
    }
    return false;
}

/*  HOST:PORT, [V6]:PORT, :PORT or PORT (loopback) into an address to bind. */
static int
s_resolve (const char *listen, s_addr_t *a, tl_err_t *e)
{
    memset (a, 0, sizeof *a);
    const char *colon = strrchr (listen, ':');
    const char *port = colon ? colon + 1 : listen;
    size_t hl = colon ? (size_t) (colon - listen) : 0;
    const char *h = listen;
    if (hl >= 2 && h [0] == '[' && h [hl - 1] == ']')
        h++, hl -= 2;
    if (hl >= sizeof a->host || strlen (port) >= sizeof a->port || !*port || strspn (port, "0123456789") != strlen (port)
        || atoi (port) > 65535)
        return tl_err_set (e, TL_EINVAL, 0, "--web wants HOST:PORT, [V6]:PORT or :PORT, not '%s'", listen);
    snprintf (a->host, sizeof a->host, "%.*s", (int) hl, h);
    snprintf (a->port, sizeof a->port, "%s", port);
    if (!*a->host)
        snprintf (a->host, sizeof a->host, "127.0.0.1");
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
    int rc = getaddrinfo (a->host, a->port, &hints, &res);
    if (rc != 0 || !res)
        return tl_err_set (e, TL_EINVAL, 0, "--web: cannot resolve '%s': %s", a->host, gai_strerror (rc));
    memcpy (&a->sa, res->ai_addr, res->ai_addrlen);
    a->salen = res->ai_addrlen;
    a->loopback = s_is_loopback (res->ai_addr);
    freeaddrinfo (res);
    return 0;
}

int
tl_web_check (const tl_web_cfg_t *cfg, tl_err_t *e)
{
    s_addr_t a;
    int rc = s_resolve (cfg->listen, &a, e);
    if (rc)
        return rc;
    if (cfg->keys && !a.loopback && !cfg->allow_remote)
        return tl_err_set (e, TL_EINVAL, 0,
                           "--web %s is not a loopback address: with --keys the dashboard serves this machine "
                           "only (127.0.0.1:PORT), unless --web-allow-remote, which asks every visitor for a token",
                           cfg->listen);
    return 0;
}

/* ---------------------------------------------------------------- rendering */

static bool
s_matches (const tl_agg_entry_t *g, const char *q, size_t ql)
{
    if (!ql)
        return true;
    for (size_t i = 0; i + ql <= g->len; i++) {
        size_t j = 0;
        while (j < ql && tolower ((unsigned char) g->key [i + j]) == tolower ((unsigned char) q [j]))
            j++;
        if (j == ql)
            return true;
    }
    return false;
}

/*  The best `top` groups matching q into a new array (*n of them; *matched counts all). */
static tl_agg_entry_t *
s_select (const tl_msg_t *u, size_t top, const char *q, size_t *n, size_t *matched)
{
    size_t ql = q ? strlen (q) : 0, k = 0, m = 0;
    tl_agg_entry_t *h = malloc ((top ? top : 1) * sizeof *h);
    if (!h)
        return NULL;
    for (size_t i = 0; i < u->n_groups; i++) {
        const tl_agg_entry_t *g = &u->groups [i];
        if (!s_matches (g, q, ql))
            continue;
        m++;
        tl_agg_top_offer (h, top, &k, g);
    }
    *n = k;
    *matched = m;
    return h;
}

/*  The state as one JSON object (no newline): `result` is what `watch --format json` prints,
    with the selected groups only. Called with the lock held. Returns a malloc'd string. */
static char *
s_render (tl_web_t *self, size_t top, const char *q, size_t *len)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream (&buf, &blen);
    if (!f)
        return NULL;
    fprintf (f, "{\"dashboard\":1,\"version\":%llu,\"who\":\"%s\"", (unsigned long long) self->version, self->who);
    if (self->have) {
        size_t n = 0, matched = 0;
        tl_agg_entry_t *sel = s_select (&self->last, top, q, &n, &matched);
        tl_msg_t v = self->last;
        v.groups = sel;
        v.n_groups = sel ? n : 0;
        fprintf (f, ",\"n_groups\":%zu,\"held\":%zu,\"stale\":%s,\"matched\":%zu,\"shown\":%zu,\"query\":",
                 self->n_groups, self->last.n_groups, self->stale ? "true" : "false", matched, v.n_groups);
        char esc [600];
        tl_json_escape (q ? q : "", q ? strlen (q) : 0, esc, sizeof esc);
        fprintf (f, "\"%s\",\"result\":", esc);
        /* The renderer ends its object with a newline; an SSE data line must not hold one. */
        char *r = NULL;
        size_t rl = 0;
        FILE *rf = open_memstream (&r, &rl);
        if (rf) {
            tl_render (rf, &v, TL_FMT_JSON);
            fclose (rf);
        }
        while (rl && (r [rl - 1] == '\n' || r [rl - 1] == '\r'))
            rl--;
        if (r && rl)
            fwrite (r, 1, rl, f);
        else
            fputs ("null", f);
        free (r);
        free (sel);
    }
    else
        fputs (",\"result\":null", f);
    fputs (",\"activity\":", f);
    tl_webact_json (self->activity, f);
    fputc ('}', f);
    if (fclose (f) != 0) {
        free (buf);
        return NULL;
    }
    *len = blen;
    return buf;
}

/* ---------------------------------------------------------------- HTTP */

static enum MHD_Result
s_reply (struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len, bool must_free)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (len, body, must_free ? MHD_RESPMEM_MUST_FREE
                                                                                    : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (must_free)
            free (body);
        return MHD_NO;
    }
    MHD_add_response_header (r, "Content-Type", type);
    MHD_add_response_header (r, "Cache-Control", "no-store");
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (r, "Referrer-Policy", "no-referrer");
    /* The page may talk to this server only: no CDN, no font, no beacon. */
    MHD_add_response_header (r, "Content-Security-Policy",
                             "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                             "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                             "frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response (c, status, r);
    MHD_destroy_response (r);
    return ret;
}

static enum MHD_Result
s_text (struct MHD_Connection *c, unsigned status, const char *msg)
{
    return s_reply (c, status, "text/plain; charset=utf-8", (char *) msg, strlen (msg), false);
}

static bool
s_same (const char *a, const char *b)
{
    size_t n = strlen (b);
    if (!a || strlen (a) != n)
        return false;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char) (a [i] ^ b [i]);
    return d == 0;
}

/*  The Host header names this machine's loopback (or there is none: HTTP/1.0). */
static bool
s_host_ok (const char *host)
{
    if (!host)
        return true;
    char h [256];
    snprintf (h, sizeof h, "%s", host);
    char *end = h [0] == '[' ? strchr (h, ']') : strrchr (h, ':');
    if (h [0] == '[')
        return end && (size_t) (end - h) == 4 && strncmp (h, "[::1", 4) == 0;
    if (end)
        *end = 0;
    if (strcasecmp (h, "localhost") == 0)
        return true;
    struct in_addr a;
    return inet_pton (AF_INET, h, &a) == 1 && (ntohl (a.s_addr) >> 24) == 127;
}

static ssize_t
s_stream_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    s_stream_t *s = cls;
    tl_web_t *w = s->web;
    if (s->off == s->len) {
        free (s->out);
        s->out = NULL;
        s->len = s->off = 0;
        pthread_mutex_lock (&w->lock);
        if (!s->hello) {
            /* the browser reconnects after 2 s if the stream breaks */
            s->out = strdup ("retry: 2000\n\n");
            s->hello = true;
        }
        else {
            struct timespec until;
            clock_gettime (CLOCK_REALTIME, &until);
            until.tv_sec += TL_WEB_PING_S;
            bool timed_out = false;
            while (!w->closing && s->sent == w->version && !timed_out)
                timed_out = pthread_cond_timedwait (&w->changed, &w->lock, &until) == ETIMEDOUT;
            if (s->sent != w->version) {
                if (w->cache_version != w->version || !w->cache) {
                    free (w->cache);
                    size_t len = 0;
                    char *json = s_render (w, TL_WEB_TOP, NULL, &len);
                    w->cache = NULL;
                    if (json && asprintf (&w->cache, "event: state\ndata: %s\n\n", json) > 0) {
                        w->cache_len = strlen (w->cache);
                        w->cache_version = w->version;
                    }
                    free (json);
                }
                if (w->cache) {
                    s->out = malloc (w->cache_len);
                    if (s->out)
                        memcpy (s->out, w->cache, w->cache_len);
                    s->len = s->out ? w->cache_len : 0;
                }
                s->sent = w->version;
            }
            else if (!w->closing)
                s->out = strdup (": ping\n\n");
        }
        if (s->out && !s->len)
            s->len = strlen (s->out);
        pthread_mutex_unlock (&w->lock);
        if (!s->out || !s->len)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy (buf, s->out + s->off, n);
    s->off += n;
    return (ssize_t) n;
}

static void
s_stream_free (void *cls)
{
    s_stream_t *s = cls;
    pthread_mutex_lock (&s->web->lock);
    s->web->streams--;
    pthread_cond_broadcast (&s->web->changed);
    pthread_mutex_unlock (&s->web->lock);
    free (s->out);
    free (s);
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
          const char *upload, size_t *upload_size, void **con_cls)
{
    (void) version; (void) upload; (void) upload_size; (void) con_cls;
    tl_web_t *w = cls;
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return s_text (c, MHD_HTTP_METHOD_NOT_ALLOWED, "the dashboard answers GET only\n");
    if (w->check_host && !s_host_ok (MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Host")))
        return s_text (c, MHD_HTTP_FORBIDDEN, "this dashboard serves this machine only (Host is not a loopback name)\n");
    if (w->need_token) {
        const char *t = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "token");
        const char *auth = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Authorization");
        if (!t && auth && strncasecmp (auth, "Bearer ", 7) == 0)
            t = auth + 7;
        if (!s_same (t, w->token))
            return s_text (c, MHD_HTTP_FORBIDDEN, "a token is needed: open the URL with ?token= that tally printed at start\n");
    }
    if (strcmp (url, "/") == 0 || strcmp (url, "/index.html") == 0)
        return s_reply (c, MHD_HTTP_OK, "text/html; charset=utf-8", (char *) tl_web_page, tl_web_page_len, false);
    if (strcmp (url, "/api/state") == 0) {
        const char *q = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "q");
        const char *top = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "top");
        size_t k = top ? strtoull (top, NULL, 10) : 0, len = 0;
        pthread_mutex_lock (&w->lock);
        if (!top)
            k = w->have ? w->last.n_groups : 0;
        char *json = s_render (w, k, q && *q ? q : NULL, &len);
        pthread_mutex_unlock (&w->lock);
        if (!json)
            return s_text (c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        json [len] = 0;
        char *body = NULL;
        if (asprintf (&body, "%s\n", json) < 0)
            body = NULL;
        free (json);
        if (!body)
            return s_text (c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return s_reply (c, MHD_HTTP_OK, "application/json", body, strlen (body), true);
    }
    if (strcmp (url, "/api/events") == 0) {
        s_stream_t *s = calloc (1, sizeof *s);
        if (!s)
            return MHD_NO;
        s->web = w;
        pthread_mutex_lock (&w->lock);
        w->streams++;
        pthread_mutex_unlock (&w->lock);
        struct MHD_Response *r = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16 * 1024, s_stream_read, s,
                                                                    s_stream_free);
        if (!r) {
            s_stream_free (s);
            return MHD_NO;
        }
        MHD_add_response_header (r, "Content-Type", "text/event-stream");
        MHD_add_response_header (r, "Cache-Control", "no-store");
        MHD_add_response_header (r, "X-Accel-Buffering", "no");
        enum MHD_Result ret = MHD_queue_response (c, MHD_HTTP_OK, r);
        MHD_destroy_response (r);
        return ret;
    }
    return s_text (c, MHD_HTTP_NOT_FOUND, "not found: the dashboard is at /, its data at /api/state and /api/events\n");
}

/* ---------------------------------------------------------------- the object */

tl_web_t *
tl_web_new (const tl_web_cfg_t *cfg, tl_err_t *e)
{
    s_addr_t a;
    if (tl_web_check (cfg, e) != 0 || s_resolve (cfg->listen, &a, e) != 0)
        return NULL;
    tl_web_t *self = calloc (1, sizeof *self);
    if (!self || !(self->activity = tl_webact_new ())) {
        free (self);
        tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init (&ca);
    pthread_cond_init (&self->changed, &ca);
    pthread_condattr_destroy (&ca);
    snprintf (self->who, sizeof self->who, "%s", cfg->who ? cfg->who : "tally");
    self->need_token = cfg->allow_remote;
    self->check_host = a.loopback && !cfg->allow_remote;
    if (self->need_token) {
        unsigned char r [16];
        if (getrandom (r, sizeof r, 0) != (ssize_t) sizeof r) {
            tl_err_set (e, TL_EIO, 0, "cannot draw the dashboard's token from the kernel");
            tl_web_destroy (&self, 0);
            return NULL;
        }
        for (int i = 0; i < 16; i++)
            snprintf (self->token + 2 * i, 3, "%02x", r [i]);
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (a.sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon = MHD_start_daemon (flags, (uint16_t) atoi (a.port), NULL, NULL, s_handle, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &a.sa,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned) TL_WEB_MAX_CONN,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) (4 * TL_WEB_PING_S), MHD_OPTION_END);
    if (!self->daemon) {
        tl_err_set (e, TL_ENET, 0, "--web: cannot serve the dashboard on %s:%s (%s)", a.host, a.port,
                    errno ? strerror (errno) : "port in use?");
        tl_web_destroy (&self, 0);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di && di->port ? di->port : (unsigned) atoi (a.port);
    char host [300];
    bool any = (a.sa.ss_family == AF_INET && ((struct sockaddr_in *) &a.sa)->sin_addr.s_addr == htonl (INADDR_ANY))
               || (a.sa.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED (&((struct sockaddr_in6 *) &a.sa)->sin6_addr));
    if (any && gethostname (host, sizeof host - 1) == 0)
        host [sizeof host - 1] = 0;
    else if (a.sa.ss_family == AF_INET6)
        snprintf (host, sizeof host, "[%s]", a.host);
    else
        snprintf (host, sizeof host, "%s", a.host);
    snprintf (self->url, sizeof self->url, "http://%s:%u/%s%s", host, port, self->need_token ? "?token=" : "",
              self->need_token ? self->token : "");
    fprintf (stderr, "%s: dashboard at %s\n", self->who, self->url);
    if (!a.loopback && !self->need_token)
        fprintf (stderr, "%s: the dashboard is open to anyone who can reach %s:%s (--web-allow-remote asks for a "
                         "token)\n", self->who, a.host, a.port);
    fflush (stderr);
    return self;
}

const char *
tl_web_url (const tl_web_t *self)
{
    return self ? self->url : "";
}

void
tl_web_feed (tl_web_t *self, tl_msg_t *m, size_t n_groups, bool stale)
{
    if (!self || m->type != TL_MSG_UPDATE) {
        tl_msg_clear (m);
        return;
    }
    pthread_mutex_lock (&self->lock);
    tl_msg_t old = self->last;
    self->last = *m;
    self->n_groups = n_groups > m->n_groups ? n_groups : m->n_groups;
    self->stale = stale;
    self->have = true;
    self->version++;
    tl_webact_merge (self->activity, &self->last);
    if (self->streams)
        pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    memset (m, 0, sizeof *m);
    tl_msg_clear (&old);
}

void
tl_web_destroy (tl_web_t **self_p, int linger_ms)
{
    if (!self_p || !*self_p)
        return;
    tl_web_t *self = *self_p;
    if (self->daemon) {
        /* Each stream sends what it has not sent yet and ends; wait for them a little. */
        pthread_mutex_lock (&self->lock);
        self->closing = true;
        pthread_cond_broadcast (&self->changed);
        for (int waited = 0; self->streams > 0 && waited < linger_ms; waited += 10) {
            pthread_mutex_unlock (&self->lock);
            usleep (10000);
            pthread_mutex_lock (&self->lock);
        }
        pthread_mutex_unlock (&self->lock);
        MHD_stop_daemon (self->daemon);
    }
    tl_msg_clear (&self->last);
    tl_webact_destroy (&self->activity);
    free (self->cache);
    pthread_cond_destroy (&self->changed);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}
