/*  query.c — see query.h. */
#include "lib/core/query.h"
#include "lib/core/header.h"
#include "lib/base/text.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*  Column names of the same field across the TLC yellow-trip schema eras (2009, 2010-2014,
    2015+). Case does not matter; each row is one field. */
static const char *const s_tlc [][5] = {
    { "tpep_pickup_datetime", "pickup_datetime", "Trip_Pickup_DateTime", "lpep_pickup_datetime", NULL },
    { "tpep_dropoff_datetime", "dropoff_datetime", "Trip_Dropoff_DateTime", "lpep_dropoff_datetime", NULL },
    { "VendorID", "vendor_id", "vendor_name", NULL },
    { "RatecodeID", "rate_code", NULL },
    { "store_and_fwd_flag", "store_and_forward", NULL },
    { "pickup_longitude", "Start_Lon", NULL },
    { "pickup_latitude", "Start_Lat", NULL },
    { "dropoff_longitude", "End_Lon", NULL },
    { "dropoff_latitude", "End_Lat", NULL },
    { "fare_amount", "Fare_Amt", NULL },
    { "extra", "surcharge", NULL },
    { "tip_amount", "Tip_Amt", NULL },
    { "tolls_amount", "Tolls_Amt", NULL },
    { "total_amount", "Total_Amt", NULL },
};

/*  "name", "4", "name[0:10]", "name[:7]", "name[11:]" into c. */
static int
s_parse_col (const char *s, size_t n, tl_qcol_t *c, const char *what, tl_err_t *e)
{
    memset (c, 0, sizeof *c);
    c->to = UINT32_MAX;
    c->col = -1;
    const char *p = s, *end = s + n;
    tl_trim (&p, &end);
    if (p < end && end [-1] == ']') {
        const char *lb = memchr (p, '[', (size_t) (end - p));
        if (!lb)
            return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': a slice is NAME[FROM:TO]", what, (int) n, s);
        char sl [64];
        size_t sn = (size_t) (end - lb - 2);
        if (sn >= sizeof sl)
            return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': bad slice", what, (int) n, s);
        memcpy (sl, lb + 1, sn);
        sl [sn] = 0;
        char *colon = strchr (sl, ':');
        if (!colon)
            return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': a slice is [FROM:TO], e.g. [0:10]", what, (int) n, s);
        *colon = 0;
        char *x;
        long a = 0, b = -1;
        if (*sl) {
            a = strtol (sl, &x, 10);
            if (*x || a < 0 || a > 65535)
                return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': FROM is a number from 0", what, (int) n, s);
        }
        if (colon [1]) {
            b = strtol (colon + 1, &x, 10);
            if (*x || b <= a || b > 65535)
                return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': TO is a number above FROM", what, (int) n, s);
        }
        c->from = (uint32_t) a;
        c->to = b < 0 ? UINT32_MAX : (uint32_t) b;
        end = lb;
        tl_trim (&p, &end);
    }
    size_t len = (size_t) (end - p);
    if (len == 0)
        return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': no column", what, (int) n, s);
    if (len >= sizeof c->name)
        return tl_err_set (e, TL_EINVAL, 0, "%s: column name too long", what);
    size_t digits = 0;
    while (digits < len && isdigit ((unsigned char) p [digits]))
        digits++;
    if (digits == len && len < 6) {
        c->num = atoi (p);
        if (c->num < 1)
            return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': column numbers start at 1", what, (int) n, s);
        return 0;
    }
    if (memchr (p, '\n', len) || memchr (p, ',', len))
        return tl_err_set (e, TL_EINVAL, 0, "%s '%.*s': not a column name", what, (int) n, s);
    memcpy (c->name, p, len);
    c->name [len] = 0;
    return 0;
}

