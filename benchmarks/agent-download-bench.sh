#!/usr/bin/env bash
# What a site on a poor link pays for the agent (issue #17): the release wghub serving the release wgagent in a
# namespace "hub", a namespace "site" behind a veth whose hub side is shaped with tc tbf (the download direction),
# and curl fetching GET /v1/agent/x86_64 exactly as the bootstrap script does (pinned TLS, the bearer on its
# standard input, --continue-at -), with gzip (Accept-Encoding: gzip, the default where gzip is installed) and
# without (identity: the previous build's only form). Prints bytes on the wire and seconds per link rate, then
# one benchmark line. Root needed (namespaces); nothing on the host is changed; everything removed on exit.
#
#   benchmarks/agent-download-bench.sh [RATE…]     default: 1mbit 256kbit (identity at the first rate only)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lab/lib.sh
WGHUB_BIN=${WGHUB_BIN:-$PWD/.build/release/wghub}
WGAGENT_BIN=${WGAGENT_BIN:-$PWD/.build/release/wgagent}
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(1mbit 256kbit)

lab_require_root_and_tools ip tc curl jq openssl
lab_require_binary wghub "$WGHUB_BIN" WGHUB_BIN "scripts/build-release.sh wghub"
lab_require_binary wgagent "$WGAGENT_BIN" WGAGENT_BIN "scripts/build-release.sh wgagent"
lab_init
lab_netns hub
lab_netns site
lab_link hub eth0 203.0.113.1/24 site eth0 203.0.113.2/24

lab_step "wghub serve (release) in the hub namespace, serving $(basename "$WGAGENT_BIN") ($(stat -c %s "$WGAGENT_BIN") bytes)"
lab_bg "$LAB_DIR/wghub.log" ip netns exec "$(lab_ns hub)" "$WGHUB_BIN" serve --listen 203.0.113.1:8443 --data "$LAB_DIR/hub" \
  --no-interface --hub-public-key "$(head -c 32 /dev/urandom | base64)" --endpoint 203.0.113.1:51820 --pool 192.0.2.0/24 \
  --agent-binary "$WGAGENT_BIN" --log-level notice
for _ in $(seq 1 100); do grep -q '^pin ' "$LAB_DIR/wghub.log" 2>/dev/null && break; sleep 0.2; done
pin=$(awk '$1 == "pin" { print $2 }' "$LAB_DIR/wghub.log")
[ -n "$pin" ] || lab_fail "wghub did not start: $(tail -n 5 "$LAB_DIR/wghub.log")"
token=$("$WGHUB_BIN" token create --data "$LAB_DIR/hub" --uses 1 | grep -m1 '^wgt_')
gz=$(ip netns exec "$(lab_ns site)" curl -sk --pinnedpubkey "$pin" -H "Authorization: Bearer $token" https://203.0.113.1:8443/v1/agent \
  | jq -r '.architectures.x86_64.gzip_size')
lab_info "the agent: $(stat -c %s "$WGAGENT_BIN") bytes, gzip $gz bytes on the wire"

fetch() {   # fetch RATE gzip|identity -> "BYTES SECONDS"
  local rate=$1 enc=$2 out="$LAB_DIR/agent.$2"
  rm -f "$out"
  lab_ns_exec hub tc qdisc replace dev eth0 root tbf rate "$rate" burst 16kb latency 400ms
  local t0; t0=$(date +%s.%N)
  # (an if, not &&: under pipefail a false test would fail the pipeline)
  { printf 'header = "Authorization: Bearer %s"\n' "$token"; if [ "$enc" = gzip ]; then printf 'header = "Accept-Encoding: gzip"\n'; fi; } |
    ip netns exec "$(lab_ns site)" curl --config - --silent --show-error --fail --proto '=https' --insecure --pinnedpubkey "$pin" \
      --continue-at - --output "$out" https://203.0.113.1:8443/v1/agent/x86_64
  echo "$(stat -c %s "$out") $(echo "$(date +%s.%N) - $t0" | bc)"
}

line="agent-download agent=$(stat -c %s "$WGAGENT_BIN")B"
printf '\n| link | encoding | bytes on the wire | seconds |\n|---|---|---:|---:|\n'
first=1
for rate in "${rates[@]}"; do
  for enc in gzip identity; do
    [ "$enc" = identity ] && [ $first -eq 0 ] && continue
    read -r bytes secs < <(fetch "$rate" "$enc")
    printf '| %s | %s | %s | %.1f |\n' "$rate" "$enc" "$bytes" "$secs"
    line+=" $rate/$enc=${bytes}B/$(printf '%.1f' "$secs")s"
  done
  first=0
done
echo
lab_info "$line"
