/*  fleet.c — see fleet.h. */
#include "provision/fleet.h"
#include "lib/base/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
tl_fleet_path (const tl_prov_opts_t *o, char *dir, size_t dlen, char *file, size_t flen)
{
    if (o->state_dir)
        snprintf (dir, dlen, "%s/provision", o->state_dir);
    else if (getenv ("XDG_STATE_HOME") && *getenv ("XDG_STATE_HOME"))
        snprintf (dir, dlen, "%s/tally/provision", getenv ("XDG_STATE_HOME"));
    else
        snprintf (dir, dlen, "%s/.local/state/tally/provision", getenv ("HOME") ? getenv ("HOME") : "/tmp");
    snprintf (file, flen, "%s.json", o->fleet);
}

json_t *
tl_fleet_load (const tl_prov_opts_t *o)
{
    char dir [1024], name [256], path [1400];
    tl_fleet_path (o, dir, sizeof dir, name, sizeof name);
    snprintf (path, sizeof path, "%s/%s", dir, name);
    json_error_t je;
    return json_load_file (path, 0, &je);
}

int
tl_fleet_save (const tl_prov_opts_t *o, json_t *st, tl_err_t *e)
{
    char dir [1024], name [256];
    tl_fleet_path (o, dir, sizeof dir, name, sizeof name);
    if (tl_mkdirs (dir, e) != 0)
        return e->code;
    char *text = json_dumps (st, JSON_INDENT (2) | JSON_SORT_KEYS);
    if (!text)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    int rc = tl_write_atomic (dir, name, text, strlen (text), e);
    free (text);
    return rc;
}

void
tl_fleet_remove (const tl_prov_opts_t *o)
{
    char dir [1024], name [256], path [1400];
    tl_fleet_path (o, dir, sizeof dir, name, sizeof name);
    snprintf (path, sizeof path, "%s/%s", dir, name);
    unlink (path);
}
