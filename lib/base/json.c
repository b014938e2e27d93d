/*  json.c — see json.h. */
#include "lib/base/json.h"
#include <stdio.h>

size_t
tl_json_escape (const char *p, size_t n, char *out, size_t outlen)
{
    size_t o = 0, i = 0;
    if (!outlen)
        return 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char) p [i];
        char esc [8];
        size_t k;
        if (c == '"' || c == '\\')
            esc [0] = '\\', esc [1] = (char) c, k = 2;
        else if (c < 0x20 || c == 0x7f)
            k = (size_t) snprintf (esc, sizeof esc, "\\u%04x", c);
        else
            esc [0] = (char) c, k = 1;
        if (o + k + 1 > outlen)
            break;
        for (size_t j = 0; j < k; j++)
            out [o++] = esc [j];
    }
    out [o] = 0;
    return i;
}
