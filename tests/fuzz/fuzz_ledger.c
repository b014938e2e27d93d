/*  libFuzzer: any bytes as a reducer checkpoint (what --state-dir reads back after a crash). */
#include <stdint.h>
#include "reducer/ledger.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static tl_ledger_t *l;
    if (!l)
        l = tl_ledger_new ();
    tl_ledger_meta_t m;
    tl_err_t e;
    tl_ledger_load (l, &m, (const char *) data, size, &e);
    return 0;
}
