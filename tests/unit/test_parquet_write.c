/*  The Parquet writer, read back by a small independent decoder written here from the spec:
    page headers (Thrift compact), definition levels and dictionary ids (RLE/bit-packed hybrid),
    PLAIN values, and every codec's pages decompressed and compared with the uncompressed file.
    Errors: NULL in a REQUIRED column, wrong types, unequal columns, bad column definitions.

    `test_parquet_write --write-matrix DIR` instead writes a matrix of files (every type, REQUIRED
    and OPTIONAL with NULLs, every encoding mode and codec, several row groups and pages) with
    DIR/expect.json, for tests/tools/pq_write_check.mjs to read back with DuckDB. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include "lib/core/parquet/write.h"

/* ---- a minimal reader for what the tests look at */

static uint64_t
rd_varint (const uint8_t **p)
{
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t) (b & 0x7f) << s;
        if (!(b & 0x80))
            return v;
    }
}

static int64_t
rd_zz (const uint8_t **p)
{
    uint64_t v = rd_varint (p);
    return (int64_t) (v >> 1) ^ -(int64_t) (v & 1);
}

static void rd_skip (const uint8_t **p, int type);

/*  A struct; integer fields at depth 0 and 1 land in v [outer][id] (outer is 0 at depth 0). */
static void
rd_struct (const uint8_t **p, int64_t v [16][16], int depth, int outer)
{
    int last = 0;
    for (;;) {
        uint8_t h = *(*p)++;
        if (!h)
            return;
        int type = h & 0x0f, id = h >> 4 ? last + (h >> 4) : (int) rd_zz (p);
        last = id;
        if ((type == 5 || type == 6 || type == 4) && depth <= 1 && id < 16)
            v [outer][id] = rd_zz (p);
        else if (type == 12 && depth == 0 && id < 16)
            rd_struct (p, v, 1, id);
        else
            rd_skip (p, type);
    }
}

static void
rd_skip (const uint8_t **p, int type)
{
    if (type == 3)
        (*p)++;
    else if (type >= 4 && type <= 6)
        rd_zz (p);
    else if (type == 7)
        *p += 8;
    else if (type == 8)
        *p += rd_varint (p);
    else if (type == 9) {
        uint8_t h = *(*p)++;
        uint64_t n = h >> 4 == 15 ? rd_varint (p) : h >> 4;
        for (uint64_t i = 0; i < n; i++)
            rd_skip (p, (h & 0x0f) == 2 ? 3 : h & 0x0f);
    }
    else if (type == 12) {
        int64_t ignore [16][16];
        rd_struct (p, ignore, 2, 0);
    }
}

/*  The hybrid: n values of bw bits into out. */
static void
rd_hybrid (const uint8_t *p, int bw, uint32_t *out, size_t n)
{
    size_t k = 0;
    while (k < n) {
        uint64_t h = rd_varint (&p);
        if (h & 1) {
            size_t cnt = (size_t) (h >> 1) * 8;
            uint64_t acc = 0;
            int bits = 0;
            for (size_t i = 0; i < cnt; i++) {
                while (bits < bw) {
                    acc |= (uint64_t) *p++ << bits;
                    bits += 8;
                }
                uint32_t x = (uint32_t) (acc & ((1ULL << bw) - 1));
                acc >>= bw;
                bits -= bw;
                if (k < n)
                    out [k++] = x;
            }
        }
        else {
            uint32_t x = 0;
            for (int i = 0; i < (bw + 7) / 8; i++)
                x |= (uint32_t) *p++ << (8 * i);
            for (uint64_t i = 0; i < h >> 1 && k < n; i++)
                out [k++] = x;
        }
    }
}

typedef struct {
    int type, encoding;         /* PageType; the page's Encoding */
    size_t nvals;
    uint8_t *body;              /* uncompressed */
    size_t len;
} page_t;

