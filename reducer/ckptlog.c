/*  ckptlog.c — the checkpoint log's records (ckptlog.h): encoders and a streaming reader.

    The encoders build each record in one msgpack buffer with room for the header in front,
    fill the header in, and hand the record to the caller's emit function. An applied task's
    groups go in "groups" records of about `chunk` bytes: the groups of a record are counted
    first by their encodings' bound (a staged table's gathered as references, 32 bytes each),
    then packed once, straight into the record. The record buffer is reused, so a task of any
    size costs a record and its references here, never the task's whole encoding.

    The reader keeps the bytes it has been fed but not consumed, so a caller can stream a file
    through it in pieces of any size: it needs at most one record (TL_CKPTLOG_REC_MAX) plus a
    piece. A task's groups are merged into a staging table as their chunks arrive (a task is
    held whole only once, as the PARTIAL it was when it arrived), and the task is reported
    when its last chunk is in. */
#include "reducer/ckptlog.h"
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CELLS_MAX 64

static void
s_put32 (unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p [i] = (unsigned char) (v >> (24 - 8 * i));
}

static uint32_t
s_get32 (const unsigned char *p)
{
    return (uint32_t) p [0] << 24 | (uint32_t) p [1] << 16 | (uint32_t) p [2] << 8 | p [3];
}

/*  A record being built: the header's room, then the payload. Write failures latch. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    bool oom;
} s_out_t;

static int
s_out_write (void *data, const char *buf, size_t len)
{
    s_out_t *o = data;
    if (o->sb.data && o->sb.alloc - o->sb.size >= len) {      /* the common case: a few bytes, in place */
        memcpy (o->sb.data + o->sb.size, buf, len);
        o->sb.size += len;
    }
    else if (!o->oom && msgpack_sbuffer_write (&o->sb, buf, len) != 0)
        o->oom = true;
    return 0;
}

static void
s_out_init (s_out_t *o, bool framed)
{
    msgpack_sbuffer_init (&o->sb);
    msgpack_packer_init (&o->pk, o, s_out_write);
    o->oom = false;
    if (framed) {
        static const char zero [TL_CKPTLOG_HDR];
        s_out_write (o, zero, sizeof zero);
    }
}

/*  Fill in the header of a built record, emit it, and make the buffer ready for the next. */
static int
s_out_emit (s_out_t *o, uint64_t gen, tl_ckptlog_emit_fn emit, void *arg)
{
    if (o->oom || !o->sb.data)
        return TL_ENOMEM;
    size_t plen = o->sb.size - TL_CKPTLOG_HDR;
    if (plen > TL_CKPTLOG_REC_MAX)
        return TL_EINVAL;       /* cannot happen: a chunk is ~1 MiB plus one group */
    unsigned char *h = (unsigned char *) o->sb.data;
    s_put32 (h, (uint32_t) plen);
    s_put32 (h + 4, (uint32_t) (gen >> 32));
    s_put32 (h + 8, (uint32_t) gen);
    s_put32 (h + 12, (uint32_t) crc32 (0, h, 12));
    s_put32 (h + 16, (uint32_t) crc32 (0, h + TL_CKPTLOG_HDR, (uInt) plen));
    int rc = emit (arg, o->sb.data, o->sb.size);
    o->sb.size = TL_CKPTLOG_HDR;
    return rc;
}

static void
s_pack_str (msgpack_packer *pk, const char *s)
{
    s = s ? s : "";
    size_t n = strlen (s);
    msgpack_pack_str_with_body (pk, s, n > TL_STR_MAX ? TL_STR_MAX : n);
}

static void
s_pack_group (msgpack_packer *pk, const tl_agg_entry_t *g, unsigned nc)
{
    msgpack_pack_array (pk, nc ? 3 : 2);
    msgpack_pack_bin (pk, g->len);
    msgpack_pack_bin_body (pk, g->key, g->len);
    msgpack_pack_uint64 (pk, g->count);
    if (!nc)
        return;
    msgpack_pack_array (pk, 5 * nc);
    for (unsigned k = 0; k < nc; k++) {
        tl_cell_t c;
        if (g->cells)
            c = g->cells [k];
        else
            tl_cell_init (&c);
        msgpack_pack_uint64 (pk, c.n);
        msgpack_pack_uint64 (pk, c.bad);
        msgpack_pack_double (pk, c.sum);
        msgpack_pack_double (pk, c.min);
        msgpack_pack_double (pk, c.max);
    }
}

