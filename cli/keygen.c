/*  keygen.c — `tally keygen --dir DIR`: the command around tl_keygen (lib/wire/security.c). */
#include "cli/keygen.h"
#include "lib/base/opt.h"
#include "lib/wire/security.h"
#include <getopt.h>
#include <stdio.h>

int
tl_keygen_main (int argc, char **argv)
{
    static const struct option opts [] = { { "dir", required_argument, 0, 'd' }, { "help", no_argument, 0, 'h' },
                                           { 0, 0, 0, 0 } };
    const char *dir = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'h') {
            printf ("usage: tally keygen --dir DIR\n\n"
                    "Writes CURVE key pairs for a fleet: server.cert(_secret) for broker and reducer,\n"
                    "client.cert(_secret) for mappers and watchers, and clients/ (the allow-list).\n"
                    "Secret files are mode 0600. Pass --keys DIR to every tally command.\n");
            return 0;
        }
        else
            return tl_opt_fail ("tally keygen", c, argv, opts);
    }
    if (!dir || optind < argc) {
        fprintf (stderr, "tally keygen: --dir is required (see --help)\n");
        return 2;
    }
    tl_err_t e;
    if (tl_keygen (dir, &e) != 0) {
        fprintf (stderr, "tally keygen: %s\n", e.msg);
        return 1;
    }
    printf ("keys written to %s (secrets mode 0600); pass --keys %s to broker, reducer, mappers and watch\n", dir, dir);
    return 0;
}
