# shellcheck shell=bash
# Shared body of tests/system/test_apply_{systemd,openrc}.sh: `wgagent apply --profile site-gateway` on a
# real VM (systemd-nspawn, see scripts/lab/lib.sh), checked with the VM's own tools, then a real tunnel
# to a "hub peer" namespace running wireguard-go. The site-gateway helpers (ap_*) serve the doctor test
# too; the apply test's steps follow them, and ap_main KIND lists them in order.
#
#   hub namespace                                   site namespace (VM)
#   wgp<PID> 192.0.2.1/24, :51820  <-- tunnel -->   wg0 192.0.2.2/24 (made by wgagent)
#   hubveth 198.51.100.1/24 ------ veth -------->   uplink0 198.51.100.2/24, default via 198.51.100.1
#
# The VM's uplink is deliberately not called eth0/ens3: NAT rules must name the real egress interface.
# The VM's default route points into the hub namespace, which routes nowhere else (a cloud VM has a
# default route; traffic still never leaves the run's namespaces).
#
# Env: WGAGENT_BIN (default REPO/.build/release/wgagent, built by scripts/build-release.sh:
#      swift build -c release --static-swift-stdlib), APPLY_LAN_ACCESS (masquerade|route, default masquerade),
#      APPLY_TIMEOUT (s per wgagent run, default 600), WGLAB_KEEP=1 keeps the work dir.

AP_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lab/lib.sh
. "$AP_REPO/scripts/lab/lib.sh"

WGAGENT_BIN=${WGAGENT_BIN:-$AP_REPO/.build/release/wgagent}
APPLY_LAN_ACCESS=${APPLY_LAN_ACCESS:-masquerade}
APPLY_TIMEOUT=${APPLY_TIMEOUT:-600}
AP_VM=site
AP_HUB_IF="wgp$$"
AP_HUB_ADDR=192.0.2.1
AP_SITE_ADDR=192.0.2.2
AP_HUB_LINK=198.51.100.1
AP_SITE_LINK=198.51.100.2
AP_UPLINK=uplink0
AP_PORT=51820
AP_RC=0           # exit status of the last ap_run
AP_OUT=""         # stdout of the last ap_run
AP_JSON=""        # its JSON object, normalized (file)

# jq on the last run's JSON; prints "" when it is not there.
ap_jq() { [ -s "$AP_JSON" ] && jq -r "$@" "$AP_JSON" 2>/dev/null; }

# ap_run LABEL apply|plan [EXTRA ARGS…] — run wgagent in the VM with the site-gateway variables and --json.
ap_run() {
  local label=$1 verb=$2; shift 2
  local base="$LAB_DIR/$label"
  local t0=$SECONDS
  AP_RC=0
  lab_vm_exec "$AP_VM" timeout "$APPLY_TIMEOUT" /usr/local/bin/wgagent "$verb" --profile site-gateway \
    --var "address=$AP_SITE_ADDR/24" --var "hub_endpoint=$AP_HUB_LINK:$AP_PORT" \
    --var "hub_public_key=$AP_HUB_PUB" --var "lan_access=$APPLY_LAN_ACCESS" \
    "${AP_EXTRA_VARS[@]}" "$@" --json >"$base.out" 2>"$base.err" || AP_RC=$?
  AP_OUT="$base.out"
  AP_JSON="$base.json"
  rm -f "$AP_JSON"
  if ! lab_json_extract "$base.out" "$AP_JSON" '{' 2>"$base.jsonerr"; then
    lab_info "wgagent $verb ($label): exit $AP_RC after $((SECONDS - t0)) s, no JSON on stdout ($(cat "$base.jsonerr"))"
    tail -n 20 "$base.err" | sed 's/^/          | /' >&2
    return 0
  fi
  lab_info "wgagent $verb ($label): exit $AP_RC after $((SECONDS - t0)) s: changed $(ap_jq .changed), ok $(ap_jq .ok), failed $(ap_jq .failed)"
  ap_jq '.resources[] | "          \(.status) \(.name): \(.reason) \((.changes // []) | length) change(s)"' || true
  if [ "$AP_RC" -ne 0 ]; then
    tail -n 20 "$base.err" | sed 's/^/          | /' >&2
    ap_jq '.resources[] | select(.status == "failed") | "          FAILED \(.name): \(.reason) \(.error // "")"' >&2 || true
  fi
}

ap_key_sha() { lab_vm_exec "$AP_VM" sha256sum /etc/wireguard/wg0.key 2>/dev/null | cut -d' ' -f1; }

