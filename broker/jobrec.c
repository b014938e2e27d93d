/*  jobrec.c — encoding and replay of the journal's job, cut and end records (see jobrec.h). */
#include "broker/jobrec.h"
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_str (msgpack_packer *pk, const char *s)
{
    size_t n = s ? strlen (s) : 0;
    msgpack_pack_str_with_body (pk, s ? s : "", n);
}

static void
s_bool (msgpack_packer *pk, bool v)
{
    if (v)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

static int
s_append (tl_journal_t *j, msgpack_sbuffer *sb)
{
    int rc = sb->data ? tl_journal_append (j, sb->data, sb->size) : TL_ENOMEM;
    msgpack_sbuffer_destroy (sb);
    return rc;
}

int
tl_jobrec_put_job (tl_journal_t *j, const tl_jobrec_t *job, const tl_objlist_t *objs, const tl_sched_t *sched)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    char key [2 * TL_TOKEN_KEY_LEN + 1];
    tl_token_key_hex (job->key, key);
    uint64_t ntasks = tl_sched_stats (sched).tasks;
    msgpack_pack_array (&pk, 11);
    s_str (&pk, "job");
    s_str (&pk, job->id);
    s_str (&pk, job->col);
    msgpack_pack_uint64 (&pk, job->bytes_total);
    s_str (&pk, job->fingerprint);
    s_str (&pk, job->definition);
    msgpack_pack_uint64 (&pk, job->split);
    s_str (&pk, key);
    msgpack_pack_array (&pk, objs->n);
    for (size_t i = 0; i < objs->n; i++) {
        msgpack_pack_array (&pk, 4);
        s_str (&pk, objs->v [i].uri);
        msgpack_pack_uint64 (&pk, objs->v [i].size);
        s_str (&pk, objs->v [i].etag);
        msgpack_pack_int64 (&pk, objs->v [i].mtime_ns);
    }
    msgpack_pack_array (&pk, ntasks);
    for (uint64_t i = 0; i < ntasks; i++) {
        const tl_task_t *t = tl_sched_task (sched, i);
        msgpack_pack_array (&pk, 4);
        msgpack_pack_uint32 (&pk, t->object);
        msgpack_pack_uint64 (&pk, t->offset);
        msgpack_pack_uint64 (&pk, t->length);
        s_bool (&pk, t->splittable);
    }
    msgpack_pack_uint64 (&pk, ntasks);
    return s_append (j, &sb);
}

int
tl_jobrec_put_cut (tl_journal_t *j, const tl_task_t *t, const tl_task_t *tail)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 8);
    s_str (&pk, "cut");
    msgpack_pack_uint64 (&pk, t->id);
    msgpack_pack_uint64 (&pk, t->length);
    msgpack_pack_uint64 (&pk, tail->id);
    msgpack_pack_uint32 (&pk, tail->object);
    msgpack_pack_uint64 (&pk, tail->offset);
    msgpack_pack_uint64 (&pk, tail->length);
    s_bool (&pk, tail->splittable);
    return s_append (j, &sb);
}

int
tl_jobrec_put_end (tl_journal_t *j, bool ok, const char *error)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    s_str (&pk, "end");
    s_bool (&pk, ok);
    s_str (&pk, error);
    return s_append (j, &sb);
}

/* ---------------------------------------------------------------- replay */

typedef struct {
    tl_jobrec_t *job;
    tl_objlist_t *objs;
    tl_sched_t *sched;
} s_replay_t;

static bool
s_get_str (const msgpack_object *o, char *out, size_t outlen)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= outlen)
        return false;
    memcpy (out, o->via.str.ptr, o->via.str.size);
    out [o->via.str.size] = 0;
    return true;
}

