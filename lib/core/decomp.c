/*  decomp.c — gzip and zstd streams. The first bytes decide: 1f 8b is gzip, 28 b5 2f fd is
    zstd, and so is 5? 2a 4d 18, a zstd skippable frame (pzstd starts every file with one).
    The magic of a format tally does not read (bzip2, xz, lz4, zip), and a UTF-16 or UTF-32 byte
    order mark, fail the object: read as text, its bytes made a header line and no rows (ok, 0
    rows) or rows of garbage. Anything
    else is plain text and goes straight through. Zero bytes after the last gzip member are
    padding (tar and some writers leave them; gzip -d ignores them) and are skipped; any other
    byte after them fails the object, as a member cut short does. */
#include "lib/core/decomp.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define OUT_BUF (256 << 10)

struct tl_decomp {
    tl_sink_fn out;
    void *arg;
    tl_err_t *e;
    tl_decomp_kind_t kind;
    unsigned char head [4];
    size_t nhead;
    z_stream z;
    bool z_open, z_ended, z_pad;     /* z_pad: a member ended and zero padding began */
    ZSTD_DStream *zs;
    size_t zs_last;         /* last ZSTD_decompressStream result: 0 when a frame is complete */
    char *buf;
};

tl_decomp_t *
tl_decomp_new (tl_sink_fn out, void *arg, tl_err_t *e)
{
    tl_decomp_t *self = calloc (1, sizeof *self);
    if (!self || !(self->buf = malloc (OUT_BUF))) {
        free (self);
        tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        return NULL;
    }
    self->out = out;
    self->arg = arg;
    self->e = e;
    return self;
}

void
tl_decomp_destroy (tl_decomp_t **self_p)
{
    if (self_p && *self_p) {
        tl_decomp_t *self = *self_p;
        if (self->z_open)
            inflateEnd (&self->z);
        ZSTD_freeDStream (self->zs);
        free (self->buf);
        free (self);
        *self_p = NULL;
    }
}

tl_decomp_kind_t
tl_decomp_kind (const tl_decomp_t *self)
{
    return self->kind;
}

static int
s_gzip (tl_decomp_t *self, const unsigned char *in, size_t len)
{
    self->z.next_in = (unsigned char *) in;
    self->z.avail_in = (uInt) len;
    while (self->z.avail_in > 0) {
        if (self->z_ended && (self->z_pad || *self->z.next_in == 0)) {
            self->z_pad = true;
            while (self->z.avail_in > 0 && *self->z.next_in == 0) {
                self->z.next_in++;
                self->z.avail_in--;
            }
            if (self->z.avail_in > 0 && *self->z.next_in == 0x1f)
                /* Python reads on, gzip -d drops the rest with a warning: whichever is meant,
                   the other would be a wrong total. */
                return tl_err_set (self->e, TL_EPROTO, 0, "gzip data has another member after zero padding "
                                   "(gzip -d ignores it, Python reads it): remove the padding between the "
                                   "members, or cut the object there");
            if (self->z.avail_in > 0)
                return tl_err_set (self->e, TL_EPROTO, 0, "gzip data is followed by bytes that are neither "
                                   "another member nor zero padding (corrupt object?)");
            break;
        }
        if (self->z_ended) {
            /* Another gzip member follows (concatenated files are valid gzip). */
            inflateReset (&self->z);
            self->z_ended = false;
        }
        self->z.next_out = (unsigned char *) self->buf;
        self->z.avail_out = OUT_BUF;
        int zr = inflate (&self->z, Z_NO_FLUSH);
        size_t got = OUT_BUF - self->z.avail_out;
        if (got) {
            int rc = self->out (self->arg, self->buf, got);
            if (rc)
                return rc;
        }
        if (zr == Z_STREAM_END)
            self->z_ended = true;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return tl_err_set (self->e, TL_EPROTO, 0, "gzip data is corrupt (%s)", self->z.msg ? self->z.msg : "zlib error");
        else if (zr == Z_BUF_ERROR && got == 0)
            break;
    }
    return 0;
}

