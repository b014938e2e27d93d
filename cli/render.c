/*  render.c — output formats.

    csv:   header "COL,count", then one line per group, count descending then key. Keys that
           hold a comma, quote or newline are quoted (RFC 4180).
    json:  one object: column, groups [{key, count}], rows, bad_rows, blank_lines, bytes,
           tasks, tasks_total, duplicates_ignored, elapsed_s, done, ok, error, mappers.
    table: aligned for people, with each group's share and a summary line. */
#include "render.h"
#include "err.h"
#include <stdlib.h>
#include <string.h>

int
tl_fmt_parse (const char *s, tl_fmt_t *fmt)
{
    if (strcmp (s, "table") == 0) *fmt = TL_FMT_TABLE;
    else if (strcmp (s, "csv") == 0) *fmt = TL_FMT_CSV;
    else if (strcmp (s, "json") == 0) *fmt = TL_FMT_JSON;
    else return TL_EINVAL;
    return 0;
}

static void
s_csv_field (FILE *f, const char *p, size_t n)
{
    if (!memchr (p, ',', n) && !memchr (p, '"', n) && !memchr (p, '\n', n) && !memchr (p, '\r', n)) {
        fwrite (p, 1, n, f);
        return;
    }
    fputc ('"', f);
    for (size_t i = 0; i < n; i++) {
        if (p [i] == '"')
            fputc ('"', f);
        fputc (p [i], f);
    }
    fputc ('"', f);
}

