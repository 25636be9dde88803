#!/usr/bin/env python3
"""A webhook receiver for wghub's alerts, to drive from a shell or a test: every POST is written to OUTDIR as N.json
({"path", "headers", "body", "signature_ok"}), the X-WGHub-Signature checked against SECRET with Python's own
hmac. Answers STATUS (200; 503 plays a receiver in trouble). HTTPS with --cert/--key. Prints "READY PORT".
Numbering goes on from the N.json OUTDIR already holds: a receiver started again never overwrites a request.

    webhook_sink.py OUTDIR [--secret S] [--status 200] [--cert C --key K] [--port 0] [--addr 127.0.0.1]
"""
import signal, argparse, hashlib, hmac, http.server, json, os, ssl, threading

# A runner may start us with SIGTERM/SIGINT ignored or blocked (both inherited): stop on either all the same.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

p = argparse.ArgumentParser()
p.add_argument("outdir")
p.add_argument("--secret")
p.add_argument("--status", type=int, default=200)
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--port", type=int, default=0)
p.add_argument("--addr", default="127.0.0.1")
args = p.parse_args()
lock = threading.Lock()
count = [len([f for f in os.listdir(args.outdir) if f.endswith(".json")])]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = min(int(self.headers.get("Content-Length", "0")), 1 << 20)
        body = self.rfile.read(length)
        sig = self.headers.get("X-WGHub-Signature", "")
        ok = bool(args.secret) and hmac.compare_digest(
            sig, "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest())
        with lock:
            count[0] += 1
            n = count[0]
        record = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body.decode("utf-8", "replace"), "signature_ok": ok}
        tmp = os.path.join(args.outdir, "%d.json.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(args.outdir, "%d.json" % n))
        self.send_response(args.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer((args.addr, args.port), Handler)
if args.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("READY %d" % server.server_address[1], flush=True)
server.serve_forever()
