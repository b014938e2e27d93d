/*  libFuzzer: any frame into tl_msg_decode; what decodes must re-encode and decode the same. */
#include <stdint.h>
#include "lib/wire/codec.h"
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    tl_msg_t m;
    tl_err_t e;
    if (tl_msg_decode (data, size, &m, &e) != 0)
        return 0;
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
