/*  opt.c — see opt.h. */
#include "lib/base/opt.h"
#include <stdio.h>
#include <string.h>

const char *
tl_opt_problem (int c, char **argv, const struct option *opts, char *buf, size_t len)
{
    /* getopt has moved optind past the argument it complains about (for a short option in the
       middle of a cluster such as -xv it has not, which optopt covers). */
    const char *a = optind > 0 ? argv [optind - 1] : "";
    if (strncmp (a, "--", 2) != 0) {
        if (c == ':')
            snprintf (buf, len, "option '-%c' wants a value", optopt);
        else
            snprintf (buf, len, "unrecognized option '-%c'", optopt);
        return buf;
    }
    const char *name = a + 2;
    size_t n = strcspn (name, "=");
    const struct option *hit = NULL;
    int prefixes = 0;
    for (const struct option *o = opts; n && o->name; o++) {
        if (strlen (o->name) == n && strncmp (o->name, name, n) == 0) {
            hit = o;
            prefixes = 1;
            break;
        }
        if (strncmp (o->name, name, n) == 0) {
            hit = o;
            prefixes++;
        }
    }
    if (prefixes == 1 && c == ':')
        snprintf (buf, len, "option '--%s' wants a value", hit->name);
    else if (prefixes == 1 && name [n] == '=')
        snprintf (buf, len, "option '--%s' takes no value", hit->name);
    else if (prefixes > 1) {
        size_t off = (size_t) snprintf (buf, len, "ambiguous option '--%.*s' (", (int) n, name);
        int shown = 0;
        for (const struct option *o = opts; o->name && off < len; o++)
            if (strncmp (o->name, name, n) == 0)
                off += (size_t) snprintf (buf + off, len - off, "%s--%s", shown++ ? ", " : "", o->name);
        if (off < len)
            snprintf (buf + off, len - off, ")");
    }
    else
        snprintf (buf, len, "unrecognized option '--%.*s'", (int) n, name);
    return buf;
}

int
tl_opt_fail (const char *who, int c, char **argv, const struct option *opts)
{
    char buf [512];
    fprintf (stderr, "%s: %s (see %s --help)\n", who, tl_opt_problem (c, argv, opts, buf, sizeof buf), who);
    return 2;
}
