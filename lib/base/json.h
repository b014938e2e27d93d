/*  json.h — JSON string escaping, the one rule every JSON writer in tally uses (logs, `watch
    --format json`, the dashboard): '"' and '\' get a backslash, control bytes and DEL become
    \u00XX, valid UTF-8 passes through, and a byte that is not part of valid UTF-8 (a key read
    from a Latin-1 file, say) becomes \ufffd, U+FFFD, so that the output is always JSON that a
    parser takes (RFC 8259 wants UTF-8). Pure: no I/O. */
#ifndef TL_JSON_H
#define TL_JSON_H
#include <stdbool.h>
#include <stddef.h>

/*  Escape the n bytes at p as the body of a JSON string (no quotes) into out, NUL-terminated.
    Stops before a byte or character whose escape would not fit, so the output is always valid.
    Returns how many bytes of p were escaped (n when everything fit). */
size_t tl_json_escape (const char *p, size_t n, char *out, size_t outlen);
/*  Are the n bytes at p valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
    U+10FFFF)? When not, tl_json_escape shows some of them as U+FFFD. */
bool tl_utf8_valid (const char *p, size_t n);
#endif
