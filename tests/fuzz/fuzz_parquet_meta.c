/*  libFuzzer: Parquet footers and whole files through tally's reader. If the input ends with
    "PAR1" it is read as a file: the footer is parsed and every column of every row group read
    to the end (in runs, indices and values mode by turns), every value texted and turned into
    a double, and every chunk's statistics read. Otherwise the input is parsed as FileMetaData
    alone. Memory is bounded by a 16 MiB page cap. */
#include <stdint.h>
#include <string.h>
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/meta.h"
#include "lib/core/parquet/stats.h"
#include "lib/core/parquet/value.h"

static void
s_text_all (const tl_pq_column_t *col, const tl_pq_values_t *v, const uint8_t *valid)
{
    char buf [TL_PQ_TEXT_MAX];
    for (size_t i = 0; i < v->n; i++) {
        if (valid && !valid [i])
            continue;
        const char *t;
        double d;
        tl_pq_value_text (col, v, i, buf, &t);
        tl_pq_value_double (col, v, i, &d);
    }
}

static void
s_read_column (const tl_pq_meta_t *m, size_t r, size_t c, const uint8_t *file, size_t size, int mode)
{
    tl_err_t e;
    uint64_t off, len;
    const tl_pq_chunk_t *ch = &m->rgs [r].chunks [c];
    tl_pq_minmax_t mm;
    tl_pq_chunk_minmax (&m->cols [c], ch, &mm);
    if (mm.has_min) s_text_all (&m->cols [c], &mm.min, NULL);
    if (mm.has_max) s_text_all (&m->cols [c], &mm.max, NULL);
    if (tl_pq_chunk_range (ch, size, &off, &len, &e))
        return;
    tl_pq_col_opts_t o = { .mode = mode, .max_page = 16 << 20 };
    tl_pq_col_t *rd;
    if (tl_pq_col_new (&rd, &m->cols [c], ch, (int) r, file + off, (size_t) len, &o, &e))
        return;
    tl_pq_batch_t b;
    uint64_t gen = 0;
    while (tl_pq_col_next (rd, 1000, &b, &e) == 0 && b.rows) {
        if (b.kind == TL_PQ_BATCH_VALUES)
            s_text_all (&m->cols [c], &b.vals, b.valid);
        else if (b.dict_gen != gen) {
            gen = b.dict_gen;
            s_text_all (&m->cols [c], b.dict, NULL);
        }
        if (b.kind == TL_PQ_BATCH_RUNS) {
            size_t lit = 0;
            for (size_t k = 0; k < b.nruns; k++) {
                uint32_t ix = b.runs [k].index;
                if (ix == TL_PQ_LIT_INDEX) {
                    for (uint32_t j = 0; j < b.runs [k].len; j++, lit++)
                        if (b.idx [lit] != TL_PQ_NULL_INDEX && b.idx [lit] >= b.dict->n)
                            __builtin_trap ();
                } else if (ix != TL_PQ_NULL_INDEX && ix >= b.dict->n)
                    __builtin_trap ();
            }
        }
    }
    tl_pq_col_destroy (&rd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    tl_err_t e;
    tl_pq_meta_t *m = NULL;
    if (size >= 12 && !memcmp (data + size - 4, "PAR1", 4)) {
        uint32_t mlen;
        if (tl_pq_footer_len (data, size, &mlen, &e) || (uint64_t) mlen + 8 > size)
            return 0;
        if (tl_pq_meta_parse (data + size - 8 - mlen, mlen, &m, &e))
            return 0;
        int mode = 0;
        for (size_t r = 0; r < m->nrgs; r++)
            for (size_t c = 0; c < m->ncols; c++)
                s_read_column (m, r, c, data, size, mode++ % 3);
        tl_pq_meta_find (m, "a.b");
    } else if (tl_pq_meta_parse (data, size, &m, &e) == 0) {
        for (size_t r = 0; r < m->nrgs; r++)
            for (size_t c = 0; c < m->ncols; c++) {
                tl_pq_minmax_t mm;
                uint64_t off, len;
                tl_pq_chunk_minmax (&m->cols [c], &m->rgs [r].chunks [c], &mm);
                if (mm.has_min) s_text_all (&m->cols [c], &mm.min, NULL);
                if (mm.has_max) s_text_all (&m->cols [c], &mm.max, NULL);
                tl_pq_chunk_range (&m->rgs [r].chunks [c], 0, &off, &len, &e);
            }
    }
    tl_pq_meta_destroy (&m);
    return 0;
}
