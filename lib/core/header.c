/*  header.c — see header.h. */
#include "lib/core/header.h"
#include <ctype.h>
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

/*  The next field of a header line at *pp, split by the data rows' own rules (csv_line.c,
    csv_record.h): a quote opens a quoted field only as the field's first byte; inside one, ""
    is a quote and a lone quote closes it; what follows the closing quote up to the comma is
    dropped. So a quoted name that holds a comma is one field, as it is one field in every row,
    and the columns after it keep their numbers. *pp moves past the field (not the comma).
    Returns whether the field was quoted; [*f, *fe) is its content (quoted: still escaped),
    *open whether a quoted field ran to the end of the line unclosed. */
static int
s_field (const char **pp, const char *end, const char **f, const char **fe, int *open)
{
    const char *p = *pp;
    *open = 0;
    if (p < end && *p == '"') {
        *f = ++p;
        for (;;) {
            if (p >= end) {
                *open = 1;
                *fe = end;
                break;
            }
            if (*p == '"') {
                if (p + 1 < end && p [1] == '"') {
                    p += 2;
                    continue;
                }
                *fe = p++;
                break;
            }
            p++;
        }
        while (p < end && *p != ',')
            p++;
        *pp = p;
        return 1;
    }
    *f = p;
    *fe = p < end ? memchr (p, ',', (size_t) (end - p)) : NULL;
    if (!*fe)
        *fe = end;
    *pp = *fe;
    return 0;
}

/*  Does the quoted content [f, fe) (with "" for a quote) equal name, case aside? */
static int
s_quoted_eq (const char *f, const char *fe, const char *name, size_t nlen)
{
    size_t k = 0;
    while (f < fe) {
        if (k == nlen || tolower ((unsigned char) *f) != tolower ((unsigned char) name [k]))
            return 0;
        f += *f == '"' ? 2 : 1;
        k++;
    }
    return k == nlen;
}

static const char *
s_skip_bom (const char *line, size_t len)
{
    return len >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0 ? line + 3 : line;
}

int
tl_header_find_column (const char *line, size_t len, const char *name)
{
    const char *p = s_skip_bom (line, len), *end = line + len;
    size_t nlen = strlen (name);
    int found = -1;
    for (int idx = 0;; idx++) {
        const char *f, *fe;
        int open, hit;
        if (s_field (&p, end, &f, &fe, &open))
            hit = s_quoted_eq (f, fe, name, nlen);
        else {
            s_trim (&f, &fe);
            if (fe - f >= 2 && *f == '"' && fe [-1] == '"') {
                f++;
                fe--;
            }
            hit = (size_t) (fe - f) == nlen && strncasecmp (f, name, nlen) == 0;
        }
        if (hit) {
            if (found >= 0)
                return TL_HEADER_TWICE;
            found = idx;
        }
        if (p >= end)
            break;
        p++;    /* the comma */
    }
    return found;
}

int
tl_header_count_fields (const char *line, size_t len)
{
    const char *p = s_skip_bom (line, len), *end = line + len;
    int n = 0;
    for (;;) {
        const char *f, *fe;
        int open;
        s_field (&p, end, &f, &fe, &open);
        n++;
        if (p >= end)
            break;
        p++;    /* the comma */
    }
    return n;
}

int
tl_header_open_quote (const char *line, size_t len)
{
    const char *p = s_skip_bom (line, len), *end = line + len;
    for (;;) {
        const char *f, *fe;
        int open;
        s_field (&p, end, &f, &fe, &open);
        if (open)
            return 1;
        if (p >= end)
            return 0;
        p++;
    }
}
