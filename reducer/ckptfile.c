/*  ckptfile.c — the state dir's base and log (ckptfile.h): open, append, fsync, rename.

    Appends go into a write buffer that is written out whenever it holds a MiB, and at every
    sync (then fsync), so a task of any size passes through a bounded buffer; a record of a
    quarter MiB or more (a chunk of groups) is written as it is, after what is buffered. Load streams the
    log through the record reader a MiB at a time: memory beyond the ledger is one record and
    one task's groups. */
#include "reducer/ckptfile.h"
#include "reducer/ckptlog.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_NAME "reducer.ckpt"
#define LOG_NAME "reducer.log"
#define FLUSH_AT (1u << 20)

struct tl_ckptfile {
    char dir [4096], base_path [4200], log_path [4200];
    uint64_t compact;
    uint64_t gen;           /* of the base in place; 0: none */
    uint64_t base_size;
    bool due;               /* a base is due: appends are dropped until it is written */
    bool failed;            /* an append could not be written (werr says why) */
    tl_err_t werr;
    int fd;                 /* the log, -1 until a base exists */
    uint64_t log_size;      /* bytes written to the log */
    char *wbuf;
    size_t wlen, wcap;
    char error [TL_STR_MAX + 1];    /* the job's error, from an END record on replay */
    tl_ckptfile_stats_t st;
};

tl_ckptfile_t *
tl_ckptfile_new (const char *dir, uint64_t compact_bytes)
{
    tl_ckptfile_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->dir, sizeof self->dir, "%s", dir);
    snprintf (self->base_path, sizeof self->base_path, "%s/" BASE_NAME, dir);
    snprintf (self->log_path, sizeof self->log_path, "%s/" LOG_NAME, dir);
    self->compact = compact_bytes;
    self->fd = -1;
    self->due = true;       /* until a base is loaded or written */
    return self;
}

void
tl_ckptfile_destroy (tl_ckptfile_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_ckptfile_t *self = *self_p;
    if (self->fd >= 0)
        close (self->fd);
    free (self->wbuf);
    free (self);
    *self_p = NULL;
}

