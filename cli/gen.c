/*  gen.c — the data generator.

    Each file takes a schema era (2009, 2010-2013, 2014, 2015-2016, 2017-2019, 2020+) in turn and
    carries that era's quirks: a blank line after the header (some 2010-2014 and 2017+ files),
    spaces before the 2014 header names, CRLF line ends (some 2017+ files), empty
    passenger_count (2020+), rows cut short (too few columns, about 1 in 5,000), and no newline
    at the end (every third file).

    The ground truth is counted here, as the rows are written, by what the generator knows it
    wrote. It does not re-read or parse the files, so it is independent of tally's scanner. It
    goes to a JSON file: counts by passenger_count and by column 1, rows, bad rows, blank lines,
    bytes.

    --format parquet writes the 2011+ months as the TLC publishes them now (ANCHORS.md): 19
    columns, timestamps as INT64 micros, passenger_count and RatecodeID INT64 but DOUBLE from
    2018-07 to 2023-01, VendorID and the location ids INT32 from 2023-02 when airport_fee becomes
    Airport_fee, airport_fee an all-NULL INT32 before 2021, and NULLs (passenger_count and its
    neighbours) from 2020. Files differ on purpose, by their index, so that a small set covers the
    writer's range: the codec cycles SNAPPY, GZIP, ZSTD, none (unless --codec), the encoding cycles
    dictionary, dictionary with PLAIN_DICTIONARY ids and PLAIN fallback past 1,024 entries, and
    PLAIN; never-NULL columns are REQUIRED in even files. The truth adds, per file and column,
    NULLs and a sum (values; cents for DOUBLE; lengths for strings). A file is built in memory. */
#include "cli/gen.h"
#include "lib/base/opt.h"
#include "lib/base/util.h"
#include "lib/core/agg.h"
#include "lib/core/parquet/write.h"
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    int year;
    const char *header;
} s_era_t;

static const char *H2009 = "vendor_name,Trip_Pickup_DateTime,Trip_Dropoff_DateTime,Passenger_Count,Trip_Distance,"
                           "Start_Lon,Start_Lat,Rate_Code,store_and_forward,End_Lon,End_Lat,Payment_Type,Fare_Amt,"
                           "surcharge,mta_tax,Tip_Amt,Tolls_Amt,Total_Amt";
static const char *H2010 = "vendor_id,pickup_datetime,dropoff_datetime,passenger_count,trip_distance,pickup_longitude,"
                           "pickup_latitude,rate_code,store_and_fwd_flag,dropoff_longitude,dropoff_latitude,"
                           "payment_type,fare_amount,surcharge,mta_tax,tip_amount,tolls_amount,total_amount";
static const char *H2014 = "vendor_id, pickup_datetime, dropoff_datetime, passenger_count, trip_distance, "
                           "pickup_longitude, pickup_latitude, rate_code, store_and_fwd_flag, dropoff_longitude, "
                           "dropoff_latitude, payment_type, fare_amount, surcharge, mta_tax, tip_amount, "
                           "tolls_amount, total_amount";
static const char *H2015 = "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
                           "pickup_longitude,pickup_latitude,RateCodeID,store_and_fwd_flag,dropoff_longitude,"
                           "dropoff_latitude,payment_type,fare_amount,extra,mta_tax,tip_amount,tolls_amount,"
                           "improvement_surcharge,total_amount";
static const char *H2017 = "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
                           "RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,"
                           "mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge";

static const s_era_t *
s_era (int year)
{
    static s_era_t e;
    e.year = year;
    e.header = year <= 2009 ? H2009 : year <= 2013 ? H2010 : year == 2014 ? H2014 : year <= 2016 ? H2015 : H2017;
    return &e;
}

