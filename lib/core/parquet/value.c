/*  value.c — canonical text and doubles (see value.h).

    Shortest round-trip floats: printing with more significant digits never stops reading
    back to the same value once it has started to, so the precision is found by binary search
    over 1..17 (1..9 for FLOAT, 1..9 for FLOAT16 checked by rounding back to half precision),
    four or five snprintf/strtod pairs per value. Callers text each distinct value once, so
    this is not on the per-row path. Dates use the days-from-civil inverse (eras of 400 years),
    with floor division so that negative days and timestamps land on the right day. */
#include "lib/core/parquet/value.h"
#include "lib/base/err.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The last n decimal digits of v, zero-padded, ending at end (so the caller lays out fields
    right to left without printf: texting every row's timestamp with sprintf was half of a
    date-slice query's time). */
static void
s_pad (char *end, uint64_t v, int n)
{
    while (n-- > 0) {
        *--end = (char) ('0' + v % 10);
        v /= 10;
    }
}

/*  Plain decimal digits of v; returns the length. */
static size_t
s_u64 (uint64_t v, char *buf)
{
    char t [24];
    char *e = t + sizeof t, *q = e;
    do {
        *--q = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy (buf, q, (size_t) (e - q));
    buf [e - q] = 0;
    return (size_t) (e - q);
}

static size_t
s_i64 (int64_t v, char *buf)
{
    if (v >= 0)
        return s_u64 ((uint64_t) v, buf);
    buf [0] = '-';
    return 1 + s_u64 ((uint64_t) 0 - (uint64_t) v, buf + 1);
}

/*  "%.*g" into buf (which has room for TL_PQ_TEXT_MAX; precision ≤ 17 needs under 32). */
static size_t
s_g (char *buf, int prec, double d)
{
    char t [320];
    int n = snprintf (t, sizeof t, "%.*g", prec, d);
    memcpy (buf, t, (size_t) n + 1);
    return (size_t) n;
}

static size_t
s_shortest (double d, bool single, char *buf)
{
    int lo = 1, hi = single ? 9 : 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        s_g (buf, mid, d);
        bool same = single ? strtof (buf, NULL) == (float) d : strtod (buf, NULL) == d;
        if (same) hi = mid;
        else lo = mid + 1;
    }
    return s_g (buf, lo, d);
}

static size_t
s_special (double d, char *buf)
{
    if (isnan (d)) return (size_t) sprintf (buf, "nan");
    if (isinf (d)) return (size_t) sprintf (buf, d < 0 ? "-inf" : "inf");
    if (d == 0) return (size_t) sprintf (buf, "0");
    if (d == trunc (d) && fabs (d) < 9223372036854775808.0) {
        return s_i64 ((int64_t) d, buf);
    }
    return 0;
}

size_t
tl_pq_text_double (double d, char *buf)
{
    size_t n = s_special (d, buf);
    return n ? n : s_shortest (d, false, buf);
}

size_t
tl_pq_text_float (float f, char *buf)
{
    size_t n = s_special (f, buf);
    return n ? n : s_shortest (f, true, buf);
}

double
tl_pq_half_to_double (uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0) v = ldexp (m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp (m + 1024, e - 25);
    return s ? -v : v;
}

/*  Round to the nearest half (ties to even); used to check a candidate text. */
static uint16_t
s_to_half (double d)
{
    if (isnan (d)) return 0x7e00;
    uint16_t sign = signbit (d) ? 0x8000 : 0;
    double a = fabs (d);
    if (a >= 65520.0) return sign | 0x7c00;
    if (a < ldexp (1, -14)) {                       /* subnormal (or zero) */
        double m = rint (a * ldexp (1, 24));
        return sign | (uint16_t) m;                 /* 1024 reads as the smallest normal */
    }
    int e;
    frexp (a, &e);                                  /* a = f * 2^e, f in [0.5, 1) */
    e -= 1;                                         /* a = g * 2^e, g in [1, 2) */
    double m = rint (ldexp (a, 10 - e));            /* 1024 .. 2048 */
    if (m >= 2048) { m = 1024; e++; }
    if (e + 15 >= 31) return sign | 0x7c00;
    return sign | (uint16_t) ((e + 15) << 10) | (uint16_t) ((int) m - 1024);
}

