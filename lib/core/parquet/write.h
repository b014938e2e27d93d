/*  write.h — a small Parquet writer that builds a whole file in memory.

    It exists so that `tally gen --format parquet` can write test data shaped like the TLC's
    yellow-trip files without a network or a Parquet library (Debian ships none). It writes flat
    schemas only: INT32, INT64 (optionally TIMESTAMP micros, not adjusted to UTC), DOUBLE and
    BYTE_ARRAY (optionally STRING), each REQUIRED or OPTIONAL. Per column it writes PLAIN pages,
    dictionary pages with RLE_DICTIONARY ids (or the deprecated PLAIN_DICTIONARY id that older
    parquet-cpp wrote), or a dictionary that falls back to PLAIN once it holds dict_max entries.
    Data pages are version 1, compressed with one codec for the file (none, SNAPPY, GZIP, ZSTD).

    Values are appended column by column into the open row group; every column must hold the same
    number of values when the row group ends. The writer is pure: no files, no clock. Errors are
    sticky: after the first one every call returns it, and tl_pq_writer_err says what it was. */
#ifndef TL_PQ_WRITE_H
#define TL_PQ_WRITE_H
#include "lib/base/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  Physical types; the values are parquet.thrift's Type. */
typedef enum { TL_PQW_INT32 = 1, TL_PQW_INT64 = 2, TL_PQW_DOUBLE = 5, TL_PQW_BYTE_ARRAY = 6 } tl_pq_wtype_t;

/*  Logical annotations: STRING on BYTE_ARRAY, TIMESTAMP(MICROS, isAdjustedToUTC=false) on INT64.
    Both are written as LogicalType and as the matching converted_type (UTF8, TIMESTAMP_MICROS). */
typedef enum { TL_PQW_NO_LOGICAL = 0, TL_PQW_STRING, TL_PQW_TIMESTAMP_US } tl_pq_wlogical_t;

typedef enum {
    TL_PQW_PLAIN = 0,           /* PLAIN data pages */
    TL_PQW_DICT,                /* one dictionary page, then RLE_DICTIONARY data pages */
    TL_PQW_DICT_FALLBACK,       /* as TL_PQW_DICT until the dictionary holds dict_max entries, PLAIN after */
} tl_pq_wencoding_t;

/*  Codecs; the values are parquet.thrift's CompressionCodec. */
typedef enum { TL_PQW_UNCOMPRESSED = 0, TL_PQW_SNAPPY = 1, TL_PQW_GZIP = 2, TL_PQW_ZSTD = 6 } tl_pq_wcodec_t;

typedef struct {
    const char *name;           /* copied */
    tl_pq_wtype_t type;
    tl_pq_wlogical_t logical;
    bool optional;              /* OPTIONAL (NULLs allowed) rather than REQUIRED */
    tl_pq_wencoding_t encoding;
    bool legacy_dict;           /* dictionary pages and ids say PLAIN_DICTIONARY, as parquet-cpp 1.x wrote */
} tl_pq_wcol_t;

typedef struct {
    tl_pq_wcodec_t codec;
    int level;                  /* codec level; 0: gzip 6, zstd 1 (as parquet-cpp) */
    size_t page_size;           /* a data page ends once its encoded size reaches this; 0 is 1 MiB */
    size_t dict_max;            /* TL_PQW_DICT_FALLBACK's entry limit per column chunk; 0 is 65,536 */
    bool no_stats;              /* leave Statistics out of the column chunks */
    const char *created_by;     /* NULL is "tally gen" */
} tl_pq_wopts_t;

typedef struct tl_pq_writer tl_pq_writer_t;

/*  A writer for ncols columns (1 to 4,096). opts may be NULL for the defaults. Returns NULL and
    fills e (may be NULL) on a bad column or option, or out of memory. */
tl_pq_writer_t *tl_pq_writer_new (const tl_pq_wcol_t *cols, size_t ncols, const tl_pq_wopts_t *opts, tl_err_t *e);

/*  Append one value to column col of the open row group. The call must match the column's
    physical type; add_null needs an OPTIONAL column. Return 0 or a negative TL_E* code. */
int tl_pq_writer_add_i32 (tl_pq_writer_t *w, size_t col, int32_t v);
int tl_pq_writer_add_i64 (tl_pq_writer_t *w, size_t col, int64_t v);
int tl_pq_writer_add_f64 (tl_pq_writer_t *w, size_t col, double v);
int tl_pq_writer_add_bytes (tl_pq_writer_t *w, size_t col, const void *p, size_t n);
int tl_pq_writer_add_null (tl_pq_writer_t *w, size_t col);

/*  Close the open row group and lay it out in the file. An empty row group is skipped. */
int tl_pq_writer_end_row_group (tl_pq_writer_t *w);

/*  Rows in the open row group so far (column 0's count). */
size_t tl_pq_writer_pending_rows (const tl_pq_writer_t *w);

/*  End the open row group (if any rows), write the footer and hand over the file: *buf belongs to
    the caller (free it). The writer takes no more values afterwards. */
int tl_pq_writer_finish (tl_pq_writer_t *w, uint8_t **buf, size_t *len);

/*  The first error, borrowed; its code is 0 while there is none. */
const tl_err_t *tl_pq_writer_err (const tl_pq_writer_t *w);

void tl_pq_writer_destroy (tl_pq_writer_t **w_p);
#endif
