#!/usr/bin/python3
"""Try to break into a CURVE-protected tally: take tasks from the broker, push a forged partial
to the reducer, subscribe to the live totals. Once with a CURVE key pair of our own (knowing the
server's public key, as anyone could), once with no CURVE at all.

usage: attacker.py SERVER_CERT BROKER_EP REDUCER_EP PUBLISH_EP JOB
Prints what it got; exits 1 if it got anything (a task, a welcome, an update)."""
import re
import sys
import time

import msgpack
import zmq

cert, broker_ep, reducer_ep, publish_ep, job = sys.argv[1:6]
server_public = re.search(r'public-key = "(.+)"', open(cert).read()).group(1).encode()
ctx = zmq.Context()
got = []


def sock(kind, ep, curve):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if curve:
        pub, sec = zmq.curve_keypair()
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, server_public
    s.connect(ep)
    return s


for curve in (True, False):
    b = sock(zmq.DEALER, broker_ep, curve)
    b.send(msgpack.packb({"v": 1, "t": "hello", "name": "attacker", "slots": 64}))
    r = sock(zmq.DEALER, reducer_ep, curve)
    r.send(msgpack.packb({"v": 1, "t": "partial", "job": job, "task": 0, "attempt": 99, "mapper": "attacker",
                          "offset": 0, "length": 1, "rows": 10**9, "bytes": 1, "bad": 0,
                          "groups": [[b"1", 10**9]]}))
    s = sock(zmq.SUB, publish_ep, curve)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    poller = zmq.Poller()
    for x in (b, r, s):
        poller.register(x, zmq.POLLIN)
    end = time.time() + 3
    while time.time() < end:
        for x, _ in poller.poll(200):
            got.append((curve, x.recv()))
    for x in (b, r, s):
        x.close()
print(f"attacker: received {len(got)} message(s)")
sys.exit(1 if got else 0)