size_t
tl_pq_text_half (uint16_t h, char *buf)
{
    double d = tl_pq_half_to_double (h);
    size_t n = s_special (d, buf);
    if (n)
        return n;
    int lo = 1, hi = 9;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        s_g (buf, mid, d);
        if (s_to_half (strtod (buf, NULL)) == h) hi = mid;
        else lo = mid + 1;
    }
    return s_g (buf, lo, d);
}

/*  Digits (no sign) with the decimal point scale places from the right. */
static size_t
s_place_point (bool neg, const char *digits, size_t nd, int scale, char *buf)
{
    size_t o = 0;
    bool zero = nd == 1 && digits [0] == '0';
    if (neg && !zero)
        buf [o++] = '-';
    if (scale <= 0) {
        memcpy (buf + o, digits, nd);
        o += nd;
    } else if (nd > (size_t) scale) {
        memcpy (buf + o, digits, nd - (size_t) scale);
        o += nd - (size_t) scale;
        buf [o++] = '.';
        memcpy (buf + o, digits + nd - (size_t) scale, (size_t) scale);
        o += (size_t) scale;
    } else {
        buf [o++] = '0';
        buf [o++] = '.';
        for (size_t z = 0; z < (size_t) scale - nd; z++)
            buf [o++] = '0';
        memcpy (buf + o, digits, nd);
        o += nd;
    }
    buf [o] = 0;
    return o;
}

size_t
tl_pq_text_decimal_i64 (int64_t v, int scale, char *buf)
{
    char d [24];
    uint64_t m = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
    int nd = snprintf (d, sizeof d, "%llu", (unsigned long long) m);
    return s_place_point (v < 0, d, (size_t) nd, scale, buf);
}

