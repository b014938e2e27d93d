/*  watch.c — the live view. A SUB socket receives the reducer's UPDATEs: a snapshot of the
    whole table (the answer to our subscription, so the first screen is the whole table, not
    only what changes later), then deltas. lib/wire/clone.c keeps the replica; this file only
    shows it: the top N groups live (the reducer's order: count, then key), the whole table at
    the end. When the replica says updates were lost (our queue at the reducer overflowed), we
    subscribe again, which asks for a snapshot, and mark the view stale until it is whole.

    On a terminal the view is redrawn in place, fitted to the terminal's size at every redraw
    (a wrapped line would break the redraw). While nothing has come, watch says what it waits
    for, rarely: a monitor on the socket tells a reducer that does not answer at all from one
    that is there but has no job yet. ZeroMQ keeps reconnecting meanwhile. */
#include "cli/watch.h"
#include "lib/wire/final.h"
#include "lib/wire/clone.h"
#include "lib/wire/security.h"
#include "lib/base/log.h"
#include "lib/wire/net.h"
#include "lib/base/opt.h"
#include "lib/base/util.h"
#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>


/*  Who says the loop's lines on stderr: tally watch, or tally run, whose watcher this is. */
static const char *s_prog = "tally watch";

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally watch --subscribe ENDPOINT [--until-done] [--once] [--format table|csv|json|jsonl] [--top N]\n"
             "\n"
             "Shows the live totals of a running job (the reducer's --publish address).\n"
             "\n"
             "  --subscribe EP   the reducer's publish endpoint (e.g. tcp://10.0.0.1:5557)\n"
             "  --until-done     exit after the final table (exit 1 if the job failed)\n"
             "  --once           print the current state once and exit\n"
             "  --format F       table (default), csv, json, or jsonl (one JSON line per update)\n"
             "  --sort ORDER         count (default, descending), key, or -key (numbers as numbers)\n"
             "  --top N          show the N biggest groups live (default 20 on a terminal; with jsonl, every\n"
             "                   group unless given); the final result has every group\n"
             "  --timeout SECS   give up (exit 3) if no final result comes within SECS\n"
             "  --job ID         only that job (the id the broker logs, and a JSON result's \"job\"):\n"
             "                   a watcher started while the reducer still shows the job before,\n"
             "                   or before a broker resumes ID from its --state-dir, waits for it;\n"
             "                   with --until-done, exit 1 if the reducer moves on to another job first\n"
             "  --keys DIR       CURVE keys from tally keygen\n"
             "  --output FILE    also write the final result to FILE (JSON if it ends in .json, else CSV);\n"
             "                   a failed job's partial table goes to FILE.failed instead, and an\n"
             "                   earlier FILE is removed (FILE holds a good result or nothing)\n"
             "  --web HOST:PORT  serve a live dashboard there (a page, /api/state, /api/events); with --web,\n"
             "                   watch keeps serving after the end unless --until-done\n"
             "  --web-allow-remote  with --keys, --web may name a non-loopback address; every visitor then\n"
             "                   needs the token in the URL printed at start\n"
             "  -v, --verbose    say on stderr when updates were lost and a snapshot was asked for\n"
             "  -h, --help\n"
             "\n"
             "On a terminal the table is redrawn in place, with a bar per group and a progress line.\n"
             "Otherwise the result is printed once, at the end (and watch exits), or with --format\n"
             "jsonl one line per update until the end.\n");
}

/*  The terminal's size: TIOCGWINSZ on f, else $COLUMNS (and $LINES), else 80 columns; *rows
    is 0 when unknown. */
