/*  provision.c — `tally provision up|status|down|price`: the command line. It parses the
    options, then calls the backend's interface (backend.h): ec2 (ec2.c), ssh (ssh.c) or local
    (local.c), found by name. What is common to every backend lives here: the broker must
    answer before `up` creates anything, the fleet's state file is created before the backend
    starts, and `down` keeps the file while anything is left to clean up, so it can be run
    again. Messages go through tl_log, so --log-format json holds; results go to stdout. */
#include "provision/provision.h"
#include "provision/backend.h"
#include "provision/fleet.h"
#include "provision/join.h"
#include "lib/base/log.h"
#include "lib/base/opt.h"
#include "lib/base/util.h"
#include "mapper/opts.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const tl_prov_backend_t *const s_backends [] = { &tl_prov_ec2, &tl_prov_ssh, &tl_prov_local };

const tl_prov_backend_t *
tl_prov_backend (const char *name)
{
    for (size_t i = 0; name && i < sizeof s_backends / sizeof s_backends [0]; i++)
        if (strcmp (s_backends [i]->name, name) == 0)
            return s_backends [i];
    return NULL;
}

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally provision up     --backend ec2|ssh|local --broker EP [options]\n"
             "       tally provision status [--fleet NAME]\n"
             "       tally provision down   [--fleet NAME]\n"
             "       tally provision price  --instance-type T [--region R]\n"
             "\n"
             "Starts mappers for a fleet, shows them and what they cost, and stops them. `up` asks the\n"
             "broker first (nothing is started if it does not answer) and waits until the mappers\n"
             "have joined it, or their job has ended (a short job can end before they are seen).\n"
             "`down` stops everything `up` made, even after a failed `up`.\n"
             "\n"
             "common:\n"
             "  --fleet NAME           fleet name (default tally); EC2 instances are tagged tally-fleet=NAME\n"
             "  --broker EP            the broker as the mappers reach it (tcp://HOST:PORT)\n"
             "  --count N              mappers to start (ec2, local; default 1)\n"
             "  --slots N              slots per mapper (default: the machine's cores)\n"
             "  --wait SECS            how long up waits for mappers to join, down for them to stop (default 300)\n"
             "  --max-lifetime DUR     every mapper stops after this long, whatever happens (default 1h;\n"
             "                         e.g. 90m, 2h, 3600s)\n"
             "  --keys DIR             CURVE keys (tally keygen), to reach a broker that uses them\n"
             "  --mapper-args ARGS     more mapper options, e.g. \"--range-size 16M --concurrency 8\"\n"
             "  --state-dir DIR        where fleets are remembered (default $XDG_STATE_HOME/tally or\n"
             "                         ~/.local/state/tally)\n"
             "ec2:\n"
             "  --instance-type T      (default i3en.2xlarge)\n"
             "  --spot                 spot instances (one-time, terminate on interruption)\n"
             "  --max-price P          spot bid cap in $/h (default: the on-demand price)\n"
             "  --ami ID               a Debian 12 image (default: Debian's newest, looked up)\n"
             "  --subnet ID, --security-group ID, --key-name K, --iam-instance-profile NAME\n"
             "  --deb FILE             the tally .deb to install (cpack -G DEB in a build folder)\n"
             "  --stage s3://BUCKET/PREFIX  where up puts the .deb; instances fetch it with a\n"
             "                         presigned URL; down deletes it\n"
             "  --deb-url URL          instead of --deb/--stage: a URL the instances can fetch the .deb from\n"
             "  --region R, --endpoint-url URL (default AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL)\n"
             "ssh:\n"
             "  --hosts FILE           one [user@]host[:port] per line (# comments)\n"
             "  --identity FILE        ssh private key\n"
             "  --ssh-option OPT       passed as ssh -o OPT (repeatable)\n"
             "  --binary FILE          the tally to copy (default: this one); hosts need its libraries\n"
             "  --remote-dir DIR       under the remote home (default .tally)\n"
             "\n"
             "Cost: status and down print instance-hours x the spot price in effect (from EC2's spot\n"
             "price history; per second, 60 s minimum) per instance and for the fleet.\n");
}