static int
s_parse_agg (const char *s, tl_qagg_t *a, tl_err_t *e)
{
    static const struct {
        const char *name;
        tl_qkind_t kind;
    } kinds [] = { { "count", TL_Q_COUNT }, { "sum", TL_Q_SUM }, { "min", TL_Q_MIN }, { "max", TL_Q_MAX }, { "avg", TL_Q_AVG } };
    memset (a, 0, sizeof *a);
    a->cell = -1;
    const char *p = s, *end = s + strlen (s);
    tl_trim (&p, &end);
    size_t k = strcspn (p, ":(");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds [0]; i++) {
        if (strlen (kinds [i].name) != k || strncasecmp (p, kinds [i].name, k) != 0)
            continue;
        a->kind = kinds [i].kind;
        if (a->kind == TL_Q_COUNT) {
            if (p + k != end)
                return tl_err_set (e, TL_EINVAL, 0, "--agg '%s': count takes no column", s);
            return 0;
        }
        const char *c = p + k, *ce = end;     /* the column: "sum", "sum:", "sum()" have none */
        if (c != ce) {
            if (*c++ == '(') {
                if (ce == c || ce [-1] != ')')
                    return tl_err_set (e, TL_EINVAL, 0, "--agg '%s': missing ')'", s);
                ce--;
            }
            tl_trim (&c, &ce);
        }
        if (c == ce)
            return tl_err_set (e, TL_EINVAL, 0, "--agg '%s': %s needs a column, e.g. %s:trip_distance", s,
                               kinds [i].name, kinds [i].name);
        return s_parse_col (c, (size_t) (ce - c), &a->col, "--agg", e);
    }
    return tl_err_set (e, TL_EINVAL, 0, "--agg '%s': want count, sum:COL, min:COL, max:COL or avg:COL", s);
}

/*  Plain decimals ([+-]digits[.digits]) whose digits fit 2^53 and have at most 22 after the
    point: the digits and 10^k are then exact doubles, so one IEEE division rounds correctly and
    gives the very double strtod gives (Clinger's fast path). TLC values (1.59, 12.5, -73.99)
    all take it; strtod was 45% of query mode's instructions (callgrind). -1: use strtod. */
static int
s_parse_decimal (const char *p, const char *end, double *v)
{
    static const double pow10 [] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    bool neg = false, dot = false, any = false;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    uint64_t m = 0;
    int frac = 0;
    for (; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            if (m > ((1ULL << 53) - 9) / 10)
                return -1;
            m = m * 10 + (uint64_t) (*p - '0');
            any = true;
            frac += dot;
        }
        else if (*p == '.' && !dot)
            dot = true;
        else
            return -1;
    }
    if (!any || frac > 22)
        return -1;
    double d = (double) m / pow10 [frac];
    *v = neg ? -d : d;
    return 1;
}

int
tl_query_parse_num (const char *p, size_t n, double *v)
{
    const char *end = p + n;
    tl_trim (&p, &end);
    if (p == end || end - p > 63)
        return 0;
    if (s_parse_decimal (p, end, v) == 1)
        return 1;
    char tmp [64];
    memcpy (tmp, p, (size_t) (end - p));
    tmp [end - p] = 0;
    char *x;
    double d = strtod (tmp, &x);
    if (*x || !isfinite (d) || x == tmp)
        return 0;
    /* strtod also takes hex and "nan"/"inf"; data files mean decimal numbers. */
    if (strpbrk (tmp, "xXnNiI"))
        return 0;
    *v = d;
    return 1;
}

static int
s_parse_where (const char *s, tl_qwhere_t *w, tl_err_t *e)
{
    memset (w, 0, sizeof *w);
    static const struct {
        const char *op;
        tl_qop_t code;
    } ops [] = { { "!=", TL_Q_NE }, { "<=", TL_Q_LE }, { ">=", TL_Q_GE }, { "==", TL_Q_EQ },
                 { "=", TL_Q_EQ },  { "<", TL_Q_LT },  { ">", TL_Q_GT } };
    const char *at = NULL;
    size_t oplen = 0;
    for (const char *p = s; *p && !at; p++)
        for (size_t i = 0; i < sizeof ops / sizeof ops [0]; i++)
            if (strncmp (p, ops [i].op, strlen (ops [i].op)) == 0) {
                at = p;
                oplen = strlen (ops [i].op);
                w->op = ops [i].code;
                break;
            }
    if (!at)
        return tl_err_set (e, TL_EINVAL, 0, "--where '%s': want COL OP VALUE with OP one of = != < <= > >=", s);
    const char *c = s, *ce = at;
    tl_trim (&c, &ce);
    if (c < ce && strchr ("<>=!", ce [-1]))     /* "a ! = 3", "a =! 3": an operator split or doubled */
        return tl_err_set (e, TL_EINVAL, 0, "--where '%s': a column name cannot end with '%c' (this reads as "
                           "column '%.*s', operator %.*s)", s, ce [-1], (int) (ce - c), c, (int) oplen, at);
    int rc = s_parse_col (s, (size_t) (at - s), &w->col, "--where", e);
    if (rc)
        return rc;
    const char *v = at + oplen, *ve = v + strlen (v);
    tl_trim (&v, &ve);
    if (ve - v >= 2 && (*v == '\'' || *v == '"') && ve [-1] == *v) {
        v++;
        ve--;
    }
    else if (v < ve && strchr ("<>=!", *v)) {
        /* "a >> 3" would compare with the text "> 3" and quietly drop every row: far more
           often a typo than meant. A quoted value ('>3') says it is meant. */
        return tl_err_set (e, TL_EINVAL, 0,
                           "--where '%s': a value cannot start with '%c' (this reads as %.*s %.*s '%.*s'; quote the "
                           "value if that is what you mean)",
                           s, *v, (int) (ce - c), c, (int) oplen, at, (int) (ve - v), v);
    }
    if ((size_t) (ve - v) >= sizeof w->value || memchr (v, '\n', (size_t) (ve - v)))
        return tl_err_set (e, TL_EINVAL, 0, "--where '%s': value too long", s);
    memcpy (w->value, v, (size_t) (ve - v));
    w->value [ve - v] = 0;
    w->numeric = tl_query_parse_num (w->value, strlen (w->value), &w->num);
    return 0;
}

