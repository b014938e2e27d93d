#!/usr/bin/env python3
"""Sign N generated S3 requests with tally (tests/tools/sigv4_tool) and with botocore's
S3SigV4Auth, and compare the Authorization headers byte for byte.

usage: sigv4_crosscheck.py SIGV4_TOOL [N]
Keys hold spaces, '+', '=', '%', '~', unicode and slashes; query parameters come with and
without values; some requests carry a session token and a Range header."""
import datetime
import random
import subprocess
import sys
from urllib.parse import quote

import botocore.auth as ba
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

POOL = list("abcXYZ019-_.~ +=%&/?#:@!$'()*,;") + ["é", "日本", "ü", "\u00a0", "😀"]
NAMES = ["prefix", "list-type", "continuation-token", "max-keys", "delimiter", "start-after", "x y", "a+b", "uploads"]


def rand_text(rng, lo, hi):
    return "".join(rng.choice(POOL) for _ in range(rng.randint(lo, hi)))


def sign_boto(r):
    when = datetime.datetime.strptime(r["date"], "%Y%m%dT%H%M%SZ")

    class FixedClock(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

        @classmethod
        def now(cls, tz=None):
            return when.replace(tzinfo=tz)

    ba.datetime.datetime = FixedClock
    creds = Credentials(r["access"], r["secret"], r["token"])
    url = "http://" + r["host"] + quote(r["path"], safe="/~")
    headers = {}
    if r["range"]:
        headers["Range"] = r["range"]
    req = AWSRequest(method=r["method"], url=url, headers=headers, params=[(k, v or "") for k, v in r["query"]])
    S3SigV4Auth(creds, "s3", r["region"]).add_auth(req)
    return req.headers["Authorization"]


def hexs(s):
    return "-" if s is None else s.encode().hex()


def main():
    tool, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = random.Random(20261125)
    reqs = []
    for i in range(n):
        key = "/".join(rand_text(rng, 1, 12) for _ in range(rng.randint(1, 4)))
        bucket_path = rng.random() < 0.5
        q = []
        for _ in range(rng.randint(0, 4)):
            name = rng.choice(NAMES) if rng.random() < 0.7 else rand_text(rng, 1, 6)
            q.append((name, None if rng.random() < 0.3 else rand_text(rng, 0, 10)))
        reqs.append({
            "method": rng.choice(["GET", "GET", "HEAD", "PUT"]),
            "host": rng.choice(["nyc-tlc.s3.us-east-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "127.0.0.1:5000"]),
            "path": ("/nyc-tlc/" if bucket_path else "/") + key,
            "query": q,
            "range": rng.choice([None, None, "bytes=0-9", f"bytes={rng.randint(0, 10**9)}-"]),
            "token": rng.choice([None, None, "FwoGZXIvYXdzEJr//////////" + rand_text(rng, 5, 30).encode().hex()]),
            "date": f"20{rng.randint(13, 26):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}T"
                    f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}Z",
            "region": rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2"]),
            "access": rng.choice(["AKIAIOSFODNN7EXAMPLE", "ASIA" + "".join(rng.choice("ABCDEFGHIJ0123456789") for _ in range(16))]),
            "secret": "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+") for _ in range(40)),
        })
    lines = []
    for r in reqs:
        qs = "-" if not r["query"] else ",".join(f"{k.encode().hex()}:{(v or '').encode().hex()}" for k, v in r["query"])
        lines.append("\t".join([hexs(r["method"]), hexs(r["host"]), hexs(r["path"]), qs, hexs(r["range"]),
                                hexs(r["token"]), hexs(r["date"]), hexs(r["region"]), hexs(r["access"]),
                                hexs(r["secret"])]))
    out = subprocess.run([tool], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    ours = out.stdout.splitlines()
    assert len(ours) == n, f"tool printed {len(ours)} lines for {n} requests"
    bad = 0
    for r, mine in zip(reqs, ours):
        theirs = sign_boto(r)
        if mine != theirs:
            bad += 1
            if bad <= 3:
                print(f"MISMATCH for {r}\n  tally:    {mine}\n  botocore: {theirs}", file=sys.stderr)
    print(f"sigv4 cross-check: {n - bad} of {n} requests signed identically by tally and botocore")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
