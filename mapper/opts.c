/*  opts.c — the mapper's command line (opts.h): where the broker is, the slots, the reading
    (rate, range size, concurrency, page cap), the fleet, keys and metrics. */
#include "mapper/opts.h"
#include "lib/base/log.h"
#include "lib/base/opt.h"
#include "lib/base/util.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally mapper --broker ENDPOINT [options]\n"
             "\n"
             "Takes tasks from the broker as slots free up, streams each object, counts the\n"
             "group-by column and pushes the partial counts to the reducer.\n"
             "\n"
             "  --broker EP          the broker (e.g. tcp://10.0.0.1:5555)\n"
             "  --slots N            tasks run at once (default: number of cores)\n"
             "  --name NAME          name shown in the broker's logs (default: host-pid)\n"
             "  --rate-limit BYTES   cap each slot's read rate, e.g. 10M (bytes/s; default none)\n"
             "  --range-size SIZE    HTTP/S3 objects are read as ranged GETs of this size (default 8M)\n"
             "  --concurrency N      ranged GETs in flight per slot (default 4)\n"
             "  --max-page-size SIZE refuse a Parquet page or dictionary that decompresses past this (default 256M;\n"
             "                       also TALLY_MAX_PAGE_SIZE)\n"
             "  --endpoint-url URL   S3 endpoint, overriding what the broker says\n"
             "  --no-sign-request    anonymous S3 requests\n"
             "  --stay               stay for the next job instead of exiting when a job ends\n"
             "  --fleet NAME         the provisioned fleet this mapper belongs to (tally provision)\n"
             "  --keys DIR           CURVE keys from tally keygen (client.cert_secret, server.cert)\n"
             "  --metrics-listen ADDR  Prometheus metrics at http://ADDR/metrics\n"
             "  -v, --verbose / -q, --quiet\n"
             "  -h, --help\n"
             "\n"
             "AWS credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.\n");
}

int
tl_mapper_parse (int argc, char **argv, tl_mapper_opts_t *o)
{
    static const struct option opts [] = {
        { "broker", required_argument, 0, 'b' },  { "slots", required_argument, 0, 's' },
        { "name", required_argument, 0, 'n' },    { "rate-limit", required_argument, 0, 'r' },
        { "endpoint-url", required_argument, 0, 'e' }, { "no-sign-request", no_argument, 0, 'N' },
        { "stay", no_argument, 0, 'S' },          { "verbose", no_argument, 0, 'v' },
        { "range-size", required_argument, 0, 'R' }, { "concurrency", required_argument, 0, 'C' },
        { "keys", required_argument, 0, 'k' }, { "metrics-listen", required_argument, 0, 'P' },
        { "quiet", no_argument, 0, 'q' },         { "help", no_argument, 0, 'h' },
        { "fleet", required_argument, 0, 'F' },   { "max-page-size", required_argument, 0, 'X' },
        { 0, 0, 0, 0 },
    };
    int c;
    uint64_t v;
    o->level = TL_LOG_INFO;
    optind = 0;     /* GNU getopt: a full restart (tally run parses several command lines) */
    while ((c = getopt_long (argc, argv, ":vqh", opts, NULL)) != -1) {
        switch (c) {
            case 'b': o->broker_ep = optarg; break;
            case 's':
                if (tl_parse_uint (optarg, 1, 1024, &v)) {
                    fprintf (stderr, "tally mapper: --slots wants a number from 1 to 1024, not '%s'\n", optarg);
                    return 2;
                }
                o->nslots = (uint32_t) v;
                break;
            case 'n': o->name = optarg; break;
            case 'r':
                if (tl_parse_size (optarg, &o->cfg.rate_limit) || o->cfg.rate_limit == 0) {
                    fprintf (stderr, "tally mapper: --rate-limit wants bytes per second such as 10M, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'R':
                if (tl_parse_size (optarg, &o->cfg.range_size) || o->cfg.range_size < 4096) {
                    fprintf (stderr, "tally mapper: --range-size wants a size of at least 4K such as 8M, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'C':
                if (tl_parse_uint (optarg, 1, 64, &v)) {
                    fprintf (stderr, "tally mapper: --concurrency wants 1 to 64, not '%s'\n", optarg);
                    return 2;
                }
                o->cfg.concurrency = (int) v;
                break;
            case 'X':
                if (tl_parse_size (optarg, &o->max_page) || o->max_page < 4096) {
                    fprintf (stderr, "tally mapper: --max-page-size wants a size of at least 4K such as 256M, not '%s'\n",
                             optarg);
                    return 2;
                }
                break;
            case 'e': o->cfg.endpoint = optarg; break;
            case 'k': o->keys = optarg; break;
            case 'P': o->metrics = optarg; break;
            case 'N': o->cfg.nosign = true; break;
            case 'S': o->stay = true; break;
            case 'F':
                if (!*optarg || strlen (optarg) > 63 || strchr (optarg, '/')) {
                    fprintf (stderr, "tally mapper: --fleet is 1 to 63 characters without '/', not '%s'\n", optarg);
                    return 2;
                }
                o->fleet = optarg;
                break;
            case 'v': o->level = TL_LOG_DEBUG; break;
            case 'q': o->level = TL_LOG_WARN; break;
            case 'h': s_usage (stdout); return 1;
            default: return tl_opt_fail ("tally mapper", c, argv, opts);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tally mapper: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    if (!o->broker_ep) {
        fprintf (stderr, "tally mapper: --broker is required (see --help)\n");
        return 2;
    }
    return 0;
}
