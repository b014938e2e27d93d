/*  UPDATE messages as the reducer sends them, through the codec as over the wire: shared by
    the tests of the watcher's replica (test_clone.c) and of its final table (test_final.c).
    Include after cmocka.h. */
#ifndef TL_TEST_UPDATE_MSG_H
#define TL_TEST_UPDATE_MSG_H
#include "lib/wire/codec.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key;
    uint64_t count;
} s_group_t;

/*  m through the codec, as over the wire. */
static inline tl_msg_t
s_roundtrip (const tl_msg_t *m)
{
    char *buf;
    size_t len;
    assert_int_equal (tl_msg_encode (m, &buf, &len), 0);
    tl_msg_t d;
    tl_err_t err;
    assert_int_equal (tl_msg_decode (buf, len, &d, &err), 0);
    free (buf);
    return d;
}

/*  An UPDATE of job with groups g [0..n) (rows: their counts summed), encoded and decoded.
    kind NULL: one without a kind. */
static inline tl_msg_t
s_update_msg (const char *job, const char *kind, uint64_t seq, uint64_t base, uint64_t part, uint64_t parts,
              const s_group_t *g, size_t n, bool done)
{
    tl_agg_entry_t *e = calloc (n + 1, sizeof *e);
    uint64_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        e [i] = (tl_agg_entry_t) { g [i].key, (uint32_t) strlen (g [i].key), g [i].count, NULL };
        rows += g [i].count;
    }
    tl_msg_t m = { .type = TL_MSG_UPDATE, .seq = seq, .job = job, .col = "c", .done = done, .ok = done,
                   .rows = rows, .groups = e, .n_groups = n, .kind = kind, .base = base, .part = part,
                   .parts = parts };
    tl_msg_t d = s_roundtrip (&m);
    free (e);
    return d;
}
#endif
