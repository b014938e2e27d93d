/*  userdata.c — see userdata.h. */
#include "provision/userdata.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Safe inside single quotes and on one line of /etc/default. */
static int
s_plain (const char *s)
{
    return s && *s && !strpbrk (s, "'\"\\\n\r`$ ");
}

void
tl_userdata_mapper_args (const tl_userdata_t *u, char *out, size_t outlen)
{
    char slots [32] = "";
    if (u->slots)
        snprintf (slots, sizeof slots, " --slots %u", u->slots);
    snprintf (out, outlen, "--fleet %s%s%s%s", u->fleet, slots, u->extra && *u->extra ? " " : "",
              u->extra ? u->extra : "");
}

char *
tl_userdata (const tl_userdata_t *u)
{
    if (!s_plain (u->fleet) || !s_plain (u->broker) || !s_plain (u->deb_url) || !u->max_lifetime_s
        || (u->extra && strpbrk (u->extra, "'\"\\\n\r`$;&|<>")))
        return NULL;
    char args [256];
    tl_userdata_mapper_args (u, args, sizeof args);
    unsigned minutes = (u->max_lifetime_s + 59) / 60;
    const char *fmt =
        "#!/bin/bash\n"
        "# tally %s: a mapper of fleet %s (written by tally provision up)\n"
        "set -u\n"
        "# Lifetime guard, armed first: power off after %u s whatever happens. The instance was\n"
        "# launched with InstanceInitiatedShutdownBehavior=terminate, so power-off ends the bill.\n"
        "shutdown -P +%u 'tally fleet %s: max lifetime reached' || (sleep %u; poweroff) &\n"
        "export DEBIAN_FRONTEND=noninteractive\n"
        "# Install step: the .deb staged by tally provision (a presigned URL), then its dependencies.\n"
        "for i in 1 2 3 4 5 6; do\n"
        "    curl -fsSL --retry 5 -o /tmp/tally.deb '%s' && break\n"
        "    sleep 10\n"
        "done\n"
        "apt-get update -q && apt-get install -y -q /tmp/tally.deb || { echo 'tally: install failed' >&2; poweroff; }\n"
        "# Service: tally-mapper.service (from the .deb) reads this file.\n"
        "cat > /etc/default/tally-mapper <<'TALLY_EOF'\n"
        "TALLY_BROKER=%s\n"
        "TALLY_MAPPER_ARGS=%s\n"
        "TALLY_EOF\n"
        "systemctl daemon-reload\n"
        "systemctl enable --now tally-mapper.service\n";
    size_t n = strlen (fmt) + strlen (u->fleet) * 2 + strlen (u->broker) + strlen (u->deb_url) + strlen (args)
               + (u->version ? strlen (u->version) : 0) + 64;
    char *out = malloc (n);
    if (out)
        snprintf (out, n, fmt, u->version ? u->version : "", u->fleet, u->max_lifetime_s, minutes, u->fleet,
                  u->max_lifetime_s, u->deb_url, u->broker, args);
    return out;
}
