/*  libFuzzer: any bytes through the gzip/zstd/plain detector and decompressors, fed in two
    pieces split at a point taken from the input. */
#include <stdint.h>
#include "lib/core/decomp.h"

static int
s_count (void *arg, const char *buf, size_t len)
{
    (void) buf;
    *(size_t *) arg += len;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    size_t out = 0;
    tl_err_t e;
    tl_decomp_t *d = tl_decomp_new (s_count, &out, &e);
    if (!d)
        return 0;
    size_t cut = size ? data [0] % (size + 1) : 0;
    if (tl_decomp_feed (d, (const char *) data, cut) == 0 && tl_decomp_feed (d, (const char *) data + cut, size - cut) == 0)
        tl_decomp_finish (d);
    tl_decomp_destroy (&d);
    return 0;
}
