/*  join.c — see join.h. */
#include "provision/join.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/wire/codec.h"
#include "lib/wire/net.h"
#include "lib/wire/security.h"
#include <czmq.h>
#include <stdio.h>
#include <string.h>

/*  Ask the broker which mappers of the fleet are connected. Returns the count (>= 0), or -1
    with e set if it does not answer within timeout_ms. */
int
tl_prov_ping (const tl_prov_opts_t *o, int timeout_ms, tl_prov_pong_t *pong, tl_err_t *e)
{
    tl_err_t se = { 0 };
    tl_security_t *sec = tl_security_new (o->keys, false, &se);
    if (o->keys && !sec)
        return tl_err_set (e, se.code, 0, "%s", se.msg), -1;
    zsock_t *s = tl_sock_new (ZMQ_DEALER, 1 << 20);
    int found = -1;
    if (s && (!sec || tl_security_client (sec, s, &se) == 0) && zsock_connect (s, "%s", o->broker) == 0) {
        tl_msg_t ping = { .type = TL_MSG_PING, .fleet = o->fleet };
        tl_send (s, NULL, 0, &ping, true);
        int64_t deadline = tl_now_ms () + timeout_ms, next = tl_now_ms () + 1000;
        zpoller_t *p = zpoller_new (s, NULL);
        while (found < 0 && !zsys_interrupted) {
            int64_t now = tl_now_ms ();
            if (now >= deadline)
                break;
            if (now >= next) {
                /* The first ping may have gone before the connection was up. */
                tl_send (s, NULL, 0, &ping, true);
                next = now + 1000;
            }
            if (zpoller_wait (p, (int) (next - now < deadline - now ? next - now : deadline - now)) != s)
                continue;
            tl_msg_t m;
            tl_err_t re;
            if (tl_recv (s, NULL, NULL, &m, &re) == 0) {
                if (m.type == TL_MSG_PONG) {
                    found = (int) m.n_mappers;
                    if (pong) {
                        snprintf (pong->job, sizeof pong->job, "%s", m.job ? m.job : "");
                        pong->tasks_done = m.tasks_done;
                        pong->tasks_total = m.tasks_total;
                        pong->mappers = found;
                    }
                }
                tl_msg_clear (&m);
            }
        }
        zpoller_destroy (&p);
        if (found < 0)
            tl_err_set (e, TL_ENET, 0, "broker %s did not answer within %d s (is it running and reachable from here%s)",
                        o->broker, timeout_ms / 1000, o->keys ? "" : "? does it need --keys");
    }
    else
        tl_err_set (e, TL_EINVAL, 0, "cannot connect to broker '%s' (want tcp://HOST:PORT)", o->broker);
    zsock_destroy (&s);
    tl_security_destroy (&sec);
    return found;
}

/*  How long the broker may be silent before `up` takes it as gone, when nothing else says the
    job ended. It answered before anything was started, so silence means it exited (its job
    ended, or it stopped) or the network between us broke; a few seconds tell those apart from
    one slow answer. */
#define GONE_AFTER_MS 10000

typedef enum { S_WAITING, S_JOINED, S_JOB_ENDED, S_MAPPERS_FAILED, S_BROKER_GONE, S_TIMED_OUT } s_outcome_t;

/*  What the probe and the last PONG say, as an outcome (S_WAITING: nothing decisive yet). */
static s_outcome_t
s_judge (const tl_prov_seen_t *seen, bool probed, const tl_prov_pong_t *pong, bool answered_now, int have, int want,
         int64_t silent_ms)
{
    if (answered_now && have >= want)
        return S_JOINED;
    /* A mapper of ours saw END: the job is over, whatever the others did. */
    if (probed && seen->ended_ok + seen->ended_failed > 0)
        return S_JOB_ENDED;
    /* Every task applied: the broker is sending END and will exit. */
    if (answered_now && pong->tasks_total && pong->tasks_done >= pong->tasks_total)
        return S_JOB_ENDED;
    if (probed && seen->started && seen->running == 0) {
        /* All ours have exited: normally, once the broker is gone, means the job ended. */
        if (seen->exited_bad == 0 && !answered_now)
            return S_JOB_ENDED;
        return S_MAPPERS_FAILED;
    }
    if (silent_ms >= GONE_AFTER_MS)
        return S_BROKER_GONE;
    return S_WAITING;
}

