/*  libFuzzer: any bytes through the gzip/zstd/plain detector and decompressors, fed in two
    pieces split at a point taken from the input. An input whose first byte has its top bit set
    is a round trip instead: the rest, gzipped here as one to three members, then zero padding
    (and, if asked, one non-zero byte after it), is fed in small chunks; what comes out must be
    the rest exactly, or, with the stray byte, the stream must fail (never a shortened or
    lengthened text reported fine). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "lib/core/decomp.h"

static int
s_count (void *arg, const char *buf, size_t len)
{
    (void) buf;
    *(size_t *) arg += len;
    return 0;
}

typedef struct {
    const uint8_t *want;
    size_t n, got;
} s_cmp_t;

static int
s_compare (void *arg, const char *buf, size_t len)
{
    s_cmp_t *c = arg;
    if (c->got + len > c->n || memcmp (c->want + c->got, buf, len) != 0)
        __builtin_trap ();  /* more bytes than went in, or other ones */
    c->got += len;
    return 0;
}

/*  p [0..n) as one gzip member appended to out (room enough); returns its length. */
static size_t
s_gzip (const uint8_t *p, size_t n, uint8_t *out, size_t room)
{
    z_stream z = { 0 };
    if (deflateInit2 (&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        __builtin_trap ();
    z.next_in = (Bytef *) p;
    z.avail_in = (uInt) n;
    z.next_out = out;
    z.avail_out = (uInt) room;
    if (deflate (&z, Z_FINISH) != Z_STREAM_END)
        __builtin_trap ();
    size_t len = room - z.avail_out;
    deflateEnd (&z);
    return len;
}

static void
s_round_trip (const uint8_t *data, size_t size)
{
    int members = 1 + data [1] % 3;
    bool stray = data [1] & 0x80;
    size_t pad = (size_t) data [2] * 37, chunk = 1 + (data [0] & 0x7f);
    const uint8_t *text = data + 3;
    size_t n = size - 3;
    size_t room = (n + 64) * 2 + members * 64 + pad + 1;
    uint8_t *gz = malloc (room);
    if (!gz)
        return;
    size_t len = 0, at = 0;
    for (int i = 0; i < members; i++) {
        size_t part = i == members - 1 ? n - at : (n - at) / 2;
        len += s_gzip (text + at, part, gz + len, room - len);
        at += part;
    }
    memset (gz + len, 0, pad);
    len += pad;
    stray = stray && pad;   /* a byte right after a member is another member's header: not tested here */
    if (stray)
        gz [len++] = 'x';
    s_cmp_t c = { text, n, 0 };
    tl_err_t e;
    tl_decomp_t *d = tl_decomp_new (s_compare, &c, &e);
    int rc = d ? 0 : -1;
    for (size_t o = 0; d && rc == 0 && o < len; o += chunk)
        rc = tl_decomp_feed (d, (const char *) gz + o, len - o < chunk ? len - o : chunk);
    if (d && rc == 0)
        rc = tl_decomp_finish (d);
    if (d && !stray && (rc != 0 || c.got != n))
        __builtin_trap ();  /* valid gzip with zero padding: every byte, and no error */
    if (d && stray && rc == 0)
        __builtin_trap ();  /* a byte after the padding passed as fine */
    tl_decomp_destroy (&d);
    free (gz);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size >= 3 && (data [0] & 0x80)) {
        s_round_trip (data, size);
        return 0;
    }
    size_t out = 0;
    tl_err_t e;
    tl_decomp_t *d = tl_decomp_new (s_count, &out, &e);
    if (!d)
        return 0;
    size_t cut = size ? data [0] % (size + 1) : 0;
    if (tl_decomp_feed (d, (const char *) data, cut) == 0 && tl_decomp_feed (d, (const char *) data + cut, size - cut) == 0)
        tl_decomp_finish (d);
    tl_decomp_destroy (&d);
    return 0;
}
