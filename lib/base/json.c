/*  json.c — see json.h. */
#include "lib/base/json.h"
#include <stdio.h>

/*  The length of the valid UTF-8 character at p [0..n) with a lead byte of 0x80 or more, or
    0 when there is none (a stray continuation byte, a bad lead, a sequence cut short, an
    overlong form, a surrogate, past U+10FFFF): RFC 3629's table of well-formed sequences. */
static size_t
s_utf8_len (const unsigned char *p, size_t n)
{
    unsigned c = p [0];
    size_t k;
    unsigned lo = 0x80, hi = 0xbf;     /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        if (c == 0xe0)
            lo = 0xa0;                  /* overlong below */
        else if (c == 0xed)
            hi = 0x9f;                  /* surrogates above */
    }
    else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;                  /* past U+10FFFF above */
    }
    else
        return 0;
    if (n < k || p [1] < lo || p [1] > hi)
        return 0;
    for (size_t j = 2; j < k; j++)
        if (p [j] < 0x80 || p [j] > 0xbf)
            return 0;
    return k;
}

bool
tl_utf8_valid (const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *) p;
    for (size_t i = 0; i < n;) {
        if (u [i] < 0x80) {
            i++;
            continue;
        }
        size_t k = s_utf8_len (u + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

size_t
tl_json_escape (const char *p, size_t n, char *out, size_t outlen)
{
    const unsigned char *u = (const unsigned char *) p;
    size_t o = 0, i = 0;
    if (!outlen)
        return 0;
    while (i < n) {
        unsigned char c = u [i];
        char esc [8];
        const char *from = esc;
        size_t k, took = 1;
        if (c == '"' || c == '\\')
            esc [0] = '\\', esc [1] = (char) c, k = 2;
        else if (c < 0x20 || c == 0x7f)
            k = (size_t) snprintf (esc, sizeof esc, "\\u%04x", c);
        else if (c < 0x80)
            esc [0] = (char) c, k = 1;
        else if ((took = s_utf8_len (u + i, n - i)) != 0)
            from = p + i, k = took;         /* a whole character, as it is */
        else
            from = "\\ufffd", k = 6, took = 1;
        if (o + k + 1 > outlen)
            break;
        for (size_t j = 0; j < k; j++)
            out [o++] = from [j];
        i += took;
    }
    out [o] = 0;
    return i;
}