int
tl_prov_wait_joined (const tl_prov_opts_t *o, int want, int64_t t0, tl_prov_probe_fn *probe, void *arg)
{
    int64_t deadline = tl_now_ms () + (int64_t) o->wait_s * 1000, heard = tl_now_ms ();
    int have = 0, shown = -1;
    tl_prov_pong_t last = { 0 };
    tl_prov_seen_t seen = { 0 };
    bool probed = false;
    s_outcome_t out = S_WAITING;
    while (out == S_WAITING && !zsys_interrupted) {
        if (probe) {
            memset (&seen, 0, sizeof seen);
            probed = probe (arg, &seen) == 0;
        }
        tl_prov_pong_t p = { 0 };
        tl_err_t e = { 0 };
        int n = tl_prov_ping (o, 2000, &p, &e);
        int64_t now = tl_now_ms ();
        if (n >= 0) {
            have = n;
            last = p;
            heard = now;
            if (have != shown) {
                tl_info ("%d of %d mapper(s) of fleet %s joined", have, want, o->fleet);
                shown = have;
            }
        }
        out = s_judge (&seen, probed, &last, n >= 0, have, want, now - heard);
        if (out == S_WAITING && now >= deadline)
            out = S_TIMED_OUT;
        if (out == S_WAITING)
            zclock_sleep (250);
    }
    double secs = (double) (tl_now_ms () - t0) / 1000.0;
    char job [80] = "";
    if (*last.job)
        snprintf (job, sizeof job, " %s", last.job);
    switch (out) {
        case S_JOINED:
            printf ("fleet %s: %d of %d mapper(s) joined %s in %.1f s\n", o->fleet, have, want, o->broker, secs);
            return 0;
        case S_JOB_ENDED:
            printf ("fleet %s: the job%s ended before all mappers were seen: %d mapper(s) started", o->fleet, job,
                    probed ? seen.started : want);
            if (probed && seen.ended_ok + seen.ended_failed > 0)
                printf (", %d joined it and saw it end (%s)", seen.ended_ok + seen.ended_failed,
                        seen.ended_failed ? "failed" : "ok");
            else if (probed && seen.running == 0)
                printf (", exited normally (job done)");
            else
                printf (", the broker had applied all %llu task(s)", (unsigned long long) last.tasks_total);
            if (!probed || seen.running)
                printf ("; they stay for the next job: tally provision down --fleet %s stops them", o->fleet);
            printf (" (up took %.1f s)\n", secs);
            return 0;
        case S_MAPPERS_FAILED:
            printf ("fleet %s: the %d mapper(s) started have exited (%d normally, %d not)%s%s (up took %.1f s)\n", o->fleet,
                    seen.started, seen.exited_ok, seen.exited_bad, *seen.detail ? ": " : "", seen.detail, secs);
            return 1;
        case S_BROKER_GONE:
            printf ("fleet %s: the broker at %s stopped answering (last seen: job%s, %llu of %llu task(s) applied, "
                    "%d of %d mapper(s) of the fleet joined): did its job end, or did it stop? The mappers are left "
                    "running: tally provision down --fleet %s stops them (up took %.1f s)\n",
                    o->fleet, o->broker, *job ? job : " unknown", (unsigned long long) last.tasks_done,
                    (unsigned long long) last.tasks_total, have, want, o->fleet, secs);
            return 1;
        default:
            break;
    }
    printf ("fleet %s: only %d of %d mapper(s) joined %s in %.1f s; they are left running "
            "(tally provision down --fleet %s stops them)\n", o->fleet, have < 0 ? 0 : have, want, o->broker, secs,
            o->fleet);
    return 1;
}

int
tl_prov_status_started (const tl_prov_opts_t *o, const char *backend, size_t started, const char *cost)
{
    printf ("fleet %s: %s backend, %zu mapper(s) started", o->fleet, backend, started);
    if (o->broker) {
        tl_err_t e = { 0 };
        int have = tl_prov_ping (o, 3000, NULL, &e);
        if (have >= 0)
            printf (", %d connected to %s", have, o->broker);
        else
            printf (", broker %s not answering", o->broker);
    }
    printf ("; cost: none (%s)\n", cost);
    return 0;
}
