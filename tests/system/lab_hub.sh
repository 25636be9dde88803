# shellcheck shell=bash
# tests/system/lab_hub.sh — the hub side of the lab's stories (sourced after scripts/lab/lib.sh by
# test_lab_e2e.sh and test_qemu_firstboot.sh): the addresses, the home network with its NAT router, the hub VM
# provisioned by `wgagent apply --profile hub`, wghub serving beside its wg0, and the helpers that talk to it.
#
#   home_network      namespaces hub, lan (and site, unless LAB_SITE_NS=0), the router with NAT, br0 = the LAN
#   home_site NS ADDR [IF]   a machine's namespace NS on the LAN (a port of br0): IF (uplink0) with ADDR/24, default
#                     via the router
#   hub_vm            the hub VM booted and converged with `wgagent apply --profile hub`; sets HUB_PUB
#   hub_serves        wghub as a systemd service in the hub VM (E2E_HUB_SERVE_ARGS: more `wghub serve` flags);
#                     sets PIN and ADMIN
#   e2e_hub_kill      wghub killed with SIGKILL (systemd, Restart=no: it stays down); e2e_hub_start: started again
#   e2e_api PATH      GET PATH from wghub, pinned, with the admin token
#   e2e_site_json [HOSTNAME]   the first site of GET /v1/sites (or the one of that hostname)
#   e2e_sql 'SQL'     SQL on the hub's store (read-only)
#
#   hub VM (netns hub)              router (netns router)                        LAN (bridge br0 on the router)
#   eth0 203.0.113.1/24  --------   wan0 203.0.113.2/24  MASQUERADE, FORWARD:
#   wg0 192.0.2.1/24 :51820         only LAN->WAN and replies (a home router);
#   wghub https://203.0.113.1:8443  DNAT udp/51820 -> the site only when a step adds it
#                                   br0 198.51.100.1/24 ---+--- site uplink0 198.51.100.2/24 (wg0 from the pool)
#                                                          +--- LAN host eth0 198.51.100.3/24

HUB_LINK=203.0.113.1
ROUTER_WAN=203.0.113.2
LAN_GW=198.51.100.1
SITE_LAN=198.51.100.2
LANHOST=198.51.100.3
LAN_NET=198.51.100.0/24
HUB_TUN=192.0.2.1
POOL=192.0.2.0/24
WG_PORT=51820
API_PORT=8443
URL="https://$HUB_LINK:$API_PORT"
HUB_DATA=/var/lib/wghub
SITE_NAME=branch-office

e2e_show() { sed 's/^/          | /' "$@"; }
# A page's text: tags out, whitespace squeezed (what a reader sees, in order).
e2e_page_text() { sed -e 's/<[^>]*>/ /g' "$1" | tr -s ' \n\t' '   ' | sed -e 's/&amp;/\&/g'; echo; }
e2e_has() {      # e2e_has FILE TEXT… -- every TEXT is in FILE
  local f=$1 t; shift
  for t in "$@"; do grep -qF -- "$t" "$f" || { echo "missing: $t"; return 1; }; done
}
e2e_router() { lab_ns_exec router "$@"; }

# curl against wghub from the hub's namespace, pinned, with the admin token: e2e_api PATH
e2e_api() { lab_hub_api "$PIN" "$ADMIN" "$URL$1"; }

# The site as GET /v1/sites shows it (the first site, or the one with HOSTNAME), as JSON.
e2e_site_json() {
  e2e_api /v1/sites 2>/dev/null \
    | jq -c --arg h "${1:-}" '[.[]? // .sites[]? | select($h == "" or .hostname == $h)][0] // empty' 2>/dev/null
}
e2e_hub_last_seq() { e2e_site_json | jq -r '.last_seq // 0' 2>/dev/null; }

# SQL on the hub's store, read-only, from the host through the VM's root: e2e_sql 'SELECT …'
e2e_sql() { lab_sqlite "$(lab_vm_root hub)$HUB_DATA/wghub.sqlite" "$1"; }

# wghub on the hub VM as a systemd service (the way an admin would run it). Restart=no: a step kills it.
e2e_hub_unit() {
  cat <<EOF
[Unit]
Description=wghub, the wgagent coordinator
After=network-online.target wg-quick@wg0.service
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/wghub serve --listen $HUB_LINK:$API_PORT --data $HUB_DATA --interface wg0 --endpoint $HUB_LINK:$WG_PORT --pool $POOL --retention 10000${E2E_HUB_SERVE_ARGS:+ $E2E_HUB_SERVE_ARGS}
LimitNOFILE=16384
Restart=no
UMask=0077
StandardOutput=append:/var/log/wghub.log
StandardError=append:/var/log/wghub.log

[Install]
WantedBy=multi-user.target
EOF
}