size_t
tl_pq_text_decimal (const uint8_t *be, size_t n, int scale, char *buf)
{
    uint8_t mag [128];
    if (n == 0)
        return s_place_point (false, "0", 1, scale, buf);
    bool neg = be [0] & 0x80;
    /* drop sign-extension bytes */
    while (n > 1 && ((be [0] == 0 && !(be [1] & 0x80)) || (be [0] == 0xff && (be [1] & 0x80)))) {
        be++;
        n--;
    }
    if (n > sizeof mag)
        return (size_t) sprintf (buf, "#decimal-too-long");
    memcpy (mag, be, n);
    if (neg) {                  /* two's complement negate: invert, add one */
        int carry = 1;
        for (size_t k = n; k-- > 0;) {
            int x = (uint8_t) ~mag [k] + carry;
            mag [k] = (uint8_t) x;
            carry = x >> 8;
        }
    }
    /* repeated division by 10^9 of the base-256 number */
    char digits [TL_PQ_TEXT_MAX];
    size_t nd = 0, start = 0;
    char rev [TL_PQ_TEXT_MAX];
    while (start < n) {
        uint64_t rem = 0;
        for (size_t k = start; k < n; k++) {
            uint64_t cur = rem << 8 | mag [k];
            mag [k] = (uint8_t) (cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (start < n && mag [start] == 0)
            start++;
        for (int k = 0; k < 9 && (start < n || rem); k++) {
            rev [nd++] = (char) ('0' + rem % 10);
            rem /= 10;
        }
    }
    if (nd == 0)
        rev [nd++] = '0';
    for (size_t k = 0; k < nd; k++)
        digits [k] = rev [nd - 1 - k];
    return s_place_point (neg, digits, nd, scale, buf);
}

static void
s_civil (int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

size_t
tl_pq_text_date (int64_t days, char *buf)
{
    int64_t y;
    int m, d;
    s_civil (days, &y, &m, &d);
    size_t n = 0;
    if (y < 0) {
        buf [n++] = '-';
        y = -y;
    }
    if (y > 9999)
        n += s_u64 ((uint64_t) y, buf + n);
    else {
        s_pad (buf + n + 4, (uint64_t) y, 4);
        n += 4;
    }
    buf [n] = '-';
    s_pad (buf + n + 3, (uint64_t) m, 2);
    buf [n + 3] = '-';
    s_pad (buf + n + 6, (uint64_t) d, 2);
    buf [n + 6] = 0;
    return n + 6;
}

static const int64_t s_per_sec [3] = { 1000, 1000000, 1000000000 };
static const int s_digits [3] = { 3, 6, 9 };

/*  ".frac" without trailing zeros, or nothing. */
static size_t
s_frac (int64_t frac, int digits, char *buf)
{
    if (frac == 0) {
        buf [0] = 0;
        return 0;
    }
    buf [0] = '.';
    s_pad (buf + 1 + digits, (uint64_t) frac, digits);
    int n = digits + 1;
    while (buf [n - 1] == '0')
        n--;
    buf [n] = 0;
    return (size_t) n;
}

/*  " HH:MM:SS" for a second of the day. */
static size_t
s_hms (int64_t sod, char *buf)
{
    buf [0] = ' ';
    s_pad (buf + 3, (uint64_t) (sod / 3600), 2);
    buf [3] = ':';
    s_pad (buf + 6, (uint64_t) (sod / 60 % 60), 2);
    buf [6] = ':';
    s_pad (buf + 9, (uint64_t) (sod % 60), 2);
    buf [9] = 0;
    return 9;
}

static size_t
s_datetime (int64_t secs, int64_t frac, int digits, char *buf)
{
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    size_t n = tl_pq_text_date (days, buf);
    n += s_hms (sod, buf + n);
    return n + s_frac (frac, digits, buf + n);
}

size_t
tl_pq_text_timestamp (int64_t v, tl_pq_unit_t unit, char *buf)
{
    int64_t per = s_per_sec [unit], secs = v / per, frac = v % per;
    if (frac < 0) {
        frac += per;
        secs--;
    }
    return s_datetime (secs, frac, s_digits [unit], buf);
}

size_t
tl_pq_text_time (int64_t v, tl_pq_unit_t unit, char *buf)
{
    size_t n = 0;
    uint64_t u = (uint64_t) v;
    if (v < 0) {
        buf [n++] = '-';
        u = (uint64_t) 0 - u;
    }
    uint64_t per = (uint64_t) s_per_sec [unit], secs = u / per, frac = u % per;
    n += (size_t) sprintf (buf + n, "%02llu:%02d:%02d", (unsigned long long) (secs / 3600), (int) (secs / 60 % 60),
                           (int) (secs % 60));
    return n + s_frac ((int64_t) frac, s_digits [unit], buf + n);
}

static int64_t
s_le64 (const uint8_t *b)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | b [k];
    return (int64_t) v;
}

size_t
tl_pq_text_int96 (const uint8_t *b, char *buf)
{
    int64_t nanos = s_le64 (b);
    int32_t jd = (int32_t) ((uint32_t) b [8] | (uint32_t) b [9] << 8 | (uint32_t) b [10] << 16 | (uint32_t) b [11] << 24);
    int64_t q = nanos / 1000000000, frac = nanos % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        q--;
    }
    int64_t secs = ((int64_t) jd - 2440588) * 86400 + q;
    return s_datetime (secs, frac, 9, buf);
}

static size_t
s_uuid (const uint8_t *b, char *buf)
{
    size_t n = 0;
    for (int k = 0; k < 16; k++) {
        if (k == 4 || k == 6 || k == 8 || k == 10)
            buf [n++] = '-';
        n += (size_t) sprintf (buf + n, "%02x", b [k]);
    }
    return n;
}

size_t
tl_pq_value_text (const tl_pq_column_t *col, const tl_pq_values_t *v, size_t i, char buf [TL_PQ_TEXT_MAX], const char **out)
{
    tl_pq_logical_t lt = col->logical;
    bool uns = lt == TL_PQ_LT_INT && !col->is_signed;
    *out = buf;
    switch (v->type) {
        case TL_PQ_BOOLEAN:
            return (size_t) sprintf (buf, v->fixed [i] ? "true" : "false");
        case TL_PQ_INT32: {
            int32_t x = v->i32 [i];
            if (lt == TL_PQ_LT_DATE) return tl_pq_text_date (x, buf);
            if (lt == TL_PQ_LT_TIME) return tl_pq_text_time (x, col->unit, buf);
            if (lt == TL_PQ_LT_DECIMAL) return tl_pq_text_decimal_i64 (x, col->scale, buf);
            if (uns) return s_u64 ((uint32_t) x, buf);
            return s_i64 (x, buf);
        }
        case TL_PQ_INT64: {
            int64_t x = v->i64 [i];
            if (lt == TL_PQ_LT_TIMESTAMP) return tl_pq_text_timestamp (x, col->unit, buf);
            if (lt == TL_PQ_LT_TIME) return tl_pq_text_time (x, col->unit, buf);
            if (lt == TL_PQ_LT_DECIMAL) return tl_pq_text_decimal_i64 (x, col->scale, buf);
            if (uns) return s_u64 ((uint64_t) x, buf);
            return s_i64 (x, buf);
        }
        case TL_PQ_INT96:
            return tl_pq_text_int96 (v->fixed + i * 12, buf);
        case TL_PQ_FLOAT:
            return tl_pq_text_float (v->f32 [i], buf);
        case TL_PQ_DOUBLE:
            return tl_pq_text_double (v->f64 [i], buf);
        case TL_PQ_BYTE_ARRAY:
            if (lt == TL_PQ_LT_DECIMAL)
                return tl_pq_text_decimal (v->ba [i].p, v->ba [i].len, col->scale, buf);
            *out = (const char *) v->ba [i].p;
            return v->ba [i].len;
        case TL_PQ_FIXED_LEN_BYTE_ARRAY: {
            const uint8_t *b = v->fixed + i * v->width;
            if (lt == TL_PQ_LT_DECIMAL) return tl_pq_text_decimal (b, v->width, col->scale, buf);
            if (lt == TL_PQ_LT_FLOAT16 && v->width == 2) return tl_pq_text_half ((uint16_t) (b [0] | b [1] << 8), buf);
            if (lt == TL_PQ_LT_UUID && v->width == 16) return s_uuid (b, buf);
            *out = (const char *) b;
            return v->width;
        }
    }
    buf [0] = 0;
    return 0;
}

static int
s_parse (const char *p, size_t n, double *out)
{
    char tmp [128];
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p [n - 1] == ' ' || p [n - 1] == '\t' || p [n - 1] == '\r')) n--;
    if (n == 0 || n >= sizeof tmp)
        return TL_EINVAL;
    memcpy (tmp, p, n);
    tmp [n] = 0;
    char *end;
    *out = strtod (tmp, &end);
    return *end ? TL_EINVAL : 0;
}

