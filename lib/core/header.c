/*  header.c — see header.h. */
#include "lib/core/header.h"
#include <string.h>
#include <strings.h>

static void
s_trim (const char **p, const char **e)
{
    while (*p < *e && (**p == ' ' || **p == '\t'))
        (*p)++;
    while (*e > *p && ((*e) [-1] == ' ' || (*e) [-1] == '\t' || (*e) [-1] == '\r'))
        (*e)--;
}

int
tl_header_find_column (const char *line, size_t len, const char *name)
{
    const char *p = line, *end = line + len;
    if (len >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    size_t nlen = strlen (name);
    for (int idx = 0; p <= end; idx++) {
        const char *f = p, *fe = memchr (p, ',', (size_t) (end - p));
        if (!fe)
            fe = end;
        s_trim (&f, &fe);
        if (fe - f >= 2 && *f == '"' && fe [-1] == '"') {
            f++;
            fe--;
        }
        if ((size_t) (fe - f) == nlen && strncasecmp (f, name, nlen) == 0)
            return idx;
        p = fe + 1;
        while (p < end && p [-1] != ',')
            p++;
        if (p > end || (p == end && (end == line || end [-1] != ',')))
            break;
    }
    return -1;
}
