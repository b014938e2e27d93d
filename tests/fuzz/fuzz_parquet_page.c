/*  libFuzzer: a column chunk's pages through tally's column reader, with the column described
    by an 8-byte prefix: physical type, codec, max definition level and batch mode (or, for the
    fourth, tl_pq_col_next_unordered's batches), logical annotation, FIXED_LEN_BYTE_ARRAY
    length, and the chunk's value count (24 bits). The rest is the chunk: page headers,
    dictionary and data pages of any encoding and codec. Every batch is walked and every value
    texted or read; indices must stay inside the dictionary. With bit 6 of the third byte the
    chunk is read through a byte source (column.h) that hands out each read in a buffer of its
    own and frees the previous one, so that a pointer the reader keeps past its source's next
    read is a heap-use-after-free. */
#include <stdint.h>
#include <string.h>
#include "lib/core/parquet/column.h"
#include "lib/core/parquet/value.h"
#include <stdlib.h>

typedef struct {
    const uint8_t *chunk;
    uint8_t *held;              /* the last read, freed at the next */
} s_src_t;

static int
s_read (void *arg, uint64_t off, size_t len, const uint8_t **p, tl_err_t *e)
{
    s_src_t *s = arg;
    free (s->held);
    if (!(s->held = malloc (len ? len : 1)))
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    memcpy (s->held, s->chunk + off, len);
    *p = s->held;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    static const tl_pq_logical_t lts [8] = { TL_PQ_LT_NONE, TL_PQ_LT_STRING, TL_PQ_LT_DECIMAL, TL_PQ_LT_DATE,
                                            TL_PQ_LT_TIMESTAMP, TL_PQ_LT_TIME, TL_PQ_LT_FLOAT16, TL_PQ_LT_INT };
    tl_pq_column_t col;
    memset (&col, 0, sizeof col);
    col.name = "fuzz";
    col.type = (tl_pq_type_t) (data [0] & 7);
    col.max_def = data [2] & 3;
    col.logical = lts [data [3] & 7];
    col.scale = (data [3] >> 3) & 15;
    col.unit = (tl_pq_unit_t) ((data [3] >> 3) % 3);
    col.bit_width = 32;
    col.is_signed = data [3] & 0x80;
    col.type_length = col.type == TL_PQ_FIXED_LEN_BYTE_ARRAY ? 1 + (data [4] & 31) : col.type == TL_PQ_INT96 ? 12 : 0;
    if (col.logical == TL_PQ_LT_FLOAT16) col.type_length = col.type == TL_PQ_FIXED_LEN_BYTE_ARRAY ? 2 : col.type_length;
    tl_pq_chunk_t ch;
    memset (&ch, 0, sizeof ch);
    ch.type = col.type;
    ch.codec = data [1] & 7;
    ch.num_values = (int64_t) data [5] | (int64_t) data [6] << 8 | (int64_t) data [7] << 16;
    int how = (data [2] >> 4) & 3;                  /* 3: unordered batches, for a counter */
    tl_pq_col_opts_t o = { .mode = how % 3, .max_page = 4 << 20, .skip_crc = data [2] & 0x80 };
    tl_pq_col_t *rd;
    tl_err_t e;
    s_src_t ss = { .chunk = data + 8 };
    tl_pq_src_t src = { .read = s_read, .arg = &ss, .len = size - 8 };
    if (data [2] & 0x40 ? tl_pq_col_new_src (&rd, &col, &ch, 0, &src, &o, &e)
                        : tl_pq_col_new (&rd, &col, &ch, 0, data + 8, size - 8, &o, &e))
        return 0;
    tl_pq_batch_t b;
    char buf [TL_PQ_TEXT_MAX];
    const char *t;
    double d;
    size_t max = 1 + (data [4] >> 5) * 300;
    uint64_t gen = 0;
    while ((how == 3 ? tl_pq_col_next_unordered (rd, max, &b, &e) : tl_pq_col_next (rd, max, &b, &e)) == 0 && b.rows) {
        if (b.kind == TL_PQ_BATCH_DENSE) {
            if (b.vals.n != b.rows - b.nulls)
                __builtin_trap ();
            volatile uint8_t sink = 0;
            for (size_t i = 0; i < b.vals.n; i++)
                if (b.vals.type == TL_PQ_BYTE_ARRAY)
                    sink ^= b.vals.ba [i].len ? b.vals.ba [i].p [b.vals.ba [i].len - 1] : 0;
                else
                    for (uint32_t k = 0; k < b.vals.width; k++)
                        sink ^= b.raw [i * b.vals.width + k];
            (void) sink;
            continue;
        }
        if (b.kind == TL_PQ_BATCH_VALUES) {
            for (size_t i = 0; i < b.rows; i++) {
                tl_pq_value_text (&col, &b.vals, i, buf, &t);
                tl_pq_value_double (&col, &b.vals, i, &d);
            }
            continue;
        }
        if (b.dict_gen != gen) {
            gen = b.dict_gen;
            for (size_t i = 0; i < b.dict->n; i++)
                tl_pq_value_text (&col, b.dict, i, buf, &t);
        }
        if (b.kind == TL_PQ_BATCH_INDICES) {
            for (size_t i = 0; i < b.rows; i++)
                if (b.idx [i] != TL_PQ_NULL_INDEX && b.idx [i] >= b.dict->n)
                    __builtin_trap ();
            continue;
        }
        size_t lit = 0, rows = 0;
        for (size_t k = 0; k < b.nruns; k++) {
            uint32_t ix = b.runs [k].index;
            rows += b.runs [k].len;
            if (ix == TL_PQ_LIT_INDEX) {
                for (uint32_t j = 0; j < b.runs [k].len; j++, lit++)
                    if (b.idx [lit] != TL_PQ_NULL_INDEX && b.idx [lit] >= b.dict->n)
                        __builtin_trap ();
            } else if (ix != TL_PQ_NULL_INDEX && ix >= b.dict->n)
                __builtin_trap ();
        }
        if (rows != b.rows)
            __builtin_trap ();
    }
    tl_pq_col_destroy (&rd);
    free (ss.held);
    return 0;
}
