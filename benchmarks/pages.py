#!/usr/bin/env python3
"""GETs each PATH REQUESTS times over one TLS keep-alive connection with the admin token, after one untimed warm-up,
and prints one RESULT line per path: p50/p95/max milliseconds (request sent to body read) and the body's bytes.
Stdlib only; loopback only. Usage: pages.py HOST PORT CAFILE TOKEN REQUESTS PATH..."""
import http.client, ssl, sys, time

host, port, cafile, token, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
headers = {"Authorization": "Bearer " + token}

def get(path):
    t0 = time.monotonic()
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"pages: GET {path} answered {r.status}: {body[:200]!r}")
    return (time.monotonic() - t0) * 1000, len(body)

for path in sys.argv[6:]:
    first, _ = get(path)
    times, size = [], 0
    for _ in range(n):
        ms, size = get(path)
        times.append(ms)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"RESULT path={path} first_ms={first:.1f} p50_ms={pick(0.5):.1f} p95_ms={pick(0.95):.1f} max_ms={times[-1]:.1f} bytes={size}")
