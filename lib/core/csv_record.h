/*  csv_record.h — where a CSV record ends.

    A record is a line, unless a quoted field holds newlines (RFC 4180). The quote rules are the
    field parsers' own (csv.c): a quote opens a quoted field only at the start of a field (first
    in the record, or right after a comma); inside one, "" is a quote and a lone quote closes it;
    whatever follows the closing quote up to the comma is appended to the value, its quotes
    ordinary bytes, as Python's csv module reads it ("a"b is ab). A quote
    anywhere else is an ordinary byte, as Python's csv module reads it. So a record ends at the
    first newline outside a quoted field.

    Over-long records. A record may have TL_CSV_LINE_MAX bytes, without its newline. A longer
    one is over-long (a bad row for the scanner), and ends at the first newline at or after its
    byte TL_CSV_LINE_MAX, whatever the quote state. If a quoted field is still open at that
    newline (open_cut), the record does not end there by RFC 4180: it is either a stray quote
    (whose record runs on to the next lone quote) or a quoted field of over a MiB, and the lines
    after the newline are either rows or the field's text. No count is exact then (rt14: a
    2 MiB quoted field of "zz,FAKE" lines counted 68,928 FAKE rows, ok), so the scanner fails the
    object (TL_CSV_QUOTE_OPEN); Python's csv module and DuckDB refuse such a record too. An
    over-long record whose quotes are closed at that newline is one bad row, as before. The rule
    depends only on the bytes from the record's start, so every chunking and every scanner
    resynchronises (or fails) at the same newline.

    A record is scanned in pieces of any size (chunks), keeping its state in between.
    Pure: no I/O. */
#ifndef TL_CSV_RECORD_H
#define TL_CSV_RECORD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t q;          /* quote state after the bytes scanned so far (csv_record.c) */
    bool lines;         /* ignore quotes: the record is one line (a header, a line before it) */
    bool overlong;      /* past TL_CSV_LINE_MAX: it ends at the next newline, quotes or not */
    bool open_cut;      /* over-long, and a quoted field is open at that newline (see above) */
    uint32_t nl;        /* newlines inside the record (not its last) */
    uint32_t nq;        /* quotes in it */
    size_t len;         /* bytes scanned so far, without the newline (at most TL_CSV_LINE_MAX) */
} tl_csv_record_t;

/*  Start a record. lines: ignore quotes, it ends at the first newline. */
void tl_csv_record_init (tl_csv_record_t *self, bool lines);
/*  Go on scanning the record over [p, e) (self->len bytes of it came before p). Returns the
    newline that ends it, or NULL if it goes on past e. */
const char *tl_csv_record_scan (tl_csv_record_t *self, const char *p, const char *e);
/*  The record's end came with a quoted field still open (only at the end of an object, or when
    it is over-long). */
bool tl_csv_record_in_quotes (const tl_csv_record_t *self);
#endif
