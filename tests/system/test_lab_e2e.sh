#!/usr/bin/env bash
# The lab, end to end (the README's main job, and a system test): a hub VM provisioned by
# `wgagent apply --profile hub` running wghub beside its wg0, a home router doing NAT, a Debian/systemd
# site VM behind it whose first boot runs the enroll line (as a cloud-init hook would), and a LAN host
# behind the site. Then: tunnel, handshake, pings hub <-> site <-> LAN host, the site on the dashboard and in
# /metrics, the port-forward verdicts (DNAT on the router or not, the site's firewall closed), apply again with
# the enrollment's values, route mode with the missing return route the doctor names, and wghub killed -9 while the
# site reports -> reports spooled -> wghub back -> every report delivered, none stored twice (counted in the
# hub's SQLite file). Everything is torn down on exit.
#
#   hub VM (netns hub)              router (netns router)                        LAN (bridge br0 on the router)
#   eth0 203.0.113.1/24  --------   wan0 203.0.113.2/24  MASQUERADE, FORWARD:
#   wg0 192.0.2.1/24 :51820         only LAN->WAN and replies (a home router);
#   wghub https://203.0.113.1:8443  DNAT udp/51820 -> the site only when a step adds it
#                                   br0 198.51.100.1/24 ---+--- site VM uplink0 198.51.100.2/24 (wg0 from the pool)
#                                                          +--- LAN host eth0 198.51.100.3/24
#
# Needs root. Env: WGHUB_BIN / WGAGENT_BIN (default REPO/.build/release/{wghub,wgagent}, static Swift runtime:
# scripts/build-release.sh), E2E_SITE_KIND (systemd|openrc: the site VM's init, default systemd; the hub VM is
# systemd), E2E_REPORT_INTERVAL (s, default 2), E2E_HUB_DOWN (s the hub stays dead, default 12),
# WGLAB_KEEP=1 keeps the work dir.
set -uo pipefail

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lab/lib.sh
. "$E2E_REPO/scripts/lab/lib.sh"
# shellcheck source=lab_hub.sh
. "$E2E_REPO/tests/system/lab_hub.sh"

WGHUB_BIN=${WGHUB_BIN:-$E2E_REPO/.build/release/wghub}
WGAGENT_BIN=${WGAGENT_BIN:-$E2E_REPO/.build/release/wgagent}
E2E_REPORT_INTERVAL=${E2E_REPORT_INTERVAL:-2}
E2E_HUB_DOWN=${E2E_HUB_DOWN:-12}
E2E_SITE_KIND=${E2E_SITE_KIND:-systemd}
case $E2E_SITE_KIND in systemd|openrc) ;; *) echo "test_lab_e2e: ERROR: E2E_SITE_KIND must be systemd or openrc" >&2; exit 1 ;; esac

