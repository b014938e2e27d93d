/*  expand.c — see expand.h. A pattern is a sequence of literal runs and brace groups; each
    group is expanded to its alternatives first, then the product is walked like an odometer. */
#include "lib/store/expand.h"
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *lit;            /* literal text before the group */
    size_t litlen;
    char **alt;                 /* the group's alternatives (NULL: the last run, no group) */
    size_t nalt;
} s_part_t;

static int
s_push (char ***v, size_t *n, size_t *cap, char *s)
{
    if (!s)
        return TL_ENOMEM;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char **nv = realloc (*v, c * sizeof *nv);
        if (!nv) {
            free (s);
            return TL_ENOMEM;
        }
        *v = nv;
        *cap = c;
    }
    (*v) [(*n)++] = s;
    return 0;
}

static bool
s_digits (const char *p, size_t n)
{
    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit ((unsigned char) p [i]))
            return false;
    return true;
}

/*  The alternatives of the group body b[0..n): a range, a list, or 0 alternatives when it is
    neither (kept literally). */
static int
s_group (const char *b, size_t n, size_t max, char ***alt, size_t *nalt)
{
    size_t cap = 0;
    *alt = NULL;
    *nalt = 0;
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (b [i] == '.' && b [i + 1] == '.') {
            dots = b + i;
            break;
        }
    if (dots && s_digits (b, (size_t) (dots - b)) && s_digits (dots + 2, (size_t) (b + n - dots - 2))) {
        size_t wa = (size_t) (dots - b), wb = (size_t) (b + n - dots - 2);
        long from = strtol (b, NULL, 10), to = strtol (dots + 2, NULL, 10);
        int width = ((wa > 1 && b [0] == '0') || (wb > 1 && dots [2] == '0')) ? (int) (wa > wb ? wa : wb) : 0;
        long step = from <= to ? 1 : -1;
        if ((size_t) labs (to - from) + 1 > max)
            return TL_EFULL;
        for (long x = from;; x += step) {
            char buf [32];
            snprintf (buf, sizeof buf, "%0*ld", width, x);
            int rc = s_push (alt, nalt, &cap, strdup (buf));
            if (rc)
                return rc;
            if (x == to)
                break;
        }
        return 0;
    }
    if (!memchr (b, ',', n))
        return 0;
    const char *p = b, *end = b + n;
    while (p <= end) {
        const char *c = memchr (p, ',', (size_t) (end - p));
        if (!c)
            c = end;
        int rc = s_push (alt, nalt, &cap, strndup (p, (size_t) (c - p)));
        if (rc)
            return rc;
        p = c + 1;
    }
    return 0;
}

void
tl_expand_free (char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free (v [i]);
    free (v);
}

int
tl_expand (const char *pattern, size_t max, char ***out, size_t *n, tl_err_t *e)
{
    *out = NULL;
    *n = 0;
    if (!max || max > TL_EXPAND_MAX)
        max = TL_EXPAND_MAX;
    s_part_t parts [64];
    size_t np = 0, total = 1;
    int rc = 0;
    const char *p = pattern, *lit = pattern;
    while (*p && rc == 0) {
        const char *close = *p == '{' ? strchr (p, '}') : NULL;
        if (!close) {
            p++;
            continue;
        }
        char **alt;
        size_t nalt;
        if ((rc = s_group (p + 1, (size_t) (close - p - 1), max, &alt, &nalt)) != 0)
            break;
        if (!nalt) {
            p++;
            continue;
        }
        if (np == sizeof parts / sizeof *parts - 1) {
            tl_expand_free (alt, nalt);
            rc = tl_err_set (e, TL_EINVAL, 0, "'%s': more than %zu brace groups", pattern, np);
            break;
        }
        parts [np++] = (s_part_t) { lit, (size_t) (p - lit), alt, nalt };
        if (total > max / nalt + 1 || (total *= nalt) > max)
            rc = TL_EFULL;
        lit = p = close + 1;
    }
    if (rc == TL_EFULL)
        rc = tl_err_set (e, TL_EFULL, 0, "'%s' expands to more than %zu URIs", pattern, max);
    else if (rc == TL_ENOMEM)
        rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    size_t tail = strlen (lit), cap = 0;
    size_t idx [64] = { 0 };
    for (size_t k = 0; rc == 0 && k < total; k++) {
        size_t len = tail + 1;
        for (size_t i = 0; i < np; i++)
            len += parts [i].litlen + strlen (parts [i].alt [idx [i]]);
        char *s = malloc (len), *q = s;
        if (s) {
            for (size_t i = 0; i < np; i++) {
                memcpy (q, parts [i].lit, parts [i].litlen);
                q += parts [i].litlen;
                size_t al = strlen (parts [i].alt [idx [i]]);
                memcpy (q, parts [i].alt [idx [i]], al);
                q += al;
            }
            memcpy (q, lit, tail + 1);
        }
        if ((rc = s_push (out, n, &cap, s)) != 0)
            rc = tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        for (size_t i = np; i-- > 0;) {     /* the odometer: the rightmost group varies fastest */
            if (++idx [i] < parts [i].nalt)
                break;
            idx [i] = 0;
        }
    }
    for (size_t i = 0; i < np; i++)
        tl_expand_free (parts [i].alt, parts [i].nalt);
    if (rc) {
        tl_expand_free (*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int
tl_expand_lines (const char *text, size_t len, char ***v, size_t *n, tl_err_t *e)
{
    size_t cap = *n;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr (p, '\n', (size_t) (end - p)), *le = nl ? nl : end;
        const char *a = p, *b = le;
        while (a < b && isspace ((unsigned char) *a))
            a++;
        while (b > a && isspace ((unsigned char) b [-1]))
            b--;
        if (a < b && *a != '#') {
            if (memchr (a, 0, (size_t) (b - a)))
                return tl_err_set (e, TL_EINVAL, 0, "a NUL byte in a URI list");
            if (s_push (v, n, &cap, strndup (a, (size_t) (b - a))) != 0)
                return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        }
        p = le + 1;
    }
    return 0;
}
