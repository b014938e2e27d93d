/*  join.h — the broker's side of provisioning. `up` pings the broker before it creates anything
    (nothing is started if it does not answer) and at the end waits until the new mappers have
    joined: their HELLO carries --fleet, and the broker's PONG counts a fleet's mappers.

    A short job can end before `up` has seen its mappers: the broker sends END and exits, so
    the pings go unanswered. `up` then says so instead of waiting out --wait and blaming the
    mappers. What tells it the job ended: a PONG with every task applied, or a backend's probe
    (local: its children, which it can see exit, and what their own logs say). */
#ifndef TL_PROV_JOIN_H
#define TL_PROV_JOIN_H
#include "provision/backend.h"
#include "lib/base/err.h"
#include <stddef.h>
#include <stdint.h>

/*  What the broker's PONG says. */
typedef struct {
    char job [64];
    uint64_t tasks_done, tasks_total;
    int mappers;            /* the fleet's live mappers */
} tl_prov_pong_t;

/*  What a backend can see of the mappers it started (all counts out of `started`). */
typedef struct {
    int started;
    int running;            /* still running */
    int exited_ok;          /* exited with status 0 */
    int exited_bad;         /* exited otherwise (detail names the first) */
    int joined;             /* said that they joined a job */
    int ended_ok;           /* saw their job end ok */
    int ended_failed;       /* saw their job end failed */
    char detail [600];      /* e.g. "mapper local-1 exited with status 2 (see LOG)" */
} tl_prov_seen_t;

/*  A backend's look at its mappers: fills *seen; 0, or -1 if it cannot tell. */
typedef int (tl_prov_probe_fn) (void *arg, tl_prov_seen_t *seen);

/*  How many mappers of the fleet the broker has (>= 0), or -1 with e set if it does not answer
    within timeout_ms. pong (optional) gets the rest of the answer. */
int tl_prov_ping (const tl_prov_opts_t *o, int timeout_ms, tl_prov_pong_t *pong, tl_err_t *e);
/*  Wait (up to o->wait_s) until `want` mappers of the fleet have joined, the job has ended, or
    the broker has gone; prints the outcome. probe (may be NULL) is asked at every round.
    Returns 0 (joined, or the job ended) or 1. */
int tl_prov_wait_joined (const tl_prov_opts_t *o, int want, int64_t t0, tl_prov_probe_fn *probe, void *arg);
/*  The status line of a fleet of machines we do not pay for (ssh, local): how many mappers were
    started and how many the broker has. */
int tl_prov_status_started (const tl_prov_opts_t *o, const char *backend, size_t started, const char *cost);
#endif
