/*  net.h — ZeroMQ plumbing shared by the roles: sockets with tally's defaults, and sending and
    receiving one tl_msg_t per frame. */
#ifndef TL_NET_H
#define TL_NET_H
#include "lib/wire/codec.h"
#include <czmq.h>

/*  A socket of `type` (ZMQ_ROUTER, ...) with ZMQ_MAXMSGSIZE = maxmsg, linger 2 s and, for
    ROUTER, ROUTER_MANDATORY (unroutable sends fail instead of vanishing). Not yet bound. */
zsock_t *tl_sock_new (int type, int64_t maxmsg);
/*  zsock_connect, but for an ipc:// endpoint first wait up to 1 s for its socket file: the
    processes of one machine start together (tally run), and a connect that comes too early is
    only retried after ZeroMQ's reconnect interval. A SIGTERM or SIGINT (zsys_interrupted) ends
    the wait: the process is being stopped. Returns 0 or -1 like zsock_connect. */
int tl_sock_connect (zsock_t *sock, const char *ep);
/*  zactor_new, remembered, so that tl_shutdown knows actor threads have run. */
zactor_t *tl_actor_new (zactor_fn *fn, void *args);
/*  zsys_shutdown, at every process's end. czmq's actor threads close their end of the pipe just
    after zactor_destroy returns, and zsys_shutdown sleeps 200 ms if it still finds a socket
    open: once any actor has run, give those threads 5 ms first. (Without it, a third of
    `tally run`s took 200 ms longer: the mapper's slots, and with --keys the broker's and
    reducer's authenticator and monitors, are actors.) */
void tl_shutdown (void);
/*  Encode m and send it; with ident (ROUTER) it goes first. Non-blocking when dontwait.
    Returns 0 or -1 (errno from zmq). */
int tl_send (zsock_t *sock, const void *ident, size_t identlen, const tl_msg_t *m, bool dontwait);
/*  Receive one message. For ROUTER sockets pass ident (256 bytes) and *identlen. Returns 0, or
    -1 with e filled for a malformed message (already consumed), or -2 when interrupted. */
int tl_recv (zsock_t *sock, void *ident, size_t *identlen, tl_msg_t *m, tl_err_t *e);
/*  tl_recv without waiting: -3 when no message is there. Draining a socket with it costs no
    poll per message (zsock_events would). */
int tl_recv_nowait (zsock_t *sock, void *ident, size_t *identlen, tl_msg_t *m, tl_err_t *e);
/*  Coalescing for a busy loop: the microsecond clock, and a sleep for the rest of `min_us`
    since `started_us` (tl_now_us at the round's start). A round that found messages calls
    it at its end, so that the next one finds many where it found one: tasks of a few KiB end
    every 50 us, and each message then woke the broker and the reducer on its own (strace: 8
    and 5 polls per task). Taken only after work, so an idle process still wakes at once. */
void tl_pace (int64_t started_us, int64_t min_us);
/*  Log a dropped message at most once a second (with how many were dropped meanwhile). */
void tl_badmsg (const char *from, const tl_err_t *e);
uint64_t tl_badmsg_count (void);
/*  A well-formed message of a type this socket does not take: dropped like a bad one. */
void tl_badmsg_unexpected (const char *from, tl_msg_type_t type);
#endif
