/*  render.c — output formats.

    csv:   header "COL,count", then one line per group, count descending then key. Keys that
           hold a comma, quote or newline are quoted (RFC 4180).
    json:  one object: column, groups [{key, count}], rows, bad_rows, blank_lines, bytes,
           bytes_total, fetched (bytes read from storage), skipped_row_groups (Parquet, by
           statistics), tasks, tasks_total, duplicates_ignored, elapsed_s, done, ok, error, job (a job's
           id, when there is one), mappers.
    table: aligned for people, with each group's share and a summary line. */
#include "cli/render.h"
#include "lib/base/err.h"
#include "lib/base/json.h"
#include "lib/core/query.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int s_sort;     /* 0 count, 1 key ascending, -1 key descending */

int
tl_sort_parse (const char *s, tl_sort_t *sort)
{
    if (strcmp (s, "count") == 0) *sort = TL_SORT_COUNT;
    else if (strcmp (s, "key") == 0) *sort = TL_SORT_KEY;
    else if (strcmp (s, "-key") == 0) *sort = TL_SORT_KEY_DESC;
    else return TL_EINVAL;
    return 0;
}

void
tl_render_set_sort (tl_sort_t sort)
{
    s_sort = sort == TL_SORT_KEY ? 1 : sort == TL_SORT_KEY_DESC ? -1 : 0;
}

/*  A key that is a number, as a number. */
static int
s_keynum (const tl_agg_entry_t *g, double *v)
{
    char tmp [64];
    if (g->len == 0 || g->len >= sizeof tmp)
        return 0;
    memcpy (tmp, g->key, g->len);
    tmp [g->len] = 0;
    char *end;
    *v = strtod (tmp, &end);
    return *end == 0 && !strpbrk (tmp, "xXnNiI");
}

static int
s_key_cmp (const void *a, const void *b)
{
    const tl_agg_entry_t *x = a, *y = b;
    double u, v;
    int c;
    if (s_keynum (x, &u) && s_keynum (y, &v))
        c = (u > v) - (u < v);
    else {
        size_t n = x->len < y->len ? x->len : y->len;
        c = memcmp (x->key, y->key, n);
        if (c == 0)
            c = (x->len > y->len) - (x->len < y->len);
    }
    return s_sort < 0 ? -c : c;
}

static void
s_order (tl_msg_t *u)
{
    if (s_sort == 0)
        tl_agg_sort_entries (u->groups, u->n_groups);
    else if (u->n_groups)
        qsort (u->groups, u->n_groups, sizeof *u->groups, s_key_cmp);
}

int
tl_fmt_parse (const char *s, tl_fmt_t *fmt)
{
    if (strcmp (s, "table") == 0) *fmt = TL_FMT_TABLE;
    else if (strcmp (s, "csv") == 0) *fmt = TL_FMT_CSV;
    else if (strcmp (s, "json") == 0) *fmt = TL_FMT_JSON;
    else if (strcmp (s, "jsonl") == 0) *fmt = TL_FMT_JSONL;
    else return TL_EINVAL;
    return 0;
}

static void
s_csv_field (FILE *f, const char *p, size_t n)
{
    if (!memchr (p, ',', n) && !memchr (p, '"', n) && !memchr (p, '\n', n) && !memchr (p, '\r', n)) {
        fwrite (p, 1, n, f);
        return;
    }
    fputc ('"', f);
    for (size_t i = 0; i < n; i++) {
        if (p [i] == '"')
            fputc ('"', f);
        fputc (p [i], f);
    }
    fputc ('"', f);
}

/*  The csv rows, formatted by hand into a big buffer: at millions of groups, printf and a
    memchr per special character per key part were most of the output's cost. The bytes are
    those of s_csv_field and "%llu". */
typedef struct {
    FILE *f;
    char *b;
    size_t n, cap;
} s_out_t;

/*  Room for want more bytes (flushing what is there). 0, or -1 if there is no buffer. */
static inline int
s_room (s_out_t *o, size_t want)
{
    if (o->n + want <= o->cap)
        return 0;
    if (o->n) {
        fwrite (o->b, 1, o->n, o->f);
        o->n = 0;
    }
    if (want <= o->cap)
        return 0;
    char *nb = realloc (o->b, want);
    if (!nb)
        return -1;
    o->b = nb;
    o->cap = want;
    return 0;
}

/*  Byte classes for a csv key part: 1 needs quoting (RFC 4180), 2 separates key parts. */
static unsigned char s_cls [256] = { [','] = 1, ['"'] = 1, ['\n'] = 1, ['\r'] = 1, [TL_QUERY_KEY_SEP] = 2 };

/*  Bytes of w equal to c, as 0x80 bits (exact for the lowest one: a borrow only flags bytes
    above a true match). */
