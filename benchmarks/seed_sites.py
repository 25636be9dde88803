#!/usr/bin/env python3
"""Seeds a wghub store (made and migrated by `wghub`, not running) with SITES enrolled sites and DAYS of history as
the hub keeps it (WGSiteHistory: minute buckets for the last 2 days, hour buckets for DAYS), the sites' last reports
(some with failing checks), LAN prefixes (routed, pending, overlapping) and incidents (resolved, open).
Prints one SEED line. Stdlib only. Usage: seed_sites.py DB SITES DAYS POOL_PREFIX (e.g. 2001:db8:7::)"""
import base64, hashlib, ipaddress, json, os, random, sqlite3, sys, time

db_path, sites, days, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random(7)  # the same store every run
t0 = time.monotonic()
now = int(time.time())
db = sqlite3.connect(db_path)
db.execute("PRAGMA synchronous = OFF")
db.execute("PRAGMA foreign_keys = ON")

def status_of(i):
    # No interface in the benchmark (no handshakes): a site is stale (report 3-10 min old) or offline.
    return "offline" if i % 3 == 0 else "stale"

site_rows, seeded, incidents = [], [], []
for i in range(1, sites + 1):
    key = base64.b64encode(os.urandom(32)).decode()
    address = str(ipaddress.IPv6Address(prefix) + i + 1)  # the hub has the first address
    lan = []
    if i % 2 == 0:
        lan.append(f"10.{i // 256}.{i % 256}.0/24")
    if i % 10 == 0:
        lan.append(f"10.{(i - 2) // 256}.{(i - 2) % 256}.128/25")  # overlaps site i-2's LAN: refused
    granted = lan[:1] if i % 4 == 0 else []  # half of the LANs granted, the rest pending
    st = status_of(i)
    last_at = now - (240 if st == "stale" else 3600 * (1 + i % 48))
    checks = [{"name": "forwarding", "ok": True}, {"name": "firewall", "ok": True}]
    if i % 7 == 0:
        checks.append({"name": "forwarding", "ok": False, "detail": "net.ipv4.ip_forward is 0"})
    if i % 11 == 0:
        checks.append({"name": "service", "ok": False, "detail": "wgagent-reporter.service is failed"})
    seq = days * 1440
    report = {"seq": seq, "agent_time": last_at, "interface": "wg0", "listen_port": 51820,
              "peers": [{"public_key": base64.b64encode(os.urandom(32)).decode(), "latest_handshake": last_at - 30,
                         "rx_bytes": i * 1_000_000, "tx_bytes": i * 100_000}],
              "forwarding": i % 7 != 0, "firewall": "active", "service": "failed" if i % 11 == 0 else "active",
              "checks": checks}
    probe = "open" if i % 5 else "closed"
    site_rows.append((i, key, address, f"site-{i:04d}" + ("-branch" if i % 9 == 0 else ""), 51820, "debian-12", "0.1.0",
                      json.dumps(lan), json.dumps(granted), hashlib.sha256(key.encode()).hexdigest(),
                      f"198.51.100.{i % 250 + 1}", "site-gateway", now - days * 86400 - 3600, now - days * 86400,
                      last_at, seq, json.dumps(report), probe, last_at - 600, "forwarded" if probe == "open" else None))
    seeded.append((i, st, last_at))
    for k in range(i % 4):  # resolved incidents over the period
        s = now - 86400 * (1 + (i + k * 7) % days)
        incidents.append((i, f"site-{i:04d}", "offline", "offline: last report 12 min ago", s, s + 120, s + 1800, s + 1920, k))
    if st == "offline" and i % 6 == 0:
        incidents.append((i, f"site-{i:04d}", "offline", "offline: last report 1 h ago", last_at + 600, last_at + 720, None, None, 0))

def history(i, st, last_at):
    """One site's rows: hour rows for DAYS, minute rows for the last two days, none after its last report, and an
    outage of a few hours in some sites' past. Counters grow with time."""
    out = now - 86400 * (3 + i % 20)
    outage = range(out, out + 3600 * (i % 6)) if i % 4 == 1 else range(0)
    origin = now - days * 86400
    for res, keep in ((60, 2 * 86400), (3600, days * 86400)):
        start = now - keep
        for b in range(start - start % res, last_at + 1, res):
            if b in outage:
                continue
            n = 1 if res == 60 else 60
            online = st == "stale" or b < last_at - 3600
            rx = i * 1000 + (b - origin) * 800
            yield (i, res, b, n, n, n if online else 0, 60.0 * n if online else 0.0, 0.0 if online else 60.0 * n,
                   n if online else 0, 0 if online else n, 0, 20.0 * n, 40.0, n, rx, rx // 10,
                   ("open" if i % 5 else "closed") if b % (6 * 3600) == 0 else None)

rows = 0
with db:
    db.executemany("""INSERT INTO sites (id, public_key, address, hostname, listen_port, os, agent_version, lan_subnets,
                      lan_granted, credential_hash, observed_address, profile, enrolled_at, updated_at, last_report_at,
                      last_seq, last_report, probe_verdict, probe_at, probe_detail)
                      VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", site_rows)
    for i, st, last_at in seeded:  # streamed: millions of rows, never all in memory
        cur = db.executemany("""INSERT INTO site_history (site_id, res, bucket, reports, minutes, online_minutes, online_s,
                                stale_s, online, stale, offline, hs_age_sum, hs_age_max, hs_samples, rx, tx, probe)
                                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", history(i, st, last_at))
        rows += cur.rowcount
    db.executemany("""INSERT INTO incidents (site_id, hostname, kind, detail, started_at, opened_at, cleared_at,
                      resolved_at, flaps) VALUES (?,?,?,?,?,?,?,?,?)""", incidents)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
print(f"SEED sites={sites} history_rows={rows} incidents={len(incidents)} seconds={time.monotonic() - t0:.1f} "
      f"bytes={os.path.getsize(db_path)}")
