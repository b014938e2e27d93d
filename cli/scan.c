/*  scan.c — `tally scan`: count in this process, one object after another, with exactly the
    code a mapper slot runs (mapper/work.c). No broker, no reducer, no sockets. It is for quick
    local counts, and it is how bench/ times one slot against wc, mawk, DuckDB and pypy.
    Every object counts straight into one table (tl_work_t.into): no PARTIAL is encoded, so a
    6 M-group result is built once, not built, encoded, decoded and merged again. */
#include "cli/scan.h"
#include "lib/wire/codec.h"
#include "lib/core/query.h"
#include "cli/query_opts.h"
#include "mapper/work.h"
#include "cli/render.h"
#include "lib/base/opt.h"
#include "lib/base/util.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally scan --input URI [--input URI ...] --group-by COL [--format table|csv|json] [--sort key]\n"
             "\n"
             "Counts in this one process, one object at a time, with the mapper's own code.\n"
             "Inputs and storage options are those of tally run (--endpoint-url, --no-sign-request).\n"
             "\n"
             TL_QUERY_HELP);
}

static void
s_same_object (void *arg, const char *gone, const char *kept)
{
    (void) arg;
    if (strcmp (gone, kept) == 0)
        fprintf (stderr, "tally scan: %s is listed by more than one --input: counted once\n", gone);
    else
        fprintf (stderr, "tally scan: %s is the same file as %s (listed by more than one --input): counted once\n",
                 gone, kept);
}