static inline uint64_t
s_eq8 (uint64_t w, unsigned char c)
{
    uint64_t v = w ^ (0x0101010101010101ULL * c);
    return (v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL;
}

/*  The first byte at or after a in k [0, len) of a class (s_cls), or len: 8 bytes a step,
    since keys are mostly long and clean (timestamps). */
static inline size_t
s_next_special (const unsigned char *k, size_t a, size_t len)
{
    for (; a + 8 <= len; a += 8) {
        uint64_t w;
        memcpy (&w, k + a, 8);
        uint64_t m = s_eq8 (w, ',') | s_eq8 (w, '"') | s_eq8 (w, '\n') | s_eq8 (w, '\r')
                     | s_eq8 (w, (unsigned char) TL_QUERY_KEY_SEP);
        if (m)
            return a + ((unsigned) __builtin_ctzll (m) >> 3);
    }
    while (a < len && !s_cls [k [a]])
        a++;
    return a;
}

/*  One group's key parts (as s_part cuts them) and count, csv-escaped; no newline. */
static int
s_csv_key_count (s_out_t *o, const tl_agg_entry_t *g, int nby)
{
    if (s_room (o, 2 * (size_t) g->len + (size_t) nby * 3 + 24) != 0)
        return -1;
    const unsigned char *k = (const unsigned char *) g->key;
    size_t pos = 0, len = g->len;
    char *w = o->b + o->n;
    for (int part = 0; part < nby; part++) {
        if (part)
            *w++ = ',';
        if (pos > len)
            continue;   /* fewer parts than keys: empty */
        size_t a = pos, z = s_next_special (k, pos, len);
        if (nby == 1)   /* one key is whole: a separator byte in it is a byte like any other */
            while (z < len && s_cls [k [z]] == 2)
                z = s_next_special (k, z + 1, len);
        if (z == len || s_cls [k [z]] == 2) {     /* nothing to quote */
            pos = z < len ? z + 1 : len + 1;
            memcpy (w, k + a, z - a);
            w += z - a;
            continue;
        }
        while (z < len && (nby == 1 || s_cls [k [z]] != 2))
            z++;
        pos = z < len ? z + 1 : len + 1;
        *w++ = '"';
        for (size_t i = a; i < z; i++) {
            if (k [i] == '"')
                *w++ = '"';
            *w++ = (char) k [i];
        }
        *w++ = '"';
    }
    *w++ = ',';
    char d [24];
    int nd = 0;
    uint64_t c = g->count;
    do {
        d [nd++] = (char) ('0' + c % 10);
        c /= 10;
    } while (c);
    while (nd)
        *w++ = d [--nd];
    o->n = (size_t) (w - o->b);
    return 0;
}

/*  The escaped body of a JSON string (no quotes), through tl_json_escape a piece at a time. */
static void
s_json_body (FILE *f, const char *p, size_t n)
{
    char out [1024];
    while (n) {
        size_t took = tl_json_escape (p, n, out, sizeof out);
        fputs (out, f);
        p += took;
        n -= took;
    }
}

static void
s_json_str (FILE *f, const char *p, size_t n)
{
    fputc ('"', f);
    s_json_body (f, p, n);
    fputc ('"', f);
}

static void
s_thousands (char *out, size_t outlen, uint64_t v)
{
    char digits [32];
    int n = snprintf (digits, sizeof digits, "%llu", (unsigned long long) v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < outlen; i++) {
        if (i && (n - i) % 3 == 0)
            out [o++] = ',';
        out [o++] = digits [i];
    }
    out [o] = 0;
}

static void
s_bytes (char *out, size_t outlen, double b)
{
    const char *u [] = { "B", "KB", "MB", "GB", "TB" };
    int i = 0;
    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf (out, outlen, i ? "%.1f %s" : "%.0f %s", b, u [i]);
}

/*  The progress line, fitted to width columns. It never wraps: a wrapped line breaks the
    in-place redraw (the cursor-home repaint leaves the wrapped tail behind). The fields give
    way in order of how little they add: first the bar's width (the percentage says the same),
    then rows/s (MB/s gives the speed), the elapsed time, the mappers, the byte counts, the rate
    and the tasks; the percentage and the ETA stay to the last. */
void
tl_render_progress (char *out, size_t outlen, const tl_msg_t *u, int width)
{
    enum { F_TASKS, F_BYTES, F_RATE, F_ROWS, F_ETA, F_MAPPERS, F_SECS, NF };
    static const int drop_order [] = { F_ROWS, F_SECS, F_MAPPERS, F_BYTES, F_RATE, F_TASKS, F_ETA };
    double frac = u->bytes_total ? (double) u->bytes / (double) u->bytes_total : 0;
    if (frac > 1)
        frac = 1;
    double secs = u->elapsed_ms / 1000.0;
    double rate = secs > 0 ? (double) u->bytes / secs : 0;
    char done [32], total [32], r [32], eta [32] = "-", rps [32], pct [16];
    s_bytes (done, sizeof done, (double) u->bytes);
    s_bytes (total, sizeof total, (double) u->bytes_total);
    s_bytes (r, sizeof r, rate);
    if (rate > 0 && u->bytes_total > u->bytes)
        snprintf (eta, sizeof eta, "%.0f s", (double) (u->bytes_total - u->bytes) / rate);
    s_thousands (rps, sizeof rps, secs > 0 ? (uint64_t) ((double) u->rows / secs) : 0);
    snprintf (pct, sizeof pct, "%3.0f%%", frac * 100);
    char f [NF][64];
    snprintf (f [F_TASKS], sizeof f [0], "%llu/%llu tasks", (unsigned long long) u->tasks_done,
              (unsigned long long) u->tasks_total);
    snprintf (f [F_BYTES], sizeof f [0], "%s/%s", done, total);
    snprintf (f [F_RATE], sizeof f [0], "%s/s", r);
    snprintf (f [F_ROWS], sizeof f [0], "%s rows/s", rps);
    snprintf (f [F_ETA], sizeof f [0], "ETA %s", eta);
    snprintf (f [F_MAPPERS], sizeof f [0], "%zu mapper(s)", u->n_mappers);
    snprintf (f [F_SECS], sizeof f [0], "%.1f s", secs);
    bool on [NF];
    size_t fields = 0;      /* the fields shown, each with its two spaces before it */
    for (int i = 0; i < NF; i++) {
        on [i] = true;
        fields += 2 + strlen (f [i]);
    }
    /* One column short of the width: some terminals wrap a line that fills the last column. */
    size_t room = width > 1 ? (size_t) width - 1 : 0;
    int bar = 30;   /* cells; the bar takes bar + 3 columns ("[...] ") */
    while (bar > 10 && (size_t) bar + 3 + strlen (pct) + fields > room)
        bar--;
    for (size_t k = 0; k < sizeof drop_order / sizeof drop_order [0] && (size_t) bar + 3 + strlen (pct) + fields > room;
         k++) {
        on [drop_order [k]] = false;
        fields -= 2 + strlen (f [drop_order [k]]);
    }
    if ((size_t) bar + 3 + strlen (pct) + fields > room)
        bar = 0;
    char line [512];
    size_t o = 0;
    if (bar) {
        line [o++] = '[';
        int fill = (int) (frac * bar + 0.5);
        for (int i = 0; i < bar; i++)
            line [o++] = i < fill ? '#' : '.';
        line [o++] = ']';
        line [o++] = ' ';
    }
    o += (size_t) snprintf (line + o, sizeof line - o, "%s", pct);
    for (int i = 0; i < NF; i++)
        if (on [i])
            o += (size_t) snprintf (line + o, sizeof line - o, "  %s", f [i]);
    if (o > room)       /* narrower than the percentage and the ETA: cut */
        line [room] = 0;
    snprintf (out, outlen, "%s", line);
}

/*  An entry's count of tasks: " (N tasks)" at its end (the broker's form), or 1. The entry's
    text without that suffix is *n long. */
static uint64_t
s_entry_tasks (const char *p, size_t *n)
{
    static const char tail [] = " tasks)";
    size_t len = *n, tl = sizeof tail - 1;
    if (len < tl + 3 || memcmp (p + len - tl, tail, tl) != 0)
        return 1;
    size_t d = len - tl;
    while (d > 0 && p [d - 1] >= '0' && p [d - 1] <= '9')
        d--;
    if (d == len - tl || d < 2 || p [d - 1] != '(' || p [d - 2] != ' ')
        return 1;
    *n = d - 2;
    return strtoull (p + d, NULL, 10);
}

int
tl_render_split_errors (const char *error, uint64_t *failed, tl_render_err_t *items, int max, bool *cut)
{
    static const char head [] = " task(s) failed: ";
    *cut = false;
    if (!error)
        return 0;
    char *x;
    unsigned long long nf = strtoull (error, &x, 10);
    if (x == error || strncmp (x, head, sizeof head - 1) != 0)
        return 0;
    *failed = nf;
    const char *p = x + sizeof head - 1, *end = error + strlen (error);
    /* The broker writes at most TL_STR_MAX - 1 bytes: a text that long was cut, mid-entry. */
    *cut = end - error >= TL_STR_MAX - 1;
    int n = 0;
    while (p < end) {
        /* The entry ends at "; " outside parentheses (an error may hold "; " in its own
           parenthesis), or in any case right after a count, " (N tasks); ". */
        const char *q = p, *stop = end;
        int depth = 0;
        for (; q + 1 < end; q++) {
            if (*q == '(')
                depth++;
            else if (*q == ')' && depth > 0)
                depth--;
            if (q [0] == ';' && q [1] == ' ') {
                size_t len = (size_t) (q - p);
                s_entry_tasks (p, &len);
                if (depth == 0 || len != (size_t) (q - p)) {
                    stop = q;
                    break;
                }
            }
        }
        size_t len = (size_t) (stop - p);
        bool last_cut = *cut && stop == end;
        if (!last_cut && n < max) {
            items [n].tasks = s_entry_tasks (p, &len);
            items [n].text = p;
            items [n].len = len;
        }
        if (!last_cut)
            n++;
        p = stop == end ? end : stop + 2;
    }
    return n;
}

void
tl_render_error (FILE *f, const char *error, const char *indent)
{
    enum { SHOWN = 5 };
    tl_render_err_t it [SHOWN];
    uint64_t failed = 0, shown_tasks = 0;
    bool cut = false;
    int n = tl_render_split_errors (error, &failed, it, SHOWN, &cut);
    if (n == 0 && !cut) {
        fprintf (f, "%s\n", error ? error : "");
        return;
    }
    fprintf (f, "%llu task(s) failed, %s%d distinct error(s):\n", (unsigned long long) failed, cut ? "at least " : "",
             n + (cut ? 1 : 0));
    for (int i = 0; i < n && i < SHOWN; i++) {
        fprintf (f, "%s%.*s (%llu task%s)\n", indent, (int) it [i].len, it [i].text, (unsigned long long) it [i].tasks,
                 it [i].tasks == 1 ? "" : "s");
        shown_tasks += it [i].tasks;
    }
    int more = n > SHOWN ? n - SHOWN : 0;
    if (more || cut)
        fprintf (f, "%s... and %s%d more over %llu task(s) (see the broker's log)\n", indent, cut ? "at least " : "",
                 more + (cut ? 1 : 0), (unsigned long long) (failed > shown_tasks ? failed - shown_tasks : 0));
}

/*  The query behind an update, for labels; a plain spec is one key and a count. */
typedef struct {
    tl_query_t q;
    char by [TL_QUERY_MAX_BY][160];
    char agg [TL_QUERY_MAX_AGG][200];
} s_labels_t;

static void
s_labels (const tl_msg_t *u, s_labels_t *l)
{
    tl_err_t e;
    const char *col = u->col && *u->col ? u->col : "key";
    if (tl_query_parse (col, &l->q, &e) != 0) {
        memset (&l->q, 0, sizeof l->q);
        l->q.nby = 1;
        l->q.naggs = 1;
        snprintf (l->by [0], sizeof l->by [0], "%s", col);
    }
    else
        for (int i = 0; i < l->q.nby; i++)
            tl_query_by_label (&l->q, i, l->by [i], sizeof l->by [i]);
    for (int i = 0; i < l->q.naggs; i++)
        tl_query_agg_label (&l->q, i, l->agg [i], sizeof l->agg [i]);
}

/*  Part i of a group key of nby parts (parts are separated by TL_QUERY_KEY_SEP; a key of one
    part is whole, whatever bytes it holds). */
static void
s_part (const tl_agg_entry_t *g, int i, int nby, const char **p, size_t *n)
{
    const char *k = g->key, *end = g->key + g->len;
    if (nby == 1) {
        *p = k;
        *n = g->len;
        return;
    }
    for (int j = 0; j < i && k <= end; j++) {
        const char *sep = memchr (k, TL_QUERY_KEY_SEP, (size_t) (end - k));
        k = sep ? sep + 1 : end + 1;
    }
    if (k > end) {
        *p = end;
        *n = 0;
        return;
    }
    const char *sep = memchr (k, TL_QUERY_KEY_SEP, (size_t) (end - k));
    *p = k;
    *n = (size_t) ((sep ? sep : end) - k);
}

/*  The value of aggregate a for group g into out; 0 if it has none (no numbers seen). */
static int
s_value (const s_labels_t *l, const tl_msg_t *u, const tl_agg_entry_t *g, int a, char *out, size_t outlen)
{
    const tl_qagg_t *q = &l->q.aggs [a];
    if (q->kind == TL_Q_COUNT) {
        snprintf (out, outlen, "%llu", (unsigned long long) g->count);
        return 1;
    }
    if (!g->cells || q->cell < 0 || (size_t) q->cell >= u->ncells)
        return 0;
    const tl_cell_t *c = &g->cells [q->cell];
    if (q->kind != TL_Q_SUM && c->n == 0)
        return 0;
    double v = q->kind == TL_Q_SUM ? c->sum : q->kind == TL_Q_MIN ? c->min : q->kind == TL_Q_MAX ? c->max
             : c->sum / (double) c->n;
    if (!isfinite (v))
        return 0;   /* a sum out of a double's range: no number (JSON null), and the job failed */
    /* A sum's last bits depend on the order of its additions (split points, steals), so 12
       significant digits; a min or max is one of the values read, exact: as few digits as give
       it back (12.3, and 1420070400456 rather than 1.42007040046e+12). */
    int prec = 12;
    do
        snprintf (out, outlen, "%.*g", prec, v);
    while ((q->kind == TL_Q_MIN || q->kind == TL_Q_MAX) && strtod (out, NULL) != v && ++prec <= 17);
    return 1;
}

/*  Where the groups come from: the update's array, or a sorted table (tl_agg_view_t). */
typedef struct {
    const tl_msg_t *u;
    tl_agg_view_t *view;
    char *buf;                  /* TL_AGG_KEY_MAX bytes for a view's key */
} s_src_t;

/*  Group i of the output (borrowed; tmp holds it when it is not in an array, and its key may
    be in src's buffer: one such group at a time). */
static inline const tl_agg_entry_t *
s_at (const s_src_t *src, size_t i, tl_agg_entry_t *tmp)
{
    if (!src->view)
        return &src->u->groups [i];
    tl_agg_view_at (src->view, i, tmp, src->buf);
    return tmp;
}

/*  Non-number values met by each aggregate, over all groups. */
/*  Group g's values that aggregate a could not read (not numbers), from u's cells. */
static uint64_t
s_cell_bad (const s_labels_t *l, const tl_msg_t *u, const tl_agg_entry_t *g, int a)
{
    int c = l->q.aggs [a].cell;
    return g->cells && c >= 0 && (size_t) c < u->ncells ? g->cells [c].bad : 0;
}

static uint64_t
s_bad_values (const s_labels_t *l, const s_src_t *src, int a)
{
    uint64_t n = 0;
    tl_agg_entry_t tmp;
    for (size_t i = 0; i < src->u->n_groups; i++)
        n += s_cell_bad (l, src->u, s_at (src, i, &tmp), a);
    return n;
}

/*  Aggregates shown after the count column: those that are not count. */
static int
s_is_extra (const s_labels_t *l, int a)
{
    return l->q.aggs [a].kind != TL_Q_COUNT;
}

static int s_render (FILE *f, tl_msg_t *u, tl_fmt_t fmt, const s_src_t *src);

int
tl_render (FILE *f, tl_msg_t *u, tl_fmt_t fmt)
{
    s_order (u);
    return s_render (f, u, fmt, &(s_src_t) { .u = u });
}

int
tl_render_ordered (FILE *f, tl_msg_t *u, tl_fmt_t fmt)
{
    if (s_sort != 0)
        s_order (u);
    return s_render (f, u, fmt, &(s_src_t) { .u = u });
}

int
tl_render_view (FILE *f, tl_msg_t *u, tl_agg_view_t *view, tl_fmt_t fmt)
{
    if (s_sort == 0) {
        char buf [TL_AGG_KEY_MAX];
        return s_render (f, u, fmt, &(s_src_t) { .u = u, .view = view, .buf = buf });
    }
    /* --sort key: the groups as an array, sorted as tl_render sorts them */
    tl_agg_entry_t *g = tl_agg_entries_alloc (u->n_groups);
    if (!g) {
        fputs ("tally: out of memory while writing the result\n", stderr);
        return TL_ENOMEM;
    }
    size_t pos = 0;
    for (size_t i = 0; i < u->n_groups; i++)
        tl_agg_next (tl_agg_view_table (view), &pos, &g [i]);
    tl_msg_t v = *u;
    v.groups = g;
    s_order (&v);
    int rc = s_render (f, &v, fmt, &(s_src_t) { .u = &v });
    free (g);
    return rc;
}

/*  An output in progress, csv or json: the header, then groups as they come (all at once from
    s_render, or a part at a time from the final snapshot), then the footer. */
struct tl_render_stream {
    FILE *f;
    tl_fmt_t fmt;
    s_labels_t l;
    s_out_t o;                          /* the rows, formatted by hand */
    uint64_t n;                         /* groups written */
    uint64_t bad [TL_QUERY_MAX_AGG];    /* json: non-numbers met by each aggregate so far */
    bool fail;                          /* rows were lost (no memory): said once */
    uint64_t not_utf8;                  /* json: keys that are not valid UTF-8 (shown with U+FFFD) */
};

bool
tl_render_streams (tl_fmt_t fmt)
{
    return s_sort == 0 && (fmt == TL_FMT_CSV || fmt == TL_FMT_JSON);
}

tl_render_stream_t *
tl_render_begin (FILE *f, const tl_msg_t *u, tl_fmt_t fmt)
{
    tl_render_stream_t *s = calloc (1, sizeof *s);
    if (!s) {
        fputs ("tally: out of memory while writing the result\n", stderr);
        return NULL;
    }
    s->f = f;
    s->fmt = fmt;
    s_labels (u, &s->l);
    const s_labels_t *l = &s->l;
    if (fmt == TL_FMT_CSV) {
        for (int k = 0; k < l->q.nby; k++) {
            if (k)
                fputc (',', f);
            s_csv_field (f, l->by [k], strlen (l->by [k]));
        }
        fputs (",count", f);
        for (int a = 0; a < l->q.naggs; a++)
            if (s_is_extra (l, a)) {
                fputc (',', f);
                s_csv_field (f, l->agg [a], strlen (l->agg [a]));
            }
        fputc ('\n', f);
        s->o = (s_out_t) { .f = f, .cap = 1 << 20 };
        s->o.b = malloc (s->o.cap);
        return s;
    }
    const char *col = u->col ? u->col : "key";
    fputs ("{\"column\":", f);
    s_json_str (f, l->q.nby == 1 ? l->by [0] : col, strlen (l->q.nby == 1 ? l->by [0] : col));
    fputs (",\"columns\":[", f);
    for (int k = 0; k < l->q.nby; k++) {
        if (k)
            fputc (',', f);
        s_json_str (f, l->by [k], strlen (l->by [k]));
    }
    fputs ("],\"groups\":[", f);
    s->o = (s_out_t) { .f = f, .cap = 1 << 20 };
    s->o.b = malloc (s->o.cap);
    return s;
}

/*  One group's csv row into s->o. 0, or -1 if there is no memory. */
static int
s_csv_row (tl_render_stream_t *s, const tl_msg_t *u, const tl_agg_entry_t *g)
{
    const s_labels_t *l = &s->l;
    s_out_t *o = &s->o;
    char v [64];
    if (s_csv_key_count (o, g, l->q.nby) != 0)
        return -1;
    for (int a = 0; a < l->q.naggs; a++)
        if (s_is_extra (l, a)) {
            int vn = s_value (l, u, g, a, v, sizeof v) ? (int) strlen (v) : 0;
            if (s_room (o, (size_t) vn + 1) != 0)
                return -1;
            o->b [o->n++] = ',';
            memcpy (o->b + o->n, v, (size_t) vn);
            o->n += (size_t) vn;
        }
    if (s_room (o, 1) != 0)
        return -1;
    o->b [o->n++] = '\n';
    s->n++;
    return 0;
}

/*  Whether n bytes are all ASCII (then valid UTF-8 without a closer look). */
static bool
s_ascii (const char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy (&w, p + i, 8);
        if (w & 0x8080808080808080ull)
            return false;
    }
    for (; i < n; i++)
        if ((unsigned char) p [i] & 0x80)
            return false;
    return true;
}

