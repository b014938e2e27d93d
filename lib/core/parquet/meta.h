/*  meta.h — a Parquet file's footer: FileMetaData parsed into a flat list of leaf columns and
    the row groups' column-chunk metadata.

    How a caller reads a file: fetch the last few KiB (say 64), call tl_pq_footer_len on them to
    learn the metadata length (fetch more if it is longer than what you have), hand the
    metadata bytes to tl_pq_meta_parse, pick a column with tl_pq_meta_find, and for each row
    group fetch the chunk's bytes [off, off+len) from tl_pq_chunk_range and give them to a
    column reader (column.h). A plain row count needs only tl_pq_meta_t.num_rows or
    tl_pq_rowgroup_t.num_rows.

    The schema tree is flattened to its leaves. A leaf's name is its dotted path from the root
    (the root itself not included). Leaves under a group other than the root, or with a
    repeated ancestor, are flagged nested; reading a leaf with max_rep > 0 is refused by the
    column reader. ConvertedType and LogicalType are folded into one annotation (logical),
    LogicalType winning when both are present. Encrypted files are refused with one line.
    Pure: bytes in, structs out. */
#ifndef TL_PQ_META_H
#define TL_PQ_META_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/base/err.h"

typedef enum {
    TL_PQ_BOOLEAN = 0, TL_PQ_INT32 = 1, TL_PQ_INT64 = 2, TL_PQ_INT96 = 3, TL_PQ_FLOAT = 4,
    TL_PQ_DOUBLE = 5, TL_PQ_BYTE_ARRAY = 6, TL_PQ_FIXED_LEN_BYTE_ARRAY = 7,
} tl_pq_type_t;

enum {  /* CompressionCodec */
    TL_PQ_UNCOMPRESSED = 0, TL_PQ_SNAPPY = 1, TL_PQ_GZIP = 2, TL_PQ_LZO = 3, TL_PQ_BROTLI = 4,
    TL_PQ_LZ4 = 5, TL_PQ_ZSTD = 6, TL_PQ_LZ4_RAW = 7,
};

enum {  /* Encoding */
    TL_PQ_PLAIN = 0, TL_PQ_PLAIN_DICTIONARY = 2, TL_PQ_RLE = 3, TL_PQ_BIT_PACKED = 4,
    TL_PQ_DELTA_BINARY_PACKED = 5, TL_PQ_DELTA_LENGTH_BYTE_ARRAY = 6, TL_PQ_DELTA_BYTE_ARRAY = 7,
    TL_PQ_RLE_DICTIONARY = 8, TL_PQ_BYTE_STREAM_SPLIT = 9,
};

enum { TL_PQ_REQUIRED = 0, TL_PQ_OPTIONAL = 1, TL_PQ_REPEATED = 2 };

typedef enum {
    TL_PQ_LT_NONE = 0, TL_PQ_LT_STRING, TL_PQ_LT_ENUM, TL_PQ_LT_JSON, TL_PQ_LT_BSON,
    TL_PQ_LT_UUID, TL_PQ_LT_INT, TL_PQ_LT_DECIMAL, TL_PQ_LT_DATE, TL_PQ_LT_TIME,
    TL_PQ_LT_TIMESTAMP, TL_PQ_LT_FLOAT16, TL_PQ_LT_INTERVAL, TL_PQ_LT_NULL, TL_PQ_LT_OTHER,
} tl_pq_logical_t;

typedef enum { TL_PQ_MILLIS = 0, TL_PQ_MICROS = 1, TL_PQ_NANOS = 2 } tl_pq_unit_t;

/*  Sort order of min_value/max_value (FileMetaData.column_orders). */
enum { TL_PQ_ORDER_ABSENT = 0, TL_PQ_ORDER_TYPE = 1, TL_PQ_ORDER_IEEE754 = 2, TL_PQ_ORDER_INT96 = 3,
       TL_PQ_ORDER_UNKNOWN = 4 };