static size_t
decompress (int codec, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    if (codec == TL_PQW_SNAPPY) {
        assert_int_equal (snappy_uncompress ((const char *) in, n, (char *) out, &cap), SNAPPY_OK);
        return cap;
    }
    if (codec == TL_PQW_ZSTD) {
        size_t r = ZSTD_decompress (out, cap, in, n);
        assert_false (ZSTD_isError (r));
        return r;
    }
    if (codec == TL_PQW_GZIP) {
        z_stream z = { 0 };
        assert_int_equal (inflateInit2 (&z, 15 + 16), Z_OK);
        z.next_in = (Bytef *) in;
        z.avail_in = (uInt) n;
        z.next_out = out;
        z.avail_out = (uInt) cap;
        assert_int_equal (inflate (&z, Z_FINISH), Z_STREAM_END);
        inflateEnd (&z);
        return cap - z.avail_out;
    }
    memcpy (out, in, n);
    return n;
}

/*  The pages of a one-column, one-row-group file, in order; returns how many. */
static size_t
pages (const uint8_t *f, size_t len, int codec, page_t *out, size_t max)
{
    assert_memory_equal (f, "PAR1", 4);
    assert_memory_equal (f + len - 4, "PAR1", 4);
    uint32_t flen = (uint32_t) f [len - 8] | (uint32_t) f [len - 7] << 8 | (uint32_t) f [len - 6] << 16 |
                    (uint32_t) f [len - 5] << 24;
    const uint8_t *p = f + 4, *end = f + len - 8 - flen;
    size_t n = 0;
    while (p < end) {
        assert_true (n < max);
        int64_t v [16][16] = { { 0 } };
        rd_struct (&p, v, 0, 0);
        page_t *pg = &out [n++];
        pg->type = (int) v [0][1];
        int sub = pg->type == 2 ? 7 : 5;
        pg->nvals = (size_t) v [sub][1];
        pg->encoding = (int) v [sub][2];
        pg->body = malloc ((size_t) v [0][2] + 1);
        pg->len = decompress (codec, p, (size_t) v [0][3], pg->body, (size_t) v [0][2]);
        assert_int_equal (pg->len, v [0][2]);
        p += v [0][3];
    }
    assert_true (p == end);
    return n;
}

static void
free_pages (page_t *pg, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (pg [i].body);
}

/* ---- helpers */

