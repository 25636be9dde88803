#!/usr/bin/env python3
"""wghub abuse suite: attacks a running wghub over TLS on loopback, as an attacker on the internet would,
and checks after each that the hub still answers a normal request within a second, that no record changed
that should not, and that the refusals were counted in /metrics.

Run by tests/system/test_hub_abuse.sh inside a network namespace of its own (loopback only: every source
address is in 127.0.0.0/8 of that namespace). Every loop and wait is bounded.

  abuse.py --url https://127.0.0.1:PORT --data DIR --wghub BIN --pid PID --ns NS --iface IF
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time

A = None  # arguments
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE  # an attacker does not verify; the agent's pinning is tested elsewhere
RESULTS = []  # (case, tried, answering, records, refusals, ok, note)


def sh(*argv, check=True):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise RuntimeError(f"{argv}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def token(*extra):
    out = sh(A.wghub, "token", "create", "--data", A.data, "--uses", "5", *extra)
    return [l for l in out.splitlines() if l.startswith("wgt_")][0]


def admin_token():
    return sh(A.wghub, "admin-token", "create", "--data", A.data).strip().splitlines()[-1]


async def http(method, path, body=None, bearer=None, src="127.0.0.1", timeout=5.0, raw=None):
    """One request on its own TLS connection from `src`; (status, json-or-text) or (None, error)."""
    host, port = A.host, A.port
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=CTX, server_hostname="wghub", local_addr=(src, 0)), timeout)
    except Exception as e:  # refused, reset, timed out
        return None, f"connect: {type(e).__name__}"
    try:
        if raw is None:
            data = b"" if body is None else json.dumps(body).encode()
            head = f"{method} {path} HTTP/1.1\r\nHost: wghub\r\nConnection: close\r\nContent-Length: {len(data)}\r\n"
            if body is not None:
                head += "Content-Type: application/json\r\n"
            if bearer:
                head += f"Authorization: Bearer {bearer}\r\n"
            raw = head.encode() + b"\r\n" + data
        w.write(raw)
        await w.drain()
        resp = await asyncio.wait_for(r.read(1 << 20), timeout)
    except Exception as e:
        return None, f"io: {type(e).__name__}"
    finally:
        w.close()
    if not resp.startswith(b"HTTP/1.1 "):
        return None, "no answer"
    status = int(resp[9:12])
    text = resp.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


async def alive(src="127.0.0.250"):
    """Seconds a normal admin request takes (None when it failed or took over 5 s)."""
    t = time.monotonic()
    s, _ = await http("GET", "/v1/sites", bearer=ADMIN, src=src)
    return time.monotonic() - t if s == 200 else None


async def refusals():
    s, text = await http("GET", "/metrics", bearer=ADMIN, src="127.0.0.251")
    if s != 200:
        return None
    return sum(int(float(l.split()[-1])) for l in text.splitlines() if l.startswith("wghub_refusals_total{"))


async def sites():
    s, v = await http("GET", "/v1/sites", bearer=ADMIN, src="127.0.0.252")
    return {x["id"]: x for x in v} if s == 200 else None


def record(case, tried, answer_s, records, before, after, ok, note=""):
    ans = f"yes, {answer_s * 1000:.0f} ms" if answer_s is not None and answer_s < 1 else "NO"
    ok = ok and answer_s is not None and answer_s < 1
    ref = "?" if before is None or after is None else str(after - before)
    RESULTS.append((case, tried, ans, records, ref, ok, note))
    print(f"  {'ok  ' if ok else 'FAIL'} {case}: tried {tried}, answering {ans}, records {records}, refusals +{ref}"
          + (f" — {note}" if note else ""), flush=True)


def key_b64(seed):
    import base64
    import hashlib
    b = bytearray(hashlib.sha256(seed.encode()).digest())
    b[0] &= 248; b[31] &= 127; b[31] |= 64  # any 32 bytes work as a public key; keep them key-like
    return base64.b64encode(bytes(b)).decode()


def enroll_body(tok, key, host="site", lan=()):
    return {"token": tok, "public_key": key, "hostname": host, "listen_port": 51820, "os": "debian-12",
            "agent_version": "abuse", "lan_subnets": list(lan)}


# ---------------------------------------------------------------- the cases

async def case_storm():
    """Mixed concurrent traffic: made-up admin tokens and credentials, valid dashboard loads, valid reports."""
    r0 = await refusals()
    seq = [1000]
    async def one(i):
        k = i % 4
        src = f"127.0.{2 + (i % 3)}.{1 + (i % 200)}" if k < 2 else f"127.0.9.{1 + (i % 200)}"
        if k == 0:
            return await http("GET", "/v1/sites", bearer="wga_" + "x" * 40, src=src)
        if k == 1:
            return await http("POST", "/v1/health", {"seq": 1, "agent_time": 1, "interface": "wg0"}, bearer="wgc_" + "y" * 40, src=src)
        if k == 2:
            return await http("GET", "/", bearer=ADMIN, src=src, timeout=15)
        seq[0] += 1
        return await http("POST", "/v1/health", {"seq": seq[0], "agent_time": 1, "interface": "wg0"}, bearer=SITE_A["credential"], src=src, timeout=15)
    tried = 0
    worst = 0.0
    for _ in range(5):
        res = await asyncio.gather(*(one(i) for i in range(400)))
        tried += len(res)
        a = await alive()
        worst = max(worst, a if a is not None else 99)
    r1 = await refusals()
    record("mixed storm (5 rounds × 400 concurrent: bad admin tokens, bad credentials, dashboards, reports)",
           tried, await alive() if worst < 1 else None, "n/a", r0, r1, worst < 1, f"worst answer between rounds {worst * 1000:.0f} ms")


async def case_slowloris():
    """Connections that finish TLS, then send a request head one byte a second."""
    r0 = await refusals()
    n = 120
    closed_at = []
    async def loris(i):
        t0 = time.monotonic()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(A.host, A.port, ssl=CTX, server_hostname="wghub",
                                                                  local_addr=(f"127.0.4.{1 + i % 200}", 0)), 5)
        except Exception:
            closed_at.append(0.0)
            return
        head = b"POST /v1/health HTTP/1.1\r\nHost: wghub\r\nX-Slow: " + b"a" * 40
        try:
            for b in head:
                w.write(bytes([b]))
                await w.drain()
                await asyncio.sleep(0.5)
                if r.at_eof() or time.monotonic() - t0 > 30:
                    break
                if w.transport.is_closing():
                    break
            # Wait (bounded) for the hub to close us.
            await asyncio.wait_for(r.read(), 30)
        except Exception:
            pass
        closed_at.append(time.monotonic() - t0)
        w.close()
    task = asyncio.gather(*(loris(i) for i in range(n)))
    await asyncio.sleep(2)
    during = await alive()
    await asyncio.wait_for(task, 60)
    r1 = await refusals()
    longest = max(closed_at)
    ok = during is not None and during < 1 and longest < A.header_timeout + 6
    record("slowloris (120 connections, a header byte every 0.5 s)", n, await alive(), "n/a", r0, r1, ok,
           f"answering during: {'%.0f ms' % (during * 1000) if during else 'NO'}; all cut within {longest:.1f} s "
           f"(header timeout {A.header_timeout} s)")


async def case_idle_flood(addresses, per, label):
    """Plain TCP connections that never start TLS (and some that send half a ClientHello)."""
    r0 = await refusals()
    conns = []
    refused_now = 0
    for a in range(addresses):
        for i in range(per):
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(A.host, A.port, local_addr=(f"127.1.{a}.{1 + i % 250}", 0)), 2)
                if i % 5 == 0:
                    w.write(b"\x16\x03\x01\x02")  # half a TLS record header: a stalled handshake
                conns.append((r, w))
            except Exception:
                refused_now += 1
    await asyncio.sleep(0.3)
    # Count the ones the hub closed at once (cap) by reading with a short timeout.
    async def closed(r):
        try:
            d = await asyncio.wait_for(r.read(1), 0.2)
            return d == b""
        except asyncio.TimeoutError:
            return False
        except Exception:
            return True
    cut = sum(await asyncio.gather(*(closed(r) for r, _ in conns)))
    during = await alive(src="127.0.0.250")
    # All must be gone after the handshake timeout.
    t0 = time.monotonic()
    remaining = len(conns)
    while remaining and time.monotonic() - t0 < A.handshake_timeout + 8:
        await asyncio.sleep(0.5)
        remaining = sum(0 if c else 1 for c in await asyncio.gather(*(closed(r) for r, _ in conns)))
    for _, w in conns:
        w.close()
    after = await alive()
    r1 = await refusals()
    tried = addresses * per
    ok = remaining == 0 and (during is not None or addresses * min(per, A.per_ip) > A.max_connections)
    record(label, tried, after, "n/a", r0, r1, ok,
           f"closed at accept (over the caps): {cut}; answering during: {'%.0f ms' % (during * 1000) if during else 'no (at the total cap)'}; "
           f"all closed {time.monotonic() - t0:.1f} s after, {remaining} left")


async def case_takeover():
    """Another site's public key enrolled with a fresh, valid token: the record must not change."""
    r0 = await refusals()
    before = (await sites())[SITE_A["site_id"]]
    t2 = token()
    tried = 0
    codes = []
    for body, bearer in [(enroll_body(t2, SITE_A["key"], "evil", ["203.0.113.0/24"]), None),
                         (enroll_body(t2, SITE_A["key"], "evil"), "wgc_" + "z" * 43),
                         (enroll_body("", SITE_A["key"], "evil"), "wgc_" + "z" * 43)]:
        s, v = await http("POST", "/v1/enroll", body, bearer=bearer, src="127.0.7.1")
        tried += 1
        codes.append(s)
    after = (await sites())[SITE_A["site_id"]]
    same = all(before[k] == after[k] for k in ("hostname", "address", "lan_subnets", "public_key"))
    s, _ = await http("POST", "/v1/health", {"seq": 5000, "agent_time": 1, "interface": "wg0"}, bearer=SITE_A["credential"], src="127.0.9.9")
    r1 = await refusals()
    ok = same and s == 200 and codes[0] == 409 and all(c in (401, 403, 409) for c in codes)
    record("takeover (enroll another site's public key: fresh token; forged credential)", tried, await alive(),
           "unchanged" if same else "CHANGED", r0, r1, ok, f"answers {codes}; the real site still reports: {s}")


