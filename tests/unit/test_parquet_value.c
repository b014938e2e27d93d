/*  Parquet values as canonical text and doubles (lib/core/parquet/value.c), and chunk
    statistics (stats.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/core/parquet/stats.h"
#include "lib/core/parquet/value.h"

static void
test_double_text (void **state)
{
    (void) state;
    static const struct { double d; const char *t; } cases [] = {
        { 1.0, "1" }, { -0.0, "0" }, { 0.0, "0" }, { 2.5, "2.5" }, { 0.1, "0.1" }, { -0.25, "-0.25" },
        { 1e-5, "1e-05" }, { 123456.5, "123456.5" }, { 1e15, "1000000000000000" },
        { 9007199254740993.0, "9007199254740992" }, { 9.2e18, "9200000000000000000" },
        { -9223372036854775808.0, "-9.223372036854776e+18" }, { 9223372036854775808.0, "9.223372036854776e+18" }, { 9223372036854774784.0, "9223372036854774784" },
        { 1e20, "1e+20" }, { 1.5e300, "1.5e+300" }, { 5e-324, "5e-324" }, { 0.30000000000000004, "0.30000000000000004" },
        { 1.0 / 3, "0.3333333333333333" }, { 100.25, "100.25" }, { -7.0, "-7" },
    };
    char buf [TL_PQ_TEXT_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        tl_pq_text_double (cases [i].d, buf);
        assert_string_equal (buf, cases [i].t);
    }
    tl_pq_text_double (NAN, buf);
    assert_string_equal (buf, "nan");
    tl_pq_text_double (INFINITY, buf);
    assert_string_equal (buf, "inf");
    tl_pq_text_double (-INFINITY, buf);
    assert_string_equal (buf, "-inf");
    tl_pq_text_float (0.1f, buf);
    assert_string_equal (buf, "0.1");
    tl_pq_text_float (3.4028235e38f, buf);
    assert_string_equal (buf, "3.4028235e+38");
    tl_pq_text_float (16777217.0f, buf);
    assert_string_equal (buf, "16777216");
    tl_pq_text_float (-2.5f, buf);
    assert_string_equal (buf, "-2.5");
}

/*  100k random doubles: the text reads back to the same double, and one digit fewer would not. */
static void
test_double_shortest_random (void **state)
{
    (void) state;
    char buf [TL_PQ_TEXT_MAX], shorter [400];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double d;
        uint64_t bits = x;
        if (i % 3 == 0)         /* also "ordinary" magnitudes, not only random exponents */
            d = (double) (x % 100000000) / (double) (1 + (x >> 40) % 10000);
        else {
            memcpy (&d, &bits, 8);
            if (!isfinite (d))
                continue;
        }
        tl_pq_text_double (d, buf);
        assert_true (strtod (buf, NULL) == d || (d == 0 && strtod (buf, NULL) == 0));
        if (d != trunc (d) || fabs (d) >= 9223372036854775808.0) {
            /* minimal: the precision used minus one does not round-trip */
            int digits = 0;
            for (const char *p = buf; *p && *p != 'e'; p++)
                digits += *p >= '0' && *p <= '9';
            char *lead = buf;   /* leading zeros of 0.000ddd are not significant */
            while (*lead == '-' || *lead == '0' || *lead == '.') {
                if (*lead == '0') digits--;
                lead++;
            }
            if (digits > 1) {
                snprintf (shorter, sizeof shorter, "%.*g", digits - 1, d);
                assert_true (strtod (shorter, NULL) != d);
            }
        }
    }
}

