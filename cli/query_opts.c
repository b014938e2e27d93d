/*  query_opts.c — see query_opts.h. */
#include "cli/query_opts.h"
#include <stdlib.h>
#include <string.h>

int
tl_qargs_take (tl_qargs_t *a, int c, const char *arg, tl_err_t *e)
{
    const char **v;
    int *n, max;
    const char *name;
    switch (c) {
        case TL_QOPT_BY: v = a->by, n = &a->nby, max = TL_QUERY_MAX_BY, name = "--group-by"; break;
        case TL_QOPT_AGG: v = a->agg, n = &a->nagg, max = TL_QUERY_MAX_AGG, name = "--agg"; break;
        case TL_QOPT_WHERE: v = a->where, n = &a->nwhere, max = TL_QUERY_MAX_WHERE, name = "--where"; break;
        case TL_QOPT_ALIAS: v = a->alias, n = &a->nalias, max = TL_QUERY_MAX_ALIAS, name = "--column-alias"; break;
        default: return 0;
    }
    if (*n == max)
        return tl_err_set (e, TL_EINVAL, 0, "at most %d %s", max, name), -1;
    v [(*n)++] = arg;
    return 1;
}

int
tl_qargs_build (const tl_qargs_t *a, char **text, tl_err_t *e)
{
    int rc = tl_query_build (a->by, a->nby, a->agg, a->nagg, a->where, a->nwhere, a->alias, a->nalias, text, e);
    if (rc == 0 && strlen (*text) > 4000) {
        free (*text);
        *text = NULL;
        return tl_err_set (e, TL_EINVAL, 0, "the query is too long (over 4000 bytes)");
    }
    return rc;
}

void
tl_qargs_argv (const tl_qargs_t *a, char **argv, int *n, int max)
{
    static const char *names [] = { "--group-by", "--agg", "--where", "--column-alias" };
    const char *const *lists [] = { a->by, a->agg, a->where, a->alias };
    const int counts [] = { a->nby, a->nagg, a->nwhere, a->nalias };
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < counts [l] && *n + 2 < max; i++) {
            argv [(*n)++] = (char *) names [l];
            argv [(*n)++] = (char *) lists [l][i];
        }
}
