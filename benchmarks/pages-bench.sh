#!/usr/bin/env bash
# Dashboard and site page benchmark for wghub over TLS on loopback (not a timed test).
# A fresh data folder, made and migrated by `wghub` itself, seeded (seed_sites.py, python3's sqlite3) with SITES
# enrolled sites and DAYS of history as the hub keeps it, then a release `wghub serve --no-interface`; times
# GET /, /?status=offline, /?q=branch and /sites/{id} for a few ids (REQUESTS each over one keep-alive connection)
# and prints p50/p95/max and bytes against the 200 ms aim, the seeding figures and the hub's RSS. With
# WGHUB_PREV_BIN=path (e.g. the previous build) the same on a copy of the same store with that binary, side by side.
# Usage: benchmarks/pages-bench.sh   (env WGHUB_BIN=path to use a given binary; default: release build;
#        SITES=1000 DAYS=30 REQUESTS=30)
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${SITES:-1000}; days=${DAYS:-30}; requests=${REQUESTS:-30}
aim_ms=200
. benchmarks/hub-bench-lib.sh
now_ms() { date +%s%3N; }

seeded="$work/seeded"
t=$(now_ms)
admin=$("$bin" admin-token create --data "$seeded" | sed -n 2p)  # creates and migrates the store
migrate_ms=$(( $(now_ms) - t ))
seed=$(python3 benchmarks/seed_sites.py "$seeded/wghub.sqlite" "$sites" "$days" 2001:db8:7:: | grep '^SEED')
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
echo "== seeding: $sites sites, $days days of history (minute buckets 2 days, hour buckets $days days)"
printf "%-44s %s\n" "store created and migrated (admin-token create)" "$migrate_ms ms" \
  "sites, history rows, incidents seeded" "$(field sites "$seed"), $(field history_rows "$seed"), $(field incidents "$seed") in $(field seconds "$seed") s" \
  "store file" "$(echo "$(field bytes "$seed") / 1048576" | bc -l | xargs printf '%.1f MiB')"

rss() { awk -v k="$1" '$1 == k":" {printf "%.1f MiB", $2/1024}' /proc/$hub_pid/status; }
# Site ids: a stale one, an offline one with an open incident, one with LANs (one refused) and failing checks, the last.
paths=("/" "/?status=offline" "/?q=branch" "/sites/1" "/sites/6" "/sites/70" "/sites/$sites")
declare -A p50=()
run_pages() {  # LABEL: a fresh copy of the seeded store, the hub ($bin) started on it, every path timed
  local label=$1 data="$work/data-${1// /-}"
  cp -a "$seeded" "$data"
  local t; t=$(now_ms)
  start_hub "$data"
  echo "== $label ($bin): start to listening (open, reconcile) $(( $(now_ms) - t )) ms, RSS before any page $(rss VmRSS)"
  local out; out=$(python3 benchmarks/pages.py 127.0.0.1 $port "$data/hub-cert.pem" "$admin" "$requests" "${paths[@]}")
  echo "pages: $requests requests each after one warm-up, one keep-alive TLS connection (aim: under $aim_ms ms)"
  printf "%-20s %9s %9s %9s %9s %11s %6s\n" "GET" "first ms" "p50 ms" "p95 ms" "max ms" "bytes" "aim"
  while read -r line; do
    local p p95 ok
    p=$(sed -n 's/.*path=\([^ ]*\).*/\1/p' <<<"$line")
    p95=$(field p95_ms "$line")
    ok=$(echo "$p95 < $aim_ms" | bc -l)
    p50["$label|$p"]=$(field p50_ms "$line")
    printf "%-20s %9s %9s %9s %9s %11s %6s\n" "$p" "$(field first_ms "$line")" "${p50["$label|$p"]}" "$p95" \
      "$(field max_ms "$line")" "$(field bytes "$line")" "$([ "$ok" = 1 ] && echo met || echo MISSED)"
  done <<<"$out"
  echo "hub RSS after the pages: $(rss VmRSS) (peak $(rss VmHWM))"
  kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=""
  rm -rf "$data"
}
run_pages "this build"
if [ -n "${WGHUB_PREV_BIN:-}" ]; then
  bin=$WGHUB_PREV_BIN run_pages "previous build"
  echo "== p50 ms, side by side"
  printf "%-20s %12s %16s\n" "GET" "this build" "previous build"
  for p in "${paths[@]}"; do printf "%-20s %12s %16s\n" "$p" "${p50["this build|$p"]}" "${p50["previous build|$p"]}"; done
fi
echo "(no site is online: --no-interface has no handshakes; sites are stale or offline)"
