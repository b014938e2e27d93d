/*  render.h — the result as people and programs read it: table, csv or json. */
#ifndef TL_RENDER_H
#define TL_RENDER_H
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { TL_FMT_TABLE, TL_FMT_CSV, TL_FMT_JSON, TL_FMT_JSONL } tl_fmt_t;

/*  Parse "table", "csv", "json" or "jsonl" (json on one line, one per update). Returns 0 or TL_EINVAL. */
int tl_fmt_parse (const char *s, tl_fmt_t *fmt);
/*  Order of the groups in every output: by count (descending, the default), or by key
    ("key": ascending, "-key": descending; keys that are numbers compare as numbers). */
typedef enum { TL_SORT_COUNT, TL_SORT_KEY, TL_SORT_KEY_DESC } tl_sort_t;
/*  Parse "count", "key" or "-key". Returns 0 or TL_EINVAL. */
int tl_sort_parse (const char *s, tl_sort_t *sort);
void tl_render_set_sort (tl_sort_t sort);
/*  Print an UPDATE's result. Sorts its groups in place (count desc, then key). Returns 0, or
    TL_ENOMEM when the result could not be written whole (a line on stderr says so). */
int tl_render (FILE *f, tl_msg_t *update, tl_fmt_t fmt);
/*  tl_render for groups already in the default order (count desc, then key: tl_agg_sorted's),
    which it does not sort again; under --sort key it sorts as tl_render does. */
int tl_render_ordered (FILE *f, tl_msg_t *update, tl_fmt_t fmt);
/*  tl_render_ordered for the groups of a sorted table (update->n_groups of them;
    update->groups is not read): the groups are read from the view as they are written, so the
    result needs no array of entries. Under --sort key it sorts as tl_render does. */
int tl_render_view (FILE *f, tl_msg_t *update, tl_agg_view_t *view, tl_fmt_t fmt);
/*  An output written a piece at a time, as the groups come (the final snapshot's parts): csv
    or json, groups in the default order. The whole-table renders above are these three in a
    row, so the bytes are the same. */
typedef struct tl_render_stream tl_render_stream_t;
/*  Can fmt be written so under the sort set (csv or json, sorted by count)? */
bool tl_render_streams (tl_fmt_t fmt);
/*  Begin: the header, from first's query (`col`). NULL when out of memory (said on stderr). */
tl_render_stream_t *tl_render_begin (FILE *f, const tl_msg_t *first, tl_fmt_t fmt);
/*  The next groups: part->groups, n_groups of them, in output order (neither checked nor
    sorted), whose cells have part->ncells. Returns 0, or TL_ENOMEM when rows were lost (said
    on stderr once; no more rows are written). */
int tl_render_rows (tl_render_stream_t *s, const tl_msg_t *part);
/*  End: the footer from last's totals (json: rows, ..., ok, seq, error, mappers), then free *s_p
    and set it NULL. last NULL: the output is abandoned, no footer. Returns 0, or TL_ENOMEM if
    rows were lost. */
int tl_render_end (tl_render_stream_t **s_p, const tl_msg_t *last);
/*  The table with a horizontal bar per group (the live view on a terminal); at most max_rows
    groups, then a line that says how many more of the n_total the job has (update may hold only
    the top groups). No line is wider than width - 1 columns. Keys are not changed. */
void tl_render_bars (FILE *f, tl_msg_t *update, size_t max_rows, int width, size_t n_total);
/*  One progress line (no newline): bar, tasks, bytes, rate, ETA, mappers, fitted to width - 1
    columns by dropping the least useful fields first. */
void tl_render_progress (char *out, size_t outlen, const tl_msg_t *u, int width);

/*  One distinct error of a failed job: its text (borrowed, not NUL-terminated) and its tasks. */
typedef struct {
    const char *text;
    size_t len;
    uint64_t tasks;
} tl_render_err_t;
/*  Split the broker's summary of a failed job, "N task(s) failed: E1 (k tasks); E2; ...", into
    its distinct errors (at most max into items; the return value counts them all). *failed is
    N. *cut is set if the text was cut short (its last entry is then left out). Returns 0 if
    error is not in that form. */
int tl_render_split_errors (const char *error, uint64_t *failed, tl_render_err_t *items, int max, bool *cut);
/*  A job's error for people: the distinct errors, the first 5 in full with their counts, one a
    line after indent, then "... and K more (see the broker's log)"; any other error as it is.
    Ends with a newline. (--format json keeps the full text.) */
void tl_render_error (FILE *f, const char *error, const char *indent);
#endif
