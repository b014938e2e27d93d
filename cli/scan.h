/*  scan.h — `tally scan`: count locally in one process with the mapper's slot code. */
#ifndef TL_SCAN_H
#define TL_SCAN_H
int tl_scan_main (int argc, char **argv);
#endif
