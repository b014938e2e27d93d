/*  net.c — sockets and framing. */
#include "lib/wire/net.h"
#include <string.h>
#include <unistd.h>
#include "lib/base/log.h"
#include "lib/base/util.h"
#include <stdlib.h>

zsock_t *
tl_sock_new (int type, int64_t maxmsg)
{
    zsock_t *s = zsock_new (type);
    if (!s)
        return NULL;
    zsock_set_maxmsgsize (s, maxmsg);
    /* Queued work messages get 2 s to leave at close. Subscriptions and publications are worth
       nothing once we stop, and a subscription queued for a dead publisher would hold the
       process for the whole linger. */
    zsock_set_linger (s, type == ZMQ_SUB || type == ZMQ_XPUB ? 0 : 2000);
    zsock_set_sndhwm (s, 10000);
    zsock_set_rcvhwm (s, 10000);
    /* Reconnect after 50 ms, backing off to 500 ms while a peer stays away: fast when roles
       start in any order, and still gentle on a peer that is down. */
    zsock_set_reconnect_ivl (s, 50);
    zsock_set_reconnect_ivl_max (s, 500);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory (s, 1);
    return s;
}

int
tl_sock_connect (zsock_t *sock, const char *ep)
{
    if (strncmp (ep, "ipc://", 6) == 0)
        for (int t = 0; t < 1000 && access (ep + 6, F_OK) != 0 && !zsys_interrupted; t++)
            usleep (1000);
    return zsock_connect (sock, "%s", ep);
}

static _Atomic bool s_actors;

zactor_t *
tl_actor_new (zactor_fn *fn, void *args)
{
    s_actors = true;
    return zactor_new (fn, args);
}

void
tl_shutdown (void)
{
    if (s_actors)
        usleep (5000);
    zsys_shutdown ();
}

int
tl_send (zsock_t *sock, const void *ident, size_t identlen, const tl_msg_t *m, bool dontwait)
{
    char *data = NULL;
    size_t len = 0;
    if (tl_msg_encode (m, &data, &len) != 0)
        return -1;
    void *h = zsock_resolve (sock);
    int flags = dontwait ? ZMQ_DONTWAIT : 0;
    int rc = 0;
    if (ident && zmq_send (h, ident, identlen, ZMQ_SNDMORE | flags) < 0)
        rc = -1;
    if (rc == 0 && zmq_send (h, data, len, flags) < 0)
        rc = -1;
    free (data);
    return rc;
}

/*  One message straight from libzmq's frames (no zmsg/zframe allocations): an identity frame
    first for ROUTER, then exactly one body frame. A multipart message arrives whole, so only
    its first frame can find nothing waiting. */
static int
s_recv (zsock_t *sock, void *ident, size_t *identlen, tl_msg_t *m, tl_err_t *e, int flags)
{
    void *h = zsock_resolve (sock);
    zmq_msg_t part;
    zmq_msg_init (&part);
    if (zmq_msg_recv (&part, h, flags) < 0) {
        int err = zmq_errno ();
        zmq_msg_close (&part);
        return err == EAGAIN ? -3 : -2;
    }
    /* Take every frame of the message, whatever it holds, before judging it. */
    bool bad_ident = false, decoded = false, bad_body = false;
    size_t nbody = 0;
    for (int idx = 0;; idx++) {
        if (idx == 0 && ident) {
            size_t n = zmq_msg_size (&part);
            if (n == 0 || n > 255)
                bad_ident = true;
            else {
                memcpy (ident, zmq_msg_data (&part), n);
                *identlen = n;
            }
        }
        else if (++nbody == 1 && !bad_ident) {
            if (tl_msg_decode (zmq_msg_data (&part), zmq_msg_size (&part), m, e) == 0)
                decoded = true;
            else
                bad_body = true;
        }
        if (!zmq_msg_more (&part))
            break;
        if (zmq_msg_recv (&part, h, 0) < 0) {
            zmq_msg_close (&part);
            if (decoded)
                tl_msg_clear (m);
            return -2;
        }
    }
    zmq_msg_close (&part);
    if (bad_ident) {
        tl_err_set (e, TL_EPROTO, 0, "bad peer identity");
        return -1;
    }
    if (nbody != 1) {
        if (decoded)
            tl_msg_clear (m);
        tl_err_set (e, TL_EPROTO, 0, "expected 1 frame, got %zu", nbody);
        return -1;
    }
    return bad_body ? -1 : 0;
}

int
tl_recv (zsock_t *sock, void *ident, size_t *identlen, tl_msg_t *m, tl_err_t *e)
{
    int rc = s_recv (sock, ident, identlen, m, e, 0);
    return rc == -3 ? -2 : rc;     /* (a receive timeout, were one set, ends the wait too) */
}

int
tl_recv_nowait (zsock_t *sock, void *ident, size_t *identlen, tl_msg_t *m, tl_err_t *e)
{
    return s_recv (sock, ident, identlen, m, e, ZMQ_DONTWAIT);
}

void
tl_pace (int64_t started_us, int64_t min_us)
{
    int64_t left = started_us + min_us - tl_now_us ();
    if (left > 0 && left <= min_us)
        usleep ((useconds_t) left);
}

static uint64_t s_bad, s_bad_unlogged;
static int64_t s_bad_last;

void
tl_badmsg (const char *from, const tl_err_t *e)
{
    s_bad++;
    s_bad_unlogged++;
    int64_t now = tl_now_ms ();
    if (now - s_bad_last >= 1000) {
        tl_warn ("dropped %llu bad message(s) from %s; latest: %s", (unsigned long long) s_bad_unlogged, from,
                 e ? e->msg : "?");
        s_bad_unlogged = 0;
        s_bad_last = now;
    }
}

void
tl_badmsg_unexpected (const char *from, tl_msg_type_t type)
{
    tl_err_t e;
    tl_err_set (&e, TL_EPROTO, 0, "unexpected '%s' message", tl_msg_type_name (type));
    tl_badmsg (from, &e);
}

uint64_t
tl_badmsg_count (void)
{
    return s_bad;
}