static void
s_term_size (FILE *f, int *cols, int *rows)
{
    struct winsize ws = { 0 };
    *cols = 80;
    *rows = 0;
    if (ioctl (fileno (f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
        return;
    }
    const char *c = getenv ("COLUMNS"), *r = getenv ("LINES");
    if (c && atoi (c) > 0)
        *cols = atoi (c);
    if (r && atoi (r) > 0)
        *rows = atoi (r);
}

/*  What the monitor says of the connection so far. */
typedef struct {
    bool connected;         /* a connection is up, its ZMTP handshake done */
    bool refused;           /* the last handshake failed (keys) */
    int64_t said;           /* when the waiting line was last printed; 0: never */
    char other [TL_STR_MAX + 1];    /* with --job: the last other job the reducer published; "": none */
    bool other_done;        /* ... and whether it had ended */
} s_wait_t;

static void
s_monitor_drain (zactor_t *mon, s_wait_t *w)
{
    while (mon && (zsock_events (zactor_sock (mon)) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (mon);
        char *ev = msg ? zmsg_popstr (msg) : NULL;
        if (ev && streq (ev, "HANDSHAKE_SUCCEEDED"))
            w->connected = true, w->refused = false;
        else if (ev && streq (ev, "DISCONNECTED"))
            w->connected = false;
        else if (ev && strncmp (ev, "HANDSHAKE_FAILED", 16) == 0)
            w->connected = false, w->refused = true;
        zstr_free (&ev);
        zmsg_destroy (&msg);
    }
}

/*  Nothing has come yet: at 3 s, then every 30 s, say what we wait for and where. */
static void
s_say_waiting (const tl_watch_opts_t *o, s_wait_t *w, int64_t waited, int64_t now)
{
    if (!o->endpoint || waited < 3000 || (w->said && now - w->said < 30000))
        return;
    s_monitor_drain (o->monitor, w);
    bool tcp = strncmp (o->endpoint, "tcp://", 6) == 0;
    if (o->job && w->other [0])     /* it answers, for another job: a mistyped id waits forever */
        fprintf (stderr, "%s: the reducer at %s serves job %s (%s), not job %s (--job); still waiting "
                         "for that one\n", s_prog, o->endpoint, w->other, w->other_done ? "ended" : "running", o->job);
    else if (w->refused)
        fprintf (stderr, "%s: the reducer at %s refuses our handshake: does it use CURVE keys, and are "
                         "--keys the job's? (still trying)\n", s_prog, o->endpoint);
    else if (o->monitor && w->connected)
        fprintf (stderr, "%s: connected to the reducer at %s, but it has no job yet (still waiting)\n", s_prog,
                 o->endpoint);
    else
        fprintf (stderr, "%s: no answer from the reducer at %s: is it running%s? (--subscribe is the "
                         "reducer's --publish address; still trying)\n", s_prog,
                 o->endpoint, tcp ? ", and is the port open" : "");
    fflush (stderr);
    w->said = now;
}

/*  Ask the reducer for a snapshot: subscribe again. XPUB_VERBOSE hands it every subscription,
    and it answers each with the whole table. Messages published between the two are filtered
    out for us, which is fine: we wait for the snapshot anyway. */
static void
s_resync (zsock_t *sub)
{
    zsock_set_unsubscribe (sub, "");
    zsock_set_subscribe (sub, "");
}

/*  The replica as a message to render: the last update's totals, with groups = the best n
    (n 0: all of them, sorted) in *buf (the caller frees it). Keys are borrowed from the replica. */
static tl_msg_t
s_view (tl_clone_t *clone, size_t n, tl_agg_entry_t **buf)
{
    tl_msg_t v = *tl_clone_last (clone);
    v.arena_ = NULL;        /* a shallow copy: never cleared */
    v.kind = NULL;
    /* The cells' shape is the replica's: the last update may have carried no groups (an empty
       delta decodes as ncells 0), and its ncells would blank every aggregate. */
    v.ncells = tl_agg_ncells (tl_clone_table (clone));
    size_t k = 0;
    if (n) {
        *buf = malloc (n * sizeof **buf);
        k = *buf ? tl_clone_top (clone, n, *buf) : 0;
    }
    else
        *buf = tl_clone_all (clone, &k);
    v.groups = *buf;
    v.n_groups = *buf ? k : 0;
    return v;
}

/*  The dashboard's own copy of a view (it outlives this update, in other threads): through the
    codec, so that it owns its memory like any decoded message. */
static void
s_feed_web (const tl_watch_opts_t *o, tl_clone_t *clone, bool stale)
{
    tl_agg_entry_t *buf = NULL;
    tl_msg_t v = s_view (clone, TL_WEB_KEEP, &buf), copy;
    char *data = NULL;
    size_t len = 0;
    tl_err_t e;
    if (tl_msg_encode (&v, &data, &len) == 0 && tl_msg_decode (data, len, &copy, &e) == 0)
        tl_web_feed (o->web, &copy, tl_agg_size (tl_clone_table (clone)), stale);
    free (data);
    free (buf);
}

/*  Redraw the live view in place: home, clear, the top groups, progress; fitted to the
    terminal as it is now (header, progress, "... more" and the cursor's line take 4 rows). */
static void
s_draw_live (const tl_watch_opts_t *o, tl_clone_t *clone, FILE *out, FILE *live_out, bool stale)
{
    int cols, rows;
    s_term_size (live_out, &cols, &rows);
    size_t max_rows = rows > 5 ? (size_t) rows - 4 : rows > 0 ? 1 : 30;
    size_t top = o->top ? (size_t) o->top : TL_WATCH_TOP;
    if (max_rows > top)
        max_rows = top;
    tl_agg_entry_t *buf = NULL;
    tl_msg_t v = s_view (clone, max_rows, &buf);
    fputs ("\033[H\033[J", live_out);
    tl_render_bars (live_out, &v, max_rows, cols, tl_agg_size (tl_clone_table (clone)));
    char line [512];
    tl_render_progress (line, sizeof line, &v, cols);
    fprintf (live_out, "%s\n", line);
    if (stale)      /* cut to the width, like every line of the view */
        fprintf (live_out, "%.*s\n", cols > 1 ? cols - 1 : 0,
                 "(updates were lost: this view is stale until the whole table comes again)");
    if (v.done && !v.ok && live_out == out) {
        /* No table follows on this terminal: the error goes under the view. */
        fputs ("FAILED: ", live_out);
        tl_render_error (live_out, v.error, "   ");
    }
    fflush (live_out);
    free (buf);
}

/*  The whole table, as fmt says: from the replica, or (fin set) from the final snapshot,
    whose groups are in output order already. */
static void
s_render_all (FILE *f, tl_clone_t *clone, tl_final_t *fin, tl_fmt_t fmt)
{
    if (fin) {
        tl_msg_t v = *tl_final_last (fin);
        v.arena_ = NULL;        /* a shallow copy: never cleared */
        v.kind = NULL;
        v.groups = tl_final_groups (fin, &v.n_groups);
        tl_render_ordered (f, &v, fmt);
        return;
    }
    tl_agg_entry_t *buf = NULL;
    tl_msg_t v = s_view (clone, 0, &buf);
    tl_render_ordered (f, &v, fmt);     /* s_view sorted them (tl_agg_sorted): not twice */
    free (buf);
}

/*  --output's format: JSON if it ends in .json, else CSV. */
static tl_fmt_t
s_output_fmt (const char *output)
{
    size_t n = strlen (output);
    return n > 5 && strcmp (output + n - 5, ".json") == 0 ? TL_FMT_JSON : TL_FMT_CSV;
}

/*  The exit code for the job's end (0 ok, 1 the job failed), its error kept for the caller. */
static int
s_verdict (const tl_watch_opts_t *o, const tl_msg_t *last)
{
    if (!last->ok && o->error && o->error_len)
        snprintf (o->error, o->error_len, "%s", last->error ? last->error : "");
    return last->ok ? 0 : 1;
}

/*  The result could not be written (a full disk, a closed file, no such folder): loud, never
    an exit 0 for a table that is not there. The cause goes on stderr, and to the caller's error
    unless the job's own error is there already. Returns 1, the exit code. */
static int
s_unwritten (const tl_watch_opts_t *o, const char *what, int err)
{
    const char *why = err ? strerror (err) : "write error";
    fprintf (stderr, "%s: cannot write %s: %s\n", s_prog, what, why);
    if (o->error && o->error_len && !o->error [0])
        snprintf (o->error, o->error_len, "cannot write %s: %s", what, why);
    return 1;
}

/*  Did out take everything written to it? A reader that went away (a broken pipe: `| head`)
    is not a lost result but one nobody wants any more: quiet, as a pipe's writer is (`tally
    run` exits 141 for it, as a shell reports SIGPIPE). */
static bool
s_out_ok (FILE *out, int *err)
{
    errno = 0;
    bool ok = fflush (out) == 0 && !ferror (out);
    *err = errno;
    if (ok || *err == EPIPE)
        return true;
    /* The write that failed may be long past, its errno gone: ask the descriptor (a pipe or
       socket whose reader has gone polls as an error). */
    struct pollfd p = { .fd = fileno (out), .events = POLLOUT };
    return p.fd >= 0 && poll (&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/*  The exit code at the end: rc (the job's verdict), unless the result could not be written to
    --output (output_err; file: the name it was to have, --output's or FILE.failed) or, when it
    was written there, to out. */
static int
s_exit_code (const tl_watch_opts_t *o, FILE *out, bool wrote_out, int rc, int output_err, const char *file)
{
    int err;
    if (output_err)
        rc = s_unwritten (o, file, output_err);
    if (wrote_out && !s_out_ok (out, &err))
        rc = s_unwritten (o, "the result", err);
    return rc;
}

/*  Where --output's table goes: the file named, or, for a job that failed, FILE.failed (said on
    stderr), so that a failed job's partial table never takes the place of a result (a CSV has
    nowhere to say it failed). FILE then holds this job's good result or nothing: an earlier
    one is removed (said too), since a script that misses the exit code would read it as this
    job's; and a good result removes a FILE.failed left by an earlier run (review, session 13). */
static const char *
s_output_target (const tl_watch_opts_t *o, const tl_msg_t *last, char *buf, size_t cap)
{
    snprintf (buf, cap, "%s.failed", o->output);
    if (last && last->done && last->ok) {
        unlink (buf);
        return o->output;
    }
    bool had = unlink (o->output) == 0;
    fprintf (stderr, "%s: the job failed, so its partial table goes to %s, not to %s%s\n", s_prog, buf, o->output,
             had ? " (which held an earlier result: removed, so that it is not taken for this job's)" : "");
    return buf;
}

/*  The job's end: the result to --output (through a temporary name: a reader never sees half
    of it) and to out, as opts ask. Returns the exit code (0 ok, 1 the job failed or its result
    could not be written). */
static int
s_print_final (const tl_watch_opts_t *o, FILE *out, FILE *live_out, tl_clone_t *clone, tl_final_t *fin,
               bool printed_final, const tl_msg_t *last)
{
    int output_err = 0;
    const char *file = o->output;
    char failed [4200];
    if (o->output && !printed_final) {
        char tmp [4096];
        snprintf (tmp, sizeof tmp, "%s.tmp", o->output);
        FILE *f = fopen (tmp, "w");
        bool ok = f != NULL;
        if (f) {
            s_render_all (f, clone, fin, s_output_fmt (o->output));
            ok = fclose (f) == 0 && rename (tmp, file = s_output_target (o, last, failed, sizeof failed)) == 0;
        }
        if (!ok)
            output_err = errno ? errno : EIO;
        if (f && !ok)
            unlink (tmp);   /* no half-made result left behind under a name of ours */
    }
    bool wrote_out = o->until_done || ((o->live || o->web) && !printed_final);
    /* The final result, whole and exact (the live view shows the top only). */
    if (wrote_out && !(o->live && live_out == out && o->fmt == TL_FMT_TABLE))
        s_render_all (out, clone, fin, o->fmt);
    return s_exit_code (o, out, wrote_out, s_verdict (o, last), output_err, file);
}

/*  The final table written as its parts come (lib/wire/final.h, streaming): to out, and to
    --output's temporary file, renamed when the table is whole (s_print_final's rules). */
typedef struct {
    bool begun;
    tl_render_stream_t *out, *file;     /* file NULL: no --output, or it cannot be written */
    FILE *tmpf;
    char tmp [4096];
    int file_errno;                     /* why --output cannot be written; 0: it can */
} s_stream_t;

/*  The output cut short (loud elsewhere): no footer, and no --output file (its temporary one
    removed). */
static void
s_stream_abandon (FILE *out, s_stream_t *st)
{
    if (!st->begun)
        return;
    tl_render_end (&st->out, NULL);
    fflush (out);
    tl_render_end (&st->file, NULL);
    if (st->tmpf) {
        fclose (st->tmpf);
        unlink (st->tmp);
        st->tmpf = NULL;
    }
    st->begun = false;
}

/*  The part just handed out, to out and --output; the header first. Returns 0, or -1 when out
    lost rows (said on stderr). */
static int
s_stream_part (const tl_watch_opts_t *o, FILE *out, tl_final_t *fin, s_stream_t *st)
{
    const tl_agg_entry_t *g;
    size_t n;
    tl_msg_t v = *tl_final_part (fin, &g, &n);
    v.arena_ = NULL;        /* a shallow copy: never cleared */
    v.kind = NULL;
    v.groups = (tl_agg_entry_t *) g;
    v.n_groups = n;
    if (!st->begun) {
        st->begun = true;
        if (o->output) {
            snprintf (st->tmp, sizeof st->tmp, "%s.tmp", o->output);
            errno = 0;
            st->tmpf = fopen (st->tmp, "w");
            st->file = st->tmpf ? tl_render_begin (st->tmpf, &v, s_output_fmt (o->output)) : NULL;
            if (!st->file)
                st->file_errno = st->tmpf || !errno ? ENOMEM : errno;
        }
        if (!(st->out = tl_render_begin (out, &v, o->fmt)))
            return -1;
    }
    if (st->file && tl_render_rows (st->file, &v) != 0) {
        tl_render_end (&st->file, NULL);
        st->file_errno = ENOMEM;
    }
    int rc = tl_render_rows (st->out, &v);
    fflush (out);   /* a reader of out gets the table as it comes */
    return rc ? -1 : 0;
}

/*  The streamed table is whole: footers, --output renamed into place. Returns the exit code. */
static int
s_stream_end (const tl_watch_opts_t *o, FILE *out, tl_final_t *fin, s_stream_t *st)
{
    const tl_msg_t *last = tl_final_last (fin);
    int output_err = 0;
    const char *file = o->output;
    char failed [4200];
    if (o->output) {
        int err = st->file_errno;
        if (!err && tl_render_end (&st->file, last) != 0)
            err = ENOMEM;
        if (st->tmpf && fclose (st->tmpf) != 0 && !err)
            err = errno;
        if (!err && rename (st->tmp, file = s_output_target (o, last, failed, sizeof failed)) != 0)
            err = errno;
        if (err && st->tmpf)
            unlink (st->tmp);
        st->tmpf = NULL;
        output_err = err;
    }
    int rc = tl_render_end (&st->out, last);
    st->begun = false;
    return s_exit_code (o, out, true, rc ? 1 : s_verdict (o, last), output_err, file);
}

/*  One message for a watcher that only prints the final table (no replica: lib/wire/final.h).
    Returns -1 to go on, or the exit code. */
static int
s_final_step (const tl_watch_opts_t *o, FILE *out, zsock_t *sub, tl_final_t *fin, tl_msg_t *m, int64_t *asked,
              s_stream_t *st)
{
    uint64_t seq = m->seq;
    bool done_before = tl_final_seen_done (fin);
    tl_final_rc_t fr = tl_final_apply (fin, m);
    int64_t now = tl_now_ms ();
    if (!done_before && tl_final_seen_done (fin))
        *asked = now;   /* the final table follows the end at once: from now on it is awaited */
    if (fr == TL_FINAL_BAD) {
        /* Loud either way; once the table has begun to come out, what is out is a part of it. */
        bool begun = st->begun;
        s_stream_abandon (out, st);
        fprintf (stderr, "%s: %s: %s\n", s_prog, tl_final_error (fin),
                 begun ? "the result printed is incomplete" : "no result can be printed");
        return 1;
    }
    bool coming = fr == TL_FINAL_WHOLE || fr == TL_FINAL_PART || fr == TL_FINAL_STREAM || fr == TL_FINAL_END;
    if (fr == TL_FINAL_GAP || (!coming && tl_final_seen_done (fin) && now - *asked >= TL_WATCH_RESYNC_MS)) {
        /* The final table is cut short (our queue at the reducer was full), or it did not come
           after the job's end: ask for the whole of it again (a streamed one goes on where it
           stopped: lib/wire/final.h). */
        tl_info ("%s (update %llu): asking the reducer for a snapshot",
                 fr == TL_FINAL_GAP ? "updates were lost" : "still no final table", (unsigned long long) seq);
        s_resync (sub);
        *asked = now;
        return -1;
    }
    if (fr == TL_FINAL_PART || fr == TL_FINAL_STREAM)
        *asked = now;
    if (fr == TL_FINAL_STREAM || fr == TL_FINAL_END) {
        if (s_stream_part (o, out, fin, st) != 0) {
            s_stream_abandon (out, st);
            return 1;
        }
        if (fr == TL_FINAL_STREAM)
            return -1;
        /* Said once the table is out: on a log that holds stdout too, not inside it. */
        int rc = s_stream_end (o, out, fin, st);
        tl_info ("the final table: %llu groups, written as its %llu parts came",
                 (unsigned long long) tl_final_written (fin), (unsigned long long) tl_final_last (fin)->parts);
        return rc;
    }
    if (fr != TL_FINAL_WHOLE)
        return -1;
    size_t n;
    (void) tl_final_groups (fin, &n);
    tl_info ("the final table: %zu groups", n);
    return s_print_final (o, out, NULL, NULL, fin, false, tl_final_last (fin));
}

int
tl_watch_loop (zsock_t *sub, const tl_watch_opts_t *o, FILE *out, FILE *live_out, bool (*alive) (void *), void *arg)
{
    s_prog = o->prog ? o->prog : "tally watch";
    int64_t start = tl_now_ms ();
    s_wait_t wait = { 0 };
    bool heard = false;
    char last_job [TL_STR_MAX + 1] = "";
    bool printed_final = false;     /* of last_job: the final state comes again (heartbeats) */
    int64_t asked = start;          /* when we last asked for a snapshot (subscribing asks) */
    tl_clone_t *clone = tl_clone_new ();
    /* Nothing shown before the end: no replica, only the final table (lib/wire/final.h). */
    bool final_only = o->until_done && !o->live && !o->web && !o->once && o->fmt != TL_FMT_JSONL;
    tl_final_t *fin = final_only ? tl_final_new () : NULL;
    s_stream_t stream = { 0 };
    if (fin)    /* csv and json by count: written as the parts come, not when all are in */
        tl_final_set_stream (fin, tl_render_streams (o->fmt));
    /* A replica asks for the deltas' groups first (else they go out bare), then for
       everything, which asks for a snapshot; a dashboard also for the activity. */
    if (!final_only)
        zsock_set_subscribe (sub, TL_GROUPS_TOPIC);
    zsock_set_subscribe (sub, "");
    if (o->web)
        zsock_set_subscribe (sub, TL_ACT_TOPIC);
    zpoller_t *poller = zpoller_new (sub, NULL);
    int rc = 4;
    while (clone && (fin || !final_only) && !zsys_interrupted) {
        if (o->timeout_s && tl_now_ms () - start > (int64_t) o->timeout_s * 1000) {
            rc = 3;
            if (!heard && o->job && wait.other [0])
                fprintf (stderr, "%s: the reducer published job %s (%s), never job %s (--job)\n", s_prog,
                         wait.other, wait.other_done ? "ended" : "running", o->job);
            break;
        }
        if (alive && !alive (arg))
            break;
        if (!heard) {
            s_monitor_drain (o->monitor, &wait);
            s_say_waiting (o, &wait, tl_now_ms () - start, tl_now_ms ());
        }
        if (!zpoller_wait (poller, 200)) {
            if (zpoller_terminated (poller))
                break;
            continue;
        }
        tl_msg_t m;
        tl_err_t e;
        int got = tl_recv (sub, NULL, NULL, &m, &e);
        if (got == -2)
            break;
        if (got == -1) {
            tl_badmsg ("the reducer", &e);
            continue;
        }
        if (m.type != TL_MSG_UPDATE || (o->job && strcmp (m.job ? m.job : "", o->job) != 0)) {
            /* Another job after ours: the reducer serves one at a time and has dropped ours, so
               the final table we wait for (cut short, or not come yet) will never come. */
            bool moved_on = false;
            if (m.type == TL_MSG_UPDATE && m.job && *m.job) {
                snprintf (wait.other, sizeof wait.other, "%s", m.job);
                wait.other_done = m.done;
                moved_on = heard && o->until_done;
            }
            tl_msg_clear (&m);
            if (moved_on) {
                fprintf (stderr, "%s: the reducer moved on to job %s before job %s's final table came in: "
                                 "no result\n", s_prog, wait.other, o->job);
                if (o->error && o->error_len)
                    snprintf (o->error, o->error_len, "the reducer moved on to job %s", wait.other);
                rc = 1;
                break;
            }
            continue;
        }
        if (o->updates)
            (*o->updates)++;
        if (!heard && wait.said)
            fprintf (stderr, "%s: the reducer at %s answers\n", s_prog, o->endpoint);
        heard = true;
        if (fin) {
            int frc = s_final_step (o, out, sub, fin, &m, &asked, &stream);
            if (frc >= 0) {
                rc = frc;
                break;
            }
            continue;
        }
        uint64_t seq = m.seq;
        tl_clone_rc_t cr = tl_clone_apply (clone, &m);
        int64_t now = tl_now_ms ();
        if (cr == TL_CLONE_GAP || (cr == TL_CLONE_WAITING && now - asked >= TL_WATCH_RESYNC_MS)) {
            /* Lost updates (our queue at the reducer was full): never show a wrong table. Ask
               for the whole one, and again if it does not come while other updates do. */
            tl_info ("%s (update %llu): asking the reducer for a snapshot",
                     cr == TL_CLONE_GAP ? "updates were lost" : "still no snapshot", (unsigned long long) seq);
            s_resync (sub);
            asked = now;
            if (o->live && live_out && tl_clone_last (clone))
                s_draw_live (o, clone, out, live_out, true);
            if (o->web && tl_clone_last (clone))
                s_feed_web (o, clone, true);
            continue;
        }
        if (cr == TL_CLONE_PART)
            asked = now;    /* a snapshot is coming in: no need to ask again */
        if (cr != TL_CLONE_APPLIED)
            continue;
        const tl_msg_t *last = tl_clone_last (clone);
        if (strcmp (last_job, last->job) != 0)
            printed_final = false;
        snprintf (last_job, sizeof last_job, "%s", last->job);
        if (o->once) {
            s_render_all (out, clone, NULL, o->fmt);
            fflush (out);
            if (o->web)
                s_feed_web (o, clone, false);
            rc = 0;
            break;
        }
        if (o->web)
            s_feed_web (o, clone, false);
        if (o->live && live_out)
            s_draw_live (o, clone, out, live_out, false);
        else if (o->fmt == TL_FMT_JSONL && !last->done) {
            /* One line per update: the best --top groups, or all of them. */
            tl_agg_entry_t *buf = NULL;
            tl_msg_t v = s_view (clone, o->top > 0 ? (size_t) o->top : 0, &buf);
            tl_render (out, &v, o->fmt);
            free (buf);
            fflush (out);
        }
        if (!last->done)
            continue;
        rc = s_print_final (o, out, live_out, clone, NULL, printed_final, last);
        printed_final = true;
        if (o->until_done)
            break;
    }
    /* Cut short by the timeout or a signal: exit 3 or 130 says so, and this says what is out. */
    if (stream.begun)
        fprintf (stderr, "%s: the final table was cut short: the result printed is incomplete\n", s_prog);
    s_stream_abandon (out, &stream);
    tl_final_destroy (&fin);
    if (clone && !final_only) {
        tl_clone_stats_t st = tl_clone_stats (clone);
        tl_info ("%llu snapshot(s) and %llu delta(s) applied, %llu skipped, %llu loss(es) repaired by a snapshot",
                 (unsigned long long) st.snapshots, (unsigned long long) st.deltas, (unsigned long long) st.skipped,
                 (unsigned long long) st.gaps);
    }
    tl_clone_destroy (&clone);
    zpoller_destroy (&poller);
    return rc;
}

int
tl_watch_parse (int argc, char **argv, tl_watch_args_t *a)
{
    static const struct option opts [] = {
        { "subscribe", required_argument, 0, 's' }, { "until-done", no_argument, 0, 'u' },
        { "once", no_argument, 0, 'o' },            { "format", required_argument, 0, 'f' }, { "sort", required_argument, 0, 1100 },
        { "timeout", required_argument, 0, 't' },   { "help", no_argument, 0, 'h' },
        { "keys", required_argument, 0, 'k' },      { "output", required_argument, 0, 'O' },
        { "web", required_argument, 0, 'W' },       { "web-allow-remote", no_argument, 0, 'A' },
        { "top", required_argument, 0, 'n' },       { "verbose", no_argument, 0, 'v' },
        { "job", required_argument, 0, 'j' },
        { 0, 0, 0, 0 },
    };
    int c;
    uint64_t v;
    a->o.fmt = TL_FMT_TABLE;
    a->web.who = "tally watch";
    optind = 0;     /* GNU getopt: a full restart (tally run parses several command lines) */
    while ((c = getopt_long (argc, argv, ":hv", opts, NULL)) != -1) {
        switch (c) {
            case 's': a->subscribe = optarg; break;
            case 'k': a->keys = optarg; break;
            case 'O': a->o.output = optarg; break;
            case 'W': a->web.listen = optarg; break;
            case 'A': a->web.allow_remote = true; break;
            case 'u': a->o.until_done = true; break;
            case 'j':
                if (!*optarg || strlen (optarg) > TL_STR_MAX) {
                    fprintf (stderr, "tally watch: --job wants the job's id (as the broker logs it), not '%s'\n", optarg);
                    return 2;
                }
                a->o.job = optarg;
                break;
            case 'o': a->o.once = true; break;
            case 1100:
                if (tl_sort_parse (optarg, &a->sort) != 0) {
                    fprintf (stderr, "tally watch: --sort is count, key or -key, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'f':
                if (tl_fmt_parse (optarg, &a->o.fmt)) {
                    fprintf (stderr, "tally watch: --format is table, csv, json or jsonl, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 't':
                if (tl_parse_uint (optarg, 1, 86400 * 7, &v)) {
                    fprintf (stderr, "tally watch: --timeout wants seconds from 1 to 604800, not '%s'\n", optarg);
                    return 2;
                }
                a->o.timeout_s = (int) v;
                break;
            case 'n':
                if (tl_parse_uint (optarg, 1, 1000000, &v)) {
                    fprintf (stderr, "tally watch: --top wants a number of groups (1 to 1000000), not '%s'\n", optarg);
                    return 2;
                }
                a->o.top = (int) v;
                break;
            case 'v': a->level = TL_LOG_INFO; break;
            case 'h': s_usage (stdout); return 1;
            default: return tl_opt_fail ("tally watch", c, argv, opts);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tally watch: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    if (!a->subscribe) {
        fprintf (stderr, "tally watch: --subscribe is required (see --help)\n");
        return 2;
    }
    if (a->web.allow_remote && !a->web.listen) {
        fprintf (stderr, "tally watch: --web-allow-remote goes with --web HOST:PORT\n");
        return 2;
    }
    a->web.keys = a->keys != NULL;
    tl_err_t we = { 0 };
    if (a->web.listen && tl_web_check (&a->web, &we) != 0) {
        fprintf (stderr, "tally watch: %s\n", we.msg);
        return 2;
    }
    return 0;
}

int
tl_watch_main (int argc, char **argv)
{
    tl_watch_args_t a = { 0 };
    int prc = tl_watch_parse (argc, argv, &a);
    if (prc)
        return prc == 1 ? 0 : prc;
    const char *ep = a.subscribe, *keys = a.keys;
    tl_web_cfg_t wc = a.web;
    tl_watch_opts_t o = a.o;
    tl_err_t we = { 0 };
    tl_render_set_sort (a.sort);
    tl_log_init ("watch", a.level ? a.level : TL_LOG_WARN);
    tl_malloc_keep ();
    o.live = !o.once && isatty (STDOUT_FILENO) && o.fmt == TL_FMT_TABLE;
    if (!o.live && !o.once && !wc.listen)
        o.until_done = true;    /* not a terminal: the result once, at the end */
    zsock_t *sub = tl_sock_new (ZMQ_SUB, 256 << 20);
    tl_err_t se;
    tl_security_t *sec = tl_security_new (keys, false, &se);
    if (keys && !sec) {
        fprintf (stderr, "tally watch: %s\n", se.msg);
        zsock_destroy (&sub);
        return 1;
    }
    if (sub)
        tl_security_client (sec, sub, &se);
    /* The monitor starts before the connect, so it sees the first handshake. */
    zactor_t *mon = sub ? tl_actor_new (zmonitor, sub) : NULL;
    if (mon) {
        zstr_sendx (mon, "LISTEN", "HANDSHAKE_SUCCEEDED", "DISCONNECTED", "HANDSHAKE_FAILED_NO_DETAIL",
                    "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_AUTH", NULL);
        zstr_sendx (mon, "START", NULL);
        zsock_wait (mon);
    }
    if (!sub || tl_sock_connect (sub, ep) < 0) {
        fprintf (stderr, "tally watch: cannot connect to %s: %s\n", ep, zmq_strerror (zmq_errno ()));
        zactor_destroy (&mon);
        zsock_destroy (&sub);
        tl_security_destroy (&sec);
        return 1;
    }
    o.endpoint = ep;
    o.monitor = mon;
    if (wc.listen && !(o.web = tl_web_new (&wc, &we))) {
        fprintf (stderr, "tally watch: %s\n", we.msg);
        zactor_destroy (&mon);
        zsock_destroy (&sub);
        tl_security_destroy (&sec);
        return 1;
    }
    int rc = tl_watch_loop (sub, &o, stdout, stdout, NULL, NULL);
    tl_web_destroy (&o.web, 1000);
    zactor_destroy (&mon);
    zsock_destroy (&sub);
    tl_security_destroy (&sec);
    if (rc == 3)
        fprintf (stderr, "tally watch: no final result from %s within %d s\n", ep, o.timeout_s);
    return rc == 4 ? 130 : rc;
}
