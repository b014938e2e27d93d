/*  libFuzzer: any sequence of frames as what a watcher receives from a reducer (lib/wire/clone.c):
    each frame (2-byte big-endian length, then the bytes) is decoded, and every UPDATE goes into
    one replica, which is asked for its top groups and its whole table as a watcher would, and
    into a final-table gatherer (lib/wire/final.c), whose whole table must be in output order
    with no group twice. */
#include <stdint.h>
#include <stdlib.h>
#include "lib/wire/clone.h"
#include "lib/wire/final.h"
#include "tests/fuzz/frames.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    tl_clone_t *c = tl_clone_new ();
    tl_final_t *f = tl_final_new ();
    if (!c || !f) {
        tl_clone_destroy (&c);
        tl_final_destroy (&f);
        return 0;
    }
    size_t off = 0, len;
    const uint8_t *frame;
    while (fz_next_frame (data, size, &off, &frame, &len)) {
        tl_msg_t m;
        tl_err_t e;
        if (tl_msg_decode (frame, len, &m, &e) == 0 && tl_final_apply (f, &m) == TL_FINAL_WHOLE) {
            size_t n;
            const tl_agg_entry_t *g = tl_final_groups (f, &n);
            for (size_t i = 1; i < n; i++)
                if (!tl_agg_entry_before (&g [i - 1], &g [i]))
                    abort ();           /* strictly in output order: no group twice */
            if (!tl_final_last (f))
                abort ();
        }
        if (tl_msg_decode (frame, len, &m, &e) == 0) {
            if (tl_clone_apply (c, &m) == TL_CLONE_APPLIED) {
                tl_agg_entry_t top [4];
                size_t n = tl_clone_top (c, 1 + (len & 3), top), all = 0;
                for (size_t i = 1; i < n; i++)
                    if (tl_agg_entry_before (&top [i], &top [i - 1]))
                        abort ();       /* the top is in output order */
                free (tl_clone_all (c, &all));
                if (all < n)
                    abort ();
            }
        }
    }
    tl_clone_destroy (&c);
    tl_final_destroy (&f);
    return 0;
}
