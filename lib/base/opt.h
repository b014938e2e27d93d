/*  opt.h — a command line's mistakes in one line. Every role parses its options with GNU
    getopt_long and an optstring that starts with ':' (so getopt prints nothing itself); when it
    returns '?' or ':', tl_opt_problem names the argument that was wrong. One line, the same from
    `tally ROLE` and from `tally run`, which parses its children's arguments with their parsers
    (cli/run.c). */
#ifndef TL_OPT_H
#define TL_OPT_H
#include <getopt.h>
#include <stddef.h>

/*  What was wrong, into buf (len bytes), after getopt_long (argv, ":...", opts) returned c ('?'
    or ':'): "unrecognized option '--bogus'", "option '--slots' wants a value", "option '--quiet'
    takes no value" or "ambiguous option '--s' (--slots, --sort, ...)". Returns buf. */
const char *tl_opt_problem (int c, char **argv, const struct option *opts, char *buf, size_t len);
/*  Print "WHO: PROBLEM (see WHO --help)" on stderr and return 2, the usage error's exit status. */
int tl_opt_fail (const char *who, int c, char **argv, const struct option *opts);
#endif
