#!/usr/bin/env python3
"""A web server that misbehaves on purpose (red team, session 11), for test_http_hostile.sh.

usage: hostile_http.py PORT DIR

GET/HEAD /MODE/NAME serves DIR/NAME, honouring Range and If-Match, except as MODE says:
  ok        as a server should
  norange   ignores Range: 200 with the whole body
  redir     302 to /ok/NAME
  shift     answers a Range "bytes=A-B" (A > 0) with a 206 of as many bytes from a few dozen bytes
            before A, and says so in Content-Range (a cache or proxy that serves another range
            than the one asked for)
  flip      ignores If-Match; the first request (the listing's HEAD) gets DIR/NAME, every later
            one DIR/NAME.alt (the same size, other bytes) with that file's ETag: an object
            rewritten after the listing, behind a server that does not check If-Match
  noetag    sends no ETag, only Last-Modified (as python3 -m http.server does)
  lmflip    noetag, and flip's rewrite: the later replies have DIR/NAME.alt's Last-Modified
  nover     sends neither ETag nor Last-Modified
  empty     ignores Range and If-Match; after the first request (the listing's HEAD) every reply is
            a 200 with an empty body and no ETag: the object emptied behind a server (or proxy)
            that checks nothing
  chunked   as empty, but the empty 200s are chunked (no Content-Length)
"""
import email.utils
import hashlib, http.server, os, re, sys, threading

ROOT = sys.argv[2]
seen = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.serve(True)

    def do_GET(self):
        self.serve(False)

    def reply(self, status, headers, body=b""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def serve(self, head):
        m = re.match(r"^/([a-z]+)/([A-Za-z0-9_.-]+)$", self.path)
        if not m:
            return self.reply(404, [])
        mode, name = m.groups()
        if mode == "redir":
            return self.reply(302, [("Location", "/ok/" + name)])
        path = os.path.join(ROOT, name)
        with lock:
            later = (mode, name) in seen
            seen.add((mode, name))
        if mode == "empty" and later:
            return self.reply(200, [])
        if mode == "chunked" and later:
            # the same, but chunked: no Content-Length says that the body is empty
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"0\r\n\r\n")
            return
        if mode in ("flip", "lmflip") and later:
            path += ".alt"
        try:
            data = open(path, "rb").read()
        except OSError:
            return self.reply(404, [])
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        tag = [("Last-Modified", email.utils.formatdate(os.stat(path).st_mtime, usegmt=True))]
        if mode == "nover":
            tag = []
        if mode not in ("noetag", "lmflip", "nover"):
            tag.append(("ETag", etag))
        im = self.headers.get("If-Match")
        if im and mode == "ok" and im != etag:
            return self.reply(412, [])
        rng = self.headers.get("Range")
        r = re.match(r"^bytes=(\d+)-(\d*)$", rng or "")
        if mode == "norange" or not r:
            return self.reply(200, tag, data)
        a = int(r.group(1))
        b = min(int(r.group(2)) if r.group(2) else len(data) - 1, len(data) - 1)
        if a >= len(data):
            return self.reply(416, [("Content-Range", "bytes */%d" % len(data))])
        start = a
        if mode == "shift" and a > 0:
            start = max(0, a - 37 * (1 + (a // 1000) % 17))
        body = data[start:start + b - a + 1]
        return self.reply(206, tag + [("Content-Range", "bytes %d-%d/%d" % (start, start + len(body) - 1,
                                                                                      len(data)))], body)


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