/*  splitmix64: small, fast, and the same on every machine for a given seed. */
static uint64_t
s_rand (uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double
s_unit (uint64_t *s)
{
    return (double) (s_rand (s) >> 11) / (double) (1ULL << 53);
}

/*  passenger_count as the real data has it: mostly 1, some 0 and 7-9. */
static int
s_passengers (uint64_t *s)
{
    static const double cum [] = { 0.015, 0.715, 0.855, 0.895, 0.915, 0.965, 0.995, 0.997, 0.999, 1.0 };
    double u = s_unit (s);
    for (int i = 0; i < 10; i++)
        if (u < cum [i])
            return i;
    return 1;
}

typedef struct {
    tl_agg_t *by_pc, *by_c1;
    uint64_t rows, bad, blank, bytes;
} s_truth_t;

static void
s_json_key (FILE *f, const char *p, size_t n)
{
    fputc ('"', f);
    for (size_t i = 0; i < n; i++) {
        if (p [i] == '"' || p [i] == '\\')
            fputc ('\\', f);
        fputc (p [i], f);
    }
    fputc ('"', f);
}

static void
s_json_agg (FILE *f, const tl_agg_t *a)
{
    size_t n = tl_agg_size (a);
    tl_agg_entry_t *v = calloc (n + 1, sizeof *v);
    if (!v)
        return;
    tl_agg_sorted (a, v);
    fputc ('{', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc (',', f);
        s_json_key (f, v [i].key, v [i].len);
        fprintf (f, ":%llu", (unsigned long long) v [i].count);
    }
    fputc ('}', f);
    free (v);
}

static int
s_write_file (const char *path, int year, int month, uint64_t rows, int index, uint64_t *rng, s_truth_t *t)
{
    FILE *f = fopen (path, "wb");
    if (!f) {
        fprintf (stderr, "tally gen: cannot write %s: %s\n", path, strerror (errno));
        return -1;
    }
    static char buf [1 << 20];
    setvbuf (f, buf, _IOFBF, sizeof buf);
    const s_era_t *era = s_era (year);
    bool crlf = year >= 2017 && index % 2 == 1;
    bool blank_after_header = (year >= 2010 && year <= 2014 && index % 2 == 0) || (year >= 2017 && index % 3 != 1);
    bool no_final_newline = index % 3 == 2;
    const char *eol = crlf ? "\r\n" : "\n";
    uint64_t bytes = 0;
    bytes += (uint64_t) fprintf (f, "%s%s", era->header, eol);
    if (blank_after_header) {
        bytes += (uint64_t) fprintf (f, "%s", eol);
        t->blank++;
    }
    static const char *v09 [] = { "VTS", "CMT", "DDS" };
    for (uint64_t r = 0; r < rows; r++) {
        char line [512];
        int n;
        int day = 1 + (int) (s_rand (rng) % 28), hh = (int) (s_rand (rng) % 24), mm = (int) (s_rand (rng) % 60),
            ss = (int) (s_rand (rng) % 60);
        int dur = 60 + (int) (s_rand (rng) % 2400);
        int dm = mm + dur / 60, dh = hh + dm / 60;
        dm %= 60;
        int dd = day + dh / 24;
        dh %= 24;
        int pc = s_passengers (rng);
        double dist = 0.3 + s_unit (rng) * 12.0;
        double fare = 2.5 + dist * 2.5;
        double tip = s_unit (rng) < 0.6 ? fare * 0.18 : 0;
        char vendor [8];
        if (year <= 2009)
            snprintf (vendor, sizeof vendor, "%s", v09 [s_rand (rng) % 3]);
        else if (year <= 2014)
            snprintf (vendor, sizeof vendor, "%s", (s_rand (rng) & 1) ? "VTS" : "CMT");
        else
            snprintf (vendor, sizeof vendor, "%d", 1 + (int) (s_rand (rng) & 1));
        char pcs [4];
        bool empty_pc = year >= 2020 && s_unit (rng) < 0.03;
        if (empty_pc) {
            pcs [0] = 0;
            vendor [0] = 0;     /* in the real files these rows lack the vendor too */
        }
        else
            snprintf (pcs, sizeof pcs, "%d", pc);
        char pickup [24], dropoff [24];
        snprintf (pickup, sizeof pickup, "%04d-%02d-%02d %02d:%02d:%02d", year, month, day, hh, mm, ss);
        snprintf (dropoff, sizeof dropoff, "%04d-%02d-%02d %02d:%02d:%02d", year, month, dd, dh, dm, ss);
        if (s_rand (rng) % 5000 == 0) {
            /* A row cut short: vendor and pickup time only. */
            n = snprintf (line, sizeof line, "%s,%s", vendor, pickup);
            t->bad++;
            tl_agg_add (t->by_c1, vendor, strlen (vendor), 1);
        }
        else {
            if (year < 2017) {
                double lon = -73.99 + s_unit (rng) * 0.1, lat = 40.70 + s_unit (rng) * 0.1;
                /* 2015-2016 have improvement_surcharge before total_amount (19 columns). */
                n = snprintf (line, sizeof line,
                              "%s,%s,%s,%s,%.2f,%.6f,%.6f,1,%s,%.6f,%.6f,%s,%.2f,0.5,0.5,%.2f,0,%s%.2f", vendor, pickup,
                              dropoff, pcs, dist, lon, lat, (s_rand (rng) % 50) ? "N" : "Y", lon + 0.01, lat + 0.01,
                              year <= 2014 ? ((s_rand (rng) & 1) ? "CSH" : "CRD") : ((s_rand (rng) & 1) ? "1" : "2"),
                              fare, tip, year >= 2015 ? "0.3," : "", fare + tip + (year >= 2015 ? 1.3 : 1.0));
            }
            else {
                n = snprintf (line, sizeof line, "%s,%s,%s,%s,%.2f,%s,%s,%d,%d,%d,%.2f,0.5,0.5,%.2f,0,0.3,%.2f,%s",
                              vendor, pickup, dropoff, pcs, dist, empty_pc ? "" : "1", empty_pc ? "" : "N",
                              1 + (int) (s_rand (rng) % 265), 1 + (int) (s_rand (rng) % 265), 1 + (int) (s_rand (rng) % 4),
                              fare, tip, fare + tip + 1.3, year >= 2019 ? "2.5" : "");
            }
            t->rows++;
            tl_agg_add (t->by_pc, pcs, strlen (pcs), 1);
            tl_agg_add (t->by_c1, vendor, strlen (vendor), 1);
        }
        bool last = r + 1 == rows;
        fwrite (line, 1, (size_t) n, f);
        bytes += (uint64_t) n;
        if (!(last && no_final_newline)) {
            fputs (eol, f);
            bytes += strlen (eol);
        }
    }
    t->bytes += bytes;
    if (fclose (f) != 0) {
        fprintf (stderr, "tally gen: cannot write %s: %s\n", path, strerror (errno));
        return -1;
    }
    return 0;
}

/* ---- Parquet */

enum { P_VENDOR, P_PICKUP, P_DROPOFF, P_PC, P_DIST, P_RATE, P_FLAG, P_PU, P_DO, P_PAY, P_FARE, P_EXTRA, P_MTA, P_TIP,
       P_TOLLS, P_IMPR, P_TOTAL, P_CONG, P_AIRPORT, P_NCOLS };

static const char *s_pq_names [P_NCOLS] = {
    "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count", "trip_distance", "RatecodeID",
    "store_and_fwd_flag", "PULocationID", "DOLocationID", "payment_type", "fare_amount", "extra", "mta_tax",
    "tip_amount", "tolls_amount", "improvement_surcharge", "total_amount", "congestion_surcharge", "airport_fee",
};

typedef struct {
    int codec;                  /* tl_pq_wcodec_t, or -1 to cycle by file */
    uint64_t row_group, page_size;
} s_pq_opts_t;

typedef struct {
    bool null;
    int64_t i;                  /* integers and timestamps (micros) */
    double d;
    const char *s;
} s_cell_t;

typedef struct {
    uint64_t nulls, yes;        /* yes: store_and_fwd_flag "Y" */
    __int128 sum;
} s_col_truth_t;

static const char *s_pq_modes [] = { "dict", "dict_fallback_legacy", "plain" };

/*  The file's schema: the TLC's 19 columns with the type drift of its month. */
static void
s_pq_schema (int year, int month, int index, tl_pq_wcol_t *c)
{
    int ym = year * 100 + month, mode = index % 3;
    for (int i = 0; i < P_NCOLS; i++)
        c [i] = (tl_pq_wcol_t) { .name = s_pq_names [i], .type = TL_PQW_DOUBLE, .optional = true,
                                 .encoding = mode == 0 ? TL_PQW_DICT : mode == 1 ? TL_PQW_DICT_FALLBACK : TL_PQW_PLAIN,
                                 .legacy_dict = mode == 1 };
    c [P_VENDOR].type = c [P_PU].type = c [P_DO].type = ym >= 202302 ? TL_PQW_INT32 : TL_PQW_INT64;
    c [P_PC].type = c [P_RATE].type = ym >= 201807 && ym <= 202301 ? TL_PQW_DOUBLE : TL_PQW_INT64;
    c [P_PICKUP].type = c [P_DROPOFF].type = c [P_PAY].type = TL_PQW_INT64;
    c [P_PICKUP].logical = c [P_DROPOFF].logical = TL_PQW_TIMESTAMP_US;
    c [P_FLAG].type = TL_PQW_BYTE_ARRAY;
    c [P_FLAG].logical = TL_PQW_STRING;
    if (year < 2021)
        c [P_AIRPORT].type = TL_PQW_INT32;      /* all NULL, stored as INT32 as in the TLC's files */
    if (ym >= 202302)
        c [P_AIRPORT].name = "Airport_fee";
    static const int never_null [] = { P_VENDOR, P_PICKUP, P_DROPOFF, P_DIST, P_PU, P_DO, P_PAY, P_FARE, P_EXTRA,
                                       P_MTA, P_TIP, P_TOLLS, P_TOTAL };
    for (size_t i = 0; i < sizeof never_null / sizeof *never_null; i++)
        c [never_null [i]].optional = index % 2 == 1;
}

static double
s_cents (double v)
{
    return round (v * 100) / 100;
}

/*  One trip, drawn like the CSV rows; from 2020 about 3% lack passenger_count, RatecodeID,
    store_and_fwd_flag, congestion_surcharge and airport_fee, as the TLC's files do. */
static void
s_pq_row (uint64_t *rng, int year, int month, s_cell_t *v)
{
    struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = 1 + (int) (s_rand (rng) % 28),
                     .tm_hour = (int) (s_rand (rng) % 24), .tm_min = (int) (s_rand (rng) % 60),
                     .tm_sec = (int) (s_rand (rng) % 60) };
    int64_t pickup = (int64_t) timegm (&tm) * 1000000;
    int64_t dur = 60 + (int64_t) (s_rand (rng) % 2400);
    int pc = s_passengers (rng);
    bool gap = year >= 2020 && s_unit (rng) < 0.03;
    double dist = s_cents (0.3 + s_unit (rng) * 12.0), fare = s_cents (2.5 + dist * 2.5);
    double tip = s_unit (rng) < 0.6 ? s_cents (fare * 0.18) : 0, extra = (double) (s_rand (rng) % 3) * 0.5;
    double tolls = s_rand (rng) % 20 ? 0 : 6.55, airport = s_rand (rng) % 10 ? 0 : 1.25;
    uint64_t r = s_rand (rng) % 100;
    for (int i = 0; i < P_NCOLS; i++)
        v [i] = (s_cell_t) { 0 };
    v [P_VENDOR].i = 1 + (int64_t) (s_rand (rng) & 1);
    v [P_PICKUP].i = pickup;
    v [P_DROPOFF].i = pickup + dur * 1000000;
    v [P_PC] = (s_cell_t) { .null = gap, .i = pc, .d = pc };
    v [P_DIST].d = dist;
    v [P_RATE] = (s_cell_t) { .null = gap, .i = r < 95 ? 1 : r < 98 ? 2 : 5, .d = r < 95 ? 1 : r < 98 ? 2 : 5 };
    v [P_FLAG] = (s_cell_t) { .null = gap, .s = s_rand (rng) % 50 ? "N" : "Y" };
    v [P_PU].i = 1 + (int64_t) (s_rand (rng) % 265);
    v [P_DO].i = 1 + (int64_t) (s_rand (rng) % 265);
    v [P_PAY].i = 1 + (int64_t) (s_rand (rng) % 4);
    v [P_FARE].d = fare;
    v [P_EXTRA].d = extra;
    v [P_MTA].d = 0.5;
    v [P_TIP].d = tip;
    v [P_TOLLS].d = tolls;
    v [P_IMPR] = (s_cell_t) { .null = year < 2015, .d = 0.3 };
    v [P_CONG] = (s_cell_t) { .null = gap || year < 2019, .d = 2.5 };
    v [P_AIRPORT] = (s_cell_t) { .null = gap || year < 2021, .d = airport };
    double total = fare + extra + 0.5 + tip + tolls;
    for (int i = P_IMPR; i <= P_AIRPORT; i += 2)
        total += v [i].null ? 0 : v [i].d;
    v [P_TOTAL].d = s_cents (total);
}

