/*  json.h — JSON string escaping, the one rule every JSON writer in tally uses (logs, `watch
    --format json`): '"' and '\' get a backslash, control bytes and DEL become \u00XX, and every
    other byte (UTF-8 included) passes through. Pure: no I/O. */
#ifndef TL_JSON_H
#define TL_JSON_H
#include <stddef.h>

/*  Escape the n bytes at p as the body of a JSON string (no quotes) into out, NUL-terminated.
    Stops before a byte whose escape would not fit, so the output is always valid. Returns how
    many bytes of p were escaped (n when everything fit). */
size_t tl_json_escape (const char *p, size_t n, char *out, size_t outlen);
#endif
