/*  codec.c — message encoding and bounded decoding.

    The field table maps each wire key to a struct offset and a kind. Encoding writes the fields
    that the message type lists. Decoding builds the message's msgpack object tree itself
    (s_build: bounds checked, nodes from one array, on the stack for a small message), then
    walks the top-level map once and checks every value's kind. Per-type `required` lists say
    what must be present. */
#include "lib/wire/codec.h"
#include <msgpack.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { K_UINT, K_STR, K_BOOL, K_RUNNING, K_IDS, K_LENGTHS, K_GROUPS, K_MAPPERS, K_SPANS, K_EVENTS, K_WORKERS,
       K_ASSIGNS, K_DONES };

typedef struct {
    const char *key;
    int kind;
    size_t off;
    size_t len;     /* strlen (key) */
} s_field_t;

#define F(k, kind, member) { k, kind, offsetof (tl_msg_t, member), sizeof (k) - 1 }
enum {
    F_NAME, F_JOB, F_REDUCER, F_URI, F_COL, F_ENDPOINT, F_REGION, F_ERROR, F_MAPPER, F_INSTANCE, F_FLEET, F_KEEP, F_CUT,
    F_SLOTS, F_HB_MS, F_TASK, F_ATTEMPT, F_OFFSET, F_LENGTH, F_SIZE,
    F_ROWS, F_BYTES, F_BAD, F_BLANK, F_FILTERED, F_TASKS_N, F_SEQ, F_TASKS_DONE, F_TASKS_TOTAL, F_BYTES_TOTAL,
    F_DUPS, F_ELAPSED, F_NOSIGN, F_RETRY, F_OK, F_DONE, F_FULL, F_RETURNED,
    F_RUNNING, F_IDS, F_LENGTHS, F_GROUPS, F_MAPPERS,
    F_ETAG, F_MTIME, F_TOKEN, F_KEY, F_DIGEST, F_FPRINT, F_STALLED, F_VERIFY, F_CURRENT,
    F_FORMAT, F_FETCHED, F_SKIPPED, F_SPANS, F_EVENTS, F_WORKERS, F_CLOCK, F_KIND, F_BASE, F_PART, F_PARTS,
    F_BATCH, F_ASSIGNS, F_DONES, F_BARE, F_NOVERIFY, F_ANSWERS, F_COUNT_
};
/*  The fields a decoded message holds are a set of 128 bits (two words): 64 were full. */
_Static_assert (F_COUNT_ <= 128, "field sets are 128-bit masks");
#define S_HAS(set, f) (((set) [(f) / 64] >> ((f) % 64)) & 1)
static const s_field_t s_fields [F_COUNT_] = {
    [F_NAME] = F ("name", K_STR, name),         [F_JOB] = F ("job", K_STR, job),
    [F_REDUCER] = F ("reducer", K_STR, reducer), [F_URI] = F ("uri", K_STR, uri),
    [F_COL] = F ("col", K_STR, col),            [F_ENDPOINT] = F ("endpoint", K_STR, endpoint),
    [F_REGION] = F ("region", K_STR, region),   [F_ERROR] = F ("error", K_STR, error),
    [F_MAPPER] = F ("mapper", K_STR, mapper),   [F_INSTANCE] = F ("instance", K_STR, instance),
    [F_FLEET] = F ("fleet", K_STR, fleet),
    [F_KEEP] = F ("keep", K_UINT, keep),        [F_CUT] = F ("cut", K_UINT, cut),
    [F_SLOTS] = F ("slots", K_UINT, slots),     [F_HB_MS] = F ("hb_ms", K_UINT, hb_ms),
    [F_TASK] = F ("task", K_UINT, task),        [F_ATTEMPT] = F ("attempt", K_UINT, attempt),
    [F_OFFSET] = F ("offset", K_UINT, offset),  [F_LENGTH] = F ("length", K_UINT, length),
    [F_SIZE] = F ("size", K_UINT, size),        [F_ROWS] = F ("rows", K_UINT, rows),
    [F_BYTES] = F ("bytes", K_UINT, bytes),     [F_BAD] = F ("bad", K_UINT, bad),
    [F_BLANK] = F ("blank", K_UINT, blank),
    [F_FILTERED] = F ("filtered", K_UINT, filtered),     [F_TASKS_N] = F ("ntasks", K_UINT, tasks),
    [F_SEQ] = F ("seq", K_UINT, seq),           [F_TASKS_DONE] = F ("tasks_done", K_UINT, tasks_done),
    [F_TASKS_TOTAL] = F ("tasks_total", K_UINT, tasks_total),
    [F_BYTES_TOTAL] = F ("bytes_total", K_UINT, bytes_total),
    [F_DUPS] = F ("dups", K_UINT, dups),        [F_ELAPSED] = F ("elapsed_ms", K_UINT, elapsed_ms),
    [F_NOSIGN] = F ("nosign", K_BOOL, nosign),  [F_RETRY] = F ("retry", K_BOOL, retry),
    [F_OK] = F ("ok", K_BOOL, ok),              [F_DONE] = F ("done", K_BOOL, done),
    [F_FULL] = F ("full", K_BOOL, full),        [F_RETURNED] = F ("returned", K_BOOL, returned),
    [F_RUNNING] = F ("running", K_RUNNING, running), [F_IDS] = F ("tasks", K_IDS, ids),
    [F_LENGTHS] = F ("lengths", K_LENGTHS, lengths),
    [F_GROUPS] = F ("groups", K_GROUPS, groups),     [F_MAPPERS] = F ("mappers", K_MAPPERS, mappers),
    [F_ETAG] = F ("etag", K_STR, etag),         [F_MTIME] = F ("mtime", K_UINT, mtime),
    [F_TOKEN] = F ("token", K_STR, token),      [F_KEY] = F ("key", K_STR, key),
    [F_DIGEST] = F ("digest", K_STR, digest),   [F_FPRINT] = F ("fingerprint", K_STR, fingerprint),
    [F_STALLED] = F ("stalled", K_STR, stalled), [F_VERIFY] = F ("verify", K_UINT, verify),
    [F_CURRENT] = F ("current", K_STR, current),
    [F_FORMAT] = F ("format", K_STR, format),   [F_FETCHED] = F ("fetched", K_UINT, fetched),
    [F_SKIPPED] = F ("skipped", K_UINT, skipped),
    [F_SPANS] = F ("spans", K_SPANS, spans),    [F_EVENTS] = F ("events", K_EVENTS, events),
    [F_WORKERS] = F ("workers", K_WORKERS, workers), [F_CLOCK] = F ("clock", K_UINT, clock),
    [F_KIND] = F ("kind", K_STR, kind),         [F_BASE] = F ("base", K_UINT, base),
    [F_PART] = F ("part", K_UINT, part),        [F_PARTS] = F ("parts", K_UINT, parts),
    [F_BATCH] = F ("batch", K_UINT, batch),     [F_ASSIGNS] = F ("list", K_ASSIGNS, assigns),
    [F_DONES] = F ("done", K_DONES, dones),
    [F_BARE] = F ("bare", K_BOOL, bare),
    [F_NOVERIFY] = F ("noverify", K_BOOL, noverify),
    [F_ANSWERS] = F ("answers", K_BOOL, answers),
};

#define MAXF 24
typedef struct {
    const char *name;
    int required [MAXF];    /* field ids, terminated by -1 */
    int optional [MAXF];
} s_type_t;

