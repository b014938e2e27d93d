/*  ledger.c — totals and the applied-id bitmap.

    The totals table tracks the groups each apply touches (tl_agg_track), so the reducer can
    publish the groups that changed since its last update instead of all of them. */
#include "reducer/ledger.h"
#include "lib/core/query.h"
#include "lib/base/err.h"
#include "lib/core/digest.h"
#include <msgpack.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tl_ledger {
    tl_agg_t *totals;
    tl_agg_view_t *view;    /* the totals sorted, once the job is over (tl_ledger_sorted): the
                               table is sealed then, and nothing more is applied */
    bool sealed;
    tl_agg_t *mappers;
    uint64_t *bits;
    size_t words;
    uint64_t *lengths;      /* per task: the length its applied partial covered */
    uint64_t *pdigest;      /* per task: tl_ledger_partial_digest of its applied partial */
    uint32_t *producer;     /* per task: index into names of the mapper that sent it; UINT32_MAX:
                               its digest was not kept (applied before a restart, or unasked) */
    bool no_digests;        /* the job verifies nothing (tl_ledger_keep_digests): none are kept */
    char **names;           /* mapper names seen, for verification reports */
    size_t nnames;
    size_t last_name;       /* the index s_name_index found last: partials come in runs per mapper */
    tl_ledger_stats_t st;
    char *meta_job, *meta_col, *meta_err, *meta_fp, *meta_key;
};

tl_ledger_t *
tl_ledger_new (void)
{
    tl_ledger_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->totals = tl_agg_new ();
    self->mappers = tl_agg_new ();
    if (!self->totals || !self->mappers || tl_agg_track (self->totals) != 0)
        tl_ledger_destroy (&self);
    return self;
}

/*  The totals may change again (a new job, a load): the sorted view goes, and the table takes
    adds again (tl_agg_clear gives a sealed table a new index). */
static void
s_unseal (tl_ledger_t *self)
{
    tl_agg_view_destroy (&self->view);
    self->sealed = false;
}

void
tl_ledger_destroy (tl_ledger_t **self_p)
{
    if (self_p && *self_p) {
        s_unseal (*self_p);
        tl_agg_destroy (&(*self_p)->totals);
        tl_agg_destroy (&(*self_p)->mappers);
        free ((*self_p)->bits);
        free ((*self_p)->lengths);
        free ((*self_p)->pdigest);
        free ((*self_p)->producer);
        for (size_t i = 0; i < (*self_p)->nnames; i++)
            free ((*self_p)->names [i]);
        free ((*self_p)->names);
        free ((*self_p)->meta_job);
        free ((*self_p)->meta_col);
        free ((*self_p)->meta_err);
        free ((*self_p)->meta_fp);
        free ((*self_p)->meta_key);
        free (*self_p);
        *self_p = NULL;
    }
}

int
tl_ledger_set_cells (tl_ledger_t *self, unsigned ncells)
{
    s_unseal (self);
    if (tl_agg_ncells (self->totals) == ncells) {
        tl_agg_clear (self->totals);
        return 0;
    }
    tl_agg_t *a = tl_agg_new_cells (ncells);
    if (!a || tl_agg_track (a) != 0) {
        tl_agg_destroy (&a);
        return TL_ENOMEM;
    }
    tl_agg_destroy (&self->totals);
    self->totals = a;
    return 0;
}

void
tl_ledger_reset (tl_ledger_t *self)
{
    s_unseal (self);
    tl_agg_clear (self->totals);
    tl_agg_clear (self->mappers);
    if (self->bits)
        memset (self->bits, 0, self->words * sizeof (uint64_t));
    if (self->lengths)
        memset (self->lengths, 0, self->words * 64 * sizeof (uint64_t));
    if (self->pdigest)
        memset (self->pdigest, 0, self->words * 64 * sizeof (uint64_t));
    if (self->producer)
        memset (self->producer, 0xff, self->words * 64 * sizeof (uint32_t));
    memset (&self->st, 0, sizeof self->st);
}

