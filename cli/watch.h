/*  watch.h — `tally watch`: subscribe to a reducer and show the live totals. */
#ifndef TL_WATCH_H
#define TL_WATCH_H
#include "cli/render.h"
#include "cli/web.h"
#include <czmq.h>

#define TL_WATCH_TOP 20             /* groups in the live view, unless --top says otherwise */
#define TL_WATCH_RESYNC_MS 5000     /* ask for a snapshot again if none has come this long after
                                       asking, while other updates do come */

typedef struct {
    tl_fmt_t fmt;
    int top;            /* groups shown live (terminal: default TL_WATCH_TOP; jsonl: default all);
                           the final result always has every group */
    bool until_done;    /* exit after the final result */
    bool once;          /* print the first state received and exit */
    bool live;          /* redraw in place (a terminal) */
    int timeout_s;      /* give up after this long without a final result; 0: never */
    const char *job;    /* if set: only this job's updates count (its id, from the broker's log or
                           a result's "job"); others are ignored, so a watcher started between two
                           jobs does not take the one before for this one */
    const char *output; /* also write the final result here (format from the name: .json, else csv) */
    const char *prog;   /* who says the loop's lines on stderr ("tally run"); NULL: "tally watch" */
    const char *endpoint;   /* the reducer's address: while nothing comes from it, say so on stderr
                               (at 3 s, then every 30 s); NULL: wait quietly */
    zactor_t *monitor;      /* a zmonitor on the SUB socket (CONNECTED, DISCONNECTED, HANDSHAKE_*),
                               to tell "no answer" from "no job yet"; may be NULL */
    char *error;            /* if set: a failed job's error is copied here (error_len bytes) */
    size_t error_len;
    tl_web_t *web;          /* if set: every UPDATE is handed to the dashboard (cli/web.h), which then
                               keeps serving after the end unless until_done; the final result is
                               still printed once */
    uint64_t *updates;      /* if set: counts the UPDATEs received (for `alive`, see cli/run.c) */
} tl_watch_opts_t;

/*  Subscribe a connected SUB socket as opts need (a replica, or only the final table; the
    dashboard's activity when opts->web), read updates into a replica of the reducer's table
    (lib/wire/clone.h) or the final table alone (lib/wire/final.h) and render it to out as opts
    ask; when updates were lost it subscribes to "" again, which asks the reducer for a snapshot. `alive` (optional) is called between updates and may return false to stop.
    Returns 0 if the job ended ok (or --once printed), 1 if it failed, 3 on timeout, 4 if stopped. */
int tl_watch_loop (zsock_t *sub, const tl_watch_opts_t *opts, FILE *out, FILE *live_out,
                   bool (*alive) (void *arg), void *arg);

/*  `tally watch`'s command line as parsed (tl_watch_parse). `tally run` shows the job as watch
    does: it parses the watch argv it builds from its own --format, --sort, --output and --web
    with this parser, before it starts anything. */
typedef struct {
    tl_watch_opts_t o;      /* fmt, until_done, once, timeout_s, output */
    const char *subscribe;  /* --subscribe */
    const char *keys;       /* --keys */
    tl_sort_t sort;         /* --sort (applied with tl_render_set_sort) */
    tl_web_cfg_t web;       /* --web, --web-allow-remote (checked; listen NULL: no dashboard) */
    int level;              /* -v: TL_LOG_INFO; 0: the default */
} tl_watch_args_t;
/*  Parse the command line into a (zeroed by the caller; strings are borrowed from argv). Binds
    and connects nothing. Returns 0, 1 after --help (exit 0), or 2 (a usage error, said on
    stderr in one line). */
int tl_watch_parse (int argc, char **argv, tl_watch_args_t *a);
int tl_watch_main (int argc, char **argv);
#endif