/*  Append one cell to column col, typed as the schema says; count it in the column's truth. */
static int
s_pq_add (tl_pq_writer_t *w, const tl_pq_wcol_t *c, int col, const s_cell_t *v, s_col_truth_t *t)
{
    if (v->null) {
        t->nulls++;
        return tl_pq_writer_add_null (w, (size_t) col);
    }
    switch (c->type) {
        case TL_PQW_INT32: t->sum += v->i; return tl_pq_writer_add_i32 (w, (size_t) col, (int32_t) v->i);
        case TL_PQW_INT64: t->sum += v->i; return tl_pq_writer_add_i64 (w, (size_t) col, v->i);
        case TL_PQW_DOUBLE: t->sum += llround (v->d * 100); return tl_pq_writer_add_f64 (w, (size_t) col, v->d);
        default:
            t->sum += (__int128) strlen (v->s);
            t->yes += v->s [0] == 'Y';
            return tl_pq_writer_add_bytes (w, (size_t) col, v->s, strlen (v->s));
    }
}

static void
s_json_i128 (FILE *f, __int128 v)
{
    char b [48];
    int n = 0;
    unsigned __int128 u = v < 0 ? -(unsigned __int128) v : (unsigned __int128) v;
    do
        b [n++] = (char) ('0' + (int) (u % 10));
    while ((u /= 10));
    fprintf (f, "\"%s", v < 0 ? "-" : "");
    while (n)
        fputc (b [--n], f);
    fputc ('"', f);
}