static int
s_write_all (int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/*  Write the buffer out (no fsync). A failure makes a base due: the log may now end in part of
    a record, and nothing may follow it. */
static int
s_flush (tl_ckptfile_t *self)
{
    if (self->failed)
        return TL_EIO;
    if (!self->wlen)
        return 0;
    if (self->fd < 0 || s_write_all (self->fd, self->wbuf, self->wlen) != 0) {
        tl_err_set (&self->werr, TL_EIO, 0, "%s: write: %s", self->log_path,
                    self->fd < 0 ? "not open" : strerror (errno));
        self->failed = self->due = true;
        self->wlen = 0;
        return TL_EIO;
    }
    self->log_size += self->wlen;
    self->st.log_bytes += self->wlen;
    self->wlen = 0;
    return 0;
}

static int
s_emit (void *arg, const void *rec, size_t len)
{
    tl_ckptfile_t *self = arg;
    if (len >= FLUSH_AT / 4) {
        /* A big record (a chunk of groups) goes out as it is, after what is buffered: copying
           it into the buffer first was a copy of every byte the log gets. */
        int rc = s_flush (self);
        if (rc)
            return rc;
        if (s_write_all (self->fd, rec, len) != 0) {
            tl_err_set (&self->werr, TL_EIO, 0, "%s: write: %s", self->log_path, strerror (errno));
            self->failed = self->due = true;
            return TL_EIO;
        }
        self->log_size += len;
        self->st.log_bytes += len;
        return 0;
    }
    if (self->wlen + len > self->wcap) {
        size_t cap = (self->wlen + len) * 2;
        char *b = realloc (self->wbuf, cap);
        if (!b) {
            tl_err_set (&self->werr, TL_ENOMEM, 0, "%s: out of memory", self->log_path);
            self->failed = self->due = true;
            return TL_ENOMEM;
        }
        self->wbuf = b;
        self->wcap = cap;
    }
    memcpy (self->wbuf + self->wlen, rec, len);
    self->wlen += len;
    return self->wlen >= FLUSH_AT ? s_flush (self) : 0;
}

void
tl_ckptfile_put_task (tl_ckptfile_t *self, const tl_msg_t *hdr, const tl_agg_t *staged)
{
    if (!self->due && tl_ckptlog_put_task (self->gen, hdr, staged, 0, s_emit, self) != 0 && !self->failed) {
        tl_err_set (&self->werr, TL_EINVAL, 0, "%s: task %llu could not be encoded", self->log_path,
                    (unsigned long long) hdr->task);
        self->failed = self->due = true;
    }
}

void
tl_ckptfile_put_tasks (tl_ckptfile_t *self, uint64_t ntasks, uint64_t bytes_total)
{
    if (!self->due)
        tl_ckptlog_put_tasks (self->gen, ntasks, bytes_total, s_emit, self);
}

void
tl_ckptfile_put_end (tl_ckptfile_t *self, bool ok, const char *error)
{
    if (!self->due)
        tl_ckptlog_put_end (self->gen, ok, error, s_emit, self);
}

int
tl_ckptfile_sync (tl_ckptfile_t *self, tl_err_t *e)
{
    if (self->failed) {
        if (e)
            *e = self->werr;
        return self->werr.code ? self->werr.code : TL_EIO;
    }
    if (self->due)
        return tl_err_set (e, TL_EINVAL, 0, "%s: a new base is due", self->base_path);
    if (s_flush (self) != 0) {
        if (e)
            *e = self->werr;
        return TL_EIO;
    }
    if (fsync (self->fd) != 0) {
        tl_err_set (&self->werr, TL_EIO, 0, "%s: fsync: %s", self->log_path, strerror (errno));
        self->failed = self->due = true;
        if (e)
            *e = self->werr;
        return TL_EIO;
    }
    return 0;
}

void
tl_ckptfile_want_base (tl_ckptfile_t *self)
{
    self->due = true;
    self->wlen = 0;
}

bool
tl_ckptfile_base_due (const tl_ckptfile_t *self)
{
    return self->due;
}

bool
tl_ckptfile_log_full (const tl_ckptfile_t *self, const tl_ledger_t *ledger)
{
    uint64_t bound = self->compact;
    if (bound == TL_CKPTFILE_COMPACT_AUTO) {
        /* Twice the state now, not only the base: while every task brings new groups the log
           is about the state itself, and a compaction would rewrite it to save nothing. */
        uint64_t state = tl_ledger_save_bound (ledger), base = self->base_size;
        bound = 2 * (state > base ? state : base);
        if (bound < TL_CKPTFILE_COMPACT_DEFAULT)
            bound = TL_CKPTFILE_COMPACT_DEFAULT;
    }
    uint64_t records = self->log_size + self->wlen;
    records = records > TL_CKPTLOG_MAGIC_LEN ? records - TL_CKPTLOG_MAGIC_LEN : 0;
    return records > bound;
}

/*  Empty the log: its magic alone, fsynced. Creates it when there is none. */
static int
s_log_reset (tl_ckptfile_t *self, tl_err_t *e)
{
    bool created = false;
    if (self->fd < 0) {
        self->fd = open (self->log_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (self->fd < 0)
            return tl_err_set (e, TL_EIO, 0, "%s: %s", self->log_path, strerror (errno));
        created = true;
    }
    if (ftruncate (self->fd, 0) != 0 || lseek (self->fd, 0, SEEK_SET) != 0
        || s_write_all (self->fd, TL_CKPTLOG_MAGIC, TL_CKPTLOG_MAGIC_LEN) != 0 || fsync (self->fd) != 0)
        return tl_err_set (e, TL_EIO, 0, "%s: cannot empty it: %s", self->log_path, strerror (errno));
    if (created) {
        int dfd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync (dfd);
            close (dfd);
        }
    }
    self->log_size = TL_CKPTLOG_MAGIC_LEN;
    return 0;
}

int
tl_ckptfile_base (tl_ckptfile_t *self, const tl_ledger_t *ledger, tl_ledger_meta_t *meta, tl_err_t *e)
{
    bool compaction = !self->due && tl_ckptfile_log_full (self, ledger);
    uint64_t log_was = self->log_size;
    char *buf = NULL;
    size_t len = 0;
    meta->seq = self->gen + 1;
    if (tl_ledger_save (ledger, meta, &buf, &len) != 0)
        return tl_err_set (e, TL_ENOMEM, 0, "%s: out of memory", self->base_path);
    int rc = tl_write_atomic (self->dir, BASE_NAME, buf, len, e);
    free (buf);
    if (rc != 0)
        return rc;      /* the old base and log stand, and both still hold: appends may go on */
    /* The new base is in place: from here until the log is empty, the log's records are of the
       old generation, which load ignores; nothing more is appended to it. */
    self->gen++;
    self->base_size = len;
    self->st.base_bytes += len;
    self->st.bases++;
    self->st.compactions += compaction;
    self->due = true;
    self->wlen = 0;
    if ((rc = s_log_reset (self, e)) != 0)
        return rc;
    self->due = self->failed = false;
    if (compaction && self->compact)     /* with 0, every checkpoint is one: not worth a line */
        tl_info ("compacted the checkpoint: a new base of %zu bytes (generation %llu) holds the log's %llu bytes",
                 len, (unsigned long long) self->gen, (unsigned long long) log_was);
    return 0;
}

static int
s_damaged (tl_ckptfile_t *self, const char *what, tl_err_t *e)
{
    return tl_err_set (e, TL_EPROTO, 0, "%s is damaged %s: refusing to start from it (the work it holds was "
                       "acknowledged); move the state dir away to start afresh", self->log_path, what);
}

/*  One replayed unit, applied to the ledger and meta. */
static int
s_replay (tl_ckptfile_t *self, tl_ledger_t *ledger, tl_ledger_meta_t *meta, const tl_ckptlog_rec_t *rec, tl_err_t *e)
{
    char what [512];
    if (rec->kind == TL_CKPTLOG_TASK) {
        int rc = tl_ledger_apply (ledger, &rec->msg);
        if (rc != 1) {
            snprintf (what, sizeof what, "at offset %llu: task %llu %s", (unsigned long long) rec->offset,
                      (unsigned long long) rec->msg.task,
                      rc == 0 ? "is applied twice (in the base, or earlier in the log)"
                              : "does not fit the job (beyond its task count, or of another query)");
            return s_damaged (self, what, e);
        }
    }
    else if (rec->kind == TL_CKPTLOG_TASKS) {
        if (tl_ledger_set_tasks (ledger, rec->msg.tasks) != 0) {
            snprintf (what, sizeof what, "at offset %llu: a task count of %llu", (unsigned long long) rec->offset,
                      (unsigned long long) rec->msg.tasks);
            return s_damaged (self, what, e);
        }
        meta->bytes_total = rec->msg.bytes_total;
    }
    else {
        meta->done = true;
        meta->ok = rec->msg.ok;
        snprintf (self->error, sizeof self->error, "%s", rec->msg.error);
        meta->error = self->error;
    }
    self->st.replayed++;
    return 0;
}

int
tl_ckptfile_load (tl_ckptfile_t *self, tl_ledger_t *ledger, tl_ledger_meta_t *meta, tl_err_t *e)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = tl_read_file (self->base_path, &buf, &len, 1ULL << 32, e);
    if (rc == TL_ENOTFOUND) {
        /* No base: a log with records in it lost its base (damage); a bare magic is harmless. */
        int fd = open (self->log_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            off_t size = lseek (fd, 0, SEEK_END);
            close (fd);
            if (size > TL_CKPTLOG_MAGIC_LEN)
                return tl_err_set (e, TL_EPROTO, 0, "%s holds %lld bytes of records but %s is missing: refusing to "
                                   "start without the base they follow; move the state dir away to start afresh",
                                   self->log_path, (long long) size, self->base_path);
        }
        return TL_ENOTFOUND;
    }
    if (rc != 0)
        return rc;
    tl_err_t le;
    if (tl_ledger_load (ledger, meta, buf, len, &le) != 0) {
        free (buf);
        return tl_err_set (e, TL_EPROTO, 0, "%s: %s; move it away to start afresh", self->base_path, le.msg);
    }
    free (buf);
    self->gen = meta->seq;
    self->base_size = len;
    self->fd = open (self->log_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->fd < 0)
        return tl_err_set (e, TL_EIO, 0, "%s: %s", self->log_path, strerror (errno));
    tl_ckptlog_reader_t *rd = tl_ckptlog_reader_new (self->gen);
    char *piece = malloc (FLUSH_AT);
    if (!rd || !piece) {
        rc = tl_err_set (e, TL_ENOMEM, 0, "%s: out of memory", self->log_path);
        goto done;
    }
    for (;;) {
        ssize_t n = read (self->fd, piece, FLUSH_AT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tl_err_set (e, TL_EIO, 0, "%s: %s", self->log_path, strerror (errno));
            goto done;
        }
        if (tl_ckptlog_reader_feed (rd, piece, (size_t) n) != 0) {
            rc = tl_err_set (e, TL_ENOMEM, 0, "%s: out of memory", self->log_path);
            goto done;
        }
        tl_ckptlog_rec_t rec;
        tl_err_t re;
        int got;
        while ((got = tl_ckptlog_reader_next (rd, &rec, &re)) == 1)
            if ((rc = s_replay (self, ledger, meta, &rec, e)) != 0)
                goto done;
        if (got < 0) {
            rc = s_damaged (self, re.msg, e);
            goto done;
        }
        if (n == 0)
            break;
    }
    uint64_t torn = 0, good = tl_ckptlog_reader_good (rd, &torn);
    if (tl_ckptlog_reader_stale (rd)) {
        tl_info ("%s follows an older base than %s (a compaction was cut short): the base holds its records; "
                 "emptied", self->log_path, self->base_path);
        if ((rc = s_log_reset (self, e)) != 0)
            goto done;
    }
    else if (good < TL_CKPTLOG_MAGIC_LEN) {
        if ((rc = s_log_reset (self, e)) != 0)
            goto done;
    }
    else {
        if (torn) {
            tl_info ("%s: cut off an incomplete last record at offset %llu (%llu bytes; a write the reducer died "
                     "in, never acknowledged)", self->log_path, (unsigned long long) good, (unsigned long long) torn);
            if (ftruncate (self->fd, (off_t) good) != 0 || fsync (self->fd) != 0) {
                rc = tl_err_set (e, TL_EIO, 0, "%s: truncate: %s", self->log_path, strerror (errno));
                goto done;
            }
        }
        lseek (self->fd, (off_t) good, SEEK_SET);
        self->log_size = good;
    }
    self->due = false;
    rc = 0;
done:
    tl_ckptlog_reader_destroy (&rd);
    free (piece);
    return rc;
}

tl_ckptfile_stats_t
tl_ckptfile_stats (const tl_ckptfile_t *self)
{
    tl_ckptfile_stats_t st = self->st;
    st.log_size = self->log_size;
    return st;
}