/*  One "groups" record of the task's groups v [0..n), packed straight into rec. */
static int
s_emit_chunk (s_out_t *rec, const tl_agg_entry_t *v, size_t n, unsigned nc, uint64_t gen, uint64_t task,
              tl_ckptlog_emit_fn emit, void *arg)
{
    msgpack_pack_array (&rec->pk, 3);
    msgpack_pack_str_with_body (&rec->pk, "groups", 6);
    msgpack_pack_uint64 (&rec->pk, task);
    msgpack_pack_array (&rec->pk, (uint32_t) n);
    for (size_t i = 0; i < n; i++)
        s_pack_group (&rec->pk, &v [i], nc);
    return s_out_emit (rec, gen, emit, arg);
}

int
tl_ckptlog_put_task (uint64_t gen, const tl_msg_t *hdr, const tl_agg_t *staged, size_t chunk,
                     tl_ckptlog_emit_fn emit, void *arg)
{
    unsigned nc = staged ? tl_agg_ncells (staged) : (unsigned) hdr->ncells;
    uint64_t ngroups = staged ? tl_agg_size (staged) : hdr->n_groups;
    if (nc > CELLS_MAX)
        return TL_EINVAL;
    if (!chunk)
        chunk = TL_CKPTLOG_CHUNK;
    s_out_t rec;
    s_out_init (&rec, true);
    msgpack_pack_array (&rec.pk, 8);
    msgpack_pack_str_with_body (&rec.pk, "task", 4);
    msgpack_pack_uint64 (&rec.pk, hdr->task);
    msgpack_pack_uint64 (&rec.pk, hdr->attempt);
    msgpack_pack_uint64 (&rec.pk, hdr->length);
    s_pack_str (&rec.pk, hdr->mapper ? hdr->mapper : "?");
    uint64_t c [7] = { hdr->rows, hdr->bytes, hdr->bad, hdr->blank, hdr->filtered, hdr->fetched, hdr->skipped };
    msgpack_pack_array (&rec.pk, 7);
    for (int i = 0; i < 7; i++)
        msgpack_pack_uint64 (&rec.pk, c [i]);
    msgpack_pack_uint64 (&rec.pk, nc);
    msgpack_pack_uint64 (&rec.pk, ngroups);
    int rc = s_out_emit (&rec, gen, emit, arg);
    /* A record's groups are those whose encodings (at most tl_msg_group_bound each) fill about
       chunk bytes: counted first, so that each is packed once, straight into the record. A
       staged table's groups are gathered as references (its keys stay put). */
    tl_agg_entry_t *gather = NULL;
    size_t gcap = 0, pos = 0;
    for (uint64_t i = 0; rc == 0 && i < ngroups;) {
        size_t n = 0, bytes = 0;
        const tl_agg_entry_t *v = staged ? gather : hdr->groups + i;
        while (i + n < ngroups && (n == 0 || bytes < chunk)) {
            tl_agg_entry_t e;
            if (staged) {
                if (!tl_agg_next (staged, &pos, &e)) {
                    rc = TL_EINVAL;     /* the table changed under us: a caller's bug */
                    break;
                }
                if (n == gcap) {
                    size_t cap = gcap ? 2 * gcap : 4096;
                    tl_agg_entry_t *g = realloc (gather, cap * sizeof *g);
                    if (!g) {
                        rc = TL_ENOMEM;
                        break;
                    }
                    gather = g, gcap = cap;
                }
                gather [n] = e;
                v = gather;
            }
            else
                e = hdr->groups [i + n];
            bytes += tl_msg_group_bound (e.len, nc);
            n++;
        }
        if (rc == 0)
            rc = s_emit_chunk (&rec, v, n, nc, gen, hdr->task, emit, arg);
        i += n;
    }
    free (gather);
    msgpack_sbuffer_destroy (&rec.sb);
    return rc;
}

int
tl_ckptlog_put_tasks (uint64_t gen, uint64_t ntasks, uint64_t bytes_total, tl_ckptlog_emit_fn emit, void *arg)
{
    s_out_t rec;
    s_out_init (&rec, true);
    msgpack_pack_array (&rec.pk, 3);
    msgpack_pack_str_with_body (&rec.pk, "tasks", 5);
    msgpack_pack_uint64 (&rec.pk, ntasks);
    msgpack_pack_uint64 (&rec.pk, bytes_total);
    int rc = s_out_emit (&rec, gen, emit, arg);
    msgpack_sbuffer_destroy (&rec.sb);
    return rc;
}