static const s_type_t s_types [TL_MSG_COUNT_] = {
    [TL_MSG_HELLO] = { "hello", { F_NAME, F_SLOTS, -1 }, { F_FLEET, F_BATCH, -1 } },
    [TL_MSG_HB] = { "hb", { -1 }, { F_RUNNING, -1 } },
    [TL_MSG_DONE] = { "done", { F_TASK, F_ATTEMPT, F_ROWS, F_BYTES, F_BAD, -1 }, { -1 } },
    [TL_MSG_FAIL] = { "fail", { F_TASK, F_ATTEMPT, F_RETRY, F_ERROR, -1 }, { -1 } },
    [TL_MSG_BYE] = { "bye", { -1 }, { -1 } },
    [TL_MSG_WELCOME] = { "welcome", { F_JOB, F_REDUCER, F_HB_MS, -1 }, { F_NAME, F_BATCH, -1 } },
    [TL_MSG_TASK] = { "task", { F_JOB, F_TASK, F_ATTEMPT, F_URI, F_OFFSET, F_LENGTH, F_SIZE, F_COL, F_TOKEN, -1 },
                      { F_ENDPOINT, F_NOSIGN, F_REGION, F_ETAG, F_MTIME, F_VERIFY, F_FORMAT, -1 } },
    [TL_MSG_TASKS] = { "tasks", { F_JOB, F_COL, F_ASSIGNS, -1 }, { F_ENDPOINT, F_NOSIGN, F_REGION, -1 } },
    [TL_MSG_DONES] = { "dones", { F_DONES, -1 }, { -1 } },
    [TL_MSG_CANCEL] = { "cancel", { F_TASK, -1 }, { -1 } },
    [TL_MSG_RESET] = { "reset", { -1 }, { -1 } },
    [TL_MSG_END] = { "end", { F_JOB, F_OK, -1 }, { F_ERROR, F_TASKS_N, F_DIGEST, -1 } },
    [TL_MSG_JOB] = { "job", { F_JOB, F_COL, F_TASKS_N, F_BYTES, F_FPRINT, F_KEY, -1 },
                     { F_INSTANCE, F_SEQ, F_DIGEST, F_NOVERIFY, -1 } },
    [TL_MSG_APPLIED] = { "applied", { F_JOB, F_IDS, F_LENGTHS, F_FULL, F_INSTANCE, -1 },
                         { F_STALLED, F_SEQ, F_DIGEST, F_ANSWERS, -1 } },
    [TL_MSG_REFUSED] = { "refused", { F_JOB, F_CURRENT, F_ERROR, -1 }, { -1 } },
    [TL_MSG_PARTIAL] = { "partial", { F_JOB, F_TASK, F_ATTEMPT, F_MAPPER, F_OFFSET, F_LENGTH, F_ROWS, F_BYTES, F_BAD,
                                      F_GROUPS, F_TOKEN, -1 },
                         { F_BLANK, F_FILTERED, F_VERIFY, F_FETCHED, F_SKIPPED, F_PART, F_PARTS, -1 } },
    [TL_MSG_VERIFIED] = { "verified", { F_JOB, F_TASK, F_VERIFY, F_OK, F_RETRY, F_MAPPER, F_NAME, -1 }, { F_ERROR, -1 } },
    [TL_MSG_STEAL] = { "steal", { F_TASK, F_ATTEMPT, F_KEEP, -1 }, { -1 } },
    [TL_MSG_CUT] = { "cut", { F_TASK, F_ATTEMPT, F_CUT, -1 }, { F_RETURNED, -1 } },
    [TL_MSG_UPDATE] = { "update", { F_SEQ, F_JOB, F_COL, F_DONE, F_OK, F_TASKS_DONE, F_TASKS_TOTAL, F_ROWS,
                                    F_BYTES, F_BYTES_TOTAL, F_BAD, F_ELAPSED, F_GROUPS, -1 },
                        { F_ERROR, F_BLANK, F_DUPS, F_MAPPERS, F_FILTERED, F_FETCHED, F_SKIPPED, F_SPANS, F_EVENTS,
                          F_WORKERS, F_CLOCK, F_KIND, F_BASE, F_PART, F_PARTS, F_BARE, -1 } },
    [TL_MSG_ACTIVITY] = { "activity", { F_JOB, F_CLOCK, F_SPANS, F_EVENTS, F_WORKERS, -1 }, { -1 } },
    [TL_MSG_PING] = { "ping", { -1 }, { F_FLEET, -1 } },
    [TL_MSG_PONG] = { "pong", { F_JOB, F_TASKS_DONE, F_TASKS_TOTAL, F_MAPPERS, -1 }, { -1 } },
};

const char *
tl_msg_type_name (tl_msg_type_t type)
{
    return type > 0 && type < TL_MSG_COUNT_ ? s_types [type].name : "?";
}

/* ---------------------------------------------------------------- encode */

static void
s_pack_str (msgpack_packer *pk, const char *s)
{
    size_t n = s ? strlen (s) : 0;
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s ? s : "", n);
}