typedef struct {
    char *name;                 /* dotted path, NUL-terminated (owned by the meta) */
    tl_pq_type_t type;
    int32_t type_length;        /* FIXED_LEN_BYTE_ARRAY byte width (12 for INT96), else 0 */
    int repetition;             /* TL_PQ_REQUIRED / OPTIONAL / REPEATED of the leaf itself */
    int16_t max_def, max_rep;
    bool nested;                /* inside a group below the root, or with a repeated ancestor */
    int converted_type;         /* raw ConvertedType, -1 when absent */
    tl_pq_logical_t logical;    /* the annotation the values are read with */
    int bit_width;              /* LT_INT: 8/16/32/64 */
    bool is_signed;             /* LT_INT */
    int32_t scale, precision;   /* LT_DECIMAL */
    tl_pq_unit_t unit;          /* LT_TIME / LT_TIMESTAMP */
    bool utc;                   /* LT_TIME / LT_TIMESTAMP: isAdjustedToUTC */
    int order;                  /* TL_PQ_ORDER_* */
} tl_pq_column_t;

/*  Statistics as stored; pointers borrow from the meta's copy of the footer. */
typedef struct {
    const uint8_t *min_value, *max_value, *min, *max;   /* new and old (signed-order) fields */
    size_t min_value_len, max_value_len, min_len, max_len;
    bool has_min_value, has_max_value, has_min, has_max, has_null_count, has_distinct_count;
    int64_t null_count, distinct_count;
} tl_pq_stats_t;

typedef struct {
    tl_pq_type_t type;
    int codec;
    uint32_t encodings;             /* bit (1u << encoding) for each listed encoding < 32 */
    int64_t num_values;
    int64_t total_compressed_size, total_uncompressed_size;
    int64_t data_page_offset;
    int64_t dictionary_page_offset; /* valid when has_dictionary_page_offset (0 is seen too) */
    bool has_dictionary_page_offset;
    bool has_stats;
    tl_pq_stats_t stats;
} tl_pq_chunk_t;

typedef struct {
    int64_t num_rows;
    int64_t total_byte_size;
    tl_pq_chunk_t *chunks;          /* one per leaf column, in the meta's column order */
} tl_pq_rowgroup_t;

typedef struct {
    int32_t version;
    int64_t num_rows;
    size_t ncols;
    tl_pq_column_t *cols;
    size_t nrgs;
    tl_pq_rowgroup_t *rgs;
    char *created_by;               /* NUL-terminated, "" when absent */
    bool has_nested;                /* some leaf is nested */
    uint8_t *buf;                   /* private copy of the footer bytes */
    size_t buf_len;
} tl_pq_meta_t;

/*  The file's last n bytes (n ≥ 8) → the FileMetaData length that precedes the 8-byte trailer.
    TL_EPROTO when the magic is not PAR1 (TL_EINVAL with "encrypted Parquet is not supported"
    for PARE). The metadata is the meta_len bytes ending 8 bytes before the end of the file.
    meta_len can be up to 2 GiB: a caller bounds what it is willing to fetch (say 64 MiB). */
int tl_pq_footer_len (const uint8_t *tail, size_t n, uint32_t *meta_len, tl_err_t *e);

/*  Parse FileMetaData (the meta_len bytes, without the trailer). The bytes are copied. */
int tl_pq_meta_parse (const uint8_t *buf, size_t len, tl_pq_meta_t **out, tl_err_t *e);
void tl_pq_meta_destroy (tl_pq_meta_t **self_p);

/*  Leaf index by dotted name (exact match first, then ASCII case-insensitive), or -1. */
int tl_pq_meta_find (const tl_pq_meta_t *self, const char *name);

/*  A chunk's byte range in the file: from the dictionary page when dictionary_page_offset is
    set, non-zero and before data_page_offset, else from data_page_offset;
    total_compressed_size long. With file_size > 0 the range must lie inside [4, file_size-8). */
int tl_pq_chunk_range (const tl_pq_chunk_t *chunk, uint64_t file_size, uint64_t *off,
                       uint64_t *len, tl_err_t *e);

const char *tl_pq_type_name (tl_pq_type_t type);
const char *tl_pq_codec_name (int codec);
const char *tl_pq_encoding_name (int encoding);
#endif