def routes():
    return sh("ip", "-n", A.ns, "route", "show") + sh("ip", "-n", A.ns, "-6", "route", "show")


def allowed_ips():
    return sh("ip", "netns", "exec", A.ns, "wg", "show", A.iface, "allowed-ips")


async def case_route_claims():
    """Sites claiming the hub's uplink, its gateway, half the internet, another site's LAN, the pool."""
    r0 = await refusals()
    rt0, aips0 = routes(), allowed_ips()
    plain = token()
    greedy = token("--lan", "203.0.113.0/24")  # an admin's mistake: a grant over the hub's own uplink
    claims = [
        (plain, ["0.0.0.0/2", "64.0.0.0/2"], "a quarter of the internet each"),
        (plain, ["203.0.113.0/24"], "the hub's uplink"),
        (greedy, ["203.0.113.0/24"], "the uplink, granted by a token"),
        (plain, ["198.51.100.0/24"], "site A's LAN"),
        (plain, ["192.0.2.0/25"], "the pool"),
    ]
    answers = []
    new_sites = []
    for i, (tok, lan, what) in enumerate(claims):
        s, v = await http("POST", "/v1/enroll", enroll_body(tok, key_b64(f"claim{i}"), f"claim{i}", lan), src="127.0.7.2")
        answers.append(s)
        if s == 200:
            new_sites.append(v["site_id"])
    rt1, aips1 = routes(), allowed_ips()
    views = await sites()
    states = [l["state"] for sid in new_sites for l in views[sid]["lan"]]
    routed = [l for sid in new_sites for l in views[sid]["lan"] if l["state"] == "routed"]
    r1 = await refusals()
    # New peers appear in allowed-ips (with their /32 only); the routing table must not change at all.
    claimed = {key_b64(f"claim{i}") for i in range(len(claims))}
    only_host_routes = all(len(line.split()) <= 2 for line in aips1.splitlines() if line.split()[0] in claimed)
    ok = rt0 == rt1 and not routed and only_host_routes and answers[-1] == 400
    record("route claims (0/2 + 64/2, the uplink, the uplink granted, another site's LAN, the pool)", len(claims),
           await alive(), "routes unchanged" if rt0 == rt1 else "ROUTES CHANGED", r0, r1, ok,
           f"enroll answers {answers}; LAN states {states}")


