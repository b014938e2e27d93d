#!/usr/bin/python3
"""Follow a reducer's UPDATEs and check them against docs/PROTOCOL.md ("Live updates"), written
from the spec with pyzmq and msgpack (not tally's code): an independent replica.

usage: update_stream.py EP OUT.json

Reads until the first whole snapshot with done=true. Checks: the parts of an update come in
order (1..parts) and share seq, kind and base; a delta's base is the seq of the update before
and its seq one more; every message that names a seq names the same state (done, ok, error,
rows, tasks, ...); after each whole update the replica (snapshots replace it, deltas set the
groups they hold) sums to the update's `rows`; the final snapshot equals the replica built from
the deltas. Nothing may be lost: the receive queue is unbounded, and a loss fails the check.
Writes the final table, counts and what it saw to OUT.json; exits 1 on the first violation."""
import json
import sys

import msgpack
import zmq

STATE = ("job", "col", "done", "ok", "error", "rows", "bad", "tasks_done", "tasks_total", "bytes", "bytes_total",
         "dups", "filtered")


def fail(msg):
    print("update_stream: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ep, out = sys.argv[1], sys.argv[2]
    s = zmq.Context().socket(zmq.SUB)
    s.setsockopt(zmq.RCVHWM, 0)     # unbounded here, so the reducer's queue for us never fills
    s.setsockopt(zmq.SUBSCRIBE, b"tally-groups")   # we keep a replica: deltas with their groups
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(ep)
    print("subscribed", flush=True)
    table, held = None, None        # the replica and the seq it holds (None: no snapshot yet)
    states = {}                     # seq -> the state fields first seen with it
    cur = None                      # the update in progress: [kind, seq, base, next part, parts, groups]
    seen = {"messages": 0, "bytes": 0, "snapshots": 0, "deltas": 0, "skipped": 0, "checked": 0}
    while True:
        raw = s.recv()
        m = msgpack.unpackb(raw, raw=True, strict_map_key=False)
        m = {k.decode(): v for k, v in m.items()}
        if m["t"] != b"update":
            continue
        seen["messages"] += 1
        seen["bytes"] += len(raw)
        kind, seq, part, parts = m["kind"].decode(), m["seq"], m["part"], m["parts"]
        state = tuple(m.get(k) for k in STATE)
        if states.setdefault(seq, state) != state:
            fail(f"seq {seq} names two states: {dict(zip(STATE, states[seq]))} and {dict(zip(STATE, state))}")
        if part == 1:
            if cur is not None:
                fail(f"update {cur[1]} ended at part {cur[3] - 1} of {cur[4]}: a {kind} {seq} began")
            if table is None and kind != "snapshot":
                continue        # deltas before our first snapshot mean nothing yet
            cur = [kind, seq, m.get("base"), 1, parts, {}]
        elif cur is None:
            if table is None:
                continue        # we joined in the middle of a snapshot: ours comes whole
            fail(f"{kind} {seq} part {part} of {parts} without its beginning")
        if (kind, seq, m.get("base"), part, parts) != (cur[0], cur[1], cur[2], cur[3], cur[4]):
            fail(f"expected {cur[0]} {cur[1]} part {cur[3]} of {cur[4]}, got {kind} {seq} part {part} of {parts}")
        for g in m["groups"]:
            cur[5][bytes(g[0])] = g[1]
        cur[3] += 1
        if part < parts:
            continue
        # A whole update.
        groups, cur = cur[5], None
        if kind == "snapshot":
            if held == seq:
                if groups != table:
                    fail(f"snapshot {seq} is not the state of the delta with its seq")
                seen["skipped"] += 1
            table, held = groups, seq
            seen["snapshots"] += 1
        else:
            if m["base"] != held or seq != held + 1:
                fail(f"delta {seq} has base {m['base']}; the update before was {held}: a loss")
            if m.get("bare"):
                fail(f"delta {seq} left its groups out, though we hold the topic tally-groups")
            table.update(groups)
            held = seq
            seen["deltas"] += 1
        if sum(table.values()) != m["rows"]:
            fail(f"after update {seq} ({kind}) the table sums to {sum(table.values())}, but rows is {m['rows']}")
        seen["checked"] += 1
        if kind == "snapshot" and m["done"]:
            break
    result = {"groups": [{"key": k.decode("utf-8", "surrogateescape"), "count": c} for k, c in table.items()],
              "rows": m["rows"], "bad_rows": m["bad"], "filtered_rows": m.get("filtered", 0), "bad_values": {},
              "done": m["done"], "ok": m["ok"], "seen": seen}
    json.dump(result, open(out, "w"))
    print(f"update_stream: {seen['checked']} updates checked ({seen['snapshots']} snapshots, {seen['deltas']} "
          f"deltas) in {seen['messages']} messages, {seen['bytes']} bytes; {len(table)} groups at the end")


if __name__ == "__main__":
    main()
