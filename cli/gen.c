/*  gen.c — the data generator.

    Each file takes a schema era (2009, 2010-2013, 2014, 2015-2016, 2017-2019, 2020+) in turn and
    carries that era's quirks: a blank line after the header (some 2010-2014 and 2017+ files),
    spaces before the 2014 header names, CRLF line ends (some 2017+ files), empty
    passenger_count (2020+), rows cut short (too few columns, about 1 in 5,000), and no newline
    at the end (every third file).

    The ground truth is counted here, as the rows are written, by what the generator knows it
    wrote. It does not re-read or parse the files, so it is independent of tally's scanner. It
    goes to a JSON file: counts by passenger_count and by column 1, rows, bad rows, blank lines,
    bytes. */
#include "cli/gen.h"
#include "lib/core/agg.h"
#include "lib/base/util.h"
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static void
s_usage (FILE *f)
{
    fprintf (f,
             "usage: tally gen --out DIR [--files N] [--rows N] [--eras LIST] [--seed N] [--truth FILE]\n"
             "\n"
             "Writes synthetic TLC yellow-trip CSVs with the real files' quirks, and the ground truth.\n"
             "\n"
             "  --out DIR       folder for the CSV files (created)\n"
             "  --files N       number of files (default 6)\n"
             "  --rows N        rows per file (default 100000)\n"
             "  --eras LIST     schema years in turn, e.g. 2009,2012,2014,2015,2019,2020 (the default)\n"
             "  --seed N        random seed (default 1)\n"
             "  --truth FILE    ground truth JSON (default DIR.truth.json)\n"
             "  -h, --help\n");
}

int
tl_gen_main (int argc, char **argv)
{
    static const struct option opts [] = {
        { "out", required_argument, 0, 'o' },  { "files", required_argument, 0, 'f' },
        { "rows", required_argument, 0, 'r' }, { "eras", required_argument, 0, 'e' },
        { "seed", required_argument, 0, 's' }, { "truth", required_argument, 0, 't' },
        { "help", no_argument, 0, 'h' },       { 0, 0, 0, 0 },
    };
    const char *out = NULL, *truth = NULL, *eras = "2009,2012,2014,2015,2019,2020";
    uint64_t files = 6, rows = 100000, seed = 1;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
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
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc || !out) {
        fprintf (stderr, optind < argc ? "tally gen: unexpected argument\n" : "tally gen: --out is required (see --help)\n");
        return 2;
    }
    int years [64], nyears = 0;
    char *copy = strdup (eras), *save = NULL;
    for (char *tok = strtok_r (copy, ",", &save); tok && nyears < 64; tok = strtok_r (NULL, ",", &save)) {
        uint64_t y;
        if (tl_parse_uint (tok, 2009, 2030, &y)) {
            fprintf (stderr, "tally gen: --eras wants years from 2009 to 2030, not '%s'\n", tok);
            free (copy);
            return 2;
        }
        years [nyears++] = (int) y;
    }
    free (copy);
    if (!nyears) {
        fprintf (stderr, "tally gen: --eras is empty\n");
        return 2;
    }
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
    for (uint64_t i = 0; i < files && !rc; i++) {
        int year = years [i % (uint64_t) nyears] + (int) (i / ((uint64_t) nyears * 12));
        int month = (int) ((i / (uint64_t) nyears) % 12) + 1;
        char path [4096];
        /* More files than eras x 12 months would repeat a name: number them. */
        if (files > (uint64_t) nyears * 12)
            snprintf (path, sizeof path, "%s/yellow_tripdata_%04d-%02d_%05llu.csv", out, year, month,
                      (unsigned long long) i);
        else
            snprintf (path, sizeof path, "%s/yellow_tripdata_%04d-%02d.csv", out, year, month);
        rc = s_write_file (path, year, month, rows, (int) i, &rng, &t);
    }
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
            fputs ("}}\n", f);
            fclose (f);
            fprintf (stderr, "tally gen: %llu files, %llu rows (%llu cut short), %.1f MB in %s; truth in %s\n",
                     (unsigned long long) files, (unsigned long long) t.rows, (unsigned long long) t.bad,
                     (double) t.bytes / 1e6, out, truth_path);
        }
    }
    tl_agg_destroy (&t.by_pc);
    tl_agg_destroy (&t.by_c1);
    return rc ? 1 : 0;
}
