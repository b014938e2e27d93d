/*  web.h — the live web dashboard of `tally watch --web` and `tally run --web`.

    One page (cli/web_page.c, compiled in: no CDN, no request beyond this process), the state
    as JSON at /api/state and a Server-Sent Events stream of it at /api/events, served by
    libmicrohttpd's own threads. The watch loop hands over a view of its replica of the
    reducer's table (tl_web_feed): the totals and the best TL_WEB_KEEP groups. JSON is made only
    when a browser or a script asks for it, so with nobody attached a feed costs a mutex and a
    pointer swap. */
#ifndef TL_WEB_H
#define TL_WEB_H
#include "lib/base/err.h"
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stddef.h>

/*  Groups in a view handed to the dashboard, at most: the best of the table. The page shows at
    most 200 and searches these; /api/state lists them. */
#define TL_WEB_KEEP 1000

typedef struct tl_web tl_web_t;

typedef struct {
    const char *listen;     /* HOST:PORT, [V6]:PORT, :PORT or PORT (loopback) */
    bool keys;              /* the job runs with CURVE keys: loopback only, unless allow_remote */
    bool allow_remote;      /* any address; every request must then carry the token */
    const char *who;        /* for messages: "tally watch" */
} tl_web_cfg_t;

/*  Check cfg without binding anything (run checks before it forks). 0 or TL_EINVAL with e. */
int tl_web_check (const tl_web_cfg_t *cfg, tl_err_t *e);
/*  Start serving. Prints the dashboard's URL (with ?token= when one is needed) on stderr.
    Returns NULL with e filled if the address is refused or cannot be bound. */
tl_web_t *tl_web_new (const tl_web_cfg_t *cfg, tl_err_t *e);
/*  The URL printed at start (borrowed). */
const char *tl_web_url (const tl_web_t *self);
/*  Hand over a view: a decoded UPDATE whose groups are the best of the table (at most
    TL_WEB_KEEP), n_groups the table's size, stale whether the watcher waits for a snapshot after
    losing updates. The server takes what *view holds (its arena) and leaves it cleared. Anything
    but an UPDATE is cleared and ignored. */
void tl_web_feed (tl_web_t *self, tl_msg_t *view, size_t n_groups, bool stale);
/*  Stop serving: open event streams get the last state first (waiting at most linger_ms). */
void tl_web_destroy (tl_web_t **self_p, int linger_ms);
#endif