/*  The escaped body of a JSON string into o, which has room for 6 bytes an input byte (the
    longest escape). Runs of plain bytes (printable ASCII but '"' and '\\') are copied as they
    are, which is what tl_json_escape makes of them; from the first other byte on, the rest
    goes through tl_json_escape whole (it writes a NUL after, never inside: a NUL byte is
    escaped). The bytes are those of s_json_body. */
static void
s_jbody (s_out_t *o, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *) p;
    size_t i = 0;
    while (i < n && u [i] >= 0x20 && u [i] < 0x7f && u [i] != '"' && u [i] != '\\')
        i++;
    memcpy (o->b + o->n, p, i);
    o->n += i;
    if (i < n) {
        tl_json_escape (p + i, n - i, o->b + o->n, o->cap - o->n);
        o->n += strlen (o->b + o->n);
    }
}

/*  "body": a JSON string into o, with room made for it. */
static int
s_jstr (s_out_t *o, const char *p, size_t n)
{
    if (s_room (o, 6 * n + 3) != 0)
        return -1;
    o->b [o->n++] = '"';
    s_jbody (o, p, n);
    o->b [o->n++] = '"';
    return 0;
}

static int
s_jlit (s_out_t *o, const char *lit)
{
    size_t n = strlen (lit);
    if (s_room (o, n) != 0)
        return -1;
    memcpy (o->b + o->n, lit, n);
    o->n += n;
    return 0;
}

