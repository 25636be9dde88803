#!/usr/bin/env bash
# System test: `wgagent doctor --json` on a real site-gateway VM (systemd-nspawn, systemd as PID 1) with a real
# tunnel to a hub peer namespace (the topology of tests/system/apply_common.sh). Healthy first: no finding is a
# problem. Then one thing is broken at a time; the matching finding must be a problem that names a fix; the
# break is repaired (`wgagent apply` or by hand) and the doctor must be clean again before the next one:
#   1 forwarding off          2 ufw route rule deleted      3 NAT rules naming eth9 (live table, then wg0.conf)
#   4 missing handshake (the hub forgets the site, the site's tunnel restarts; "stale" is 180 s: not waited for)
#   5 hub endpoint by name, /etc/hosts moves the name: endpoint-dns sees it
#   6 route mode: the return-route check really runs
# Needs root; env as in apply_common.sh (WGAGENT_BIN, APPLY_TIMEOUT, WGLAB_KEEP) plus DOCTOR_TIMEOUT (s, default 60).
set -uo pipefail
# shellcheck source=apply_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/apply_common.sh"

DOCTOR_TIMEOUT=${DOCTOR_TIMEOUT:-60}
DR_RC=0
DR_JSON=""

# dr_run LABEL — `wgagent doctor --json` in the VM; DR_JSON: the findings array (file), DR_RC: exit status.
dr_run() {
  local base="$LAB_DIR/doctor-$1"
  DR_RC=0
  lab_vm_exec "$AP_VM" timeout "$DOCTOR_TIMEOUT" /usr/local/bin/wgagent doctor --json >"$base.out" 2>"$base.err" || DR_RC=$?
  DR_JSON="$base.json"
  rm -f "$DR_JSON"
  # An array of findings, each with check, verdict and detail (and a fix where there is one).
  if ! lab_json_extract "$base.out" "$DR_JSON" '[' 2>"$base.jsonerr"; then
    rm -f "$DR_JSON"
  elif ! jq -e 'type == "array" and all(.[]; type == "object" and has("check") and has("verdict") and has("detail"))' \
      "$DR_JSON" >/dev/null 2>&1; then
    echo "not an array of {check, verdict, detail, fix}" >"$base.jsonerr"
    rm -f "$DR_JSON"
  fi
  if [ ! -s "$DR_JSON" ]; then
    lab_info "doctor ($1): exit $DR_RC, no findings JSON ($(cat "$base.jsonerr" 2>/dev/null | tail -n 1))"
    tail -n 10 "$base.err" | sed 's/^/          | /' >&2
    return 0
  fi
  lab_info "doctor ($1): exit $DR_RC: $(jq -r '[.[] | "\(.check)=\(.verdict)"] | join(" ")' "$DR_JSON")"
}

dr_jq() { [ -s "$DR_JSON" ] && jq -r "$@" "$DR_JSON" 2>/dev/null; }

# The failing findings (problem or warning), comma-separated.
dr_failing() { dr_jq '[.[] | select(.verdict == "problem" or .verdict == "warning") | .check] | join(",")'; }

# dr_clean LABEL — run the doctor, expect exit 0 and no failing finding.
dr_clean() {
  dr_run "$1"
  lab_check "doctor ($1): JSON array of findings with all nine checks" \
    test "$(dr_jq '[.[].check] | sort | join(",")')" = "endpoint-dns,firewall-routed,forwarding,handshake,identity,key-modes,nat-egress,return-route,service"
  lab_expect "doctor ($1): exit status" 0 "$DR_RC"
  lab_expect "doctor ($1): failing findings" "" "$(dr_failing)"
  dr_jq '.[] | select(.verdict != "ok") | "          \(.verdict) \(.check): \(.detail)"' || true
}

# dr_broken LABEL CHECK — run the doctor, expect exit 1, CHECK a problem with a fix, and nothing else failing.
dr_broken() {
  local label=$1 check=$2
  dr_run "$label"
  lab_expect "doctor ($label): exit status" 1 "$DR_RC"
  lab_expect "doctor ($label): $check verdict" problem "$(dr_jq --arg c "$check" '.[] | select(.check == $c) | .verdict')"
  local fix; fix=$(dr_jq --arg c "$check" '.[] | select(.check == $c) | .fix // ""')
  lab_check "doctor ($label): $check names a fix" test -n "$fix"
  lab_expect "doctor ($label): the only failing finding" "$check" "$(dr_failing)"
  lab_info "$check: $(dr_jq --arg c "$check" '.[] | select(.check == $c) | .detail')"
  lab_info "$check fix: $fix"
}

