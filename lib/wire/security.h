/*  security.h — CURVE authentication and encryption for every tally socket.

    A key folder made by `tally keygen --dir DIR` holds:
      server.cert, server.cert_secret   the broker's and reducer's key pair (clients pin server.cert)
      client.cert, client.cert_secret   the key pair of mappers, watchers and the broker as a client
      clients/                          the allow-list: public certificates of accepted clients
    Servers need server.cert_secret and clients/; clients need client.cert_secret and server.cert.
    Secret files are written mode 0600. A server socket refuses any peer whose key is not in
    clients/ (through czmq's zauth/ZAP), and every refused handshake is logged
    (HANDSHAKE_FAILED_AUTH, from a socket monitor). */
#ifndef TL_SECURITY_H
#define TL_SECURITY_H
#include "lib/base/err.h"
#include <czmq.h>

typedef struct tl_security tl_security_t;

/*  Load DIR. NULL dir means no security: returns NULL with no error (callers warn loudly). */
tl_security_t *tl_security_new (const char *dir, bool server, tl_err_t *e);
void tl_security_destroy (tl_security_t **self_p);
/*  Make s a CURVE server (before bind), and log refused handshakes under `name`. */
int tl_security_server (tl_security_t *self, zsock_t *s, const char *name, tl_err_t *e);
/*  Make s a CURVE client of the server key (before connect). */
int tl_security_client (tl_security_t *self, zsock_t *s, tl_err_t *e);
/*  Write a new key folder. */
int tl_keygen (const char *dir, tl_err_t *e);
#endif
