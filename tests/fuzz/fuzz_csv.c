/*  libFuzzer, differential: the three row scanners must agree on any bytes, fed in chunks of
    any size, and a byte range split at any point must sum to the whole unless a range reports a
    multi-line record (and one must, if the whole has one: exact or loud).
    Input: [spec byte][chunk byte][cut byte...] then the CSV text. The spec byte's low 7 bits
    pick a column or a query (the query hop against the scalar field walk); its top bit set
    makes the text dense in quotes, newlines, commas and CRs (each byte under 0x40 becomes
    one of them), so that quoted newlines across chunk and range boundaries are common. */
#include <stdint.h>
#include "lib/core/csv.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    tl_csv_stats_t st;
    tl_agg_t *agg;
    int rc;
    int ml;
    uint64_t ml_at, ml_line;
} s_out_t;

static s_out_t
s_run (const char *spec, int impl, const uint8_t *t, size_t n, size_t chunk, uint64_t start, uint64_t end)
{
    s_out_t o = { { 0 }, tl_agg_new (), 0, 0, 0, 0 };
    tl_csv_t *c = tl_csv_new (spec, o.agg);
    tl_err_t e;
    if (tl_csv_set_impl (c, impl) != 0) {
        tl_csv_destroy (&c);
        o.rc = -100;
        return o;
    }
    tl_csv_set_range (c, start, end);
    if (start > 0) {
        const char *line;
        size_t len;
        uint64_t at;
        if (tl_csv_find_header ((const char *) t, n, &line, &len, &at) != 1
            || tl_csv_set_header_at (c, line, len, at, &e) != 0) {
            tl_csv_destroy (&c);
            o.rc = -200;
            return o;
        }
    }
    size_t pos = (size_t) tl_csv_stream_offset (c);
    while (pos < n && o.rc == 0) {
        size_t k = n - pos < chunk ? n - pos : chunk;
        o.rc = tl_csv_feed (c, (const char *) t + pos, k, &e);
        pos += k;
    }
    if (o.rc >= 0)
        o.rc = tl_csv_finish (c, &e);
    o.st = tl_csv_stats (c);
    o.ml = tl_csv_multiline_at (c, &o.ml_at, &o.ml_line);
    tl_csv_destroy (&c);
    return o;
}

static void
s_same (const s_out_t *a, const s_out_t *b)
{
    /* A failed object's counts are thrown away, and how far a scan got before its error (an
       open quote past 1 MiB: TL_CSV_QUOTE_OPEN) depends on the chunking: only the error must agree. */
    if (a->rc < 0 && a->rc == b->rc)
        return;
    if (a->rc != b->rc || a->st.rows != b->st.rows || a->st.bad != b->st.bad || a->st.blank != b->st.blank
        || a->st.filtered != b->st.filtered
        || a->st.multiline != b->st.multiline || a->ml != b->ml || a->ml_at != b->ml_at || a->ml_line != b->ml_line
        || tl_agg_size (a->agg) != tl_agg_size (b->agg))
        abort ();
    size_t pos = 0;
    tl_agg_entry_t e;
    while (tl_agg_next (a->agg, &pos, &e))
        if (tl_agg_get (b->agg, e.key, e.len) != e.count)
            abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* Plain specs (the line hop) and queries (the query hop: several fields, slices, where). */
    static const char *specs [] = { "a", "b", "c", "1", "2", "4", " B ", "passenger_count",
                                    "by a\nby c\n", "by c\nby 1\nwhere b != 1\n", "by 4\nby a[0:2]\n",
                                    "by b\nagg sum:c\nwhere a > 0\n" };
    const char *spec = specs [(data [0] & 0x7f) % 12];
    size_t chunk = 1 + (size_t) data [1] * 7;
    size_t n = size - 3;
    uint8_t *t = malloc (n ? n : 1);
    memcpy (t, data + 3, n);
    if (data [0] & 0x80)
        for (size_t i = 0; i < n; i++)
            if (t [i] < 0x40)
                t [i] = (uint8_t) "\"\n,\r"[t [i] & 3];
    s_out_t ref = s_run (spec, TL_CSV_SCALAR, t, n, n ? n : 1, 0, UINT64_MAX);
    for (int impl = TL_CSV_SCALAR; impl <= TL_CSV_AVX2; impl++) {
        s_out_t o = s_run (spec, impl, t, n, chunk, 0, UINT64_MAX);
        if (o.rc != -100)
            s_same (&ref, &o);
        tl_agg_destroy (&o.agg);
    }
    /* Split at a point: the two ranges sum to the whole (records start in exactly one), unless
       one of them reports a multi-line record; and if the whole has one, a range reports it. */
    size_t cut = n ? (size_t) data [2] * n / 256 : 0;
    if (ref.rc == 0 && cut > 0 && cut < n) {
        s_out_t a = s_run (spec, TL_CSV_AVX2, t, n, chunk, 0, cut);
        if (a.rc == -100) {
            tl_agg_destroy (&a.agg);
            a = s_run (spec, TL_CSV_SSE2, t, n, chunk, 0, cut);
        }
        s_out_t b = s_run (spec, TL_CSV_SCALAR, t, n, chunk, cut, UINT64_MAX);
        if (b.rc != -200 && a.rc >= 0 && b.rc >= 0) {  /* (a range that fails is loud, not wrong) */
            int ml = a.st.multiline || b.st.multiline;
            if (ref.st.multiline && !ml)
                abort ();
            if (!ml && (a.st.rows + b.st.rows != ref.st.rows || a.st.bad + b.st.bad != ref.st.bad))
                abort ();
        }
        tl_agg_destroy (&a.agg);
        tl_agg_destroy (&b.agg);
    }
    tl_agg_destroy (&ref.agg);
    free (t);
    return 0;
}
