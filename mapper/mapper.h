/*  mapper.h — `tally mapper`: takes tasks from the broker, counts, pushes partials. */
#ifndef TL_MAPPER_H
#define TL_MAPPER_H
int tl_mapper_main (int argc, char **argv);
#endif
