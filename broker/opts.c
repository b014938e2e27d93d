/*  opts.c — the broker's command line: inputs (repeated --input, --input-from), the query,
    splitting, timeouts, the state dir and the checks (--fresh, --verify-fraction). Parsing
    fails fast, before anything is listed or connected, and acts on nothing (opts.h). */
#include "broker/opts.h"
#include "lib/base/log.h"
#include "lib/base/opt.h"
#include "lib/base/util.h"
#include "lib/store/expand.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally broker --listen EP --reducer EP --input URI [--input URI ...] --group-by COL [options]\n"
             "\n"
             "Lists the input, cuts it into tasks and hands them to mappers as their slots free up.\n"
             "The job ends when the reducer has applied every task.\n"
             "\n"
             "  --listen EP            where mappers connect (e.g. tcp://*:5555)\n"
             "  --reducer EP           the reducer's --listen address as mappers reach it (tcp://HOST:PORT)\n"
             "  --input URI            s3://bucket/prefix (a glob is allowed in the last segment),\n"
             "                         a local file or folder, file://PATH, or http(s)://URL; repeatable.\n"
             "                         Brace ranges name objects without a listing: x_{2009..2025}-{01..12}.parquet\n"
             "  --input-from FILE      more inputs, one a line ('-': stdin; blank lines and # comments ignored)\n"
             "  --skip-missing         an input that is not found (HTTP 404, no such key or file) is a warning\n"
             "                         counted in the summary, not an error\n"
             TL_QUERY_HELP
             "  --split-size SIZE      cut objects bigger than this into byte ranges (default 64M; 0: never)\n"
             "  --endpoint-url URL     S3 endpoint (path-style); default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL\n"
             "  --region REGION        S3 region; default AWS_REGION, AWS_DEFAULT_REGION, us-east-1\n"
             "  --no-sign-request      anonymous S3 requests (public buckets)\n"
             "  --hb-ms MS             heartbeat interval (default 1000)\n"
             "  --lease-ms MS          a mapper silent this long is lost and its tasks re-issued (default 4000)\n"
             "  --apply-timeout-ms MS  re-issue a finished task the reducer has not applied by then (default 60000;\n"
             "                         not while the reducer is silent: after 15 s of that the broker says so,\n"
             "                         and after 10 min it fails the job)\n"
             "  --max-attempts N       tries per task on retryable errors (default 4)\n"
             "  --min-steal SIZE       cut a running task for an idle mapper only if this much is left (default 16M),\n"
             "                         or a 16th of it if its mapper needs 100 ms or more for the rest\n"
             "  --no-backups           never run backup copies of slow tasks near the end\n"
             "  --state-dir DIR        journal the job here; restart with the same DIR after a crash to carry on\n"
             "  --fresh                discard what --state-dir holds (a finished job, or another job) and start anew\n"
             "  --verify-fraction F    re-run this fraction of tasks (0 to 1, default 0) on another mapper and compare\n"
             "                         the two partials; a difference fails the job and names both mappers\n"
             "  --keys DIR             CURVE keys from tally keygen: authenticate and encrypt every peer\n"
             "  --metrics-listen ADDR  Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9101)\n"
             "  -v, --verbose / -q, --quiet\n"
             "  -h, --help\n");
}

/*  Take the strings of v (n of them) as inputs. */
static int
s_add_inputs (tl_broker_opts_t *o, char **v, size_t n, tl_err_t *e)
{
    if ((size_t) o->ninputs + n > MAX_INPUTS) {
        for (size_t i = 0; i < n; i++)
            free (v [i]);
        return tl_err_set (e, TL_EFULL, 0, "at most %d inputs", MAX_INPUTS);
    }
    if ((size_t) o->ninputs + n > o->capinputs) {
        size_t cap = ((size_t) o->ninputs + n) * 2;
        char **nv = realloc (o->inputs, cap * sizeof *nv);
        if (!nv) {
            for (size_t i = 0; i < n; i++)
                free (v [i]);
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        }
        o->inputs = nv;
        o->capinputs = cap;
    }
    for (size_t i = 0; i < n; i++)
        o->inputs [o->ninputs++] = v [i];
    return 0;
}

