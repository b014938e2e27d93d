/*  column.c — the column-chunk reader (see column.h).

    A page is loaded when the previous one is used up: its header read from the source (a
    probe, longer only when the header is cut short by it) and checked against the chunk's
    length and the page cap, then its body read, its CRC checked, the body decompressed into a
    reused buffer (or read in place when stored uncompressed), its definition levels and values
    set up as streams. Everything a page's batches use points into that body or into the
    reader's buffers, and the source is read again only when the next page loads, after the
    page is used up; the one thing that outlives a page, the dictionary, is decoded from the
    reader's own buffer (copied there when stored uncompressed and the source is not stable). A
    batch then takes k rows from the current page: definition levels first (one RLE run that
    covers the batch is the common case and costs nothing per row), then the values or
    dictionary indices of the non-null rows, then, only when nulls and values interleave, a
    scatter to row positions. Dictionary indices are range-checked once per RLE run and once
    per literal stretch, so a bad index is an error, never a read outside the dictionary. */
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/page.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct tl_pq_col {
    const tl_pq_column_t *col;
    tl_pq_chunk_t chunk;
    int rg;
    tl_pq_src_t src;
    uint64_t pos;                   /* the next page's offset in the chunk */
    int page_no, next_page;
    tl_pq_col_opts_t opts;
    uint64_t rows_read, values_paged;
    uint8_t *pbuf, *dbuf;           /* decompressed data page, dictionary page */
    size_t pbuf_cap, dbuf_cap;
    void *dvals;                    /* decoded dictionary */
    tl_pq_values_t dict;
    bool has_dict;
    uint64_t dict_gen;
    bool in_page, page_dict;
    uint64_t page_left;
    tl_pq_rle_t def, idx;
    tl_pq_dec_t dec;
    uint32_t vsize;                 /* bytes per decoded value */
    size_t scap;                    /* scratch rows */
    uint8_t *valid, *vals, *tmp;
    uint32_t *lv, *lit;
    tl_pq_run_t *runs;
    tl_pq_buf_t arena;
    void *zctx;                     /* codec context kept across pages */
};

