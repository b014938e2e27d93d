/*  pq_dump — count a Parquet column's values with tally's own reader (lib/core/parquet).

    usage: pq_dump [--mode runs|indices|values] [--sum COLUMN | --self-sum] [--quiet] [--out DIR]
                   FILE COLUMN [COLUMN...]
    Prints "# rows=N" (rows read), with --sum "# sum=S n=N bad=B" over the rows of the other
    column read row-aligned with the first, then "value<TAB>count" for every distinct value in
    canonical text (NULL is the empty string), sorted by value bytes. In values a backslash,
    tab, newline and carriage return are escaped as \\ \t \n \r, and a leading '#' as \#.
    --quiet prints only the header lines (for timing). --self-sum sums each column read
    row-aligned with a second reader of itself. Several columns need --out: the i-th column's
    output goes to DIR/i.txt (from 1), each column read as if on its own, so that a cross-check
    starts one process per file rather than one per column (ASan start-up is not free).

    It counts the way a mapper should: dictionary-encoded pages per dictionary index (an RLE
    run adds its whole length at once), and the index counts are turned into text once per
    dictionary; plain pages by raw value bytes, turned into text once per distinct value.
    A test tool: it may read files. */
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/value.h"
#include <fcntl.h>
#include <sanitizer/asan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* a small bytes → count hash table; the keys live in the map's arena (one malloc per 1 MiB,
   not one per key: under ASan every malloc and free records a stack, which was a sixth of a
   cross-check's time), and each entry keeps its hash (no rehash on growth, and a probe compares
   bytes only when the hashes agree) */
typedef struct {
    char *key;
    uint32_t len;
    uint64_t count, hash;
} s_ent_t;

typedef struct s_blk_s {
    struct s_blk_s *next;
    size_t used, size;
    _Alignas (16) char data [];     /* 16-aligned, as malloc's blocks are */
} s_blk_t;

typedef struct {
    s_ent_t *t;
    size_t cap, n;
    s_blk_t *blk;
} s_map_t;