ap_expect_key() {   # ap_expect_key TEXT — the key file's sha256 is still $AP_KEY_SHA (and not empty)
  local now; now=$(ap_key_sha)
  if [ -n "$AP_KEY_SHA" ] && [ "$now" = "$AP_KEY_SHA" ]; then lab_ok "$1 (sha256 ${now:0:12}…)"
  else lab_bad "$1: was '${AP_KEY_SHA:-missing}', now '${now:-missing}'"; fi
}

# ap_hub_peer — hub and site namespaces linked (site default via the hub), wireguard-go $AP_HUB_IF up in the
# hub namespace with a fresh key ($AP_HUB_PUB) on $AP_PORT. Shared by the apply and doctor tests.
ap_hub_peer() {
  lab_step "hub peer namespace: wireguard-go $AP_HUB_IF $AP_HUB_ADDR/24 listening on $AP_PORT"
  lab_netns hub
  lab_netns site
  lab_link hub hubveth "$AP_HUB_LINK/24" site "$AP_UPLINK" "$AP_SITE_LINK/24"
  lab_route site default via "$AP_HUB_LINK"
  lab_hub_peer "$AP_HUB_IF" "$AP_HUB_ADDR/24" "$AP_PORT"
  AP_HUB_PUB=$LAB_HUB_PUB
}

# ap_hub_learns_site — the hub peer gets the site's key (wg0.pub, in $AP_SITE_PUB) for $AP_SITE_ADDR/32.
ap_hub_learns_site() {
  [ -n "$AP_SITE_PUB" ] || lab_fail "no site public key (/etc/wireguard/wg0.pub): cannot configure the hub"
  lab_hub_wg set "$AP_HUB_IF" peer "$AP_SITE_PUB" allowed-ips "$AP_SITE_ADDR/32" || lab_bad "wg set peer on the hub"
}

# ------------------------------------------------------------------ the steps of the apply tests
hub_peer() {
  ap_hub_peer
  lab_check "hub interface $AP_HUB_IF listens on $AP_PORT" \
    test "$(lab_hub_wg show "$AP_HUB_IF" listen-port)" = "$AP_PORT"
}

site_vm() {
  lab_step "boot the $AP_KIND VM in its namespace, copy the agent in"
  lab_agent_vm "$AP_VM" "$AP_KIND" site
  lab_info "agent's shared libraries: $(lab_vm_exec "$AP_VM" ldd /usr/local/bin/wgagent 2>&1 | awk '/=>|ld-linux/ {print $1}' | tr '\n' ' ')"
  lab_check "VM has no kernel WireGuard (the agent must bring wireguard-go)" \
    lab_vm_sh "$AP_VM" '! test -e /sys/module/wireguard'
}

admin_ssh_key() {
  if command -v ssh-keygen >/dev/null; then
    ssh-keygen -q -t ed25519 -N '' -C wglab-admin -f "$LAB_DIR/admin_ed25519" </dev/null
    AP_EXTRA_VARS+=(--var "admin_ssh_key=$(cat "$LAB_DIR/admin_ed25519.pub")")
  else
    lab_info "no ssh-keygen on the host: admin_ssh_key not exercised"
  fi
}

apply_killed_half_way() {
  lab_step "an apply killed half way: wgagent and its apt/dpkg children get SIGKILL ${AP_KILL_AFTER:-4} s in"
  local v="--var address=$AP_SITE_ADDR/24 --var hub_endpoint=$AP_HUB_LINK:$AP_PORT --var hub_public_key=$AP_HUB_PUB"
  # setsid: wgagent leads its own process group, so the kill takes dpkg down mid-install too (a power cut).
  lab_vm_sh "$AP_VM" "setsid /usr/local/bin/wgagent apply --profile site-gateway $v >/var/log/wgagent-killed.log 2>&1 &
    pid=\$!; sleep ${AP_KILL_AFTER:-4}; kill -9 -\$pid 2>/dev/null; kill -9 \$pid 2>/dev/null; exit 0"
  lab_info "killed; its output so far: $(lab_vm_exec "$AP_VM" tail -n 3 /var/log/wgagent-killed.log 2>/dev/null | tr '\n' ' ' | cut -c1-200)"
}