/*  One group's json object into o. */
static int
s_json_group (tl_render_stream_t *s, const tl_msg_t *u, const tl_agg_entry_t *g)
{
    const s_labels_t *l = &s->l;
    s_out_t *o = &s->o;
    char v [64];
    if (s_jlit (o, s->n++ ? ",{\"key\":" : "{\"key\":") != 0)
        return -1;
    if (l->q.nby == 1) {
        if (s_jstr (o, g->key, g->len) != 0)
            return -1;
    }
    else {
        /* Several keys: "key" joins them with commas; "keys" has them apart. The parts hold
           the key's bytes but its separators, so 6 bytes a key byte twice is room enough. */
        if (s_room (o, 12 * (size_t) g->len + 4 * (size_t) l->q.nby + 16) != 0)
            return -1;
        o->b [o->n++] = '"';
        for (int pass = 0; pass < 2; pass++) {
            for (int k = 0; k < l->q.nby; k++) {
                const char *p;
                size_t n;
                s_part (g, k, l->q.nby, &p, &n);
                if (k)
                    o->b [o->n++] = ',';
                if (pass)
                    o->b [o->n++] = '"';
                s_jbody (o, p, n);
                if (pass)
                    o->b [o->n++] = '"';
            }
            if (!pass) {
                memcpy (o->b + o->n, "\",\"keys\":[", 10);
                o->n += 10;
            }
        }
        o->b [o->n++] = ']';
    }
    snprintf (v, sizeof v, ",\"count\":%llu", (unsigned long long) g->count);
    if (s_jlit (o, v) != 0)
        return -1;
    int any = 0;
    for (int a = 0; a < l->q.naggs; a++)
        if (s_is_extra (l, a)) {
            if (s_jlit (o, any++ ? "," : ",\"values\":{") != 0 || s_jstr (o, l->agg [a], strlen (l->agg [a])) != 0
                || s_jlit (o, ":") != 0 || s_jlit (o, s_value (l, u, g, a, v, sizeof v) ? v : "null") != 0)
                return -1;
            s->bad [a] += s_cell_bad (l, u, g, a);
        }
    return s_jlit (o, any ? "}}" : "}");
}

