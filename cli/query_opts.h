/*  query_opts.h — the query's command-line options (--group-by, --agg, --where,
    --column-alias), shared by `broker`, `run` and `scan`: their getopt entries, their help text,
    and how the options as given become the query text (lib/core/query.h) or a child's argv. */
#ifndef TL_QUERY_OPTS_H
#define TL_QUERY_OPTS_H
#include "lib/base/err.h"
#include "lib/core/query.h"
#include <getopt.h>

enum { TL_QOPT_BY = 'g', TL_QOPT_AGG = 1001, TL_QOPT_WHERE = 1002, TL_QOPT_ALIAS = 1003 };
#define TL_QUERY_OPTIONS                                                                              \
    { "group-by", required_argument, 0, TL_QOPT_BY }, { "agg", required_argument, 0, TL_QOPT_AGG }, \
        { "where", required_argument, 0, TL_QOPT_WHERE }, { "column-alias", required_argument, 0, TL_QOPT_ALIAS }
#define TL_QUERY_HELP                                                                                         \
    "  --group-by COL[,COL]   header name (case-insensitive, spaces ignored) or 1-based number; several\n"   \
    "                         keys group by the tuple; NAME[A:B] takes bytes A to B of the value\n"          \
    "                         (tpep_pickup_datetime[0:10] is the date). Repeatable.\n"                      \
    "  --agg AGG              count (default), sum:COL, min:COL, max:COL, avg:COL; repeatable\n"            \
    "  --where 'COL OP VAL'   keep rows where it holds; OP is = != < <= > >= (numbers compare as\n"         \
    "                         numbers); a VAL that starts with < > = ! must be quoted ('>3');\n"           \
    "                         repeatable, all must hold\n"                                                  \
    "  --column-alias NAME=OTHER[|OTHER]  more names for a column (the TLC eras are built in)\n"

/*  The query options as given (strings borrowed from argv). */
typedef struct {
    const char *by [TL_QUERY_MAX_BY];
    int nby;
    const char *agg [TL_QUERY_MAX_AGG];
    int nagg;
    const char *where [TL_QUERY_MAX_WHERE];
    int nwhere;
    const char *alias [TL_QUERY_MAX_ALIAS];
    int nalias;
} tl_qargs_t;
/*  Take option c (one of TL_QOPT_*). 1 if taken, 0 if c is not a query option, -1 if there are
    too many of that option (e names it). */
int tl_qargs_take (tl_qargs_t *a, int c, const char *arg, tl_err_t *e);
/*  The query text (tl_query_build). */
int tl_qargs_build (const tl_qargs_t *a, char **text, tl_err_t *e);
/*  Append the options again (for a child process) to argv at *n (room for max). */
void tl_qargs_argv (const tl_qargs_t *a, char **argv, int *n, int max);
#endif
