/*  codec.h — every tally message (docs/PROTOCOL.md, version 4), encoded with msgpack-c.

    A tl_msg_t is a flat struct holding the fields of all message types; `type` says which are
    meaningful. tl_msg_decode validates the whole frame before it trusts anything: a bounds pass
    checks every array/map count against the bytes left (msgpack-c has no limits of its own),
    then every field is checked for type and range, then the fields required by the type must
    all be present. Strings and arrays of a decoded message live in memory owned by the message:
    release them with tl_msg_clear. */
#ifndef TL_CODEC_H
#define TL_CODEC_H
#include "lib/core/agg.h"
#include "lib/base/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_PROTO_VERSION 4
#define TL_STR_MAX 4096

/*  A PARTIAL holds at most this many groups, and its groups at most this many encoded bytes
    (tl_msg_group_bound), unless one group alone is bigger: a task's table beyond that goes as
    several PARTIALs numbered part = 1..parts (docs/PROTOCOL.md). So no partial message is much
    over 4 MiB, whatever the number of groups, and the reducer's message cap can be small. */
#define TL_PART_GROUPS 65536
#define TL_PART_BYTES ((size_t) 4 << 20)
/*  The largest PARTIAL a peer may send: one part's groups, one group that alone passes the
    bound, and the header's strings. The reducer's ZMQ_MAXMSGSIZE. */
#define TL_PARTIAL_MAX (TL_PART_BYTES + ((size_t) 1 << 20))

typedef enum {
    TL_MSG_NONE = 0,
    TL_MSG_HELLO, TL_MSG_HB, TL_MSG_DONE, TL_MSG_FAIL, TL_MSG_BYE,
    TL_MSG_WELCOME, TL_MSG_TASK, TL_MSG_CANCEL, TL_MSG_RESET, TL_MSG_END,
    TL_MSG_JOB, TL_MSG_APPLIED, TL_MSG_PARTIAL, TL_MSG_UPDATE, TL_MSG_STEAL, TL_MSG_CUT,
    TL_MSG_PING, TL_MSG_PONG, TL_MSG_REFUSED, TL_MSG_VERIFIED, TL_MSG_ACTIVITY,
    TL_MSG_TASKS, TL_MSG_DONES,
    TL_MSG_COUNT_
} tl_msg_type_t;

typedef struct {
    uint64_t task, attempt, bytes_done;
} tl_running_t;

typedef struct {
    const char *name;
    uint64_t tasks;
} tl_mapper_stat_t;

/*  Batches (docs/PROTOCOL.md, "Batches"): a mapper whose HELLO says `batch` N takes TASKS of
    up to N assignments, and a broker whose WELCOME says `batch` takes DONES. */
#define TL_BATCH_MAX 256

/*  One assignment of a TASKS message: TASK's own fields (job, col, endpoint, nosign and region
    are the message's, shared). */
typedef struct {
    uint64_t task, attempt, offset, length, size, mtime, verify;
    const char *uri, *token, *etag, *format;
} tl_assign_t;

/*  One finished task of a DONES message: DONE's fields. */
typedef struct {
    uint64_t task, attempt, rows, bytes, bad;
} tl_done_t;

/*  Activity for the dashboard (ACTIVITY, and UPDATE while a dashboard subscribes): one task
    attempt on a mapper, from its assignment; times are ms on the broker's job clock. */
typedef struct {
    uint64_t task, attempt;
    const char *mapper;
    const char *kind;       /* original, tail (made by a steal), backup, reissue, verify */
    const char *state;      /* running, done, failed, cancelled, lost */
    uint64_t start_ms, end_ms;      /* end 0: still running */
    uint64_t offset, length;        /* the range as it is now (shortened by a cut) */
    uint64_t cut_ms, tail;          /* when a steal cut it (0: never) and the tail task it gave */
} tl_span_t;

typedef struct {
    uint64_t n, ms;         /* number (from 1) and time */
    const char *kind;       /* joined, lost, left, steal, backup, cancelled, requeued, failed */
    const char *mapper;
    uint64_t task;
    const char *text;
} tl_event_t;

typedef struct {
    const char *name;
    uint64_t slots;
    const char *state;      /* joined, lost, left */
    uint64_t tasks, bytes;  /* tasks done; bytes read (finished attempts plus running progress) */
} tl_worker_t;

#define TL_ACT_SPANS_MAX 8192
#define TL_ACT_EVENTS_MAX 1024
#define TL_ACT_WORKERS_MAX 8192
/*  The XPUB topic a dashboard subscribes to (besides ""): while anyone does, UPDATEs carry the
    activity. No message starts with it, so it only tells the reducer. */
#define TL_ACT_TOPIC "tally-activity"
#define TL_UPDATE_SNAPSHOT "snapshot"
#define TL_UPDATE_DELTA "delta"
/*  The XPUB topic a receiver that keeps a replica subscribes to, before "": while nobody holds
    it, deltas go out bare (no groups, `bare` set: progress only), so a reducer whose watchers
    only print the final table encodes and sends no groups until the end. No message starts
    with it, so it only tells the reducer. */
#define TL_GROUPS_TOPIC "tally-groups"

