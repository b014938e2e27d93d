#!/usr/bin/env python3
"""A loopback stand-in for the EC2 instance metadata service (IMDSv2 only).

usage: imds_mock.py PORT ROLE ACCESS_KEY SECRET [LIFETIME_S]
PUT /latest/api/token gives a token; the credential paths need it (401 without). The
credentials expire LIFETIME_S (default 3600) seconds after each fetch. Each request is logged to
stdout as "METHOD PATH token=yes|no"."""
import datetime
import http.server
import json
import sys

PORT, ROLE, AK, SK = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
LIFE = int(sys.argv[5]) if len(sys.argv) > 5 else 3600
TOKEN = "mock-imds-token-123"


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        print(f"PUT {self.path}", flush=True)
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.reply(200, TOKEN)
        else:
            self.reply(400, "bad token request")

    def do_GET(self):
        ok = self.headers.get("X-aws-ec2-metadata-token") == TOKEN
        print(f"GET {self.path} token={'yes' if ok else 'no'}", flush=True)
        if not ok:
            return self.reply(401, "")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.reply(200, ROLE)
        if self.path == base + ROLE:
            exp = datetime.datetime.utcnow() + datetime.timedelta(seconds=LIFE)
            return self.reply(200, json.dumps({
                "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": AK, "SecretAccessKey": SK,
                "Token": "mock-session-token", "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}))
        self.reply(404, "")


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