static void
s_pack_field (msgpack_packer *pk, const tl_msg_t *m, int f)
{
    const s_field_t *fd = &s_fields [f];
    const char *base = (const char *) m;
    s_pack_str (pk, fd->key);
    switch (fd->kind) {
        case K_UINT: msgpack_pack_uint64 (pk, *(const uint64_t *) (base + fd->off)); break;
        case K_STR: s_pack_str (pk, *(const char *const *) (base + fd->off)); break;
        case K_BOOL:
            if (*(const bool *) (base + fd->off))
                msgpack_pack_true (pk);
            else
                msgpack_pack_false (pk);
            break;
        case K_RUNNING:
            msgpack_pack_array (pk, m->n_running);
            for (size_t i = 0; i < m->n_running; i++) {
                msgpack_pack_array (pk, 3);
                msgpack_pack_uint64 (pk, m->running [i].task);
                msgpack_pack_uint64 (pk, m->running [i].attempt);
                msgpack_pack_uint64 (pk, m->running [i].bytes_done);
            }
            break;
        case K_IDS:
            msgpack_pack_array (pk, m->n_ids);
            for (size_t i = 0; i < m->n_ids; i++)
                msgpack_pack_uint64 (pk, m->ids [i]);
            break;
        case K_LENGTHS:
            msgpack_pack_array (pk, m->n_lengths);
            for (size_t i = 0; i < m->n_lengths; i++)
                msgpack_pack_uint64 (pk, m->lengths [i]);
            break;
        case K_GROUPS:
            msgpack_pack_array (pk, m->n_groups);
            for (size_t i = 0; i < m->n_groups; i++) {
                /* Keys of a sorted table lie all over memory (the final table: a cache miss per
                   group, a fifth of the reducer's time at 6 M groups): ask for them early. */
                if (i + 16 < m->n_groups)
                    __builtin_prefetch (m->groups [i + 16].key);
                bool cells = m->ncells && m->groups [i].cells;
                msgpack_pack_array (pk, cells ? 3 : 2);
                msgpack_pack_bin (pk, m->groups [i].len);
                msgpack_pack_bin_body (pk, m->groups [i].key, m->groups [i].len);
                msgpack_pack_uint64 (pk, m->groups [i].count);
                if (!cells)
                    continue;
                msgpack_pack_array (pk, 5 * m->ncells);
                for (size_t k = 0; k < m->ncells; k++) {
                    const tl_cell_t *c = &m->groups [i].cells [k];
                    msgpack_pack_uint64 (pk, c->n);
                    msgpack_pack_uint64 (pk, c->bad);
                    msgpack_pack_double (pk, c->sum);
                    msgpack_pack_double (pk, c->min);
                    msgpack_pack_double (pk, c->max);
                }
            }
            break;
        case K_SPANS:
            msgpack_pack_array (pk, m->n_spans);
            for (size_t i = 0; i < m->n_spans; i++) {
                const tl_span_t *x = &m->spans [i];
                msgpack_pack_array (pk, 11);
                msgpack_pack_uint64 (pk, x->task);
                msgpack_pack_uint64 (pk, x->attempt);
                s_pack_str (pk, x->mapper);
                s_pack_str (pk, x->kind);
                s_pack_str (pk, x->state);
                msgpack_pack_uint64 (pk, x->start_ms);
                msgpack_pack_uint64 (pk, x->end_ms);
                msgpack_pack_uint64 (pk, x->offset);
                msgpack_pack_uint64 (pk, x->length);
                msgpack_pack_uint64 (pk, x->cut_ms);
                msgpack_pack_uint64 (pk, x->tail);
            }
            break;
        case K_EVENTS:
            msgpack_pack_array (pk, m->n_events);
            for (size_t i = 0; i < m->n_events; i++) {
                const tl_event_t *x = &m->events [i];
                msgpack_pack_array (pk, 6);
                msgpack_pack_uint64 (pk, x->n);
                msgpack_pack_uint64 (pk, x->ms);
                s_pack_str (pk, x->kind);
                s_pack_str (pk, x->mapper);
                msgpack_pack_uint64 (pk, x->task);
                s_pack_str (pk, x->text);
            }
            break;
        case K_WORKERS:
            msgpack_pack_array (pk, m->n_workers);
            for (size_t i = 0; i < m->n_workers; i++) {
                const tl_worker_t *x = &m->workers [i];
                msgpack_pack_array (pk, 5);
                s_pack_str (pk, x->name);
                msgpack_pack_uint64 (pk, x->slots);
                s_pack_str (pk, x->state);
                msgpack_pack_uint64 (pk, x->tasks);
                msgpack_pack_uint64 (pk, x->bytes);
            }
            break;
        case K_ASSIGNS:
            msgpack_pack_array (pk, m->n_assigns);
            for (size_t i = 0; i < m->n_assigns; i++) {
                const tl_assign_t *x = &m->assigns [i];
                msgpack_pack_array (pk, 11);
                msgpack_pack_uint64 (pk, x->task);
                msgpack_pack_uint64 (pk, x->attempt);
                s_pack_str (pk, x->uri);
                msgpack_pack_uint64 (pk, x->offset);
                msgpack_pack_uint64 (pk, x->length);
                msgpack_pack_uint64 (pk, x->size);
                s_pack_str (pk, x->token);
                s_pack_str (pk, x->etag);
                msgpack_pack_uint64 (pk, x->mtime);
                msgpack_pack_uint64 (pk, x->verify);
                s_pack_str (pk, x->format);
            }
            break;
        case K_DONES:
            msgpack_pack_array (pk, m->n_dones);
            for (size_t i = 0; i < m->n_dones; i++) {
                const tl_done_t *x = &m->dones [i];
                msgpack_pack_array (pk, 5);
                msgpack_pack_uint64 (pk, x->task);
                msgpack_pack_uint64 (pk, x->attempt);
                msgpack_pack_uint64 (pk, x->rows);
                msgpack_pack_uint64 (pk, x->bytes);
                msgpack_pack_uint64 (pk, x->bad);
            }
            break;
        case K_MAPPERS:
            msgpack_pack_array (pk, m->n_mappers);
            for (size_t i = 0; i < m->n_mappers; i++) {
                msgpack_pack_array (pk, 2);
                s_pack_str (pk, m->mappers [i].name);
                msgpack_pack_uint64 (pk, m->mappers [i].tasks);
            }
            break;
    }
}

/*  An UPDATE carries the activity only when it has some (a dashboard subscribes), and its
    part of a snapshot or delta only when it is one (kind set; `base` for deltas only). */
static bool
s_skip (const tl_msg_t *m, int f)
{
    if (f == F_BATCH)
        return !m->batch;       /* absent: a peer that does not batch, as before batching */
    /* A PARTIAL says part and parts only when it is one of several. */
    if (m->type == TL_MSG_PARTIAL)
        return (f == F_PART || f == F_PARTS) && m->parts == 0;
    if (m->type != TL_MSG_UPDATE)
        return false;
    if (f == F_SPANS || f == F_EVENTS || f == F_WORKERS || f == F_CLOCK)
        return !m->n_spans && !m->n_events && !m->n_workers;
    if (f == F_KIND || f == F_PART || f == F_PARTS)
        return !m->kind;
    if (f == F_BASE)
        return !m->kind || strcmp (m->kind, TL_UPDATE_DELTA) != 0;
    if (f == F_BARE)
        return !m->bare;        /* only a delta that left its groups out says so */
    return false;
}

int
tl_msg_encode (const tl_msg_t *m, char **data, size_t *len)
{
    if (m->type <= TL_MSG_NONE || m->type >= TL_MSG_COUNT_)
        return TL_EINVAL;
    const s_type_t *t = &s_types [m->type];
    size_t n = 2;
    for (const int *f = t->required; *f >= 0; f++)
        n++;
    for (const int *f = t->optional; *f >= 0; f++)
        n += !s_skip (m, *f);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (m->n_groups > 64) {
        /* Room for the groups at once: grown by doubling, a buffer of many MB was copied
           several times over (an eighth of the reducer's time at 6 M groups). */
        size_t cap = 4096;
        for (size_t i = 0; i < m->n_groups; i++)
            cap += tl_msg_group_bound (m->groups [i].len, m->ncells);
        if ((sb.data = malloc (cap)))
            sb.alloc = cap;
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, n);
    s_pack_str (&pk, "v");
    msgpack_pack_uint64 (&pk, TL_PROTO_VERSION);
    s_pack_str (&pk, "t");
    s_pack_str (&pk, t->name);
    for (const int *f = t->required; *f >= 0; f++)
        s_pack_field (&pk, m, *f);
    for (const int *f = t->optional; *f >= 0; f++)
        if (!s_skip (m, *f))
            s_pack_field (&pk, m, *f);
    if (!sb.data) {
        msgpack_sbuffer_destroy (&sb);
        return TL_ENOMEM;
    }
    *len = sb.size;
    *data = msgpack_sbuffer_release (&sb);
    msgpack_sbuffer_destroy (&sb);
    return 0;
}

size_t
tl_msg_group_bound (size_t keylen, size_t ncells)
{
    /* [key, count(, cells)]: the array's byte, a bin/str header of at most 5 and the key, a
       uint of at most 9; cells: an array header of at most 5, then per cell two uints and three
       doubles of 9 bytes each. */
    return 1 + 5 + keylen + 9 + (ncells ? 5 + 45 * ncells : 0);
}

/* ---------------------------------------------------------------- bounds pass */

static int
s_need (size_t pos, size_t n, size_t len)
{
    return n <= len && pos <= len - n;
}

static uint64_t
s_be (const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p [i];
    return v;
}

/*  The bounds pass; *nobj: the objects it walked (the root, every map key and value, every
    array item), so that the tree of a checked message can be built in one allocation. */