/*  --input-from FILE ('-': stdin): one URI a line. */
static int
s_input_from (tl_broker_opts_t *o, const char *path, tl_err_t *e)
{
    FILE *f = strcmp (path, "-") == 0 ? stdin : fopen (path, "r");
    if (!f)
        return tl_err_set (e, TL_EIO, 0, "%s", strerror (errno));
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    char buf [65536];
    int rc = 0;
    while ((got = fread (buf, 1, sizeof buf, f)) > 0) {
        if (len + got > (64u << 20)) {
            rc = tl_err_set (e, TL_EFULL, 0, "over 64 MiB: not a list of URIs?");
            break;
        }
        if (len + got > cap) {
            cap = (len + got) * 2;
            char *t = realloc (text, cap);
            if (!t) {
                rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
                break;
            }
            text = t;
        }
        memcpy (text + len, buf, got);
        len += got;
    }
    if (!rc && ferror (f))
        rc = tl_err_set (e, TL_EIO, 0, "cannot read: %s", strerror (errno));
    if (f != stdin)
        fclose (f);
    char **v = NULL;
    size_t n = 0;
    if (!rc && (rc = tl_expand_lines (text ? text : "", len, &v, &n, e)) == 0) {
        if (n == 0)
            rc = tl_err_set (e, TL_EINVAL, 0, "no URIs in it");
        else
            rc = s_add_inputs (o, v, n, e);
        free (v);
    }
    else
        tl_expand_free (v, n);
    free (text);
    return rc;
}

