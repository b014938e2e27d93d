#!/usr/bin/python3
"""Send hostile messages to a tally ROUTER port (broker or reducer), as a DEALER peer.

usage: zmtp_garbage.py HOST:PORT COUNT [--no-big]
Sends COUNT messages drawn from: random bytes, msgpack bombs (huge array/map/str headers),
wrong versions and types, fields of the wrong type, messages valid in form but wrong in
meaning (a DONE from a stranger, a PARTIAL for an unknown job or task, a HELLO with 0 slots,
a huge group count), multi-frame messages, and one frame over the size limit (not with
--no-big: a loop that calls this every second sends the 70 MB frame once, not each time).
Runs with Debian's python3-zmq and python3-msgpack (/usr/bin/python3)."""
import os
import random
import sys
import time

import msgpack
import zmq


def messages(rng):
    p = msgpack.packb
    yield os.urandom(rng.randint(0, 300))
    yield b"\xdd\xff\xff\xff\xff"                       # array of 4 billion
    yield b"\xdf\x7f\xff\xff\xff\xa1v"                   # map of 2 billion
    yield b"\x81\xa1t\xdb\x7f\xff\xff\xffxx"              # str claiming 2 GB
    yield b"\x91" * 200 + b"\x01"                        # nested 200 deep
    yield p({"v": 4, "t": "hello", "name": "x", "slots": 1})
    yield p({"v": 1, "t": "no-such-type"})
    yield p({"v": 1, "t": "hello", "name": "x", "slots": "many"})
    yield p({"v": 1, "t": "hello", "name": "x", "slots": 0})
    yield p({"v": 1, "t": "hello", "name": "x", "slots": 2**63})
    yield p({"v": 1, "t": "done", "task": 0, "attempt": 1, "rows": 1, "bytes": 1, "bad": 0})
    yield p({"v": 1, "t": "fail", "task": 0, "attempt": 1, "retry": False, "error": "forged"})
    yield p({"v": 1, "t": "partial", "job": "forged-job", "task": 0, "attempt": 1, "mapper": "evil",
             "rows": 10**12, "bytes": 1, "bad": 0, "groups": [[b"1", 10**12]]})
    yield p({"v": 1, "t": "partial", "job": "x", "task": 2**64 - 1, "attempt": 1, "mapper": "evil",
             "rows": 1, "bytes": 1, "bad": 0, "groups": [[b"x" * 5000, 1]]})
    yield p({"v": 1, "t": "applied", "job": "x", "tasks": list(range(100)), "full": True})
    yield p([1, 2, 3])


def main():
    host, count = sys.argv[1], int(sys.argv[2])
    send_big = "--no-big" not in sys.argv[3:]
    rng = random.Random(1)
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 2000)
    s.setsockopt(zmq.SNDHWM, 100000)
    s.connect(f"tcp://{host}")
    pool = list(messages(rng))
    sent = 0
    for i in range(count):
        m = pool[i % len(pool)] if i < len(pool) else rng.choice(pool + [os.urandom(rng.randint(1, 64))])
        if i % 17 == 5:
            s.send_multipart([m, m])     # two frames where one is expected
        else:
            s.send(m)
        sent += 1
    if send_big:
        # One frame over the receiver's ZMQ_MAXMSGSIZE on its own connection: it drops us.
        big = ctx.socket(zmq.DEALER)
        big.setsockopt(zmq.LINGER, 2000)
        big.connect(f"tcp://{host}")
        big.send(b"\x00" * (70 << 20))
        time.sleep(0.5)
        big.close()
    else:
        time.sleep(0.1)
    s.close()
    ctx.term()
    print(f"zmtp_garbage: sent {sent} hostile messages{' and one 70 MB frame' if send_big else ''} to {host}")


if __name__ == "__main__":
    main()
