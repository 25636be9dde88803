#!/usr/bin/env bash
# Health-report benchmark for wghub over TLS on loopback (not a timed test).
# Drives N concurrent agents (keep-alive TLS connections, wrk) for a few N, then a paced 1,000 reports/s run,
# and prints reports/s, p50/p99 latency and the hub's peak RSS (VmHWM) for each.
# Side by side in one run, each on a fresh hub: group commit (the default, --health-batch 256) with history and
# alerting on (the defaults), the same with --no-history --no-alerts, and one SQLite transaction per report
# (--health-batch 1); then the reports/s of history and alerting on against off, in %.
# Usage: benchmarks/health-bench.sh [SECONDS]   (env WGHUB_BIN=path to use a given binary; default: release build;
#        MODES="256 256-off 1" to choose the modes: a batch size, "-off" for --no-history --no-alerts,
#        "-nohistory" or "-noalerts" for one of them)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { echo "health-bench: wrk is missing (scripts/install-deps.sh installs it)"; exit 1; }
. benchmarks/hub-bench-lib.sh

declare -A rate=()
run_suite() {
local mode=$1 batch=${1%%-*} extra=()
case $mode in
  *-off) extra=(--no-history --no-alerts) ;;
  *-nohistory) extra=(--no-history) ;;
  *-noalerts) extra=(--no-alerts) ;;
esac
start_hub "$work/data$mode" --retention 50 --health-batch "$batch" \
  --max-connections-per-ip 4000 "${extra[@]}"  # every simulated agent comes from 127.0.0.1
ca="$work/data$mode/hub-cert.pem"

agents=1000
token=$("$bin" token create --data "$work/data$mode" --uses $agents --ttl 1h | sed -n 2p)
python3 benchmarks/enroll.py 127.0.0.1 $port "$ca" "$token" $agents "$work/creds$mode"

rss() { awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$hub_pid/status; }
echo "== --health-batch $batch ($([ "$batch" = 1 ] && echo 'one transaction per report' || echo 'group commit')," \
  "$([ ${#extra[@]} = 0 ] && echo 'history and alerts on' || echo "${extra[*]}"))"
printf "%-28s %12s %10s %10s %8s %14s\n" "run" "reports/s" "p50 ms" "p99 ms" "errors" "hub peak RSS"
line() {
  local name=$1 result=$2
  local req s p50 p99 err
  req=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$result"); s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$result")
  p50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$result"); p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$result")
  err=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$result")
  rate["$mode|$name"]=$(echo "$req / $s" | bc -l)
  printf "%-28s %12.0f %10s %10s %8s %14s\n" "$name" "${rate["$mode|$name"]}" "$p50" "$p99" "$err" "$(rss)"
}
for n in 10 100 1000; do
  threads=2; [ $n -lt 2 ] && threads=1
  out=$(wrk -t$threads -c$n -d${secs}s --timeout 10s -s benchmarks/health.lua "https://127.0.0.1:$port/v1/health" -- "$work/creds$mode" 2>&1 | grep RESULT)
  line "N=$n agents, closed loop" "$out"
done
out=$(python3 benchmarks/paced.py 127.0.0.1 $port "$ca" "$work/creds$mode" 1000 $secs 64 | grep RESULT)
line "1000 reports/s paced, 64 ag" "$out"
stored=$(python3 - "$work/data$mode/wghub.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from reports").fetchone()[0], db.execute("select count(*) from site_history").fetchone()[0])
PY
)
echo "reports kept in the store: ${stored% *} (retention 50 per site); site_history rows: ${stored#* }"
kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=""
}
modes=${MODES:-${BATCHES:-256 256-off 1}}
for m in $modes; do run_suite "$m"; done
# History and alerting on against off, for each batch size run both ways (aim: within 10 %).
runs=("N=10 agents, closed loop" "N=100 agents, closed loop" "N=1000 agents, closed loop" "1000 reports/s paced, 64 ag")
for m in $modes; do
  case " $modes " in *" $m-off "*) ;; *) continue ;; esac
  echo "== history and alerts on vs --no-history --no-alerts, --health-batch $m (reports/s)"
  printf "%-28s %12s %12s %10s\n" "run" "on" "off" "on vs off"
  for r in "${runs[@]}"; do
    on=${rate["$m|$r"]}; off=${rate["$m-off|$r"]}
    printf "%-28s %12.0f %12.0f %9.1f%%\n" "$r" "$on" "$off" "$(echo "($on / $off - 1) * 100" | bc -l)"
  done
done