/*  The rows of u's groups (csv lines, or json objects after the s->n written before), formatted
    into s->o by hand (a stdio call per piece was most of a big table's output), then out to the
    file. */
static int
s_rows (tl_render_stream_t *s, const tl_msg_t *u, const s_src_t *src)
{
    s_out_t *o = &s->o;
    tl_agg_entry_t tmp;
    bool fail = s->fail || (!o->b && u->n_groups);
    for (size_t i = 0; i < u->n_groups && !fail; i++) {
        /* In the output order the keys are scattered over the table's arena: fetch ahead,
           or every row waits for a cache (and TLB) miss; from a table, its entry (where
           the key is) first. */
        if (src->view)
            tl_agg_view_prefetch_ahead (src->view, i);
        else if (i + 20 < u->n_groups) {
            const tl_agg_entry_t *ahead = &u->groups [i + 20];
            __builtin_prefetch (ahead->key);
            __builtin_prefetch (ahead->key + ahead->len - 1);
        }
        const tl_agg_entry_t *g = s_at (src, i, &tmp);
        if (s->fmt == TL_FMT_CSV)
            fail = s_csv_row (s, u, g) != 0;
        else {
            s->not_utf8 += !s_ascii (g->key, g->len) && !tl_utf8_valid (g->key, g->len);
            fail = s_json_group (s, u, g) != 0;
        }
    }
    if (o->b)
        fwrite (o->b, 1, o->n, s->f);
    o->n = 0;
    if (fail && !s->fail)       /* loud, never a result cut short in silence */
        fputs ("tally: out of memory while writing the result: it is incomplete\n", stderr);
    s->fail = fail;
    return fail ? TL_ENOMEM : 0;
}