int
tl_ckptlog_put_end (uint64_t gen, bool ok, const char *error, tl_ckptlog_emit_fn emit, void *arg)
{
    s_out_t rec;
    s_out_init (&rec, true);
    msgpack_pack_array (&rec.pk, 3);
    msgpack_pack_str_with_body (&rec.pk, "end", 3);
    if (ok)
        msgpack_pack_true (&rec.pk);
    else
        msgpack_pack_false (&rec.pk);
    s_pack_str (&rec.pk, error);
    int rc = s_out_emit (&rec, gen, emit, arg);
    msgpack_sbuffer_destroy (&rec.sb);
    return rc;
}

/* ---- the reader ---- */

struct tl_ckptlog_reader {
    uint64_t gen;
    unsigned char *buf;
    size_t len, pos, cap;       /* buf [pos, len) not consumed yet */
    uint64_t base_off;          /* the log offset of buf [0] */
    bool magic_ok, seen, stale;
    uint64_t good;              /* the log offset after the last whole unit */
    bool in_task;               /* a task's header is in, its groups are coming */
    uint64_t unit_off, want, got;
    tl_msg_t hdr;
    char mapper [TL_STR_MAX + 1];
    char error [TL_STR_MAX + 1];
    tl_agg_t *stage;
    unsigned stage_cells;
    tl_agg_entry_t *entries;
    size_t entries_cap;
};

tl_ckptlog_reader_t *
tl_ckptlog_reader_new (uint64_t gen)
{
    tl_ckptlog_reader_t *self = calloc (1, sizeof *self);
    if (self)
        self->gen = gen;
    return self;
}

void
tl_ckptlog_reader_destroy (tl_ckptlog_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tl_ckptlog_reader_t *self = *self_p;
    free (self->buf);
    tl_agg_destroy (&self->stage);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

int
tl_ckptlog_reader_feed (tl_ckptlog_reader_t *self, const void *data, size_t len)
{
    if (self->pos) {
        memmove (self->buf, self->buf + self->pos, self->len - self->pos);
        self->base_off += self->pos;
        self->len -= self->pos;
        self->pos = 0;
    }
    if (self->len + len > self->cap) {
        size_t cap = (self->len + len) * 2;
        unsigned char *b = realloc (self->buf, cap);
        if (!b)
            return TL_ENOMEM;
        self->buf = b;
        self->cap = cap;
    }
    if (len)
        memcpy (self->buf + self->len, data, len);
    self->len += len;
    return 0;
}

static int
s_damage (tl_err_t *e, uint64_t off, const char *what)
{
    return tl_err_set (e, TL_EPROTO, 0, "at offset %llu: %s", (unsigned long long) off, what);
}

static bool
s_uint (const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

static bool
s_str (const msgpack_object *o, char *out)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > TL_STR_MAX)
        return false;
    memcpy (out, o->via.str.ptr, o->via.str.size);
    out [o->via.str.size] = 0;
    return true;
}

static bool
s_num (const msgpack_object *o, double *v)
{
    if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        *v = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *v = (double) o->via.u64;
    else
        return false;
    return true;
}

static bool
s_is (const msgpack_object *o, const char *name)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen (name)
           && memcmp (o->via.str.ptr, name, o->via.str.size) == 0;
}

/*  A task's header: start staging its groups. */
static const char *
s_task_begin (tl_ckptlog_reader_t *self, const msgpack_object *a, uint32_t n, uint64_t off)
{
    if (n != 8)
        return "a task record of the wrong shape";
    tl_msg_t *h = &self->hdr;
    memset (h, 0, sizeof *h);
    h->type = TL_MSG_PARTIAL;
    uint64_t nc = 0;
    const msgpack_object *c = &a [5];
    if (!s_uint (&a [1], &h->task) || !s_uint (&a [2], &h->attempt) || !s_uint (&a [3], &h->length)
        || !s_str (&a [4], self->mapper) || c->type != MSGPACK_OBJECT_ARRAY || c->via.array.size != 7
        || !s_uint (&a [6], &nc) || !s_uint (&a [7], &self->want))
        return "a task record that does not decode";
    uint64_t *cnt [7] = { &h->rows, &h->bytes, &h->bad, &h->blank, &h->filtered, &h->fetched, &h->skipped };
    for (int i = 0; i < 7; i++)
        if (!s_uint (&c->via.array.ptr [i], cnt [i]))
            return "a task record whose counters do not decode";
    if (nc > CELLS_MAX)
        return "a task record with more than 64 cells per group";
    h->mapper = self->mapper;
    h->ncells = (size_t) nc;
    if (self->stage && self->stage_cells == nc)
        tl_agg_clear (self->stage);
    else {
        tl_agg_destroy (&self->stage);
        self->stage = nc ? tl_agg_new_cells ((unsigned) nc) : tl_agg_new ();
        self->stage_cells = (unsigned) nc;
        if (!self->stage)
            return "out of memory";
    }
    self->in_task = true;
    self->unit_off = off;
    self->got = 0;
    return NULL;
}