# Wait (bounded) until wghub answers on its port; prints nothing, status 0 when up.
e2e_wait_hub_up() {
  local i
  for ((i = 0; i < 150; i++)); do
    lab_ns_exec hub timeout 3 curl -sk -o /dev/null "$URL/metrics" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# wghub killed with SIGKILL (kill -9) through systemd, then a wait (≤ 5 s) until it is no longer active (Restart=no: it
# stays down; the caller checks `systemctl is-active`). Status: systemctl kill's; its words in $LAB_DIR/hub-kill.out.
e2e_hub_kill() {
  local i rc=0
  lab_vm_exec hub systemctl kill -s KILL wghub >"$LAB_DIR/hub-kill.out" 2>&1 || rc=$?
  for ((i = 0; i < 50; i++)); do
    [ "$(lab_vm_exec hub systemctl is-active wghub 2>/dev/null)" != active ] && break
    sleep 0.1
  done
  [ "$rc" -eq 0 ] || e2e_show "$LAB_DIR/hub-kill.out" >&2
  return "$rc"
}

# wghub started again; status 0 once it answers.
e2e_hub_start() { lab_vm_exec hub systemctl start wghub && e2e_wait_hub_up; }

home_site() {
  lab_netns "$1"
  lab_bridge_port router br0 "lanp-$1" "$1" "${3:-uplink0}" "$2/24"
  lab_route "$1" default via "$LAN_GW"
}

home_network() {
  lab_step "networks: hub $HUB_LINK -- router ($ROUTER_WAN | $LAN_GW, NAT) -- LAN $LAN_NET: site VM $SITE_LAN, LAN host $LANHOST"
  lab_netns hub
  lab_router hub eth0 "$HUB_LINK/24" "$ROUTER_WAN/24"
  lab_route hub default via "$ROUTER_WAN"
  lab_bridge router br0 "$LAN_GW/24"
  # The site's own namespace and LAN port (an nspawn VM's), unless the site brings its own NIC (QEMU's tap).
  if [ "${LAB_SITE_NS:-1}" = 1 ]; then home_site site "$SITE_LAN"; fi
  home_site lan "$LANHOST" eth0
  # A home router: the LAN goes out masqueraded (lab_router); from the WAN only replies (and port forwards)
  # come in. br0 -> br0: LAN to LAN is switched, but with br_netfilter loaded (Docker hosts) it passes FORWARD too.
  e2e_router iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT \
    && e2e_router iptables -A FORWARD -i br0 -o wan0 -j ACCEPT \
    && e2e_router iptables -A FORWARD -i br0 -o br0 -j ACCEPT \
    && e2e_router iptables -P FORWARD DROP || lab_fail "router forward rules"
  lab_check "router: the hub cannot reach the LAN directly (FORWARD drops WAN -> LAN)" \
    sh -c "! ip netns exec $(lab_ns hub) ping -c 1 -W 1 $LANHOST"
}

hub_vm() {
  lab_step "hub VM: boot Debian/systemd, wgagent apply --profile hub --var address=$HUB_TUN/24"
  lab_vm_boot hub systemd hub
  lab_vm_install hub wgagent "$WGAGENT_BIN" wghub "$WGHUB_BIN"
  local t0=$SECONDS rc=0
  lab_vm_exec hub timeout 300 wgagent apply --profile hub --var "address=$HUB_TUN/24" >"$LAB_DIR/hub-apply.out" 2>&1 || rc=$?
  grep -E '^  (changed|ok|failed|change) ' "$LAB_DIR/hub-apply.out" | e2e_show
  lab_expect "hub: apply converged (exit status, $((SECONDS - t0)) s)" 0 "$rc"
  [ "$rc" -eq 0 ] || { tail -n 30 "$LAB_DIR/hub-apply.out" >&2; lab_fail "the hub VM did not converge"; }
  lab_expect "hub: wg0 listens on $WG_PORT" "$WG_PORT" "$(lab_vm_exec hub wg show wg0 listen-port 2>&1)"
  lab_expect "hub: net.ipv4.ip_forward" 1 "$(lab_vm_exec hub sysctl -n net.ipv4.ip_forward 2>&1)"
  lab_vm_exec hub ufw status >"$LAB_DIR/hub-ufw.txt" 2>&1
  lab_check "hub: ufw active, allowing SSH, $WG_PORT/udp and wghub's $API_PORT/tcp" \
    sh -c "grep -q 'Status: active' '$LAB_DIR/hub-ufw.txt' && grep -qE '^22/tcp +ALLOW' '$LAB_DIR/hub-ufw.txt' \
      && grep -qE '^$WG_PORT/udp +ALLOW' '$LAB_DIR/hub-ufw.txt' && grep -qE '^$API_PORT/tcp +ALLOW' '$LAB_DIR/hub-ufw.txt'"
  HUB_PUB=$(lab_vm_exec hub cat /etc/wireguard/wg0.pub 2>/dev/null)
}

hub_serves() {
  lab_step "hub VM: wghub serve as a systemd service beside wg0"
  e2e_hub_unit >"$LAB_DIR/wghub.service"
  lab_vm_copy hub "$LAB_DIR/wghub.service" /etc/systemd/system/wghub.service || lab_fail "install wghub.service"
  lab_vm_exec hub systemctl daemon-reload && lab_vm_exec hub systemctl enable --now wghub >/dev/null 2>&1 \
    || lab_fail "systemctl enable --now wghub"
  e2e_wait_hub_up || { lab_vm_exec hub cat /var/log/wghub.log >&2; lab_fail "wghub does not answer on $URL"; }
  PIN=$(lab_vm_exec hub awk '$1 == "pin" {print $2; exit}' /var/log/wghub.log 2>/dev/null)
  lab_vm_exec hub cat /var/log/wghub.log | grep -v '^$' | head -n 6 | e2e_show
  lab_check "wghub printed its pin (${PIN:-none})" grep -q '^sha256//' <<<"$PIN"
  lab_check "wghub serves the key of the wg0 that apply made" lab_vm_exec hub grep -qF "hub public key $HUB_PUB" /var/log/wghub.log
  lab_expect "wghub: data folder mode" 700 "$(lab_vm_exec hub stat -c %a "$HUB_DATA" 2>&1)"
  ADMIN=$(lab_vm_exec hub wghub admin-token create --data "$HUB_DATA" --name e2e 2>/dev/null | tail -n 1)
  lab_check "admin token created" test -n "$ADMIN"
}
