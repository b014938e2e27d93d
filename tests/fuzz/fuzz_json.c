/*  libFuzzer: any bytes (a key from a CSV or Parquet object) escaped for JSON. Checks: the output
    is valid UTF-8 with no raw control byte or unescaped quote, a short buffer never cuts a
    character (the pieces, joined, are the one-shot output), and every byte is consumed. */
#include <stdint.h>
#include "lib/base/json.h"
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *p = (const char *) data;
    size_t cap = 7 * size + 1;
    char *whole = malloc (cap), *joined = malloc (cap), piece [16];
    if (!whole || !joined)
        goto done;
    if (tl_json_escape (p, size, whole, cap) != size || !tl_utf8_valid (whole, strlen (whole)))
        __builtin_trap ();
    for (const char *c = whole; *c; c++)
        if ((unsigned char) *c < 0x20 || (*c == '"' && (c == whole || c [-1] != '\\')))
            __builtin_trap ();
    size_t at = 0, o = 0, room = 8 + (size ? data [0] % 8 : 0);
    while (at < size) {
        size_t took = tl_json_escape (p + at, size - at, piece, room);
        if (!took)
            __builtin_trap ();      /* 8 bytes hold any one escape or character */
        memcpy (joined + o, piece, strlen (piece));
        o += strlen (piece);
        at += took;
    }
    joined [o] = 0;
    if (strcmp (joined, whole) != 0)
        __builtin_trap ();
done:
    free (whole);
    free (joined);
    return 0;
}