typedef struct {
    tl_msg_type_t type;
    const char *name, *job, *reducer, *uri, *col, *endpoint, *region, *error, *mapper, *instance, *fleet;
    const char *etag;           /* TASK: the object's ETag as listed ("" or NULL: none) */
    const char *token;          /* TASK, PARTIAL: the broker's HMAC over the assignment (lib/wire/token.h) */
    const char *key;            /* JOB: the job's token key, hex */
    const char *digest;         /* END: digest of the committed task list (id, length) */
    const char *fingerprint;    /* JOB: the job's fingerprint (inputs as listed, query, split rules) */
    const char *stalled;        /* APPLIED: why acks are held back (the checkpoint cannot be written) */
    const char *current;        /* REFUSED: the job the reducer is serving */
    const char *format;         /* TASK: the object's format ("csv", "parquet"; "" or NULL: probe) */
    uint64_t fetched;           /* PARTIAL, UPDATE: bytes actually read from storage */
    uint64_t skipped;           /* PARTIAL, UPDATE: Parquet row groups skipped by their statistics */
    uint64_t mtime;             /* TASK: the object's mtime in ns as listed (files), 0: none */
    uint64_t verify;            /* TASK, PARTIAL: 1 + the task this one re-runs to check it, 0: none;
                                   VERIFIED: the same */
    uint64_t slots, hb_ms, task, attempt, offset, length, size, keep, cut;
    uint64_t rows, bytes, bad, blank, filtered, tasks, seq, tasks_done, tasks_total, bytes_total, dups, elapsed_ms;
    bool nosign, retry, ok, done, full, returned;
    tl_running_t *running;
    size_t n_running;
    uint64_t *ids;
    size_t n_ids;
    uint64_t *lengths;      /* APPLIED: the length each applied partial covered */
    size_t n_lengths;
    tl_agg_entry_t *groups;
    size_t n_groups;
    size_t ncells;          /* value cells per group (a query's aggregates), 0 for counts only;
                               on the wire a group is [key, count] or [key, count, [n, bad, sum,
                               min, max] x ncells] */
    tl_mapper_stat_t *mappers;
    size_t n_mappers;
    tl_span_t *spans;       /* ACTIVITY, UPDATE (optional): the broker's bounded rings */
    size_t n_spans;
    tl_event_t *events;
    size_t n_events;
    tl_worker_t *workers;
    size_t n_workers;
    uint64_t clock;         /* ACTIVITY, UPDATE: the broker's job clock (ms) when it was sent */
    uint64_t batch;         /* HELLO: the most assignments the mapper takes in one TASKS (it also
                               sends DONES); WELCOME: the broker takes DONES. 0: absent */
    tl_assign_t *assigns;   /* TASKS: 1 to TL_BATCH_MAX assignments */
    size_t n_assigns;
    tl_done_t *dones;       /* DONES: 1 to TL_BATCH_MAX finished tasks */
    size_t n_dones;
    const char *kind;       /* UPDATE: TL_UPDATE_SNAPSHOT (the whole table) or TL_UPDATE_DELTA (the
                               groups changed since update `base`); NULL: a whole state in one
                               message, as before kind existed (lib/wire/clone.h) */
    uint64_t base;          /* UPDATE delta: the seq of the update it follows */
    bool answers;           /* APPLIED: this reducer answers every JOB, with nothing new too (session
                               13), so the broker may take its silence for its absence */
    bool noverify;          /* JOB: the broker sends no verification copies (no --verify-fraction),
                               so the reducer need keep no digests; absent (a broker from
                               before it): it keeps them */
    bool bare;              /* UPDATE delta: its groups were left out (no subscriber held
                               TL_GROUPS_TOPIC); a replica that holds its base has lost them */
    uint64_t part, parts;   /* UPDATE with a kind: part `part` (from 1) of `parts` messages that
                               share one seq and make one update. PARTIAL: part `part` of a
                               task's partial sent in `parts` messages (parts 0: one whole
                               partial, the fields are not sent) */
    void *arena_;   /* private: memory of a decoded message */
} tl_msg_t;

/*  Where an UPDATE stands in its update: part `*part` of `*parts`, and whether it is a delta.
    Without a kind it is a whole state in one message (a reducer before deltas). */
bool tl_update_where (const tl_msg_t *m, uint64_t *part, uint64_t *parts);

/*  Type name as on the wire ("hello", ...), or "?" */
const char *tl_msg_type_name (tl_msg_type_t type);
/*  Encode m into a new buffer (*data, caller frees with free()). */
int tl_msg_encode (const tl_msg_t *m, char **data, size_t *len);
/*  Decode one frame into m (zeroed first). On error m holds nothing to free. */
int tl_msg_decode (const void *data, size_t len, tl_msg_t *m, tl_err_t *e);
/*  Release what decode allocated and zero m. */
void tl_msg_clear (tl_msg_t *m);
/*  Tests and the fuzzer: whether a message's plain groups are read straight from its bytes
    (on by default; off, the tree reads them, as it reads any other encoding), and how many
    messages' groups were read so since the process began. */
void tl_codec_fast_groups (bool on);
uint64_t tl_codec_fast_groups_read (void);
/*  An upper bound on the bytes one group takes in an encoded message's `groups` (with ncells
    value cells): the mapper cuts a partial into parts by it (TL_PART_BYTES). */
size_t tl_msg_group_bound (size_t keylen, size_t ncells);
/*  Structural bounds pass over msgpack bytes: every container count fits in what remains,
    nesting depth <= 16, and exactly one top-level object. Exposed for tests. */
int tl_msgpack_check (const unsigned char *p, size_t len);
#endif
