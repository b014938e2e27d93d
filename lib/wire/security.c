/*  security.c — key folders, zauth, and a monitor actor that logs refused handshakes. */
#include "lib/wire/security.h"
#include "lib/base/log.h"
#include "lib/wire/net.h"
#include "lib/base/util.h"
#include <sys/stat.h>

#define MAX_MONITORS 8

struct tl_security {
    zcert_t *server;        /* with secret on servers, public only on clients */
    zcert_t *client;
    zactor_t *auth;
    zactor_t *monitors [MAX_MONITORS];
    char names [MAX_MONITORS][32];
    int nmon;
    zactor_t *watcher;
};

/*  The watcher: polls the monitors' pipes and logs each refused handshake. It owns no socket
    of its own; the monitor actors are created and destroyed by the owning thread. */
typedef struct {
    zactor_t **monitors;
    char (*names) [32];
    int n;
} s_watch_args_t;

static void
s_watcher (zsock_t *pipe, void *args)
{
    s_watch_args_t *a = args;
    zpoller_t *p = zpoller_new (pipe, NULL);
    for (int i = 0; i < a->n; i++)
        zpoller_add (p, a->monitors [i]);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (p, -1);
        if (!which || which == pipe)
            break;
        for (int i = 0; i < a->n; i++)
            if (which == a->monitors [i]) {
                zmsg_t *m = zmsg_recv (a->monitors [i]);
                char *ev = zmsg_popstr (m), *val = zmsg_popstr (m), *addr = zmsg_popstr (m);
                tl_warn ("refused a peer on the %s socket (%s): it did not authenticate with an allowed key",
                         a->names [i], ev ? ev : "?");
                zstr_free (&ev);
                zstr_free (&val);
                zstr_free (&addr);
                zmsg_destroy (&m);
            }
    }
    zpoller_destroy (&p);
    free (a);
}

tl_security_t *
tl_security_new (const char *dir, bool server, tl_err_t *e)
{
    if (!dir)
        return NULL;
    tl_security_t *self = calloc (1, sizeof *self);
    char path [4096];
    if (!self) {
        tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        return NULL;
    }
    snprintf (path, sizeof path, server ? "%s/server.cert_secret" : "%s/server.cert", dir);
    self->server = zcert_load (path);
    snprintf (path, sizeof path, "%s/client.cert_secret", dir);
    self->client = zcert_load (path);
    if (!self->server || !self->client) {
        tl_err_set (e, TL_EAUTH, 0, "--keys %s: %s missing or unreadable (make one with: tally keygen --dir %s)", dir,
                    !self->server ? (server ? "server.cert_secret" : "server.cert") : "client.cert_secret", dir);
        tl_security_destroy (&self);
        return NULL;
    }
    if (server) {
        snprintf (path, sizeof path, "%s/clients", dir);
        self->auth = tl_actor_new (zauth, NULL);
        if (!self->auth || zstr_sendx (self->auth, "CURVE", path, NULL) != 0 || zsock_wait (self->auth) != 0) {
            tl_err_set (e, TL_EAUTH, 0, "cannot start the authenticator for %s", path);
            tl_security_destroy (&self);
            return NULL;
        }
    }
    tl_info ("CURVE on: server key %.8s..., allow-list %s/clients", zcert_public_txt (self->server), dir);
    return self;
}

void
tl_security_destroy (tl_security_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_security_t *self = *self_p;
    zactor_destroy (&self->watcher);
    for (int i = 0; i < self->nmon; i++)
        zactor_destroy (&self->monitors [i]);
    zactor_destroy (&self->auth);
    zcert_destroy (&self->server);
    zcert_destroy (&self->client);
    free (self);
    *self_p = NULL;
}

int
tl_security_server (tl_security_t *self, zsock_t *s, const char *name, tl_err_t *e)
{
    if (!self)
        return 0;
    zcert_apply (self->server, s);
    zsock_set_curve_server (s, 1);
    zsock_set_zap_domain (s, "tally");
    if (self->nmon < MAX_MONITORS) {
        zactor_t *mon = tl_actor_new (zmonitor, s);
        if (mon) {
            zstr_sendx (mon, "LISTEN", "HANDSHAKE_FAILED_AUTH", NULL);
            zstr_sendx (mon, "LISTEN", "HANDSHAKE_FAILED_PROTOCOL", NULL);
            zstr_sendx (mon, "START", NULL);
            zsock_wait (mon);
            snprintf (self->names [self->nmon], sizeof self->names [0], "%s", name);
            self->monitors [self->nmon++] = mon;
        }
    }
    /* (Re)start the watcher over every monitor so far. */
    zactor_destroy (&self->watcher);
    s_watch_args_t *a = calloc (1, sizeof *a);
    if (!a)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    a->monitors = self->monitors;
    a->names = self->names;
    a->n = self->nmon;
    self->watcher = tl_actor_new (s_watcher, a);
    return 0;
}

int
tl_security_client (tl_security_t *self, zsock_t *s, tl_err_t *e)
{
    (void) e;
    if (!self)
        return 0;
    zcert_apply (self->client, s);
    zsock_set_curve_serverkey (s, zcert_public_txt (self->server));
    return 0;
}

int
tl_keygen (const char *dir, tl_err_t *e)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/clients", dir);
    if (tl_mkdirs (path, e) != 0)
        return e->code;
    static const char *names [] = { "server", "client" };
    for (int i = 0; i < 2; i++) {
        zcert_t *c = zcert_new ();
        if (!c)
            return tl_err_set (e, TL_ENOMEM, 0, "cannot make a key pair");
        zcert_set_meta (c, "role", "%s", names [i]);     /* kept tiny: zauth copies metadata into 512 bytes */
        snprintf (path, sizeof path, "%s/%s.cert", dir, names [i]);
        int rc = zcert_save (c, path);
        strncat (path, "_secret", sizeof path - strlen (path) - 1);
        if (rc == 0)
            rc = chmod (path, 0600);
        if (rc == 0 && i == 1) {
            snprintf (path, sizeof path, "%s/clients/client.cert", dir);
            rc = zcert_save_public (c, path);
        }
        zcert_destroy (&c);
        if (rc != 0)
            return tl_err_set (e, TL_EIO, 0, "cannot write keys in %s", dir);
    }
    return 0;
}