# The site VM's disk before its first boot: the agent binary and the first-boot hook a cloud-init runcmd
# (or an image builder) would leave, running the runcmd of the user-data `wghub token create --cloud-init` printed.
e2e_site_preboot() {
  local root=$2
  install -D -m 755 "$WGAGENT_BIN" "$root/usr/local/bin/wgagent" || return 1
  echo "$SITE_NAME" >"$root/etc/hostname"   # cloud-init's hostname: what the hub and its dashboard show
  local args
  # shellcheck disable=SC2086  # the printed line, word by word, each word quoted for the hook's shell (OpenRC)
  args=$(printf "'%s' " ${ENROLL_LINE#wgagent } --var "report_interval=$E2E_REPORT_INTERVAL")
  if [ "$E2E_SITE_KIND" = openrc ]; then
    cat >"$root/etc/init.d/wgagent-firstboot" <<EOF
#!/sbin/openrc-run
# What a cloud-init runcmd (or Alpine's local.d) does on first boot: enroll with the hub.
description="wgagent first-boot enrollment"
depend() { after net; }
start() {
	[ -e /var/lib/wgagent/enrollment.json ] && return 0
	ebegin "Enrolling with the hub"
	cd / && /usr/local/bin/wgagent $args >>/var/log/wgagent-firstboot.log 2>&1
	rc=\$?
	echo \$rc >/var/log/wgagent-firstboot.rc
	eend \$rc
}
EOF
    chmod 755 "$root/etc/init.d/wgagent-firstboot"
    ln -sf /etc/init.d/wgagent-firstboot "$root/etc/runlevels/default/wgagent-firstboot"
    return 0
  fi
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  cat >"$root/etc/systemd/system/wgagent-firstboot.service" <<EOF
# What a cloud-init runcmd does on first boot: enroll with the hub (the runcmd \`wghub token create --cloud-init\` printed).
[Unit]
Description=wgagent first-boot enrollment
Wants=network-online.target
After=network-online.target
ConditionPathExists=!/var/lib/wgagent/enrollment.json

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=600
ExecStart=/usr/local/bin/$ENROLL_LINE --var report_interval=$E2E_REPORT_INTERVAL
StandardOutput=append:/var/log/wgagent-firstboot.log
StandardError=append:/var/log/wgagent-firstboot.log

[Install]
WantedBy=multi-user.target
EOF
  ln -sf ../wgagent-firstboot.service "$root/etc/systemd/system/multi-user.target.wants/wgagent-firstboot.service"
}

e2e_refusal() {   # e2e_refusal TEXT WORD CMD… -- CMD in the site VM exits 2 and its error mentions WORD
  local text=$1 word=$2 rc=0; shift 2
  lab_vm_exec site timeout 60 "$@" >"$LAB_DIR/refusal.out" 2>&1 || rc=$?
  local msg
  msg=$(grep -m1 'error:' "$LAB_DIR/refusal.out")
  lab_info "${msg:-(no error line)}"
  if [ "$rc" -eq 2 ] && grep -qi -- "$word" <<<"$msg"; then lab_ok "refused: $text"; else
    lab_bad "refused: $text: expected exit 2 and an error naming '$word', got exit $rc"
    e2e_show "$LAB_DIR/refusal.out" >&2
  fi
}

# The site's services, whichever init it runs.
e2e_site_active() {   # prints active / inactive
  if [ "$E2E_SITE_KIND" = systemd ]; then lab_vm_exec site systemctl is-active "$1" 2>&1
  else lab_vm_exec site rc-service "$1" status >/dev/null 2>&1 && echo active || echo inactive; fi
}
e2e_reporter_file() {
  if [ "$E2E_SITE_KIND" = systemd ]; then echo /etc/systemd/system/wgagent-reporter.service; else echo /etc/init.d/wgagent-reporter; fi
}
e2e_reporter_interval_ok() { lab_vm_exec site grep -qE "report --interval $E2E_REPORT_INTERVAL(\"|\$)" "$(e2e_reporter_file)"; }

e2e_doctor() {    # e2e_doctor LABEL -- wgagent doctor --json in the site VM, kept in LAB_DIR/LABEL.json
  lab_vm_exec site timeout 60 wgagent doctor --json >"$LAB_DIR/$1.json" 2>"$LAB_DIR/$1.err" || true
}
e2e_finding() {   # e2e_finding LABEL CHECK FIELD
  jq -r --arg c "$2" ".[] | select(.check == \$c) | $3 // empty" "$LAB_DIR/$1.json" 2>/dev/null
}

# e2e_port_forward -A|-D — add (or delete) the router's DNAT udp/$WG_PORT -> the site, then flush conntrack
# (WireGuard reuses one 5-tuple: a stale entry would keep forwarding, or blocking).
e2e_port_forward() {
  e2e_router iptables -t nat "$1" PREROUTING -i wan0 -p udp --dport "$WG_PORT" -j DNAT --to-destination "$SITE_LAN:$WG_PORT" \
    || lab_fail "iptables -t nat $1: the router's DNAT rule"
  e2e_router conntrack -F >/dev/null 2>&1 || lab_bad "conntrack -F in the router"
}

e2e_check_port() {   # e2e_check_port LABEL -> exit status in CP_RC, verdict in CP_VERDICT
  CP_RC=0
  lab_vm_exec site timeout 60 wgagent check-port --json >"$LAB_DIR/$1.json" 2>"$LAB_DIR/$1.err" || CP_RC=$?
  CP_VERDICT=$(jq -r '.verdict // empty' "$LAB_DIR/$1.json" 2>/dev/null)
  lab_info "wgagent check-port: exit $CP_RC, verdict \"${CP_VERDICT:-none}\", sent to $(jq -r '.sent_to // "?"' "$LAB_DIR/$1.json" 2>/dev/null), watched with $(jq -r '.watched_with // "?"' "$LAB_DIR/$1.json" 2>/dev/null)"
  [ -s "$LAB_DIR/$1.err" ] && [ "$CP_RC" -gt 1 ] && e2e_show "$LAB_DIR/$1.err" >&2
}
# ------------------------------------------------------------------ the steps
# The user-data for an image that carries the agent: its runcmd is the enroll argv, run by the first-boot hook.
hub_token() {
  lab_vm_exec hub wghub token create --data "$HUB_DATA" --uses 1 --name site --lan "$LAN_NET" --cloud-init --agent-present \
    >"$LAB_DIR/user-data" 2>"$LAB_DIR/token.err" || { cat "$LAB_DIR/token.err" >&2; lab_fail "wghub token create --cloud-init"; }
  lab_info "$(cat "$LAB_DIR/token.err")"
  # The runcmd item is a JSON array (a YAML flow sequence): exactly the argv cloud-init would run.
  local argv=()
  mapfile -t argv < <(grep -m1 '^  - \[' "$LAB_DIR/user-data" | sed 's/^  - //' | jq -r '.[]' 2>/dev/null)
  lab_check "wghub token create --cloud-init printed #cloud-config user-data whose runcmd is the enroll argv" \
    test "$(head -n1 "$LAB_DIR/user-data")" = "#cloud-config" -a "${argv[0]:-}" = /usr/local/bin/wgagent -a "${argv[1]:-}" = enroll
  [ ${#argv[@]} -gt 2 ] || { cat "$LAB_DIR/user-data" >&2; lab_fail "no enroll argv in the user-data"; }
  ENROLL_LINE="wgagent ${argv[*]:1}"
  lab_info "$(sed -E 's/--token [^ ]+/--token …/' <<<"$ENROLL_LINE")"
}

enroll_on_first_boot() {
  lab_step "site VM ($E2E_SITE_KIND): first boot runs the enroll line (a first-boot hook, as cloud-init runcmd would)"
  local t0=$SECONDS
  LAB_VM_PREBOOT=e2e_site_preboot LAB_BOOT_TIMEOUT=420 lab_vm_boot site "$E2E_SITE_KIND" site
  lab_vm_exec site cat /var/log/wgagent-firstboot.log >"$LAB_DIR/firstboot.log" 2>&1
  grep -E '^(wgagent enroll|  [a-z]+ +|done|enrolled)' "$LAB_DIR/firstboot.log" | grep -vE '^  (ok|changed) ' | e2e_show
  if [ "$E2E_SITE_KIND" = systemd ]; then
    lab_expect "first-boot unit finished (Result, $((SECONDS - t0)) s from boot)" success \
      "$(lab_vm_exec site systemctl show -p Result --value wgagent-firstboot 2>&1)"
    lab_expect "first-boot enroll exit status" 0 "$(lab_vm_exec site systemctl show -p ExecMainStatus --value wgagent-firstboot 2>&1)"
  else
    lab_expect "first-boot service started ($((SECONDS - t0)) s from boot)" active "$(e2e_site_active wgagent-firstboot)"
    lab_expect "first-boot enroll exit status" 0 "$(lab_vm_exec site cat /var/log/wgagent-firstboot.rc 2>&1)"
  fi
  lab_expect "enrollment.json mode" 600 "$(lab_vm_exec site stat -c %a /var/lib/wgagent/enrollment.json 2>&1)"
  SITE_ADDR=$(lab_vm_exec site cat /var/lib/wgagent/enrollment.json 2>/dev/null | jq -r '.address // empty' | cut -d/ -f1)
  SITE_PUB=$(lab_vm_exec site cat /etc/wireguard/wg0.pub 2>/dev/null)
  lab_check "the site got a tunnel address from $POOL (${SITE_ADDR:-none})" grep -qE '^192\.0\.2\.[0-9]+$' <<<"$SITE_ADDR"
  [ -n "$SITE_ADDR" ] || lab_fail "no tunnel address: nothing further can be checked"
  lab_check "enroll ran check-port once (the profile expects inbound): \"not reaching the VM\" (no port forward yet)" \
    grep -q 'UDP 51820: not reaching the VM' "$LAB_DIR/firstboot.log"
}

refusals() {
  lab_step "refusals through the real CLI, each with exit 2 and advice; the enrollment stays as it is"
  local esha token pin_bad
  esha=$(lab_vm_exec site sha256sum /var/lib/wgagent/enrollment.json | cut -d' ' -f1)
  token=$(sed -n 's/.*--token \([^ ]*\).*/\1/p' <<<"$ENROLL_LINE")
  # the same public key, another pin: the first 43 base64 characters changed
  pin_bad="sha256//$(printf 'A%.0s' {1..43})="
  e2e_refusal "the used-up 1-use token again (--reenroll)" "used" \
    wgagent enroll --hub "$URL" --token "$token" --pin "$PIN" --reenroll --wait 0
  e2e_refusal "a wrong pin" "pin" \
    wgagent enroll --hub "$URL" --token "$token" --pin "$pin_bad" --reenroll --wait 0
  e2e_refusal "http:// without --insecure" "insecure" \
    wgagent enroll --hub "http://$HUB_LINK:$API_PORT" --token "$token" --reenroll --wait 0
  lab_expect "enrollment.json unchanged by the refusals" "$esha" \
    "$(lab_vm_exec site sha256sum /var/lib/wgagent/enrollment.json | cut -d' ' -f1)"
}

check_tunnel() {
  lab_step "tunnel: handshake, then pings hub <-> site <-> LAN host"
  lab_expect "hub: wg0's peer is the site" "$SITE_PUB" "$(lab_vm_exec hub wg show wg0 peers 2>&1)"
  local aips
  aips=$(lab_vm_exec hub wg show wg0 allowed-ips 2>&1)
  lab_info "hub allowed-ips: $aips"
  lab_check "hub: the site's allowed-ips are its address and its LAN ($SITE_ADDR/32 $LAN_NET)" \
    awk -v k="$SITE_PUB" -v a="$SITE_ADDR/32" -v l="$LAN_NET" \
      '$1 == k { for (i = 2; i <= NF; i++) { if ($i == a) fa = 1; if ($i == l) fl = 1 } } END { exit !(fa && fl) }' <<<"$aips"
  local hs
  hs=$(lab_wait_handshake 60 'sleep 0.5' "$SITE_PUB" lab_vm_exec hub wg show wg0)
  lab_check "hub: handshake with the site (latest-handshake ${hs:-none})" test -n "$hs" -a "$hs" != 0
  lab_check "hub: the route to the site's LAN goes into the tunnel" \
    sh -c "ip -n $(lab_ns hub) route get $LANHOST | grep -q 'dev wg0'"
  lab_vm_ensure_ping site
  lab_check "site -> hub: ping $HUB_TUN through the tunnel" lab_vm_exec site ping -c 2 -W 2 "$HUB_TUN"
  lab_check "hub -> site: ping $SITE_ADDR through the tunnel" lab_ns_exec hub ping -c 2 -W 2 "$SITE_ADDR"
  lab_check "site -> LAN host: ping $LANHOST" lab_vm_exec site ping -c 2 -W 2 "$LANHOST"
  lab_check "LAN host -> site: ping $SITE_LAN" lab_ns_exec lan ping -c 2 -W 2 "$SITE_LAN"
  lab_check "hub -> LAN host: ping $LANHOST through the tunnel and the site (masquerade: no return route needed)" \
    lab_ns_exec hub ping -c 3 -W 2 "$LANHOST"
}

site_status() {
  lab_step "wgagent status on the site (human, then --json)"
  lab_vm_exec site timeout 60 wgagent status >"$LAB_DIR/status.txt" 2>&1
  grep -E '^(enrolled|interface|  hub|reports)' "$LAB_DIR/status.txt" | e2e_show
  lab_check "status: enrolled with $URL, address $SITE_ADDR" grep -q "^enrolled with $URL as site .* address $SITE_ADDR/" "$LAB_DIR/status.txt"
  lab_vm_exec site timeout 60 wgagent status --json >"$LAB_DIR/status.json" 2>"$LAB_DIR/status.err"
  lab_expect "status --json: enrolled, hub URL" "true $URL" "$(jq -r '"\(.enrolled) \(.hub_url)"' "$LAB_DIR/status.json" 2>&1)"
  lab_check "status --json: the hub peer with a handshake" \
    jq -e --arg k "$HUB_PUB" '[.report.peers[] | select(.public_key == $k and .latest_handshake > 0)] | length == 1' "$LAB_DIR/status.json"
  lab_expect "status --json: no doctor finding is a problem" "" \
    "$(jq -r '[.findings[] | select(.verdict == "problem") | .check] | join(",")' "$LAB_DIR/status.json" 2>&1)"
}

hub_shows_site() {
  lab_step "the hub shows the site: reports, dashboard (GET /), /metrics"
  local last_at="" i
  for ((i = 0; i < 60; i++)); do
    last_at=$(e2e_site_json | jq -r '.last_report_at // empty' 2>/dev/null)
    [ -n "$last_at" ] && break
    sleep 0.5
  done
  lab_check "the reporter service delivers reports (last report at ${last_at:-never})" test -n "$last_at"
  lab_expect "reporter service active ($(e2e_reporter_file))" active "$(e2e_site_active wgagent-reporter)"
  lab_check "reporter runs every $E2E_REPORT_INTERVAL s (--var report_interval)" e2e_reporter_interval_ok
  e2e_api / >"$LAB_DIR/dashboard.html" 2>"$LAB_DIR/dashboard.err"
  e2e_page_text "$LAB_DIR/dashboard.html" >"$LAB_DIR/dashboard.txt"
  lab_info "dashboard: $(grep -oE '[0-9]+ sites?: [a-z0-9 ,]+' "$LAB_DIR/dashboard.txt" | head -n1)"
  lab_expect "the hub knows the site by its hostname" "$SITE_NAME" "$(e2e_site_json | jq -r '.hostname')"
  lab_check "dashboard lists the site \"$SITE_NAME\" with its address $SITE_ADDR, online" \
    e2e_has "$LAB_DIR/dashboard.txt" "1 site: 0 offline, 0 stale, 1 online" "$SITE_NAME" "$SITE_ADDR" online
  lab_check "dashboard: the port-forward verdict \"not reaching the VM\"" e2e_has "$LAB_DIR/dashboard.txt" "Port forward not reaching the VM"
  e2e_api /metrics >"$LAB_DIR/metrics.txt" 2>"$LAB_DIR/metrics.err"
  local mhs
  mhs=$(grep '^wireguard_peer_last_handshake_seconds{' "$LAB_DIR/metrics.txt" | grep -F "public_key=\"$SITE_PUB\"" | awk '{print $2}')
  lab_check "/metrics: wireguard_peer_last_handshake_seconds for the site (${mhs:-none})" test -n "$mhs" -a "${mhs:-0}" != 0
  lab_check "/metrics: wireguard_peer_receive_bytes_total for the site > 0" \
    awk -v k="public_key=\"$SITE_PUB\"" '/^wireguard_peer_receive_bytes_total\{/ && index($0, k) && $2 > 0 { f = 1 } END { exit !f }' "$LAB_DIR/metrics.txt"
  lab_check "/metrics: wghub_enrollments_total counts the enrollment" \
    awk '/^wghub_enrollments_total/ && $NF >= 1 { f = 1 } END { exit !f }' "$LAB_DIR/metrics.txt"
}

port_forward_open() {
  lab_step "port forward: router DNAT udp/$WG_PORT -> $SITE_LAN, conntrack flushed, wgagent check-port"
  e2e_port_forward -A
  e2e_check_port cp-forwarded
  lab_expect "check-port with the forward: verdict" forwarded "$CP_VERDICT"
  lab_expect "check-port with the forward: exit status" 0 "$CP_RC"
  lab_expect "hub: the site's probe verdict" open "$(e2e_site_json | jq -r '.probe_verdict')"
  e2e_api / 2>/dev/null | e2e_page_text /dev/stdin >"$LAB_DIR/dashboard2.txt"
  lab_check "dashboard: \"forwarded\"" e2e_has "$LAB_DIR/dashboard2.txt" "Port forward forwarded"
}

port_forward_firewall_closed() {
  lab_step "forwarded, but the site's own firewall closed: ufw delete allow $WG_PORT/udp, wgagent check-port"
  lab_vm_exec site ufw delete allow "$WG_PORT/udp" >/dev/null || lab_fail "ufw delete allow $WG_PORT/udp in the site VM"
  e2e_check_port cp-firewall
  lab_expect "check-port with the site's firewall closed: verdict" "reaching the VM but dropped by its firewall" "$CP_VERDICT"
  lab_expect "check-port with the site's firewall closed: exit status" 1 "$CP_RC"
  jq -r '.causes[]?' "$LAB_DIR/cp-firewall.json" 2>/dev/null | head -n 1 | e2e_show
  lab_expect "hub: the agent's words for it" "reaching the VM but dropped by its firewall" "$(e2e_site_json | jq -r '.probe_detail')"
  lab_vm_exec site ufw allow "$WG_PORT/udp" >/dev/null || lab_fail "ufw allow $WG_PORT/udp in the site VM"
}

port_forward_removed() {
  lab_step "port forward removed: DNAT rule deleted, conntrack flushed, wgagent check-port"
  e2e_port_forward -D
  e2e_check_port cp-closed
  lab_expect "check-port without the forward: verdict" "not reaching the VM" "$CP_VERDICT"
  lab_expect "check-port without the forward: exit status" 1 "$CP_RC"
  jq -r '.causes[]?' "$LAB_DIR/cp-closed.json" 2>/dev/null | head -n 2 | e2e_show
  lab_expect "hub: the site's probe verdict" closed "$(e2e_site_json | jq -r '.probe_verdict')"
  lab_expect "hub: the agent's words for it" "not reaching the VM" "$(e2e_site_json | jq -r '.probe_detail')"
  # the flush dropped the site's NAT mapping; its keepalive (25 s) or any packet out restores the tunnel
  lab_vm_exec site ping -c 1 -W 2 "$HUB_TUN" >/dev/null 2>&1
}

apply_on_enrolled_site() {
  lab_step "wgagent apply --profile site-gateway on the enrolled site (no --var: the enrollment's values)"
  lab_vm_exec site rm -f /var/lib/wgagent/port-check.json
  local rc=0
  lab_vm_exec site timeout 120 wgagent apply --profile site-gateway >"$LAB_DIR/site-apply.out" 2>&1 || rc=$?
  grep -E '^(changed|  port )' "$LAB_DIR/site-apply.out" | e2e_show
  lab_expect "apply on the enrolled site converges" 0 "$rc"
  lab_check "apply changes nothing (enroll left it converged)" grep -q '^changed 0, ok ' "$LAB_DIR/site-apply.out"
  lab_check "apply with no verdict saved checks the port once: not reaching the VM" \
    grep -q 'UDP 51820: not reaching the VM' "$LAB_DIR/site-apply.out"
  lab_check "reporter interval kept (enroll's --var report_interval=$E2E_REPORT_INTERVAL)" e2e_reporter_interval_ok
  rc=0
  lab_vm_exec site timeout 120 wgagent apply --profile site-gateway >"$LAB_DIR/site-apply2.out" 2>&1 || rc=$?
  lab_expect "apply again: converges" 0 "$rc"
  lab_check "apply again: no second port check (a verdict is saved)" sh -c "! grep -q 'asking the hub for a probe' '$LAB_DIR/site-apply2.out'"
}

route_mode_return_route() {
  lab_step "route mode (lan_access=route): ping reaches the gateway but nothing behind it, until the LAN router has the route"
  local rc=0
  lab_vm_exec site timeout 120 wgagent apply --profile site-gateway --var lan_access=route >"$LAB_DIR/site-route.out" 2>&1 || rc=$?
  lab_expect "apply --var lan_access=route converges" 0 "$rc"
  lab_vm_exec site ping -c 1 -W 2 "$HUB_TUN" >/dev/null 2>&1   # the tunnel back after wg-quick's restart
  lab_check "hub -> site still answers: ping $SITE_ADDR" lab_ns_exec hub ping -c 2 -W 2 "$SITE_ADDR"
  lab_check "hub -> LAN host now fails: no NAT, and the LAN has no route back to $POOL" \
    sh -c "! ip netns exec $(lab_ns hub) ping -c 2 -W 2 $LANHOST"
  e2e_doctor doctor-route1
  lab_expect "doctor: return-route is a problem" problem "$(e2e_finding doctor-route1 return-route .verdict)"
  lab_info "doctor: $(e2e_finding doctor-route1 return-route .detail)"
  lab_info "fix: $(e2e_finding doctor-route1 return-route .fix)"
  lab_check "doctor names the route to add on the LAN router ($POOL via $SITE_LAN on $LAN_GW)" \
    grep -qF "on the LAN router $LAN_GW add a route to $POOL via $SITE_LAN" <<<"$(e2e_finding doctor-route1 return-route .fix)"
  lab_route router "$POOL" via "$SITE_LAN"
  lab_info "router: ip route add $POOL via $SITE_LAN (what the doctor said)"
  e2e_doctor doctor-route2
  lab_expect "doctor: return-route ok once the router has it" ok "$(e2e_finding doctor-route2 return-route .verdict)"
  lab_check "hub -> LAN host: ping $LANHOST (routed, the LAN host sees the tunnel address)" lab_ns_exec hub ping -c 2 -W 2 "$LANHOST"
  lab_check "LAN host -> hub: ping $HUB_TUN (via its router, then the site and the tunnel)" lab_ns_exec lan ping -c 2 -W 2 "$HUB_TUN"
}

hub_killed() {
  lab_step "wghub killed (-9) while the site reports every $E2E_REPORT_INTERVAL s; back after $E2E_HUB_DOWN s"
  local s0
  DROPPED0=$(lab_vm_exec site cat /var/lib/wgagent/spool/dropped 2>/dev/null || echo 0)
  e2e_hub_kill || lab_fail "systemctl kill -s KILL wghub"
  lab_expect "wghub is down" failed "$(lab_vm_exec hub systemctl is-active wghub 2>/dev/null)"
  s0=$(e2e_sql "SELECT max(seq) FROM reports")
  lab_info "hub's store: last report #${s0:-none} before the kill"
}

reports_spooled() {
  local waiting s1 swait
  sleep "$E2E_HUB_DOWN"
  waiting=$(lab_vm_sh site 'ls /var/lib/wgagent/spool | grep -c "\.json$"' 2>/dev/null)
  s1=$(lab_vm_exec site cat /var/lib/wgagent/report-seq 2>/dev/null | tr -d '[:space:]')
  SEQ_SPOOLED=$s1
  lab_info "site: report-seq $s1, $waiting report(s) waiting in /var/lib/wgagent/spool"
  if [ "$E2E_SITE_KIND" = systemd ]; then
    lab_vm_exec site journalctl -u wgagent-reporter -o cat --no-pager 2>/dev/null
  else
    lab_vm_exec site cat /var/log/wgagent-reporter.log 2>/dev/null
  fi | grep 'hub not reached' | tail -n 1 | e2e_show
  lab_check "site: reports spooled while the hub is down (≥ 3, got ${waiting:-0})" test "${waiting:-0}" -ge 3
  swait=$(lab_vm_exec site timeout 30 wgagent status --json 2>/dev/null | jq '.spool.waiting' 2>/dev/null)
  lab_check "site: wgagent status --json counts them in the spool too (${swait:-none})" test "${swait:-0}" -ge 3
}

hub_back_every_report_once() {
  local s1=$SEQ_SPOOLED s2 dropped1 counts dups i
  e2e_hub_start || lab_fail "wghub did not come back (systemctl start wghub)"
  lab_ok "wghub back (its store survived kill -9)"
  for ((i = 0; i < 120; i++)); do
    s2=$(e2e_sql "SELECT max(seq) FROM reports" 2>/dev/null)
    [ -n "$s2" ] && [ "$s2" -ge "$s1" ] && [ "$(lab_vm_sh site 'ls /var/lib/wgagent/spool | grep -c "\.json$"' 2>/dev/null)" = 0 ] && break
    sleep 0.5
  done
  lab_check "hub: has reports up to the site's #$s1 (now #${s2:-none}), spool empty" test -n "$s2" -a "${s2:-0}" -ge "$s1"
  dropped1=$(lab_vm_exec site cat /var/lib/wgagent/spool/dropped 2>/dev/null || echo 0)
  lab_expect "site: no report dropped from the spool (within its bound)" "${DROPPED0:-0}" "${dropped1:-0}"
  # seq 1 ... s1: every report the site made up to the check, each exactly once (reports table, SQLite file)
  counts=$(e2e_sql "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM reports WHERE seq <= $s1")
  lab_info "hub's store, reports #1…#$s1: count|distinct|min|max = $counts"
  lab_expect "hub: every report #1…#$s1 stored exactly once (none lost, none twice)" "$s1|$s1|1|$s1" "$counts"
  lab_expect "hub: reports stored in the order the site made them" "" \
    "$(e2e_sql "SELECT a.seq FROM reports a JOIN reports b ON b.seq = a.seq + 1 WHERE b.received_at < a.received_at AND b.seq <= $s1")"
  dups=$(e2e_api /metrics 2>/dev/null | awk '/^wghub_health_duplicates_total/ {print $NF}')
  lab_info "wghub_health_duplicates_total since the restart: ${dups:-0} (re-sent reports acknowledged, not stored)"
}

stop() {
  lab_step "stop"
  lab_vm_stop site
  lab_vm_stop hub
  lab_info "whole run: $((SECONDS - LAB_T0)) s"
}

main() {
  lab_require_root_and_tools wg jq curl python3 ping iptables conntrack
  lab_require_binary wghub "$WGHUB_BIN" WGHUB_BIN
  lab_require_binary wgagent "$WGAGENT_BIN" WGAGENT_BIN
  lab_init
  home_network
  hub_vm
  hub_serves
  hub_token
  enroll_on_first_boot
  refusals
  check_tunnel
  site_status
  hub_shows_site
  port_forward_open
  port_forward_firewall_closed
  port_forward_removed
  apply_on_enrolled_site
  route_mode_return_route
  hub_killed
  reports_spooled
  hub_back_every_report_once
  stop
  lab_summary
}

main "$@"
