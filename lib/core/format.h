/*  format.h — what kind of object this is, and how the broker cuts it into tasks.

    Formats are backends behind one small vtable, as storage is: CSV (plain or compressed text)
    and Parquet. The format is decided by content, never by name: an object is Parquet when it
    begins and ends with the magic "PAR1"; anything else is CSV, as it always was. The broker
    probes each object once (its first bytes and its tail, which for Parquet also holds the
    footer), asks the format to plan the object's tasks, and names the format in every TASK, so
    that a mapper knows what it reads without probing again.

    A task is always a byte range [offset, offset+length) of the object; only the format knows
    what belongs to it. CSV: the records that start in the range (the line rule). Parquet: the
    row groups whose first needed column chunk starts in the range (lib/core/pqtask.h). Either
    way every record or row group belongs to exactly one task of any partition of [0, size),
    which is what lets the scheduler re-issue, back up and verify tasks without knowing formats.

    Pure: bytes in, plans out. */
#ifndef TL_FORMAT_H
#define TL_FORMAT_H
#include "lib/base/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  How many bytes of an object's tail the broker and the mapper fetch first: the whole footer
    of most Parquet files (a TLC month's is about 10 KiB). */
#define TL_FORMAT_TAIL (64u << 10)

/*  What a probe saw of one object. */
typedef struct {
    const char *uri;
    uint64_t size;
    const uint8_t *head;    /* the object's first nhead bytes (at least 4 when size allows) */
    size_t nhead;
    const uint8_t *tail;    /* its last ntail bytes (Parquet: the footer; for planning, all of it) */
    size_t ntail;
} tl_format_probe_t;

typedef struct {
    uint64_t offset, length;
    bool splittable;        /* may be cut at a byte offset while it runs (tail stealing) */
} tl_format_task_t;

typedef struct {
    uint64_t split;         /* --split-size (0: one task per object) */
    const char *query;      /* the job's query text (lib/core/query.h) */
} tl_format_plan_opts_t;

typedef struct {
    const char *name;       /* "csv", "parquet": the TASK's format field */
    /*  Is this object of this format? */
    bool (*probe) (const tl_format_probe_t *p);
    /*  How many tail bytes plan needs (Parquet: the whole footer; CSV: none). 0 if what the
        probe holds is enough, or a plan would not use more. */
    uint64_t (*tail_needed) (const tl_format_probe_t *p);
    /*  Cut the object into tasks: *tasks (caller frees) and *n. A plan never fails on an
        object's content: what it cannot read becomes one task of the whole object, whose
        mapper then fails with a message naming the object. Errors are TL_ENOMEM only. */
    int (*plan) (const tl_format_probe_t *p, const tl_format_plan_opts_t *o, tl_format_task_t **tasks, size_t *n,
                 char *note, size_t notelen);
} tl_format_t;

extern const tl_format_t tl_format_csv;
extern const tl_format_t tl_format_parquet;

/*  The format of a probed object: Parquet when its magic says so, else CSV. */
const tl_format_t *tl_format_detect (const tl_format_probe_t *p);
/*  The format named on the wire; NULL for an unknown name ("" is unknown: probe). */
const tl_format_t *tl_format_by_name (const char *name);
/*  Compressed objects (by name) cannot be cut at byte offsets. */
bool tl_format_name_compressed (const char *uri);
#endif
