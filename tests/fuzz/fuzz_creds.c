/*  libFuzzer: any bytes as a shared credentials/config file (through inih), and as the
    instance metadata service's JSON reply. */
#include <stdint.h>
#include "lib/aws/creds.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static char path [64];
    if (!*path)
        snprintf (path, sizeof path, "/tmp/tally-fuzz-creds-%d", (int) getpid ());
    FILE *f = fopen (path, "wb");
    if (!f)
        return 0;
    fwrite (data, 1, size, f);
    fclose (f);
    tl_creds_t c;
    tl_creds_from_files (path, path, "default", &c);
    tl_creds_from_files (path, path, "x", &c);
    tl_err_t e;
    tl_creds_from_imds_json ((const char *) data, size, &c, &e);
    return 0;
}