/*  A chunk of the staged task's groups. */
static const char *
s_task_groups (tl_ckptlog_reader_t *self, const msgpack_object *a, uint32_t n)
{
    uint64_t task;
    if (n != 3 || !s_uint (&a [1], &task) || a [2].type != MSGPACK_OBJECT_ARRAY)
        return "a groups record that does not decode";
    if (!self->in_task)
        return "groups of no task";
    if (task != self->hdr.task)
        return "groups of another task than the one before";
    const msgpack_object *gs = a [2].via.array.ptr;
    uint32_t ng = a [2].via.array.size;
    if (ng > self->want - self->got)
        return "more groups than the task's record announced";
    unsigned nc = self->stage_cells;
    for (uint32_t i = 0; i < ng; i++) {
        const msgpack_object *g = &gs [i];
        if (g->type != MSGPACK_OBJECT_ARRAY || g->via.array.size != (nc ? 3u : 2u))
            return "a group that does not decode";
        const msgpack_object *k = &g->via.array.ptr [0];
        uint64_t count;
        if (k->type != MSGPACK_OBJECT_BIN || k->via.bin.size > TL_AGG_KEY_MAX || !s_uint (&g->via.array.ptr [1], &count))
            return "a group that does not decode";
        tl_cell_t cells [CELLS_MAX];
        if (nc) {
            const msgpack_object *c = &g->via.array.ptr [2];
            if (c->type != MSGPACK_OBJECT_ARRAY || c->via.array.size != 5 * nc)
                return "a group whose cells do not decode";
            const msgpack_object *x = c->via.array.ptr;
            for (unsigned j = 0; j < nc; j++, x += 5)
                if (!s_uint (&x [0], &cells [j].n) || !s_uint (&x [1], &cells [j].bad) || !s_num (&x [2], &cells [j].sum)
                    || !s_num (&x [3], &cells [j].min) || !s_num (&x [4], &cells [j].max))
                    return "a group whose cells do not decode";
        }
        if (tl_agg_merge (self->stage, k->via.bin.ptr, k->via.bin.size, count, nc ? cells : NULL) != 0)
            return "out of memory";
    }
    self->got += ng;
    return NULL;
}

/*  The staged task as a PARTIAL. */
static int
s_task_emit (tl_ckptlog_reader_t *self, tl_ckptlog_rec_t *rec)
{
    size_t n = tl_agg_size (self->stage);
    if (n > self->entries_cap) {
        tl_agg_entry_t *v = realloc (self->entries, n * sizeof *v);
        if (!v)
            return TL_ENOMEM;
        self->entries = v;
        self->entries_cap = n;
    }
    size_t pos = 0, i = 0;
    while (i < n && tl_agg_next (self->stage, &pos, &self->entries [i]))
        i++;
    rec->kind = TL_CKPTLOG_TASK;
    rec->offset = self->unit_off;
    rec->msg = self->hdr;
    rec->msg.groups = self->entries;
    rec->msg.n_groups = i;
    self->in_task = false;
    return 1;
}

/*  One record's payload. Returns 1 with rec filled when a unit is whole, 0 when not yet, or
    damage. */
