#!/usr/bin/python3
"""Write the fuzzers' seed corpora into tests/fuzz/corpus/ (run once; the seeds are committed).
Uses Debian's python3-msgpack for the codec and checkpoint seeds."""
import os
import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


p = msgpack.packb
put("codec", "hello", p({"v": 1, "t": "hello", "name": "m1", "slots": 4}))
put("codec", "task", p({"v": 1, "t": "task", "job": "j", "task": 3, "attempt": 1, "uri": "s3://b/trip data/k.csv",
                        "offset": 0, "length": 100, "size": 100, "col": "passenger_count", "endpoint": "",
                        "nosign": False, "region": ""}))
put("codec", "partial", p({"v": 1, "t": "partial", "job": "j", "task": 3, "attempt": 1, "mapper": "m", "offset": 0,
                           "length": 100, "rows": 3, "bytes": 100, "bad": 0, "blank": 0,
                           "groups": [[b"1", 2], [b"", 1]]}))
put("codec", "applied", p({"v": 1, "t": "applied", "job": "j", "tasks": [1, 2], "lengths": [10, 20], "full": True,
                           "instance": "i"}))
put("codec", "hb", p({"v": 1, "t": "hb", "running": [[1, 1, 500]]}))
put("codec", "tasks", p({"v": 2, "t": "tasks", "job": "j", "col": "passenger_count", "endpoint": "", "nosign": False,
                         "region": "", "list": [[3, 1, "s3://b/trip data/k.csv", 0, 4096, 8192,
                                                 "0123456789abcdef0123456789abcdef", "", 0, 0, "csv"],
                                                [4, 2, "file:///d/k.csv", 4096, 4096, 8192,
                                                 "fedcba9876543210fedcba9876543210", "\"e\"", 7, 5, ""]]}))
put("codec", "dones", p({"v": 2, "t": "dones", "done": [[3, 1, 30, 4096, 0], [4, 2, 29, 4096, 1]]}))
put("codec", "hello_batch", p({"v": 2, "t": "hello", "name": "m1", "slots": 2, "batch": 256}))
put("codec", "cut", p({"v": 1, "t": "cut", "task": 1, "attempt": 2, "cut": 12345, "returned": False}))
put("csv", "tlc2014", b"\x00\x05\x80vendor_id, pickup_datetime, dropoff_datetime, passenger_count\r\n\r\n"
                      b"CMT,2014-01-01 00:00:00,2014-01-01 00:10:00,1\r\nVTS,2014-01-01 00:00:00\r\n"
                      b"VTS,2014-01-01,2014-01-01,,x\nCMT,a,b,2")
put("csv", "quoted", b"\x02\x01\x40a,b,c,d\n\"x,y\",\"he said \"\"hi\"\"\",3,4\n1,2,3\n\n\"q\nr\",5,6,7\n")
put("s3xml", "list", "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated>"
                     "<NextContinuationToken>t</NextContinuationToken><Contents><Key>trip data/a &amp; b.csv</Key>"
                     "<Size>12</Size></Contents><Contents><Key>trip data/</Key><Size>0</Size></Contents>"
                     "</ListBucketResult>")
put("s3xml", "error", "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
put("sigv4", "path", b"/trip data/yellow+tripdata=2015%.csv\x00prefix\x00J\x00max-keys\x002\x00lifecycle\x00\x00bytes=0-9")
put("creds", "ini", "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n[profile x]\nregion = eu-west-1\n"
                    "aws_access_key_id=A\naws_secret_access_key=B\naws_session_token=C\n")
put("creds", "json", "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                     "\"Expiration\":\"2026-11-25T12:00:00Z\"}")
put("ledger", "ckpt", p(["tally-ledger", 1, "job", "passenger_count", 100, [4, 1, 10, 100, 0, 0, 0, 0],
                         [[2, 100]], [[b"1", 10]], [[b"m1", 1]], True, True, ""]))


def update(kind, seq, part, parts, groups, base=None, done=False):
    m = {"v": 4, "t": "update", "seq": seq, "job": "j", "col": "c", "done": done, "ok": done, "tasks_done": 1,
         "tasks_total": 2, "rows": sum(g[1] for g in groups), "bytes": 1, "bytes_total": 2, "bad": 0,
         "elapsed_ms": 5, "groups": groups, "kind": kind, "part": part, "parts": parts}
    if base is not None:
        m["base"] = base
    b = p(m)
    return len(b).to_bytes(2, "big") + b


# A watcher's stream: a snapshot in two parts, two deltas, a lost delta, the final snapshot.
put("clone", "stream", update("snapshot", 10, 1, 2, [[b"a", 5], [b"b", 3]]) + update("snapshot", 10, 2, 2, [[b"c", 1]])
    + update("delta", 11, 1, 1, [[b"a", 6]], base=10) + update("delta", 13, 1, 1, [[b"d", 1]], base=12)
    + update("snapshot", 13, 1, 1, [[b"a", 6], [b"b", 3], [b"c", 1], [b"d", 1]], done=True))
# Partials in parts (fuzz_stage.c): byte 0 even = genuine parts; then (which part, what happens)
# pairs: task 0 attempt 1 in order, task 1's copy interleaved with task 2's, one lost part.
sel = lambda t, a, p: t + 3 * a + 9 * (p - 1)
put("stage", "in-order", bytes([0] + [x for p in (1, 2, 3) for x in (sel(0, 0, p), 1)]))
put("stage", "interleaved", bytes([0] + [x for p in (1, 2, 3, 4) for x in (sel(1, 1, p), 1, sel(2, 0, p), 1)]
                                  + [sel(2, 0, 5), 4, sel(2, 0, 6), 1]))
put("stage", "hostile", bytes([1] + [x for p in (1, 2, 3) for x in (sel(0, 0, p), p * 12)]))


def ckrec(gen, payload):
    """One checkpoint-log record (reducer/ckptlog.h): header (len, gen, crc of both, crc of payload), payload."""
    import struct
    import zlib
    body = p(payload)
    h = struct.pack(">IQ", len(body), gen)
    return h + struct.pack(">II", zlib.crc32(h), zlib.crc32(body)) + body


# Checkpoint logs; the harness takes byte 0 as the generation (% 4) and byte 1 as the piece size.
CKTASK = ["task", 2, 1, 100, "m1", [10, 100, 0, 1, 0, 100, 0], 0, 3]
put("ckptlog", "job", b"\x01\x05TALLYCL1" + ckrec(1, ["tasks", 8, 1000]) + ckrec(1, CKTASK)
    + ckrec(1, ["groups", 2, [[b"1", 6], [b"2", 3]]]) + ckrec(1, ["groups", 2, [[b"", 1]]])
    + ckrec(1, ["task", 3, 1, 50, "m2", [0, 50, 0, 0, 0, 50, 0], 0, 0]) + ckrec(1, ["end", True, ""]))
put("ckptlog", "cells", b"\x01\x00TALLYCL1" + ckrec(1, ["task", 0, 1, 9, "m", [2, 9, 0, 0, 1, 9, 0], 1, 1])
    + ckrec(1, ["groups", 0, [[b"a\x1fb", 2, [2, 0, 3.5, 1.0, 2.5]]]]))
put("ckptlog", "torn", b"\x01\x03TALLYCL1" + ckrec(1, CKTASK) + ckrec(1, ["groups", 2, [[b"1", 6]]])[:-3])
put("ckptlog", "stale", b"\x02\x01TALLYCL1" + ckrec(1, ["tasks", 8, 1000]) + ckrec(1, CKTASK))

print("seeds written")
