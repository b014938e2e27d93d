#!/usr/bin/python3
"""A stand-in reducer for the final table's resume (tests/integration/test_watch_resume.sh): an
XPUB (pyzmq + msgpack, from docs/PROTOCOL.md) that, once a watcher subscribes, publishes a done
job's final snapshot in output order with one part left out (as a full queue at the reducer
would drop it), then waits for the watcher to ask again (it subscribes again) and publishes the
table once more, cut into parts differently, or (to be refused) changed at the resume point, or
another job's.

usage: fake_final.py EP GROUPS PARTS LOST MODE OUT.csv
  MODE: same | differs | other; OUT.csv gets the whole table as `tally watch --format csv`
  prints it (key,count)."""
import sys

import msgpack
import zmq


def update(job, seq, part, parts, groups, rows):
    return msgpack.packb({"v": 4, "t": "update", "seq": seq, "job": job, "col": "k", "done": True, "ok": True,
                          "error": "", "tasks_done": 2, "tasks_total": 2, "rows": rows, "bytes": 10,
                          "bytes_total": 10, "bad": 0, "elapsed_ms": 5, "groups": groups, "kind": "snapshot",
                          "part": part, "parts": parts})


def send(s, job, seq, groups, parts, lost=0):
    rows = sum(g[1] for g in groups)
    cut = [len(groups) * i // parts for i in range(parts + 1)]
    for p in range(1, parts + 1):
        if p != lost:
            s.send(update(job, seq, p, parts, groups[cut[p - 1]:cut[p]], rows))


def subscribed(s):
    while s.recv()[:1] != b"\x01":     # an unsubscription, if passed on, asks for nothing
        pass


def main():
    ep, n, parts, lost, mode, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], \
        sys.argv[6]
    # Output order: count descending, then key bytes; many ties.
    groups = sorted(([f"g{i:05d}".encode(), 1 + (i * 7919) % 50] for i in range(n)), key=lambda g: (-g[1], g[0]))
    with open(out, "w") as f:
        f.write("k,count\n" + "".join(f"{k.decode()},{c}\n" for k, c in groups))
    s = zmq.Context().socket(zmq.XPUB)
    s.setsockopt(zmq.XPUB_VERBOSE, 1)
    s.setsockopt(zmq.SNDHWM, 0)
    s.bind(ep)
    print("bound", flush=True)
    subscribed(s)
    send(s, "j", 7, groups, parts, lost)
    print("sent with a part lost", flush=True)
    subscribed(s)
    if mode == "differs":       # the last group written (before the lost part) gets a longer key, in order still
        groups[len(groups) * (lost - 1) // parts - 1][0] += b"x"
    send(s, "k" if mode == "other" else "j", 8, groups, parts + 1)
    print("sent again", flush=True)
    s.recv()    # hold the socket until the watcher goes (or the test ends us)


main()
