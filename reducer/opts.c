/*  opts.c — the reducer's command line (opts.h): its two addresses, the state dir, keys and
    metrics, and when the checkpoint log is compacted (--compact-bytes). */
#include "reducer/opts.h"
#include "lib/base/log.h"
#include "lib/base/opt.h"
#include "lib/base/util.h"
#include <getopt.h>
#include <stdio.h>

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally reducer --listen ENDPOINT --publish ENDPOINT [options]\n"
             "\n"
             "Applies each task's partial counts exactly once, keeps the running totals and\n"
             "publishes them live. After the job it keeps serving the final result until stopped.\n"
             "\n"
             "  --listen EP     where the broker and mappers connect (e.g. tcp://*:5556)\n"
             "  --publish EP    where watchers subscribe (e.g. tcp://*:5557)\n"
             "  --keys DIR      CURVE keys from tally keygen: authenticate and encrypt every peer\n"
             "  --metrics-listen ADDR  Prometheus metrics at http://ADDR/metrics\n"
             "  --state-dir DIR checkpoint totals and applied tasks here; restart with the same DIR\n"
             "                  after a crash to carry on\n"
             "  --compact-bytes SIZE  write a new base of the checkpoint when its log outgrows\n"
             "                  SIZE (default: max(64M, twice the base's or the state's size); 0: a\n"
             "                  whole base at every checkpoint)\n"
             "  -v, --verbose   more logging\n"
             "  -q, --quiet     warnings and errors only\n"
             "  -h, --help      this text\n");
}

int
tl_reducer_parse (int argc, char **argv, tl_reducer_opts_t *o)
{
    static const struct option opts [] = {
        { "listen", required_argument, 0, 'l' }, { "publish", required_argument, 0, 'p' },
        { "state-dir", required_argument, 0, 's' }, { "keys", required_argument, 0, 'k' },
        { "metrics-listen", required_argument, 0, 'P' }, { "compact-bytes", required_argument, 0, 'C' },
        { "verbose", no_argument, 0, 'v' },      { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },         { 0, 0, 0, 0 },
    };
    int c;
    o->level = TL_LOG_INFO;
    optind = 0;     /* GNU getopt: a full restart (tally run parses several command lines) */
    while ((c = getopt_long (argc, argv, ":vqh", opts, NULL)) != -1) {
        switch (c) {
            case 'l': o->listen = optarg; break;
            case 'p': o->publish = optarg; break;
            case 's': o->state_dir = optarg; break;
            case 'k': o->keys = optarg; break;
            case 'P': o->metrics = optarg; break;
            case 'C':
                if (tl_parse_size (optarg, &o->compact_bytes) != 0) {
                    fprintf (stderr, "tally reducer: --compact-bytes wants a size (like 64M, or 0), not '%s'\n",
                             optarg);
                    return 2;
                }
                o->compact_set = true;
                break;
            case 'v': o->level = TL_LOG_DEBUG; break;
            case 'q': o->level = TL_LOG_WARN; break;
            case 'h': s_usage (stdout); return 1;
            default: return tl_opt_fail ("tally reducer", c, argv, opts);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tally reducer: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    if (!o->listen || !o->publish) {
        fprintf (stderr, "tally reducer: --listen and --publish are required (see --help)\n");
        return 2;
    }
    return 0;
}
