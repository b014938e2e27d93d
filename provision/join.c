/*  join.c — see join.h. */
#include "provision/join.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/wire/codec.h"
#include "lib/wire/net.h"
#include "lib/wire/security.h"
#include <czmq.h>
#include <stdio.h>

/*  Ask the broker which mappers of the fleet are connected. Returns the count (>= 0), or -1
    with e set if it does not answer within timeout_ms. */
int
tl_prov_ping (const tl_prov_opts_t *o, int timeout_ms, tl_err_t *e)
{
    tl_err_t se = { 0 };
    tl_security_t *sec = tl_security_new (o->keys, false, &se);
    if (o->keys && !sec)
        return tl_err_set (e, se.code, 0, "%s", se.msg), -1;
    zsock_t *s = tl_sock_new (ZMQ_DEALER, 1 << 20);
    int found = -1;
    if (s && (!sec || tl_security_client (sec, s, &se) == 0) && zsock_connect (s, "%s", o->broker) == 0) {
        tl_msg_t ping = { .type = TL_MSG_PING, .fleet = o->fleet };
        tl_send (s, NULL, 0, &ping, true);
        int64_t deadline = tl_now_ms () + timeout_ms, next = tl_now_ms () + 1000;
        zpoller_t *p = zpoller_new (s, NULL);
        while (found < 0 && !zsys_interrupted) {
            int64_t now = tl_now_ms ();
            if (now >= deadline)
                break;
            if (now >= next) {
                /* The first ping may have gone before the connection was up. */
                tl_send (s, NULL, 0, &ping, true);
                next = now + 1000;
            }
            if (zpoller_wait (p, (int) (next - now < deadline - now ? next - now : deadline - now)) != s)
                continue;
            tl_msg_t m;
            tl_err_t re;
            if (tl_recv (s, NULL, NULL, &m, &re) == 0) {
                if (m.type == TL_MSG_PONG)
                    found = (int) m.n_mappers;
                tl_msg_clear (&m);
            }
        }
        zpoller_destroy (&p);
        if (found < 0)
            tl_err_set (e, TL_ENET, 0, "broker %s did not answer within %d s (is it running and reachable from here%s)",
                        o->broker, timeout_ms / 1000, o->keys ? "" : "? does it need --keys");
    }
    else
        tl_err_set (e, TL_EINVAL, 0, "cannot connect to broker '%s' (want tcp://HOST:PORT)", o->broker);
    zsock_destroy (&s);
    tl_security_destroy (&sec);
    return found;
}

/*  Wait until `want` mappers of the fleet have joined. Prints the outcome. Returns 0 or 1. */
int
tl_prov_wait_joined (const tl_prov_opts_t *o, int want, int64_t t0)
{
    int64_t deadline = tl_now_ms () + (int64_t) o->wait_s * 1000;
    int have = 0, shown = -1;
    while (!zsys_interrupted) {
        tl_err_t e = { 0 };
        have = tl_prov_ping (o, 5000, &e);
        if (have != shown && have >= 0) {
            tl_info ("%d of %d mapper(s) of fleet %s joined", have, want, o->fleet);
            shown = have;
        }
        if (have >= want || tl_now_ms () >= deadline)
            break;
        zclock_sleep (500);
    }
    double secs = (double) (tl_now_ms () - t0) / 1000.0;
    if (have >= want) {
        printf ("fleet %s: %d of %d mapper(s) joined %s in %.1f s\n", o->fleet, have, want, o->broker, secs);
        return 0;
    }
    printf ("fleet %s: only %d of %d mapper(s) joined %s in %.1f s; they are left running "
            "(tally provision down --fleet %s stops them)\n", o->fleet, have < 0 ? 0 : have, want, o->broker, secs,
            o->fleet);
    return 1;
}

int
tl_prov_status_started (const tl_prov_opts_t *o, const char *backend, size_t started, const char *cost)
{
    printf ("fleet %s: %s backend, %zu mapper(s) started", o->fleet, backend, started);
    if (o->broker) {
        tl_err_t e = { 0 };
        int have = tl_prov_ping (o, 3000, &e);
        if (have >= 0)
            printf (", %d connected to %s", have, o->broker);
        else
            printf (", broker %s not answering", o->broker);
    }
    printf ("; cost: none (%s)\n", cost);
    return 0;
}
