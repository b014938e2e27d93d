/*  csv.h — the streaming CSV scanner: bytes in, group counts out.

    It is fed an object (or a byte range of one) in chunks of any size, finds the group-by column
    in the object's header, and adds 1 to the aggregator for the value of that column in each row.
    It copes with the TLC files' quirks: a blank line after the header, CRLF line ends, headers
    with spaces around names ("vendor_id, passenger_count"), a UTF-8 BOM, empty values (the
    empty key), rows with too few columns (bad rows, counted), lines over 1 MiB (bad rows), and a
    last line with no newline. Quoted fields (RFC 4180, without embedded newlines) take a
    slower path.

    Byte ranges follow the line rule: a line belongs to the range in which it starts. A range
    [start, end) with start > 0 is fed from byte start-1 (see tl_csv_stream_offset) and skips
    through the first newline. Reading past `end` finishes the last line, and then
    tl_csv_feed returns 1 ("range complete"). Such a range has no header in its bytes: resolve
    the column first with tl_csv_set_header and the object's first line.

    Pure: no I/O, no clock. */
#ifndef TL_CSV_H
#define TL_CSV_H
#include "lib/core/agg.h"
#include "lib/base/err.h"
#include <stddef.h>
#include <stdint.h>

#define TL_CSV_LINE_MAX (1024 * 1024)

typedef struct tl_csv tl_csv_t;

typedef struct {
    uint64_t rows;      /* rows counted into a group */
    uint64_t bad;       /* rows skipped: too few columns, over-long line, over-long key */
    uint64_t blank;     /* empty lines (not rows) */
    uint64_t filtered;  /* rows a --where left out (query mode) */
} tl_csv_stats_t;

/*  spec is a header name (case-insensitive, spaces ignored) or a 1-based column number, or a
    full query text (query.h): then rows are split into fields and handed to the query, line
    by line, and agg must have the query's nvals cells. agg is borrowed and must outlive the
    scanner. */
tl_csv_t *tl_csv_new (const char *spec, tl_agg_t *agg);
void tl_csv_destroy (tl_csv_t **self_p);
/*  Restrict to the lines that start in [start, end). Call before the first feed. */
void tl_csv_set_range (tl_csv_t *self, uint64_t start, uint64_t end);
/*  The offset of the first byte the caller must feed: 0, or start-1 for a range. */
uint64_t tl_csv_stream_offset (const tl_csv_t *self);
/*  Resolve the column from a header line (without the newline). TL_ECOLUMN if absent. */
int tl_csv_set_header (tl_csv_t *self, const char *line, size_t len, tl_err_t *e);
/*  Like tl_csv_set_header, for a range task: also says where the header line starts in the
    object (after any blank lines), so that a range containing that offset does not count the
    header as a row. */
int tl_csv_set_header_at (tl_csv_t *self, const char *line, size_t len, uint64_t at, tl_err_t *e);
/*  Find an object's header in its first bytes: the first line that is not blank. Sets *line,
    *len and *at (its offset) and returns 1, or returns 0 if no complete one is in buf. */
int tl_csv_find_header (const char *buf, size_t n, const char **line, size_t *len, uint64_t *at);
/*  Use a column index resolved earlier from the same object's header (a cache hit); `at` as
    for tl_csv_set_header_at. */
void tl_csv_set_column_at (tl_csv_t *self, int col, uint64_t at);
/*  Use a column index resolved earlier from the same object's header (a cache hit). */
void tl_csv_set_column_index (tl_csv_t *self, int col);
/*  Index (0-based) of the resolved column, or -1 while unresolved. */
int tl_csv_column (const tl_csv_t *self);
/*  Feed the next bytes. Returns 0 for "more please", 1 when the range is complete (stop
    reading), or a negative error (TL_ECOLUMN, TL_ENOMEM) with e filled. */
int tl_csv_feed (tl_csv_t *self, const char *buf, size_t len, tl_err_t *e);
/*  Absolute offset of the next byte to be fed. */
uint64_t tl_csv_position (const tl_csv_t *self);
/*  Move the range end to `end` (a cut: the lines from there on are someone else's). Allowed only
    at or after the current position. Returns 0, or -1 if it is too late. */
int tl_csv_set_end (tl_csv_t *self, uint64_t end);
/*  End of stream: count a last line that has no newline. */
int tl_csv_finish (tl_csv_t *self, tl_err_t *e);
tl_csv_stats_t tl_csv_stats (const tl_csv_t *self);
/*  Row scanners: the same counts, different speeds. The best one the CPU has is chosen at
    tl_csv_new (TALLY_SCANNER=scalar|sse2 forces one); tests run all three. */
enum { TL_CSV_SCALAR = 0, TL_CSV_SSE2 = 1, TL_CSV_AVX2 = 2 };
int tl_csv_best_impl (void);
/*  Use scanner impl. Returns -1 if this CPU cannot. */
int tl_csv_set_impl (tl_csv_t *self, int impl);
const char *tl_csv_impl_name (int impl);
/*  Find a column by name in a header line. Returns its 0-based index or -1. Pure helper. */
int tl_csv_find_column (const char *line, size_t len, const char *name);
#endif