/*  A usage error: one log line (the help is on --help). */
static void
s_usage_error (void)
{
    tl_error ("usage: tally provision up|status|down|price [options] (tally provision --help)");
}

static int
s_parse_duration (const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul (s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned long mul = 1;
    if (*end == 'h')
        mul = 3600;
    else if (*end == 'm')
        mul = 60;
    else if (*end == 's' || *end == 0)
        mul = 1;
    else
        return -1;
    if (*end && end [1])
        return -1;
    if (v == 0 || v > 7UL * 24 * 3600 / mul)
        return -1;
    *out = (unsigned) (v * mul);
    return 0;
}

/*  The flags up hands its mappers (--slots, --fleet, --keys, --mapper-args), through the
    mapper's own parser: a flag a mapper would refuse is refused here, before anything starts,
    with the mapper's message. Remote mappers run this same tally (--binary, the .deb of this
    version). Sets o->slots. 0, or 2 after the message. */
static int
s_check_mapper_flags (tl_prov_opts_t *o)
{
    char *argv [48];
    int n = 0;
    argv [n++] = (char *) "mapper";
    argv [n++] = (char *) "--broker";
    argv [n++] = (char *) o->broker;
    argv [n++] = (char *) "--fleet";
    argv [n++] = (char *) o->fleet;
    argv [n++] = (char *) "--stay";
    if (o->slots_arg) {
        argv [n++] = (char *) "--slots";
        argv [n++] = (char *) o->slots_arg;
    }
    if (o->keys) {
        argv [n++] = (char *) "--keys";
        argv [n++] = (char *) o->keys;
    }
    for (int i = 0; i < o->n_margv; i++)
        argv [n++] = o->margv [i];
    argv [n] = NULL;
    tl_mapper_opts_t mo = { 0 };
    if (tl_mapper_parse (n, argv, &mo) != 0)
        return 2;
    o->slots = mo.nslots;
    return 0;
}

static int
s_up (tl_prov_opts_t *o)
{
    const tl_prov_backend_t *b = tl_prov_backend (o->backend);
    if (!b) {
        tl_error ("up: --backend is ec2, ssh or local");
        return 2;
    }
    if (!o->broker) {
        tl_error ("up: --broker tcp://HOST:PORT is required (the broker as mappers reach it)");
        return 2;
    }
    if (s_check_mapper_flags (o) != 0)
        return 2;
    if (b->check && b->check (o) != 0)
        return 2;
    json_t *st = tl_fleet_load (o);
    if (st && json_string_value (json_object_get (st, "backend"))) {
        tl_error ("up: fleet %s exists (%s); run tally provision down --fleet %s first, or pick another --fleet",
                  o->fleet, json_string_value (json_object_get (st, "backend")), o->fleet);
        json_decref (st);
        return 2;
    }
    json_decref (st);
    int64_t t0 = tl_now_ms ();
    tl_err_t e = { 0 };
    /* The broker must answer before anything is started. */
    if (tl_prov_ping (o, 5000, NULL, &e) < 0) {
        tl_error ("%s; nothing was started", e.msg);
        return 1;
    }
    st = json_pack ("{s:s, s:s, s:s, s:I}", "fleet", o->fleet, "backend", b->name, "broker", o->broker, "created",
                    (json_int_t) time (NULL));
    if (tl_fleet_save (o, st, &e) != 0) {
        tl_error ("%s", e.msg);
        json_decref (st);
        return 1;
    }
    int rc = b->up (o, st, t0);
    json_decref (st);
    return rc;
}

static int
s_status_down (tl_prov_opts_t *o)
{
    json_t *st = tl_fleet_load (o);
    const char *name = st ? json_string_value (json_object_get (st, "backend")) : o->backend;
    if (!name) {
        char dir [1024], file [256];
        tl_fleet_path (o, dir, sizeof dir, file, sizeof file);
        tl_error ("%s: no fleet '%s' here (no %s/%s); for EC2 pass --backend ec2 to find instances by their tag",
                  o->cmd, o->fleet, dir, file);
        json_decref (st);
        return 1;
    }
    const tl_prov_backend_t *b = tl_prov_backend (name);
    if (!b) {
        tl_error ("fleet %s has an unknown backend '%s'", o->fleet, name);
        json_decref (st);
        return 1;
    }
    if (st && !o->broker)
        o->broker = json_string_value (json_object_get (st, "broker"));
    if (b->adopt)
        b->adopt (o, st);
    bool down = strcmp (o->cmd, "down") == 0;
    int rc = down ? b->down (o, st) : b->status (o, st);
    if (down && st) {
        /* Keep the file while something is left to clean up, so down can be run again. */
        tl_err_t e = { 0 };
        if (rc == 0 && !json_object_get (st, "staged") && !json_array_size (json_object_get (st, "hosts")))
            tl_fleet_remove (o);
        else
            tl_fleet_save (o, st, &e);
    }
    json_decref (st);
    return rc;
}

int
tl_provision_main (int argc, char **argv)
{
    static const struct option opts [] = {
        { "backend", required_argument, 0, 'B' },     { "fleet", required_argument, 0, 'f' },
        { "broker", required_argument, 0, 'b' },      { "count", required_argument, 0, 'c' },
        { "slots", required_argument, 0, 's' },       { "wait", required_argument, 0, 'w' },
        { "max-lifetime", required_argument, 0, 'L' }, { "keys", required_argument, 0, 'k' },
        { "state-dir", required_argument, 0, 'D' },   { "instance-type", required_argument, 0, 't' },
        { "spot", no_argument, 0, 'S' },              { "max-price", required_argument, 0, 'p' },
        { "ami", required_argument, 0, 'a' },         { "subnet", required_argument, 0, 'n' },
        { "security-group", required_argument, 0, 'g' }, { "key-name", required_argument, 0, 'K' },
        { "iam-instance-profile", required_argument, 0, 'I' }, { "stage", required_argument, 0, 'X' },
        { "deb", required_argument, 0, 'd' },         { "deb-url", required_argument, 0, 'U' },
        { "endpoint-url", required_argument, 0, 'e' }, { "region", required_argument, 0, 'r' },
        { "hosts", required_argument, 0, 'H' },       { "identity", required_argument, 0, 'i' },
        { "ssh-option", required_argument, 0, 'o' },  { "binary", required_argument, 0, 'x' },
        { "remote-dir", required_argument, 0, 'R' },  { "verbose", no_argument, 0, 'v' },
        { "quiet", no_argument, 0, 'q' },             { "help", no_argument, 0, 'h' },
        { "mapper-args", required_argument, 0, 'M' },
        { 0, 0, 0, 0 },
    };
    tl_prov_opts_t o = { .fleet = "tally", .count = 1, .wait_s = 300, .lifetime_s = 3600, .itype = "i3en.2xlarge",
                   .remote_dir = ".tally" };
    int level = TL_LOG_INFO;
    tl_log_init ("provision", level);   /* option errors are logged too */
    if (argc >= 2 && argv [1][0] != '-') {
        o.cmd = argv [1];
        argv++;
        argc--;
    }
    int c;
    uint64_t v;
    optind = 0;     /* GNU getopt: a full restart */
    while ((c = getopt_long (argc, argv, ":vqh", opts, NULL)) != -1) {     /* ':' getopt prints nothing */
        switch (c) {
            case 'B': o.backend = optarg; break;
            case 'f':
                if (!*optarg || strlen (optarg) > 63 || strspn (optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                      "0123456789-_.") != strlen (optarg)) {
                    tl_error ("--fleet is 1 to 63 letters, digits, '-', '_' or '.'");
                    return 2;
                }
                o.fleet = optarg;
                break;
            case 'b': o.broker = optarg; break;
            case 'c':
                if (tl_parse_uint (optarg, 1, TL_PROV_MAX_HOSTS, &v) != 0) {
                    tl_error ("--count is 1 to %d, not '%s'", TL_PROV_MAX_HOSTS, optarg);
                    return 2;
                }
                o.count = (unsigned) v;
                break;
            case 's': o.slots_arg = optarg; break;     /* the mapper's: see s_check_mapper_flags */
            case 'w':
                if (tl_parse_uint (optarg, 0, 86400, &v) != 0) {
                    tl_error ("--wait is 0 to 86400 seconds, not '%s'", optarg);
                    return 2;
                }
                o.wait_s = (unsigned) v;
                break;
            case 'L':
                if (s_parse_duration (optarg, &o.lifetime_s) != 0) {
                    tl_error ("--max-lifetime is a duration up to 7 days (90m, 2h), not '%s'",
                             optarg);
                    return 2;
                }
                break;
            case 'k': o.keys = optarg; break;
            case 'D': o.state_dir = optarg; break;
            case 't': o.itype = optarg; break;
            case 'S': o.spot = true; break;
            case 'p':
                if (atof (optarg) <= 0) {
                    tl_error ("--max-price is dollars per hour, e.g. 0.30, not '%s'", optarg);
                    return 2;
                }
                o.max_price = optarg;
                break;
            case 'a': o.ami = optarg; break;
            case 'n': o.subnet = optarg; break;
            case 'g': o.sg = optarg; break;
            case 'K': o.key_name = optarg; break;
            case 'I': o.profile = optarg; break;
            case 'X':
                if (strncmp (optarg, "s3://", 5) != 0 || !optarg [5]) {
                    tl_error ("--stage is s3://BUCKET/PREFIX, not '%s'", optarg);
                    return 2;
                }
                o.stage = optarg;
                break;
            case 'd': o.deb = optarg; break;
            case 'U': o.deb_url = optarg; break;
            case 'e': o.endpoint = optarg; break;
            case 'r': o.region = optarg; break;
            case 'H': o.hosts = optarg; break;
            case 'i': o.identity = optarg; break;
            case 'o':
                if (o.n_ssh_opts == TL_PROV_MAX_SSH_OPTS) {
                    tl_error ("at most %d --ssh-option", TL_PROV_MAX_SSH_OPTS);
                    return 2;
                }
                o.ssh_opts [o.n_ssh_opts++] = optarg;
                break;
            case 'x': o.binary = optarg; break;
            case 'M': {
                /* Words of letters, digits and - _ . , : / = only: they go into shell and
                   /etc/default lines on other machines. */
                size_t len = strlen (optarg);
                if (strspn (optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/= ") != len) {
                    tl_error ("--mapper-args takes plain words (letters, digits, - _ . , : / =)");
                    return 2;
                }
                o.margs = optarg;
                char *copy = strdup (optarg);
                for (char *w = strtok (copy, " "); w && o.n_margv < 32; w = strtok (NULL, " "))
                    o.margv [o.n_margv++] = w;
                break;
            }
            case 'R': o.remote_dir = optarg; break;
            case 'v': level = TL_LOG_DEBUG; break;
            case 'q': level = TL_LOG_WARN; break;
            case 'h': s_usage (stdout); return 0;
            default: {
                char why [512];
                tl_error ("%s (see tally provision --help)", tl_opt_problem (c, argv, opts, why, sizeof why));
                return 2;
            }
        }
    }
    if (optind < argc && !o.cmd)
        o.cmd = argv [optind++];
    if (optind < argc) {
        tl_error ("unexpected argument '%s'", argv [optind]);
        return 2;
    }
    tl_log_init ("provision", level);
    if (!o.cmd) {
        s_usage_error ();
        return 2;
    }
    if (strcmp (o.cmd, "price") == 0)
        return tl_prov_ec2_price (&o);
    if (strcmp (o.cmd, "up") == 0)
        return s_up (&o);
    if (strcmp (o.cmd, "status") != 0 && strcmp (o.cmd, "down") != 0) {
        tl_error ("unknown command '%s' (up, status, down, price)", o.cmd);
        return 2;
    }
    return s_status_down (&o);
}
