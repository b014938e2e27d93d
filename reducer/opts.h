/*  opts.h — the reducer's command line as parsed (opts.c). Parsing only reads, so `tally run`
    checks the argv it builds for its reducer with this same parser before it starts anything. */
#ifndef TL_REDUCER_OPTS_H
#define TL_REDUCER_OPTS_H
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *listen, *publish;   /* --listen, --publish */
    const char *state_dir, *keys, *metrics;
    uint64_t compact_bytes;         /* --compact-bytes */
    bool compact_set;               /* given: otherwise the default bound (reducer/ckptfile.h) */
    int level;                      /* the log level (-v, -q) */
} tl_reducer_opts_t;

/*  Parse the command line into o (zeroed by the caller; strings are borrowed from argv). Returns
    0, 1 after --help (exit 0), or 2 (a usage error, said on stderr in one line). */
int tl_reducer_parse (int argc, char **argv, tl_reducer_opts_t *o);
#endif
