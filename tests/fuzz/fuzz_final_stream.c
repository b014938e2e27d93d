/*  libFuzzer: any sequence of frames as what a final-table watcher receives from a reducer, into
    a streaming tl_final_t (lib/wire/final.h), as fuzz_clone frames them (2-byte big-endian
    length, then the bytes). What it hands out, across parts and resumes after gaps, must be
    strictly in output order (so no group twice), and at the end as many groups as it says it
    wrote. Seeds: tests/fuzz/corpus/clone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wire/final.h"
#include "tests/fuzz/frames.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    tl_final_t *f = tl_final_new ();
    if (!f)
        return 0;
    tl_final_set_stream (f, true);
    static char key [TL_AGG_KEY_MAX];
    tl_agg_entry_t last = { .key = key };
    uint64_t handed = 0;
    size_t off = 0, len;
    const uint8_t *frame;
    while (fz_next_frame (data, size, &off, &frame, &len)) {
        tl_msg_t m;
        tl_err_t e;
        if (tl_msg_decode (frame, len, &m, &e) == 0) {
            tl_final_rc_t rc = tl_final_apply (f, &m);
            if (rc == TL_FINAL_STREAM || rc == TL_FINAL_END) {
                const tl_agg_entry_t *g;
                size_t n;
                if (!tl_final_part (f, &g, &n))
                    abort ();
                for (size_t i = 0; i < n; i++) {
                    if (handed && !tl_agg_entry_before (&last, &g [i]))
                        abort ();       /* out of order, or a group twice */
                    if (g [i].len > TL_AGG_KEY_MAX)
                        abort ();
                    memcpy (key, g [i].key, g [i].len);
                    last.len = g [i].len;
                    last.count = g [i].count;
                    handed++;
                }
            }
            if (tl_final_written (f) != handed)
                abort ();               /* it counts what it handed out, through gaps and all */
            if (rc == TL_FINAL_END) {
                if (!tl_final_last (f))
                    abort ();
                handed = 0;             /* a later final table is a new output */
            }
        }
    }
    tl_final_destroy (&f);
    return 0;
}
