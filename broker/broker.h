/*  broker.h — `tally broker`: lists the input, cuts it into tasks and hands them out on demand. */
#ifndef TL_BROKER_H
#define TL_BROKER_H
#include "broker/opts.h"
int tl_broker_main (int argc, char **argv);
/*  The broker with options already parsed (tl_broker_parse): takes what o holds and leaves it
    empty. Returns the exit status. */
int tl_broker_run (tl_broker_opts_t *o);
#endif
