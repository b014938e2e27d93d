/*  libFuzzer: any bytes as a ListObjectsV2 reply and as an error document. */
#include <stdint.h>
#include "lib/aws/s3xml.h"
#include <stdio.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    tl_s3_page_t p;
    tl_err_t e;
    if (tl_s3xml_list ((const char *) data, size, &p, &e) == 0) {
        for (size_t i = 0; i < p.n; i++)
            if (!p.v [i].key)
                __builtin_trap ();
        tl_s3xml_page_free (&p);
    }
    char code [64], msg [128];
    tl_s3xml_error ((const char *) data, size, code, sizeof code, msg, sizeof msg);
    return 0;
}
