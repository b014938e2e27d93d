/*  csv.h — the streaming CSV scanner: bytes in, group counts out.

    It is fed an object (or a byte range of one) in chunks of any size, finds the group-by column
    in the object's header, and adds 1 to the aggregator for the value of that column in each row.
    It copes with the TLC files' quirks: a blank line after the header, CRLF line ends, headers
    with spaces around names ("vendor_id, passenger_count"), a UTF-8 BOM, empty values (the
    empty key), rows with too few columns (bad rows, counted), records over 1 MiB (bad rows), and
    a last line with no newline.

    Line ends are LF and CRLF. CRs at a line's end or start (CR CR LF: a CRLF file converted
    twice) are cut off: Python's csv module and DuckDB read blank lines there, and the same row.
    Any other CR outside a quoted field ends a line to them and not here, so its row is a bad
    row rather than a row with another key; a header line holding one (a file of old Mac CR
    line ends is one line) fails the object. A CR inside a quoted field is data.

    Records, not lines: a quoted field (RFC 4180) may hold newlines (LF or CRLF), and such a
    record is one row, its value unquoted ("" is "). A quote opens a quoted field only at the
    start of a field; anywhere else it is an ordinary byte (as Python's csv module reads it).
    The header is one line.

    Byte ranges follow the line rule: a record belongs to the range in which it starts. A range
    [start, end) with start > 0 is fed from byte start-1 (see tl_csv_stream_offset) and skips
    through the first newline. Reading past `end` finishes the last record, and then
    tl_csv_feed returns 1 ("range complete"). Such a range has no header in its bytes: resolve
    the column first with tl_csv_set_header and the object's first line.

    Why a range that saw no multi-line record is exact. A range cannot tell from its own bytes
    whether its first newline is inside a quoted field. But range 0 starts at the object's start,
    outside quotes. If it saw no multi-line record, every record it parsed is one line, so its
    last record ends at the first newline at or past its end, which is exactly where range 1
    starts: range 1 starts outside quotes too. By induction, every range that reports no
    multi-line record (stats.multiline == 0) parsed its bytes as the whole object would have.
    So the caller fails any range task that reports one (tl_csv_multiline_at names the place),
    and reads such an object whole instead. A range that does start inside a quoted field sees
    the quotes inverted, and reports when it reaches the field's closing line: that line holds an
    odd number of quotes, and is either read as a record that goes on past its newline or as a
    one-line record with an odd number of quotes, which is counted as multi-line too (a correct
    parse never yields one; a stray quote inside an unquoted field does, and is merely reported).

    Pure: no I/O, no clock. */
#ifndef TL_CSV_H
#define TL_CSV_H
#include "lib/core/agg.h"
#include "lib/base/err.h"
#include <stddef.h>
#include <stdint.h>

/*  The longest record (or header line), in bytes, without its newline. A CR before the newline
    counts: a CRLF record of exactly TL_CSV_LINE_MAX bytes is over-long (a bad row, counted). */
#define TL_CSV_LINE_MAX (1024 * 1024)
/*  What a header line over TL_CSV_LINE_MAX fails its object with (TL_EPROTO). */
#define TL_CSV_HEADER_TOO_LONG "header line longer than 1 MiB (1048577+ bytes): not a CSV header?"

/*  What an object fails with (TL_EPROTO) when a record over TL_CSV_LINE_MAX still has a quoted
    field open at the newline where the scanner would resynchronise (csv_record.h): the text after
    it is either rows or the field's own lines, and no count is exact. */
#define TL_CSV_QUOTE_OPEN "a quoted field is still open more than 1 MiB into the record at byte %llu (a stray quote, or a field over 1 MiB): where the record ends is unknown, so no count is exact"

typedef struct tl_csv tl_csv_t;

typedef struct {
    uint64_t rows;      /* rows counted into a group */
    uint64_t bad;       /* rows skipped: too few columns, over-long record, over-long key,
                           a quote still open at the end of the object */
    uint64_t blank;     /* empty lines (not rows) */
    uint64_t filtered;  /* rows a --where left out (query mode) */
    uint64_t multiline; /* records that span more than one line, or one-line records with an
                           odd number of quotes (see above): a range task that saw any is not
                           exact; a whole-object task is */
} tl_csv_stats_t;