static uint64_t
s_hash (const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b [i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* a copy of key [0, len) with a 0 after it, from the map's arena: 16-aligned as malloc's would
   be (raw keys go back to the reader as values, which loads an int64_t from them), and followed
   by a poisoned redzone of at least 16 bytes, so that under ASan a read past a key's end is
   still caught as it was with a malloc per key */
static char *
s_map_copy (s_map_t *m, const void *key, size_t len)
{
    size_t need = ((len + 1 + 15) & ~(size_t) 15) + 16;
    if (!m->blk || m->blk->size - m->blk->used < need) {
        size_t size = need > (1u << 20) ? need : (1u << 20);
        s_blk_t *b = malloc (sizeof *b + size);
        if (!b) { perror ("malloc"); exit (2); }
        b->next = m->blk, b->used = 0, b->size = size;
        m->blk = b;
    }
    char *k = m->blk->data + m->blk->used;
    m->blk->used += need;
    memcpy (k, key, len);
    k [len] = 0;
    ASAN_POISON_MEMORY_REGION (k + len + 1, need - (len + 1));
    return k;
}

static void
s_map_add (s_map_t *m, const void *key, size_t len, uint64_t count)
{
    if ((m->n + 1) * 2 > m->cap) {
        s_map_t g = { calloc (m->cap ? m->cap * 2 : 1024, sizeof (s_ent_t)), m->cap ? m->cap * 2 : 1024, 0, m->blk };
        if (!g.t) { perror ("calloc"); exit (2); }
        for (size_t i = 0; i < m->cap; i++)
            if (m->t [i].key) {
                size_t j = m->t [i].hash & (g.cap - 1);
                while (g.t [j].key) j = (j + 1) & (g.cap - 1);
                g.t [j] = m->t [i];
                g.n++;
            }
        free (m->t);
        *m = g;
    }
    uint64_t h = s_hash (key, len);
    size_t j = h & (m->cap - 1);
    while (m->t [j].key) {
        if (m->t [j].hash == h && m->t [j].len == len && !memcmp (m->t [j].key, key, len)) {
            m->t [j].count += count;
            return;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->t [j].key = s_map_copy (m, key, len);
    m->t [j].len = (uint32_t) len;
    m->t [j].count = count;
    m->t [j].hash = h;
    m->n++;
}

/* empties the map */
static void
s_map_clear (s_map_t *m)
{
    while (m->blk) {
        s_blk_t *b = m->blk;
        m->blk = b->next;
        ASAN_UNPOISON_MEMORY_REGION (b->data, b->size);
        free (b);
    }
    free (m->t);
    memset (m, 0, sizeof *m);
}

static int
s_cmp (const void *a, const void *b)
{
    const s_ent_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp (x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static s_map_t texts, raws;
static uint64_t *dcount;
static size_t dcount_n;
static uint64_t nulls;

/* dictionary counts → text counts */
static void
s_flush_dict (const tl_pq_column_t *col, const tl_pq_values_t *dict)
{
    char buf [TL_PQ_TEXT_MAX];
    for (size_t i = 0; i < dcount_n && dict; i++)
        if (dcount [i]) {
            const char *t;
            size_t n = tl_pq_value_text (col, dict, i, buf, &t);
            s_map_add (&texts, t, n, dcount [i]);
            dcount [i] = 0;
        }
}

static void
s_raw_key (const tl_pq_values_t *v, size_t i, const void **p, size_t *n)
{
    if (v->type == TL_PQ_BYTE_ARRAY) {
        *p = v->ba [i].p;
        *n = v->ba [i].len;
    } else {
        const uint8_t *base = v->fixed ? v->fixed : v->i32 ? (const void *) v->i32 : v->i64 ? (const void *) v->i64
                              : v->f32 ? (const void *) v->f32 : (const void *) v->f64;
        *p = base + i * v->width;
        *n = v->width;
    }
}

static void
s_flush_raw (const tl_pq_column_t *col)
{
    char buf [TL_PQ_TEXT_MAX];
    for (size_t i = 0; i < raws.cap; i++)
        if (raws.t [i].key) {
            tl_pq_values_t v;
            tl_pq_bytes_t ba = { (const uint8_t *) raws.t [i].key, raws.t [i].len };
            if (col->type == TL_PQ_BYTE_ARRAY)
                tl_pq_values_set (&v, col->type, 0, &ba, 1);
            else
                tl_pq_values_set (&v, col->type, raws.t [i].len, raws.t [i].key, 1);
            const char *t;
            size_t n = tl_pq_value_text (col, &v, 0, buf, &t);
            s_map_add (&texts, t, n, raws.t [i].count);
        }
}

static void
s_count (const tl_pq_column_t *col, const tl_pq_batch_t *b, uint64_t *gen, const tl_pq_values_t **last_dict)
{
    if (b->kind != TL_PQ_BATCH_VALUES && b->dict_gen != *gen) {
        s_flush_dict (col, *last_dict);
        *gen = b->dict_gen;
        *last_dict = b->dict;
        free (dcount);
        dcount_n = b->dict->n;
        dcount = calloc (dcount_n + 1, sizeof *dcount);
    }
    if (b->kind == TL_PQ_BATCH_RUNS) {
        const uint32_t *lit = b->idx;
        uint64_t *c = dcount;
        for (size_t r = 0; r < b->nruns; r++) {
            uint32_t ix = b->runs [r].index, len = b->runs [r].len;
            if (ix == TL_PQ_NULL_INDEX)
                nulls += len;
            else if (ix == TL_PQ_LIT_INDEX) {
                for (uint32_t j = 0; j < len; j++) {
                    uint32_t x = lit [j];
                    if (x == TL_PQ_NULL_INDEX) nulls++;
                    else c [x]++;
                }
                lit += len;
            } else
                c [ix] += len;
        }
    } else if (b->kind == TL_PQ_BATCH_INDICES) {
        for (size_t i = 0; i < b->rows; i++) {
            if (b->idx [i] == TL_PQ_NULL_INDEX) nulls++;
            else dcount [b->idx [i]]++;
        }
    } else {
        for (size_t i = 0; i < b->rows; i++) {
            if (b->valid && !b->valid [i]) {
                nulls++;
                continue;
            }
            const void *p;
            size_t n;
            s_raw_key (&b->vals, i, &p, &n);
            s_map_add (&raws, p, n, 1);
        }
    }
}

static void
s_print_escaped (FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s [i];
        if (c == '\\') fputs ("\\\\", out);
        else if (c == '\t') fputs ("\\t", out);
        else if (c == '\n') fputs ("\\n", out);
        else if (c == '\r') fputs ("\\r", out);
        else if (c == '#' && i == 0) fputs ("\\#", out);
        else putc (c, out);
    }
}

static void
s_die (const char *what, const tl_err_t *e)
{
    fprintf (stderr, "pq_dump: %s: %s\n", what, e->msg);
    exit (1);
}

/*  Reads column ci of every row group (with column si row-aligned when si >= 0) and prints
    to out. The tables are empty again on return. */
static void
s_dump (const char *path, const uint8_t *file, size_t size, const tl_pq_meta_t *m, int ci, int si, int mode,
        int quiet, FILE *out)
{
    tl_err_t e = { 0 };
    const tl_pq_column_t *col = &m->cols [ci], *scol = si >= 0 ? &m->cols [si] : NULL;
    uint64_t rows = 0, sum_n = 0, sum_bad = 0;
    double sum = 0;
    nulls = 0;
    tl_pq_col_t *rd = NULL;     /* one reader for the key column, reset for each row group */
    for (size_t r = 0; r < m->nrgs; r++) {
        uint64_t off, len;
        tl_pq_col_t *sr = NULL;
        tl_pq_col_opts_t o = { .mode = mode }, so = { .mode = TL_PQ_VALUES };
        if (tl_pq_chunk_range (&m->rgs [r].chunks [ci], size, &off, &len, &e)
            || (rd ? tl_pq_col_reset (rd, &m->rgs [r].chunks [ci], (int) r, file + off, (size_t) len, &e)
                   : tl_pq_col_new (&rd, col, &m->rgs [r].chunks [ci], (int) r, file + off, (size_t) len, &o, &e)))
            s_die (path, &e);
        if (scol && (tl_pq_chunk_range (&m->rgs [r].chunks [si], size, &off, &len, &e)
                     || tl_pq_col_new (&sr, scol, &m->rgs [r].chunks [si], (int) r, file + off, (size_t) len, &so, &e)))
            s_die (path, &e);
        uint64_t gen = 0;
        const tl_pq_values_t *last_dict = NULL;
        for (;;) {
            size_t k = 65536, ka = 0, kb = 0;
            tl_pq_batch_t b, sb;
            if (sr) {   /* row-aligned: the smaller of the two pages' remainders */
                if (tl_pq_col_ready (rd, &ka, &e) || tl_pq_col_ready (sr, &kb, &e))
                    s_die (path, &e);
                k = ka < kb ? ka : kb;
                if (k > 65536) k = 65536;
                if (k == 0 && ka != kb) {
                    fprintf (stderr, "pq_dump: row group %zu: columns end at different rows\n", r);
                    exit (1);
                }
                if (k == 0)
                    break;
            }
            if (tl_pq_col_next (rd, k, &b, &e))
                s_die (path, &e);
            if (b.rows == 0)
                break;
            if (sr) {
                if (tl_pq_col_next (sr, k, &sb, &e))
                    s_die (path, &e);
                if (sb.rows != b.rows) {
                    fprintf (stderr, "pq_dump: row alignment broken (%zu vs %zu)\n", b.rows, sb.rows);
                    exit (1);
                }
                for (size_t i = 0; i < sb.rows; i++) {
                    double d;
                    if (sb.valid && !sb.valid [i])
                        continue;
                    if (tl_pq_value_double (scol, &sb.vals, i, &d)) sum_bad++;
                    else sum += d, sum_n++;
                }
            }
            rows += b.rows;
            s_count (col, &b, &gen, &last_dict);
        }
        s_flush_dict (col, last_dict);
        free (dcount);
        dcount = NULL;
        dcount_n = 0;
        s_flush_raw (col);      /* raw keys point into this chunk's pages: text them now */
        s_map_clear (&raws);
        tl_pq_col_destroy (&sr);
    }
    tl_pq_col_destroy (&rd);
    if (nulls)
        s_map_add (&texts, "", 0, nulls);
    fprintf (out, "# rows=%llu meta_rows=%lld\n", (unsigned long long) rows, (long long) m->num_rows);
    if (scol)
        fprintf (out, "# sum=%.17g n=%llu bad=%llu\n", sum, (unsigned long long) sum_n, (unsigned long long) sum_bad);
    if (!quiet) {
        s_ent_t *v = malloc ((texts.n + 1) * sizeof *v);
        size_t n = 0;
        for (size_t i = 0; i < texts.cap; i++)
            if (texts.t [i].key)
                v [n++] = texts.t [i];
        qsort (v, n, sizeof *v, s_cmp);
        for (size_t i = 0; i < n; i++) {
            s_print_escaped (out, v [i].key, v [i].len);
            fprintf (out, "\t%llu\n", (unsigned long long) v [i].count);
        }
        free (v);
    } else
        fprintf (out, "# distinct=%zu\n", texts.n);
    s_map_clear (&texts);
}

int
main (int argc, char **argv)
{
    int mode = TL_PQ_RUNS, quiet = 0, self_sum = 0;
    const char *sum_col = NULL, *out_dir = NULL;
    int a = 1;
    for (; a < argc && argv [a][0] == '-'; a++) {
        if (!strcmp (argv [a], "--mode") && a + 1 < argc) {
            a++;
            mode = !strcmp (argv [a], "values") ? TL_PQ_VALUES : !strcmp (argv [a], "indices") ? TL_PQ_INDICES : TL_PQ_RUNS;
        } else if (!strcmp (argv [a], "--sum") && a + 1 < argc)
            sum_col = argv [++a];
        else if (!strcmp (argv [a], "--self-sum"))
            self_sum = 1;
        else if (!strcmp (argv [a], "--out") && a + 1 < argc)
            out_dir = argv [++a];
        else if (!strcmp (argv [a], "--quiet"))
            quiet = 1;
        else
            break;
    }
    if (argc - a < 2 || (argc - a > 2 && !out_dir) || (sum_col && self_sum)) {
        fprintf (stderr, "usage: pq_dump [--mode runs|indices|values] [--sum COLUMN | --self-sum] [--quiet] [--out DIR] "
                         "FILE COLUMN [COLUMN...]\n");
        return 2;
    }
    const char *path = argv [a];
    int fd = open (path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) < 0) {
        perror (path);
        return 1;
    }
    size_t size = (size_t) st.st_size;
    const uint8_t *file = size ? mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (size && file == MAP_FAILED) {
        perror ("mmap");
        return 1;
    }
    tl_err_t e = { 0 };
    uint32_t mlen;
    tl_pq_meta_t *m;
    if (tl_pq_footer_len (file, size, &mlen, &e))
        s_die (path, &e);
    if ((uint64_t) mlen + 12 > size) {
        fprintf (stderr, "pq_dump: %s: footer length %u past the start of the file\n", path, mlen);
        return 1;
    }
    if (tl_pq_meta_parse (file + size - 8 - mlen, mlen, &m, &e))
        s_die (path, &e);
    int si = sum_col ? tl_pq_meta_find (m, sum_col) : -1;
    if (sum_col && si < 0) {
        fprintf (stderr, "pq_dump: %s: no column '%s'\n", path, sum_col);
        return 1;
    }
    for (int c = a + 1; c < argc; c++) {
        int ci = tl_pq_meta_find (m, argv [c]);
        if (ci < 0) {
            fprintf (stderr, "pq_dump: %s: no column '%s'\n", path, argv [c]);
            return 1;
        }
        FILE *out = stdout;
        char name [4096];
        if (out_dir) {
            snprintf (name, sizeof name, "%s/%d.txt", out_dir, c - a);
            if (!(out = fopen (name, "w"))) {
                perror (name);
                return 1;
            }
        }
        s_dump (path, file, size, m, ci, self_sum ? ci : si, mode, quiet, out);
        if (out_dir && fclose (out)) {
            perror (name);
            return 1;
        }
    }
    tl_pq_meta_destroy (&m);
    if (size)
        munmap ((void *) file, size);
    close (fd);
    return 0;
}