static bool
s_get_u64 (const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

static bool
s_get_i64 (const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *v = (int64_t) o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *v = o->via.i64;
    else
        return false;
    return true;
}

static bool
s_is (const msgpack_object *o, msgpack_object_type type, uint32_t size)
{
    return o->type == type && o->via.array.size == size;
}

static int
s_bad (tl_err_t *e, const char *what)
{
    return tl_err_set (e, TL_EPROTO, 0, "%s", what);
}

static int
s_job (s_replay_t *r, const msgpack_object *a, tl_err_t *e)
{
    tl_jobrec_t *job = r->job;
    char key [2 * TL_TOKEN_KEY_LEN + 1];
    uint64_t ntasks = 0;
    if (job->have)
        return s_bad (e, "a second job record");
    if (!s_get_str (&a [1], job->id, sizeof job->id) || !s_get_str (&a [2], job->col, sizeof job->col)
        || !s_get_u64 (&a [3], &job->bytes_total) || !s_get_str (&a [4], job->fingerprint, sizeof job->fingerprint)
        || !s_get_str (&a [5], job->definition, sizeof job->definition) || !s_get_u64 (&a [6], &job->split)
        || !s_get_str (&a [7], key, sizeof key) || tl_token_key_from_hex (key, job->key) != 0
        || a [8].type != MSGPACK_OBJECT_ARRAY || a [9].type != MSGPACK_OBJECT_ARRAY || !s_get_u64 (&a [10], &ntasks))
        return s_bad (e, "malformed job record");
    const msgpack_object_array *objs = &a [8].via.array, *tasks = &a [9].via.array;
    if (ntasks != tasks->size)
        return s_bad (e, "the job record's task count does not match its task list");
    for (uint32_t i = 0; i < objs->size; i++) {
        const msgpack_object *o = objs->ptr [i].via.array.ptr;
        char uri [4096], etag [1024];
        uint64_t size;
        int64_t mtime;
        if (!s_is (&objs->ptr [i], MSGPACK_OBJECT_ARRAY, 4) || !s_get_str (&o [0], uri, sizeof uri)
            || !s_get_u64 (&o [1], &size) || !s_get_str (&o [2], etag, sizeof etag) || !s_get_i64 (&o [3], &mtime))
            return s_bad (e, "malformed object in the job record");
        if (tl_objlist_push_version (r->objs, uri, size, *etag ? etag : NULL, mtime) != 0)
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    }
    for (uint32_t i = 0; i < tasks->size; i++) {
        const msgpack_object *t = tasks->ptr [i].via.array.ptr;
        uint64_t obj, off, len;
        if (!s_is (&tasks->ptr [i], MSGPACK_OBJECT_ARRAY, 4) || !s_get_u64 (&t [0], &obj) || obj >= objs->size
            || !s_get_u64 (&t [1], &off) || !s_get_u64 (&t [2], &len) || t [3].type != MSGPACK_OBJECT_BOOLEAN)
            return s_bad (e, "malformed task in the job record");
        if (tl_sched_add (r->sched, (uint32_t) obj, off, len, t [3].via.boolean) != i)
            return s_bad (e, "task ids out of order");
    }
    job->have = true;
    return 0;
}

static int
s_cut (s_replay_t *r, const msgpack_object *a, tl_err_t *e)
{
    uint64_t task, length, tail, obj, off, len;
    if (!s_get_u64 (&a [1], &task) || !s_get_u64 (&a [2], &length) || !s_get_u64 (&a [3], &tail)
        || !s_get_u64 (&a [4], &obj) || !s_get_u64 (&a [5], &off) || !s_get_u64 (&a [6], &len)
        || a [7].type != MSGPACK_OBJECT_BOOLEAN)
        return s_bad (e, "malformed cut record");
    uint64_t n = tl_sched_stats (r->sched).tasks;
    if (!r->job->have || task >= n || obj >= r->objs->n || tail != n)
        return s_bad (e, "a cut of a task the journal does not hold");
    const tl_task_t *t = tl_sched_task (r->sched, task);
    if (length > t->length || t->object != obj || off != t->offset + length || length + len != t->length)
        return s_bad (e, "a cut whose tail does not continue its task");
    tl_sched_set_length (r->sched, task, length);
    if (tl_sched_add (r->sched, (uint32_t) obj, off, len, a [7].via.boolean) != tail)
        return s_bad (e, "task ids out of order");
    return 0;
}

static int
s_record (void *arg, const msgpack_object *rec, tl_err_t *e)
{
    s_replay_t *r = arg;
    const msgpack_object *a = rec->via.array.ptr;
    uint32_t n = rec->via.array.size;
    char kind [16];
    if (!s_get_str (&a [0], kind, sizeof kind))
        return s_bad (e, "a record without a kind");
    if (r->job->ended)
        return s_bad (e, "a record after the end of the job");
    if (strcmp (kind, "job") == 0 && n == 11)
        return s_job (r, a, e);
    if (strcmp (kind, "cut") == 0 && n == 8)
        return s_cut (r, a, e);
    if (strcmp (kind, "end") == 0 && n == 3 && a [1].type == MSGPACK_OBJECT_BOOLEAN && r->job->have) {
        r->job->ended = true;
        r->job->ended_ok = a [1].via.boolean;
        if (!s_get_str (&a [2], r->job->end_error, sizeof r->job->end_error))
            snprintf (r->job->end_error, sizeof r->job->end_error, "(error text too long)");
        return 0;
    }
    return s_bad (e, "an unknown or malformed record");
}

long
tl_jobrec_replay (tl_journal_t *j, tl_jobrec_t *job, tl_objlist_t *objs, tl_sched_t *sched, tl_err_t *e)
{
    s_replay_t r = { job, objs, sched };
    long n = tl_journal_replay (j, s_record, &r, e);
    if (n > 0 && !job->have)
        return tl_err_set (e, TL_EPROTO, 0, "%s holds records but no job", tl_journal_path (j));
    return n;
}