/*  spec is a header name (case-insensitive, spaces ignored) or a 1-based column number, or a
    full query text (query.h): then rows are split into fields and handed to the query, record
    by record, and agg must have the query's nvals cells. agg is borrowed and must outlive the
    scanner. */
tl_csv_t *tl_csv_new (const char *spec, tl_agg_t *agg);
void tl_csv_destroy (tl_csv_t **self_p);
/*  Restrict to the records that start in [start, end). Call before the first feed. */
void tl_csv_set_range (tl_csv_t *self, uint64_t start, uint64_t end);
/*  The offset of the first byte the caller must feed: 0, or start-1 for a range. */
uint64_t tl_csv_stream_offset (const tl_csv_t *self);
/*  Resolve the column from a header line (without the newline). TL_ECOLUMN if absent,
    TL_EPROTO (TL_CSV_HEADER_TOO_LONG) if len > TL_CSV_LINE_MAX. */
int tl_csv_set_header (tl_csv_t *self, const char *line, size_t len, tl_err_t *e);
/*  Like tl_csv_set_header, for a range task: also says where the header line starts in the
    object (after any blank lines), so that a range containing that offset does not count the
    header as a row. */
int tl_csv_set_header_at (tl_csv_t *self, const char *line, size_t len, uint64_t at, tl_err_t *e);
/*  Find an object's header in its first n bytes: the first line that is not blank.
    Returns 1 with *line, *len and *at (its offset) set;
            0 if buf holds no complete header yet, and the header so far is not over-long:
              read more (one of the other answers is certain once buf holds the blank
              lines and TL_CSV_LINE_MAX + 1 bytes more);
            TL_EPROTO if the header line is longer than TL_CSV_LINE_MAX: fail the object with
              TL_CSV_HEADER_TOO_LONG. *line, *len and *at are then set to the over-long part
              seen, so that tl_csv_set_header on it fails with that same error. */
int tl_csv_find_header (const char *buf, size_t n, const char **line, size_t *len, uint64_t *at);
/*  Use a column index resolved earlier from the same object's header (a cache hit). */
void tl_csv_set_column_index (tl_csv_t *self, int col);
/*  Feed the next bytes. Returns 0 for "more please", 1 when the range is complete (stop
    reading), or a negative error with e filled: TL_ECOLUMN, TL_ENOMEM, or TL_EPROTO for a
    header line over TL_CSV_LINE_MAX. */
int tl_csv_feed (tl_csv_t *self, const char *buf, size_t len, tl_err_t *e);
/*  Absolute offset of the next byte to be fed. */
uint64_t tl_csv_position (const tl_csv_t *self);
/*  Move the range end to `end` (a cut: the records that start from there on are someone
    else's). Allowed only at or after the current position. Returns 0, or -1 if it is too late.
    The record that crosses the new end is finished as a record, however many lines it has. */
int tl_csv_set_end (tl_csv_t *self, uint64_t end);
/*  End of stream: count a last record that has no newline. Errors as for tl_csv_feed. */
int tl_csv_finish (tl_csv_t *self, tl_err_t *e);
tl_csv_stats_t tl_csv_stats (const tl_csv_t *self);
/*  The first record counted in stats.multiline: returns 1 and sets *offset (absolute, in the
    object) and *line (1-based, counting from the first line the scanner owns: the object's
    first line, or for a range the first line that starts at or after `start`), or returns 0 if
    there was none. Either pointer may be NULL. */
int tl_csv_multiline_at (const tl_csv_t *self, uint64_t *offset, uint64_t *line);
/*  Row scanners: the same counts, different speeds. The best one the CPU has is chosen at
    tl_csv_new (TALLY_SCANNER=scalar|sse2 forces one); tests run all three. */
enum { TL_CSV_SCALAR = 0, TL_CSV_SSE2 = 1, TL_CSV_AVX2 = 2 };
int tl_csv_best_impl (void);
/*  Use scanner impl. Returns -1 if this CPU cannot. */
int tl_csv_set_impl (tl_csv_t *self, int impl);
const char *tl_csv_impl_name (int impl);
#endif
