/*  reducer.h — `tally reducer`: applies partials once, keeps totals, publishes them live. */
#ifndef TL_REDUCER_H
#define TL_REDUCER_H
#include "reducer/opts.h"
int tl_reducer_main (int argc, char **argv);
/*  The reducer with options already parsed (tl_reducer_parse). Returns the exit status. */
int tl_reducer_run (const tl_reducer_opts_t *o);
#endif
