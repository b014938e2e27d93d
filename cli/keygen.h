/*  keygen.h — `tally keygen`: write a fleet's CURVE key folder (see lib/wire/security.h). */
#ifndef TL_KEYGEN_H
#define TL_KEYGEN_H
int tl_keygen_main (int argc, char **argv);
#endif
