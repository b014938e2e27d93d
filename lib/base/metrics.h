/*  metrics.h — Prometheus metrics over HTTP (`--metrics-listen HOST:PORT`), served by
    libmicrohttpd's own thread. A role sets its values from its loop with tl_metrics_set; a
    scrape reads them under a mutex. Names are registered on first set (at most 48). */
#ifndef TL_METRICS_H
#define TL_METRICS_H
#include "lib/base/err.h"

typedef struct tl_metrics tl_metrics_t;

/*  Listen on addr ("127.0.0.1:9100", or ":9100" for every address). role is a label value. */
tl_metrics_t *tl_metrics_new (const char *addr, const char *role, tl_err_t *e);
void tl_metrics_destroy (tl_metrics_t **self_p);
/*  Set a value (a counter or a gauge, per `type`: "counter" or "gauge"). NULL self is a no-op. */
void tl_metrics_set (tl_metrics_t *self, const char *name, const char *type, const char *help, double value);
#endif