/*  The file's entry in the truth's "parquet" list. */
static void
s_pq_truth (FILE *f, const char *name, uint64_t rows, const s_pq_opts_t *o, int codec, int index,
            const tl_pq_wcol_t *c, const s_col_truth_t *t)
{
    static const char *types [] = { [TL_PQW_INT32] = "INT32", [TL_PQW_INT64] = "INT64", [TL_PQW_DOUBLE] = "DOUBLE",
                                    [TL_PQW_BYTE_ARRAY] = "BYTE_ARRAY" };
    static const char *codecs [] = { "UNCOMPRESSED", "SNAPPY", "GZIP", "", "", "", "ZSTD" };
    fprintf (f, "%s{\"file\":\"%s\",\"rows\":%llu,\"row_groups\":%llu,\"row_group_rows\":%llu,\"codec\":\"%s\","
                "\"encoding\":\"%s\",\"columns\":[",
             index ? ",\n" : "\n", name, (unsigned long long) rows,
             (unsigned long long) ((rows + o->row_group - 1) / o->row_group), (unsigned long long) o->row_group,
             codecs [codec], s_pq_modes [index % 3]);
    for (int i = 0; i < P_NCOLS; i++) {
        fprintf (f, "%s{\"name\":\"%s\",\"type\":\"%s\",\"optional\":%s,\"nulls\":%llu,\"sum\":", i ? "," : "",
                 c [i].name, types [c [i].type], c [i].optional ? "true" : "false", (unsigned long long) t [i].nulls);
        s_json_i128 (f, t [i].sum);
        if (i == P_FLAG)
            fprintf (f, ",\"hist\":{\"N\":%llu,\"Y\":%llu}", (unsigned long long) (rows - t [i].nulls - t [i].yes),
                     (unsigned long long) t [i].yes);
        fputc ('}', f);
    }
    fputs ("]}", f);
}

