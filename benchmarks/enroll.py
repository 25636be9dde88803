#!/usr/bin/env python3
"""Enrolls COUNT agents (random keys) with TOKEN and writes their credentials, one a line."""
import base64, http.client, json, os, ssl, sys
host, port, cafile, token, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
ctx = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
with open(out, "w") as f:
    for i in range(count):
        key = bytearray(os.urandom(32)); key[0] &= 248; key[31] = (key[31] & 127) | 64  # any 32 bytes do as a public key here
        body = json.dumps({"token": token, "public_key": base64.b64encode(bytes(key)).decode(), "hostname": "bench-%d" % i,
                           "listen_port": 51820, "os": "bench", "agent_version": "bench", "lan_subnets": []})
        conn.request("POST", "/v1/enroll", body, {"Content-Type": "application/json"})
        r = conn.getresponse(); data = r.read()
        if r.status != 200:
            sys.exit("enroll %d failed: %d %s" % (i, r.status, data.decode()))
        f.write(json.loads(data)["credential"] + "\n")
