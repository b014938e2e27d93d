/*  render.h — the result as people and programs read it: table, csv or json. */
#ifndef TL_RENDER_H
#define TL_RENDER_H
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stdio.h>

typedef enum { TL_FMT_TABLE, TL_FMT_CSV, TL_FMT_JSON, TL_FMT_JSONL } tl_fmt_t;

/*  Parse "table", "csv", "json" or "jsonl" (json on one line, one per update). Returns 0 or TL_EINVAL. */
int tl_fmt_parse (const char *s, tl_fmt_t *fmt);
/*  Order of the groups in every output: by count (descending, the default), or by key
    ("key": ascending, "-key": descending; keys that are numbers compare as numbers). */
int tl_render_set_sort (const char *how);
/*  Print an UPDATE's result. Sorts its groups in place (count desc, then key). */
void tl_render (FILE *f, tl_msg_t *update, tl_fmt_t fmt);
/*  The table with a horizontal bar per group (the live view on a terminal); at most max_rows
    groups, then a line that says how many more. */
void tl_render_bars (FILE *f, tl_msg_t *update, size_t max_rows);
/*  One progress line (no newline): bar, tasks, bytes, rate, ETA, mappers. */
void tl_render_progress (char *out, size_t outlen, const tl_msg_t *u);
#endif