static uint64_t
rnd (uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint8_t *
finish (tl_pq_writer_t **w, size_t *len)
{
    uint8_t *buf = NULL;
    assert_int_equal (tl_pq_writer_finish (*w, &buf, len), 0);
    tl_pq_writer_destroy (w);
    assert_null (*w);
    return buf;
}

/*  A file of one INT32 column holding v, NULL where nul [i]. */
static uint8_t *
one_column (const tl_pq_wcol_t *col, const tl_pq_wopts_t *o, const int32_t *v, const bool *nul, size_t n,
            size_t *len)
{
    tl_pq_writer_t *w = tl_pq_writer_new (col, 1, o, NULL);
    assert_non_null (w);
    for (size_t i = 0; i < n; i++)
        assert_int_equal (nul [i] ? tl_pq_writer_add_null (w, 0) : tl_pq_writer_add_i32 (w, 0, v [i]), 0);
    return finish (&w, len);
}

/*  Decode every data page of a one-column INT32 file back to values and NULLs; check them. */
static void
check_decoded (page_t *pg, size_t np, const int32_t *v, const bool *nul, size_t n, bool optional)
{
    const uint8_t *dict = NULL;
    size_t ndict = 0, k = 0;
    uint32_t *lv = malloc ((n + 8) * sizeof *lv), *ids = malloc ((n + 8) * sizeof *ids);
    for (size_t i = 0; i < np; i++) {
        if (pg [i].type == 2) {
            dict = pg [i].body;
            ndict = pg [i].nvals;
            continue;
        }
        const uint8_t *p = pg [i].body;
        size_t m = pg [i].nvals, present = 0;
        if (optional) {
            uint32_t ll = (uint32_t) p [0] | (uint32_t) p [1] << 8 | (uint32_t) p [2] << 16 | (uint32_t) p [3] << 24;
            rd_hybrid (p + 4, 1, lv, m);
            p += 4 + ll;
        }
        for (size_t j = 0; j < m; j++) {
            bool here = !optional || lv [j];
            assert_int_equal (!here, nul [k + j]);
            present += here;
        }
        if (pg [i].encoding == 8 || pg [i].encoding == 2)
            rd_hybrid (p + 1, p [0], ids, present);
        for (size_t j = 0, q = 0; j < m; j++, k++) {
            if (nul [k])
                continue;
            int32_t x;
            if (pg [i].encoding == 0)
                memcpy (&x, p + 4 * q, 4);
            else {
                assert_true (ids [q] < ndict);
                memcpy (&x, dict + 4 * ids [q], 4);
            }
            q++;
            assert_int_equal (x, v [k]);
        }
    }
    assert_int_equal (k, n);
    free (lv);
    free (ids);
}

/* ---- tests */

/*  Levels and ids at every bit width from 0 to 17, in runs and in scattered values. */
static void
test_levels_and_ids (void **state)
{
    (void) state;
    static const size_t mods [] = { 1, 2, 3, 5, 17, 200, 70000 };
    size_t n = 150000;
    int32_t *v = malloc (n * sizeof *v);
    bool *nul = malloc (n);
    for (size_t m = 0; m < sizeof mods / sizeof *mods; m++) {
        uint64_t s = m + 1;
        for (size_t i = 0; i < n; i++) {
            bool run = (i / 100) % 3 == 0;     /* runs of one value, runs of NULLs, then noise */
            v [i] = run ? 7 % (int32_t) mods [m] : (int32_t) (rnd (&s) % mods [m]) - 3;
            nul [i] = (i / 50) % 7 == 1 || rnd (&s) % 9 == 0;
        }
        for (int enc = TL_PQW_PLAIN; enc <= TL_PQW_DICT; enc++) {
            tl_pq_wcol_t col = { .name = "x", .type = TL_PQW_INT32, .optional = true, .encoding = enc };
            tl_pq_wopts_t o = { .page_size = 4096 };
            size_t len;
            uint8_t *f = one_column (&col, &o, v, nul, n, &len);
            page_t pg [4096];
            size_t np = pages (f, len, TL_PQW_UNCOMPRESSED, pg, 4096);
            assert_true (np > 3);
            assert_int_equal (pg [0].type, enc == TL_PQW_DICT ? 2 : 0);
            check_decoded (pg, np, v, nul, n, true);
            free_pages (pg, np);
            free (f);
        }
    }
    free (v);
    free (nul);
}

/*  Past dict_max entries the chunk goes on in PLAIN; the legacy id is PLAIN_DICTIONARY. */
static void
test_fallback (void **state)
{
    (void) state;
    size_t n = 3000;
    int32_t v [3000];
    bool nul [3000] = { 0 };
    for (size_t i = 0; i < n; i++)
        v [i] = (int32_t) (i < 1000 ? i % 10 : i);
    for (int legacy = 0; legacy <= 1; legacy++) {
        tl_pq_wcol_t col = { .name = "x", .type = TL_PQW_INT32, .encoding = TL_PQW_DICT_FALLBACK, .legacy_dict = legacy };
        tl_pq_wopts_t o = { .page_size = 1000, .dict_max = 10 };
        size_t len;
        uint8_t *f = one_column (&col, &o, v, nul, n, &len);
        page_t pg [64];
        size_t np = pages (f, len, TL_PQW_UNCOMPRESSED, pg, 64);
        assert_int_equal (pg [0].type, 2);
        assert_int_equal (pg [0].nvals, 10);
        assert_int_equal (pg [0].encoding, legacy ? 2 : 0);
        assert_int_equal (pg [1].encoding, legacy ? 2 : 8);
        assert_int_equal (pg [np - 1].encoding, 0);
        check_decoded (pg, np, v, nul, n, false);
        free_pages (pg, np);
        free (f);
    }
}

/*  Every codec's pages decompress to the uncompressed file's pages, byte for byte, and are smaller. */
static void
test_codecs (void **state)
{
    (void) state;
    static const int codecs [] = { TL_PQW_SNAPPY, TL_PQW_GZIP, TL_PQW_ZSTD };
    size_t n = 20000;
    int32_t *v = malloc (n * sizeof *v);
    bool *nul = calloc (n, 1);
    for (size_t i = 0; i < n; i++)
        v [i] = (int32_t) (i % 100) * 7;
    for (int enc = TL_PQW_PLAIN; enc <= TL_PQW_DICT; enc++) {
        tl_pq_wcol_t col = { .name = "x", .type = TL_PQW_INT32, .encoding = enc };
        tl_pq_wopts_t o = { .page_size = 2000 };
        size_t len0;
        uint8_t *f0 = one_column (&col, &o, v, nul, n, &len0);
        page_t p0 [64];
        size_t n0 = pages (f0, len0, TL_PQW_UNCOMPRESSED, p0, 64);
        for (size_t c = 0; c < 3; c++) {
            o.codec = codecs [c];
            size_t len;
            uint8_t *f = one_column (&col, &o, v, nul, n, &len);
            page_t pg [64];
            assert_int_equal (pages (f, len, codecs [c], pg, 64), n0);
            for (size_t i = 0; i < n0; i++) {
                assert_int_equal (pg [i].len, p0 [i].len);
                assert_memory_equal (pg [i].body, p0 [i].body, p0 [i].len);
            }
            assert_true (len < len0);
            free_pages (pg, n0);
            free (f);
        }
        free_pages (p0, n0);
        free (f0);
    }
    free (v);
    free (nul);
}

/*  Same values, same bytes; the footer says how many rows. */
static void
test_deterministic (void **state)
{
    (void) state;
    tl_pq_wcol_t cols [] = {
        { .name = "s", .type = TL_PQW_BYTE_ARRAY, .logical = TL_PQW_STRING, .optional = true, .encoding = TL_PQW_DICT },
        { .name = "t", .type = TL_PQW_INT64, .logical = TL_PQW_TIMESTAMP_US },
    };
    uint8_t *f [2];
    size_t len [2];
    for (int k = 0; k < 2; k++) {
        tl_pq_writer_t *w = tl_pq_writer_new (cols, 2, NULL, NULL);
        for (int i = 0; i < 1000; i++) {
            assert_int_equal (i % 3 ? tl_pq_writer_add_bytes (w, 0, "abc", (size_t) (i % 4)) : tl_pq_writer_add_null (w, 0),
                              0);
            assert_int_equal (tl_pq_writer_add_i64 (w, 1, 1546300800000000LL + i), 0);
            if (i % 300 == 299)
                assert_int_equal (tl_pq_writer_end_row_group (w), 0);
        }
        assert_int_equal (tl_pq_writer_pending_rows (w), 100);
        f [k] = finish (&w, &len [k]);
    }
    assert_int_equal (len [0], len [1]);
    assert_memory_equal (f [0], f [1], len [0]);
    uint32_t flen = (uint32_t) f [0][len [0] - 8] | (uint32_t) f [0][len [0] - 7] << 8;
    const uint8_t *p = f [0] + len [0] - 8 - flen;
    int64_t v [16][16] = { { 0 } };
    rd_struct (&p, v, 0, 0);
    assert_int_equal (v [0][1], 1);             /* version */
    assert_int_equal (v [0][3], 1000);          /* num_rows */
    assert_true (p == f [0] + len [0] - 8);
    free (f [0]);
    free (f [1]);
}

static void
test_errors (void **state)
{
    (void) state;
    tl_err_t e = { 0 };
    tl_pq_wcol_t bad = { .name = "x", .type = TL_PQW_INT32, .logical = TL_PQW_STRING };
    assert_null (tl_pq_writer_new (&bad, 1, NULL, &e));
    assert_int_equal (e.code, TL_EINVAL);
    assert_non_null (strstr (e.msg, "'x'"));
    tl_pq_wcol_t ok [] = { { .name = "a", .type = TL_PQW_INT64 }, { .name = "b", .type = TL_PQW_DOUBLE, .optional = true } };
    tl_pq_wopts_t o = { .codec = 3 };           /* LZO: not written */
    assert_null (tl_pq_writer_new (ok, 2, &o, &e));
    assert_null (tl_pq_writer_new (ok, 0, NULL, &e));

    tl_pq_writer_t *w = tl_pq_writer_new (ok, 2, NULL, NULL);
    assert_int_equal (tl_pq_writer_add_i32 (w, 0, 1), TL_EINVAL);        /* wrong type, and sticky */
    assert_non_null (strstr (tl_pq_writer_err (w)->msg, "wrong type"));
    assert_int_equal (tl_pq_writer_add_i64 (w, 0, 1), TL_EINVAL);
    tl_pq_writer_destroy (&w);

    w = tl_pq_writer_new (ok, 2, NULL, NULL);
    assert_int_equal (tl_pq_writer_add_null (w, 0), TL_EINVAL);          /* REQUIRED */
    tl_pq_writer_destroy (&w);

    w = tl_pq_writer_new (ok, 2, NULL, NULL);
    assert_int_equal (tl_pq_writer_add_i64 (w, 0, 1), 0);
    assert_int_equal (tl_pq_writer_add_null (w, 1), 0);
    assert_int_equal (tl_pq_writer_add_i64 (w, 0, 2), 0);
    assert_int_equal (tl_pq_writer_end_row_group (w), TL_EINVAL);        /* 2 values against 1 */
    assert_non_null (strstr (tl_pq_writer_err (w)->msg, "'b'"));
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal (tl_pq_writer_finish (w, &buf, &len), TL_EINVAL);
    assert_null (buf);
    tl_pq_writer_destroy (&w);
    tl_pq_writer_destroy (&w);                  /* NULL is fine */

    w = tl_pq_writer_new (ok, 2, NULL, NULL);
    buf = finish (&w, &len);                    /* no rows: a valid empty file */
    assert_int_equal (len, 4 + 4 + 4 + (size_t) buf [len - 8]);
    free (buf);
}

/* ---- the matrix for DuckDB */

#define NCOLS 12
static const tl_pq_wcol_t s_cols [NCOLS] = {
    { .name = "i32_r", .type = TL_PQW_INT32 },
    { .name = "i32_o", .type = TL_PQW_INT32, .optional = true },
    { .name = "i64_r", .type = TL_PQW_INT64 },
    { .name = "i64_o", .type = TL_PQW_INT64, .optional = true },
    { .name = "f64_r", .type = TL_PQW_DOUBLE },
    { .name = "f64_o", .type = TL_PQW_DOUBLE, .optional = true },
    { .name = "str_r", .type = TL_PQW_BYTE_ARRAY, .logical = TL_PQW_STRING },
    { .name = "str_o", .type = TL_PQW_BYTE_ARRAY, .logical = TL_PQW_STRING, .optional = true },
    { .name = "ts_r", .type = TL_PQW_INT64, .logical = TL_PQW_TIMESTAMP_US },
    { .name = "ts_o", .type = TL_PQW_INT64, .logical = TL_PQW_TIMESTAMP_US, .optional = true },
    { .name = "k_r", .type = TL_PQW_DOUBLE },                       /* one value: id width 0 */
    { .name = "nul_o", .type = TL_PQW_INT32, .optional = true },    /* NULL throughout */
};

typedef struct {
    char key [128];
    long long count;
} hist_t;

typedef struct {
    hist_t *h;                  /* in first-seen order; grows by doubling */
    size_t n, cap;
    size_t *slot, nslot;        /* open addressing over h: index + 1, 0 when empty */
    long long nulls;
    __int128 sum;               /* of values; of lengths for strings */
    long long rg_distinct [8];
} colx_t;

static size_t
hist_hash (const char *key)
{
    size_t h = 1469598103934665603ull;
    for (; *key; key++)
        h = (h ^ (unsigned char) *key) * 1099511628211ull;
    return h;
}

/*  Counts key (a hash over h, so that a column of thousands of distinct values is not a
    quadratic scan: under ASan that scan was most of test_parquet_gen's time). */
static void
hist_add (colx_t *x, const char *key)
{
    if ((x->n + 1) * 2 > x->nslot) {
        x->nslot = x->nslot ? x->nslot * 2 : 128;
        free (x->slot);
        x->slot = calloc (x->nslot, sizeof *x->slot);
        assert_non_null (x->slot);
        for (size_t i = 0; i < x->n; i++) {
            size_t j = hist_hash (x->h [i].key) & (x->nslot - 1);
            while (x->slot [j])
                j = (j + 1) & (x->nslot - 1);
            x->slot [j] = i + 1;
        }
    }
    size_t j = hist_hash (key) & (x->nslot - 1);
    for (; x->slot [j]; j = (j + 1) & (x->nslot - 1))
        if (!strcmp (x->h [x->slot [j] - 1].key, key)) {
            x->h [x->slot [j] - 1].count++;
            return;
        }
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->h = realloc (x->h, x->cap * sizeof *x->h);
        assert_non_null (x->h);
    }
    snprintf (x->h [x->n].key, sizeof x->h [x->n].key, "%s", key);
    x->h [x->n].count = 1;
    x->slot [j] = ++x->n;
}