static void
s_json_str (FILE *f, const char *p, size_t n)
{
    fputc ('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) p [i];
        if (c == '"' || c == '\\')
            fprintf (f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf (f, "\\u%04x", c);
        else
            fputc (c, f);
    }
    fputc ('"', f);
}

static void
s_thousands (char *out, size_t outlen, uint64_t v)
{
    char digits [32];
    int n = snprintf (digits, sizeof digits, "%llu", (unsigned long long) v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < outlen; i++) {
        if (i && (n - i) % 3 == 0)
            out [o++] = ',';
        out [o++] = digits [i];
    }
    out [o] = 0;
}

static void
s_bytes (char *out, size_t outlen, double b)
{
    const char *u [] = { "B", "KB", "MB", "GB", "TB" };
    int i = 0;
    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf (out, outlen, i ? "%.1f %s" : "%.0f %s", b, u [i]);
}

void
tl_render_progress (char *out, size_t outlen, const tl_msg_t *u)
{
    double frac = u->bytes_total ? (double) u->bytes / (double) u->bytes_total : 0;
    if (frac > 1)
        frac = 1;
    char bar [33];
    int w = 30, fill = (int) (frac * w + 0.5);
    for (int i = 0; i < w; i++)
        bar [i] = i < fill ? '#' : '.';
    bar [w] = 0;
    double secs = u->elapsed_ms / 1000.0;
    double rate = secs > 0 ? (double) u->bytes / secs : 0;
    char done [32], total [32], r [32], eta [32] = "-";
    s_bytes (done, sizeof done, (double) u->bytes);
    s_bytes (total, sizeof total, (double) u->bytes_total);
    s_bytes (r, sizeof r, rate);
    if (rate > 0 && u->bytes_total > u->bytes)
        snprintf (eta, sizeof eta, "%.0f s", (double) (u->bytes_total - u->bytes) / rate);
    snprintf (out, outlen, "[%s] %3.0f%%  %llu/%llu tasks  %s/%s  %s/s  ETA %s  %zu mapper(s)  %.1f s", bar,
              frac * 100, (unsigned long long) u->tasks_done, (unsigned long long) u->tasks_total, done, total, r,
              eta, u->n_mappers, secs);
}

void
tl_render (FILE *f, tl_msg_t *u, tl_fmt_t fmt)
{
    tl_agg_sort_entries (u->groups, u->n_groups);
    const char *col = u->col ? u->col : "key";
    if (fmt == TL_FMT_CSV) {
        s_csv_field (f, col, strlen (col));
        fputs (",count\n", f);
        for (size_t i = 0; i < u->n_groups; i++) {
            s_csv_field (f, u->groups [i].key, u->groups [i].len);
            fprintf (f, ",%llu\n", (unsigned long long) u->groups [i].count);
        }
        return;
    }
    if (fmt == TL_FMT_JSON) {
        fputs ("{\"column\":", f);
        s_json_str (f, col, strlen (col));
        fputs (",\"groups\":[", f);
        for (size_t i = 0; i < u->n_groups; i++) {
            fputs (i ? ",{\"key\":" : "{\"key\":", f);
            s_json_str (f, u->groups [i].key, u->groups [i].len);
            fprintf (f, ",\"count\":%llu}", (unsigned long long) u->groups [i].count);
        }
        fprintf (f,
                 "],\"rows\":%llu,\"bad_rows\":%llu,\"blank_lines\":%llu,\"bytes\":%llu,\"bytes_total\":%llu,"
                 "\"tasks\":%llu,\"tasks_total\":%llu,\"duplicates_ignored\":%llu,\"elapsed_s\":%.3f,"
                 "\"done\":%s,\"ok\":%s,\"seq\":%llu,\"error\":",
                 (unsigned long long) u->rows, (unsigned long long) u->bad, (unsigned long long) u->blank,
                 (unsigned long long) u->bytes, (unsigned long long) u->bytes_total,
                 (unsigned long long) u->tasks_done, (unsigned long long) u->tasks_total,
                 (unsigned long long) u->dups, u->elapsed_ms / 1000.0, u->done ? "true" : "false",
                 u->ok ? "true" : "false", (unsigned long long) u->seq);
        s_json_str (f, u->error ? u->error : "", u->error ? strlen (u->error) : 0);
        fputs (",\"mappers\":[", f);
        for (size_t i = 0; i < u->n_mappers; i++) {
            fputs (i ? ",{\"name\":" : "{\"name\":", f);
            s_json_str (f, u->mappers [i].name, strlen (u->mappers [i].name));
            fprintf (f, ",\"tasks\":%llu}", (unsigned long long) u->mappers [i].tasks);
        }
        fputs ("]}\n", f);
        return;
    }
    size_t kw = strlen (col);
    for (size_t i = 0; i < u->n_groups; i++)
        if (u->groups [i].len > kw)
            kw = u->groups [i].len > 40 ? 40 : u->groups [i].len;
    if (kw < 7)
        kw = 7;
    fprintf (f, "%-*s  %15s  %7s\n", (int) kw, col, "count", "share");
    for (size_t i = 0; i < u->n_groups; i++) {
        char n [32];
        s_thousands (n, sizeof n, u->groups [i].count);
        double share = u->rows ? 100.0 * (double) u->groups [i].count / (double) u->rows : 0;
        if (u->groups [i].len)
            fprintf (f, "%-*.*s  %15s  %6.2f%%\n", (int) kw, (int) (u->groups [i].len > 40 ? 40 : u->groups [i].len),
                     u->groups [i].key, n, share);
        else
            fprintf (f, "%-*s  %15s  %6.2f%%\n", (int) kw, "(empty)", n, share);
    }
    char rows [32], bad [32], by [32];
    s_thousands (rows, sizeof rows, u->rows);
    s_thousands (bad, sizeof bad, u->bad);
    s_bytes (by, sizeof by, (double) u->bytes);
    fprintf (f, "-- %s rows, %s bad rows skipped, %s, %llu/%llu tasks, %.2f s%s%s\n", rows, bad, by,
             (unsigned long long) u->tasks_done, (unsigned long long) u->tasks_total, u->elapsed_ms / 1000.0,
             u->done ? (u->ok ? "" : ", FAILED: ") : ", running", u->done && !u->ok && u->error ? u->error : "");
}

void
tl_render_bars (FILE *f, tl_msg_t *u, size_t max_rows)
{
    tl_agg_sort_entries (u->groups, u->n_groups);
    const char *col = u->col ? u->col : "key";
    size_t kw = strlen (col);
    for (size_t i = 0; i < u->n_groups && i < max_rows; i++)
        if (u->groups [i].len > kw)
            kw = u->groups [i].len > 24 ? 24 : u->groups [i].len;
    if (kw < 7)
        kw = 7;
    uint64_t top = u->n_groups ? u->groups [0].count : 0;
    fprintf (f, "%-*s  %13s  %7s\n", (int) kw, col, "count", "share");
    for (size_t i = 0; i < u->n_groups && i < max_rows; i++) {
        char n [32], bar [41];
        s_thousands (n, sizeof n, u->groups [i].count);
        double share = u->rows ? 100.0 * (double) u->groups [i].count / (double) u->rows : 0;
        int w = top ? (int) (40.0 * (double) u->groups [i].count / (double) top + 0.5) : 0;
        if (w == 0 && u->groups [i].count)
            w = 1;
        memset (bar, '#', (size_t) w);
        bar [w] = 0;
        const char *k = u->groups [i].len ? u->groups [i].key : "(empty)";
        int kl = u->groups [i].len ? (int) (u->groups [i].len > 24 ? 24 : u->groups [i].len) : 7;
        fprintf (f, "%-*.*s  %13s  %6.2f%%  %s\n", (int) kw, kl, k, n, share, bar);
    }
    if (u->n_groups > max_rows)
        fprintf (f, "... and %zu more group(s)\n", u->n_groups - max_rows);
}
