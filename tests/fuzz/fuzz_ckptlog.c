/*  libFuzzer: any bytes as a reducer checkpoint log (reducer.log, what --state-dir replays
    after a crash), fed to the record reader in pieces whose sizes come from the input, and
    every task it yields applied to a ledger as replay does. The first byte picks the
    generation the log should follow (seeds are written with generation 1). */
#include <stdint.h>
#include "reducer/ckptlog.h"
#include "reducer/ledger.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint64_t gen = data [0] % 4;
    size_t piece = 1 + data [1] % 64 * 97;
    data += 2;
    size -= 2;
    tl_ledger_t *l = tl_ledger_new ();
    tl_ckptlog_reader_t *rd = tl_ckptlog_reader_new (gen);
    if (!l || !rd || tl_ledger_set_tasks (l, 1000) != 0)
        goto done;
    size_t off = 0;
    for (;;) {
        size_t n = size - off < piece ? size - off : piece;
        if (tl_ckptlog_reader_feed (rd, data + off, n) != 0)
            break;
        off += n;
        tl_ckptlog_rec_t rec;
        tl_err_t e;
        int rc;
        while ((rc = tl_ckptlog_reader_next (rd, &rec, &e)) == 1)
            if (rec.kind == TL_CKPTLOG_TASK)
                tl_ledger_apply (l, &rec.msg);
        if (rc < 0 || n == 0)
            break;
    }
    uint64_t torn;
    tl_ckptlog_reader_good (rd, &torn);
done:
    tl_ckptlog_reader_destroy (&rd);
    tl_ledger_destroy (&l);
    return 0;
}
