/*  jobrec.h — what the broker's journal records say (the framing is broker/journal.h).

    job   ["job", id, col, bytes_total, fingerprint, definition, split, key, objects, tasks, ntasks]
          The whole job in one record: objects are [uri, size, etag, mtime_ns] and tasks are
          [object, offset, length, splittable], their ids 0..ntasks-1. A shorter task list can
          therefore never pass for a smaller job: the record is whole or it is not there.
    cut   ["cut", task, length, tail, object, offset, length, splittable]
          A cut and the tail task it makes, in one record, synced before the tail is handed out.
    end   ["end", ok, error]
          The job is over. A broker that finds it refuses to run again in the same state dir.

    `definition` hashes what the user asked for (the --input list, the query, the split size);
    `fingerprint` also hashes the inputs as listed (size and ETag or mtime of every object). */
#ifndef TL_JOBREC_H
#define TL_JOBREC_H
#include "broker/journal.h"
#include "broker/sched.h"
#include "lib/core/digest.h"
#include "lib/store/store.h"
#include "lib/wire/codec.h"
#include "lib/wire/token.h"

typedef struct {
    char id [TL_STR_MAX + 1];
    char col [TL_STR_MAX + 1];
    uint64_t bytes_total, split;
    char fingerprint [TL_DIGEST_HEX + 1];
    char definition [TL_DIGEST_HEX + 1];
    uint8_t key [TL_TOKEN_KEY_LEN];
    bool have;              /* replay found a job record */
    bool ended, ended_ok;   /* replay found an end record */
    char end_error [512];
} tl_jobrec_t;

/*  Append the job record (the objects and every task now in sched). Not synced. */
int tl_jobrec_put_job (tl_journal_t *j, const tl_jobrec_t *job, const tl_objlist_t *objs, const tl_sched_t *sched);
/*  Append a cut of task t together with its tail task. Not synced. */
int tl_jobrec_put_cut (tl_journal_t *j, const tl_task_t *t, const tl_task_t *tail);
/*  Append the end of the job. Not synced. */
int tl_jobrec_put_end (tl_journal_t *j, bool ok, const char *error);
/*  Replay the journal into job, objs and sched (which must be empty). Returns the number of
    records, or a negative error naming the file and offset. */
long tl_jobrec_replay (tl_journal_t *j, tl_jobrec_t *job, tl_objlist_t *objs, tl_sched_t *sched, tl_err_t *e);
#endif
