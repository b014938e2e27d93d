#!/usr/bin/env python3
"""A fault-injecting, signature-checking HTTP proxy between tally and moto.

usage: s3_proxy.py PORT UPSTREAM [--access KEY --secret SECRET] [--slowdown N] [--reset N]
                   [--stall N --stall-secs S] [--stats FILE]

Every request is forwarded to UPSTREAM (http://127.0.0.1:PORT). With --access/--secret, each
signed request's SigV4 signature is recomputed here (Python's hmac/hashlib: an implementation
independent of tally's) and a mismatch gets 403 SignatureDoesNotMatch, as on AWS. Faults are
injected on object GETs only (not listings), deterministically:
  --slowdown N   every Nth GET is answered 503 SlowDown (with Retry-After: 0)
  --reset N      every Nth GET sends part of the body, then drops the connection
  --stall N      every Nth GET sends part of the body, then goes silent for --stall-secs
Counts of requests and faults are written as JSON to --stats FILE after each request."""
import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import threading
import time
from urllib.parse import parse_qsl, quote, urlsplit

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("upstream")
ap.add_argument("--access")
ap.add_argument("--secret", help="or PROXY_SECRET in the environment, to keep it out of ps")
ap.add_argument("--slowdown", type=int, default=0)
ap.add_argument("--reset", type=int, default=0)
ap.add_argument("--stall", type=int, default=0)
ap.add_argument("--stall-secs", type=float, default=5)
ap.add_argument("--stats")
A = ap.parse_args()
if not A.secret and os.environ.get("PROXY_SECRET"):
    A.secret = os.environ["PROXY_SECRET"]
UP = urlsplit(A.upstream)
LOCK = threading.Lock()
STATS = {"requests": 0, "gets": 0, "slowdown": 0, "reset": 0, "stall": 0, "bad_signature": 0, "signed_ok": 0}


def save():
    if A.stats:
        with open(A.stats, "w") as f:
            json.dump(STATS, f)


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check_signature(method, raw_path, headers):
    auth = headers.get("Authorization")
    if not auth:
        return None    # anonymous
    try:
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        ak, date, region, service, _ = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
    except Exception:
        return "malformed Authorization header"
    if ak != A.access:
        return "InvalidAccessKeyId"
    parts = urlsplit(raw_path)
    q = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(parts.query, keep_blank_values=True))
    canon_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    creq = "\n".join([method, parts.path, "&".join(f"{k}={v}" for k, v in q), canon_headers, ";".join(signed),
                      headers.get("x-amz-content-sha256", "")])
    amz_date = headers.get("x-amz-date", "")
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, f"{date}/{region}/{service}/aws4_request",
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = hm(("AWS4" + A.secret).encode(), date)
    k = hm(hm(hm(k, region), service), "aws4_request")
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(want, fields.get("Signature", "")) else "SignatureDoesNotMatch"


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def error(self, code, s3code, msg, extra=None):
        body = f"<?xml version=\"1.0\"?><Error><Code>{s3code}</Code><Message>{msg}</Message></Error>".encode()
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        with LOCK:
            STATS["requests"] += 1
        if A.secret:
            bad = check_signature(self.command, self.path, self.headers)
            with LOCK:
                STATS["bad_signature" if bad else "signed_ok"] += 1
                save()
            if bad == "InvalidAccessKeyId":
                return self.error(403, bad, "The AWS Access Key Id you provided does not exist in our records.")
            if bad:
                return self.error(403, "SignatureDoesNotMatch",
                                  "The request signature we calculated does not match the signature you provided.")
        is_get = self.command == "GET" and "list-type" not in self.path
        fault = None
        if is_get:
            with LOCK:
                STATS["gets"] += 1
                n = STATS["gets"]
                if A.slowdown and n % A.slowdown == 0:
                    fault = "slowdown"
                elif A.reset and n % A.reset == 0:
                    fault = "reset"
                elif A.stall and n % A.stall == 0:
                    fault = "stall"
                if fault:
                    STATS[fault] += 1
                save()
        if fault == "slowdown":
            return self.error(503, "SlowDown", "Please reduce your request rate.", {"Retry-After": "0"})
        body = None
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            body = self.rfile.read(n)
        conn = http.client.HTTPConnection(UP.hostname, UP.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault in ("reset", "stall") and len(data) > 10:
            cut = len(data) // 3
            self.wfile.write(data[:cut])
            self.wfile.flush()
            if fault == "stall":
                time.sleep(A.stall_secs)
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", A.port), H).serve_forever()