static int
s_pq_save (const char *path, tl_pq_writer_t *w, uint64_t *bytes)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (tl_pq_writer_finish (w, &buf, &len) != 0) {
        fprintf (stderr, "tally gen: %s: %s\n", path, tl_pq_writer_err (w)->msg);
        return -1;
    }
    FILE *f = fopen (path, "wb");
    bool ok = f && fwrite (buf, 1, len, f) == len;
    if ((f && fclose (f) != 0) || !ok) {
        fprintf (stderr, "tally gen: cannot write %s: %s\n", path, strerror (errno));
        free (buf);
        return -1;
    }
    free (buf);
    *bytes += len;
    return 0;
}

/*  One month as Parquet; its truth entry goes to tf, its rows into t. */
static int
s_write_parquet (const char *path, int year, int month, uint64_t rows, int index, uint64_t *rng, s_truth_t *t,
                 const s_pq_opts_t *o, FILE *tf)
{
    tl_pq_wcol_t cols [P_NCOLS];
    s_pq_schema (year, month, index, cols);
    static const int cycle [] = { TL_PQW_SNAPPY, TL_PQW_GZIP, TL_PQW_ZSTD, TL_PQW_UNCOMPRESSED };
    int codec = o->codec >= 0 ? o->codec : cycle [index % 4];
    tl_pq_wopts_t wo = { .codec = codec, .page_size = o->page_size, .dict_max = 1024 };
    tl_err_t e;
    tl_pq_writer_t *w = tl_pq_writer_new (cols, P_NCOLS, &wo, &e);
    if (!w) {
        fprintf (stderr, "tally gen: %s\n", e.msg);
        return -1;
    }
    s_col_truth_t ct [P_NCOLS] = { { 0 } };
    int rc = 0;
    for (uint64_t r = 0; r < rows && !rc; r++) {
        s_cell_t v [P_NCOLS];
        s_pq_row (rng, year, month, v);
        for (int i = 0; i < P_NCOLS && !rc; i++)
            rc = s_pq_add (w, &cols [i], i, &v [i], &ct [i]);
        if (!rc && (r + 1) % o->row_group == 0)
            rc = tl_pq_writer_end_row_group (w);
        char key [8] = "";
        if (!v [P_PC].null)
            snprintf (key, sizeof key, "%d", (int) v [P_PC].i);
        tl_agg_add (t->by_pc, key, strlen (key), 1);
        snprintf (key, sizeof key, "%d", (int) v [P_VENDOR].i);
        tl_agg_add (t->by_c1, key, strlen (key), 1);
        t->rows++;
    }
    if (rc)
        fprintf (stderr, "tally gen: %s: %s\n", path, tl_pq_writer_err (w)->msg);
    else if (!(rc = s_pq_save (path, w, &t->bytes))) {
        const char *name = strrchr (path, '/');
        s_pq_truth (tf, name ? name + 1 : path, rows, o, codec, index, cols, ct);
    }
    tl_pq_writer_destroy (&w);
    return rc;
}

