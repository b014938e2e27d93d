#!/usr/bin/python3
"""A rogue peer of the reducer, for the "exact or loud" tests (tests/integration/test_exact_*.sh).

  rogue.py fake-broker REDUCER_EP --tasks N --apply K [--stray T] [--job ID]
      Announce a job of N tasks (a token key of our own), apply tasks 0..K-1 with valid tokens
      (10 rows of key "1" each), optionally a valid partial for task T past the end (a "stray"),
      then END ok=true with the digest of all N tasks. The reducer must not call the job ok
      unless K == N. Prints the job id.
  rogue.py forge REDUCER_EP JOB FIRST LAST [--rows R]
      Send partials for tasks FIRST..LAST of job JOB with made-up tokens (R rows each), as a
      mapper with an allowed key but no assignment would. None of them may count.
  rogue.py mapper BROKER_EP NAME
      A mapper that takes tasks honestly from the broker but lies about every one: its partial
      says one row of key "1". Only --verify-fraction can catch it.
  rogue.py job REDUCER_EP JOB [--tasks N]
      Send a JOB for another job and print the reducer's answer (refused or applied).
  rogue.py held-parts REDUCER_EP --tasks N --rows G
      Announce a job of N tasks, then send task N (past the end, so held) as a partial in 2
      parts of G/2 groups each (keys "g0".., 1 row each); apply tasks 0..N-1 (10 rows of key
      "1" each), announce N+1 tasks (the held task is applied now), and END ok with the digest
      of all N+1 tasks. Prints the job id.
  rogue.py old-reducer LISTEN_EP [--stall S]
      A reducer from before `answers` (an older version): it binds LISTEN_EP, answers the
      broker's first JOB with an empty full `applied` (no `answers`), says it is stalled
      ("cannot write the checkpoint") every second for S seconds, then dies (exits, socket
      closed). Prints "dead" when it does.
Written from docs/PROTOCOL.md and lib/wire/token.h, independently of tally's code."""
import argparse
import hashlib
import hmac
import os
import struct
import sys
import time

import msgpack
import zmq

V = 4


def le8(n):
    return struct.pack("<Q", n)


def token(key, job, task, attempt, mapper, offset, verify=0):
    msg = b""
    for part in (job.encode(), le8(task), le8(attempt), mapper.encode(), le8(offset), le8(verify)):
        msg += le8(len(part)) + part
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def task_digest(lengths):
    h = hashlib.sha256()
    h.update(b"u" + struct.pack(">Q", len(lengths)))
    for i, n in enumerate(lengths):
        h.update(b"u" + struct.pack(">Q", i))
        h.update(b"u" + struct.pack(">Q", n))
    return h.hexdigest()


def send(s, **m):
    m["v"] = V
    s.send(msgpack.packb(m, use_bin_type=True))


def recv(s, ms):
    if s.poll(ms):
        return msgpack.unpackb(s.recv(), raw=False)
    return None


def dealer(ep):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 2000)
    s.connect(ep)
    return s


