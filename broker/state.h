/*  state.h — the broker's own state, shared by the files of the broker room: broker.c (the
    main loop: sockets, scheduler events, the journal), opts.c (the command line, whose result
    opts.h declares for `tally run` too), inputs.c (listing, probing formats and planning tasks)
    and verify.c (--verify-fraction). Nothing outside broker/ includes it. */
#ifndef TL_BROKER_STATE_H
#define TL_BROKER_STATE_H
#include "lib/wire/applied.h"
#include "broker/activity.h"
#include "broker/jobrec.h"
#include "broker/opts.h"
#include "broker/sched.h"
#include "cli/query_opts.h"
#include "lib/core/format.h"
#include "lib/store/store.h"
#include "lib/wire/codec.h"
#include "lib/wire/token.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/*  One verification: task `task` re-run by a mapper other than the one whose partial was applied. */
typedef struct {
    uint64_t task;
    size_t next_mapper;     /* round robin over live mappers */
    int tries;
    bool sent, settled;
    int64_t sent_at;
} tl_verify_t;

typedef struct {
    tl_broker_opts_t o;
    char job [TL_STR_MAX + 1];
    tl_objlist_t objs;
    const tl_format_t **fmts;   /* per object: what a probe of it found */
    size_t missing;         /* inputs not found, left out under --skip-missing */
    size_t nparquet;        /* objects that are Parquet */
    tl_sched_t *sched;
    zsock_t *router, *reducer;
    bool synced;
    uint64_t bytes_total;
    tl_journal_t *journal;
    tl_jobrec_t jr;         /* the job's identity: fingerprint, token key (journalled) */
    tl_token_mac_t *mac;    /* jr.key made ready for tokens (s_assign), remade when the key changes */
    char reducer_instance [TL_STR_MAX + 1];
    tl_appview_t view;          /* how much of that reducer's ack log we hold (lib/wire/applied.h) */
    bool reducer_answers;   /* it says it answers every JOB: its silence means it is gone */
    int64_t reducer_heard;  /* when the reducer last said anything (it answers every JOB) */
    int64_t reducer_warned; /* when its silence was last said, 0 while it answers */
    bool resumed;
    zhash_t *seen;          /* failure messages already logged (tl_seen_before) */
    char fatal [TL_STR_MAX];    /* set when the job must stop: a refusal, a journal that cannot be written */
    char stalled [TL_STR_MAX];  /* the reducer's reason for holding back acks, "" when it does not */
    int64_t stalled_at, stalled_logged;
    tl_verify_t *verify;     /* --verify-fraction: the copies to run at the end */
    size_t nverify, verify_left;
    uint64_t verified, unverified;
    tl_bact_t *act;         /* what happened, for the dashboard (broker/activity.h) */
    uint32_t *batch;        /* per mapper index: the TASKS size its HELLO asked for, 0: TASK only */
    size_t nbatch;
    struct tl_pending *pend;    /* assignments of this round, sent by tl_broker_flush_tasks */
    size_t npend, cappend;
    uint64_t tasks_msgs, tasks_sent;    /* TASKS messages sent, and the assignments they held */
    uint64_t dones_msgs, dones_got;     /* DONES messages taken, and the DONEs they held */
} tl_broker_t;

/*  inputs.c: list every --input (brace ranges expanded) into b->objs, sorted and without
    duplicates. Returns 0 or -1 (logged). */
int tl_broker_list_inputs (tl_broker_t *b);
/*  inputs.c: probe every object's format and, with plan, cut the objects into tasks in
    b->sched. Returns 0 or -1 (logged). */
int tl_broker_probe_all (tl_broker_t *b, bool plan);
/*  broker.c: send task t (attempt) to mapper m, with its assignment token; verify is 1 + the task
    a verification copy re-runs, 0 for an ordinary assignment. */
void tl_broker_send_task (tl_broker_t *b, int m, const tl_task_t *t, uint32_t attempt, uint64_t verify);
/*  broker.c: the same, but a mapper that takes batches gets it in the TASKS of this round, sent
    by tl_broker_flush_tasks (before anything else goes to that mapper). */
void tl_broker_queue_task (tl_broker_t *b, int m, const tl_task_t *t, uint32_t attempt);
void tl_broker_flush_tasks (tl_broker_t *b);

/*  verify.c: attempt numbers of verification copies start here, far above any real attempt. */
#define TL_VERIFY_ATTEMPT 1000000u
/*  All tasks are applied: choose the copies and send them out. */
void tl_verify_start (tl_broker_t *b, int64_t now);
/*  The reducer's VERIFIED answer. */
void tl_verify_on_answer (tl_broker_t *b, const tl_msg_t *m, int64_t now);
/*  A mapper failed a copy: send it to the next mapper. */
void tl_verify_on_fail (tl_broker_t *b, uint64_t task, int64_t now);
/*  Copies unanswered for too long go to the next mapper. */
void tl_verify_tick (tl_broker_t *b, int64_t now);
#endif