int
tl_ledger_set_tasks (tl_ledger_t *self, uint64_t n)
{
    if (n > (1ULL << 32))
        return TL_EINVAL;
    size_t words = (size_t) ((n + 63) / 64);
    if (words > self->words) {
        uint64_t *b = realloc (self->bits, words * sizeof (uint64_t));
        if (!b)
            return TL_ENOMEM;
        self->bits = b;
        uint64_t *l = realloc (self->lengths, words * 64 * sizeof (uint64_t));
        if (!l)
            return TL_ENOMEM;
        self->lengths = l;
        uint64_t *pd = realloc (self->pdigest, words * 64 * sizeof (uint64_t));
        if (!pd)
            return TL_ENOMEM;
        self->pdigest = pd;
        uint32_t *pr = realloc (self->producer, words * 64 * sizeof (uint32_t));
        if (!pr)
            return TL_ENOMEM;
        self->producer = pr;
        memset (pd + self->words * 64, 0, (words - self->words) * 64 * sizeof (uint64_t));
        memset (pr + self->words * 64, 0xff, (words - self->words) * 64 * sizeof (uint32_t));
        memset (b + self->words, 0, (words - self->words) * sizeof (uint64_t));
        memset (l + self->words * 64, 0, (words - self->words) * 64 * sizeof (uint64_t));
        self->words = words;
    }
    if (n > self->st.tasks_total)
        self->st.tasks_total = n;
    return 0;
}

bool
tl_ledger_applied (const tl_ledger_t *self, uint64_t task)
{
    return task < self->st.tasks_total && (self->bits [task / 64] >> (task % 64)) & 1;
}

/*  A 64-bit mix (splitmix64's finaliser) and FNV-1a over bytes: enough to tell two honest
    countings of one range apart from a different one; not a defence against a forger who can
    search for collisions (docs/RELIABILITY.md). */
static uint64_t
s_mix (uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t
s_fnv (const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b [i]) * 0x100000001b3ULL;
    return h;
}

/*  The key hash's starting state (tl_ledger_digest_seed). */
static uint64_t s_seed = 0xcbf29ce484222325ULL;

void
tl_ledger_digest_seed (uint64_t seed)
{
    s_seed = s_mix (seed) ^ 0xcbf29ce484222325ULL;
}

/*  A key's hash, 8 bytes a step (byte-wise FNV was 7% of the reducer at millions of groups):
    each word multiplied in and folded, the length last, then mixed. A word goes in by XOR, so
    whoever knows the state before it can choose the next word to cancel a change: the state
    starts from a per-process secret (tl_ledger_digest_seed), which a mapper cannot know. The
    digest lives only in this process (a verification copy is digested here too), so it may
    differ between processes and versions. */
static uint64_t
s_key_hash (const char *k, size_t n)
{
    uint64_t h = s_seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy (&w, k + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy (&w, k + i, n - i);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
    }
    return s_mix (h ^ n);
}

/*  The counters one after another through the mix, each in its own place: XORed side by side
    (as they were), a copy that swapped rows with bad + 1 matched (rt13). */
uint64_t
tl_ledger_counters_digest (const tl_msg_t *p)
{
    const uint64_t v [] = { p->rows, p->bad, p->blank, p->filtered, p->length };
    uint64_t h = s_seed;
    for (size_t i = 0; i < sizeof v / sizeof v [0]; i++)
        h = s_mix (h ^ s_mix (v [i] + i));
    return h;
}

uint64_t
tl_ledger_groups_digest (const tl_agg_entry_t *groups, size_t n, size_t ncells)
{
    /* Groups may come in any order (and in any part): sum their hashes. */
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const tl_agg_entry_t *g = &groups [i];
        uint64_t h = s_key_hash (g->key, g->len);
        h = s_mix (h ^ s_mix (g->count));
        for (size_t c = 0; c < ncells && g->cells; c++) {
            const tl_cell_t *x = &g->cells [c];
            uint64_t bits [5] = { x->n, x->bad };
            memcpy (&bits [2], &x->sum, 8);
            memcpy (&bits [3], &x->min, 8);
            memcpy (&bits [4], &x->max, 8);
            h = s_mix (s_fnv (bits, sizeof bits, h));
        }
        sum += h;
    }
    return sum;
}

