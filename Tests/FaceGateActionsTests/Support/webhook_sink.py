#!/usr/bin/env python3
"""Loopback HTTP receiver for FaceGate's webhook tests (standard library only).

Every POST is written to OUT/<n>.json with its headers, body and whether the HMAC-SHA256 signature
(X-FaceGate-Signature: sha256=hex(HMAC(secret, "<X-FaceGate-Timestamp>.<body>"))) verifies, checked here
independently of FaceGate's own code. Answers --status (default 200). Prints READY <port>; runs until killed.
"""
import argparse, hashlib, hmac, itertools, json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--secret", default="")
p.add_argument("--status", type=int, default=200)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
counter = itertools.count(1)

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-FaceGate-Timestamp", "")
        sig = self.headers.get("X-FaceGate-Signature", "")
        want = "sha256=" + hmac.new(a.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        n = next(counter)
        rec = {"path": self.path, "headers": dict(self.headers.items()), "body": body.decode("utf-8", "replace"),
               "signature_valid": bool(sig) and hmac.compare_digest(sig, want)}
        tmp = os.path.join(a.out, f".{n}.tmp")
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(a.out, f"{n}.json"))
        self.send_response(a.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

s = ThreadingHTTPServer(("127.0.0.1", a.port), H)
print(f"READY {a.port}", flush=True)
s.serve_forever()