int
tl_broker_parse (int argc, char **argv, tl_broker_opts_t *o)
{
    static const struct option opts [] = {
        { "listen", required_argument, 0, 'l' },   { "reducer", required_argument, 0, 'r' },
        { "input", required_argument, 0, 'i' },    TL_QUERY_OPTIONS,
        { "input-from", required_argument, 0, 'I' }, { "skip-missing", no_argument, 0, 'K' },
        { "split-size", required_argument, 0, 'S' }, { "endpoint-url", required_argument, 0, 'e' },
        { "region", required_argument, 0, 'R' },   { "no-sign-request", no_argument, 0, 'N' },
        { "hb-ms", required_argument, 0, 'H' },    { "lease-ms", required_argument, 0, 'L' },
        { "apply-timeout-ms", required_argument, 0, 'A' }, { "max-attempts", required_argument, 0, 'M' },
        { "min-steal", required_argument, 0, 'm' }, { "no-backups", no_argument, 0, 'B' },
        { "state-dir", required_argument, 0, 'D' }, { "keys", required_argument, 0, 'k' },
        { "metrics-listen", required_argument, 0, 'P' }, { "fresh", no_argument, 0, 'F' },
        { "verify-fraction", required_argument, 0, 'V' },
        { "verbose", no_argument, 0, 'v' },        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
    };
    int c;
    uint64_t v;
    tl_err_t qe = { 0 };
    o->split = 64ULL << 20;
    o->hb_ms = 1000;
    o->level = TL_LOG_INFO;
    optind = 0;     /* GNU getopt: a full restart (tally run parses several command lines) */
    while ((c = getopt_long (argc, argv, ":vqh", opts, NULL)) != -1) {
        switch (c) {
            case 'l': o->listen = optarg; break;
            case 'r': o->reducer_ep = optarg; break;
            case 'i': {
                char *one = strdup (optarg);
                if (!one || s_add_inputs (o, &one, 1, &qe) != 0) {
                    fprintf (stderr, "tally broker: --input '%s': %s\n", optarg, one ? qe.msg : "out of memory");
                    return 2;
                }
                break;
            }
            case 'I':
                if (s_input_from (o, optarg, &qe) != 0) {
                    fprintf (stderr, "tally broker: --input-from %s: %s\n", optarg, qe.msg);
                    return 2;
                }
                break;
            case 'K': o->skip_missing = true; break;
            case TL_QOPT_BY: case TL_QOPT_AGG: case TL_QOPT_WHERE: case TL_QOPT_ALIAS:
                if (tl_qargs_take (&o->qa, c, optarg, &qe) < 0) {
                    fprintf (stderr, "tally broker: %s\n", qe.msg);
                    return 2;
                }
                break;
            case 'S':
                if (tl_parse_size (optarg, &o->split) || (o->split && o->split < 4096)) {
                    fprintf (stderr, "tally broker: --split-size wants a size such as 64M (at least 4K, or 0), not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'e': o->cfg.endpoint = optarg; break;
            case 'R': o->cfg.region = optarg; break;
            case 'N': o->cfg.nosign = true; break;
            case 'H': case 'L': case 'A':
                if (tl_parse_uint (optarg, 10, 3600000, &v)) {
                    fprintf (stderr, "tally broker: --%s wants milliseconds from 10 to 3600000, not '%s'\n",
                             c == 'H' ? "hb-ms" : c == 'L' ? "lease-ms" : "apply-timeout-ms", optarg);
                    return 2;
                }
                if (c == 'H') o->hb_ms = (int64_t) v;
                if (c == 'L') o->sc.lease_ms = (int64_t) v;
                if (c == 'A') o->sc.apply_timeout_ms = (int64_t) v;
                break;
            case 'M':
                if (tl_parse_uint (optarg, 1, 100, &v)) {
                    fprintf (stderr, "tally broker: --max-attempts wants 1 to 100, not '%s'\n", optarg);
                    return 2;
                }
                o->sc.max_attempts = (uint32_t) v;
                break;
            case 'm':
                if (tl_parse_size (optarg, &o->sc.min_steal) || o->sc.min_steal < 4096) {
                    fprintf (stderr, "tally broker: --min-steal wants a size of at least 4K, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'B': o->sc.no_backups = true; break;
            case 'D': o->state_dir = optarg; break;
            case 'F': o->fresh = true; break;
            case 'V': {
                char *end = NULL;
                o->verify_fraction = strtod (optarg, &end);
                if (!end || *end || !(o->verify_fraction >= 0 && o->verify_fraction <= 1)) {
                    fprintf (stderr, "tally broker: --verify-fraction wants a number from 0 to 1, not '%s'\n", optarg);
                    return 2;
                }
                break;
            }
            case 'k': o->keys = optarg; break;
            case 'P': o->metrics = optarg; break;
            case 'v': o->level = TL_LOG_DEBUG; break;
            case 'q': o->level = TL_LOG_WARN; o->quiet = true; break;
            case 'h': s_usage (stdout); return 1;
            default: return tl_opt_fail ("tally broker", c, argv, opts);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tally broker: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    if (o->fresh && !o->state_dir) {
        fprintf (stderr, "tally broker: --fresh discards a --state-dir, and none is given\n");
        return 2;
    }
    if (!o->listen || !o->reducer_ep || !o->ninputs || !o->qa.nby) {
        fprintf (stderr, "tally broker: --listen, --reducer, --input and --group-by are required (see --help)\n");
        return 2;
    }
    char *text = NULL;
    if (tl_qargs_build (&o->qa, &text, &qe) != 0) {
        fprintf (stderr, "tally broker: %s\n", qe.msg);
        return 2;
    }
    o->col = o->col_text = text;    /* freed by tl_broker_opts_free */
    /* Brace ranges are expanded again when the inputs are listed; here only to refuse a pattern
       that names too many objects before anything starts. */
    for (int i = 0; i < o->ninputs; i++) {
        char **uris = NULL;
        size_t n = 0;
        int erc = tl_expand (o->inputs [i], 0, &uris, &n, &qe);
        tl_expand_free (uris, n);
        if (erc != 0) {
            fprintf (stderr, "tally broker: --input: %s\n", qe.msg);
            return 2;
        }
    }
    if (!o->sc.lease_ms)
        o->sc.lease_ms = 4 * o->hb_ms;
    return 0;
}


void
tl_broker_opts_free (tl_broker_opts_t *o)
{
    for (int i = 0; i < o->ninputs; i++)
        free (o->inputs [i]);
    free (o->inputs);
    free (o->col_text);
    o->inputs = NULL;
    o->col_text = NULL;
    o->ninputs = 0;
}