int
tl_pq_value_double (const tl_pq_column_t *col, const tl_pq_values_t *v, size_t i, double *out)
{
    tl_pq_logical_t lt = col->logical;
    bool uns = lt == TL_PQ_LT_INT && !col->is_signed;
    char buf [TL_PQ_TEXT_MAX];
    const char *t;
    switch (v->type) {
        case TL_PQ_BOOLEAN: *out = v->fixed [i] ? 1 : 0; return 0;
        case TL_PQ_INT32:
            *out = uns ? (double) (uint32_t) v->i32 [i] : (double) v->i32 [i];
            if (lt == TL_PQ_LT_DECIMAL && col->scale)
                *out /= pow (10, col->scale);
            return 0;
        case TL_PQ_INT64:
            if (lt == TL_PQ_LT_DECIMAL && col->scale) {
                size_t n = tl_pq_text_decimal_i64 (v->i64 [i], col->scale, buf);
                return s_parse (buf, n, out);
            }
            *out = uns ? (double) (uint64_t) v->i64 [i] : (double) v->i64 [i];
            return 0;
        case TL_PQ_INT96: {
            const uint8_t *b = v->fixed + i * 12;
            int32_t jd = (int32_t) ((uint32_t) b [8] | (uint32_t) b [9] << 8 | (uint32_t) b [10] << 16 | (uint32_t) b [11] << 24);
            *out = ((double) jd - 2440588) * 86400e9 + (double) s_le64 (b);
            return 0;
        }
        case TL_PQ_FLOAT: *out = v->f32 [i]; return 0;
        case TL_PQ_DOUBLE: *out = v->f64 [i]; return 0;
        case TL_PQ_FIXED_LEN_BYTE_ARRAY:
            if (lt == TL_PQ_LT_FLOAT16 && v->width == 2) {
                const uint8_t *b = v->fixed + i * 2;
                *out = tl_pq_half_to_double ((uint16_t) (b [0] | b [1] << 8));
                return 0;
            }
            /* fall through */
        case TL_PQ_BYTE_ARRAY: {
            size_t n = tl_pq_value_text (col, v, i, buf, &t);
            return s_parse (t, n, out);
        }
    }
    return TL_EINVAL;
}