static int
s_check (const unsigned char *p, size_t len, size_t *nobj)
{
    /* Iterative walk. `pending[d]` counts objects still to read at depth d. */
    uint64_t pending [17];
    size_t objs = 0;
    int depth = 0;
    pending [0] = 1;
    size_t pos = 0;
    while (depth >= 0) {
        if (pending [depth] == 0) {
            depth--;
            continue;
        }
        pending [depth]--;
        if (!s_need (pos, 1, len))
            return TL_EPROTO;
        objs++;
        unsigned b = p [pos++];
        uint64_t skip = 0, count = 0;
        int container = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ;
        else if ((b & 0xf0) == 0x80) { count = 2 * (uint64_t) (b & 0x0f); container = 1; }
        else if ((b & 0xf0) == 0x90) { count = b & 0x0f; container = 1; }
        else if ((b & 0xe0) == 0xa0) skip = b & 0x1f;
        else {
            int hdr = 0;
            switch (b) {
                case 0xc4: case 0xd9: hdr = 1; break;                         /* bin8, str8 */
                case 0xc5: case 0xda: hdr = 2; break;                         /* bin16, str16 */
                case 0xc6: case 0xdb: hdr = 4; break;                         /* bin32, str32 */
                case 0xc7: hdr = 1; break;                                    /* ext8 */
                case 0xc8: hdr = 2; break;                                    /* ext16 */
                case 0xc9: hdr = 4; break;                                    /* ext32 */
                case 0xca: skip = 4; break;  case 0xcb: skip = 8; break;      /* floats */
                case 0xcc: case 0xd0: skip = 1; break;
                case 0xcd: case 0xd1: skip = 2; break;
                case 0xce: case 0xd2: skip = 4; break;
                case 0xcf: case 0xd3: skip = 8; break;
                case 0xd4: skip = 2; break;  case 0xd5: skip = 3; break;      /* fixext */
                case 0xd6: skip = 5; break;  case 0xd7: skip = 9; break;
                case 0xd8: skip = 17; break;
                case 0xdc: case 0xdd: case 0xde: case 0xdf: {
                    int n = (b == 0xdc || b == 0xde) ? 2 : 4;
                    if (!s_need (pos, n, len))
                        return TL_EPROTO;
                    count = s_be (p + pos, n);
                    pos += n;
                    if (b >= 0xde)
                        count *= 2;
                    container = 1;
                    break;
                }
                default: return TL_EPROTO;   /* 0xc1 is never used */
            }
            if (hdr) {
                if (!s_need (pos, hdr, len))
                    return TL_EPROTO;
                skip = s_be (p + pos, hdr) + (b >= 0xc7 && b <= 0xc9 ? 1 : 0);
                pos += hdr;
            }
        }
        if (skip) {
            if (skip > len || !s_need (pos, (size_t) skip, len))
                return TL_EPROTO;
            pos += skip;
        }
        if (container && count) {
            /* Every element takes at least one byte. */
            if (count > len - pos || depth >= 16)
                return TL_EPROTO;
            pending [++depth] = count;
        }
    }
    *nobj = objs;
    return pos == len ? 0 : TL_EPROTO;
}

int
tl_msgpack_check (const unsigned char *p, size_t len)
{
    size_t nobj;
    return s_check (p, len, &nobj);
}

/* ---------------------------------------------------------------- tree */

/*  The object tree of a message, built the way msgpack_unpack_next builds it (the same types:
    a signed encoding of a value >= 0 is a positive integer, a float32 is FLOAT32 with its value
    in f64; strings, bins and exts point into the message), with every node from one array:
    msgpack's unpacker (its zone, its generic state machine) and the bounds pass before it were
    a third of the reducer's CPU per 4 KiB task. It checks what s_check checks, the same way
    (each header read within the bytes, no 0xc1, a container's items at most the bytes left,
    at most 16 levels of containers below the root that hold items), so that a small message
    takes one pass: tl_msg_decode tries a pool on its stack and, when that is too small, counts
    the nodes with s_check first. Recursion is as deep as the message, at most 17. */
typedef struct {
    const unsigned char *p;
    size_t len;
    msgpack_object *pool, *end;     /* nodes still free */
    /* The root's `groups`, when every group is [key, count] in a plain encoding (s_groups_scan):
       read later straight from the bytes (s_groups_read), with no node per group. */
    const msgpack_object *gnode;    /* the value node that stands for it (nil) */
    size_t gpos, gcnt, gkeys;       /* its first item, its items, their keys' bytes */
} s_tree_t;

/*  One [key, count] group at *pos, in the encodings tl_msg_encode writes: a fixarray of 2, a
    str or bin of at most TL_AGG_KEY_MAX bytes (8- or 16-bit length), an unsigned integer.
    Anything else (cells, other encodings, a short buffer) is left to the tree, which checks
    and reports it as it always has. */
static inline bool
s_group_at (const unsigned char *p, size_t len, size_t *pos, const unsigned char **key, size_t *klen, uint64_t *count)
{
    size_t at = *pos;
    if (len - at < 3 || p [at] != 0x92)
        return false;
    unsigned b = p [at + 1];
    size_t n;
    at += 2;
    if ((b & 0xe0) == 0xa0)
        n = b & 0x1f;
    else if (b == 0xc4 || b == 0xd9)
        n = p [at++];
    else if ((b == 0xc5 || b == 0xda) && len - at >= 2) {
        n = (size_t) p [at] << 8 | p [at + 1];
        at += 2;
    }
    else
        return false;
    if (n > TL_AGG_KEY_MAX || len - at < n + 1)
        return false;
    *key = p + at;
    *klen = n;
    at += n;
    unsigned c = p [at++];
    int w = c <= 0x7f ? 0 : c == 0xcc ? 1 : c == 0xcd ? 2 : c == 0xce ? 4 : c == 0xcf ? 8 : -1;
    if (w < 0 || len - at < (size_t) w)
        return false;
    uint64_t v = w ? 0 : c;
    for (int i = 0; i < w; i++)
        v = v << 8 | p [at + (size_t) i];
    *count = v;
    *pos = at + (size_t) w;
    return true;
}

/*  The root's `groups` value at *pos: when it is an array of plain groups (s_group_at), note
    where it is in tr, stand a nil node for it and step past it. A partial's tens of thousands of
    groups were three nodes each, built twice (the first pool on the stack overflowed, then a
    count, a big allocation and a second build): half of a watcher's decode. */
static bool
s_groups_scan (s_tree_t *tr, size_t *pos, msgpack_object *o)
{
    const unsigned char *p = tr->p;
    size_t len = tr->len, at = *pos, cnt, keys = 0;
    if (at >= len)
        return false;
    unsigned b = p [at++];
    if ((b & 0xf0) == 0x90)
        cnt = b & 0x0f;
    else if (b == 0xdc && len - at >= 2) {
        cnt = (size_t) p [at] << 8 | p [at + 1];
        at += 2;
    }
    else if (b == 0xdd && len - at >= 4) {
        cnt = (size_t) p [at] << 24 | (size_t) p [at + 1] << 16 | (size_t) p [at + 2] << 8 | p [at + 3];
        at += 4;
    }
    else
        return false;
    if (cnt > (len - at) / 3)
        return false;       /* a group takes 3 bytes at least */
    size_t first = at;
    for (size_t i = 0; i < cnt; i++) {
        const unsigned char *k;
        size_t kn;
        uint64_t c;
        if (!s_group_at (p, len, &at, &k, &kn, &c))
            return false;
        keys += kn;
    }
    *o = (msgpack_object) { .type = MSGPACK_OBJECT_NIL };
    tr->gnode = o;
    tr->gpos = first;
    tr->gcnt = cnt;
    tr->gkeys = keys;
    *pos = at;
    return true;
}

static _Atomic bool s_fast_groups = true;
static _Atomic uint64_t s_fast_groups_read;

void
tl_codec_fast_groups (bool on)
{
    atomic_store_explicit (&s_fast_groups, on, memory_order_relaxed);
}

