/*  join.h — the broker's side of provisioning. `up` pings the broker before it creates anything
    (nothing is started if it does not answer) and at the end waits until the new mappers have
    joined: their HELLO carries --fleet, and the broker's PONG counts a fleet's mappers. */
#ifndef TL_PROV_JOIN_H
#define TL_PROV_JOIN_H
#include "provision/backend.h"
#include "lib/base/err.h"
#include <stddef.h>

/*  How many mappers of the fleet the broker has (>= 0), or -1 with e set if it does not answer
    within timeout_ms. */
int tl_prov_ping (const tl_prov_opts_t *o, int timeout_ms, tl_err_t *e);
/*  Wait (up to o->wait_s) until `want` mappers of the fleet have joined; prints the outcome.
    Returns 0 or 1. */
int tl_prov_wait_joined (const tl_prov_opts_t *o, int want, int64_t t0);
/*  The status line of a fleet of machines we do not pay for (ssh, local): how many mappers were
    started and how many the broker has. */
int tl_prov_status_started (const tl_prov_opts_t *o, const char *backend, size_t started, const char *cost);
#endif
