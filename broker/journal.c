/*  journal.c — checksummed, sequence-numbered records with fsync (see journal.h). */
#include "broker/journal.h"
#include "lib/wire/codec.h"
#include "lib/base/util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "TALLYJ2\n"
#define MAGIC_LEN 8
#define HDR 16

struct tl_journal {
    int fd;
    char path [4096];
    char *buf;
    size_t len, cap;
    uint32_t seq;           /* of the last record appended */
    bool fresh;             /* nothing written yet, not even the magic */
};

static void
s_be32 (unsigned char *p, uint32_t v)
{
    p [0] = (unsigned char) (v >> 24);
    p [1] = (unsigned char) (v >> 16);
    p [2] = (unsigned char) (v >> 8);
    p [3] = (unsigned char) v;
}

static uint32_t
s_get32 (const unsigned char *p)
{
    return (uint32_t) p [0] << 24 | (uint32_t) p [1] << 16 | (uint32_t) p [2] << 8 | p [3];
}

tl_journal_t *
tl_journal_open (const char *dir, const char *name, tl_err_t *e)
{
    if (tl_mkdirs (dir, e) != 0)
        return NULL;
    tl_journal_t *self = calloc (1, sizeof *self);
    if (!self) {
        tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        return NULL;
    }
    snprintf (self->path, sizeof self->path, "%s/%s", dir, name);
    self->fd = open (self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->fd < 0) {
        tl_err_set (e, TL_EIO, 0, "%s: %s", self->path, strerror (errno));
        free (self);
        return NULL;
    }
    self->fresh = true;
    return self;
}

void
tl_journal_destroy (tl_journal_t **self_p)
{
    if (self_p && *self_p) {
        close ((*self_p)->fd);
        free ((*self_p)->buf);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
tl_journal_path (const tl_journal_t *self)
{
    return self->path;
}

int
tl_journal_reset (tl_journal_t *self, tl_err_t *e)
{
    if (ftruncate (self->fd, 0) != 0 || lseek (self->fd, 0, SEEK_SET) != 0)
        return tl_err_set (e, TL_EIO, 0, "%s: truncate: %s", self->path, strerror (errno));
    self->len = 0;
    self->seq = 0;
    self->fresh = true;
    return 0;
}

static int
s_damaged (const tl_journal_t *self, size_t off, const char *what, tl_err_t *e)
{
    return tl_err_set (e, TL_EPROTO, 0,
                       "%s is damaged at offset %zu (%s): refusing to resume from it; "
                       "use a new --state-dir, or --fresh to discard it", self->path, off, what);
}

long
tl_journal_replay (tl_journal_t *self, int (*fn) (void *arg, const msgpack_object *rec, tl_err_t *e), void *arg,
                   tl_err_t *e)
{
    char *data = NULL;
    size_t len = 0;
    int rc = tl_read_file (self->path, &data, &len, 1ULL << 34, e);
    if (rc)
        return rc;
    long n = 0;
    size_t pos = 0;
    if (len < MAGIC_LEN) {
        /* Empty, or a magic cut short by a crash before the first sync. */
        if (memcmp (data ? data : "", MAGIC, len) != 0) {
            free (data);
            return s_damaged (self, 0, "not a tally journal", e);
        }
        len = 0;
    }
    else if (memcmp (data, MAGIC, MAGIC_LEN) != 0) {
        free (data);
        return s_damaged (self, 0, "not a tally journal, or one from an older tally", e);
    }
    else
        pos = MAGIC_LEN;
    while (pos < len) {
        const unsigned char *p = (const unsigned char *) data + pos;
        if (len - pos < HDR)
            break;                                  /* torn header */
        uint32_t rlen = s_get32 (p), seq = s_get32 (p + 4);
        if ((uint32_t) crc32 (0, p, 8) != s_get32 (p + 8)) {
            free (data);
            return s_damaged (self, pos, "record header checksum", e);
        }
        if (rlen > len - pos - HDR)
            break;                                  /* torn payload */
        if (seq != (uint32_t) n + 1) {
            free (data);
            return s_damaged (self, pos, "record out of sequence", e);
        }
        if ((uint32_t) crc32 (0, p + HDR, rlen) != s_get32 (p + 12)) {
            free (data);
            return s_damaged (self, pos, "record checksum", e);
        }
        msgpack_unpacked up;
        msgpack_unpacked_init (&up);
        size_t off = 0;
        if (tl_msgpack_check (p + HDR, rlen) != 0
            || msgpack_unpack_next (&up, (const char *) p + HDR, rlen, &off) != MSGPACK_UNPACK_SUCCESS
            || up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size == 0) {
            msgpack_unpacked_destroy (&up);
            free (data);
            return s_damaged (self, pos, "record is not a msgpack array", e);
        }
        rc = fn (arg, &up.data, e);
        msgpack_unpacked_destroy (&up);
        if (rc) {
            free (data);
            if (rc == TL_EPROTO)
                return s_damaged (self, pos, e->msg, e);
            return rc;
        }
        pos += HDR + rlen;
        n++;
    }
    free (data);
    if (pos < len) {
        if (ftruncate (self->fd, (off_t) pos) != 0)
            return tl_err_set (e, TL_EIO, 0, "%s: truncate: %s", self->path, strerror (errno));
    }
    lseek (self->fd, (off_t) pos, SEEK_SET);
    self->seq = (uint32_t) n;
    self->fresh = pos == 0;
    return n;
}

int
tl_journal_append (tl_journal_t *self, const char *rec, size_t len)
{
    if (len > UINT32_MAX - HDR)
        return TL_EINVAL;
    size_t need = self->len + len + HDR + (self->fresh ? MAGIC_LEN : 0);
    if (need > self->cap) {
        size_t cap = need * 2;
        char *b = realloc (self->buf, cap);
        if (!b)
            return TL_ENOMEM;
        self->buf = b;
        self->cap = cap;
    }
    if (self->fresh) {
        memcpy (self->buf + self->len, MAGIC, MAGIC_LEN);
        self->len += MAGIC_LEN;
        self->fresh = false;
    }
    unsigned char *h = (unsigned char *) self->buf + self->len;
    s_be32 (h, (uint32_t) len);
    s_be32 (h + 4, ++self->seq);
    s_be32 (h + 8, (uint32_t) crc32 (0, h, 8));
    s_be32 (h + 12, (uint32_t) crc32 (0, (const unsigned char *) rec, (uInt) len));
    memcpy (self->buf + self->len + HDR, rec, len);
    self->len += len + HDR;
    return 0;
}

int
tl_journal_sync (tl_journal_t *self, tl_err_t *e)
{
    size_t off = 0;
    while (off < self->len) {
        ssize_t n = write (self->fd, self->buf + off, self->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return tl_err_set (e, TL_EIO, 0, "%s: write: %s", self->path, strerror (errno));
        off += (size_t) n;
    }
    self->len = 0;
    if (fsync (self->fd) != 0)
        return tl_err_set (e, TL_EIO, 0, "%s: fsync: %s", self->path, strerror (errno));
    return 0;
}
