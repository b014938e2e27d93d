/*  verify.c — --verify-fraction: once every task is applied, a hash-chosen share of them is
    run again on another mapper, and the reducer compares each copy with the partial it applied
    (reducer/ledger.h, tl_ledger_verify). A difference fails the job and names both mappers; a
    copy that could not run anywhere else is a warning. The copies are not scheduled by
    broker/sched.c: they go out directly, round robin over the live mappers, and a copy that
    lands on the mapper whose partial was applied is sent on to the next one. */
#include "broker/state.h"
#include "lib/base/log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_TIMEOUT_MS 30000

/*  Is task id one to verify? A hash of the job and the id, so the choice is the same after a
    restart and cannot be steered by a mapper. */
static bool
s_chosen (const tl_broker_t *b, uint64_t id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = b->job; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    h ^= id * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return (double) (h >> 11) / 9007199254740992.0 < b->o.verify_fraction;
}

static void
s_verify_settle (tl_broker_t *b, tl_verify_t *v, bool verified, const char *why)
{
    if (v->settled)
        return;
    v->settled = true;
    b->verify_left--;
    if (verified)
        b->verified++;
    else {
        b->unverified++;
        tl_warn ("task %llu not verified: %s", (unsigned long long) v->task, why);
    }
}

/*  Send v to the next live mapper in turn. */
static void
s_verify_send (tl_broker_t *b, tl_verify_t *v, int64_t now)
{
    size_t n = tl_sched_mapper_count (b->sched);
    if (v->tries >= (int) (n < 8 ? n : 8)) {
        s_verify_settle (b, v, false, "no other mapper could run a copy");
        return;
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = (v->next_mapper + k) % n;
        if (!tl_sched_mapper (b->sched, (int) i)->alive)
            continue;
        const tl_task_t *t = tl_sched_task (b->sched, v->task);
        tl_broker_send_task (b, (int) i, t, TL_VERIFY_ATTEMPT + (uint32_t) v->tries, t->id + 1);
        v->next_mapper = i + 1;
        v->tries++;
        v->sent = true;
        v->sent_at = now;
        return;
    }
    s_verify_settle (b, v, false, "no live mapper");
}

/*  All tasks are applied: choose the copies and send them out. */
void
tl_verify_start (tl_broker_t *b, int64_t now)
{
    uint64_t n = tl_sched_stats (b->sched).tasks;
    size_t k = 0;
    for (uint64_t i = 0; i < n; i++)
        k += s_chosen (b, i);
    b->verify = calloc (k ? k : 1, sizeof *b->verify);
    if (!b->verify) {
        snprintf (b->fatal, sizeof b->fatal, "out of memory for --verify-fraction");
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        if (s_chosen (b, i))
            b->verify [b->nverify++] = (tl_verify_t) { .task = i, .next_mapper = (size_t) i };
    b->verify_left = b->nverify;
    tl_info ("verifying %zu of %llu task(s) on other mappers (--verify-fraction %g)", b->nverify,
             (unsigned long long) n, b->o.verify_fraction);
    for (size_t i = 0; i < b->nverify; i++)
        s_verify_send (b, &b->verify [i], now);
}

static tl_verify_t *
s_verify_find (tl_broker_t *b, uint64_t task)
{
    for (size_t i = 0; i < b->nverify; i++)
        if (b->verify [i].task == task)
            return &b->verify [i];
    return NULL;
}

/*  The reducer compared a copy with the applied partial. */
void
tl_verify_on_answer (tl_broker_t *b, const tl_msg_t *m, int64_t now)
{
    tl_verify_t *v = s_verify_find (b, m->task);
    if (!v || v->settled)
        return;
    if (m->ok && !m->retry) {
        tl_debug ("task %llu verified: %s and %s agree", (unsigned long long) m->task, m->mapper, m->name);
        s_verify_settle (b, v, true, NULL);
    }
    else if (m->ok)
        s_verify_send (b, v, now);      /* the copy ran where the original did: proves nothing */
    else if (m->retry)
        s_verify_settle (b, v, false, m->error);
    else {
        s_verify_settle (b, v, false, m->error);
        snprintf (b->fatal, sizeof b->fatal, "verification failed: %s", m->error);
    }
}

void
tl_verify_tick (tl_broker_t *b, int64_t now)
{
    for (size_t i = 0; i < b->nverify; i++) {
        tl_verify_t *v = &b->verify [i];
        if (!v->settled && v->sent && now - v->sent_at > VERIFY_TIMEOUT_MS)
            s_verify_send (b, v, now);
    }
}

void
tl_verify_on_fail (tl_broker_t *b, uint64_t task, int64_t now)
{
    tl_verify_t *v = s_verify_find (b, task);
    if (v && !v->settled)
        s_verify_send (b, v, now);
}