#define ERAS_CSV "2009,2012,2014,2015,2019,2020"
#define ERAS_PARQUET "2011,2015,2018-07,2020,2021-06,2023-02"

/*  --eras: YYYY or YYYY-MM, comma-separated, at most 64. Returns how many, or -1 (said why). */
static int
s_parse_eras (const char *eras, bool parquet, int *years, int *months)
{
    int n = 0;
    char *copy = strdup (eras), *save = NULL;
    for (char *tok = strtok_r (copy, ",", &save); tok && n < 64; tok = strtok_r (NULL, ",", &save)) {
        uint64_t y, m = 1;
        char *dash = strchr (tok, '-');
        if (dash)
            *dash = 0;
        if (tl_parse_uint (tok, parquet ? 2011 : 2009, 2030, &y) || (dash && tl_parse_uint (dash + 1, 1, 12, &m))) {
            fprintf (stderr, "tally gen: --eras wants YYYY or YYYY-MM from %d to 2030, not '%s%s%s'\n",
                     parquet ? 2011 : 2009, tok, dash ? "-" : "", dash ? dash + 1 : "");
            free (copy);
            return -1;
        }
        years [n] = (int) y;
        months [n++] = (int) m;
    }
    free (copy);
    if (!n)
        fprintf (stderr, "tally gen: --eras is empty\n");
    return n ? n : -1;
}

/*  Whether two eras come within as many months of each other as there are rounds through them,
    so that two files would get the same month (and name). */
static bool
s_eras_overlap (const int *years, const int *months, int n, uint64_t files)
{
    uint64_t rounds = (files + (uint64_t) n - 1) / (uint64_t) n;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int d = abs ((years [i] * 12 + months [i]) - (years [j] * 12 + months [j]));
            if ((uint64_t) d < rounds)
                return true;
        }
    return false;
}