static int
s_parse_alias (const char *s, tl_qalias_t *a, tl_err_t *e)
{
    memset (a, 0, sizeof *a);
    const char *eq = strchr (s, '=');
    if (!eq || eq == s || !eq [1])
        return tl_err_set (e, TL_EINVAL, 0, "--column-alias '%s': want NAME=OTHER[|OTHER...]", s);
    const char *p = s, *pe = eq;
    tl_trim (&p, &pe);
    if (pe - p <= 0 || (size_t) (pe - p) >= sizeof a->name)
        return tl_err_set (e, TL_EINVAL, 0, "--column-alias '%s': bad name", s);
    memcpy (a->name, p, (size_t) (pe - p));
    const char *q = eq + 1;
    while (*q) {
        const char *bar = strchr (q, '|');
        const char *x = q, *xe = bar ? bar : q + strlen (q);
        tl_trim (&x, &xe);
        if (xe - x <= 0 || (size_t) (xe - x) >= sizeof a->alts [0] || a->nalts == 8 || memchr (x, '\n', (size_t) (xe - x)))
            return tl_err_set (e, TL_EINVAL, 0, "--column-alias '%s': 1 to 8 names separated by |", s);
        memcpy (a->alts [a->nalts], x, (size_t) (xe - x));
        a->alts [a->nalts++][xe - x] = 0;
        if (!bar)
            break;
        q = bar + 1;
    }
    return 0;
}

static void
s_finish (tl_query_t *q)
{
    q->nvals = 0;
    for (int i = 0; i < q->naggs; i++)
        q->aggs [i].cell = q->aggs [i].kind == TL_Q_COUNT ? -1 : q->nvals++;
}

bool
tl_query_is_plain (const char *text)
{
    return !strchr (text, '\n');
}

int
tl_query_parse (const char *text, tl_query_t *q, tl_err_t *e)
{
    memset (q, 0, sizeof *q);
    if (tl_query_is_plain (text)) {
        int rc = s_parse_col (text, strlen (text), &q->by [0], "--group-by", e);
        if (rc)
            return rc;
        q->nby = 1;
        q->aggs [0].kind = TL_Q_COUNT;
        q->naggs = 1;
        s_finish (q);
        return 0;
    }
    const char *p = text;
    while (*p) {
        const char *nl = strchr (p, '\n');
        if (!nl)
            return tl_err_set (e, TL_EPROTO, 0, "query text: last line has no newline");
        char line [1024];
        size_t n = (size_t) (nl - p);
        if (n >= sizeof line)
            return tl_err_set (e, TL_EPROTO, 0, "query text: line too long");
        memcpy (line, p, n);
        line [n] = 0;
        p = nl + 1;
        int rc = 0;
        if (strncmp (line, "by ", 3) == 0) {
            if (q->nby == TL_QUERY_MAX_BY)
                return tl_err_set (e, TL_EINVAL, 0, "at most %d group-by columns", TL_QUERY_MAX_BY);
            rc = s_parse_col (line + 3, n - 3, &q->by [q->nby++], "--group-by", e);
        }
        else if (strncmp (line, "agg ", 4) == 0) {
            if (q->naggs == TL_QUERY_MAX_AGG)
                return tl_err_set (e, TL_EINVAL, 0, "at most %d aggregates", TL_QUERY_MAX_AGG);
            rc = s_parse_agg (line + 4, &q->aggs [q->naggs++], e);
        }
        else if (strncmp (line, "where ", 6) == 0) {
            if (q->nwhere == TL_QUERY_MAX_WHERE)
                return tl_err_set (e, TL_EINVAL, 0, "at most %d filters", TL_QUERY_MAX_WHERE);
            rc = s_parse_where (line + 6, &q->where [q->nwhere++], e);
        }
        else if (strncmp (line, "alias ", 6) == 0) {
            if (q->nalias == TL_QUERY_MAX_ALIAS)
                return tl_err_set (e, TL_EINVAL, 0, "at most %d aliases", TL_QUERY_MAX_ALIAS);
            rc = s_parse_alias (line + 6, &q->alias [q->nalias++], e);
        }
        else
            return tl_err_set (e, TL_EPROTO, 0, "query text: unknown item '%.40s'", line);
        if (rc)
            return rc;
    }
    if (q->nby == 0)
        return tl_err_set (e, TL_EINVAL, 0, "a query needs at least one --group-by column");
    if (q->naggs == 0) {
        q->aggs [0].kind = TL_Q_COUNT;
        q->aggs [0].cell = -1;
        q->naggs = 1;
    }
    s_finish (q);
    return 0;
}

