/*  run.h — `tally run`: the whole pipeline on this machine, as separate processes. */
#ifndef TL_RUN_H
#define TL_RUN_H
int tl_run_main (int argc, char **argv);
#endif
