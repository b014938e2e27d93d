/*  opts.h — the broker's command line as parsed (opts.c). Parsing only reads: it neither
    connects, nor lists, nor starts the log, so `tally run` parses the argv it builds for its
    broker with this same parser before anything is started, and hands the result to the child
    (tl_broker_run): one set of rules, one message for a bad flag. */
#ifndef TL_BROKER_OPTS_H
#define TL_BROKER_OPTS_H
#include "broker/sched.h"
#include "cli/query_opts.h"
#include "lib/store/store.h"
#include <stdbool.h>
#include <stdint.h>

#define MAX_INPUTS 100000

typedef struct {
    const char *listen, *reducer_ep, *col;
    char **inputs;          /* --input and the lines of --input-from, as given (owned) */
    int ninputs;
    size_t capinputs;
    bool skip_missing;      /* --skip-missing: an input that is not found is a warning */
    tl_store_cfg_t cfg;
    uint64_t split;
    int64_t hb_ms;
    tl_sched_cfg_t sc;
    const char *state_dir;
    const char *keys;
    const char *metrics;
    tl_qargs_t qa;
    bool quiet;
    bool fresh;             /* --fresh: discard the state dir's old journal */
    double verify_fraction; /* --verify-fraction: re-run this share of tasks elsewhere and compare */
    char *col_text;         /* the query text built from the options (owned) */
    int level;              /* the log level (-v, -q) */
} tl_broker_opts_t;

/*  Parse the command line into o (zeroed by the caller; strings are borrowed from argv, except
    inputs and col_text). Reads --input-from's file (or stdin), and nothing else. Returns 0, 1
    after --help (exit 0), or 2 (a usage error, said on stderr in one line). Free o with
    tl_broker_opts_free whatever it returns. */
int tl_broker_parse (int argc, char **argv, tl_broker_opts_t *o);
/*  Free what parsing allocated (the inputs, the query text); o can be parsed into again. */
void tl_broker_opts_free (tl_broker_opts_t *o);
#endif