static void
print_i128 (FILE *f, __int128 v)
{
    char b [64];
    int n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128) v : (unsigned __int128) v;
    do
        b [n++] = (char) ('0' + (int) (u % 10));
    while ((u /= 10));
    fprintf (f, "\"%s", neg ? "-" : "");
    while (n)
        fputc (b [--n], f);
    fputc ('"', f);
}

/*  The value of column c in row r, as key text; false for NULL. */
static bool
value (int c, size_t r, uint64_t *s, tl_pq_writer_t *w, colx_t *x, char *key, size_t cap)
{
    bool opt = s_cols [c].optional, null = opt && ((r / 37) % 5 == 0 || rnd (s) % 10 == 0);
    if (c == 11 || null) {
        x->nulls++;
        assert_int_equal (tl_pq_writer_add_null (w, (size_t) c), 0);
        return false;
    }
    uint64_t u = rnd (s);
    if (c <= 1) {
        int32_t v = r % 997 == 5 ? (c ? INT32_MIN : INT32_MAX) : (int32_t) (u % 300) - 150;
        assert_int_equal (tl_pq_writer_add_i32 (w, (size_t) c, v), 0);
        x->sum += v;
        snprintf (key, cap, "%d", v);
    }
    else if (c <= 3) {
        int64_t v = r % 1009 == 7 ? (c == 3 ? INT64_MIN : INT64_MAX) : ((int64_t) (u % 2000) - 1000) * 1000000007LL;
        assert_int_equal (tl_pq_writer_add_i64 (w, (size_t) c, v), 0);
        x->sum += v;
        snprintf (key, cap, "%lld", (long long) v);
    }
    else if (c <= 5 || c == 10) {
        double v = c == 10 ? 0.5 : (double) ((int64_t) (u % (c == 4 ? 40 : 4000)) - 2000) * 0.25;
        assert_int_equal (tl_pq_writer_add_f64 (w, (size_t) c, v), 0);
        x->sum += (__int128) (v * 100);         /* cents, exact for quarters */
        snprintf (key, cap, "%.15g", v);
    }
    else if (c <= 7) {
        static const char *odd [] = { "", "žluťoučký kůň", "a string long enough to need more than a handful of bytes, "
                                                           "which is the point of it" };
        int k = (int) (u % 600);
        if (k < 3)
            snprintf (key, cap, "%s", odd [k]);
        else
            snprintf (key, cap, "v%d", k);
        assert_int_equal (tl_pq_writer_add_bytes (w, (size_t) c, key, strlen (key)), 0);
        x->sum += (__int128) strlen (key);
    }
    else {
        int64_t v = 1546300800000000LL + (int64_t) (u % (86400LL * 365)) * 1000000 + (int64_t) (u % 1000000);
        assert_int_equal (tl_pq_writer_add_i64 (w, (size_t) c, v), 0);
        x->sum += v;
        snprintf (key, cap, "%lld", (long long) v);
    }
    return true;
}

