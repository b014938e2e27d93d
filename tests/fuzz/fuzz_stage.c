/*  libFuzzer: partials in parts, in any order, through the codec, the stage and the ledger, the
    way the reducer takes them (reducer/stage.h). The input picks which part comes next (of
    three tasks, two attempts each, and a verification copy), drops and repeats parts, and, in
    its second mode, corrupts part numbers, counts and keys, or hands raw bytes to the decoder.
    Nothing may crash; the totals must always add up to the rows of whole applied tasks (a half
    task would not); and in the first mode, where every message is genuine, an applied task's
    groups must be exactly its own. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reducer/stage.h"
#include "reducer/ledger.h"

enum { NTASK = 3, NATT = 2, PER = 4, MAXG = 23 };

static char s_keys [NTASK][MAXG][16];
static tl_agg_entry_t s_groups [NTASK][MAXG];

static size_t
s_ngroups (int t)
{
    return 9 + 7 * (size_t) t;      /* 9, 16, 23 groups: 3, 4, 6 parts */
}

static uint64_t
s_rows (int t)
{
    uint64_t r = 0;
    for (size_t i = 0; i < s_ngroups (t); i++)
        r += s_groups [t][i].count;
    return r;
}

/*  Part p (1-based; past the last: the last) of task t, attempt a (a == NATT: a verification
    copy). */
static tl_msg_t
s_part (int t, int a, uint64_t p)
{
    size_t ng = s_ngroups (t);
    if (p > (ng + PER - 1) / PER)
        p = (ng + PER - 1) / PER;
    size_t from = (size_t) (p - 1) * PER;
    return (tl_msg_t) {
        .type = TL_MSG_PARTIAL, .job = "j", .task = (uint64_t) t, .attempt = (uint64_t) a + 1,
        .mapper = a ? "m2" : "m1", .token = "t", .length = 1000, .rows = s_rows (t), .bytes = 1000,
        .groups = s_groups [t] + from, .n_groups = ng - from < PER ? ng - from : PER,
        .part = p, .parts = (ng + PER - 1) / PER, .verify = a == NATT ? (uint64_t) t + 1 : 0,
    };
}

static void
s_check (const tl_ledger_t *l)
{
    if (tl_agg_total (tl_ledger_totals (l)) != tl_ledger_stats (l).rows)
        abort ();   /* a half task (or a task's rows without its groups) reached the totals */
}

/*  In the genuine mode an applied task's groups are exactly its own. */
static void
s_check_task (const tl_ledger_t *l, int t)
{
    for (size_t i = 0; i < s_ngroups (t); i++) {
        tl_agg_entry_t e;
        if (!tl_agg_find (tl_ledger_totals (l), s_groups [t][i].key, s_groups [t][i].len, &e)
            || e.count != s_groups [t][i].count)
            abort ();
    }
}

static void
s_offer (tl_stage_t *st, tl_ledger_t *l, const tl_msg_t *m, bool genuine)
{
    tl_staged_t *out = NULL;
    tl_err_t e;
    bool merge = !m->verify && !tl_ledger_applied (l, m->task);
    if (tl_stage_offer (st, m, 0, merge, &out, &e) != TL_STAGE_DONE)
        return;
    const char *by;
    if (out->msg.verify)
        tl_ledger_verify_digest (l, out->msg.task, out->digest, &by);
    else if ((out->merged ? tl_ledger_apply (l, &out->msg) : tl_ledger_apply_dup (l, &out->msg)) == 1) {
        tl_stage_release_task (st, out->msg.task);
        if (genuine && out->msg.task < NTASK)
            s_check_task (l, (int) out->msg.task);
    }
    s_check (l);
    tl_staged_destroy (&out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        for (int t = 0; t < NTASK; t++)
            for (int i = 0; i < MAXG; i++) {
                snprintf (s_keys [t][i], sizeof s_keys [t][i], "t%d-k%d", t, i);
                s_groups [t][i] = (tl_agg_entry_t) { s_keys [t][i], (uint32_t) strlen (s_keys [t][i]),
                                                     (uint64_t) (i % 3) + 1, NULL };
            }
        init = true;
    }
    if (size < 1)
        return 0;
    bool genuine = data [0] % 2 == 0;
    static tl_ledger_t *l;
    static tl_stage_t *st;
    if (!l) {
        l = tl_ledger_new ();
        st = tl_stage_new (3, 40);      /* small caps: evictions happen */
    }
    tl_ledger_reset (l);
    tl_stage_clear (st);
    tl_ledger_set_tasks (l, NTASK + 1);
    for (size_t k = 1; k + 1 < size; k += 2) {
        uint8_t sel = data [k], mut = data [k + 1];
        int t = sel % NTASK, a = (sel / NTASK) % (NATT + 1);
        tl_msg_t m = s_part (t, a, 1 + (sel / (NTASK * (NATT + 1))) % 6);
        if (!genuine) {
            switch (mut % 12) {
                case 0: m.part++; break;
                case 1: m.part--; break;
                case 2: m.parts = mut / 12; break;
                case 3: m.rows += 1; break;
                case 4: m.attempt ^= 1; break;
                case 5: m.task = NTASK; break;      /* a task with none of these groups */
                case 6: m.n_groups = m.n_groups ? m.n_groups - 1 : 0; break;
                case 7: m.mapper = "m3"; break;
                case 8: {   /* raw bytes from the input, if they decode as a part */
                    tl_msg_t d;
                    tl_err_t e;
                    size_t n = mut % 64 < size - k ? mut % 64 : size - k;
                    if (tl_msg_decode (data + k, n, &d, &e) == 0) {
                        if (d.type == TL_MSG_PARTIAL && d.parts)
                            s_offer (st, l, &d, false);
                        tl_msg_clear (&d);
                    }
                    continue;
                }
                default: break;
            }
        }
        else if (mut % 4 == 0)
            continue;   /* a part lost */
        /* Through the codec, as the reducer gets it. */
        char *buf;
        size_t len;
        tl_msg_t d;
        tl_err_t e;
        if (tl_msg_encode (&m, &buf, &len) != 0)
            continue;
        if (tl_msg_decode (buf, len, &d, &e) == 0) {
            if (d.parts)
                s_offer (st, l, &d, genuine);
            tl_msg_clear (&d);
        }
        free (buf);
        if (genuine && mut % 7 == 0) {      /* delivered twice */
            s_offer (st, l, &m, genuine);
        }
    }
    s_check (l);
    return 0;
}