static void
test_half (void **state)
{
    (void) state;
    char buf [TL_PQ_TEXT_MAX];
    static const struct { uint16_t h; const char *t; } cases [] = {
        { 0x3c00, "1" }, { 0xc000, "-2" }, { 0x3800, "0.5" }, { 0x3555, "0.3333" }, { 0x2e66, "0.1" },
        { 0x7bff, "65504" }, { 0x0001, "6e-08" }, { 0x7c00, "inf" }, { 0xfc00, "-inf" }, { 0x7e00, "nan" },
        { 0x8000, "0" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        tl_pq_text_half (cases [i].h, buf);
        assert_string_equal (buf, cases [i].t);
    }
    assert_true (tl_pq_half_to_double (0x3555) == 0.333251953125);
}

static void
test_decimal (void **state)
{
    (void) state;
    char buf [TL_PQ_TEXT_MAX];
    tl_pq_text_decimal_i64 (1230, 2, buf); assert_string_equal (buf, "12.30");
    tl_pq_text_decimal_i64 (-5, 2, buf); assert_string_equal (buf, "-0.05");
    tl_pq_text_decimal_i64 (0, 3, buf); assert_string_equal (buf, "0.000");
    tl_pq_text_decimal_i64 (42, 0, buf); assert_string_equal (buf, "42");
    tl_pq_text_decimal_i64 (INT64_MIN, 4, buf); assert_string_equal (buf, "-922337203685477.5808");
    tl_pq_text_decimal_i64 (7, 5, buf); assert_string_equal (buf, "0.00007");
    const uint8_t a [] = { 0x04, 0xd2 };                    /* 1234 */
    tl_pq_text_decimal (a, 2, 1, buf); assert_string_equal (buf, "123.4");
    const uint8_t b [] = { 0xff, 0xff, 0xfb, 0x2e };        /* -1234 */
    tl_pq_text_decimal (b, 4, 2, buf); assert_string_equal (buf, "-12.34");
    const uint8_t c [] = { 0x80 };                          /* -128 */
    tl_pq_text_decimal (c, 1, 0, buf); assert_string_equal (buf, "-128");
    /* 10^38 - 1 = 0x4B3B4CA85A86C47A098A223FFFFFFFFF, precision 38 in 16 bytes */
    const uint8_t d [] = { 0x4b, 0x3b, 0x4c, 0xa8, 0x5a, 0x86, 0xc4, 0x7a, 0x09, 0x8a, 0x22, 0x3f, 0xff, 0xff, 0xff, 0xff };
    tl_pq_text_decimal (d, 16, 10, buf); assert_string_equal (buf, "9999999999999999999999999999.9999999999");
    uint8_t nd [16];                                        /* its negation */
    int carry = 1;
    for (int k = 15; k >= 0; k--) {
        int v = (uint8_t) ~d [k] + carry;
        nd [k] = (uint8_t) v;
        carry = v >> 8;
    }
    tl_pq_text_decimal (nd, 16, 0, buf); assert_string_equal (buf, "-99999999999999999999999999999999999999");
    const uint8_t z [] = { 0, 0, 0, 0 };
    tl_pq_text_decimal (z, 4, 2, buf); assert_string_equal (buf, "0.00");
    tl_pq_text_decimal (z, 0, 0, buf); assert_string_equal (buf, "0");
    /* 20 bytes: 2^152 = 5708990770823839524233143877797980545530986496 */
    uint8_t big [20] = { 0x01 };
    tl_pq_text_decimal (big, 20, 0, buf); assert_string_equal (buf, "5708990770823839524233143877797980545530986496");
}

static void
test_dates_times (void **state)
{
    (void) state;
    char buf [TL_PQ_TEXT_MAX];
    tl_pq_text_date (0, buf); assert_string_equal (buf, "1970-01-01");
    tl_pq_text_date (-1, buf); assert_string_equal (buf, "1969-12-31");
    tl_pq_text_date (19358, buf); assert_string_equal (buf, "2023-01-01");
    tl_pq_text_date (-719162, buf); assert_string_equal (buf, "0001-01-01");
    tl_pq_text_date (2932896, buf); assert_string_equal (buf, "9999-12-31");
    tl_pq_text_date (11016, buf); assert_string_equal (buf, "2000-02-29");
    tl_pq_text_date (-25567, buf); assert_string_equal (buf, "1900-01-01");
    tl_pq_text_date (-719528, buf); assert_string_equal (buf, "0000-01-01");
    tl_pq_text_date (-719529, buf); assert_string_equal (buf, "-0001-12-31");
    tl_pq_text_timestamp (0, TL_PQ_MICROS, buf); assert_string_equal (buf, "1970-01-01 00:00:00");
    tl_pq_text_timestamp (-1, TL_PQ_MICROS, buf); assert_string_equal (buf, "1969-12-31 23:59:59.999999");
    tl_pq_text_timestamp (-500, TL_PQ_MILLIS, buf); assert_string_equal (buf, "1969-12-31 23:59:59.5");
    tl_pq_text_timestamp (1672531200123456LL, TL_PQ_MICROS, buf); assert_string_equal (buf, "2023-01-01 00:00:00.123456");
    tl_pq_text_timestamp (1672531200120000LL, TL_PQ_MICROS, buf); assert_string_equal (buf, "2023-01-01 00:00:00.12");
    tl_pq_text_timestamp (1672531200000000001LL, TL_PQ_NANOS, buf); assert_string_equal (buf, "2023-01-01 00:00:00.000000001");
    tl_pq_text_timestamp (-2208988800000LL, TL_PQ_MILLIS, buf); assert_string_equal (buf, "1900-01-01 00:00:00");
    tl_pq_text_timestamp (-62135596800000000LL, TL_PQ_MICROS, buf); assert_string_equal (buf, "0001-01-01 00:00:00");
    tl_pq_text_timestamp (INT64_MIN, TL_PQ_NANOS, buf); assert_string_equal (buf, "1677-09-21 00:12:43.145224192");
    tl_pq_text_timestamp (INT64_MAX, TL_PQ_NANOS, buf); assert_string_equal (buf, "2262-04-11 23:47:16.854775807");
    tl_pq_text_timestamp (INT64_MIN, TL_PQ_MICROS, buf); assert_string_equal (buf, "-290308-12-21 19:59:05.224192");
    tl_pq_text_time (0, TL_PQ_MILLIS, buf); assert_string_equal (buf, "00:00:00");
    tl_pq_text_time (45296789, TL_PQ_MILLIS, buf); assert_string_equal (buf, "12:34:56.789");
    tl_pq_text_time (86399999999LL, TL_PQ_MICROS, buf); assert_string_equal (buf, "23:59:59.999999");
    tl_pq_text_time (3600000000500LL, TL_PQ_NANOS, buf); assert_string_equal (buf, "01:00:00.0000005");
    /* INT96: nanos of day, then Julian day (2440588 = 1970-01-01) */
    uint8_t i96 [12];
    uint64_t nanos = 3723000000001ull;       /* 01:02:03.000000001 */
    uint32_t jd = 2440587;                   /* 1969-12-31 */
    for (int k = 0; k < 8; k++) i96 [k] = (uint8_t) (nanos >> (8 * k));
    for (int k = 0; k < 4; k++) i96 [8 + k] = (uint8_t) (jd >> (8 * k));
    tl_pq_text_int96 (i96, buf); assert_string_equal (buf, "1969-12-31 01:02:03.000000001");
    jd = 2451545;                            /* 2000-01-01 */
    nanos = 0;
    for (int k = 0; k < 8; k++) i96 [k] = (uint8_t) (nanos >> (8 * k));
    for (int k = 0; k < 4; k++) i96 [8 + k] = (uint8_t) (jd >> (8 * k));
    tl_pq_text_int96 (i96, buf); assert_string_equal (buf, "2000-01-01 00:00:00");
}

static void
test_value_dispatch (void **state)
{
    (void) state;
    char buf [TL_PQ_TEXT_MAX];
    const char *t;
    double d;
    tl_pq_column_t col;
    tl_pq_values_t v;
    memset (&col, 0, sizeof col);
    /* unsigned INT32 and INT64 */
    int32_t u32 [] = { -1 };
    col.type = TL_PQ_INT32; col.logical = TL_PQ_LT_INT; col.bit_width = 32; col.is_signed = false;
    tl_pq_values_set (&v, TL_PQ_INT32, 0, u32, 1);
    tl_pq_value_text (&col, &v, 0, buf, &t); assert_string_equal (t, "4294967295");
    assert_int_equal (tl_pq_value_double (&col, &v, 0, &d), 0); assert_true (d == 4294967295.0);
    int64_t u64 [] = { -1, 5 };
    col.type = TL_PQ_INT64; col.bit_width = 64;
    tl_pq_values_set (&v, TL_PQ_INT64, 0, u64, 2);
    tl_pq_value_text (&col, &v, 0, buf, &t); assert_string_equal (t, "18446744073709551615");
    col.is_signed = true;
    tl_pq_value_text (&col, &v, 0, buf, &t); assert_string_equal (t, "-1");
    /* DECIMAL on INT64 → text and scaled double */
    col.logical = TL_PQ_LT_DECIMAL; col.scale = 2;
    tl_pq_value_text (&col, &v, 1, buf, &t); assert_string_equal (t, "0.05");
    assert_int_equal (tl_pq_value_double (&col, &v, 1, &d), 0); assert_true (d == 0.05);
    /* strings: text is the bytes; double parses or fails */
    tl_pq_bytes_t s [] = { { (const uint8_t *) "12.5", 4 }, { (const uint8_t *) "abc", 3 }, { (const uint8_t *) "", 0 } };
    memset (&col, 0, sizeof col);
    col.type = TL_PQ_BYTE_ARRAY; col.logical = TL_PQ_LT_STRING;
    tl_pq_values_set (&v, TL_PQ_BYTE_ARRAY, 0, s, 3);
    size_t n = tl_pq_value_text (&col, &v, 1, buf, &t);
    assert_int_equal (n, 3); assert_memory_equal (t, "abc", 3);
    assert_int_equal (tl_pq_value_double (&col, &v, 0, &d), 0); assert_true (d == 12.5);
    assert_int_equal (tl_pq_value_double (&col, &v, 1, &d), TL_EINVAL);
    assert_int_equal (tl_pq_value_double (&col, &v, 2, &d), TL_EINVAL);
    /* BOOLEAN, DATE, FLOAT16, UUID */
    uint8_t bo [] = { 1, 0 };
    memset (&col, 0, sizeof col);
    col.type = TL_PQ_BOOLEAN;
    tl_pq_values_set (&v, TL_PQ_BOOLEAN, 0, bo, 2);
    tl_pq_value_text (&col, &v, 0, buf, &t); assert_string_equal (t, "true");
    tl_pq_value_text (&col, &v, 1, buf, &t); assert_string_equal (t, "false");
    int32_t days [] = { -1 };
    col.type = TL_PQ_INT32; col.logical = TL_PQ_LT_DATE;
    tl_pq_values_set (&v, TL_PQ_INT32, 0, days, 1);
    tl_pq_value_text (&col, &v, 0, buf, &t); assert_string_equal (t, "1969-12-31");
    uint8_t h [] = { 0x00, 0x3e };          /* 1.5 */
    col.type = TL_PQ_FIXED_LEN_BYTE_ARRAY; col.type_length = 2; col.logical = TL_PQ_LT_FLOAT16;
    tl_pq_values_set (&v, col.type, 2, h, 1);
    tl_pq_value_text (&col, &v, 0, buf, &t); assert_string_equal (t, "1.5");
    assert_int_equal (tl_pq_value_double (&col, &v, 0, &d), 0); assert_true (d == 1.5);
    uint8_t uu [16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7 };
    col.type_length = 16; col.logical = TL_PQ_LT_UUID;
    tl_pq_values_set (&v, col.type, 16, uu, 1);
    tl_pq_value_text (&col, &v, 0, buf, &t); assert_string_equal (t, "12345678-9abc-def0-0001-020304050607");
}

static void
test_stats (void **state)
{
    (void) state;
    tl_pq_column_t col;
    tl_pq_chunk_t ch;
    tl_pq_minmax_t mm;
    char buf [TL_PQ_TEXT_MAX];
    const char *t;
    memset (&col, 0, sizeof col);
    memset (&ch, 0, sizeof ch);
    int64_t lo = -5, hi = 1000;
    col.type = ch.type = TL_PQ_INT64;
    ch.has_stats = true;
    ch.stats.min = (const uint8_t *) &lo; ch.stats.min_len = 8; ch.stats.has_min = true;
    ch.stats.max = (const uint8_t *) &hi; ch.stats.max_len = 8; ch.stats.has_max = true;
    ch.stats.null_count = 3; ch.stats.has_null_count = true;
    tl_pq_chunk_minmax (&col, &ch, &mm);                /* old fields, signed INT64: trusted */
    assert_true (mm.has_min && mm.has_max && mm.has_null_count);
    assert_int_equal (mm.min.i64 [0], -5);
    assert_int_equal (mm.max.i64 [0], 1000);
    assert_int_equal (mm.null_count, 3);
    col.logical = TL_PQ_LT_INT; col.is_signed = false; col.bit_width = 64;
    tl_pq_chunk_minmax (&col, &ch, &mm);                /* unsigned: old signed-order fields are not */
    assert_false (mm.has_min || mm.has_max);
    col.order = TL_PQ_ORDER_TYPE;
    ch.stats.min_value = (const uint8_t *) &lo; ch.stats.min_value_len = 8; ch.stats.has_min_value = true;
    tl_pq_chunk_minmax (&col, &ch, &mm);                /* new field with type order: trusted */
    assert_true (mm.has_min && !mm.has_max);
    /* strings: only min_value/max_value with a type order */
    memset (&col, 0, sizeof col);
    memset (&ch, 0, sizeof ch);
    col.type = ch.type = TL_PQ_BYTE_ARRAY; col.logical = TL_PQ_LT_STRING;
    ch.has_stats = true;
    ch.stats.min = (const uint8_t *) "abc"; ch.stats.min_len = 3; ch.stats.has_min = true;
    tl_pq_chunk_minmax (&col, &ch, &mm);
    assert_false (mm.has_min);
    col.order = TL_PQ_ORDER_TYPE;
    ch.stats.min_value = (const uint8_t *) "abd"; ch.stats.min_value_len = 3; ch.stats.has_min_value = true;
    tl_pq_chunk_minmax (&col, &ch, &mm);
    assert_true (mm.has_min);
    size_t n = tl_pq_value_text (&col, &mm.min, 0, buf, &t);
    assert_int_equal (n, 3); assert_memory_equal (t, "abd", 3);
    /* NaN bounds and wrong lengths are dropped */
    memset (&col, 0, sizeof col);
    memset (&ch, 0, sizeof ch);
    double nan = NAN, one = 1;
    col.type = ch.type = TL_PQ_DOUBLE;
    ch.has_stats = true;
    ch.stats.min = (const uint8_t *) &nan; ch.stats.min_len = 8; ch.stats.has_min = true;
    ch.stats.max = (const uint8_t *) &one; ch.stats.max_len = 4; ch.stats.has_max = true;
    tl_pq_chunk_minmax (&col, &ch, &mm);
    assert_false (mm.has_min || mm.has_max);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_double_text), cmocka_unit_test (test_double_shortest_random), cmocka_unit_test (test_half),
        cmocka_unit_test (test_decimal), cmocka_unit_test (test_dates_times), cmocka_unit_test (test_value_dispatch),
        cmocka_unit_test (test_stats),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