static int
key_cmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

/*  Counts distinct keys of the current row group (for the fallback expectation): sorts them. */
static long long
count_distinct (char (*keys) [128], size_t n)
{
    qsort (keys, n, sizeof *keys, key_cmp);
    long long d = 0;
    for (size_t i = 0; i < n; i++)
        d += i == 0 || strcmp (keys [i], keys [i - 1]) != 0;
    return d;
}

static void
write_json_col (FILE *j, int c, const colx_t *x, int nrg)
{
    fprintf (j, "{\"name\":\"%s\",\"nulls\":%lld,\"sum\":", s_cols [c].name, x->nulls);
    print_i128 (j, x->sum);
    fputs (",\"rg_distinct\":[", j);
    for (int g = 0; g < nrg; g++)
        fprintf (j, "%s%lld", g ? "," : "", x->rg_distinct [g]);
    fputs ("],\"hist\":{", j);
    for (size_t i = 0; i < x->n; i++)
        fprintf (j, "%s\"%s\":%lld", i ? "," : "", x->h [i].key, x->h [i].count);
    fputs ("}}", j);
}

static int
write_file (const char *dir, FILE *j, int codec, int mode, size_t rows, size_t rg_rows, bool first)
{
    static const char *modes [] = { "plain", "dict", "legacy", "fallback", "fallback_legacy" };
    static const char *codecs [] = { "UNCOMPRESSED", "SNAPPY", "GZIP", "", "", "", "ZSTD" };
    tl_pq_wcol_t cols [NCOLS];
    for (int c = 0; c < NCOLS; c++) {
        cols [c] = s_cols [c];
        cols [c].encoding = mode == 0 ? TL_PQW_PLAIN : mode <= 2 ? TL_PQW_DICT : TL_PQW_DICT_FALLBACK;
        cols [c].legacy_dict = mode == 2 || mode == 4;
    }
    tl_pq_wopts_t o = { .codec = codec, .page_size = 1024, .dict_max = 64 };
    tl_pq_writer_t *w = tl_pq_writer_new (cols, NCOLS, &o, NULL);
    colx_t x [NCOLS] = { { 0 } };
    char (*keys) [NCOLS][128] = calloc (rg_rows, sizeof *keys);
    bool (*present) [NCOLS] = calloc (rg_rows, sizeof *present);
    uint64_t s = (uint64_t) codec * 31 + (uint64_t) mode;
    int nrg = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t i = r % rg_rows;
        for (int c = 0; c < NCOLS; c++) {
            present [i][c] = value (c, r, &s, w, &x [c], keys [i][c], 128);
            if (present [i][c])
                hist_add (&x [c], keys [i][c]);
        }
        if (i == rg_rows - 1 || r == rows - 1) {
            for (int c = 0; c < NCOLS; c++) {
                char (*k) [128] = calloc (i + 1, 128);
                size_t m = 0;
                for (size_t q = 0; q <= i; q++)
                    if (present [q][c])
                        memcpy (k [m++], keys [q][c], 128);
                x [c].rg_distinct [nrg] = count_distinct (k, m);
                free (k);
            }
            nrg++;
            if (tl_pq_writer_end_row_group (w))
                return -1;
        }
    }
    size_t len;
    uint8_t *buf = finish (&w, &len);
    char path [4096];
    snprintf (path, sizeof path, "%s/%s_%s_%zu.parquet", dir, codecs [codec], modes [mode], rows);
    FILE *f = fopen (path, "wb");
    if (!f || fwrite (buf, 1, len, f) != len || fclose (f))
        return -1;
    fprintf (j, "%s{\"path\":\"%s\",\"codec\":\"%s\",\"mode\":\"%s\",\"rows\":%zu,\"row_groups\":%d,\"dict_max\":64,"
             "\"columns\":[", first ? "" : ",\n", path, codecs [codec], modes [mode], rows, nrg);
    for (int c = 0; c < NCOLS; c++) {
        fputs (c ? "," : "", j);
        write_json_col (j, c, &x [c], nrg);
        free (x [c].h);
        free (x [c].slot);
    }
    fputs ("]}", j);
    free (buf);
    free (keys);
    free (present);
    return 0;
}