first_apply() {
  lab_step "first full apply after the kill (installs packages offline from the image's apt cache)"
  ap_run apply1 apply
  lab_expect "apply exits 0" 0 "$AP_RC"
  lab_expect "apply reports failed 0" 0 "$(ap_jq .failed)"
  local changed1; changed1=$(ap_jq .changed)
  lab_check "first apply changed something (changed=$changed1)" test "${changed1:-0}" -gt 0
  AP_KEY_SHA=$(ap_key_sha)
  lab_check "key file /etc/wireguard/wg0.key exists" test -n "$AP_KEY_SHA"
}

vm_as_its_tools_see_it() {
  lab_step "the VM as its own tools see it"
  lab_check "id wgadmin" lab_vm_exec "$AP_VM" id wgadmin
  local groups; groups=$(lab_vm_exec "$AP_VM" id -nG wgadmin 2>/dev/null)
  lab_check "wgadmin is in sudo (groups: $groups)" grep -qwE 'sudo|wheel' <<<"$groups"
  if [ ${#AP_EXTRA_VARS[@]} -gt 0 ]; then
    lab_check "wgadmin's authorized_keys has the admin key" \
      lab_vm_sh "$AP_VM" "grep -qF '$(cut -d' ' -f2 "$LAB_DIR/admin_ed25519.pub")' ~wgadmin/.ssh/authorized_keys"
  fi
  lab_expect "/etc/wireguard mode" 700 "$(lab_vm_exec "$AP_VM" stat -c %a /etc/wireguard 2>&1)"
  lab_expect "wg0.key mode" 600 "$(lab_vm_exec "$AP_VM" stat -c %a /etc/wireguard/wg0.key 2>&1)"
  lab_expect "wg0.conf mode" 600 "$(lab_vm_exec "$AP_VM" stat -c %a /etc/wireguard/wg0.conf 2>&1)"
  AP_SITE_PUB=$(lab_vm_exec "$AP_VM" cat /etc/wireguard/wg0.pub 2>/dev/null)
  lab_expect "wg0.pub matches wg0.key (wg pubkey)" "$AP_SITE_PUB" \
    "$(lab_vm_sh "$AP_VM" 'wg pubkey </etc/wireguard/wg0.key' 2>&1)"
  lab_expect "sysctl -n net.ipv4.ip_forward" 1 "$(lab_vm_exec "$AP_VM" sysctl -n net.ipv4.ip_forward 2>&1)"
  local ufw; ufw=$(lab_vm_exec "$AP_VM" ufw status verbose 2>&1)
  printf '%s\n' "$ufw" >"$LAB_DIR/ufw-status.txt"
  lab_check "ufw: Status: active" grep -q '^Status: active' <<<"$ufw"
  lab_check "ufw: deny (incoming), allow (outgoing)" grep -qE '^Default: deny \(incoming\), allow \(outgoing\)' <<<"$ufw"
  lab_check "ufw: 22/tcp allowed in" grep -qE '^(22/tcp|22|OpenSSH) +ALLOW IN' <<<"$ufw"
  lab_check "ufw: $AP_PORT/udp allowed in" grep -qE "^$AP_PORT/udp +ALLOW IN" <<<"$ufw"
  case $AP_KIND in
    systemd)
      lab_expect "systemctl is-enabled wg-quick@wg0" enabled "$(lab_vm_exec "$AP_VM" systemctl is-enabled wg-quick@wg0 2>&1)"
      lab_expect "systemctl is-active wg-quick@wg0" active "$(lab_vm_exec "$AP_VM" systemctl is-active wg-quick@wg0 2>&1)"
      ;;
    openrc)
      lab_check "rc-update show default lists wg-quick.wg0" \
        lab_vm_sh "$AP_VM" 'rc-update show default | grep -q "wg-quick.wg0"'
      lab_check "rc-service wg-quick.wg0 status" lab_vm_exec "$AP_VM" rc-service wg-quick.wg0 status
      ;;
  esac
  lab_check "wg show wg0" lab_vm_exec "$AP_VM" wg show wg0
  lab_expect "wg0 listens on $AP_PORT" "$AP_PORT" "$(lab_vm_exec "$AP_VM" wg show wg0 listen-port 2>&1)"
  lab_expect "wg0's peer is the hub" "$AP_HUB_PUB" "$(lab_vm_exec "$AP_VM" wg show wg0 peers 2>&1)"
  lab_expect "wg0's public key is wg0.pub" "$AP_SITE_PUB" "$(lab_vm_exec "$AP_VM" wg show wg0 public-key 2>&1)"
  lab_check "wg0 has $AP_SITE_ADDR/24" lab_vm_sh "$AP_VM" "ip -o addr show dev wg0 | grep -q ' $AP_SITE_ADDR/24 '"
  if [ "$APPLY_LAN_ACCESS" = masquerade ]; then
    lab_check "NAT: MASQUERADE out of the real egress interface $AP_UPLINK" \
      lab_vm_sh "$AP_VM" "iptables -t nat -S | grep -- '-o $AP_UPLINK' | grep -q MASQUERADE"
  fi
}