int
tl_render_rows (tl_render_stream_t *s, const tl_msg_t *part)
{
    return s_rows (s, part, &(s_src_t) { .u = part });
}

int
tl_render_end (tl_render_stream_t **s_p, const tl_msg_t *u)
{
    tl_render_stream_t *s = *s_p;
    if (!s)
        return 0;
    *s_p = NULL;
    int rc = s->fail ? TL_ENOMEM : 0;
    const s_labels_t *l = &s->l;
    FILE *f = s->f;
    if (s->fmt != TL_FMT_CSV && u) {
        fprintf (f,
                 "],\"rows\":%llu,\"bad_rows\":%llu,\"blank_lines\":%llu,\"filtered_rows\":%llu,\"bytes\":%llu,"
                 "\"bytes_total\":%llu,\"fetched\":%llu,\"skipped_row_groups\":%llu,\"tasks\":%llu,\"tasks_total\":%llu,"
                 "\"duplicates_ignored\":%llu,\"keys_not_utf8\":%llu,"
                 "\"elapsed_s\":%.3f,\"done\":%s,\"ok\":%s,\"seq\":%llu,\"bad_values\":{",
                 (unsigned long long) u->rows, (unsigned long long) u->bad, (unsigned long long) u->blank,
                 (unsigned long long) u->filtered, (unsigned long long) u->bytes, (unsigned long long) u->bytes_total,
                 (unsigned long long) u->fetched, (unsigned long long) u->skipped,
                 (unsigned long long) u->tasks_done, (unsigned long long) u->tasks_total,
                 (unsigned long long) u->dups, (unsigned long long) s->not_utf8, u->elapsed_ms / 1000.0, u->done ? "true" : "false",
                 u->ok ? "true" : "false", (unsigned long long) u->seq);
        int any = 0;
        for (int a = 0; a < l->q.naggs; a++)
            if (s_is_extra (l, a)) {
                if (any++)
                    fputc (',', f);
                s_json_str (f, l->agg [a], strlen (l->agg [a]));
                fprintf (f, ":%llu", (unsigned long long) s->bad [a]);
            }
        fputs ("},\"error\":", f);
        s_json_str (f, u->error ? u->error : "", u->error ? strlen (u->error) : 0);
        if (u->job && *u->job) {
            fputs (",\"job\":", f);
            s_json_str (f, u->job, strlen (u->job));
        }
        fputs (",\"mappers\":[", f);
        for (size_t i = 0; i < u->n_mappers; i++) {
            fputs (i ? ",{\"name\":" : "{\"name\":", f);
            s_json_str (f, u->mappers [i].name, strlen (u->mappers [i].name));
            fprintf (f, ",\"tasks\":%llu}", (unsigned long long) u->mappers [i].tasks);
        }
        fputs ("]}\n", f);
        /* Said once a process, with the result (the dashboard renders it on every request,
           `--output` a second time): JSON cannot hold those bytes, and two keys that differ
           only there look alike in it. */
        static bool said;
        if (s->not_utf8 && u->done && !said && (said = true))
            fprintf (stderr, "tally: %llu key(s) are not valid UTF-8: the JSON shows each stray byte as U+FFFD "
                     "(keys_not_utf8); --format csv writes keys byte for byte\n", (unsigned long long) s->not_utf8);
    }
    free (s->o.b);
    free (s);
    return rc;
}