static int
write_matrix (const char *dir)
{
    static const int codecs [] = { TL_PQW_UNCOMPRESSED, TL_PQW_SNAPPY, TL_PQW_GZIP, TL_PQW_ZSTD };
    char path [4096];
    snprintf (path, sizeof path, "%s/expect.json", dir);
    FILE *j = fopen (path, "w");
    if (!j)
        return 1;
    fputs ("{\"files\":[\n", j);
    bool first = true;
    for (int c = 0; c < 4; c++)
        for (int m = 0; m < 5; m++) {
            size_t rows = 4000 + (size_t) (c * 5 + m) * 37;
            if (write_file (dir, j, codecs [c], m, rows, 1500, first))
                return 1;
            first = false;
        }
    if (write_file (dir, j, TL_PQW_SNAPPY, 1, 1, 1500, false) || write_file (dir, j, TL_PQW_ZSTD, 3, 0, 1500, false))
        return 1;
    fputs ("\n]}\n", j);
    return fclose (j) ? 1 : 0;
}

int
main (int argc, char **argv)
{
    if (argc == 3 && !strcmp (argv [1], "--write-matrix"))
        return write_matrix (argv [2]);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_levels_and_ids), cmocka_unit_test (test_fallback), cmocka_unit_test (test_codecs),
        cmocka_unit_test (test_deterministic), cmocka_unit_test (test_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