/*  --format, --codec, --row-group, --page-size. Returns 0 or -1 (said why). */
static int
s_pq_option (int c, const char *arg, bool *parquet, s_pq_opts_t *po)
{
    static const char *codecs [] = { [TL_PQW_UNCOMPRESSED] = "none", [TL_PQW_SNAPPY] = "snappy",
                                     [TL_PQW_GZIP] = "gzip", [TL_PQW_ZSTD] = "zstd" };
    if (c == 'F' && (strcmp (arg, "csv") == 0 || strcmp (arg, "parquet") == 0)) {
        *parquet = arg [0] == 'p';
        return 0;
    }
    for (int i = 0; c == 'c' && i < (int) (sizeof codecs / sizeof *codecs); i++)
        if (codecs [i] && strcmp (arg, codecs [i]) == 0) {
            po->codec = i;
            return 0;
        }
    if (c == 'g' && !tl_parse_uint (arg, 1, 100000000, &po->row_group))
        return 0;
    if (c == 'p' && !tl_parse_size (arg, &po->page_size) && po->page_size >= 64 && po->page_size <= (1 << 30))
        return 0;
    fprintf (stderr, "tally gen: --%s does not take '%s' (see --help)\n",
             c == 'F' ? "format" : c == 'c' ? "codec" : c == 'g' ? "row-group" : "page-size", arg);
    return -1;
}

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally gen --out DIR [--files N] [--rows N] [--eras LIST] [--seed N] [--truth FILE]\n"
             "                 [--format csv|parquet] [--codec C] [--row-group N] [--page-size BYTES]\n"
             "\n"
             "Writes synthetic TLC yellow-trip CSVs (or Parquet) with the real files' quirks, and the ground truth.\n"
             "\n"
             "  --out DIR       folder for the files (created)\n"
             "  --files N       number of files (default 6)\n"
             "  --rows N        rows per file (default 100000)\n"
             "  --eras LIST     first months in turn, YYYY or YYYY-MM; file i takes era i %% n, one month on\n"
             "                  for each round (default 2009,2012,2014,2015,2019,2020; for Parquet\n"
             "                  2011,2015,2018-07,2020,2021-06,2023-02; Parquet needs 2011 on)\n"
             "  --seed N        random seed (default 1)\n"
             "  --truth FILE    ground truth JSON (default DIR.truth.json)\n"
             "  --format F      csv (the default) or parquet (yellow_tripdata_YYYY-MM.parquet)\n"
             "  --codec C       Parquet codec: none, snappy, gzip, zstd; default: each in turn by file\n"
             "  --row-group N   Parquet rows per row group (default 1000000)\n"
             "  --page-size B   Parquet data page size (default 1M)\n"
             "  -h, --help\n");
}

