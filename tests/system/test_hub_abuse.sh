#!/usr/bin/env bash
# The wghub abuse suite: the release wghub, with a real WireGuard interface (wireguard-go), an uplink and a
# default route, in a network namespace of its own, attacked over TLS on that namespace's loopback by
# tests/abuse/abuse.py (mixed storm, slowloris, idle floods under a low open-file limit, takeover attempts,
# route claims, probe floods, rate-limit evasion from many loopback addresses, weak keys, malformed HTTP,
# stalled and capped agent downloads, SIGTERM under load). Prints a table: case, tried, hub still answering, records changed, refusals counted.
#
# The limits are set low so that each attack reaches them within seconds; the defaults are in README.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lab/lib.sh

WGHUB_BIN=${WGHUB_BIN:-$PWD/.build/release/wghub}
WGAGENT_BIN=${WGAGENT_BIN:-$PWD/.build/release/wgagent}
IF=wgab$LAB_ID
IF=${IF:0:15}
NOFILE=512

hub_peer() {
  lab_step "hub namespace: uplink 203.0.113.5/24, default via 203.0.113.254, $IF (wireguard-go) 192.0.2.1/24"
  lab_netns hub
  lab_netns up
  lab_link hub up0 203.0.113.5/24 up eth0 203.0.113.254/24
  lab_route hub default via 203.0.113.254
  lab_hub_peer "$IF" 192.0.2.1/24 51820
}

hub_serve() {
  lab_step "wghub serve (release build) with LimitNOFILE $NOFILE and low limits"
  lab_hub_serve "$LAB_DIR/wghub.log" "wghub listening" 20 prlimit --nofile=$NOFILE "$WGHUB_BIN" serve \
    --listen 127.0.0.1:8443 --data "$LAB_DIR/hub" --interface "$IF" --endpoint 203.0.113.5:51820 --pool 192.0.2.0/24 \
    --max-connections 300 --max-connections-per-ip 50 --handshake-timeout 3s --header-timeout 3s --body-timeout 5s \
    --idle-timeout 5s --enroll-failure-global-limit 150 --probe-limit 6 --log-level notice \
    --agent-binary "$WGAGENT_BIN" --agent-download-limit 30 --max-downloads 100 --max-downloads-per-ip 10 \
    --max-downloads-per-network 100 --send-stall-timeout 30s
  lab_info "$(grep -E "listening|limits:" "$LAB_DIR/wghub.log")"
}

attacks() {
  lab_step "the attacks (tests/abuse/abuse.py)"
  # The attacker opens a thousand sockets at once: its own open-file limit must allow them.
  if (ulimit -n 8192 && ip netns exec "$(lab_ns hub)" python3 tests/abuse/abuse.py --url https://127.0.0.1:8443 \
        --data "$LAB_DIR/hub" --wghub "$WGHUB_BIN" --pid "$LAB_HUB_PID" --ns "$(lab_ns hub)" --iface "$IF" \
        --header-timeout 3 --handshake-timeout 3 --max-connections 300 --per-ip 50 --probe-limit 6 --nofile $NOFILE \
        --downloads-per-ip 10); then
    lab_ok "every attack: the hub kept answering, no record or route changed, the refusals were counted, SIGTERM stopped it"
  else
    lab_info "wghub's log (last 30 lines):"
    tail -n 30 "$LAB_DIR/wghub.log" | sed 's/^/    | /' >&2
    lab_bad "abuse suite: a case failed (table above)"
  fi
}

main() {
  lab_require_root_and_tools ip wg wireguard-go python3 prlimit
  lab_require_binary wghub "$WGHUB_BIN" WGHUB_BIN "scripts/build-release.sh wghub"
  lab_require_binary wgagent "$WGAGENT_BIN" WGAGENT_BIN "scripts/build-release.sh wgagent"
  lab_init
  hub_peer
  hub_serve
  attacks
  lab_summary
}

main "$@"