uint64_t
tl_ledger_partial_digest (const tl_msg_t *p)
{
    return tl_ledger_counters_digest (p) + tl_ledger_groups_digest (p->groups, p->n_groups, p->ncells);
}

static uint32_t
s_name_index (tl_ledger_t *self, const char *name)
{
    /* Once per applied task: the mapper of the partial before first, then a scan of the names
       (which was one strcmp per mapper of the fleet, per task). */
    if (self->last_name < self->nnames && strcmp (self->names [self->last_name], name) == 0)
        return (uint32_t) self->last_name;
    for (size_t i = 0; i < self->nnames; i++)
        if (strcmp (self->names [i], name) == 0)
            return (uint32_t) (self->last_name = i);
    char **v = realloc (self->names, (self->nnames + 1) * sizeof *v);
    if (!v)
        return UINT32_MAX;
    self->names = v;
    if (!(v [self->nnames] = strdup (name)))
        return UINT32_MAX;
    self->last_name = self->nnames;
    return (uint32_t) self->nnames++;
}

int
tl_ledger_verify_digest (const tl_ledger_t *self, uint64_t task, uint64_t digest, const char **applied_by)
{
    *applied_by = "?";
    if (!tl_ledger_applied (self, task))
        return TL_EINVAL;
    uint32_t who = self->producer [task];
    if (who == UINT32_MAX)
        return TL_EINVAL;       /* applied before a restart: its digest was not kept */
    if (who < self->nnames)
        *applied_by = self->names [who];
    return digest == self->pdigest [task] ? 1 : 0;
}

int
tl_ledger_verify (const tl_ledger_t *self, const tl_msg_t *copy, const char **applied_by)
{
    return tl_ledger_verify_digest (self, copy->verify ? copy->verify - 1 : UINT64_MAX,
                                    tl_ledger_partial_digest (copy), applied_by);
}

/*  The checks every apply makes first: 1 to go on, 0 for a duplicate, TL_EINVAL to reject. */
static int
s_admit (tl_ledger_t *self, const tl_msg_t *p, size_t ngroups, size_t ncells)
{
    if (p->task >= self->st.tasks_total) {
        self->st.rejected++;
        return TL_EINVAL;
    }
    if (ngroups && ncells != tl_agg_ncells (self->totals)) {
        self->st.rejected++;    /* a partial of another query shape */
        return TL_EINVAL;
    }
    if (tl_ledger_applied (self, p->task)) {
        self->st.dups++;
        return 0;
    }
    if (self->sealed) {
        self->st.rejected++;    /* the job is over and its table sorted: nothing more goes in */
        return TL_EINVAL;
    }
    return 1;
}

/*  The task is applied: its id, length, digest, producer and counters. */
static void
s_book (tl_ledger_t *self, const tl_msg_t *p, uint64_t digest)
{
    const char *name = p->mapper ? p->mapper : "?";
    tl_agg_add (self->mappers, name, strlen (name) > TL_AGG_KEY_MAX ? TL_AGG_KEY_MAX : strlen (name), 1);
    self->bits [p->task / 64] |= 1ULL << (p->task % 64);
    self->lengths [p->task] = p->length;
    self->pdigest [p->task] = digest;
    self->producer [p->task] = self->no_digests ? UINT32_MAX : s_name_index (self, name);
    self->st.tasks_applied++;
    self->st.rows += p->rows;
    self->st.bytes += p->bytes;
    self->st.bad += p->bad;
    self->st.blank += p->blank;
    self->st.filtered += p->filtered;
    self->st.fetched += p->fetched;
    self->st.skipped += p->skipped;
}

int
tl_ledger_admit (tl_ledger_t *self, const tl_msg_t *p)
{
    int rc = s_admit (self, p, p->n_groups, p->ncells);
    if (rc == 1)
        s_book (self, p, self->no_digests ? 0 : tl_ledger_partial_digest (p));
    return rc;
}

void
tl_ledger_keep_digests (tl_ledger_t *self, bool keep)
{
    self->no_digests = !keep;
}

void
tl_ledger_merge (tl_ledger_t *self, const tl_msg_t *p)
{
    if (tl_agg_add_entries (self->totals, p->groups, p->n_groups) != 0)
        abort ();   /* out of memory half-way through a partial: exactness is gone, stop loudly */
}

