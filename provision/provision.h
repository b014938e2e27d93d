/*  provision.h — `tally provision`: start, list and stop fleets of mappers (EC2, ssh, local). */
#ifndef TL_PROVISION_H
#define TL_PROVISION_H
int tl_provision_main (int argc, char **argv);
#endif