uint64_t
tl_codec_fast_groups_read (void)
{
    return atomic_load_explicit (&s_fast_groups_read, memory_order_relaxed);
}

static bool
s_is_groups_key (const msgpack_object *k)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == 6 && memcmp (k->via.str.ptr, "groups", 6) == 0;
}

enum { S_BAD = -1, S_FULL = -2 };

static int
s_build (s_tree_t *tr, size_t *at, msgpack_object *o, int depth)
{
    const unsigned char *p = tr->p;
    size_t len = tr->len, pos = *at;
    if (!s_need (pos, 1, len))
        return S_BAD;
    unsigned b = p [pos++];
    uint64_t n = 0;
    int kind = 0, h = 0;        /* kind: 1 str, 2 bin, 3 ext, 4 array, 5 map; h: bytes of its length */
    memset (o, 0, sizeof *o);
    if (b <= 0x7f || b >= 0xe0) {
        if (b <= 0x7f) {
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = b;
        }
        else {
            o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
            o->via.i64 = (int8_t) b;
        }
        *at = pos;
        return 0;
    }
    if ((b & 0xf0) == 0x80)
        n = b & 0x0f, kind = 5;
    else if ((b & 0xf0) == 0x90)
        n = b & 0x0f, kind = 4;
    else if ((b & 0xe0) == 0xa0)
        n = b & 0x1f, kind = 1;
    else {
        int w = 0;          /* a number of w bytes follows */
        switch (b) {
            case 0xc0: o->type = MSGPACK_OBJECT_NIL; *at = pos; return 0;
            case 0xc2: case 0xc3: o->type = MSGPACK_OBJECT_BOOLEAN; o->via.boolean = b == 0xc3; *at = pos; return 0;
            case 0xc4: h = 1, kind = 2; break;
            case 0xc5: h = 2, kind = 2; break;
            case 0xc6: h = 4, kind = 2; break;
            case 0xd9: h = 1, kind = 1; break;
            case 0xda: h = 2, kind = 1; break;
            case 0xdb: h = 4, kind = 1; break;
            case 0xc7: h = 1, kind = 3; break;
            case 0xc8: h = 2, kind = 3; break;
            case 0xc9: h = 4, kind = 3; break;
            case 0xd4: n = 1, kind = 3; break;
            case 0xd5: n = 2, kind = 3; break;
            case 0xd6: n = 4, kind = 3; break;
            case 0xd7: n = 8, kind = 3; break;
            case 0xd8: n = 16, kind = 3; break;
            case 0xdc: h = 2, kind = 4; break;
            case 0xdd: h = 4, kind = 4; break;
            case 0xde: h = 2, kind = 5; break;
            case 0xdf: h = 4, kind = 5; break;
            case 0xca: w = 4; break;
            case 0xcb: w = 8; break;
            case 0xcc: case 0xd0: w = 1; break;
            case 0xcd: case 0xd1: w = 2; break;
            case 0xce: case 0xd2: w = 4; break;
            case 0xcf: case 0xd3: w = 8; break;
            default: return S_BAD;      /* 0xc1 is never used */
        }
        if (w) {
            if (!s_need (pos, (size_t) w, len))
                return S_BAD;
            uint64_t u = s_be (p + pos, w);
            *at = pos + (size_t) w;
            if (b == 0xca) {
                uint32_t u32 = (uint32_t) u;
                float f;
                memcpy (&f, &u32, sizeof f);
                o->type = MSGPACK_OBJECT_FLOAT32;
                o->via.f64 = f;
            }
            else if (b == 0xcb) {
                double d;
                memcpy (&d, &u, sizeof d);
                o->type = MSGPACK_OBJECT_FLOAT64;
                o->via.f64 = d;
            }
            else if (b <= 0xcf) {
                o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
                o->via.u64 = u;
            }
            else {
                int64_t i = w == 1 ? (int8_t) u : w == 2 ? (int16_t) u : w == 4 ? (int32_t) u : (int64_t) u;
                o->type = i >= 0 ? MSGPACK_OBJECT_POSITIVE_INTEGER : MSGPACK_OBJECT_NEGATIVE_INTEGER;
                if (i >= 0)
                    o->via.u64 = (uint64_t) i;
                else
                    o->via.i64 = i;
            }
            return 0;
        }
    }
    if (h) {
        if (!s_need (pos, (size_t) h, len))
            return S_BAD;
        n = s_be (p + pos, h);
        pos += (size_t) h;
    }
    if (kind <= 3) {
        size_t body = (size_t) n + (kind == 3);     /* an ext's type byte, then its data */
        if (!s_need (pos, body, len))
            return S_BAD;
        if (kind == 3) {
            o->type = MSGPACK_OBJECT_EXT;
            o->via.ext.type = (int8_t) p [pos];
            o->via.ext.size = (uint32_t) n;
            o->via.ext.ptr = (const char *) p + pos + 1;
        }
        else {
            o->type = kind == 1 ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN;
            o->via.str.size = (uint32_t) n;     /* str and bin share a layout */
            o->via.str.ptr = (const char *) p + pos;
        }
        *at = pos + body;
        return 0;
    }
    size_t items = kind == 5 ? 2 * (size_t) n : (size_t) n;
    if (items && (items > len - pos || depth >= 16))
        return S_BAD;       /* every item takes a byte at least */
    if ((size_t) (tr->end - tr->pool) < items)
        return S_FULL;
    msgpack_object *v = tr->pool;
    tr->pool += items;
    if (kind == 4) {
        o->type = MSGPACK_OBJECT_ARRAY;
        o->via.array.size = (uint32_t) n;
        o->via.array.ptr = items ? v : NULL;
    }
    else {
        o->type = MSGPACK_OBJECT_MAP;
        o->via.map.size = (uint32_t) n;
        o->via.map.ptr = items ? (msgpack_object_kv *) (void *) v : NULL;
    }
    for (size_t k = 0; k < items; k++) {
        if (kind == 5 && depth == 0 && (k & 1) && !tr->gnode && s_is_groups_key (&v [k - 1])
            && atomic_load_explicit (&s_fast_groups, memory_order_relaxed) && s_groups_scan (tr, &pos, &v [k]))
            continue;
        /* Most items are small integers and short strings (keys, counts): read here, without a
           call (the calls were a third of the tree's time). The same reading as s_build's. */
        unsigned c = pos < len ? p [pos] : 0xc1;
        if (c <= 0x7f) {
            v [k] = (msgpack_object) { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = c };
            pos++;
            continue;
        }
        if ((c & 0xe0) == 0xa0 && s_need (pos + 1, c & 0x1f, len)) {
            v [k] = (msgpack_object) { .type = MSGPACK_OBJECT_STR };
            v [k].via.str.size = c & 0x1f;
            v [k].via.str.ptr = (const char *) p + pos + 1;
            pos += 1 + (c & 0x1f);
            continue;
        }
        int rc = s_build (tr, &pos, &v [k], depth + 1);
        if (rc)
            return rc;
    }
    *at = pos;
    return 0;
}

/* ---------------------------------------------------------------- decode */

/*  A decoded message's memory: blocks in a list, carved from the front. Strings and arrays of
    one message share a block of 4 KiB where they fit (a partial of 10 groups took 14 mallocs
    and frees before), and a bigger one gets a block of its own. */
typedef struct s_block {
    struct s_block *next;
    size_t used, size;
    _Alignas (max_align_t) char data [];
} s_block_t;

#define BLOCK_MIN 4096