def partial(key, job, task, rows, length=100, tok=None, mapper="rogue"):
    return dict(t="partial", job=job, task=task, attempt=1, mapper=mapper, offset=0, length=length, rows=rows,
                bytes=length, bad=0, groups=[["1", rows]],
                token=tok if tok is not None else token(key, job, task, 1, mapper, 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("ep")
    ap.add_argument("rest", nargs="*")
    ap.add_argument("--tasks", type=int, default=3)
    ap.add_argument("--apply", type=int, default=1)
    ap.add_argument("--stray", type=int, default=-1)
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--job", default="")
    ap.add_argument("--stall", type=float, default=3)
    a = ap.parse_args()
    if a.cmd == "old-reducer":
        r = zmq.Context.instance().socket(zmq.ROUTER)
        r.setsockopt(zmq.LINGER, 0)
        r.bind(a.ep)
        inst = os.urandom(8).hex()
        while True:
            if not r.poll(60000):
                print("no JOB from the broker", file=sys.stderr)
                return 2
            ident, raw = r.recv_multipart()
            m = msgpack.unpackb(raw, raw=False)
            if m.get("t") == "job":
                break

        def applied(**extra):
            m2 = dict(t="applied", v=V, job=m["job"], tasks=[], lengths=[], instance=inst, **extra)
            r.send_multipart([ident, msgpack.packb(m2, use_bin_type=True)])

        applied(full=True, stalled="")
        t_end = time.time() + a.stall
        while time.time() < t_end:
            applied(full=False, stalled="cannot write the checkpoint (rogue old-reducer)")
            time.sleep(1)
        r.close()
        print("dead", flush=True)
        return 0
    s = dealer(a.ep)
    if a.cmd == "fake-broker":
        job = a.job or "rogue-" + os.urandom(4).hex()
        key = os.urandom(32)
        send(s, t="job", job=job, col="passenger_count", ntasks=a.tasks, bytes=100 * a.tasks,
             fingerprint="f" * 64, key=key.hex())
        r = recv(s, 5000)
        if not r or r.get("t") != "applied":
            print(f"no applied from the reducer: {r}", file=sys.stderr)
            return 2
        for t in range(a.apply):
            send(s, **partial(key, job, t, 10))
        if a.stray >= 0:
            send(s, **partial(key, job, a.stray, a.rows))
        time.sleep(0.5)
        send(s, t="job", job=job, col="passenger_count", ntasks=a.tasks, bytes=100 * a.tasks,
             fingerprint="f" * 64, key=key.hex())
        time.sleep(0.5)
        send(s, t="end", job=job, ok=True, error="", ntasks=a.tasks, digest=task_digest([100] * a.tasks))
        time.sleep(0.3)
        print(job)
        return 0
    if a.cmd == "held-parts":
        job = a.job or "rogue-" + os.urandom(4).hex()
        key = os.urandom(32)
        n, g = a.tasks, a.rows
        send(s, t="job", job=job, col="passenger_count", ntasks=n, bytes=100 * n, fingerprint="f" * 64, key=key.hex())
        r = recv(s, 5000)
        if not r or r.get("t") != "applied":
            print(f"no applied from the reducer: {r}", file=sys.stderr)
            return 2
        half = g // 2
        for part, keys in ((1, range(0, half)), (2, range(half, g))):
            m = partial(key, job, n, g)
            m.update(groups=[["g%d" % i, 1] for i in keys], part=part, parts=2)
            send(s, **m)
        for t in range(n):
            send(s, **partial(key, job, t, 10))
        time.sleep(0.5)
        send(s, t="job", job=job, col="passenger_count", ntasks=n + 1, bytes=100 * (n + 1),
             fingerprint="f" * 64, key=key.hex())
        time.sleep(1.0)
        send(s, t="end", job=job, ok=True, error="", ntasks=n + 1, digest=task_digest([100] * (n + 1)))
        time.sleep(0.3)
        print(job)
        return 0
    if a.cmd == "forge":
        job, first, last = a.rest[0], int(a.rest[1]), int(a.rest[2])
        for t in range(first, last + 1):
            send(s, **partial(b"\0" * 32, job, t, a.rows, tok=os.urandom(16).hex()))
        time.sleep(0.5)
        print(f"sent {last - first + 1} forged partial(s)")
        return 0
    if a.cmd == "mapper":
        name = a.rest[0]
        send(s, t="hello", name=name, slots=2)
        reducer, known_as, last_hb = None, name, 0
        while True:
            now = time.time()
            if now - last_hb > 0.2:
                send(s, t="hb", running=[])
                last_hb = now
            m = recv(s, 100)
            if not m:
                continue
            t = m.get("t")
            if t == "welcome":
                known_as = m.get("name") or name
                reducer = dealer(m["reducer"])
            elif t == "task" and reducer is not None:
                send(reducer, t="partial", job=m["job"], task=m["task"], attempt=m["attempt"], mapper=known_as,
                     offset=m["offset"], length=m["length"], rows=1, bytes=m["length"], bad=0, groups=[["1", 1]],
                     token=m["token"], verify=m.get("verify", 0))
                send(s, t="done", task=m["task"], attempt=m["attempt"], rows=1, bytes=m["length"], bad=0)
            elif t == "end":
                print(f"rogue mapper {known_as}: job ended ok={m.get('ok')}")
                return 0
    if a.cmd == "job":
        job = a.rest[0]
        send(s, t="job", job=job, col="passenger_count", ntasks=a.tasks, bytes=100, fingerprint="e" * 64,
             key=os.urandom(32).hex())
        r = recv(s, 5000)
        print(r.get("t") if r else "no answer", (r or {}).get("error", ""))
        return 0
    ap.error("unknown command")


if __name__ == "__main__":
    sys.exit(main())
