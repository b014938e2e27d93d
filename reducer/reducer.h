/*  reducer.h — `tally reducer`: applies partials once, keeps totals, publishes them live. */
#ifndef TL_REDUCER_H
#define TL_REDUCER_H
int tl_reducer_main (int argc, char **argv);
#endif
