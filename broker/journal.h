/*  journal.h — the broker's append-only journal (--state-dir).

    Each record is a msgpack array preceded by its length (4 bytes, big-endian). Records are
    buffered by tl_journal_append and made durable by tl_journal_sync (write + fsync). Replay
    reads every whole record in order; a torn last record (a crash mid-write) is dropped and
    the file is truncated to the last whole record, so that appends go on from a clean end. */
#ifndef TL_JOURNAL_H
#define TL_JOURNAL_H
#include "lib/base/err.h"
#include <msgpack.h>
#include <stdbool.h>

typedef struct tl_journal tl_journal_t;

/*  Open (create) dir/name. */
tl_journal_t *tl_journal_open (const char *dir, const char *name, tl_err_t *e);
void tl_journal_destroy (tl_journal_t **self_p);
/*  Call fn for each record (a msgpack array). fn returns 0 to go on, or an error to stop.
    Returns the number of records, or a negative error. */
long tl_journal_replay (tl_journal_t *self, int (*fn) (void *arg, const msgpack_object *rec), void *arg, tl_err_t *e);
/*  Buffer one record (the bytes of one msgpack array). */
int tl_journal_append (tl_journal_t *self, const char *rec, size_t len);
/*  Write what is buffered and fsync. */
int tl_journal_sync (tl_journal_t *self, tl_err_t *e);
#endif