static int
s_record (tl_ckptlog_reader_t *self, const unsigned char *p, size_t len, uint64_t off, tl_ckptlog_rec_t *rec,
          tl_err_t *e)
{
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t used = 0;
    const char *bad = NULL;
    int rc = 0;
    if (tl_msgpack_check (p, len) != 0
        || msgpack_unpack_next (&up, (const char *) p, len, &used) != MSGPACK_UNPACK_SUCCESS
        || up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size == 0) {
        bad = "a record that is not a msgpack array";
        goto done;
    }
    const msgpack_object *a = up.data.via.array.ptr;
    uint32_t n = up.data.via.array.size;
    bool task = s_is (&a [0], "task"), groups = s_is (&a [0], "groups");
    if (self->in_task && !groups) {
        bad = "a task whose groups stop before the record that follows";
        goto done;
    }
    if (task) {
        if (!(bad = s_task_begin (self, a, n, off)) && self->want == 0)
            rc = s_task_emit (self, rec);
    }
    else if (groups) {
        if (!(bad = s_task_groups (self, a, n)) && self->got == self->want)
            rc = s_task_emit (self, rec);
    }
    else if (s_is (&a [0], "tasks")) {
        memset (&rec->msg, 0, sizeof rec->msg);
        if (n != 3 || !s_uint (&a [1], &rec->msg.tasks) || !s_uint (&a [2], &rec->msg.bytes_total))
            bad = "a tasks record that does not decode";
        else {
            rec->kind = TL_CKPTLOG_TASKS;
            rec->offset = off;
            rc = 1;
        }
    }
    else if (s_is (&a [0], "end")) {
        memset (&rec->msg, 0, sizeof rec->msg);
        if (n != 3 || a [1].type != MSGPACK_OBJECT_BOOLEAN || !s_str (&a [2], self->error))
            bad = "an end record that does not decode";
        else {
            rec->kind = TL_CKPTLOG_END;
            rec->offset = off;
            rec->msg.ok = a [1].via.boolean;
            rec->msg.error = self->error;
            rc = 1;
        }
    }
    else
        bad = "a record of an unknown kind";
done:
    msgpack_unpacked_destroy (&up);
    if (bad)
        return s_damage (e, off, bad);
    return rc;
}

int
tl_ckptlog_reader_next (tl_ckptlog_reader_t *self, tl_ckptlog_rec_t *rec, tl_err_t *e)
{
    char what [160];
    for (;;) {
        size_t avail = self->len - self->pos;
        if (!avail)
            return 0;       /* (and buf may still be NULL) */
        const unsigned char *p = self->buf + self->pos;
        uint64_t off = self->base_off + self->pos;
        if (!self->magic_ok) {
            size_t n = avail < TL_CKPTLOG_MAGIC_LEN ? avail : TL_CKPTLOG_MAGIC_LEN;
            if (n && memcmp (p, TL_CKPTLOG_MAGIC, n) != 0)
                return s_damage (e, off, "not a tally checkpoint log, or one from another version");
            if (avail < TL_CKPTLOG_MAGIC_LEN)
                return 0;
            self->pos += TL_CKPTLOG_MAGIC_LEN;
            self->magic_ok = true;
            self->good = TL_CKPTLOG_MAGIC_LEN;
            continue;
        }
        if (avail < TL_CKPTLOG_HDR)
            return 0;
        uint32_t rlen = s_get32 (p);
        uint64_t gen = (uint64_t) s_get32 (p + 4) << 32 | s_get32 (p + 8);
        if ((uint32_t) crc32 (0, p, 12) != s_get32 (p + 12))
            return s_damage (e, off, "record header checksum");
        if (rlen > TL_CKPTLOG_REC_MAX) {
            snprintf (what, sizeof what, "a record of %u bytes, longer than any tally writes", rlen);
            return s_damage (e, off, what);
        }
        if (gen != self->gen) {
            if (gen < self->gen && (!self->seen || self->stale))
                self->stale = true;
            else {
                snprintf (what, sizeof what, "a record of generation %llu in a log that follows the base of "
                          "generation %llu%s", (unsigned long long) gen, (unsigned long long) self->gen,
                          gen > self->gen ? " (the base is older than its log)" : "");
                return s_damage (e, off, what);
            }
        }
        else if (self->stale)
            return s_damage (e, off, "a record of the current generation after records of an older one");
        if (avail - TL_CKPTLOG_HDR < rlen)
            return 0;
        if ((uint32_t) crc32 (0, p + TL_CKPTLOG_HDR, rlen) != s_get32 (p + 16))
            return s_damage (e, off, "record checksum");
        self->seen = true;
        self->pos += TL_CKPTLOG_HDR + rlen;
        if (self->stale) {
            self->good = off + TL_CKPTLOG_HDR + rlen;
            continue;
        }
        int rc = s_record (self, p + TL_CKPTLOG_HDR, rlen, off, rec, e);
        if (rc < 0)
            return rc;
        if (!self->in_task)
            self->good = off + TL_CKPTLOG_HDR + rlen;
        if (rc == 1)
            return 1;
    }
}

uint64_t
tl_ckptlog_reader_good (const tl_ckptlog_reader_t *self, uint64_t *torn)
{
    if (torn)
        *torn = self->base_off + self->len - self->good;
    return self->good;
}

bool
tl_ckptlog_reader_stale (const tl_ckptlog_reader_t *self)
{
    return self->stale;
}