dr_hub_handshake() { lab_handshake "$AP_HUB_PUB" lab_vm_exec "$AP_VM" wg show wg0; }

# Wait (bounded) until the VM's hub peer has a handshake at most 30 s old; traffic triggers one.
dr_wait_handshake() {
  local i hs now
  for ((i = 0; i < 30; i++)); do
    hs=$(dr_hub_handshake)
    now=$(lab_vm_exec "$AP_VM" date +%s 2>/dev/null)
    if [ -n "$hs" ] && [ "$hs" != 0 ] && [ -n "$now" ] && [ $((now - hs)) -le 30 ]; then
      lab_ok "$1: handshake with the hub ($((now - hs)) s ago)"; return 0
    fi
    lab_vm_exec "$AP_VM" timeout 3 ping -c 1 -W 1 -q "$AP_HUB_ADDR" >/dev/null 2>&1 || sleep 0.5
  done
  lab_bad "$1: no handshake with the hub within 30 tries (latest-handshake '${hs:-none}')"
  return 1
}

dr_apply() {   # dr_apply LABEL [EXTRA ARGS…] — wgagent apply, must exit 0 with failed 0
  local label=$1; shift
  ap_run "$label" apply "$@"
  lab_expect "$label: apply exits 0" 0 "$AP_RC"
  lab_expect "$label: no resource failed" 0 "$(ap_jq .failed)"
}

# ------------------------------------------------------------------ the steps
site_applied_tunnel_up() {
  lab_step "boot the systemd VM, copy the agent in, apply site-gateway"
  lab_agent_vm "$AP_VM" systemd site
  dr_apply apply1
  AP_SITE_PUB=$(lab_vm_exec "$AP_VM" cat /etc/wireguard/wg0.pub 2>/dev/null)
  ap_hub_learns_site
  lab_vm_ensure_ping "$AP_VM"
  dr_wait_handshake "tunnel"
}

healthy_vm() {
  lab_step "healthy VM: the doctor finds nothing"
  dr_clean healthy
}

break_forwarding() {
  lab_step "break 1: forwarding off (sysctl -w net.ipv4.ip_forward=0)"
  lab_check "sysctl -w net.ipv4.ip_forward=0" lab_vm_exec "$AP_VM" sysctl -w net.ipv4.ip_forward=0
  dr_broken forwarding-off forwarding
  dr_apply repair1
  lab_expect "ip_forward back to 1" 1 "$(lab_vm_exec "$AP_VM" sysctl -n net.ipv4.ip_forward 2>&1)"
  dr_wait_handshake "after repair 1"
  dr_clean repaired1
}

break_ufw_route() {
  lab_step "break 2: ufw route delete allow in on wg0 out on $AP_UPLINK"
  lab_check "ufw route delete allow in on wg0 out on $AP_UPLINK" \
    lab_vm_exec "$AP_VM" ufw route delete allow in on wg0 out on "$AP_UPLINK"
  lab_check "the route rule is gone (ufw show added)" \
    lab_vm_sh "$AP_VM" "! ufw show added | grep -q 'route allow in on wg0 out on $AP_UPLINK'"
  dr_broken ufw-route-deleted firewall-routed
  dr_apply repair2
  lab_check "the route rule is back (ufw show added)" \
    lab_vm_sh "$AP_VM" "ufw show added | grep -q 'route allow in on wg0 out on $AP_UPLINK'"
  dr_wait_handshake "after repair 2"
  dr_clean repaired2
}

break_nat_live() {
  lab_step "break 3a: a live MASQUERADE rule out of eth9 (not the egress $AP_UPLINK)"
  local rule=(POSTROUTING -s "${AP_HUB_ADDR%.*}.0/24" -o eth9 -j MASQUERADE)
  lab_check "iptables -t nat -A ${rule[*]}" lab_vm_exec "$AP_VM" iptables -t nat -A "${rule[@]}"
  dr_broken nat-live-eth9 nat-egress
  lab_check "repair by hand: iptables -t nat -D ${rule[*]}" lab_vm_exec "$AP_VM" iptables -t nat -D "${rule[@]}"
  dr_clean repaired3a
}