static void *
s_alloc (tl_msg_t *m, size_t n)
{
    size_t need = (n + 1 + _Alignof (max_align_t) - 1) & ~(size_t) (_Alignof (max_align_t) - 1);
    s_block_t *b = m->arena_;
    if (b && b->size - b->used >= need) {
        void *p = b->data + b->used;
        b->used += need;
        return p;
    }
    size_t size = need > BLOCK_MIN ? need : BLOCK_MIN;
    if (need > BLOCK_MIN / 2 && b) {
        /* A big one alone, behind the current block, which keeps serving small ones. */
        s_block_t *big = malloc (sizeof (s_block_t) + need);
        if (!big)
            return NULL;
        big->used = big->size = need;
        big->next = b->next;
        b->next = big;
        return big->data;
    }
    if (!(b = malloc (sizeof (s_block_t) + size)))
        return NULL;
    b->size = size;
    b->used = need;
    b->next = m->arena_;
    m->arena_ = b;
    return b->data;
}

void
tl_msg_clear (tl_msg_t *m)
{
    s_block_t *b = m->arena_;
    while (b) {
        s_block_t *n = b->next;
        free (b);
        b = n;
    }
    memset (m, 0, sizeof *m);
}

static const char *
s_dup (tl_msg_t *m, const char *p, size_t n)
{
    char *s = s_alloc (m, n);
    if (s) {
        memcpy (s, p, n);
        s [n] = 0;
    }
    return s;
}

static int
s_str (const msgpack_object *o, const char **p, size_t *n)
{
    if (o->type == MSGPACK_OBJECT_STR) { *p = o->via.str.ptr; *n = o->via.str.size; return 1; }
    if (o->type == MSGPACK_OBJECT_BIN) { *p = o->via.bin.ptr; *n = o->via.bin.size; return 1; }
    return 0;
}

static int
s_num (const msgpack_object *o, double *v)
{
    if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        *v = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *v = (double) o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *v = (double) o->via.i64;
    else
        return 0;
    return 1;
}

static int
s_uint (const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return 0;
    *v = o->via.u64;
    return 1;
}

/*  A string item of an activity record, copied into m's arena. */
static bool
s_act_str (tl_msg_t *m, const msgpack_object *o, const char **out)
{
    const char *p;
    size_t n;
    return s_str (o, &p, &n) && n <= TL_STR_MAX && !memchr (p, 0, n) && (*out = s_dup (m, p, n)) != NULL;
}

/*  spans, events and workers: arrays of fixed-width records, each count capped. */
static int
s_decode_activity (tl_msg_t *m, const s_field_t *fd, const msgpack_object *a, size_t cnt, tl_err_t *e)
{
    size_t width = fd->kind == K_SPANS ? 11 : fd->kind == K_EVENTS ? 6 : 5;
    size_t cap = fd->kind == K_SPANS ? TL_ACT_SPANS_MAX : fd->kind == K_EVENTS ? TL_ACT_EVENTS_MAX : TL_ACT_WORKERS_MAX;
    if (cnt > cap)
        return tl_err_set (e, TL_EPROTO, 0, "field '%s' has %zu items (at most %zu)", fd->key, cnt, cap);
    size_t size = fd->kind == K_SPANS ? sizeof (tl_span_t) : fd->kind == K_EVENTS ? sizeof (tl_event_t) : sizeof (tl_worker_t);
    void *v = s_alloc (m, cnt * size);
    if (!v)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        if (a [i].type != MSGPACK_OBJECT_ARRAY || a [i].via.array.size != width)
            return tl_err_set (e, TL_EPROTO, 0, "field '%s' item %zu is not an array of %zu", fd->key, i, width);
        const msgpack_object *t = a [i].via.array.ptr;
        bool ok;
        if (fd->kind == K_SPANS) {
            tl_span_t *x = (tl_span_t *) v + i;
            ok = s_uint (&t [0], &x->task) && s_uint (&t [1], &x->attempt) && s_act_str (m, &t [2], &x->mapper)
                 && s_act_str (m, &t [3], &x->kind) && s_act_str (m, &t [4], &x->state) && s_uint (&t [5], &x->start_ms)
                 && s_uint (&t [6], &x->end_ms) && s_uint (&t [7], &x->offset) && s_uint (&t [8], &x->length)
                 && s_uint (&t [9], &x->cut_ms) && s_uint (&t [10], &x->tail);
        }
        else if (fd->kind == K_EVENTS) {
            tl_event_t *x = (tl_event_t *) v + i;
            ok = s_uint (&t [0], &x->n) && s_uint (&t [1], &x->ms) && s_act_str (m, &t [2], &x->kind)
                 && s_act_str (m, &t [3], &x->mapper) && s_uint (&t [4], &x->task) && s_act_str (m, &t [5], &x->text);
        }
        else {
            tl_worker_t *x = (tl_worker_t *) v + i;
            ok = s_act_str (m, &t [0], &x->name) && s_uint (&t [1], &x->slots) && s_act_str (m, &t [2], &x->state)
                 && s_uint (&t [3], &x->tasks) && s_uint (&t [4], &x->bytes);
        }
        if (!ok)
            return tl_err_set (e, TL_EPROTO, 0, "field '%s' item %zu is malformed", fd->key, i);
    }
    if (fd->kind == K_SPANS)
        m->spans = v, m->n_spans = cnt;
    else if (fd->kind == K_EVENTS)
        m->events = v, m->n_events = cnt;
    else
        m->workers = v, m->n_workers = cnt;
    return 0;
}

/*  A string of a task record: as any string field, copied into m's arena. */
static bool
s_item_str (tl_msg_t *m, const msgpack_object *o, const char **out)
{
    return s_act_str (m, o, out);
}

/*  list (TASKS) and done (DONES): arrays of fixed-width records, at most TL_BATCH_MAX. */
static int
s_decode_batch (tl_msg_t *m, const s_field_t *fd, const msgpack_object *a, size_t cnt, tl_err_t *e)
{
    bool assigns = fd->kind == K_ASSIGNS;
    uint32_t width = assigns ? 11 : 5;
    if (cnt == 0 || cnt > TL_BATCH_MAX)
        return tl_err_set (e, TL_EPROTO, 0, "field '%s' has %zu items (1 to %d)", fd->key, cnt, TL_BATCH_MAX);
    void *v = s_alloc (m, cnt * (assigns ? sizeof (tl_assign_t) : sizeof (tl_done_t)));
    if (!v)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        if (a [i].type != MSGPACK_OBJECT_ARRAY || a [i].via.array.size != width)
            return tl_err_set (e, TL_EPROTO, 0, "field '%s' item %zu is not an array of %u", fd->key, i, width);
        const msgpack_object *t = a [i].via.array.ptr;
        bool ok;
        if (assigns) {
            tl_assign_t *x = (tl_assign_t *) v + i;
            ok = s_uint (&t [0], &x->task) && s_uint (&t [1], &x->attempt) && s_item_str (m, &t [2], &x->uri)
                 && s_uint (&t [3], &x->offset) && s_uint (&t [4], &x->length) && s_uint (&t [5], &x->size)
                 && s_item_str (m, &t [6], &x->token) && s_item_str (m, &t [7], &x->etag)
                 && s_uint (&t [8], &x->mtime) && s_uint (&t [9], &x->verify) && s_item_str (m, &t [10], &x->format);
        }
        else {
            tl_done_t *x = (tl_done_t *) v + i;
            ok = s_uint (&t [0], &x->task) && s_uint (&t [1], &x->attempt) && s_uint (&t [2], &x->rows)
                 && s_uint (&t [3], &x->bytes) && s_uint (&t [4], &x->bad);
        }
        if (!ok)
            return tl_err_set (e, TL_EPROTO, 0, "field '%s' item %zu is malformed", fd->key, i);
    }
    if (assigns)
        m->assigns = v, m->n_assigns = cnt;
    else
        m->dones = v, m->n_dones = cnt;
    return 0;
}