second_apply_changes_nothing() {
  lab_step "second apply changes nothing"
  ap_run apply2 apply
  lab_expect "second apply exits 0" 0 "$AP_RC"
  lab_expect "second apply: changed" 0 "$(ap_jq .changed)"
  lab_expect "second apply: failed" 0 "$(ap_jq .failed)"
  ap_expect_key "key unchanged after the second apply"
  ap_run plan0 plan
  lab_expect "plan on the provisioned VM: exit 0" 0 "$AP_RC"
  lab_expect "plan on the provisioned VM: changes over all resources" 0 "$(ap_jq '[.resources[] | (.changes // []) | length] | add')"
}

ap_ping_hub() { lab_vm_exec "$AP_VM" ping -c 1 -W 1 -q "$AP_HUB_ADDR" >/dev/null 2>&1; }   # traffic triggers a handshake

tunnel_both_ways() {
  lab_step "tunnel: the hub learns the site's key, handshake, pings both ways"
  ap_hub_learns_site
  lab_vm_ensure_ping "$AP_VM"
  local hs
  hs=$(lab_wait_handshake 30 ap_ping_hub "$AP_HUB_PUB" lab_vm_exec "$AP_VM" wg show wg0)
  lab_check "handshake with the hub (latest-handshake $hs)" test -n "$hs" -a "$hs" != 0
  lab_check "VM: ping -c 3 $AP_HUB_ADDR" lab_vm_exec "$AP_VM" ping -c 3 -W 2 "$AP_HUB_ADDR"
  lab_check "hub: ping -c 3 $AP_SITE_ADDR" lab_ns_exec hub ping -c 3 -W 2 "$AP_SITE_ADDR"
}

drift_shows_in_plan() {
  lab_step "drift: ip_forward=0, plan shows exactly one change, on sysctl"
  lab_vm_exec "$AP_VM" sysctl -w net.ipv4.ip_forward=0 >/dev/null 2>&1 || lab_bad "sysctl -w net.ipv4.ip_forward=0"
  ap_run plan1 plan
  lab_info "plan exit status $AP_RC"
  lab_expect "plan: changes over all resources" 1 "$(ap_jq '[.resources[] | (.changes // []) | length] | add')"
  lab_expect "plan: the resource with changes" sysctl "$(ap_jq '[.resources[] | select(((.changes // []) | length) > 0) | .name] | join(",")')"
  lab_expect "plan changed nothing (ip_forward still 0)" 0 "$(lab_vm_exec "$AP_VM" sysctl -n net.ipv4.ip_forward 2>&1)"
  ap_expect_key "key unchanged after plan"
}

apply_repairs_drift() {
  lab_step "apply repairs the drift"
  ap_run apply3 apply
  lab_expect "third apply exits 0" 0 "$AP_RC"
  lab_expect "third apply: changed" 1 "$(ap_jq .changed)"
  lab_expect "ip_forward back to 1" 1 "$(lab_vm_exec "$AP_VM" sysctl -n net.ipv4.ip_forward 2>&1)"
  ap_expect_key "key unchanged after the third apply"
  lab_check "tunnel still up: VM pings $AP_HUB_ADDR" lab_vm_exec "$AP_VM" ping -c 1 -W 2 "$AP_HUB_ADDR"
}

stop() {
  lab_step "stop"
  lab_vm_stop "$AP_VM"
}

# ap_main KIND — the whole apply test for systemd|openrc, step by step.
ap_main() {
  AP_KIND=$1
  lab_require_root_and_tools wg wireguard-go jq python3 ping sha256sum
  lab_require_binary wgagent "$WGAGENT_BIN" WGAGENT_BIN
  lab_init
  AP_EXTRA_VARS=()
  hub_peer
  site_vm
  admin_ssh_key
  apply_killed_half_way
  first_apply
  vm_as_its_tools_see_it
  second_apply_changes_nothing
  tunnel_both_ways
  drift_shows_in_plan
  apply_repairs_drift
  stop
  lab_summary
}