static int
s_render (FILE *f, tl_msg_t *u, tl_fmt_t fmt, const s_src_t *src)
{
    if (fmt == TL_FMT_CSV || fmt == TL_FMT_JSON || fmt == TL_FMT_JSONL) {
        /* The whole table is the three pieces of a streamed output in a row. */
        tl_render_stream_t *s = tl_render_begin (f, u, fmt);
        if (!s)
            return TL_ENOMEM;
        int rc = s_rows (s, u, src), end = tl_render_end (&s, u);
        return rc ? rc : end;
    }
    tl_agg_entry_t tmp;
    s_labels_t *l = calloc (1, sizeof *l);
    if (!l) {
        fputs ("tally: out of memory while writing the result\n", stderr);
        return TL_ENOMEM;
    }
    s_labels (u, l);
    char v [64];
    /* table: key columns, count, share, then the other aggregates */
    size_t kw [TL_QUERY_MAX_BY];
    for (int k = 0; k < l->q.nby; k++) {
        kw [k] = strlen (l->by [k]);
        for (size_t i = 0; i < u->n_groups; i++) {
            const char *p;
            size_t n;
            s_part (s_at (src, i, &tmp), k, l->q.nby, &p, &n);
            if (n > kw [k])
                kw [k] = n > 40 ? 40 : n;
        }
        if (kw [k] < 7)
            kw [k] = 7;
    }
    for (int k = 0; k < l->q.nby; k++)
        fprintf (f, "%-*s  ", (int) kw [k], l->by [k]);
    fprintf (f, "%15s  %7s", "count", "share");
    for (int a = 0; a < l->q.naggs; a++)
        if (s_is_extra (l, a))
            fprintf (f, "  %18s", l->agg [a]);
    fputc ('\n', f);
    for (size_t i = 0; i < u->n_groups; i++) {
        const tl_agg_entry_t *g = s_at (src, i, &tmp);
        for (int k = 0; k < l->q.nby; k++) {
            const char *p;
            size_t n;
            s_part (g, k, l->q.nby, &p, &n);
            if (n)
                fprintf (f, "%-*.*s  ", (int) kw [k], (int) (n > 40 ? 40 : n), p);
            else
                fprintf (f, "%-*s  ", (int) kw [k], "(empty)");
        }
        char n [32];
        s_thousands (n, sizeof n, g->count);
        double share = u->rows ? 100.0 * (double) g->count / (double) u->rows : 0;
        fprintf (f, "%15s  %6.2f%%", n, share);
        for (int a = 0; a < l->q.naggs; a++)
            if (s_is_extra (l, a))
                fprintf (f, "  %18s", s_value (l, u, g, a, v, sizeof v) ? v : "-");
        fputc ('\n', f);
    }
    char rows [32], bad [32], by [64], extra [256] = "";
    s_thousands (rows, sizeof rows, u->rows);
    s_thousands (bad, sizeof bad, u->bad);
    s_bytes (by, sizeof by, (double) u->bytes);
    size_t o = 0;
    if (u->fetched && u->bytes) {   /* what was read of the objects (a Parquet projection: a few per cent) */
        char fe [32];
        s_bytes (fe, sizeof fe, (double) u->fetched);
        size_t bl = strlen (by);
        snprintf (by + bl, sizeof by - bl, " (%s fetched)", fe);
    }
    if (u->filtered)
        o += (size_t) snprintf (extra + o, sizeof extra - o, ", %llu filtered out", (unsigned long long) u->filtered);
    if (u->skipped)
        o += (size_t) snprintf (extra + o, sizeof extra - o, ", %llu row group(s) skipped by statistics",
                                (unsigned long long) u->skipped);
    for (int a = 0; a < l->q.naggs && o < sizeof extra; a++) {
        uint64_t nb = s_is_extra (l, a) ? s_bad_values (l, src, a) : 0;
        if (nb)
            o += (size_t) snprintf (extra + o, sizeof extra - o, ", %llu non-numbers in %s", (unsigned long long) nb,
                                    l->agg [a]);
    }
    fprintf (f, "-- %s rows, %s bad rows skipped%s, %s, %llu/%llu tasks, %.2f s%s", rows, bad, extra, by,
             (unsigned long long) u->tasks_done, (unsigned long long) u->tasks_total, u->elapsed_ms / 1000.0,
             u->done ? (u->ok ? "\n" : ", FAILED: ") : ", running\n");
    if (u->done && !u->ok)
        tl_render_error (f, u->error, "   ");
    free (l);
    return 0;
}