int
tl_gen_main (int argc, char **argv)
{
    static const struct option opts [] = {
        { "out", required_argument, 0, 'o' },  { "files", required_argument, 0, 'f' },
        { "rows", required_argument, 0, 'r' }, { "eras", required_argument, 0, 'e' },
        { "seed", required_argument, 0, 's' }, { "truth", required_argument, 0, 't' },
        { "format", required_argument, 0, 'F' }, { "codec", required_argument, 0, 'c' },
        { "row-group", required_argument, 0, 'g' }, { "page-size", required_argument, 0, 'p' },
        { "help", no_argument, 0, 'h' },       { 0, 0, 0, 0 },
    };
    const char *out = NULL, *truth = NULL, *eras = NULL;
    uint64_t files = 6, rows = 100000, seed = 1;
    bool parquet = false;
    s_pq_opts_t po = { .codec = -1, .row_group = 1000000, .page_size = 1 << 20 };
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
            case 'o': out = optarg; break;
            case 'f':
                if (tl_parse_uint (optarg, 1, 100000, &files)) {
                    fprintf (stderr, "tally gen: --files wants 1 to 100000, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'r':
                if (tl_parse_uint (optarg, 0, 1000000000, &rows)) {
                    fprintf (stderr, "tally gen: --rows wants a number, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 'e': eras = optarg; break;
            case 's':
                if (tl_parse_uint (optarg, 0, UINT64_MAX, &seed)) {
                    fprintf (stderr, "tally gen: --seed wants a number, not '%s'\n", optarg);
                    return 2;
                }
                break;
            case 't': truth = optarg; break;
            case 'F':
            case 'c':
            case 'g':
            case 'p':
                if (s_pq_option (c, optarg, &parquet, &po))
                    return 2;
                break;
            case 'h': s_usage (stdout); return 0;
            default: return tl_opt_fail ("tally gen", c, argv, opts);
        }
    }
    if (optind < argc || !out) {
        fprintf (stderr, optind < argc ? "tally gen: unexpected argument\n" : "tally gen: --out is required (see --help)\n");
        return 2;
    }
    int years [64], months [64], nyears = s_parse_eras (eras ? eras : parquet ? ERAS_PARQUET : ERAS_CSV, parquet, years,
                                                         months);
    if (nyears < 0)
        return 2;
    tl_err_t me;
    if (tl_mkdirs (out, &me) != 0) {
        fprintf (stderr, "tally gen: cannot create %s\n", me.msg);
        return 1;
    }
    char truth_path [4096];
    if (truth)
        snprintf (truth_path, sizeof truth_path, "%s", truth);
    else {
        snprintf (truth_path, sizeof truth_path, "%s", out);
        size_t n = strlen (truth_path);
        while (n > 1 && truth_path [n - 1] == '/')
            truth_path [--n] = 0;
        strncat (truth_path, ".truth.json", sizeof truth_path - n - 1);
    }
    s_truth_t t = { tl_agg_new (), tl_agg_new (), 0, 0, 0, 0 };
    uint64_t rng = seed;
    int rc = 0;
    char *pq_truth = NULL;
    size_t pq_truth_len = 0;
    FILE *tf = parquet ? open_memstream (&pq_truth, &pq_truth_len) : NULL;
    if (parquet && !tf) {
        fprintf (stderr, "tally gen: out of memory\n");
        rc = -1;
    }
    /* More files than eras x 12 months would repeat a name, and so would eras close together in
       Parquet mode: number them. */
    bool numbered = files > (uint64_t) nyears * 12 || (parquet && s_eras_overlap (years, months, nyears, files));
    for (uint64_t i = 0; i < files && !rc; i++) {
        /* Era i % n, one month further on for each round through the eras. */
        int m0 = months [i % (uint64_t) nyears] - 1 + (int) (i / (uint64_t) nyears);
        int year = years [i % (uint64_t) nyears] + m0 / 12, month = m0 % 12 + 1;
        const char *ext = parquet ? "parquet" : "csv";
        char path [4096];
        if (numbered)
            snprintf (path, sizeof path, "%s/yellow_tripdata_%04d-%02d_%05llu.%s", out, year, month,
                      (unsigned long long) i, ext);
        else
            snprintf (path, sizeof path, "%s/yellow_tripdata_%04d-%02d.%s", out, year, month, ext);
        if (parquet)
            rc = s_write_parquet (path, year, month, rows, (int) i, &rng, &t, &po, tf);
        else
            rc = s_write_file (path, year, month, rows, (int) i, &rng, &t);
    }
    if (tf && fclose (tf) != 0)
        rc = -1;
    if (!rc) {
        FILE *f = fopen (truth_path, "w");
        if (!f) {
            fprintf (stderr, "tally gen: cannot write %s: %s\n", truth_path, strerror (errno));
            rc = -1;
        }
        else {
            fprintf (f, "{\"files\":%llu,\"rows\":%llu,\"bad_rows\":%llu,\"blank_lines\":%llu,\"bytes\":%llu,",
                     (unsigned long long) files, (unsigned long long) t.rows, (unsigned long long) t.bad,
                     (unsigned long long) t.blank, (unsigned long long) t.bytes);
            fputs ("\"by_column\":{\"passenger_count\":", f);
            s_json_agg (f, t.by_pc);
            fputs (",\"1\":", f);
            s_json_agg (f, t.by_c1);
            fputs ("}", f);
            if (parquet)
                fprintf (f, ",\"parquet\":[%s\n]", pq_truth ? pq_truth : "");
            fputs ("}\n", f);
            fclose (f);
            fprintf (stderr, "tally gen: %llu files, %llu rows (%llu cut short), %.1f MB in %s; truth in %s\n",
                     (unsigned long long) files, (unsigned long long) t.rows, (unsigned long long) t.bad,
                     (double) t.bytes / 1e6, out, truth_path);
        }
    }
    free (pq_truth);
    tl_agg_destroy (&t.by_pc);
    tl_agg_destroy (&t.by_c1);
    return rc ? 1 : 0;
}
