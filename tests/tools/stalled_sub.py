#!/usr/bin/python3
"""Subscribers that never read: connect N SUB sockets to EP, subscribe to everything, then
sleep for SECS without reading a byte (small kernel buffers, so the publisher's own queue is
what fills). usage: stalled_sub.py EP N SECS"""
import sys
import time

import zmq

ep, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ctx = zmq.Context()
subs = []
for _ in range(n):
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.RCVBUF, 4096)
    s.setsockopt(zmq.RCVHWM, 1)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(ep)
    subs.append(s)
print(f"{n} stalled subscriber(s) on {ep}", flush=True)
time.sleep(secs)