async def case_probe_flood():
    r0 = await refusals()
    res = await asyncio.gather(*(http("POST", "/v1/probe", {"port": 51820}, bearer=SITE_A["credential"], src=f"127.0.10.{1 + i % 100}")
                                 for i in range(300)))
    codes = [s for s, _ in res]
    accepted = codes.count(202)
    r1 = await refusals()
    record("probe flood (300 probes from one site at once)", 300, await alive(), "n/a", r0, r1,
           accepted <= A.probe_limit and codes.count(429) >= 300 - A.probe_limit - 5,
           f"{accepted} sent, {codes.count(429)} × 429")


async def case_rate_limit_evasion():
    """Bad tokens from one address, then one a piece from 200 addresses of one /24, then from 400 networks."""
    r0 = await refusals()
    bad = lambda i: enroll_body("wgt_" + "n" * 40, key_b64(f"bad{i}"), f"bad{i}")
    one = [await http("POST", "/v1/enroll", bad(i), src="127.2.0.1") for i in range(20)]
    net = [await http("POST", "/v1/enroll", bad(100 + i), src=f"127.2.1.{1 + i}") for i in range(200)]
    many = []
    for i in range(400):
        many.append(await http("POST", "/v1/enroll", bad(1000 + i), src=f"127.{4 + i // 250}.{i % 250}.1"))
    # In lockdown, a valid token from a fresh address still gets in.
    good = await http("POST", "/v1/enroll", enroll_body(token(), key_b64("latecomer"), "latecomer"), src="127.200.0.1")
    reasons = lambda rs: sorted({(v.get("error") if isinstance(v, dict) else str(s)) for s, v in rs})
    r1 = await refusals()
    ok = (any(s == 429 for s, _ in one) and any(s == 429 for s, _ in net)
          and any(isinstance(v, dict) and v.get("error") == "rate_limited_global" for _, v in many) and good[0] == 200)
    record("rate-limit evasion (bad tokens: 1 address; 200 addresses of a /24; 400 networks)", 620, await alive(),
           "n/a", r0, r1, ok, f"one address {reasons(one)}; one /24 {reasons(net)}; many networks {reasons(many)}; "
           f"valid token during lockdown: {good[0]}")


