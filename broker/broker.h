/*  broker.h — `tally broker`: lists the input, cuts it into tasks and hands them out on demand. */
#ifndef TL_BROKER_H
#define TL_BROKER_H
int tl_broker_main (int argc, char **argv);
#endif
