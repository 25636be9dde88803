#!/usr/bin/env python3
"""Host side of a lab QEMU VM's control sockets (used by scripts/lab/qemu.sh).

  qemu_agent.py qga  SOCK TIMEOUT JSON          one guest-agent command; prints its "return" as JSON
  qemu_agent.py exec SOCK TIMEOUT ARGV...       guest-exec + guest-exec-status until exited; stdout to
                                                stdout, stderr to stderr, exit status = the guest's
  qemu_agent.py qmp  SOCK TIMEOUT JSON          one QMP command (after qmp_capabilities); prints "return"

Every call is bounded by TIMEOUT seconds in total. The guest agent takes one client at a time: calls on the
same socket (QMP too) are serialised with an flock on SOCK.lock. Before the command, guest-sync-delimited (0xFF sent
first, so the agent drops any half-read input) is repeated with a fresh id until that id is echoed, so a
stale reply of an earlier client is never taken for ours. The socket accepts before the guest's agent
runs: until it answers, the sync is retried (bounded). Commands that answer nothing on success
(guest-shutdown, guest-suspend-*) are sent without waiting for a reply.
Exit status: the guest's (exec), 0 (qga/qmp ok), 1 (error reply), 124 (timeout), 2 (usage).
"""
import base64
import fcntl
import json
import os
import random
import socket
import sys
import time

NO_REPLY = {"guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid"}
EXEC_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
            "TERM=dumb"]


class Timeout(Exception):
    pass


class Conn:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.buf = b""
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(self.left())
        self.s.connect(path)

    def left(self):
        t = self.deadline - time.monotonic()
        if t <= 0:
            raise Timeout()
        return t

    def send(self, obj, prefix=b""):
        self.s.settimeout(self.left())
        self.s.sendall(prefix + json.dumps(obj).encode() + b"\n")

    def read_msg(self, wait):
        """Next JSON object (one per line; 0xFF bytes dropped), or None after `wait` seconds."""
        end = min(time.monotonic() + wait, self.deadline)
        while True:
            self.buf = self.buf.replace(b"\xff", b"")
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.strip()
                if not line:
                    continue
                try:
                    return json.loads(line)
                except ValueError:
                    continue
            t = end - time.monotonic()
            if t <= 0:
                if time.monotonic() >= self.deadline:
                    raise Timeout()
                return None
            self.s.settimeout(t)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError("socket closed")
            self.buf += chunk

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def qga_connect(path, deadline):
    """A connection on which guest-sync-delimited has echoed our id (retried until the deadline)."""
    while True:
        c = None
        try:
            c = Conn(path, deadline)
            for _ in range(3):
                n = random.randint(1, 2**31 - 1)
                c.send({"execute": "guest-sync-delimited", "arguments": {"id": n}}, prefix=b"\xff")
                end = time.monotonic() + 3
                while time.monotonic() < end:
                    m = c.read_msg(max(0.05, end - time.monotonic()))
                    if m is None:
                        break
                    if m.get("return") == n:
                        return c
        except (OSError, ConnectionError):
            pass
        if c:
            c.close()
        if time.monotonic() + 1 >= deadline:
            raise Timeout()
        time.sleep(1)


def qga_call(c, cmd, args=None):
    msg = {"execute": cmd}
    if args is not None:
        msg["arguments"] = args
    c.send(msg)
    if cmd in NO_REPLY:
        return None
    while True:
        m = c.read_msg(c.deadline - time.monotonic())
        if m is None:
            raise Timeout()
        if "return" in m or "error" in m:
            if "error" in m:
                raise RuntimeError(json.dumps(m["error"]))
            return m["return"]


def locked(path):
    f = open(path + ".lock", "a")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mode, sock, timeout = argv[1], argv[2], float(argv[3])
    deadline = time.monotonic() + timeout
    try:
        lock = locked(sock)
    except OSError as e:
        print("qemu_agent: %s: %s" % (sock, e), file=sys.stderr)
        return 1
    try:
        if mode == "qmp":
            req = json.loads(argv[4])
            c = Conn(sock, deadline)
            c.read_msg(deadline - time.monotonic())  # greeting
            c.send({"execute": "qmp_capabilities"})
            while "return" not in (c.read_msg(deadline - time.monotonic()) or {}):
                pass
            c.send(req)
            while True:
                m = c.read_msg(deadline - time.monotonic())
                if m is None:
                    raise Timeout()
                if "error" in m:
                    print(json.dumps(m["error"]), file=sys.stderr)
                    return 1
                if "return" in m:
                    print(json.dumps(m["return"]))
                    return 0
        if True:
            c = qga_connect(sock, deadline)
            if mode == "qga":
                req = json.loads(argv[4])
                r = qga_call(c, req["execute"], req.get("arguments"))
                print(json.dumps(r))
                if req["execute"] in NO_REPLY:
                    time.sleep(0.5)   # let the agent read it before we hang up
                return 0
            if mode == "exec":
                r = qga_call(c, "guest-exec", {"path": argv[4], "arg": argv[5:], "env": EXEC_ENV,
                                               "capture-output": True})
                pid = r["pid"]
                delay = 0.1
                while True:
                    st = qga_call(c, "guest-exec-status", {"pid": pid})
                    if st.get("exited"):
                        break
                    time.sleep(delay)
                    delay = min(delay * 1.5, 1.0)
                sys.stdout.buffer.write(base64.b64decode(st.get("out-data", "")))
                sys.stderr.buffer.write(base64.b64decode(st.get("err-data", "")))
                if st.get("out-truncated") or st.get("err-truncated"):
                    print("qemu_agent: guest-exec output truncated", file=sys.stderr)
                if "signal" in st:
                    return 128 + int(st["signal"])
                return int(st.get("exitcode", 1))
            print("unknown mode " + mode, file=sys.stderr)
            return 2
    except Timeout:
        print("qemu_agent: %s %s: no answer within %g s" % (mode, sock, timeout), file=sys.stderr)
        return 124
    except (RuntimeError, OSError, ConnectionError, ValueError, KeyError) as e:
        print("qemu_agent: %s %s: %s" % (mode, sock, e), file=sys.stderr)
        return 1
    finally:
        lock.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