/*  Print a line cut to room columns (the live view never wraps). */
static void
s_fit (FILE *f, const char *line, size_t room)
{
    fprintf (f, "%.*s\n", (int) room, line);
}

void
tl_render_bars (FILE *f, tl_msg_t *u, size_t max_rows, int width, size_t n_total)
{
    s_order (u);
    s_labels_t *l = calloc (1, sizeof *l);
    if (!l)
        return;
    s_labels (u, l);
    /* Several keys show as "a | b"; the header names them the same way. */
    char colbuf [600] = "";
    for (int k = 0, o = 0; k < l->q.nby && o < (int) sizeof colbuf; k++)
        o += snprintf (colbuf + o, sizeof colbuf - (size_t) o, "%s%s", k ? " | " : "", l->by [k]);
    free (l);
    const char *col = colbuf;
    size_t kw = strlen (col);
    for (size_t i = 0; i < u->n_groups && i < max_rows; i++)
        if (u->groups [i].len > kw)
            kw = u->groups [i].len > 24 ? 24 : u->groups [i].len;
    if (kw < 7)
        kw = 7;
    /* Columns: key, 2, count 13, 2, share 7, 2, bar. The bar takes what the width leaves (up to
       40), then the key column gives way down to 7; anything still too wide is cut. */
    size_t room = width > 1 ? (size_t) width - 1 : 0, fixed = 2 + 13 + 2 + 7;
    if (kw + fixed + 2 + 1 > room)
        kw = room > fixed + 3 + 7 ? room - fixed - 3 : 7;
    size_t bw = room > kw + fixed + 2 ? room - kw - fixed - 2 : 0;
    if (bw > 40)
        bw = 40;
    uint64_t top = u->n_groups ? u->groups [0].count : 0;
    char line [512];
    snprintf (line, sizeof line, "%-*.*s  %13s  %7s", (int) kw, (int) kw, col, "count", "share");
    s_fit (f, line, room);
    for (size_t i = 0; i < u->n_groups && i < max_rows; i++) {
        char n [32], bar [41];
        s_thousands (n, sizeof n, u->groups [i].count);
        double share = u->rows ? 100.0 * (double) u->groups [i].count / (double) u->rows : 0;
        int w = top ? (int) ((double) bw * (double) u->groups [i].count / (double) top + 0.5) : 0;
        if (w == 0 && u->groups [i].count && bw)
            w = 1;
        memset (bar, '#', (size_t) w);
        bar [w] = 0;
        /* The key's parts as "a|b" (keys are borrowed: a copy is changed, not the key). */
        char k [TL_AGG_KEY_MAX + 1];
        size_t kl = u->groups [i].len ? u->groups [i].len : 7;
        if (kl > kw)
            kl = kw;
        memcpy (k, u->groups [i].len ? u->groups [i].key : "(empty)", kl);
        for (size_t j = 0; j < kl; j++)
            if (k [j] == TL_QUERY_KEY_SEP)
                k [j] = '|';
        snprintf (line, sizeof line, "%-*.*s  %13s  %6.2f%%%s%s", (int) kw, (int) kl, k, n, share, w ? "  " : "", bar);
        s_fit (f, line, room);
    }
    size_t shown = u->n_groups < max_rows ? u->n_groups : max_rows;
    if (n_total < u->n_groups)
        n_total = u->n_groups;
    if (n_total > shown) {
        snprintf (line, sizeof line, "... and %zu more group(s)", n_total - shown);
        s_fit (f, line, room);
    }
}
