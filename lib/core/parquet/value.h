/*  value.h — a Parquet value's canonical text, and its value as a double.

    The text is what CSV-era and Parquet-era files must agree on, so that a group key read
    from either merges:
      integers        plain decimal digits (unsigned types as unsigned)
      FLOAT/DOUBLE    an integral value below 2^63 in magnitude as an integer (1.0 → "1",
                      -0.0 → "0"); anything else in the shortest form that reads back to the
                      same value ("2.5", "0.1", "1e+20"); "nan", "inf", "-inf"
      DECIMAL         the exact digits with its scale ("12.30", "-0.05"), from INT32, INT64,
                      or big-endian two's complement FIXED_LEN_BYTE_ARRAY/BYTE_ARRAY
      DATE            YYYY-MM-DD;  TIME  HH:MM:SS[.frac];
      TIMESTAMP/INT96 YYYY-MM-DD HH:MM:SS[.frac], the fraction only when non-zero and trimmed of
                      trailing zeros, pre-1970 values counted back correctly
      BOOLEAN         true / false;  FLOAT16 as its value;  UUID as 8-4-4-4-12 hex
      strings, bytes  as they are
    The double: numbers as they are (DECIMAL scaled, unsigned as unsigned, FLOAT16 widened,
    BOOLEAN 0/1), DATE/TIME/TIMESTAMP as their stored integer, INT96 as nanoseconds since the
    epoch, strings parsed as numbers (TL_EINVAL when a string is not one). Pure. */
#ifndef TL_PQ_VALUE_H
#define TL_PQ_VALUE_H
#include <stddef.h>
#include <stdint.h>
#include "lib/core/parquet/encoding.h"
#include "lib/core/parquet/meta.h"

#define TL_PQ_TEXT_MAX 512

/*  Text of value i of v, read as col says. *out points into buf or, for strings, into the
    value itself (borrowed, as v is). Returns the length. */
size_t tl_pq_value_text (const tl_pq_column_t *col, const tl_pq_values_t *v, size_t i,
                         char buf [TL_PQ_TEXT_MAX], const char **out);
/*  Value i of v as a double: 0, or TL_EINVAL when it is not a number. */
int tl_pq_value_double (const tl_pq_column_t *col, const tl_pq_values_t *v, size_t i, double *out);

/*  The pieces, each writing a NUL-terminated text to buf and returning its length. */
size_t tl_pq_text_double (double d, char *buf);
size_t tl_pq_text_float (float f, char *buf);
size_t tl_pq_text_half (uint16_t h, char *buf);
double tl_pq_half_to_double (uint16_t h);
/*  Big-endian two's complement of n bytes (n ≤ 128) with scale 0..100. */
size_t tl_pq_text_decimal (const uint8_t *be, size_t n, int scale, char *buf);
size_t tl_pq_text_decimal_i64 (int64_t v, int scale, char *buf);
size_t tl_pq_text_date (int64_t days, char *buf);
size_t tl_pq_text_timestamp (int64_t v, tl_pq_unit_t unit, char *buf);
size_t tl_pq_text_time (int64_t v, tl_pq_unit_t unit, char *buf);
/*  INT96: 8 bytes little-endian nanoseconds of the day, then 4 bytes little-endian Julian day. */
size_t tl_pq_text_int96 (const uint8_t *b, char *buf);
#endif