/*  Append "KIND ITEM\n" to a growing text. */
static int
s_append (char **text, size_t *len, const char *kind, const char *item, size_t ilen)
{
    size_t need = *len + strlen (kind) + 1 + ilen + 2;
    char *t = realloc (*text, need);
    if (!t)
        return TL_ENOMEM;
    *text = t;
    *len += (size_t) sprintf (t + *len, "%s %.*s\n", kind, (int) ilen, item);
    return 0;
}

int
tl_query_build (const char *const *by, int nby, const char *const *aggs, int naggs, const char *const *wheres,
                int nwheres, const char *const *aliases, int naliases, char **text, tl_err_t *e)
{
    *text = NULL;
    char *t = NULL;
    size_t len = 0;
    int keys = 0, rc = 0, plain_agg = 1;
    for (int i = 0; i < nby && rc == 0; i++) {
        /* "a,b" is two keys; a slice never holds a comma. */
        const char *p = by [i];
        for (;;) {
            const char *comma = strchr (p, ',');
            size_t n = comma ? (size_t) (comma - p) : strlen (p);
            tl_qcol_t c;
            if ((rc = s_parse_col (p, n, &c, "--group-by", e)) != 0)
                break;
            if (++keys > TL_QUERY_MAX_BY) {
                rc = tl_err_set (e, TL_EINVAL, 0, "at most %d group-by columns", TL_QUERY_MAX_BY);
                break;
            }
            const char *x = p, *xe = p + n;
            tl_trim (&x, &xe);
            if ((rc = s_append (&t, &len, "by", x, (size_t) (xe - x))) != 0)
                break;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    if (rc == 0 && keys == 0)
        rc = tl_err_set (e, TL_EINVAL, 0, "--group-by COL is required");
    for (int i = 0; i < naggs && rc == 0; i++) {
        tl_qagg_t a;
        if (i >= TL_QUERY_MAX_AGG)
            rc = tl_err_set (e, TL_EINVAL, 0, "at most %d aggregates", TL_QUERY_MAX_AGG);
        else if ((rc = s_parse_agg (aggs [i], &a, e)) == 0) {
            plain_agg &= a.kind == TL_Q_COUNT && naggs == 1;
            const char *x = aggs [i], *xe = x + strlen (x);
            tl_trim (&x, &xe);
            rc = s_append (&t, &len, "agg", x, (size_t) (xe - x));
        }
    }
    for (int i = 0; i < nwheres && rc == 0; i++) {
        tl_qwhere_t w;
        if (i >= TL_QUERY_MAX_WHERE)
            rc = tl_err_set (e, TL_EINVAL, 0, "at most %d --where filters", TL_QUERY_MAX_WHERE);
        else if (strchr (wheres [i], '\n'))
            rc = tl_err_set (e, TL_EINVAL, 0, "--where: no newlines");
        else if ((rc = s_parse_where (wheres [i], &w, e)) == 0)
            rc = s_append (&t, &len, "where", wheres [i], strlen (wheres [i]));
    }
    for (int i = 0; i < naliases && rc == 0; i++) {
        tl_qalias_t a;
        if (i >= TL_QUERY_MAX_ALIAS)
            rc = tl_err_set (e, TL_EINVAL, 0, "at most %d --column-alias", TL_QUERY_MAX_ALIAS);
        else if ((rc = s_parse_alias (aliases [i], &a, e)) == 0)
            rc = s_append (&t, &len, "alias", aliases [i], strlen (aliases [i]));
    }
    if (rc) {
        free (t);
        return rc;
    }
    /* The plain form: one key, no slice, count only, no filter, no alias. */
    tl_query_t q;
    if (keys == 1 && plain_agg && nwheres == 0 && naliases == 0 && tl_query_parse (t, &q, e) == 0
        && q.by [0].from == 0 && q.by [0].to == UINT32_MAX) {
        char *plain = strndup (t + 3, strcspn (t + 3, "\n"));
        free (t);
        if (!plain)
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        *text = plain;
        return 0;
    }
    tl_query_t check;
    if ((rc = tl_query_parse (t, &check, e)) != 0) {
        free (t);
        return rc;
    }
    *text = t;
    return 0;
}

static int
s_try (const char *line, size_t len, const char *name)
{
    return tl_header_find_column (line, len, name);
}

/*  What the names of one alias group found so far (found), and one more name's lookup (c): the
    column, -1 for none yet, or an ambiguity (a name twice, or two names in two columns). */
static int
s_also (int found, int c)
{
    if (found < -1 || c == -1)
        return found;
    if (c < 0)
        return c;
    return found >= 0 && found != c ? TL_QUERY_ALIAS_TWICE : c;
}

int
tl_query_find_column (const tl_query_t *q, const char *line, size_t len, const char *name)
{
    int c = s_try (line, len, name);
    if (c != -1)
        return c;       /* found, or named twice */
    /* The name is not there: its alias group's names. Two of them in two columns (a header
       that holds Trip_Pickup_DateTime and pickup_datetime) cannot be told apart, as a name
       twice cannot: which one the group's order would pick is not what the user chose. */
    for (int i = 0; q && i < q->nalias; i++) {
        const tl_qalias_t *a = &q->alias [i];
        int hit = strcasecmp (a->name, name) == 0;
        for (int j = 0; j < a->nalts && !hit; j++)
            hit = strcasecmp (a->alts [j], name) == 0;
        if (!hit)
            continue;
        c = s_try (line, len, a->name);
        for (int j = 0; j < a->nalts; j++)
            c = s_also (c, s_try (line, len, a->alts [j]));
        if (c != -1)
            return c;
    }
    for (size_t i = 0; i < sizeof s_tlc / sizeof s_tlc [0]; i++) {
        int hit = 0;
        for (int j = 0; s_tlc [i][j] && !hit; j++)
            hit = strcasecmp (s_tlc [i][j], name) == 0;
        if (!hit)
            continue;
        c = -1;
        for (int j = 0; s_tlc [i][j]; j++)
            c = s_also (c, s_try (line, len, s_tlc [i][j]));
        if (c != -1)
            return c;
    }
    return -1;
}

int
tl_query_column_error (tl_err_t *e, const char *name, int found, const char *line, size_t len)
{
    size_t show = len > 300 ? 300 : len;
    if (found == TL_HEADER_TWICE)
        return tl_err_set (e, TL_ECOLUMN, 0, "column '%s' is named more than once in header '%.*s%s' (case aside), "
                           "so which one is meant cannot be told (name it by its position instead, 1 for the first)",
                           name, (int) show, line, show < len ? "..." : "");
    if (found == TL_QUERY_ALIAS_TWICE)
        return tl_err_set (e, TL_ECOLUMN, 0, "column '%s' is not in header '%.*s%s', and two of its other names are, "
                           "in two columns, so which one is meant cannot be told (name one of them, or its position, "
                           "1 for the first)", name, (int) show, line, show < len ? "..." : "");
    return tl_err_set (e, TL_ECOLUMN, 0, "column '%s' not found in header '%.*s%s'", name, (int) show, line,
                       show < len ? "..." : "");
}

/*  A column asked for by number that the header has no field for: every row would be bad. */
int
tl_query_width_error (tl_err_t *e, int num, int fields, const char *line, size_t len)
{
    size_t show = len > 300 ? 300 : len;
    return tl_err_set (e, TL_ECOLUMN, 0, "column %d asked for, but header '%.*s%s' has %d column%s", num, (int) show,
                       line, show < len ? "..." : "", fields, fields == 1 ? "" : "s");
}

static int
s_resolve (const tl_query_t *q, tl_qcol_t *c, const char *line, size_t len, int fields, tl_err_t *e)
{
    if (c->num > fields)
        return tl_query_width_error (e, c->num, fields, line, len);
    if (c->num)
        c->col = c->num - 1;
    else if ((c->col = tl_query_find_column (q, line, len, c->name)) < 0)
        return tl_query_column_error (e, c->name, c->col, line, len);
    return 0;
}

int
tl_query_resolve (tl_query_t *q, const char *line, size_t len, tl_err_t *e)
{
    int rc = 0, maxcol = 0, fields = tl_header_count_fields (line, len);
    for (int i = 0; i < q->nby && rc == 0; i++)
        if ((rc = s_resolve (q, &q->by [i], line, len, fields, e)) == 0 && q->by [i].col > maxcol)
            maxcol = q->by [i].col;
    for (int i = 0; i < q->naggs && rc == 0; i++)
        if (q->aggs [i].kind != TL_Q_COUNT && (rc = s_resolve (q, &q->aggs [i].col, line, len, fields, e)) == 0
            && q->aggs [i].col.col > maxcol)
            maxcol = q->aggs [i].col.col;
    for (int i = 0; i < q->nwhere && rc == 0; i++)
        if ((rc = s_resolve (q, &q->where [i].col, line, len, fields, e)) == 0 && q->where [i].col.col > maxcol)
            maxcol = q->where [i].col.col;
    q->maxcol = maxcol;
    return rc;
}

tl_field_t
tl_query_slice (const tl_qcol_t *c, tl_field_t f)
{
    if (c->from >= f.n)
        return (tl_field_t) { f.p + f.n, 0 };
    size_t to = c->to < f.n ? c->to : f.n;
    return (tl_field_t) { f.p + c->from, to - c->from };
}

static int
s_match (const tl_qwhere_t *w, tl_field_t v)
{
    double d;
    if (w->numeric && tl_query_parse_num (v.p, v.n, &d))
        return tl_query_where_num (w, d);
    if (w->numeric && w->op != TL_Q_EQ && w->op != TL_Q_NE)
        return 0;   /* an ordering against a number needs a number */
    size_t wn = strlen (w->value), n = v.n < wn ? v.n : wn;
    int c = memcmp (v.p, w->value, n);
    if (c == 0)
        c = (v.n > wn) - (v.n < wn);
    switch (w->op) {
        case TL_Q_EQ: return c == 0;
        case TL_Q_NE: return c != 0;
        case TL_Q_LT: return c < 0;
        case TL_Q_LE: return c <= 0;
        case TL_Q_GT: return c > 0;
        case TL_Q_GE: return c >= 0;
    }
    return 0;
}

bool
tl_query_where_text (const tl_qwhere_t *w, const char *p, size_t n)
{
    return s_match (w, tl_query_slice (&w->col, (tl_field_t) { p, n }));
}

bool
tl_query_where_num (const tl_qwhere_t *w, double d)
{
    switch (w->op) {
        case TL_Q_EQ: return d == w->num;
        case TL_Q_NE: return d != w->num;
        case TL_Q_LT: return d < w->num;
        case TL_Q_LE: return d <= w->num;
        case TL_Q_GT: return d > w->num;
        case TL_Q_GE: return d >= w->num;
    }
    return false;
}

int
tl_query_value_num (const tl_qcol_t *c, const char *p, size_t n, double *d)
{
    tl_field_t v = tl_query_slice (c, (tl_field_t) { p, n });
    return tl_query_parse_num (v.p, v.n, d);
}

static inline __attribute__ ((always_inline)) void
s_row (const tl_query_t *q, const tl_field_t *f, int nf, tl_agg_t *agg, tl_qstats_t *st, bool may_sep)
{
    if (nf <= q->maxcol) {
        st->bad++;
        return;
    }
    for (int i = 0; i < q->nwhere; i++)
        if (!s_match (&q->where [i], tl_query_slice (&q->where [i].col, f [q->where [i].col.col]))) {
            st->filtered++;
            return;
        }
    char key [TL_AGG_KEY_MAX + 1];
    size_t len = 0;
    for (int i = 0; i < q->nby; i++) {
        tl_field_t v = tl_query_slice (&q->by [i], f [q->by [i].col]);
        if (tl_query_part_bad (q, len, i, v.p, v.n, may_sep)) {
            st->bad++;
            return;
        }
        if (i)
            key [len++] = TL_QUERY_KEY_SEP;
        memcpy (key + len, v.p, v.n);
        len += v.n;
    }
    int rc;
    tl_cell_t *cells = tl_agg_upsert (agg, key, len, 1, &rc);
    if (rc) {
        st->bad++;
        return;
    }
    st->rows++;
    if (!cells)
        return;
    for (int i = 0; i < q->naggs; i++) {
        const tl_qagg_t *a = &q->aggs [i];
        if (a->cell < 0)
            continue;
        tl_cell_t *c = &cells [a->cell];
        tl_field_t v = tl_query_slice (&a->col, f [a->col.col]);
        double d;
        if (!tl_query_parse_num (v.p, v.n, &d)) {
            c->bad++;
            continue;
        }
        c->n++;
        c->sum += d;
        if (d < c->min)
            c->min = d;
        if (d > c->max)
            c->max = d;
    }
}

void
tl_query_row (const tl_query_t *q, const tl_field_t *f, int nf, tl_agg_t *agg, tl_qstats_t *st)
{
    s_row (q, f, nf, agg, st, true);
}

void
tl_query_row_nosep (const tl_query_t *q, const tl_field_t *f, int nf, tl_agg_t *agg, tl_qstats_t *st)
{
    s_row (q, f, nf, agg, st, false);
}

static void
s_col_label (const tl_qcol_t *c, char *out, size_t outlen)
{
    char base [140];
    if (c->num)
        snprintf (base, sizeof base, "#%d", c->num);
    else
        snprintf (base, sizeof base, "%s", c->name);
    if (c->from == 0 && c->to == UINT32_MAX)
        snprintf (out, outlen, "%s", base);
    else if (c->to == UINT32_MAX)
        snprintf (out, outlen, "%s[%u:]", base, c->from);
    else
        snprintf (out, outlen, "%s[%u:%u]", base, c->from, c->to);
}

void
tl_query_by_label (const tl_query_t *q, int i, char *out, size_t outlen)
{
    s_col_label (&q->by [i], out, outlen);
}

void
tl_query_agg_label (const tl_query_t *q, int i, char *out, size_t outlen)
{
    static const char *names [] = { "count", "sum", "min", "max", "avg" };
    const tl_qagg_t *a = &q->aggs [i];
    if (a->kind == TL_Q_COUNT) {
        snprintf (out, outlen, "count");
        return;
    }
    char col [160];
    s_col_label (&a->col, col, sizeof col);
    snprintf (out, outlen, "%s(%s)", names [a->kind], col);
}

size_t
tl_query_overflow (const tl_query_t *q, const tl_agg_t *agg, char *why, size_t whylen)
{
    size_t bad = 0, pos = 0;
    tl_agg_entry_t e;
    if (whylen)
        *why = 0;
    while (q->nvals && tl_agg_next (agg, &pos, &e)) {
        int which = -1;
        for (int i = 0; i < q->naggs && which < 0; i++)
            if (q->aggs [i].cell >= 0 && e.cells && !isfinite (e.cells [q->aggs [i].cell].sum))
                which = i;
        if (which < 0 || bad++)
            continue;
        char label [160], key [80];
        tl_query_agg_label (q, which, label, sizeof label);
        size_t n = e.len < sizeof key - 4 ? e.len : sizeof key - 4;
        for (size_t i = 0; i < n; i++)
            key [i] = e.key [i] == TL_QUERY_KEY_SEP ? ',' : (unsigned char) e.key [i] < 0x20 ? '?' : e.key [i];
        snprintf (key + n, sizeof key - n, "%s", n < e.len ? "..." : "");
        if (whylen)
            snprintf (why, whylen, "overflow: %s of group '%s' left the range of a double", label, key);
    }
    if (bad > 1 && whylen) {
        size_t used = strlen (why);
        snprintf (why + used, whylen - used, " (and %zu more group(s))", bad - 1);
    }
    return bad;
}

unsigned
tl_query_ncells (const char *text)
{
    tl_query_t *q = malloc (sizeof *q);
    tl_err_t e;
    unsigned n = q && text && tl_query_parse (text, q, &e) == 0 ? (unsigned) q->nvals : 0;
    free (q);
    return n;
}
