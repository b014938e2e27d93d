/*  fleet.h — a fleet's state file, STATE_DIR/provision/FLEET.json (STATE_DIR: --state-dir, else
    $XDG_STATE_HOME/tally, else ~/.local/state/tally). It is written after every step that
    creates something, so `down` can clean up after an `up` that failed half-way or was killed. */
#ifndef TL_PROV_FLEET_H
#define TL_PROV_FLEET_H
#include "provision/backend.h"
#include "lib/base/err.h"
#include <stddef.h>

/*  The folder of state files and the file's name in it. */
void tl_fleet_path (const tl_prov_opts_t *o, char *dir, size_t dlen, char *file, size_t flen);
/*  The fleet's state, or NULL if there is none. */
json_t *tl_fleet_load (const tl_prov_opts_t *o);
/*  Write st atomically. */
int tl_fleet_save (const tl_prov_opts_t *o, json_t *st, tl_err_t *e);
void tl_fleet_remove (const tl_prov_opts_t *o);
#endif
