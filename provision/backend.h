/*  backend.h — the provisioning interface: one vtable, three implementations (ec2.c, ssh.c,
    local.c), chosen by name from a table (tl_prov_backend). `tally provision` (provision.c)
    parses the command line into tl_prov_opts_t, then calls the backend; the backends share the
    fleet's state file (fleet.c) and the broker's join check (join.c). Every message goes
    through tl_log; results (tables, the fleet's summary) go to stdout. */
#ifndef TL_PROV_BACKEND_H
#define TL_PROV_BACKEND_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define TL_PROV_MAX_HOSTS 256
#define TL_PROV_MAX_SSH_OPTS 16
#define TL_PROV_TAG "tally-fleet"

/*  Everything the command line says (strings borrowed from argv). */
typedef struct {
    const char *cmd;
    const char *backend, *fleet, *broker, *state_dir, *keys;
    unsigned count, slots;  /* slots: from --slots (slots_arg) once the mapper's parser took it */
    const char *slots_arg;
    unsigned wait_s, lifetime_s;
    /* ec2 */
    const char *itype, *max_price, *ami, *subnet, *sg, *key_name, *profile, *stage, *deb, *deb_url;
    const char *endpoint, *region;
    bool spot;
    /* ssh */
    const char *hosts, *identity, *binary, *remote_dir;
    const char *margs;      /* --mapper-args: more mapper options, checked to be plain words */
    char *margv [32];
    int n_margv;
    const char *ssh_opts [TL_PROV_MAX_SSH_OPTS];
    int n_ssh_opts;
} tl_prov_opts_t;

/*  A backend. st is the fleet's state (a JSON object the backend adds to; it is saved by the
    backend after every step that creates something, and by the caller after down). Returns the
    command's exit status: 0, 1 (failed) or 2 (bad input). */
typedef struct {
    const char *name;
    /*  Options this backend needs before anything starts (NULL: none). 0, or 2 after a message. */
    int (*check) (const tl_prov_opts_t *o);
    /*  Start o->count mappers (or one per host) and wait until they join. */
    int (*up) (const tl_prov_opts_t *o, json_t *st, int64_t t0);
    /*  Show the fleet. st may be NULL (ec2 finds instances by their tag). */
    int (*status) (const tl_prov_opts_t *o, json_t *st);
    /*  Stop everything up made; leaves in st what is left to clean up. st may be NULL. */
    int (*down) (const tl_prov_opts_t *o, json_t *st);
    /*  Take settings up recorded in st where the command line leaves them unset (NULL: none). */
    void (*adopt) (tl_prov_opts_t *o, const json_t *st);
} tl_prov_backend_t;

extern const tl_prov_backend_t tl_prov_ec2;
extern const tl_prov_backend_t tl_prov_ssh;
extern const tl_prov_backend_t tl_prov_local;

/*  The backend called name, or NULL. */
const tl_prov_backend_t *tl_prov_backend (const char *name);
/*  `tally provision price`: spot prices per zone and the on-demand price (ec2.c). */
int tl_prov_ec2_price (const tl_prov_opts_t *o);
#endif