int
tl_ledger_apply (tl_ledger_t *self, const tl_msg_t *p)
{
    int rc = tl_ledger_admit (self, p);
    if (rc == 1)
        tl_ledger_merge (self, p);
    return rc;
}

int
tl_ledger_apply_dup (tl_ledger_t *self, const tl_msg_t *header)
{
    int rc = s_admit (self, header, 0, 0);
    if (rc == 1) {
        self->st.rejected++;
        return TL_EINVAL;
    }
    return rc;
}

int
tl_ledger_applied_ids (const tl_ledger_t *self, uint64_t **ids, uint64_t **lengths, size_t *n)
{
    *n = 0;
    *ids = malloc ((self->st.tasks_applied + 1) * sizeof (uint64_t));
    *lengths = malloc ((self->st.tasks_applied + 1) * sizeof (uint64_t));
    if (!*ids || !*lengths) {
        free (*ids);
        free (*lengths);
        *ids = *lengths = NULL;
        return TL_ENOMEM;
    }
    for (uint64_t t = 0; t < self->st.tasks_total; t++)
        if (tl_ledger_applied (self, t)) {
            (*ids) [*n] = t;
            (*lengths) [(*n)++] = self->lengths [t];
        }
    return 0;
}

uint64_t
tl_ledger_applied_length (const tl_ledger_t *self, uint64_t task)
{
    return tl_ledger_applied (self, task) ? self->lengths [task] : 0;
}

/*  Checkpoint layout: the magic "TALLYCK3", the CRC-32 of the rest (4 bytes, big-endian), then
    a msgpack array
      [ "tally-ledger", 3, job, col, bytes_total,
        [tasks_total, applied, rows, bytes, bad, blank, dups, rejected, filtered(, fetched, skipped)],
        [[id, length], ...], [[key, count(, [n, bad, sum, min, max] x cells)], ...],
        [[mapper, tasks], ...], done, ok, error, fingerprint, key, sum of counts, seq ]
    seq counts the checkpoints written by this job's reducers (one higher each write).
    The checksum catches damage; the sum of the group counts, stored and checked against both
    the totals and the row counter on load, catches a changed number that a checksum was
    recomputed over (or any bug that lets the two drift apart). Older versions are refused. */
#define CK_MAGIC "TALLYCK3"
#define CK_HDR 12
static void
s_pack_agg (msgpack_packer *pk, const tl_agg_t *a)
{
    msgpack_pack_array (pk, tl_agg_size (a));
    size_t pos = 0;
    tl_agg_entry_t e;
    unsigned nc = tl_agg_ncells (a);
    while (tl_agg_next (a, &pos, &e)) {
        msgpack_pack_array (pk, nc ? 3 : 2);
        msgpack_pack_bin (pk, e.len);
        msgpack_pack_bin_body (pk, e.key, e.len);
        msgpack_pack_uint64 (pk, e.count);
        if (!nc)
            continue;
        msgpack_pack_array (pk, 5 * nc);
        for (unsigned k = 0; k < nc; k++) {
            msgpack_pack_uint64 (pk, e.cells [k].n);
            msgpack_pack_uint64 (pk, e.cells [k].bad);
            msgpack_pack_double (pk, e.cells [k].sum);
            msgpack_pack_double (pk, e.cells [k].min);
            msgpack_pack_double (pk, e.cells [k].max);
        }
    }
}

