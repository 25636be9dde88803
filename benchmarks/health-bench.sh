#!/usr/bin/env bash
# Health-report benchmark for wghub over TLS on loopback (not a timed test).
# Drives N concurrent agents (keep-alive TLS connections, wrk) for a few N, then a paced 1,000 reports/s run,
# and prints reports/s, p50/p99 latency and the hub's peak RSS (VmHWM) for each.
# Side by side in one run: group commit (the default, --health-batch 256) against one SQLite transaction per
# report (--health-batch 1), each on a fresh hub.
# Usage: benchmarks/health-bench.sh [SECONDS]   (env WGHUB_BIN=path to use a given binary; default: release build;
#        BATCHES="256 1" to choose the modes)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { echo "health-bench: wrk is missing (scripts/install-deps.sh installs it)"; exit 1; }
bin=${WGHUB_BIN:-}
if [ -z "$bin" ]; then
  swift build -c release --product wghub >&2
  bin=$(swift build -c release --show-bin-path)/wghub
fi
work=$(mktemp -d /tmp/wghub-bench.XXXXXX)
hub_pid=""
cleanup() {
  if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

run_suite() {
local batch=$1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hubkey=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
"$bin" serve --listen 127.0.0.1:$port --data "$work/data$batch" --endpoint 203.0.113.1:51820 --pool 2001:db8:7::/112 \
  --no-interface --hub-public-key "$hubkey" --retention 50 --health-batch "$batch" --log-level error \
  --max-connections-per-ip 4000 > "$work/serve.log" 2>&1 &  # every simulated agent comes from 127.0.0.1
hub_pid=$!
for _ in $(seq 1 200); do grep -q '^pin ' "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
grep -q '^pin ' "$work/serve.log" || { cat "$work/serve.log"; exit 1; }
ca="$work/data$batch/hub-cert.pem"

agents=1000
token=$("$bin" token create --data "$work/data$batch" --uses $agents --ttl 1h | sed -n 2p)
python3 benchmarks/enroll.py 127.0.0.1 $port "$ca" "$token" $agents "$work/creds$batch"

rss() { awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$hub_pid/status; }
echo "== --health-batch $batch ($([ "$batch" = 1 ] && echo 'one transaction per report' || echo 'group commit'))"
printf "%-28s %12s %10s %10s %8s %14s\n" "run" "reports/s" "p50 ms" "p99 ms" "errors" "hub peak RSS"
line() {
  local name=$1 result=$2
  local req s p50 p99 err
  req=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$result"); s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$result")
  p50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$result"); p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$result")
  err=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$result")
  printf "%-28s %12.0f %10s %10s %8s %14s\n" "$name" "$(echo "$req / $s" | bc -l)" "$p50" "$p99" "$err" "$(rss)"
}
for n in 10 100 1000; do
  threads=2; [ $n -lt 2 ] && threads=1
  out=$(wrk -t$threads -c$n -d${secs}s --timeout 10s -s benchmarks/health.lua "https://127.0.0.1:$port/v1/health" -- "$work/creds$batch" 2>&1 | grep RESULT)
  line "N=$n agents, closed loop" "$out"
done
out=$(python3 benchmarks/paced.py 127.0.0.1 $port "$ca" "$work/creds$batch" 1000 $secs 64 | grep RESULT)
line "1000 reports/s paced, 64 ag" "$out"
stored=$(python3 - "$work/data$batch/wghub.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); print(db.execute("select count(*) from reports").fetchone()[0])
PY
)
echo "reports kept in the store: $stored (retention 50 per site)"
kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=""
}
for b in ${BATCHES:-256 1}; do run_suite "$b"; done
