/*  work.h — the work of one task, start to finish, with no sockets: read what the task needs
    of its object, count, and encode the PARTIAL. CSV: stream the byte range and resolve the
    column from the object's header. Parquet: fetch the footer (cached per object), then the
    needed column chunks of the row groups the task owns (lib/core/pqtask.h).
    The mapper runs one of these per slot thread. */
#ifndef TL_WORK_H
#define TL_WORK_H
#include "lib/base/err.h"
#include "lib/core/agg.h"
#include "lib/store/store.h"
#include "mapper/colcache.h"
#include "lib/core/agg.h"
#include <stdatomic.h>
#include <stdint.h>

typedef struct {
    char job [64];
    uint64_t task, attempt;
    char *uri;              /* owned */
    uint64_t offset, length, size;
    char *col;              /* owned: group-by spec */
    char *endpoint;         /* owned, may be NULL */
    char *region;           /* owned, may be NULL */
    bool nosign;
    char *token;            /* owned: the broker's token for this assignment, copied into the PARTIAL */
    char *etag;             /* owned, may be NULL: the object's ETag as listed (sent as If-Match) */
    int64_t mtime_ns;       /* the object's mtime as listed (files), 0: unknown */
    uint64_t verify;        /* 1 + the task this run verifies, 0: an ordinary task */
    char *format;           /* owned, may be NULL: "csv", "parquet" (lib/core/format.h); NULL or "":
                               probe the object */
    bool parts;             /* the caller sends a table of more than one part's groups as several
                               PARTIALs (tl_work_next_part); false: always one whole PARTIAL */
    size_t groups_hint;     /* about how many groups the task's table will hold (its slot's last
                               task had so many), 0: unknown. Only sizes the table at the start. */
    tl_agg_t *into;         /* borrowed, may be NULL: count into this table (its cells must be the
                               query's) and encode no PARTIAL: `tally scan` keeps one table for
                               all its objects instead of a table, an encode, a decode and a merge
                               per object. On failure it holds part of the task's counts. */
    tl_agg_t **spare;       /* may be NULL: where the slot keeps an earlier task's table. A task that
                               counts into a table of its own takes *spare (leaving NULL) and
                               counts into it, cleared, when its cells match (else frees it): its
                               memory is reused instead of freshly faulted in (mapper.c). */
} tl_work_t;

/*  A steal request, shared between the mapper's main thread and the slot thread.
    main: sets keep (per mille of the remaining bytes to keep), then req = 1.
    slot: at its next chunk picks cut >= its position, sets cut (0: declined), then req = 2. */
typedef struct {
    _Atomic int req;
    _Atomic uint32_t keep;
    _Atomic uint64_t cut;
    void (*notify) (void *arg);     /* called by the slot thread once it has answered */
    void *notify_arg;
} tl_steal_t;

typedef struct {
    int rc;                 /* 0, or the error code */
    tl_err_t err;
    char *partial;          /* encoded PARTIAL, caller frees; with parts > 0 the part last encoded
                               by tl_work_next_part (NULL until the first) */
    size_t partial_len;
    tl_agg_t *agg;          /* with parts > 0: the counted table, owned, encoded a part at a time */
    unsigned ncells;
    uint32_t parts, part;   /* parts: how many PARTIALs the table takes (0: one whole, in partial);
                               part: the last one encoded */
    size_t pos;             /* where the next part's groups start in agg (tl_agg_next) */
    size_t groups;          /* the groups of the partial */
    size_t partial_max;     /* the largest part sent so far (bytes; the sender keeps it) */
    uint64_t rows, bad, blank, bytes, filtered;
    uint64_t covered;       /* bytes of the range this partial covers (less than length after a cut) */
    uint64_t fetched;       /* bytes actually read from storage (Parquet: footer and chunks) */
    uint64_t skipped;       /* Parquet row groups skipped by their statistics */
    tl_read_stats_t rs;
} tl_work_result_t;

/*  Run w. cancel is polled; progress gets the bytes read so far. cfg supplies the mapper's own
    overrides (rate limit; endpoint/nosign if set there). */
void tl_work_run (const tl_work_t *w, const char *mapper_name, const tl_store_cfg_t *cfg,
                  const volatile int *cancel, _Atomic uint64_t *progress, tl_steal_t *steal,
                  tl_colcache_t *cache, tl_work_result_t *out);
/*  Encode the result's next part (w->parts, out->parts > 0) into out->partial (freeing the one
    before): one part at a time, so the caller holds one part's bytes, not the table's. Returns 0,
    1 when every part is encoded already, or TL_ENOMEM. */
int tl_work_next_part (const tl_work_t *w, const char *mapper_name, tl_work_result_t *out);
/*  Free what a result owns (partial, agg); the struct itself stays. */
void tl_work_result_clear (tl_work_result_t *out);
/*  The cap on a decompressed Parquet page or dictionary, for every task of this process
    (0: TALLY_MAX_PAGE_SIZE from the environment, else 256 MiB). */
void tl_work_set_max_page (uint64_t bytes);
/*  Free w and its strings, and set *w_p to NULL. */
void tl_work_destroy (tl_work_t **w_p);
#endif
