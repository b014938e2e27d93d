/*  libFuzzer: bytes up to the first NUL are query text (as a TASK carries it), the rest a CSV
    object fed to the scanner in query mode, in two chunks. Checks: no crash, no leak, and the
    counts add up (every counted row is in a group). */
#include <stdint.h>
#include "lib/core/csv.h"
#include "lib/core/query.h"
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr (data, 0, size);
    if (!nul || nul - data > 4000)
        return 0;
    char *text = strndup ((const char *) data, (size_t) (nul - data));
    tl_query_t q;
    tl_err_t e;
    if (!text || tl_query_parse (text, &q, &e) != 0) {
        free (text);
        return 0;
    }
    tl_agg_t *agg = tl_agg_new_cells ((unsigned) q.nvals);
    tl_csv_t *c = agg ? tl_csv_new (text, agg) : NULL;
    if (c) {
        const char *body = (const char *) nul + 1;
        size_t n = size - (size_t) (nul - data) - 1, half = n / 2;
        if (tl_csv_feed (c, body, half, &e) >= 0 && tl_csv_feed (c, body + half, n - half, &e) >= 0)
            tl_csv_finish (c, &e);
        if (tl_agg_total (agg) != tl_csv_stats (c).rows)
            __builtin_trap ();
    }
    tl_csv_destroy (&c);
    tl_agg_destroy (&agg);
    free (text);
    return 0;
}