break_nat_conf() {
  lab_step "break 3b: wg0.conf's PostUp MASQUERADE names eth9"
  lab_check "sed PostUp -o $AP_UPLINK -> -o eth9 in wg0.conf" lab_vm_sh "$AP_VM" \
    "sed -i '/^PostUp.*MASQUERADE/s/-o $AP_UPLINK/-o eth9/' /etc/wireguard/wg0.conf && grep -q '^PostUp.*-o eth9' /etc/wireguard/wg0.conf"
  dr_broken nat-conf-eth9 nat-egress
  dr_apply repair3b
  lab_check "wg0.conf names $AP_UPLINK again" lab_vm_sh "$AP_VM" \
    "! grep -q 'eth9' /etc/wireguard/wg0.conf && grep -q '^PostUp.*MASQUERADE' /etc/wireguard/wg0.conf"
  dr_wait_handshake "after repair 3b"
  dr_clean repaired3b
}

break_handshake() {
  lab_step "break 4: the hub forgets the site, the site's tunnel restarts: no handshake"
  lab_hub_wg set "$AP_HUB_IF" peer "$AP_SITE_PUB" remove || lab_bad "wg set peer remove on the hub"
  lab_check "systemctl restart wg-quick@wg0" lab_vm_exec "$AP_VM" timeout 60 systemctl restart wg-quick@wg0
  lab_vm_exec "$AP_VM" timeout 3 ping -c 1 -W 1 -q "$AP_HUB_ADDR" >/dev/null 2>&1   # a handshake attempt, refused
  lab_expect "VM: latest-handshake with the hub" 0 "$(dr_hub_handshake)"
  dr_broken no-handshake handshake
  ap_hub_learns_site
  dr_wait_handshake "after repair 4"
  dr_clean repaired4
}

endpoint_by_name() {
  lab_step "5: hub endpoint by name (hub.lab.test in the VM's /etc/hosts), then the name moves"
  lab_check "VM /etc/hosts: $AP_HUB_LINK hub.lab.test" \
    lab_vm_sh "$AP_VM" "cp /etc/hosts /etc/hosts.dr-orig && echo '$AP_HUB_LINK hub.lab.test' >>/etc/hosts && getent ahosts hub.lab.test | grep -q '^$AP_HUB_LINK '"
  AP_HUB_LINK=hub.lab.test dr_apply apply-by-name
  lab_check "wg0.conf's Endpoint is hub.lab.test:$AP_PORT" \
    lab_vm_sh "$AP_VM" "grep -qE '^Endpoint *= *hub.lab.test:$AP_PORT' /etc/wireguard/wg0.conf"
  dr_wait_handshake "endpoint by name"
  dr_clean by-name
  lab_check "VM /etc/hosts: hub.lab.test now 198.51.100.77" \
    lab_vm_sh "$AP_VM" "sed -i 's/^$AP_HUB_LINK hub.lab.test\$/198.51.100.77 hub.lab.test/' /etc/hosts && getent ahosts hub.lab.test | grep -q '^198.51.100.77 '"
  dr_run name-moved
  lab_expect "endpoint-dns after the name moved" problem "$(dr_jq '.[] | select(.check == "endpoint-dns") | .verdict')"
  lab_check "endpoint-dns names where the name points now (198.51.100.77)" \
    grep -q 198.51.100.77 <<<"$(dr_jq '.[] | select(.check == "endpoint-dns") | .detail')"
  lab_info "endpoint-dns: $(dr_jq '.[] | select(.check == "endpoint-dns") | "\(.detail) fix: \(.fix // "-")"')"
  lab_check "VM /etc/hosts restored" lab_vm_sh "$AP_VM" "cp /etc/hosts.dr-orig /etc/hosts"
}

route_mode() {
  lab_step "6: route mode (lan_access=route)"
  APPLY_LAN_ACCESS=route dr_apply apply-route
  dr_wait_handshake "route mode"
  dr_run route-mode
  # The VM's LAN router here is the hub namespace, which routes the tunnel subnet back through the tunnel:
  # the check must really run (ping the router from the tunnel address) rather than guess.
  lab_check "return-route runs in route mode (verdict ok or problem, naming the router $AP_HUB_LINK)" \
    grep -qE "^(ok|problem) .*$AP_HUB_LINK" <<<"$(dr_jq '.[] | select(.check == "return-route") | "\(.verdict) \(.detail)"')"
  lab_info "return-route: $(dr_jq '.[] | select(.check == "return-route") | "\(.verdict): \(.detail) fix: \(.fix // "-")"')"
}

main() {
  lab_require_root_and_tools wg wireguard-go jq python3 ping sha256sum
  lab_require_binary wgagent "$WGAGENT_BIN" WGAGENT_BIN
  lab_init
  AP_EXTRA_VARS=()
  ap_hub_peer
  site_applied_tunnel_up
  healthy_vm
  break_forwarding
  break_ufw_route
  break_nat_live
  break_nat_conf
  break_handshake
  endpoint_by_name
  route_mode
  stop
  lab_summary
}

main "$@"
