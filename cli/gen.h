/*  gen.h — `tally gen`: synthetic TLC yellow-trip CSVs with every quirk, plus ground truth. */
#ifndef TL_GEN_H
#define TL_GEN_H
int tl_gen_main (int argc, char **argv);
#endif
