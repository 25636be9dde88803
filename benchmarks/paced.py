#!/usr/bin/env python3
"""Paced load: RATE health reports per second for SECONDS over TLS keep-alive connections (one per agent
thread), measuring each report's latency. Prints one RESULT line. Stdlib only; loopback only."""
import http.client, json, ssl, sys, threading, time

url_host, url_port, cafile, credfile, rate, seconds, agents = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
creds = [l.strip() for l in open(credfile) if l.strip()]
ctx = ssl.create_default_context(cafile=cafile)
lat, errors, lock = [], [0], threading.Lock()
start = time.monotonic() + 0.5
total = int(rate * seconds)

def agent(k):
    conn = http.client.HTTPSConnection(url_host, url_port, context=ctx, timeout=10)
    cred = creds[k % len(creds)]
    i = k
    while i < total:
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        body = json.dumps({"seq": 2_000_000_000 + i, "agent_time": int(time.time()), "interface": "wg0",
                           "peers": [], "checks": [{"name": "forwarding", "ok": True}]})
        t0 = time.monotonic()
        try:
            conn.request("POST", "/v1/health", body, {"Content-Type": "application/json", "Authorization": "Bearer " + cred})
            r = conn.getresponse(); r.read()
            ok = r.status == 200
        except Exception:
            ok = False
            conn = http.client.HTTPSConnection(url_host, url_port, context=ctx, timeout=10)
        # latency from the scheduled time (includes queueing if the generator falls behind)
        with lock:
            lat.append(time.monotonic() - min(t0, max(due, t0 - 1)))
            if not ok: errors[0] += 1
        i += agents

threads = [threading.Thread(target=agent, args=(k,)) for k in range(agents)]
t0 = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.monotonic() - max(t0, start)
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
print("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f errors=%d" % (len(lat), elapsed, p(0.5), p(0.99), errors[0]))