int
tl_ledger_save (const tl_ledger_t *self, const tl_ledger_meta_t *meta, char **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_sbuffer_write (&sb, CK_MAGIC "\0\0\0\0", CK_HDR);     /* the CRC is filled in below */
    msgpack_pack_array (&pk, 16);
    msgpack_pack_str_with_body (&pk, "tally-ledger", 12);
    msgpack_pack_uint64 (&pk, 3);
    msgpack_pack_str_with_body (&pk, meta->job, strlen (meta->job));
    msgpack_pack_str_with_body (&pk, meta->col, strlen (meta->col));
    msgpack_pack_uint64 (&pk, meta->bytes_total);
    const tl_ledger_stats_t *st = &self->st;
    uint64_t c [11] = { st->tasks_total, st->tasks_applied, st->rows, st->bytes, st->bad,
                        st->blank, st->dups, st->rejected, st->filtered, st->fetched, st->skipped };
    msgpack_pack_array (&pk, 11);
    for (int i = 0; i < 11; i++)
        msgpack_pack_uint64 (&pk, c [i]);
    msgpack_pack_array (&pk, st->tasks_applied);
    for (uint64_t t = 0; t < st->tasks_total; t++)
        if (tl_ledger_applied (self, t)) {
            msgpack_pack_array (&pk, 2);
            msgpack_pack_uint64 (&pk, t);
            msgpack_pack_uint64 (&pk, self->lengths [t]);
        }
    s_pack_agg (&pk, self->totals);
    s_pack_agg (&pk, self->mappers);
    if (meta->done)
        msgpack_pack_true (&pk);
    else
        msgpack_pack_false (&pk);
    if (meta->ok)
        msgpack_pack_true (&pk);
    else
        msgpack_pack_false (&pk);
    const char *err = meta->error ? meta->error : "";
    msgpack_pack_str_with_body (&pk, err, strlen (err));
    const char *fp = meta->fingerprint ? meta->fingerprint : "", *key = meta->key ? meta->key : "";
    msgpack_pack_str_with_body (&pk, fp, strlen (fp));
    msgpack_pack_str_with_body (&pk, key, strlen (key));
    msgpack_pack_uint64 (&pk, tl_agg_total (self->totals));
    msgpack_pack_uint64 (&pk, meta->seq);
    if (!sb.data) {
        msgpack_sbuffer_destroy (&sb);
        return TL_ENOMEM;
    }
    uint32_t crc = (uint32_t) crc32 (0, (const unsigned char *) sb.data + CK_HDR, (uInt) (sb.size - CK_HDR));
    for (int i = 0; i < 4; i++)
        sb.data [8 + i] = (char) (crc >> (24 - 8 * i));
    *len = sb.size;
    *buf = msgpack_sbuffer_release (&sb);
    return 0;
}

static int
s_pair (const msgpack_object *o, const msgpack_object **a, const msgpack_object **b)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2)
        return 0;
    *a = &o->via.array.ptr [0];
    *b = &o->via.array.ptr [1];
    return (*b)->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static int
s_num (const msgpack_object *o, double *v)
{
    if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        *v = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *v = (double) o->via.u64;
    else
        return 0;
    return 1;
}

static int
s_load_agg (tl_agg_t *a, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return TL_EPROTO;
    unsigned nc = tl_agg_ncells (a);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *it = &o->via.array.ptr [i];
        if (nc == 0) {
            const msgpack_object *k, *v;
            if (!s_pair (it, &k, &v) || k->type != MSGPACK_OBJECT_BIN
                || tl_agg_add (a, k->via.bin.ptr, k->via.bin.size, v->via.u64) != 0)
                return TL_EPROTO;
            continue;
        }
        if (it->type != MSGPACK_OBJECT_ARRAY || it->via.array.size != 3)
            return TL_EPROTO;
        const msgpack_object *k = &it->via.array.ptr [0], *v = &it->via.array.ptr [1], *c = &it->via.array.ptr [2];
        if (k->type != MSGPACK_OBJECT_BIN || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER
            || c->type != MSGPACK_OBJECT_ARRAY || c->via.array.size != 5 * nc)
            return TL_EPROTO;
        tl_cell_t cells [64];
        const msgpack_object *x = c->via.array.ptr;
        for (unsigned j = 0; j < nc && j < 64; j++, x += 5) {
            if (x [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || x [1].type != MSGPACK_OBJECT_POSITIVE_INTEGER
                || !s_num (&x [2], &cells [j].sum) || !s_num (&x [3], &cells [j].min) || !s_num (&x [4], &cells [j].max))
                return TL_EPROTO;
            cells [j].n = x [0].via.u64;
            cells [j].bad = x [1].via.u64;
        }
        if (nc > 64 || tl_agg_merge (a, k->via.bin.ptr, k->via.bin.size, v->via.u64, cells) != 0)
            return TL_EPROTO;
    }
    return 0;
}

