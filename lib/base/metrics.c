/*  metrics.c — a small fixed table of named values and an HTTP handler that prints them in the
    Prometheus text exposition format (version 0.0.4). */
#include "lib/base/metrics.h"
#include "lib/base/log.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS 48

typedef struct {
    char name [64], type [8], help [160];
    double value;
} s_metric_t;

struct tl_metrics {
    pthread_mutex_t lock;
    s_metric_t m [MAX_METRICS];
    int n;
    char role [16];
    struct MHD_Daemon *daemon;
};

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
          const char *upload, size_t *upload_size, void **con_cls)
{
    (void) version; (void) upload; (void) upload_size; (void) con_cls;
    tl_metrics_t *self = cls;
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (strcmp (method, "GET") != 0 || strcmp (url, "/metrics") != 0) {
        static const char nf [] = "not found: try GET /metrics\n";
        r = MHD_create_response_from_buffer (sizeof nf - 1, (void *) nf, MHD_RESPMEM_PERSISTENT);
        ret = MHD_queue_response (c, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response (r);
        return ret;
    }
    size_t cap = 256 + (size_t) MAX_METRICS * 400, len = 0;
    char *out = malloc (cap);
    if (!out)
        return MHD_NO;
    pthread_mutex_lock (&self->lock);
    for (int i = 0; i < self->n; i++) {
        const s_metric_t *m = &self->m [i];
        len += (size_t) snprintf (out + len, cap - len, "# HELP %s %s\n# TYPE %s %s\n%s{role=\"%s\"} %.17g\n", m->name,
                                  m->help, m->name, m->type, m->name, self->role, m->value);
    }
    pthread_mutex_unlock (&self->lock);
    r = MHD_create_response_from_buffer (len, out, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (r, "Content-Type", "text/plain; version=0.0.4");
    ret = MHD_queue_response (c, MHD_HTTP_OK, r);
    MHD_destroy_response (r);
    return ret;
}

tl_metrics_t *
tl_metrics_new (const char *addr, const char *role, tl_err_t *e)
{
    if (!addr)
        return NULL;
    const char *colon = strrchr (addr, ':');
    int port = colon ? atoi (colon + 1) : 0;
    if (!colon || port <= 0 || port > 65535) {
        tl_err_set (e, TL_EINVAL, 0, "--metrics-listen wants HOST:PORT or :PORT, not '%s'", addr);
        return NULL;
    }
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) port);
    char host [64] = "";
    snprintf (host, sizeof host, "%.*s", (int) (colon - addr), addr);
    if (!*host || strcmp (host, "*") == 0)
        sa.sin_addr.s_addr = htonl (INADDR_ANY);
    else if (inet_pton (AF_INET, host, &sa.sin_addr) != 1) {
        tl_err_set (e, TL_EINVAL, 0, "--metrics-listen: '%s' is not an IPv4 address", host);
        return NULL;
    }
    tl_metrics_t *self = calloc (1, sizeof *self);
    if (!self) {
        tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    snprintf (self->role, sizeof self->role, "%s", role);
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t) port, NULL, NULL, s_handle, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa, MHD_OPTION_END);
    if (!self->daemon) {
        tl_err_set (e, TL_EIO, 0, "cannot serve metrics on %s (port in use?)", addr);
        tl_metrics_destroy (&self);
        return NULL;
    }
    tl_info ("metrics on http://%s/metrics", addr);
    return self;
}

void
tl_metrics_destroy (tl_metrics_t **self_p)
{
    if (self_p && *self_p) {
        if ((*self_p)->daemon)
            MHD_stop_daemon ((*self_p)->daemon);
        pthread_mutex_destroy (&(*self_p)->lock);
        free (*self_p);
        *self_p = NULL;
    }
}

void
tl_metrics_set (tl_metrics_t *self, const char *name, const char *type, const char *help, double value)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    int i = 0;
    while (i < self->n && strcmp (self->m [i].name, name) != 0)
        i++;
    if (i == self->n && self->n < MAX_METRICS) {
        snprintf (self->m [i].name, sizeof self->m [i].name, "%s", name);
        snprintf (self->m [i].type, sizeof self->m [i].type, "%s", type);
        snprintf (self->m [i].help, sizeof self->m [i].help, "%s", help);
        self->n++;
    }
    if (i < self->n)
        self->m [i].value = value;
    pthread_mutex_unlock (&self->lock);
}