static int
s_err (tl_pq_col_t *self, tl_err_t *e, int code, const char *fmt, ...)
{
    char msg [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    return tl_err_set (e, code, 0, "row group %d, column '%s', page %d: %s", self->rg, self->col->name,
                       self->page_no, msg);
}

static int
s_mem_read (void *arg, uint64_t off, size_t len, const uint8_t **p, tl_err_t *e)
{
    (void) len;
    (void) e;       /* the reader asks only inside the chunk's length */
    *p = (const uint8_t *) arg + off;
    return 0;
}

tl_pq_src_t
tl_pq_src_mem (const uint8_t *bytes, size_t len)
{
    return (tl_pq_src_t) { .read = s_mem_read, .arg = (void *) (uintptr_t) bytes, .len = len, .stable = true };
}

int
tl_pq_col_new (tl_pq_col_t **out, const tl_pq_column_t *col, const tl_pq_chunk_t *chunk, int rg,
               const uint8_t *bytes, size_t len, const tl_pq_col_opts_t *opts, tl_err_t *e)
{
    tl_pq_src_t src = tl_pq_src_mem (bytes, len);
    return tl_pq_col_new_src (out, col, chunk, rg, &src, opts, e);
}

int
tl_pq_col_new_src (tl_pq_col_t **out, const tl_pq_column_t *col, const tl_pq_chunk_t *chunk, int rg,
                   const tl_pq_src_t *src, const tl_pq_col_opts_t *opts, tl_err_t *e)
{
    *out = NULL;
    if (col->max_rep > 0)
        return tl_err_set (e, TL_EINVAL, 0, "column '%s' is nested in a list or map: grouping by a nested column is not supported", col->name);
    int c = chunk->codec;
    if (c < 0 || c > TL_PQ_LZ4_RAW || c == TL_PQ_LZO)
        return tl_err_set (e, TL_EINVAL, 0, "row group %d, column '%s': codec %s (%d) is not supported", rg,
                           col->name, tl_pq_codec_name (c), c);
    tl_pq_col_t *self = calloc (1, sizeof *self);
    if (!self)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    self->col = col;
    self->chunk = *chunk;
    self->rg = rg;
    self->src = *src;
    self->pos = 0;
    if (opts)
        self->opts = *opts;
    if (!self->opts.max_page)
        self->opts.max_page = TL_PQ_DEFAULT_MAX_PAGE;
    self->vsize = tl_pq_value_size (col->type, (uint32_t) col->type_length);
    *out = self;
    return 0;
}

void
tl_pq_col_destroy (tl_pq_col_t **self_p)
{
    tl_pq_col_t *self = *self_p;
    if (!self)
        return;
    tl_pq_dec_free (&self->dec);
    tl_pq_decompress_end (&self->zctx);
    free (self->pbuf);
    free (self->dbuf);
    free (self->dvals);
    free (self->valid);
    free (self->vals);
    free (self->tmp);
    free (self->lv);
    free (self->lit);
    free (self->runs);
    free (self->arena.p);
    free (self);
    *self_p = NULL;
}

int
tl_pq_col_reset (tl_pq_col_t *self, const tl_pq_chunk_t *chunk, int rg, const uint8_t *bytes, size_t len, tl_err_t *e)
{
    tl_pq_src_t src = tl_pq_src_mem (bytes, len);
    return tl_pq_col_reset_src (self, chunk, rg, &src, e);
}

int
tl_pq_col_reset_src (tl_pq_col_t *self, const tl_pq_chunk_t *chunk, int rg, const tl_pq_src_t *src, tl_err_t *e)
{
    int c = chunk->codec;
    if (c < 0 || c > TL_PQ_LZ4_RAW || c == TL_PQ_LZO)
        return tl_err_set (e, TL_EINVAL, 0, "row group %d, column '%s': codec %s (%d) is not supported", rg,
                           self->col->name, tl_pq_codec_name (c), c);
    tl_pq_dec_free (&self->dec);
    memset (&self->dec, 0, sizeof self->dec);
    self->chunk = *chunk;
    self->rg = rg;
    self->src = *src;
    self->pos = 0;
    self->page_no = self->next_page = 0;
    self->rows_read = self->values_paged = 0;
    self->has_dict = false;
    self->in_page = false;
    self->page_left = 0;
    return 0;
}

uint64_t
tl_pq_col_rows_read (const tl_pq_col_t *self)
{
    return self->rows_read;
}

/*  Decompress a page body into *buf (grown as needed) or, when stored plainly, point at it;
    with own, a plainly stored body is copied into *buf too (it must outlive the source's next
    read). */
static int
s_inflate (tl_pq_col_t *self, const char *what, const uint8_t *src, size_t n, size_t ulen, bool compressed,
           bool own, uint8_t **buf, size_t *cap, const uint8_t **body, tl_err_t *e)
{
    if (ulen > self->opts.max_page)
        return s_err (self, e, TL_EPROTO, "%s of %zu bytes is above the %zu-byte cap", what, ulen, self->opts.max_page);
    bool stored = !compressed || self->chunk.codec == TL_PQ_UNCOMPRESSED;
    if (stored && n != ulen)
        return s_err (self, e, TL_EPROTO, "uncompressed %s of %zu bytes claims %zu", what, n, ulen);
    stored = stored || (ulen == 0 && n == 0);
    if (stored && !own) {
        *body = src;
        return 0;
    }
    if (ulen + 16 > *cap) {
        size_t c = ulen + 16;
        uint8_t *b = realloc (*buf, c);
        if (!b)
            return s_err (self, e, TL_ENOMEM, "out of memory for a %zu-byte %s", ulen, what);
        *buf = b;
        *cap = c;
    }
    if (stored) {
        memcpy (*buf, src, n);
        *body = *buf;
        return 0;
    }
    const char *why = NULL;
    int rc = tl_pq_decompress (self->chunk.codec, src, n, *buf, ulen, &self->zctx, &why);
    if (rc)
        return s_err (self, e, rc, "%s %s: %s", tl_pq_codec_name (self->chunk.codec), what, why ? why : "error");
    *body = *buf;
    return 0;
}

static int
s_load_dict (tl_pq_col_t *self, const tl_pq_page_t *h, const uint8_t *data, tl_err_t *e)
{
    const uint8_t *body;
    /* BYTE_ARRAY entries point into the body, and the dictionary outlives the page */
    int rc = s_inflate (self, "dictionary page", data, (size_t) h->compressed_size, (size_t) h->uncompressed_size,
                        true, !self->src.stable, &self->dbuf, &self->dbuf_cap, &body, e);
    if (rc)
        return rc;
    if (h->encoding != TL_PQ_PLAIN && h->encoding != TL_PQ_PLAIN_DICTIONARY)
        return s_err (self, e, TL_EINVAL, "dictionary page encoding %s is not supported", tl_pq_encoding_name (h->encoding));
    size_t n = (size_t) h->num_values, len = (size_t) h->uncompressed_size;
    tl_pq_type_t t = self->col->type;
    size_t min_bits = t == TL_PQ_BOOLEAN ? 1 : t == TL_PQ_BYTE_ARRAY ? 32 : (size_t) self->vsize * 8;
    if (min_bits && n > len * 8 / min_bits)
        return s_err (self, e, TL_EPROTO, "dictionary of %zu entries does not fit its %zu bytes", n, len);
    free (self->dvals);
    self->dvals = malloc (n ? n * self->vsize : 1);
    self->has_dict = false;
    if (!self->dvals)
        return s_err (self, e, TL_ENOMEM, "out of memory for a dictionary of %zu entries", n);
    const char *why = NULL;
    rc = tl_pq_plain_decode (t, (uint32_t) self->col->type_length, body, len, n, self->dvals, &why);
    if (rc)
        return s_err (self, e, rc, "dictionary page: %s", why ? why : "malformed");
    tl_pq_values_set (&self->dict, t, (uint32_t) self->col->type_length, self->dvals, n);
    self->has_dict = true;
    self->dict_gen++;
    return 0;
}

static int
s_start_data (tl_pq_col_t *self, const tl_pq_page_t *h, const uint8_t *data, tl_err_t *e)
{
    const uint8_t *body, *vp;
    size_t vlen;
    int16_t maxd = self->col->max_def;
    int bw = tl_pq_bit_width ((uint64_t) maxd);
    uint64_t nv = (uint64_t) h->num_values;
    if (self->values_paged + nv > (uint64_t) self->chunk.num_values)
        return s_err (self, e, TL_EPROTO, "pages hold more than the column chunk's %lld values", (long long) self->chunk.num_values);
    if (h->type == TL_PQ_DATA_PAGE) {
        int rc = s_inflate (self, "data page", data, (size_t) h->compressed_size, (size_t) h->uncompressed_size, true,
                            false, &self->pbuf, &self->pbuf_cap, &body, e);
        if (rc)
            return rc;
        const uint8_t *p = body, *end = body + h->uncompressed_size;
        if (maxd > 0) {
            if (h->def_encoding == TL_PQ_RLE) {
                if (end - p < 4)
                    return s_err (self, e, TL_EPROTO, "definition levels without their length");
                uint32_t n = (uint32_t) p [0] | (uint32_t) p [1] << 8 | (uint32_t) p [2] << 16 | (uint32_t) p [3] << 24;
                p += 4;
                if (n > (size_t) (end - p))
                    return s_err (self, e, TL_EPROTO, "definition levels of %u bytes past the end of the page", n);
                tl_pq_rle_init (&self->def, p, n, bw);
                p += n;
            } else if (h->def_encoding == TL_PQ_BIT_PACKED) {
                uint64_t n = (nv * (uint64_t) bw + 7) / 8;
                if (n > (uint64_t) (end - p))
                    return s_err (self, e, TL_EPROTO, "BIT_PACKED definition levels past the end of the page");
                tl_pq_rle_init_msb (&self->def, p, (size_t) n, bw, nv);
                p += n;
            } else
                return s_err (self, e, TL_EINVAL, "definition level encoding %s is not supported", tl_pq_encoding_name (h->def_encoding));
        }
        vp = p;
        vlen = (size_t) (end - p);
    } else {
        size_t lv = (size_t) h->rep_len + (size_t) h->def_len;
        if (maxd > 0)
            tl_pq_rle_init (&self->def, data + h->rep_len, (size_t) h->def_len, bw);
        else if (h->def_len)
            return s_err (self, e, TL_EPROTO, "definition levels in a required column");
        int rc = s_inflate (self, "data page v2", data + lv, (size_t) h->compressed_size - lv,
                            (size_t) h->uncompressed_size - lv, h->is_compressed, false, &self->pbuf, &self->pbuf_cap,
                            &vp, e);
        if (rc)
            return rc;
        vlen = (size_t) h->uncompressed_size - lv;
    }
    tl_pq_dec_free (&self->dec);
    memset (&self->dec, 0, sizeof self->dec);
    if (h->encoding == TL_PQ_PLAIN_DICTIONARY || h->encoding == TL_PQ_RLE_DICTIONARY) {
        self->page_dict = true;
        int ibw = vlen ? vp [0] : 0;
        if (ibw > 32)
            return s_err (self, e, TL_EPROTO, "dictionary index bit width %d is above 32", ibw);
        tl_pq_rle_init (&self->idx, vlen ? vp + 1 : vp, vlen ? vlen - 1 : 0, ibw);
    } else {
        self->page_dict = false;
        int rc = tl_pq_dec_init (&self->dec, h->encoding, self->col->type, (uint32_t) self->col->type_length, vp, vlen,
                                 self->opts.max_page);
        if (rc)
            return s_err (self, e, rc, "%s values: %s", tl_pq_encoding_name (h->encoding), self->dec.err);
    }
    self->page_left = nv;
    self->values_paged += nv;
    self->in_page = true;
    return 0;
}

/*  The page header at self->pos, read with a probe of TL_PQ_HEADER_PROBE bytes, then of 1 MiB,
    then of max_page, while it runs past the probe and the chunk holds more. */
static int
s_header (tl_pq_col_t *self, tl_pq_page_t *h, tl_err_t *e)
{
    uint64_t left = self->src.len - self->pos;
    size_t want = TL_PQ_HEADER_PROBE;
    for (;;) {
        size_t n = left < want ? (size_t) left : want;
        const uint8_t *p;
        const char *why = NULL;
        int rc = self->src.read (self->src.arg, self->pos, n, &p, e);
        if (rc)
            return rc;
        if (tl_pq_page_header (p, n, h, &why) == 0)
            return 0;
        size_t next = want < ((size_t) 1 << 20) ? (size_t) 1 << 20 : self->opts.max_page;
        next = next < self->opts.max_page ? next : self->opts.max_page;
        if (h->truncated && n < left && next <= want)
            return s_err (self, e, TL_EPROTO, "page header of more than %zu bytes: %s", n, why);
        if (!h->truncated || n == left)
            return s_err (self, e, TL_EPROTO, "page header: %s", why);
        want = next;
    }
}

/*  Load pages until a data page with values; *end set at the end of the chunk. */
static int
s_next_page (tl_pq_col_t *self, bool *end, tl_err_t *e)
{
    static const uint8_t empty [1];
    *end = false;
    self->in_page = false;
    while (self->pos < self->src.len) {
        tl_pq_page_t h;
        self->page_no = self->next_page++;
        int rc = s_header (self, &h, e);
        if (rc)
            return rc;
        uint64_t at = self->pos + h.header_len, left = self->src.len - at;
        if ((uint64_t) h.compressed_size > left)
            return s_err (self, e, TL_EPROTO, "page of %d bytes runs past the end of the column chunk (%zu bytes left)",
                          h.compressed_size, (size_t) left);
        self->pos = at + (uint64_t) h.compressed_size;
        bool dict = h.type == TL_PQ_DICTIONARY_PAGE;
        if (!dict && ((h.type != TL_PQ_DATA_PAGE && h.type != TL_PQ_DATA_PAGE_V2) || h.num_values == 0))
            continue;       /* INDEX_PAGE, unknown page types and pages without values: skipped unread */
        /* Both sizes are checked before the body is read: a source holds the compressed body. */
        const char *what = dict ? "dictionary page" : h.type == TL_PQ_DATA_PAGE ? "data page" : "data page v2";
        if ((size_t) h.uncompressed_size > self->opts.max_page)
            return s_err (self, e, TL_EPROTO, "%s of %zu bytes is above the %zu-byte cap", what,
                          (size_t) h.uncompressed_size, self->opts.max_page);
        if ((size_t) h.compressed_size > self->opts.max_page)
            return s_err (self, e, TL_EPROTO, "%s of %zu compressed bytes is above the %zu-byte cap", what,
                          (size_t) h.compressed_size, self->opts.max_page);
        const uint8_t *data = empty;
        if (h.compressed_size && (rc = self->src.read (self->src.arg, at, (size_t) h.compressed_size, &data, e)) != 0)
            return rc;
        if (h.has_crc && !self->opts.skip_crc) {
            uint32_t crc = (uint32_t) crc32 (0, data, (uInt) h.compressed_size);
            if (crc != h.crc)
                return s_err (self, e, TL_EPROTO, "page CRC mismatch (stored %08x, computed %08x)", h.crc, crc);
        }
        if (!dict)
            return s_start_data (self, &h, data, e);
        if ((rc = s_load_dict (self, &h, data, e)) != 0)
            return rc;
    }
    *end = true;
    return 0;
}

int
tl_pq_col_ready (tl_pq_col_t *self, size_t *rows, tl_err_t *e)
{
    *rows = 0;
    if (!self->in_page || self->page_left == 0) {
        bool end;
        int rc = s_next_page (self, &end, e);
        if (rc)
            return rc;
        if (end) {
            if (self->rows_read != (uint64_t) self->chunk.num_values)
                return s_err (self, e, TL_EPROTO, "column chunk ends after %llu of its %lld values",
                              (unsigned long long) self->rows_read, (long long) self->chunk.num_values);
            return 0;
        }
    }
    *rows = self->page_left > SIZE_MAX ? SIZE_MAX : (size_t) self->page_left;
    return 0;
}

static int
s_scratch (tl_pq_col_t *self, size_t k, tl_err_t *e)
{
    if (k <= self->scap)
        return 0;
    size_t vs = self->vsize ? self->vsize : 1;
    free (self->valid); free (self->vals); free (self->tmp); free (self->lv); free (self->lit); free (self->runs);
    self->valid = malloc (k);
    self->vals = malloc (k * vs);
    self->tmp = malloc (k * (vs < 4 ? 4 : vs));     /* also holds k indices */
    self->lv = malloc (k * sizeof *self->lv);
    self->lit = malloc (k * sizeof *self->lit);
    self->runs = malloc ((k + 1) * sizeof *self->runs);
    if (!self->valid || !self->vals || !self->tmp || !self->lv || !self->lit || !self->runs) {
        self->scap = 0;
        return s_err (self, e, TL_ENOMEM, "out of memory for a batch of %zu rows", k);
    }
    self->scap = k;
    return 0;
}

enum { S_ALL_VALID, S_ALL_NULL, S_MIXED };

static int
s_levels (tl_pq_col_t *self, size_t k, size_t *nn, int *shape, tl_err_t *e)
{
    int16_t maxd = self->col->max_def;
    uint32_t v;
    if (maxd == 0) {
        *nn = k;
        *shape = S_ALL_VALID;
        return 0;
    }
    if (tl_pq_rle_take_uniform (&self->def, k, &v)) {
        if (v > (uint32_t) maxd)
            return s_err (self, e, TL_EPROTO, "definition level %u above the column's maximum %d", v, maxd);
        *shape = v == (uint32_t) maxd ? S_ALL_VALID : S_ALL_NULL;
        *nn = v == (uint32_t) maxd ? k : 0;
        return 0;
    }
    if (tl_pq_rle_get (&self->def, self->lv, k) < k)
        return s_err (self, e, TL_EPROTO, "definition levels end before the page's %llu values%s%s",
                      (unsigned long long) (self->page_left), self->def.err ? ": " : "", self->def.err ? self->def.err : "");
    size_t n = 0;
    uint32_t maxv = 0;
    for (size_t i = 0; i < k; i++) {
        uint32_t l = self->lv [i];
        maxv = l > maxv ? l : maxv;
        self->valid [i] = l == (uint32_t) maxd;
        n += l == (uint32_t) maxd;
    }
    if (maxv > (uint32_t) maxd)
        return s_err (self, e, TL_EPROTO, "definition level %u above the column's maximum %d", maxv, maxd);
    *nn = n;
    *shape = n == k ? S_ALL_VALID : n == 0 ? S_ALL_NULL : S_MIXED;
    return 0;
}

static int
s_bad_index (tl_pq_col_t *self, const uint32_t *v, size_t n, tl_err_t *e)
{
    /* an OR of comparisons vectorizes to fewer steps than a running maximum (SSE2 has no
       unsigned 32-bit max); the maximum is found only for the message */
    uint32_t lim = self->dict.n < UINT32_MAX ? (uint32_t) self->dict.n : UINT32_MAX, bad = 0, m = 0;
    for (size_t i = 0; i < n; i++)
        bad |= v [i] >= lim;
    if (!bad || self->dict.n > UINT32_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        m = v [i] > m ? v [i] : m;
    return s_err (self, e, TL_EPROTO, "dictionary index %u past the dictionary's %zu entries", m, self->dict.n);
}

/*  nn indices expanded into out, range-checked. */
static int
s_indices (tl_pq_col_t *self, uint32_t *out, size_t nn, tl_err_t *e)
{
    if (tl_pq_rle_get (&self->idx, out, nn) < nn)
        return s_err (self, e, TL_EPROTO, "dictionary indices end before the page's values%s%s",
                      self->idx.err ? ": " : "", self->idx.err ? self->idx.err : "");
    return s_bad_index (self, out, nn, e);
}

/*  Append the index runs of m consecutive non-null rows: an RLE run of the file becomes one
    run, bit-packed indices one literal run. */
static int
s_index_runs (tl_pq_col_t *self, size_t m, size_t *nruns, size_t *nlit, tl_err_t *e)
{
    if (!self->has_dict)
        return s_err (self, e, TL_EPROTO, "dictionary-encoded page without a dictionary page");
    size_t got = 0;
    while (got < m) {
        uint32_t v;
        size_t n;
        int t = tl_pq_rle_run (&self->idx, m - got, &v, self->lit + *nlit, &n);
        if (t <= 0)
            return s_err (self, e, TL_EPROTO, "dictionary indices end before the page's values%s%s",
                          self->idx.err ? ": " : "", self->idx.err ? self->idx.err : "");
        if (t == 1) {
            if (v >= self->dict.n)
                return s_err (self, e, TL_EPROTO, "dictionary index %u past the dictionary's %zu entries", v, self->dict.n);
            self->runs [(*nruns)++] = (tl_pq_run_t) { v, (uint32_t) n };
        } else {
            int rc = s_bad_index (self, self->lit + *nlit, n, e);
            if (rc)
                return rc;
            if (*nruns && self->runs [*nruns - 1].index == TL_PQ_LIT_INDEX)
                self->runs [*nruns - 1].len += (uint32_t) n;
            else
                self->runs [(*nruns)++] = (tl_pq_run_t) { TL_PQ_LIT_INDEX, (uint32_t) n };
            *nlit += n;
        }
        got += n;
    }
    return 0;
}

/*  A RUNS batch of k rows: definition-level runs and index runs walked together, so an RLE
    run of nulls becomes one null run and a stretch of non-null rows keeps its index runs;
    only where levels are bit-packed (nulls interleaved row by row) do rows become a literal
    run with the nulls marked in it. */
static int
s_runs (tl_pq_col_t *self, size_t k, tl_pq_batch_t *b, tl_err_t *e)
{
    int16_t maxd = self->col->max_def;
    size_t nruns = 0, nlit = 0, nulls = 0, left = k;
    int rc;
    while (left) {
        uint32_t v = (uint32_t) maxd;
        size_t n = left;
        if (maxd > 0) {
            int t = tl_pq_rle_run (&self->def, left, &v, self->lv, &n);
            if (t <= 0)
                return s_err (self, e, TL_EPROTO, "definition levels end before the page's values%s%s",
                              self->def.err ? ": " : "", self->def.err ? self->def.err : "");
            if (t == 2) {
                size_t nv = 0;
                uint32_t mx = 0;
                for (size_t i = 0; i < n; i++) {
                    mx = self->lv [i] > mx ? self->lv [i] : mx;
                    nv += self->lv [i] == (uint32_t) maxd;
                }
                if (mx > (uint32_t) maxd)
                    return s_err (self, e, TL_EPROTO, "definition level %u above the column's maximum %d", mx, maxd);
                uint32_t *ix = (uint32_t *) self->tmp;
                if (nv && !self->has_dict)
                    return s_err (self, e, TL_EPROTO, "dictionary-encoded page without a dictionary page");
                if ((rc = s_indices (self, ix, nv, e)))
                    return rc;
                uint32_t *lit = self->lit + nlit;
                for (size_t i = 0, j = 0; i < n; i++) {
                    bool ok = self->lv [i] == (uint32_t) maxd;
                    lit [i] = ok ? ix [j] : TL_PQ_NULL_INDEX;
                    j += ok;
                }
                if (nruns && self->runs [nruns - 1].index == TL_PQ_LIT_INDEX)
                    self->runs [nruns - 1].len += (uint32_t) n;
                else
                    self->runs [nruns++] = (tl_pq_run_t) { TL_PQ_LIT_INDEX, (uint32_t) n };
                nlit += n;
                nulls += n - nv;
                left -= n;
                continue;
            }
            if (v > (uint32_t) maxd)
                return s_err (self, e, TL_EPROTO, "definition level %u above the column's maximum %d", v, maxd);
        }
        if (v < (uint32_t) maxd) {
            if (nruns && self->runs [nruns - 1].index == TL_PQ_NULL_INDEX)
                self->runs [nruns - 1].len += (uint32_t) n;
            else
                self->runs [nruns++] = (tl_pq_run_t) { TL_PQ_NULL_INDEX, (uint32_t) n };
            nulls += n;
        } else if ((rc = s_index_runs (self, n, &nruns, &nlit, e)))
            return rc;
        left -= n;
    }
    b->runs = self->runs;
    b->nruns = nruns;
    b->idx = self->lit;
    b->nulls = nulls;
    return 0;
}

static void
s_gather (tl_pq_col_t *self, const uint32_t *idx, size_t k)
{
    size_t vs = self->vsize;
    const uint8_t *d = self->dvals;
    uint8_t *o = self->vals;
    if (vs == 8)
        for (size_t i = 0; i < k; i++)
            if (idx [i] != TL_PQ_NULL_INDEX) memcpy (o + i * 8, d + (size_t) idx [i] * 8, 8);
            else memset (o + i * 8, 0, 8);
    else
        for (size_t i = 0; i < k; i++)
            if (idx [i] != TL_PQ_NULL_INDEX) memcpy (o + i * vs, d + (size_t) idx [i] * vs, vs);
            else memset (o + i * vs, 0, vs);
}

int
tl_pq_col_next (tl_pq_col_t *self, size_t max_rows, tl_pq_batch_t *b, tl_err_t *e)
{
    memset (b, 0, sizeof *b);
    size_t avail;
    int rc = tl_pq_col_ready (self, &avail, e);
    if (rc || avail == 0 || max_rows == 0)
        return rc;
    size_t k = max_rows < avail ? max_rows : avail, nn = 0;
    int shape = S_ALL_VALID;
    int mode = self->opts.mode;
    if ((rc = s_scratch (self, k, e)))
        return rc;
    self->arena.len = 0;
    b->rows = k;
    b->dict = &self->dict;
    b->dict_gen = self->dict_gen;
    if (self->page_dict && mode == TL_PQ_RUNS) {
        if ((rc = s_runs (self, k, b, e)))
            return rc;
        b->kind = TL_PQ_BATCH_RUNS;
        self->page_left -= k;
        self->rows_read += k;
        return 0;
    }
    if ((rc = s_levels (self, k, &nn, &shape, e)))
        return rc;
    b->nulls = k - nn;
    if (self->page_dict && nn && !self->has_dict)
        return s_err (self, e, TL_EPROTO, "dictionary-encoded page without a dictionary page");
    if (self->page_dict) {      /* indices one per row, or dictionary values gathered */
        if (shape == S_ALL_VALID)
            rc = s_indices (self, self->lit, nn, e);
        else if (shape == S_ALL_NULL) {
            for (size_t i = 0; i < k; i++) self->lit [i] = TL_PQ_NULL_INDEX;
            memset (self->valid, 0, k);
        } else if (!(rc = s_indices (self, self->lv, nn, e)))
            for (size_t i = 0, j = 0; i < k; i++)
                self->lit [i] = self->valid [i] ? self->lv [j++] : TL_PQ_NULL_INDEX;
        if (!rc && mode == TL_PQ_VALUES)
            s_gather (self, self->lit, k);
        b->idx = mode == TL_PQ_VALUES ? NULL : self->lit;
        b->valid = shape == S_ALL_VALID ? NULL : self->valid;
        b->kind = mode == TL_PQ_VALUES ? TL_PQ_BATCH_VALUES : TL_PQ_BATCH_INDICES;
    } else {
        size_t vs = self->vsize;
        if (shape == S_ALL_VALID)
            rc = tl_pq_dec_get (&self->dec, self->vals, k, &self->arena);
        else if (shape == S_ALL_NULL) {
            memset (self->vals, 0, k * vs);
            memset (self->valid, 0, k);
        } else if (!(rc = tl_pq_dec_get (&self->dec, self->tmp, nn, &self->arena))) {
            for (size_t i = 0, j = 0; i < k; i++) {
                if (self->valid [i]) memcpy (self->vals + i * vs, self->tmp + j++ * vs, vs);
                else memset (self->vals + i * vs, 0, vs);
            }
        }
        if (rc)
            return s_err (self, e, rc, "%s values: %s", tl_pq_encoding_name (self->dec.encoding),
                          self->dec.err ? self->dec.err : "out of memory");
        b->kind = TL_PQ_BATCH_VALUES;
        b->valid = shape == S_ALL_VALID ? NULL : self->valid;
    }
    if (rc)
        return rc;
    if (b->kind == TL_PQ_BATCH_VALUES)
        tl_pq_values_set (&b->vals, self->col->type, (uint32_t) self->col->type_length, self->vals, k);
    self->page_left -= k;
    self->rows_read += k;
    return 0;
}

/*  Non-null rows among the next k: definition levels counted, never expanded. */
static int
s_count_levels (tl_pq_col_t *self, size_t k, size_t *nn, tl_err_t *e)
{
    int16_t maxd = self->col->max_def;
    uint64_t eq = 0, above = 0;
    if (maxd == 0) {
        *nn = k;
        return 0;
    }
    if (tl_pq_rle_count (&self->def, k, (uint32_t) maxd, &eq, &above) < k)
        return s_err (self, e, TL_EPROTO, "definition levels end before the page's %llu values%s%s",
                      (unsigned long long) (self->page_left), self->def.err ? ": " : "", self->def.err ? self->def.err : "");
    if (above)
        return s_err (self, e, TL_EPROTO, "definition level above the column's maximum %d", maxd);
    *nn = (size_t) eq;
    return 0;
}

int
tl_pq_col_next_unordered (tl_pq_col_t *self, size_t max_rows, tl_pq_batch_t *b, tl_err_t *e)
{
    memset (b, 0, sizeof *b);
    size_t avail, nn = 0;
    int rc = tl_pq_col_ready (self, &avail, e);
    if (rc || avail == 0 || max_rows == 0)
        return rc;
    size_t k = max_rows < avail ? max_rows : avail;
    if ((rc = s_scratch (self, k, e)) || (rc = s_count_levels (self, k, &nn, e)))
        return rc;
    self->arena.len = 0;
    b->rows = k;
    b->nulls = k - nn;
    b->dict = &self->dict;
    b->dict_gen = self->dict_gen;
    if (self->page_dict) {
        size_t nruns = 0, nlit = 0;
        if (nn < k)
            self->runs [nruns++] = (tl_pq_run_t) { TL_PQ_NULL_INDEX, (uint32_t) (k - nn) };
        if (nn && (rc = s_index_runs (self, nn, &nruns, &nlit, e)))
            return rc;
        b->kind = TL_PQ_BATCH_RUNS;
        b->runs = self->runs;
        b->nruns = nruns;
        b->idx = self->lit;
    } else {
        const uint8_t *p = NULL;
        if (nn && !(rc = tl_pq_dec_view (&self->dec, nn, &p)) && !p) {
            rc = tl_pq_dec_get (&self->dec, self->vals, nn, &self->arena);
            p = self->vals;
        }
        if (rc)
            return s_err (self, e, rc, "%s values: %s", tl_pq_encoding_name (self->dec.encoding),
                          self->dec.err ? self->dec.err : "out of memory");
        b->kind = TL_PQ_BATCH_DENSE;
        tl_pq_values_set (&b->vals, self->col->type, (uint32_t) self->col->type_length, NULL, nn);
        if (self->col->type == TL_PQ_BYTE_ARRAY)
            b->vals.ba = (const tl_pq_bytes_t *) (const void *) p;
        else
            b->raw = p;
    }
    self->page_left -= k;
    self->rows_read += k;
    return 0;
}