static char *
s_strdup_obj (const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > TL_STR_MAX)
        return NULL;
    char *s = malloc (o->via.str.size + 1);
    if (s) {
        memcpy (s, o->via.str.ptr, o->via.str.size);
        s [o->via.str.size] = 0;
    }
    return s;
}

int
tl_ledger_load (tl_ledger_t *self, tl_ledger_meta_t *meta, const char *buf, size_t len, tl_err_t *e)
{
    if (len < CK_HDR || memcmp (buf, CK_MAGIC, 8) != 0)
        return tl_err_set (e, TL_EPROTO, 0, "not a checkpoint of this tally version (no %s header)", CK_MAGIC);
    const unsigned char *h = (const unsigned char *) buf + 8;
    uint32_t want = (uint32_t) h [0] << 24 | (uint32_t) h [1] << 16 | (uint32_t) h [2] << 8 | h [3];
    buf += CK_HDR;
    len -= CK_HDR;
    if ((uint32_t) crc32 (0, (const unsigned char *) buf, (uInt) len) != want)
        return tl_err_set (e, TL_EPROTO, 0, "checkpoint is damaged (checksum mismatch over %zu bytes)", len);
    if (tl_msgpack_check ((const unsigned char *) buf, len) != 0)
        return tl_err_set (e, TL_EPROTO, 0, "checkpoint is not valid msgpack (%zu bytes)", len);
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    int rc = TL_EPROTO;
    if (msgpack_unpack_next (&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
        goto done;
    const msgpack_object *r = &up.data;
    if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 16)
        goto done;
    const msgpack_object *a = r->via.array.ptr;
    if (a [0].type != MSGPACK_OBJECT_STR || a [0].via.str.size != 12 || memcmp (a [0].via.str.ptr, "tally-ledger", 12)
        || a [1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a [1].via.u64 != 3
        || a [4].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a [5].type != MSGPACK_OBJECT_ARRAY
        || (a [5].via.array.size != 9u && a [5].via.array.size != 11u) || a [6].type != MSGPACK_OBJECT_ARRAY
        || a [9].type != MSGPACK_OBJECT_BOOLEAN || a [10].type != MSGPACK_OBJECT_BOOLEAN
        || a [14].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a [15].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        goto done;
    uint64_t c [11] = { 0 };     /* 9 counters before fetched and skipped were kept */
    for (uint32_t i = 0; i < a [5].via.array.size; i++) {
        if (a [5].via.array.ptr [i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            goto done;
        c [i] = a [5].via.array.ptr [i].via.u64;
    }
    char *job = s_strdup_obj (&a [2]), *col = s_strdup_obj (&a [3]), *err = s_strdup_obj (&a [11]);
    char *fp = s_strdup_obj (&a [12]), *key = s_strdup_obj (&a [13]);
    if (!job || !col || !err || !fp || !key) {
        free (job);
        free (col);
        free (err);
        free (fp);
        free (key);
        goto done;
    }
    free (self->meta_job);
    free (self->meta_col);
    free (self->meta_err);
    free (self->meta_fp);
    free (self->meta_key);
    self->meta_job = job;
    self->meta_col = col;
    self->meta_err = err;
    self->meta_fp = fp;
    self->meta_key = key;
    tl_ledger_reset (self);
    /* The totals' value cells follow from the query the checkpoint names. */
    tl_query_t *q = malloc (sizeof *q);
    tl_err_t qe;
    int qok = q && tl_query_parse (col, q, &qe) == 0 && tl_ledger_set_cells (self, (unsigned) q->nvals) == 0;
    free (q);
    if (!qok || tl_ledger_set_tasks (self, c [0]) != 0)
        goto done;
    for (uint32_t i = 0; i < a [6].via.array.size; i++) {
        const msgpack_object *id, *ln;
        if (!s_pair (&a [6].via.array.ptr [i], &id, &ln) || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER
            || id->via.u64 >= c [0])
            goto done;
        self->bits [id->via.u64 / 64] |= 1ULL << (id->via.u64 % 64);
        self->lengths [id->via.u64] = ln->via.u64;
    }
    if (s_load_agg (self->totals, &a [7]) != 0 || s_load_agg (self->mappers, &a [8]) != 0)
        goto done;
    self->st = (tl_ledger_stats_t) { c [0], c [1], c [2], c [3], c [4], c [5], c [6], c [7], c [8], c [9], c [10] };
    if (self->st.tasks_applied != a [6].via.array.size)
        goto done;
    if (tl_agg_total (self->totals) != a [14].via.u64 || self->st.rows != a [14].via.u64) {
        uint64_t groups = tl_agg_total (self->totals), stored = a [14].via.u64;
        tl_ledger_reset (self);
        msgpack_unpacked_destroy (&up);
        return tl_err_set (e, TL_EPROTO, 0, "checkpoint does not add up: its groups sum to %llu, its row counter "
                           "says %llu and its stored sum %llu", (unsigned long long) groups,
                           (unsigned long long) c [2], (unsigned long long) stored);
    }
    meta->job = self->meta_job;
    meta->col = self->meta_col;
    meta->bytes_total = a [4].via.u64;
    meta->done = a [9].via.boolean;
    meta->ok = a [10].via.boolean;
    meta->error = self->meta_err;
    meta->fingerprint = self->meta_fp;
    meta->key = self->meta_key;
    meta->seq = a [15].via.u64;
    rc = 0;
done:
    msgpack_unpacked_destroy (&up);
    if (rc) {
        tl_ledger_reset (self);
        tl_err_set (e, rc, 0, "checkpoint is malformed");
    }
    return rc;
}

uint64_t
tl_ledger_save_bound (const tl_ledger_t *self)
{
    const tl_agg_t *t = self->totals;
    /* Per group: its key (and the arena's 2 bytes for the bin header), an array header and
       a count of up to 9 bytes, and 5 numbers of up to 9 bytes per value cell; per task the
       applied bit, length, digest and producer. */
    return tl_agg_key_bytes (t) + tl_agg_size (t) * (12 + 45 * (uint64_t) tl_agg_ncells (t))
           + self->words * 64 * 32 + 4096;
}

tl_agg_view_t *
tl_ledger_sorted (tl_ledger_t *self)
{
    return tl_ledger_sorted_par (self, NULL, NULL);
}

tl_agg_view_t *
tl_ledger_sorted_par (tl_ledger_t *self, tl_agg_run_fn *run, void *ctx)
{
    if (!self->sealed) {
        self->sealed = true;
        if (tl_agg_view_new_par (self->totals, &self->view, run, ctx) != 0)
            self->view = NULL;
    }
    return self->view;
}

const tl_agg_t *
tl_ledger_totals (const tl_ledger_t *self)
{
    return self->totals;
}

size_t
tl_ledger_changed_count (const tl_ledger_t *self)
{
    return tl_agg_touched_count (self->totals);
}

int
tl_ledger_changed_next (const tl_ledger_t *self, size_t *pos, tl_agg_entry_t *e)
{
    return tl_agg_touched_next (self->totals, pos, e);
}

void
tl_ledger_changes_clear (tl_ledger_t *self)
{
    tl_agg_touched_clear (self->totals);
}

const tl_agg_t *
tl_ledger_mappers (const tl_ledger_t *self)
{
    return self->mappers;
}

tl_ledger_stats_t
tl_ledger_stats (const tl_ledger_t *self)
{
    return self->st;
}

uint64_t
tl_ledger_coverage (const tl_ledger_t *self, uint64_t ntasks, char digest [TL_DIGEST_HEX + 1], uint64_t *missing,
                    size_t nmissing)
{
    uint64_t absent = 0;
    tl_digest_t *d = tl_digest_new ();
    *digest = 0;
    if (d)
        tl_digest_u64 (d, ntasks);
    for (uint64_t t = 0; t < ntasks; t++) {
        if (!tl_ledger_applied (self, t)) {
            if (absent < nmissing)
                missing [absent] = t;
            absent++;
            continue;
        }
        if (d)
            tl_digest_task (d, t, self->lengths [t]);
    }
    if (d) {
        tl_digest_hex (d, digest);
        tl_digest_destroy (&d);
    }
    return absent;
}
