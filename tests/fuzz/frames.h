/*  frames.h — how the update harnesses (fuzz_clone, fuzz_final_stream) cut their input into
    messages: each a 2-byte big-endian length and that many bytes (a length past the end is cut
    to what is left). */
#ifndef TL_FUZZ_FRAMES_H
#define TL_FUZZ_FRAMES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  The next frame at *off into *frame, *len; false at the end. */
static inline bool
fz_next_frame (const uint8_t *data, size_t size, size_t *off, const uint8_t **frame, size_t *len)
{
    if (*off + 2 > size)
        return false;
    size_t n = (size_t) data [*off] << 8 | data [*off + 1];
    *off += 2;
    if (n > size - *off)
        n = size - *off;
    *frame = data + *off;
    *len = n;
    *off += n;
    return true;
}
#endif
