/*  journal.c — append-only records with fsync. */
#include "broker/journal.h"
#include "lib/wire/codec.h"
#include "lib/base/util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tl_journal {
    int fd;
    char path [4096];
    char *buf;
    size_t len, cap;
};

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
    self->fd = open (self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        tl_err_set (e, TL_EIO, 0, "%s: %s", self->path, strerror (errno));
        free (self);
        return NULL;
    }
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

long
tl_journal_replay (tl_journal_t *self, int (*fn) (void *arg, const msgpack_object *rec), void *arg, tl_err_t *e)
{
    char *data = NULL;
    size_t len = 0;
    int rc = tl_read_file (self->path, &data, &len, 1ULL << 34, e);
    if (rc)
        return rc;
    size_t pos = 0;
    long n = 0;
    while (pos + 4 <= len) {
        const unsigned char *p = (const unsigned char *) data + pos;
        size_t rlen = ((size_t) p [0] << 24) | ((size_t) p [1] << 16) | ((size_t) p [2] << 8) | p [3];
        if (rlen > len - pos - 4)
            break;      /* torn */
        if (tl_msgpack_check (p + 4, rlen) != 0) {
            free (data);
            return tl_err_set (e, TL_EPROTO, 0, "%s: record %ld is corrupt", self->path, n + 1);
        }
        msgpack_unpacked up;
        msgpack_unpacked_init (&up);
        size_t off = 0;
        if (msgpack_unpack_next (&up, (const char *) p + 4, rlen, &off) != MSGPACK_UNPACK_SUCCESS
            || up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size == 0) {
            msgpack_unpacked_destroy (&up);
            free (data);
            return tl_err_set (e, TL_EPROTO, 0, "%s: record %ld is not an array", self->path, n + 1);
        }
        rc = fn (arg, &up.data);
        msgpack_unpacked_destroy (&up);
        if (rc) {
            free (data);
            return rc;
        }
        pos += 4 + rlen;
        n++;
    }
    free (data);
    if (pos < len && ftruncate (self->fd, (off_t) pos) != 0)
        return tl_err_set (e, TL_EIO, 0, "%s: truncate: %s", self->path, strerror (errno));
    lseek (self->fd, (off_t) pos, SEEK_SET);
    return n;
}

int
tl_journal_append (tl_journal_t *self, const char *rec, size_t len)
{
    if (len > UINT32_MAX)
        return TL_EINVAL;
    if (self->len + len + 4 > self->cap) {
        size_t cap = (self->len + len + 4) * 2;
        char *b = realloc (self->buf, cap);
        if (!b)
            return TL_ENOMEM;
        self->buf = b;
        self->cap = cap;
    }
    unsigned char *h = (unsigned char *) self->buf + self->len;
    h [0] = (unsigned char) (len >> 24);
    h [1] = (unsigned char) (len >> 16);
    h [2] = (unsigned char) (len >> 8);
    h [3] = (unsigned char) len;
    memcpy (self->buf + self->len + 4, rec, len);
    self->len += len + 4;
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