/*  The groups s_groups_scan found (checked there): the entries and their keys in two blocks. */
static int
s_groups_read (tl_msg_t *m, const s_tree_t *tr, tl_err_t *e)
{
    size_t cnt = tr->gcnt, pos = tr->gpos;
    tl_agg_entry_t *g = s_alloc (m, cnt * sizeof *g);
    char *keys = s_alloc (m, tr->gkeys + cnt);
    if (!g || !keys)
        return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        const unsigned char *k = NULL;
        size_t kn = 0;
        uint64_t c = 0;
        if (!s_group_at (tr->p, tr->len, &pos, &k, &kn, &c))
            return tl_err_set (e, TL_EPROTO, 0, "field 'groups' item %zu is malformed", i);  /* scanned: cannot */
        memcpy (keys, k, kn);
        keys [kn] = 0;
        g [i] = (tl_agg_entry_t) { .key = keys, .len = (uint32_t) kn, .count = c };
        keys += kn + 1;
    }
    m->groups = g;
    m->n_groups = cnt;
    m->ncells = 0;
    atomic_fetch_add_explicit (&s_fast_groups_read, 1, memory_order_relaxed);
    return 0;
}

static int
s_decode_field (tl_msg_t *m, int f, const msgpack_object *o, const s_tree_t *tr, tl_err_t *e)
{
    const s_field_t *fd = &s_fields [f];
    if (fd->kind == K_GROUPS && o == tr->gnode)
        return s_groups_read (m, tr, e);
    char *base = (char *) m;
    const char *p;
    size_t n;
    switch (fd->kind) {
        case K_UINT:
            if (!s_uint (o, (uint64_t *) (base + fd->off)))
                return tl_err_set (e, TL_EPROTO, 0, "field '%s' is not an unsigned integer", fd->key);
            return 0;
        case K_STR:
            if (!s_str (o, &p, &n) || n > TL_STR_MAX || memchr (p, 0, n))
                return tl_err_set (e, TL_EPROTO, 0, "field '%s' is not a string of <= %d bytes", fd->key, TL_STR_MAX);
            if (!(*(const char **) (base + fd->off) = s_dup (m, p, n)))
                return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
            return 0;
        case K_BOOL:
            if (o->type != MSGPACK_OBJECT_BOOLEAN)
                return tl_err_set (e, TL_EPROTO, 0, "field '%s' is not a boolean", fd->key);
            *(bool *) (base + fd->off) = o->via.boolean;
            return 0;
        default:
            break;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return tl_err_set (e, TL_EPROTO, 0, "field '%s' is not an array", fd->key);
    size_t cnt = o->via.array.size;
    const msgpack_object *a = o->via.array.ptr;
    if (fd->kind == K_IDS || fd->kind == K_LENGTHS) {
        uint64_t *v = s_alloc (m, cnt * sizeof (uint64_t));
        if (!v)
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        for (size_t i = 0; i < cnt; i++)
            if (!s_uint (&a [i], &v [i]))
                return tl_err_set (e, TL_EPROTO, 0, "field '%s' holds a non-integer", fd->key);
        if (fd->kind == K_IDS) {
            m->ids = v;
            m->n_ids = cnt;
        }
        else {
            m->lengths = v;
            m->n_lengths = cnt;
        }
        return 0;
    }
    if (fd->kind == K_SPANS || fd->kind == K_EVENTS || fd->kind == K_WORKERS)
        return s_decode_activity (m, fd, a, cnt, e);
    if (fd->kind == K_ASSIGNS || fd->kind == K_DONES)
        return s_decode_batch (m, fd, a, cnt, e);
    int width = fd->kind == K_RUNNING ? 3 : 2;
    for (size_t i = 0; i < cnt; i++)
        if (a [i].type != MSGPACK_OBJECT_ARRAY
            || (a [i].via.array.size != (uint32_t) width && !(fd->kind == K_GROUPS && a [i].via.array.size == 3)))
            return tl_err_set (e, TL_EPROTO, 0, "field '%s' item %zu is not an array of %d", fd->key, i, width);
    if (fd->kind == K_RUNNING) {
        m->running = s_alloc (m, cnt * sizeof (tl_running_t));
        if (!m->running)
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        for (size_t i = 0; i < cnt; i++) {
            const msgpack_object *t = a [i].via.array.ptr;
            if (!s_uint (&t [0], &m->running [i].task) || !s_uint (&t [1], &m->running [i].attempt)
                || !s_uint (&t [2], &m->running [i].bytes_done))
                return tl_err_set (e, TL_EPROTO, 0, "field 'running' item %zu is malformed", i);
        }
        m->n_running = cnt;
    }
    else if (fd->kind == K_GROUPS) {
        m->groups = s_alloc (m, cnt * sizeof (tl_agg_entry_t));
        if (!m->groups)
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        for (size_t i = 0; i < cnt; i++) {
            const msgpack_object *t = a [i].via.array.ptr;
            if (!s_str (&t [0], &p, &n) || n > TL_AGG_KEY_MAX || !s_uint (&t [1], &m->groups [i].count))
                return tl_err_set (e, TL_EPROTO, 0, "field 'groups' item %zu is malformed", i);
            if (!(m->groups [i].key = s_dup (m, p, n)))
                return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
            m->groups [i].len = (uint32_t) n;
            m->groups [i].cells = NULL;
            /* Value cells: every group has the same number, at most 64. */
            size_t nc = 0;
            if (a [i].via.array.size == 3) {
                const msgpack_object *c = &t [2];
                if (c->type != MSGPACK_OBJECT_ARRAY || c->via.array.size == 0 || c->via.array.size % 5
                    || c->via.array.size > 5 * 64)
                    return tl_err_set (e, TL_EPROTO, 0, "field 'groups' item %zu: bad value cells", i);
                nc = c->via.array.size / 5;
                tl_cell_t *cells = s_alloc (m, nc * sizeof (tl_cell_t));
                if (!cells)
                    return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
                const msgpack_object *v = c->via.array.ptr;
                for (size_t k = 0; k < nc; k++, v += 5)
                    if (!s_uint (&v [0], &cells [k].n) || !s_uint (&v [1], &cells [k].bad) || !s_num (&v [2], &cells [k].sum)
                        || !s_num (&v [3], &cells [k].min) || !s_num (&v [4], &cells [k].max))
                        return tl_err_set (e, TL_EPROTO, 0, "field 'groups' item %zu: bad value cells", i);
                m->groups [i].cells = cells;
            }
            if (i == 0)
                m->ncells = nc;
            else if (nc != m->ncells)
                return tl_err_set (e, TL_EPROTO, 0, "field 'groups': items differ in value cells");
        }
        m->n_groups = cnt;
    }
    else {
        m->mappers = s_alloc (m, cnt * sizeof (tl_mapper_stat_t));
        if (!m->mappers)
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        for (size_t i = 0; i < cnt; i++) {
            const msgpack_object *t = a [i].via.array.ptr;
            if (!s_str (&t [0], &p, &n) || n > TL_STR_MAX || !s_uint (&t [1], &m->mappers [i].tasks))
                return tl_err_set (e, TL_EPROTO, 0, "field 'mappers' item %zu is malformed", i);
            if (!(m->mappers [i].name = s_dup (m, p, n)))
                return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        }
        m->n_mappers = cnt;
    }
    return 0;
}

int
tl_msg_decode (const void *data, size_t len, tl_msg_t *m, tl_err_t *e)
{
    memset (m, 0, sizeof *m);
    /* The tree's nodes: on the stack for a small message (a partial of 10 groups is ~60), in
       one allocation of the size s_check counts for a bigger one. */
    msgpack_object local [256], *nodes = local, root_obj;
    s_tree_t tr = { .p = data, .len = len, .pool = local, .end = local + sizeof local / sizeof local [0] };
    size_t end = 0;
    int rc = s_build (&tr, &end, &root_obj, 0);
    if (rc == S_FULL) {
        size_t nobj = 0;
        if (s_check (data, len, &nobj) != 0)
            return tl_err_set (e, TL_EPROTO, 0, "malformed msgpack (%zu bytes)", len);
        if (!(nodes = malloc (nobj * sizeof *nodes)))
            return tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        tr = (s_tree_t) { .p = data, .len = len, .pool = nodes, .end = nodes + nobj };
        end = 0;
        rc = s_build (&tr, &end, &root_obj, 0);
    }
    if (rc != 0 || end != len) {
        if (nodes != local)
            free (nodes);
        return tl_err_set (e, TL_EPROTO, 0, "malformed msgpack (%zu bytes)", len);
    }
    const msgpack_object *root = &root_obj;
    if (root->type != MSGPACK_OBJECT_MAP) {
        rc = tl_err_set (e, TL_EPROTO, 0, "message is not a map");
        goto done;
    }
    /* First pass: version and type. */
    uint64_t version = 0;
    const char *tname = NULL;
    size_t tlen = 0;
    const msgpack_object_kv *kv = root->via.map.ptr;
    size_t nkv = root->via.map.size;
    for (size_t i = 0; i < nkv; i++) {
        const char *k;
        size_t kn;
        if (!s_str (&kv [i].key, &k, &kn)) {
            rc = tl_err_set (e, TL_EPROTO, 0, "map key is not a string");
            goto done;
        }
        if (kn == 1 && k [0] == 'v' && !s_uint (&kv [i].val, &version)) {
            rc = tl_err_set (e, TL_EPROTO, 0, "field 'v' is not an unsigned integer");
            goto done;
        }
        if (kn == 1 && k [0] == 't' && !s_str (&kv [i].val, &tname, &tlen)) {
            rc = tl_err_set (e, TL_EPROTO, 0, "field 't' is not a string");
            goto done;
        }
    }
    if (version != TL_PROTO_VERSION) {
        rc = tl_err_set (e, TL_EPROTO, 0, "protocol version %llu not supported (this is %d)",
                         (unsigned long long) version, TL_PROTO_VERSION);
        goto done;
    }
    for (int t = 1; t < TL_MSG_COUNT_ && tname && tlen; t++)
        if (s_types [t].name [0] == tname [0] && strlen (s_types [t].name) == tlen
            && memcmp (s_types [t].name, tname, tlen) == 0)
            m->type = t;
    if (m->type == TL_MSG_NONE) {
        rc = tl_err_set (e, TL_EPROTO, 0, "unknown message type '%.*s'", (int) (tlen > 32 ? 32 : tlen),
                         tname ? tname : "");
        goto done;
    }
    /* Second pass: the fields this type knows; others are ignored. The type's fields are its
       required then its optional ones, in the order tl_msg_encode writes them: the search for
       a key starts after the field the key before matched and wraps around once, so a message
       from tl_msg_encode finds each key at the first or second try (a partial at 100 k a
       second spent most of its decode comparing keys with every field of its type). */
    const s_type_t *t = &s_types [m->type];
    int list [2 * MAXF];
    int nlist = 0;
    for (const int *f = t->required; *f >= 0; f++)
        list [nlist++] = *f;
    for (const int *f = t->optional; *f >= 0; f++)
        list [nlist++] = *f;
    uint64_t seen [2] = { 0, 0 };
    int cursor = 0;
    for (size_t i = 0; i < nkv; i++) {
        const char *k = NULL;
        size_t kn = 0;
        s_str (&kv [i].key, &k, &kn);
        if (kn < 2)
            continue;       /* "v" and "t" (read above): no field's key is shorter than 2 */
        for (int tries = 0; tries < nlist; tries++) {
            int li = cursor + tries < nlist ? cursor + tries : cursor + tries - nlist;
            int f = list [li];
            if (s_fields [f].len != kn || s_fields [f].key [0] != k [0] || memcmp (s_fields [f].key, k, kn) != 0)
                continue;
            if (S_HAS (seen, f)) {
                rc = tl_err_set (e, TL_EPROTO, 0, "field '%s' appears twice", s_fields [f].key);
                goto done;
            }
            seen [f / 64] |= 1ULL << (f % 64);
            if ((rc = s_decode_field (m, f, &kv [i].val, &tr, e)) != 0)
                goto done;
            cursor = li + 1 < nlist ? li + 1 : 0;
            break;      /* a type lists a field once */
        }
    }
    for (const int *f = t->required; *f >= 0; f++)
        if (!S_HAS (seen, *f)) {
            rc = tl_err_set (e, TL_EPROTO, 0, "'%s' message lacks field '%s'", t->name, s_fields [*f].key);
            goto done;
        }
    if (m->type == TL_MSG_APPLIED && m->n_ids != m->n_lengths) {
        rc = tl_err_set (e, TL_EPROTO, 0, "'applied' has %zu tasks but %zu lengths", m->n_ids, m->n_lengths);
        goto done;
    }
    /* A PARTIAL in parts says both numbers, and part is one of them. */
    if (m->type == TL_MSG_PARTIAL && (S_HAS (seen, F_PART) || S_HAS (seen, F_PARTS))) {
        if (!S_HAS (seen, F_PART) || !S_HAS (seen, F_PARTS) || m->part < 1 || m->part > m->parts) {
            rc = tl_err_set (e, TL_EPROTO, 0, "'partial' part %llu of %llu is not a part", (unsigned long long) m->part,
                             (unsigned long long) m->parts);
            goto done;
        }
    }
    /* An UPDATE that says what it is (a part of a snapshot or of a delta) says it whole. */
    if (m->type == TL_MSG_UPDATE && S_HAS (seen, F_KIND)) {
        bool delta = strcmp (m->kind, TL_UPDATE_DELTA) == 0;
        if (!delta && strcmp (m->kind, TL_UPDATE_SNAPSHOT) != 0)
            rc = tl_err_set (e, TL_EPROTO, 0, "'update' has kind '%.32s' (snapshot or delta)", m->kind);
        else if (!S_HAS (seen, F_PART) || !S_HAS (seen, F_PARTS) || m->part < 1 || m->part > m->parts)
            rc = tl_err_set (e, TL_EPROTO, 0, "'update' part %llu of %llu is not a part", (unsigned long long) m->part,
                             (unsigned long long) m->parts);
        else if (delta && !S_HAS (seen, F_BASE))
            rc = tl_err_set (e, TL_EPROTO, 0, "'update' delta lacks field 'base'");
        if (rc)
            goto done;
    }
done:
    if (nodes != local)
        free (nodes);
    if (rc)
        tl_msg_clear (m);
    return rc;
}

bool
tl_update_where (const tl_msg_t *m, uint64_t *part, uint64_t *parts)
{
    *part = m->kind ? m->part : 1;
    *parts = m->kind ? m->parts : 1;
    return m->kind && strcmp (m->kind, TL_UPDATE_DELTA) == 0;
}
