/*  journal.h — the broker's append-only journal (--state-dir): framing and integrity.

    The file starts with the magic "TALLYJ2\n". Each record is a 16-byte header and a payload
    (one msgpack array, broker/jobrec.h says which):
        len u32 | seq u32 | crc32 (len, seq) u32 | crc32 (payload) u32 | payload
    all big-endian. seq counts records from 1. Records are buffered by tl_journal_append and
    made durable by tl_journal_sync (write + fsync).

    Replay tells a torn tail from damage. A crash mid-write leaves an *incomplete* last record
    (its header, or the payload its intact header announces, runs past the end of the file):
    that record was never synced, so nothing was done on its strength, and it is cut off. Any
    other defect (a header or payload checksum that does not match, a sequence gap, a payload
    that is not a msgpack array) means the file was damaged after it was written: replay
    refuses, naming the file and the offset, because resuming from a shorter journal could
    pass for a smaller job. */
#ifndef TL_JOURNAL_H
#define TL_JOURNAL_H
#include "lib/base/err.h"
#include <msgpack.h>
#include <stdbool.h>

typedef struct tl_journal tl_journal_t;

/*  Open (create) dir/name. */
tl_journal_t *tl_journal_open (const char *dir, const char *name, tl_err_t *e);
void tl_journal_destroy (tl_journal_t **self_p);
/*  The file's path (borrowed). */
const char *tl_journal_path (const tl_journal_t *self);
/*  Discard everything in the file (--fresh). */
int tl_journal_reset (tl_journal_t *self, tl_err_t *e);
/*  Call fn for each record (a msgpack array) in order. fn returns 0 to go on, or an error to
    stop. Returns the number of records, or a negative error with e naming file and offset. */
long tl_journal_replay (tl_journal_t *self, int (*fn) (void *arg, const msgpack_object *rec, tl_err_t *e),
                        void *arg, tl_err_t *e);
/*  Buffer one record (the bytes of one msgpack array). */
int tl_journal_append (tl_journal_t *self, const char *rec, size_t len);
/*  Write what is buffered and fsync. */
int tl_journal_sync (tl_journal_t *self, tl_err_t *e);
#endif
