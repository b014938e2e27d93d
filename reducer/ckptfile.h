/*  ckptfile.h — the reducer's state dir on disk: a base and an append-only log (the shell
    around reducer/ckptlog.h; files, fsync and rename live here, never in the ledger).

    STATE_DIR/reducer.ckpt is the base: the whole ledger and the job's meta, as tl_ledger_save
    writes it, written atomically (tmp, fsync, rename, fsync dir). Its seq is the base's
    *generation*, one higher at every base. STATE_DIR/reducer.log holds what was applied since:
    the records of ckptlog.h, each stamped with the generation it follows. A checkpoint round
    appends the records of the tasks applied since the last one and fsyncs the log: O(changes),
    not O(groups). A new base is written when a job starts (its identity, empty), when the log
    outgrows a bound (max(64 MiB, twice the base's size), or --compact-bytes) (a compaction), and
    after any failed write to the log. The job's end is a log record like the rest.

    Writing a base, in this order: the new base is renamed into place (and the dir fsynced),
    then the log is truncated to its magic (and fsynced). A crash between the two leaves a log
    whose records carry the old generation: load sees that the base already holds them and
    ignores them. No step writes a record of a generation whose base is not yet in place, so a
    log record newer than its base is damage, as is a log with no base at all. While a base is
    due, appends are not written at all (the base will hold their effects), so a failed write
    can never leave a record of one generation after a gap or in the wrong log.

    Load replays the log's records over the base, in order, through tl_ledger_apply. A torn
    tail (a crash mid-append) is cut off with an info line; any other damage, or a record that
    does not fit the ledger (a task applied twice, a task beyond the job's count), refuses to
    start with the file, the offset and the cause. */
#ifndef TL_CKPTFILE_H
#define TL_CKPTFILE_H
#include "reducer/ledger.h"
#include "lib/base/err.h"
#include <stdbool.h>
#include <stdint.h>

#define TL_CKPTFILE_COMPACT_DEFAULT (64ULL << 20)
#define TL_CKPTFILE_COMPACT_AUTO UINT64_MAX     /* max(64 MiB, twice the base's size) */

typedef struct tl_ckptfile tl_ckptfile_t;

typedef struct {
    uint64_t base_bytes, log_bytes;     /* written by this process */
    uint64_t bases, compactions;        /* bases written; of them, because the log outgrew its bound */
    uint64_t replayed;                  /* log units (tasks, meta) replayed at start */
    uint64_t log_size;                  /* the log's size now */
} tl_ckptfile_stats_t;

/*  The state in dir (which must exist). A base is written when the log's records outgrow
    compact_bytes (0: at every sync, as before the log), or with TL_CKPTFILE_COMPACT_AUTO
    max(64 MiB, twice the base's size, twice the state's: tl_ledger_save_bound), so that a
    compaction's O(groups) is paid once per twice as many bytes of log at least, and never while
    the log is about the state itself (every task brings new groups: a compaction would save
    nothing). The dir holds at most about 3 states' worth. */
tl_ckptfile_t *tl_ckptfile_new (const char *dir, uint64_t compact_bytes);
void tl_ckptfile_destroy (tl_ckptfile_t **self_p);
/*  Load the base into ledger and meta and replay the log over both (meta's strings are owned
    by the ledger or by self). Returns 0, TL_ENOTFOUND (no state: start afresh), or an error
    whose text names the file, the offset and the cause. The log is then open for appends. */
int tl_ckptfile_load (tl_ckptfile_t *self, tl_ledger_t *ledger, tl_ledger_meta_t *meta, tl_err_t *e);
/*  Write a new base of ledger and meta (meta->seq is set here: the next generation) and empty
    the log. */
int tl_ckptfile_base (tl_ckptfile_t *self, const tl_ledger_t *ledger, tl_ledger_meta_t *meta, tl_err_t *e);
/*  A new job: nothing more goes into the log until the next base. */
void tl_ckptfile_want_base (tl_ckptfile_t *self);
/*  Is a base due (a new job, a failed append, no base yet), or has the log outgrown its bound? */
bool tl_ckptfile_base_due (const tl_ckptfile_t *self);
/*  Has the log outgrown its bound: compact_bytes, or with TL_CKPTFILE_COMPACT_AUTO max(64 MiB,
    twice the base, twice what a base of the ledger would be now)? */
bool tl_ckptfile_log_full (const tl_ckptfile_t *self, const tl_ledger_t *ledger);
/*  Append records (buffered; written in pieces of about a MiB). staged as in
    tl_ckptlog_put_task. A failed write makes a base due; the error comes from the next sync. */
void tl_ckptfile_put_task (tl_ckptfile_t *self, const tl_msg_t *hdr, const tl_agg_t *staged);
void tl_ckptfile_put_tasks (tl_ckptfile_t *self, uint64_t ntasks, uint64_t bytes_total);
void tl_ckptfile_put_end (tl_ckptfile_t *self, bool ok, const char *error);
/*  Write what is buffered and fsync the log. Fails while a base is due (e says why). */
int tl_ckptfile_sync (tl_ckptfile_t *self, tl_err_t *e);
tl_ckptfile_stats_t tl_ckptfile_stats (const tl_ckptfile_t *self);
#endif
