#!/usr/bin/env python3
"""tests/e2e/origin.py — an HTTP(S) origin that misbehaves on purpose.

    origin.py --port P --root DIR --log FILE [--cert PEM --key KEY]
              [--rules JSON] [--no-ranges] [--ready FILE]

Serves files under DIR with GET (HTTPS when --cert is given).  It answers
Range: bytes=N- and bytes=N-M (206, Content-Range) and If-Range (a strong ETag or the
Last-Modified date; on mismatch the whole body, 200), unless --no-ranges.

--rules is a JSON object {"/uri": [ACTION, ...]}: each request for that URI
takes the next action, and once they are used up the file is served
normally.  An ACTION is an object:
    {"status": 503, "retry_after": "2"}   that status, with an optional
                                          Retry-After header, empty body
    {"cut": N}                            headers for the whole body
                                          (Content-Length, ETag), N bytes
                                          of it, then the connection is
                                          closed (a reset mid-body)
    {"stall": N}                          N bytes of the body, then
                                          nothing (the connection stays
                                          open) for 60 s
    {"rate": B}                           the body at about B bytes/s
    {"hold": "F"}                         the headers, then nothing until
                                          file F exists (at most 60 s),
                                          then the body; F.held is made
                                          when the request comes
    {"etag": "X"}                         the body, with ETag X (a file
                                          that changed between requests)

Each request appends one line to FILE when it ends:
    METHOD URI STATUS BYTES_SENT RANGE IF_RANGE CACHE_CONTROL EPOCH_MS AUTH START_MS
with "-" for a missing header (AUTH: "auth" if an Authorization header
came, never its value); EPOCH_MS is when it ended, START_MS when its
request line came.  --ready FILE is written once listening.
"""
import argparse
import email.utils
import hashlib
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time

LOCK = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--rules", default="{}")
    ap.add_argument("--no-ranges", action="store_true")
    ap.add_argument("--ready")
    a = ap.parse_args()
    rules = json.loads(a.rules)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def record(self, status, sent):
            h = self.headers
            line = "%s %s %d %d %s %s %s %d %s %d\n" % (
                self.command, self.path, status, sent,
                (h.get("Range") or "-").replace(" ", ""),
                (h.get("If-Range") or "-").replace(" ", "_"),
                (h.get("Cache-Control") or "-").replace(" ", ""),
                int(time.time() * 1000),
                "auth" if h.get("Authorization") else "-",
                self.start_ms)
            with LOCK, open(a.log, "a") as f:
                f.write(line)

        def next_action(self):
            with LOCK:
                acts = rules.get(self.path)
                if acts:
                    return acts.pop(0)
            return {}

        def parse_request(self):
            self.start_ms = int(time.time() * 1000)
            return super().parse_request()

        def do_GET(self):
            act = self.next_action()
            if "status" in act:
                self.send_response(act["status"])
                if "retry_after" in act:
                    self.send_header("Retry-After", act["retry_after"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.record(act["status"], 0)
                return
            rel = self.path.split("?", 1)[0].lstrip("/")
            full = os.path.realpath(os.path.join(a.root, rel))
            if not full.startswith(os.path.realpath(a.root) + "/") or not os.path.isfile(full):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.record(404, 0)
                return
            with open(full, "rb") as f:
                body = f.read()
            st = os.stat(full)
            etag = act.get("etag") or '"%s"' % hashlib.sha256(body).hexdigest()[:16]
            lastmod = email.utils.formatdate(st.st_mtime, usegmt=True)
            start, end = 0, len(body)
            ranged = False
            rng = self.headers.get("Range")
            if rng and not a.no_ranges and rng.startswith("bytes=") and "-" in rng:
                ir = self.headers.get("If-Range")
                if ir is None or ir == etag or ir == lastmod:
                    first, last = rng[6:].split("-", 1)
                    start = int(first)
                    if last:
                        end = min(int(last) + 1, len(body))
                    ranged = True
            if start > len(body):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(body))
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.record(416, 0)
                return
            status = 206 if ranged else 200
            self.send_response(status)
            self.send_header("Content-Length", str(end - start))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", lastmod)
            if not a.no_ranges:
                self.send_header("Accept-Ranges", "bytes")
            if ranged:
                self.send_header("Content-Range",
                                 "bytes %d-%d/%d" % (start, end - 1, len(body)))
            self.end_headers()
            data = body[start:end]
            sent = 0
            try:
                if "hold" in act:
                    self.wfile.flush()
                    open(act["hold"] + ".held", "w").close()
                    for _ in range(1200):
                        if os.path.exists(act["hold"]):
                            break
                        time.sleep(0.05)
                    self.wfile.write(data)
                    sent = len(data)
                elif "cut" in act:
                    self.wfile.write(data[:act["cut"]])
                    self.wfile.flush()
                    sent = min(act["cut"], len(data))
                    self.close_connection = True
                elif "stall" in act:
                    self.wfile.write(data[:act["stall"]])
                    self.wfile.flush()
                    sent = min(act["stall"], len(data))
                    self.close_connection = True
                    for _ in range(600):
                        time.sleep(0.1)
                        # a peer that gave up: a zero-length read is EOF
                        self.connection.settimeout(0.001)
                        try:
                            if self.connection.recv(1) == b"":
                                break
                        except (ssl.SSLWantReadError, TimeoutError, OSError) as e:
                            if not isinstance(e, (ssl.SSLWantReadError, TimeoutError)):
                                break
                elif "rate" in act:
                    step = max(1, act["rate"] // 10)
                    while sent < len(data):
                        self.wfile.write(data[sent:sent + step])
                        self.wfile.flush()
                        sent += len(data[sent:sent + step])
                        if sent < len(data):
                            time.sleep(0.1)
                else:
                    self.wfile.write(data)
                    sent = len(data)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.close_connection = True
            self.record(status, sent)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % os.getpid())
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
