/*  mapper.h — `tally mapper`: takes tasks from the broker, counts, pushes partials. */
#ifndef TL_MAPPER_H
#define TL_MAPPER_H
#include "mapper/opts.h"
int tl_mapper_main (int argc, char **argv);
/*  The mapper with options already parsed (tl_mapper_parse). Returns the exit status. */
int tl_mapper_run (const tl_mapper_opts_t *o);
#endif
