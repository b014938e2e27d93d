/*  ckptlog.h — the records of the reducer's checkpoint log: bytes out, records in. Pure.

    The state dir holds a base (reducer.ckpt, tl_ledger_save) and a log of what was applied
    since (reducer.log, reducer/ckptfile.h). This file is the log's format and nothing else:
    encoders that turn an applied task or a change of the job's meta into framed records, and a
    streaming reader that turns bytes back into whole records, telling a torn tail from damage.

    The log starts with the magic "TALLYCL1". Each record is a 20-byte header and a payload:
        len u32 | gen u64 | crc32 (len, gen) u32 | crc32 (payload) u32 | payload (len bytes)
    all big-endian. gen is the generation of the base the record follows (the base's seq), so
    a log left over from an older base is recognised as stale rather than applied twice. The
    payload is one msgpack array:
        ["task", id, attempt, length, mapper, [rows, bytes, bad, blank, filtered, fetched, skipped],
         ncells, ngroups]                           an applied task's header and counters, then
        ["groups", id, [[key, count(, cells)]...]]  its groups, in chunks of about chunk bytes,
                                                    until ngroups have come (none when 0);
        ["tasks", ntasks, bytes_total]              the job's task count or size changed;
        ["end", ok, error]                          the job ended.
    A task and its chunks form one *unit*, reported once whole: an applied task is never split
    in memory as one buffer (a task of a million groups is a run of ~1 MiB records), and
    replay hands it to tl_ledger_apply as one PARTIAL.

    What the reader calls a torn tail: the bytes after the last whole unit, when they are an
    incomplete record or a unit whose chunks stop at the end of the file. A crash mid-append
    leaves exactly that, and it was never acknowledged (acks wait for the fsync after a whole
    round of units), so it is cut off. Everything else is damage, reported with the offset and
    the cause: a checksum that does not match, a record too long, a payload that does not
    decode, a chunk of another task, a generation that does not fit its base. */
#ifndef TL_CKPTLOG_H
#define TL_CKPTLOG_H
#include "lib/base/err.h"
#include "lib/core/agg.h"
#include "lib/wire/codec.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_CKPTLOG_MAGIC "TALLYCL1"
#define TL_CKPTLOG_MAGIC_LEN 8
#define TL_CKPTLOG_HDR 20
#define TL_CKPTLOG_CHUNK (1u << 20)         /* groups per record: about this many bytes */
#define TL_CKPTLOG_REC_MAX (16u << 20)      /* a longer record is damage, not a big chunk */

/*  Where framed records go: one call per record (header and payload, len bytes). Returns 0 or
    an error, which stops the encoder and is returned by it. */
typedef int (*tl_ckptlog_emit_fn) (void *arg, const void *rec, size_t len);

/*  An applied task: hdr carries the header and counters (task, attempt, length, mapper, rows,
    bytes, bad, blank, filtered, fetched, skipped). Its groups are hdr->groups (with
    hdr->ncells cells each) when staged is NULL, or the groups of the staged table otherwise.
    chunk: payload bytes per groups record, about (0: TL_CKPTLOG_CHUNK). */
int tl_ckptlog_put_task (uint64_t gen, const tl_msg_t *hdr, const tl_agg_t *staged, size_t chunk,
                         tl_ckptlog_emit_fn emit, void *arg);
/*  The job's task count or size changed. */
int tl_ckptlog_put_tasks (uint64_t gen, uint64_t ntasks, uint64_t bytes_total, tl_ckptlog_emit_fn emit, void *arg);
/*  The job ended. */
int tl_ckptlog_put_end (uint64_t gen, bool ok, const char *error, tl_ckptlog_emit_fn emit, void *arg);

typedef enum { TL_CKPTLOG_TASK = 1, TL_CKPTLOG_TASKS, TL_CKPTLOG_END } tl_ckptlog_kind_t;

/*  One whole unit. TASK: msg is a PARTIAL (task, attempt, length, mapper, counters, ncells and
    groups); TASKS: msg.tasks and msg.bytes_total; END: msg.ok and msg.error. Everything msg
    points to is borrowed from the reader until its next call. */
typedef struct {
    tl_ckptlog_kind_t kind;
    uint64_t offset;        /* of the unit's first record in the log */
    tl_msg_t msg;
} tl_ckptlog_rec_t;

typedef struct tl_ckptlog_reader tl_ckptlog_reader_t;

/*  A reader of a log that should follow the base of generation gen. */
tl_ckptlog_reader_t *tl_ckptlog_reader_new (uint64_t gen);
void tl_ckptlog_reader_destroy (tl_ckptlog_reader_t **self_p);
/*  More bytes of the log, in order (copied; the reader keeps only what it has not consumed). */
int tl_ckptlog_reader_feed (tl_ckptlog_reader_t *self, const void *data, size_t len);
/*  The next whole unit: 1 (rec filled), 0 (more bytes needed, or the end), or a negative error
    (damage: e says where and what, "at offset N: cause"). A stale log (its first record follows
    an older base) yields nothing; its frames are still checked, and a record of the current
    generation after stale ones is damage. */
int tl_ckptlog_reader_next (tl_ckptlog_reader_t *self, tl_ckptlog_rec_t *rec, tl_err_t *e);
/*  Once every byte is fed and next said 0: the offset up to which the log holds whole units
    (what to keep; 0 when not even the magic is whole), and the bytes after it (the torn tail). */
uint64_t tl_ckptlog_reader_good (const tl_ckptlog_reader_t *self, uint64_t *torn);
/*  Does the log follow an older base (nothing in it counts)? */
bool tl_ckptlog_reader_stale (const tl_ckptlog_reader_t *self);
#endif