int
tl_scan_main (int argc, char **argv)
{
    static const struct option opts [] = {
        { "input", required_argument, 0, 'i' },  TL_QUERY_OPTIONS,
        { "format", required_argument, 0, 'f' }, { "sort", required_argument, 0, 1100 }, { "endpoint-url", required_argument, 0, 'e' },
        { "no-sign-request", no_argument, 0, 'N' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *inputs [256];
    char *col = NULL;
    tl_qargs_t qa = { 0 };
    tl_err_t qe = { 0 };
    int ninputs = 0, c;
    tl_fmt_t fmt = TL_FMT_TABLE;
    tl_sort_t sort = TL_SORT_COUNT;
    tl_store_cfg_t cfg = { 0 };
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
            case 'i':
                if (ninputs == 256) {
                    fprintf (stderr, "tally scan: at most 256 --input\n");
                    return 2;
                }
                inputs [ninputs++] = optarg;
                break;
            case TL_QOPT_BY: case TL_QOPT_AGG: case TL_QOPT_WHERE: case TL_QOPT_ALIAS:
                if (tl_qargs_take (&qa, c, optarg, &qe) < 0) {
                    fprintf (stderr, "tally scan: %s\n", qe.msg);
                    return 2;
                }
                break;
            case 1100: {
                if (tl_sort_parse (optarg, &sort) != 0) {
                    fprintf (stderr, "tally scan: --sort is count, key or -key, not '%s'\n", optarg);
                    return 2;
                }
                tl_render_set_sort (sort);
                break;
            }
            case 'f':
                if (tl_fmt_parse (optarg, &fmt)) {
                    fprintf (stderr, "tally scan: --format is table, csv or json, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'e': cfg.endpoint = optarg; break;
            case 'N': cfg.nosign = true; break;
            case 'h': s_usage (stdout); return 0;
            default: return tl_opt_fail ("tally scan", c, argv, opts);
        }
    }
    if (optind < argc || !ninputs || !qa.nby) {
        fprintf (stderr, "tally scan: --input and --group-by are required (see --help)\n");
        return 2;
    }
    if (tl_qargs_build (&qa, &col, &qe) != 0) {
        fprintf (stderr, "tally scan: %s\n", qe.msg);
        return 2;
    }
    tl_query_t *q = malloc (sizeof *q);
    if (!q || tl_query_parse (col, q, &qe) != 0) {
        free (q);
        free (col);
        return 1;
    }
    unsigned ncells = (unsigned) q->nvals;
    tl_store_cfg_from_env (&cfg);
    tl_objlist_t objs = { 0 };
    tl_err_t e = { 0 };
    for (int i = 0; i < ninputs; i++) {
        if (tl_store_list_input (&cfg, inputs [i], &objs, &e) != 0) {
            fprintf (stderr, "tally scan: %s\n", e.msg);
            tl_objlist_free (&objs);
            free (col);
            free (q);
            return 1;
        }
    }
    if (objs.skipped_special)
        fprintf (stderr, "tally scan: left out %zu item(s) of the input folders that are not regular files (pipes, "
                 "sockets, devices)\n", objs.skipped_special);
    /* An object named twice (overlapping inputs, ./x and x, a link) is counted once, as run does. */
    if (tl_objlist_dedup_files (&objs, s_same_object, NULL) != 0) {
        fprintf (stderr, "tally scan: out of memory\n");
        tl_objlist_free (&objs);
        free (col);
        free (q);
        return 1;
    }
    tl_agg_t *totals = tl_agg_new_cells (ncells);
    if (!totals) {
        fprintf (stderr, "tally scan: out of memory\n");
        tl_objlist_free (&objs);
        free (col);
        free (q);
        return 1;
    }
    uint64_t rows = 0, bad = 0, blank = 0, bytes = 0, filtered = 0, fetched = 0, skipped = 0;
    int64_t t0 = tl_now_ms ();
    int rc = 0;
    for (size_t i = 0; i < objs.n && !rc; i++) {
        /* Pinned to the listing, as a mapper's task is: an object rewritten since fails, never
           counts a mix of two versions. */
        tl_work_t w = { .task = i, .attempt = 1, .uri = objs.v [i].uri, .offset = 0, .length = objs.v [i].size,
                        .size = objs.v [i].size, .etag = objs.v [i].etag, .mtime_ns = objs.v [i].mtime_ns,
                        .col = col, .into = totals };
        tl_work_result_t res;
        tl_work_run (&w, "scan", &cfg, NULL, NULL, NULL, NULL, &res);
        if (res.rc) {
            fprintf (stderr, "tally scan: %s\n", res.err.msg);
            rc = 1;
        }
        else {
            filtered += res.filtered;
            rows += res.rows;
            fetched += res.fetched;
            skipped += res.skipped;
            bad += res.bad;
            blank += res.blank;
            bytes += res.covered;
        }
        tl_work_result_clear (&res);
    }
    char overflow [TL_STR_MAX] = "";
    if (!rc && tl_query_overflow (q, totals, overflow, sizeof overflow))
        fprintf (stderr, "tally scan: the job failed: %s\n", overflow);
    if (!rc) {
        size_t ng = tl_agg_size (totals);
        /* By count (the default): the table sorts its group numbers in its hash index's place
           (it takes no more adds after that) and the renderer reads the groups from it, so the
           result costs no array of 32-byte entries on top of the table. */
        tl_agg_view_t *view = NULL;
        tl_agg_entry_t *groups = NULL;
        size_t pos = 0, k = 0;
        if (sort != TL_SORT_COUNT || tl_agg_view_new (totals, &view) != 0) {
            groups = tl_agg_entries_alloc (ng);
            while (groups && tl_agg_next (totals, &pos, &groups [k]))
                k++;
        }
        tl_msg_t u = { .type = TL_MSG_UPDATE, .col = col, .done = true, .ok = !*overflow, .error = overflow,
                       .tasks_done = objs.n, .tasks_total = objs.n, .rows = rows, .bytes = bytes, .bytes_total = bytes,
                       .bad = bad, .blank = blank, .elapsed_ms = (uint64_t) (tl_now_ms () - t0), .groups = groups,
                       .n_groups = ng, .ncells = ncells, .filtered = filtered, .fetched = fetched,
                       .skipped = skipped };
        if (view)
            rc = tl_render_view (stdout, &u, view, fmt) != 0;
        else if (!groups) {
            fprintf (stderr, "tally scan: out of memory for the result's %zu groups\n", ng);
            rc = 1;
        }
        else
            rc = tl_render (stdout, &u, fmt) != 0;
        tl_agg_view_destroy (&view);
        free (groups);
        if (*overflow)
            rc = 1;
    }
    free (q);
    tl_agg_destroy (&totals);
    tl_objlist_free (&objs);
    free (col);
    return rc;
}