static int
s_zstd (tl_decomp_t *self, const unsigned char *in, size_t len)
{
    ZSTD_inBuffer ib = { in, len, 0 };
    while (ib.pos < ib.size) {
        ZSTD_outBuffer ob = { self->buf, OUT_BUF, 0 };
        size_t r = ZSTD_decompressStream (self->zs, &ob, &ib);
        if (ZSTD_isError (r))
            return tl_err_set (self->e, TL_EPROTO, 0, "zstd data is corrupt (%s)", ZSTD_getErrorName (r));
        self->zs_last = r;
        if (ob.pos) {
            int rc = self->out (self->arg, self->buf, ob.pos);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/*  The name of a compression tally does not read whose magic h [0..3] holds, or NULL. */
static const char *
s_unread (const unsigned char *h, size_t n)
{
    if (n < 4)
        return NULL;
    if (h [0] == 'B' && h [1] == 'Z' && h [2] == 'h' && h [3] >= '1' && h [3] <= '9')
        return "bzip2";
    if (h [0] == 0xfd && h [1] == 0x37 && h [2] == 0x7a && h [3] == 0x58)
        return "xz";
    if ((h [0] == 0x04 && h [1] == 0x22 && h [2] == 0x4d && h [3] == 0x18)
        || (h [0] == 0x02 && h [1] == 0x21 && h [2] == 0x4c && h [3] == 0x18))
        return "lz4";
    if (h [0] == 'P' && h [1] == 'K' && h [2] == 0x03 && h [3] == 0x04)
        return "zip";
    return NULL;
}

static int
s_start (tl_decomp_t *self)
{
    const unsigned char *h = self->head;
    const char *unread = s_unread (h, self->nhead);
    if (unread)
        return tl_err_set (self->e, TL_EPROTO, 0, "the object is compressed with %s, which tally does not read "
                           "(gzip and zstd only): decompress it, or recompress it with gzip or zstd", unread);
    /* A UTF-16 (or UTF-32) byte order mark: read as bytes, its header matched no name and by
       number its keys held NUL bytes ("\0x\0"), ok (rt14). No UTF-8 text starts with ff or fe. */
    if (self->nhead >= 2 && ((h [0] == 0xff && h [1] == 0xfe) || (h [0] == 0xfe && h [1] == 0xff)
                             || (self->nhead >= 4 && h [0] == 0 && h [1] == 0 && h [2] == 0xfe && h [3] == 0xff)))
        return tl_err_set (self->e, TL_EPROTO, 0, "the object is UTF-16 or UTF-32 text (it starts with the byte order "
                           "mark %02x %02x), which tally does not read: convert it to UTF-8", h [0], h [1]);
    if (self->nhead >= 2 && h [0] == 0x1f && h [1] == 0x8b) {
        self->kind = TL_DECOMP_GZIP;
        if (inflateInit2 (&self->z, 15 + 16) != Z_OK)
            return tl_err_set (self->e, TL_ENOMEM, 0, "cannot start zlib");
        self->z_open = true;
    }
    else if (self->nhead >= 4 && ((h [0] == 0x28 && h [1] == 0xb5 && h [2] == 0x2f && h [3] == 0xfd)
                                  || ((h [0] & 0xf0) == 0x50 && h [1] == 0x2a && h [2] == 0x4d && h [3] == 0x18))) {
        self->kind = TL_DECOMP_ZSTD;
        if (!(self->zs = ZSTD_createDStream ()))
            return tl_err_set (self->e, TL_ENOMEM, 0, "cannot start zstd");
        ZSTD_initDStream (self->zs);
    }
    else
        self->kind = TL_DECOMP_PLAIN;
    /* Replay the bytes held back while deciding. */
    const char *held = (const char *) self->head;
    size_t n = self->nhead;
    self->nhead = 0;
    return tl_decomp_feed (self, held, n);
}

int
tl_decomp_feed (tl_decomp_t *self, const char *buf, size_t len)
{
    if (self->kind == TL_DECOMP_UNKNOWN) {
        while (len && self->nhead < 4) {
            self->head [self->nhead++] = (unsigned char) *buf++;
            len--;
        }
        if (self->nhead < 4)
            return 0;
        int rc = s_start (self);
        if (rc)
            return rc;
    }
    if (!len)
        return 0;
    switch (self->kind) {
        case TL_DECOMP_GZIP: return s_gzip (self, (const unsigned char *) buf, len);
        case TL_DECOMP_ZSTD: return s_zstd (self, (const unsigned char *) buf, len);
        default: return self->out (self->arg, buf, len);
    }
}

int
tl_decomp_finish (tl_decomp_t *self)
{
    if (self->kind == TL_DECOMP_UNKNOWN) {
        /* Fewer than 4 bytes in all: decide on what there is. */
        int rc = s_start (self);
        if (rc)
            return rc;
    }
    if (self->kind == TL_DECOMP_GZIP && !self->z_ended)
        return tl_err_set (self->e, TL_EPROTO, 0, "gzip data ends early (truncated object?)");
    if (self->kind == TL_DECOMP_ZSTD && self->zs_last != 0)
        return tl_err_set (self->e, TL_EPROTO, 0, "zstd data ends early (truncated object?)");
    return 0;
}
