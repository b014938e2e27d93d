/*  libFuzzer: any frame into tl_msg_decode; what decodes must re-encode and decode the same,
    and the groups read straight from the bytes must be the tree's (the same verdict, the same
    groups), the direct reading turned off for a second decode. */
#include <stdint.h>
#include "lib/wire/codec.h"
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    tl_msg_t m, t;
    tl_err_t e;
    tl_codec_fast_groups (false);
    int trc = tl_msg_decode (data, size, &t, &e);
    tl_codec_fast_groups (true);
    int rc = tl_msg_decode (data, size, &m, &e);
    if ((rc == 0) != (trc == 0))
        abort ();
    if (rc != 0)
        return 0;
    if (t.n_groups != m.n_groups || t.ncells != m.ncells)
        abort ();
    for (size_t i = 0; i < m.n_groups; i++)
        if (t.groups [i].len != m.groups [i].len || t.groups [i].count != m.groups [i].count
            || memcmp (t.groups [i].key, m.groups [i].key, m.groups [i].len) != 0)
            abort ();
    tl_msg_clear (&t);
    char *buf;
    size_t len;
    if (tl_msg_encode (&m, &buf, &len) == 0) {
        tl_msg_t m2;
        if (tl_msg_decode (buf, len, &m2, &e) != 0 || m2.type != m.type || m2.n_groups != m.n_groups
            || m2.n_ids != m.n_ids || m2.task != m.task || m2.n_assigns != m.n_assigns || m2.n_dones != m.n_dones
            || m2.batch != m.batch)
            abort ();
        tl_msg_clear (&m2);
        free (buf);
    }
    tl_msg_clear (&m);
    return 0;
}
