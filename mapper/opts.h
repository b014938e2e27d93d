/*  opts.h — the mapper's command line as parsed (opts.c). Parsing only reads: the defaults that
    depend on the process (the cores, the host-pid name) and the settings that act (the page
    cap, the log) are applied by tl_mapper_run, so `tally run` and `tally provision` can check
    the argv they build for their mappers with this same parser before they start any. */
#ifndef TL_MAPPER_OPTS_H
#define TL_MAPPER_OPTS_H
#include "lib/store/store.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *broker_ep;  /* --broker */
    const char *name;       /* --name; NULL: host-pid */
    const char *fleet;      /* --fleet */
    uint32_t nslots;        /* --slots; 0: the number of cores */
    bool stay;
    tl_store_cfg_t cfg;     /* --rate-limit, --range-size, --concurrency, --endpoint-url, --no-sign-request */
    uint64_t max_page;      /* --max-page-size; 0: TALLY_MAX_PAGE_SIZE or the default */
    const char *keys, *metrics;
    int level;              /* the log level (-v, -q) */
} tl_mapper_opts_t;

/*  Parse the command line into o (zeroed by the caller; strings are borrowed from argv). Returns
    0, 1 after --help (exit 0), or 2 (a usage error, said on stderr in one line). */
int tl_mapper_parse (int argc, char **argv, tl_mapper_opts_t *o);
#endif