async def case_weak_keys():
    r0 = await refusals()
    tok = token()
    zero = "A" * 43 + "="
    low = "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA="  # a point of order 8
    keys = [zero, low, HUB_KEY]
    codes = [(await http("POST", "/v1/enroll", enroll_body(tok, k, f"weak{i}"), src="127.0.7.3"))[0] for i, k in enumerate(keys)]
    r1 = await refusals()
    record("weak keys (all-zero, small-order, the hub's own)", 3, await alive(), "none stored", r0, r1,
           codes == [400, 400, 400], f"answers {codes}")


async def case_malformed():
    r0 = await refusals()
    raw = (b"POST /v1/health HTTP/1.1\r\nHost: wghub\r\nAuthorization: Bearer " + SITE_A["credential"].encode()
           + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    s1, _ = await http("POST", "/v1/health", raw=raw, src="127.0.7.4")
    big = b"GET /v1/sites HTTP/1.1\r\nHost: wghub\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n"
    s2, v2 = await http("GET", "/", raw=big, src="127.0.7.4")
    r1 = await refusals()
    record("malformed HTTP (bad chunk size; a 40 kB header)", 2, await alive(), "n/a", r0, r1,
           s1 == 400 and (s2 is None or 400 <= s2 < 500) and r1 is not None and r0 is not None and r1 - r0 >= 2,
           f"answers {s1}, {s2 if s2 else v2}")


def rss_kib():
    with open(f"/proc/{A.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


async def open_download(src, tok, arch, rcvbuf=4096):
    """A TLS connection from `src` that asks for the agent (identity: the whole 16 MB) and reads only the head.
    A small receive buffer, set before connecting, keeps the kernel from taking the body for us."""
    import socket
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((src, 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.sock_connect(sock, (A.host, A.port)), 10)
    r, w = await asyncio.wait_for(asyncio.open_connection(sock=sock, ssl=CTX, server_hostname="wghub", limit=1 << 20), 10)
    w.write(f"GET /v1/agent/{arch} HTTP/1.1\r\nHost: wghub\r\nAuthorization: Bearer {tok}\r\n\r\n".encode())
    await w.drain()
    head = (await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10)).decode()
    status = int(head[9:12])
    fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in head.split("\r\n")[1:] if ":" in l}
    return status, fields, r, w


async def finish_download(r, w, fields):
    import hashlib
    h = hashlib.sha256()
    left = int(fields["content-length"])
    try:
        while left > 0:
            b = await asyncio.wait_for(r.read(min(left, 1 << 16)), 60)
            if not b:
                break
            h.update(b)
            left -= len(b)
    finally:
        w.close()
    return left == 0 and h.hexdigest() == fields.get("x-checksum-sha256")


async def case_stalled_downloads():
    """80 agent downloads from 8 addresses that stop reading after the head: the hub's memory stays bounded
    (one shared copy of the binary, writes only while a connection can take them), it keeps answering, and every
    download finishes once read again."""
    r0 = await refusals()
    s, info = await http("GET", "/v1/agent", bearer=ADMIN, src="127.0.0.253")
    if s != 200:
        record("stalled downloads", 0, await alive(), "n/a", r0, r0, False, f"GET /v1/agent: {s} {info}")
        return
    arch = sorted(info["architectures"])[0]
    size = info["architectures"][arch]["size"]
    tok = token()
    rss0 = rss_kib()
    opened = await asyncio.gather(*(open_download(f"127.0.10.{1 + i % 8}", tok, arch) for i in range(80)), return_exceptions=True)
    ok200 = [o for o in opened if not isinstance(o, Exception) and o[0] == 200]
    peak = rss_kib()
    worst = 0.0
    for _ in range(16):  # 8 s of nobody reading
        await asyncio.sleep(0.5)
        peak = max(peak, rss_kib())
    for _ in range(3):
        a = await alive()
        worst = max(worst, a if a is not None else 99)
    done = await asyncio.gather(*(finish_download(r, w, f) for _, f, r, w in ok200), return_exceptions=True)
    finished = sum(1 for d in done if d is True)
    grew = (peak - rss0) / 1024
    r1 = await refusals()
    record(f"stalled downloads (80 × the {size / 1048576:.1f} MiB agent from 8 addresses, nobody reading for 8 s)", 80,
           await alive(), "n/a", r0, r1,
           len(ok200) == 80 and grew <= 64 and worst < 1 and finished == 80,
           f"200: {len(ok200)}; hub RSS {rss0 / 1024:.0f} MiB -> peak {peak / 1024:.0f} MiB (+{grew:.0f}, bound 64); "
           f"answering during: {worst * 1000:.0f} ms; finished once read, checksum right: {finished}")


async def case_download_caps():
    """More downloads at once from one address than --max-downloads-per-ip: 503 with Retry-After for the excess,
    and every slot given back when the connections close."""
    r0 = await refusals()
    s, info = await http("GET", "/v1/agent", bearer=ADMIN, src="127.0.0.253")
    arch = sorted(info["architectures"])[0]
    tok = token()
    opened = await asyncio.gather(*(open_download("127.0.11.1", tok, arch) for _ in range(A.downloads_per_ip + 2)),
                                  return_exceptions=True)
    codes = sorted(o[0] for o in opened if not isinstance(o, Exception))
    retry = [o[1].get("retry-after") for o in opened if not isinstance(o, Exception) and o[0] == 503]
    for o in opened:
        if not isinstance(o, Exception):
            o[3].close()
    active = None
    for _ in range(50):  # the slots come back as the hub sees the connections close
        await asyncio.sleep(0.2)
        s, text = await http("GET", "/metrics", bearer=ADMIN, src="127.0.0.251")
        active = next((int(l.split()[-1]) for l in text.splitlines() if l.startswith("wghub_agent_downloads_active ")), None) if s == 200 else None
        if active == 0:
            break
    r1 = await refusals()
    want = [200] * A.downloads_per_ip + [503, 503]
    record(f"download caps ({A.downloads_per_ip + 2} at once from one address, cap {A.downloads_per_ip})", len(opened),
           await alive(), "n/a", r0, r1, codes == want and all(retry) and active == 0,
           f"answers {codes}; Retry-After {retry}; downloads active after closing: {active}")


async def case_sigterm():
    """SIGTERM while a storm and slowloris connections are running: the hub must be gone within 10 s."""
    stop = asyncio.Event()
    async def pound(i):
        while not stop.is_set():
            await http("GET", "/", bearer=ADMIN, src=f"127.0.9.{1 + i}", timeout=3)
    async def loris(i):
        try:
            r, w = await asyncio.open_connection(A.host, A.port, ssl=CTX, server_hostname="wghub", local_addr=(f"127.0.4.{1 + i}", 0))
            w.write(b"GET / HTTP/1.1\r\nHost: wghub\r\n")
            await w.drain()
            await asyncio.wait_for(r.read(), 20)
        except Exception:
            pass
    tasks = [asyncio.create_task(pound(i)) for i in range(40)] + [asyncio.create_task(loris(i)) for i in range(40)]
    await asyncio.sleep(2)
    t0 = time.monotonic()
    os.kill(A.pid, signal.SIGTERM)
    gone = None
    while time.monotonic() - t0 < 15:
        try:
            os.kill(A.pid, 0)
        except ProcessLookupError:
            gone = time.monotonic() - t0
            break
        # A zombie (our parent has not reaped it yet) counts as gone.
        try:
            with open(f"/proc/{A.pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    gone = time.monotonic() - t0
                    break
        except FileNotFoundError:
            gone = time.monotonic() - t0
            break
        await asyncio.sleep(0.1)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ok = gone is not None and gone < 10
    RESULTS.append(("SIGTERM under load (40 dashboard loops, 40 slow heads)", 1, "exit" if ok else "NO",
                    "n/a", "n/a", ok, f"exited {gone:.1f} s after SIGTERM" if gone is not None else "still running after 15 s"))
    print(f"  {'ok  ' if ok else 'FAIL'} SIGTERM under load: " + RESULTS[-1][-1], flush=True)


async def main():
    global ADMIN, SITE_A, HUB_KEY
    ADMIN = admin_token()
    # Site A: enrolled with a LAN granted by its token, as a real site would be.
    tok = token("--lan", "198.51.100.0/24")
    key = key_b64("site-a")
    s, v = await http("POST", "/v1/enroll", enroll_body(tok, key, "site-a", ["198.51.100.0/24"]), src="127.0.8.1")
    if s != 200:
        print(f"abuse: setup enrollment failed: {s} {v}", file=sys.stderr)
        return 1
    SITE_A = {"key": key, "credential": v["credential"], "site_id": v["site_id"]}
    HUB_KEY = v["hub_public_key"]
    print(f"abuse: hub {A.url}, site A = site {v['site_id']} ({v['address']})", flush=True)

    await case_storm()
    await case_slowloris()
    await case_idle_flood(4, 60, f"idle flood, 4 addresses × 60 plain TCP (per-IP cap {A.per_ip}, open files {A.nofile})")
    await case_idle_flood(40, 25, f"idle flood, 40 addresses × 25 (total cap {A.max_connections}, open files {A.nofile})")
    await case_takeover()
    await case_route_claims()
    await case_probe_flood()
    await case_rate_limit_evasion()
    await case_weak_keys()
    await case_malformed()
    await case_stalled_downloads()
    await case_download_caps()
    await case_sigterm()

    print("\n| case | tried | hub still answering | records changed | refusals counted | result |")
    print("|---|---:|---|---|---:|---|")
    for case, tried, ans, rec, ref, ok, note in RESULTS:
        print(f"| {case} | {tried} | {ans} | {rec} | {ref} | {'pass' if ok else 'FAIL'}: {note} |")
    passed = sum(1 for r in RESULTS if r[5])
    print(f"\nabuse: {passed} passed, {len(RESULTS) - passed} failed")
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    for k in ("url", "data", "wghub", "ns", "iface"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--pid", type=int, required=True)
    for k, d in (("header-timeout", 3), ("handshake-timeout", 3), ("max-connections", 300), ("per-ip", 50),
                 ("probe-limit", 6), ("nofile", 512), ("downloads-per-ip", 10)):
        p.add_argument("--" + k, type=int, default=d)
    A = p.parse_args()
    A.host = A.url.split("//")[1].rsplit(":", 1)[0]
    A.port = int(A.url.rsplit(":", 1)[1])
    sys.exit(asyncio.run(main()))
