/*  csv_int.h — the CSV scanner's insides, shared by its pieces and by no one else.

    The scanner is one object (struct tl_csv) cut into files by concern: csv.c (the object, the
    feed loop and records that straddle chunks), csv_header.c (finding the header and resolving
    the group-by column), csv_line.c (counting one record: the scalar and query line paths and
    RFC 4180 field splitting), csv_bulk.c (the bulk scanners: the SIMD line hop, its
    pre-aggregation cache, and the choice of scanner), and csv_record.c (where a record ends).
    This header holds the struct, the states, the helpers that sit on the per-row path (static
    inline, so that the hot loops still inline them) and the functions the pieces call in one
    another. Only lib/core/csv*.c include it; everyone else uses csv.h. */
#ifndef TL_CSV_INT_H
#define TL_CSV_INT_H
#include "lib/core/csv.h"
#include "lib/core/csv_record.h"
#include "lib/core/query.h"
#include <stdbool.h>
#include <string.h>

enum { TL_CSV_ST_SKIP_FIRST, TL_CSV_ST_HEADER, TL_CSV_ST_ROWS, TL_CSV_ST_DONE };

#if defined(__x86_64__) || defined(__i386__)
#define TL_HAVE_X86 1
#endif

struct tl_csv {
    tl_agg_t *agg;
    char *name;             /* column name, or NULL when given by number */
    int col;                /* 0-based column index; -1 until resolved */
    int state;
    uint64_t start, end;    /* range of record starts we own */
    uint64_t pos;           /* absolute offset of the next byte fed */
    char *carry;            /* the bytes of a record in progress (none once it is over-long) */
    size_t carry_len, carry_cap;
    uint64_t carry_start;   /* absolute offset where that record starts */
    char *unq;              /* buffer for unquoting quoted values */
    tl_csv_stats_t st;
    tl_query_t *q;          /* a full query (several keys, aggregates, filters); NULL for plain */
    tl_qstats_t qst;
    tl_field_t *fields;     /* query mode: the fields of one row, up to the last one needed */
    int impl;               /* TL_CSV_SCALAR, TL_CSV_SSE2 or TL_CSV_AVX2 */
    uint64_t hdr_at;        /* range tasks: where the header line starts; UINT64_MAX if unknown */
    bool hdr_pending;       /* the header line lies in our bytes and is still to be skipped */
    /* Pre-aggregation for short keys: a direct-mapped cache of (key up to 8 bytes, count),
       flushed into agg at the end of every chunk, so the common row costs a multiply and an
       add instead of a hash-table probe. */
    struct {
        uint64_t key;
        uint32_t len;       /* 0xffffffff: empty slot */
        uint64_t count;
    } pre [64];
    /* Records across chunks, and what the row counts do not say. */
    bool open;              /* a record is in progress at the end of the last chunk */
    tl_csv_record_t rec;    /* its state */
    uint64_t xlines;        /* lines owned but not in st: the header, and the extra lines of records */
    uint64_t ml_at, ml_line;    /* the first multi-line record: offset and line number */
    bool nomem;             /* the aggregator could not grow: sticky, reported once per chunk */
    bool quote_open;        /* an over-long record with a quoted field open (TL_CSV_QUOTE_OPEN): sticky */
    uint64_t quote_open_at; /* where that record starts */
};

/*  How a bulk scanner stopped (csv_bulk.c): at lim, at the first record at or past the range
    end, or at the start of a record that goes on past lim (the caller carries it). */
enum { TL_CSV_BULK_ALL, TL_CSV_BULK_END, TL_CSV_BULK_OPEN };

static inline void
s_trim (const char **p, const char **e)
{
    while (*p < *e && (**p == ' ' || **p == '\t'))
        (*p)++;
    while (*e > *p && ((*e) [-1] == ' ' || (*e) [-1] == '\t' || (*e) [-1] == '\r'))
        (*e)--;
}

/*  Count one row of key [v, v+n): rows or bad. Out of memory is sticky (tl_csv_feed reports it). */
static inline void
s_count (tl_csv_t *self, const char *v, size_t n)
{
    int rc = tl_agg_add (self->agg, v, n, 1);
    if (rc == 0)
        self->st.rows++;
    else {
        self->st.bad++;     /* a key longer than TL_AGG_KEY_MAX */
        self->nomem |= rc == TL_ENOMEM;
    }
}

/*  csv_line.c: fail the object for the over-long open-quoted record seen (TL_CSV_QUOTE_OPEN). */
int tl_csv_quote_open (const tl_csv_t *self, tl_err_t *e);
/*  csv_header.c: fail a header line over TL_CSV_LINE_MAX (TL_EPROTO, TL_CSV_HEADER_TOO_LONG). */
int tl_csv_header_too_long (tl_err_t *e);

/*  csv_line.c: count one complete record, without its '\n' (the header, while it is due). */
int tl_csv_line (tl_csv_t *self, const char *p, size_t n, tl_err_t *e);
/*  csv_line.c: count a complete record [p, p+n), scanned into r, that starts at offset `at`. */
int tl_csv_count_record (tl_csv_t *self, const char *p, size_t n, const tl_csv_record_t *r, uint64_t at,
                         tl_err_t *e);
/*  csv_line.c: scan and count the record at ls; the offset past its newline, or SIZE_MAX. */
size_t tl_csv_slow_record (tl_csv_t *self, const char *buf, size_t ls, size_t lim, uint64_t base);
/*  csv_line.c: the scalar bulk scanner (see csv_bulk.c for the contract). */
size_t tl_csv_bulk_scalar (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how);

/*  csv_bulk.c: count the complete lines [i, lim) of buf with the chosen scanner. */
size_t tl_csv_bulk (tl_csv_t *self, const char *buf, size_t i, size_t lim, uint64_t base, int *how);
/*  csv_bulk.c: move the pre-aggregated counts into the aggregator (out of memory: self->nomem). */
void tl_csv_pre_flush (tl_csv_t *self);
#endif
