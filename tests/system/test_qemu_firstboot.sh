#!/usr/bin/env bash
# Proxmox for real (issue #9): a stock Debian cloud image — kernel, cloud-init, curl; no agent, no wireguard-tools,
# no qemu-guest-agent — boots in a real QEMU VM with nothing but a cloud-init drive holding the user-data
# `wghub token create --cloud-init` printed, and becomes an online site of the lab's hub on the kernel's WireGuard.
# Then: the guest agent answers the host, a reboot keeps the site, a clone (new SMBIOS UUID and instance-id) ends
# with its own key and address while the original keeps reporting. Bounded waits; everything removed on exit.
#
#   hub VM (nspawn, netns hub)      router (netns router)                     LAN (bridge br0 on the router)
#   eth0 203.0.113.1/24  --------   wan0 203.0.113.2/24  NAT (a home router)  br0 198.51.100.1/24 --+-- QEMU site (tap) 198.51.100.2
#   wg0 192.0.2.1/24, wghub :8443                                                                   +-- LAN host 198.51.100.3
#   (serves the agent it ships with)                                                                +-- QEMU clone (tap) 198.51.100.4
#
# The site's link is a poor one while it fetches the agent (issue #17): the router shapes the LAN side to 1 Mbit/s
# (tc tbf), drops all of the site's traffic for 20 s in the middle of the download, then resets its connection to the
# hub; the bootstrap still gets the agent (gzip on the wire; the cut download resumes, not started over) and enrolls.
#
# Needs root. Env: WGHUB_BIN / WGAGENT_BIN (default REPO/.build/release/…), QEMU_ACCEL (kvm|tcg: skip the probe),
# QF_REPORT_INTERVAL (s, default 5), QF_CLOUD_INIT_TIMEOUT (s, default 900), WGLAB_KEEP=1 keeps the work dir.
set -uo pipefail

QF_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lab/lib.sh
. "$QF_REPO/scripts/lab/lib.sh"
# shellcheck source=../../scripts/lab/qemu.sh
. "$QF_REPO/scripts/lab/qemu.sh"
# shellcheck source=lab_hub.sh
. "$QF_REPO/tests/system/lab_hub.sh"

WGHUB_BIN=${WGHUB_BIN:-$QF_REPO/.build/release/wghub}
WGAGENT_BIN=${WGAGENT_BIN:-$QF_REPO/.build/release/wgagent}
QF_REPORT_INTERVAL=${QF_REPORT_INTERVAL:-5}
QF_CLOUD_INIT_TIMEOUT=${QF_CLOUD_INIT_TIMEOUT:-900}
QF_LINK_RATE=${QF_LINK_RATE:-1mbit}
QF_OUTAGE=${QF_OUTAGE:-20}
CLONE_LAN=198.51.100.4
FINISHED_RE='Cloud-init v\. [^ ]+ finished at'
declare -A QF_FIG=()

qf_now() { date +%s.%N; }
qf_since() { echo "$(qf_now) - $1" | bc | xargs printf '%.1f'; }
qf_lower() { tr '[:upper:]' '[:lower:]'; }
qf_site_field() { e2e_api "/v1/sites/$1" 2>/dev/null | jq -r "$2 // empty" 2>/dev/null; }

# Power-on -> cloud-init's final line on this boot's serial console, then the guest agent (installed by wgagent).
qf_wait_cloud_init() {   # qf_wait_cloud_init VM FIGURE
  local vm=$1 fig=$2
  if qemu_wait_serial "$vm" "$FINISHED_RE" "$QF_CLOUD_INIT_TIMEOUT"; then
    QF_FIG[$fig]=$(qf_since "${QEMU_VM_T0[$vm]}")
    lab_ok "$vm: cloud-init finished ${QF_FIG[$fig]} s after power-on"
  else
    tail -n 40 "$(qemu_vm_serial "$vm")" | e2e_show >&2
    lab_fail "$vm: cloud-init did not finish within $QF_CLOUD_INIT_TIMEOUT s (serial: $(qemu_vm_serial "$vm"))"
  fi
  qemu_wait_agent "$vm" 180 || { tail -n 40 "$(qemu_vm_serial "$vm")" | e2e_show >&2; lab_fail "$vm: no guest agent answers guest-ping"; }
}

qf_cloud_init_clean() {   # qf_cloud_init_clean VM -- done, no errors, the user-data valid by cloud-init's own schema
  local vm=$1 out
  out=$(qemu_vm_exec "$vm" cloud-init status --long 2>&1)
  lab_check "$vm: cloud-init status --long: done" grep -q '^status: done' <<<"$out" || e2e_show <<<"$out" >&2
  lab_expect "$vm: cloud-init result.json lists no errors" "0" \
    "$(qemu_vm_exec "$vm" python3 -c 'import json; print(len(json.load(open("/run/cloud-init/result.json"))["v1"]["errors"]))')"
}

# The hub's handshake time with a key (0: none yet), waited for (bounded) to be newer than AFTER.
qf_wait_handshake() {   # qf_wait_handshake KEY AFTER TRIES
  local key=$1 after=$2 tries=$3 hs i
  for ((i = 0; i < tries; i++)); do
    hs=$(lab_vm_exec hub wg show wg0 latest-handshakes 2>/dev/null | awk -v k="$key" '$1 == k { print $2 }')
    [ -n "$hs" ] && [ "$hs" -gt "$after" ] && { echo "$hs"; return 0; }
    sleep 1
  done
  echo "${hs:-0}"; return 1
}

# Wait (bounded) until the hub has a report of site ID with a sequence number above SEQ; prints it.
qf_wait_report() {   # qf_wait_report ID SEQ TRIES
  local seq i
  for ((i = 0; i < $3; i++)); do
    seq=$(qf_site_field "$1" .last_seq)
    [ -n "$seq" ] && [ "$seq" -gt "$2" ] && { echo "$seq"; return 0; }
    sleep 2
  done
  echo "${seq:-0}"; return 1
}

# ------------------------------------------------------------------ the steps
cloud_image() {
  lab_step "a stock Debian bookworm cloud image (built once, cached) and the accelerator"
  local t0=$SECONDS
  qemu_image
  lab_ok "image ready in $((SECONDS - t0)) s: $QEMU_IMAGE_DIR"
  local absent
  absent=$(awk '$1 ~ /^(wgagent|wireguard-tools|wireguard-go|qemu-guest-agent)$/' "$QEMU_IMAGE_DIR/packages")
  lab_expect "image: no wgagent, wireguard-tools, wireguard-go or qemu-guest-agent installed" "" "$absent"
  QEMU_ACCEL=$(qemu_pick_accel)
  lab_info "QEMU uses $QEMU_ACCEL (-smp $QEMU_SMP -m $QEMU_MEM)"
}

hub_ships_agent() {
  lab_step "the hub serves the agent it ships with (GET /v1/agent, pinned HTTPS)"
  lab_check "wghub found the agent beside it" lab_vm_exec hub grep -qE '^agent +[^ ]+ \(x86_64 sha256 ' /var/log/wghub.log
  AGENT_SHA=$(e2e_api /v1/agent | jq -r '.architectures.x86_64.sha256 // empty')
  lab_expect "GET /v1/agent: the SHA-256 of the binary the hub VM has" "$(sha256sum "$WGAGENT_BIN" | cut -d' ' -f1)" "$AGENT_SHA"
}

# The user-data an admin pastes into Proxmox (`qm set VMID --cicustom user=…`): fetch, verify, install, enroll.
stock_user_data() {   # stock_user_data FILE NAME
  lab_vm_exec hub wghub token create --data "$HUB_DATA" --uses 1 --name "$2" --lan "$LAN_NET" --cloud-init \
    --var "report_interval=$QF_REPORT_INTERVAL" >"$1" 2>"$LAB_DIR/token-$2.err" \
    || { cat "$LAB_DIR/token-$2.err" >&2; lab_fail "wghub token create --cloud-init (for $2)"; }
  lab_info "$(cat "$LAB_DIR/token-$2.err")"
  lab_check "user-data for $2: #cloud-config with the bootstrap script and one argv runcmd" \
    sh -c "head -n1 '$1' | grep -qx '#cloud-config' && grep -q '/usr/local/sbin/wgagent-bootstrap' '$1' && grep -q '^runcmd:' '$1'"
}

power_on_site() {
  lab_step "site: power on a VM of the stock image with its cloud-init drive (cidata: user-data, meta-data, network-config)"
  stock_user_data "$LAB_DIR/user-data-site" "$SITE_NAME"
  SITE_UUID=$(cat /proc/sys/kernel/random/uuid)
  qemu_seed_iso "$LAB_DIR/seed-site.iso" "$LAB_DIR/user-data-site" iid-site-1 "$SITE_NAME" "$SITE_LAN/24" "$LAN_GW"
  qemu_vm_boot site router br0 "$LAB_DIR/seed-site.iso" "$SITE_UUID"
  QF_T0=${QEMU_VM_T0[site]}
}

qf_metric() { e2e_api /metrics 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }'; }

slow_link() {
  lab_step "the site's link: $QF_LINK_RATE towards the LAN (tc tbf on the router's br0), as a rural DSL line or an LTE backup"
  lab_check "router: tbf $QF_LINK_RATE on br0" e2e_router tc qdisc add dev br0 root tbf rate "$QF_LINK_RATE" burst 16kb latency 400ms
  AGENT_GZ=$(e2e_api /v1/agent | jq -r '.architectures.x86_64.gzip_size // empty')
  lab_check "hub: the agent is served gzip-compressed too (${AGENT_GZ:-?} bytes of $(stat -c %s "$WGAGENT_BIN"))" test -n "$AGENT_GZ"
}

# While the bootstrap downloads: once 40 % of the agent has gone out, the router drops all of the site's traffic
# for QF_OUTAGE s; then the link comes back and the download must finish without starting over.
outage_mid_download() {
  lab_step "site: the link drops for $QF_OUTAGE s in the middle of the agent's download, later its connection is reset"
  local i sent=0 t0 done_at
  for ((i = 0; i < QF_CLOUD_INIT_TIMEOUT; i++)); do
    sent=$(qf_metric wghub_agent_download_bytes_total)
    [ "${sent:-0}" -gt $((AGENT_GZ * 4 / 10)) ] && break
    sleep 1
  done
  lab_check "hub: the download is under way (${sent:-0} of $AGENT_GZ bytes sent)" test "${sent:-0}" -gt $((AGENT_GZ * 4 / 10))
  e2e_router iptables -I FORWARD 1 -d "$SITE_LAN" -j DROP
  e2e_router iptables -I FORWARD 1 -s "$SITE_LAN" -j DROP
  lab_info "router: all of $SITE_LAN's traffic dropped"
  sleep "$QF_OUTAGE"
  e2e_router iptables -D FORWARD -d "$SITE_LAN" -j DROP
  e2e_router iptables -D FORWARD -s "$SITE_LAN" -j DROP
  lab_info "router: the link is back after $QF_OUTAGE s ($(qf_metric wghub_agent_download_bytes_total) bytes sent so far)"
  # TCP outlives a short outage; a new uplink address (an LTE modem reconnecting) does not: the router answers the
  # site's HTTPS with resets for 3 s once 70 % is sent, so curl's connection dies and the bootstrap must resume it.
  for ((i = 0; i < 300; i++)); do
    sent=$(qf_metric wghub_agent_download_bytes_total)
    [ "${sent:-0}" -gt $((AGENT_GZ * 7 / 10)) ] && break
    sleep 0.5
  done
  if [ "$(qf_metric wghub_agent_downloads_completed_total)" = 0 ]; then
    e2e_router iptables -I FORWARD 1 -s "$SITE_LAN" -p tcp --dport 8443 -j REJECT --reject-with tcp-reset
    e2e_router iptables -I FORWARD 1 -d "$SITE_LAN" -p tcp --sport 8443 -j REJECT --reject-with tcp-reset
    lab_info "router: the site's connection to the hub reset at ${sent:-0} bytes (an uplink that changed its address)"
    sleep 3
    e2e_router iptables -D FORWARD -s "$SITE_LAN" -p tcp --dport 8443 -j REJECT --reject-with tcp-reset
    e2e_router iptables -D FORWARD -d "$SITE_LAN" -p tcp --sport 8443 -j REJECT --reject-with tcp-reset
  else
    lab_bad "the download finished before its connection could be reset (the link is faster than this step assumes)"
  fi
  t0=$SECONDS
  for ((i = 0; i < 600; i++)); do
    [ "$(qf_metric wghub_agent_downloads_completed_total)" -ge 1 ] 2>/dev/null && break
    sleep 1
  done
  done_at=$(qf_since "$QF_T0")
  local total resumed
  total=$(qf_metric wghub_agent_download_bytes_total); resumed=$(qf_metric wghub_agent_downloads_resumed_total)
  lab_check "hub: the agent's last byte went out ($((SECONDS - t0)) s after the link came back)" \
    test "$(qf_metric wghub_agent_downloads_completed_total)" -ge 1
  lab_check "hub: resumed, not started over: $total bytes sent for a $AGENT_GZ-byte download (resumed requests: ${resumed:-0})" \
    test "${total:-0}" -lt $((AGENT_GZ * 3 / 2)) -a "${resumed:-0}" -ge 1
  QF_FIG[agent]=$done_at
  e2e_router tc qdisc del dev br0 root && lab_info "router: the link at full speed again (the packages the agent installs come from the hub VM)"
}

site_first_boot() {
  lab_step "site: first boot — cloud-init fetches the agent from the hub, checks it, installs it, enrolls"
  outage_mid_download
  qf_wait_cloud_init site first_boot
  qf_cloud_init_clean site
  lab_check "site: cloud-init schema calls the user-data valid" qemu_vm_exec site cloud-init schema --system
  lab_expect "site: the agent installed is the hub's (SHA-256)" "$AGENT_SHA" \
    "$(qemu_vm_exec site sha256sum /usr/local/bin/wgagent | cut -d' ' -f1)"
  lab_expect "site: /usr/local/bin/wgagent mode" 755 "$(qemu_vm_exec site stat -c %a /usr/local/bin/wgagent)"
  local downloads; downloads=$(e2e_api /metrics | awk '$1 == "wghub_agent_downloads_total" { print $2 }')
  lab_check "hub: it counted the download (wghub_agent_downloads_total ${downloads:-none})" test "${downloads:-0}" -ge 1
  SITE_ENROLLMENT=$(qemu_vm_exec site cat /var/lib/wgagent/enrollment.json)
  SITE_ID=$(jq -r '.site_id' <<<"$SITE_ENROLLMENT")
  SITE_ADDR=$(jq -r '.address' <<<"$SITE_ENROLLMENT" | cut -d/ -f1)
  SITE_PUB=$(jq -r '.public_key' <<<"$SITE_ENROLLMENT")
  lab_check "site: enrolled as site ${SITE_ID:-?}, tunnel address ${SITE_ADDR:-?}" test -n "$SITE_ID" -a "$SITE_ID" != null
  lab_expect "site: the enrollment names this machine (DMI product UUID)" "$SITE_UUID" \
    "$(jq -r '.machine.product_uuid' <<<"$SITE_ENROLLMENT")"
}

kernel_wireguard_and_guest_agent() {
  lab_step "site: the kernel's WireGuard (no wireguard-go), and qemu-guest-agent answering the host"
  lab_check "site: ip -d link show wg0 says wireguard" qemu_vm_sh site 'ip -d link show wg0 | grep -qw wireguard'
  lab_check "site: no wireguard-go process, the package not installed" \
    qemu_vm_sh site '! pgrep -x wireguard-go && ! dpkg-query -W -f="\${db:Status-Abbrev}" wireguard-go 2>/dev/null | grep -q ii'
  lab_check "site: the wireguard module is loaded" qemu_vm_sh site 'test -d /sys/module/wireguard'
  lab_check "host: guest-ping answers on the VM's virtio-serial socket" qemu_qga site '{"execute":"guest-ping"}'
  local osinfo
  osinfo=$(qemu_qga site '{"execute":"guest-get-osinfo"}')
  lab_expect "host: guest-get-osinfo: Debian 12" "debian 12" "$(jq -r '"\(.id) \(."version-id")"' <<<"$osinfo" 2>&1)"
  lab_expect "site: qemu-guest-agent active" active "$(qemu_vm_exec site systemctl is-active qemu-guest-agent)"
  local virt; virt=$(qemu_vm_exec site systemd-detect-virt)
  case $virt in qemu|kvm) lab_ok "site: systemd-detect-virt = $virt" ;; *) lab_bad "site: systemd-detect-virt: '$virt'" ;; esac
}

tunnel_and_pings() {
  lab_step "tunnel: handshake, then pings hub <-> site <-> LAN host"
  local hs
  hs=$(qf_wait_handshake "$SITE_PUB" 0 90)
  lab_check "hub: handshake with the site's key (latest-handshake $hs)" test "$hs" -gt 0
  lab_check "site -> hub: ping $HUB_TUN through the tunnel" qemu_vm_exec site ping -c 2 -W 3 "$HUB_TUN"
  lab_check "hub -> site: ping $SITE_ADDR through the tunnel" lab_ns_exec hub ping -c 3 -W 3 "$SITE_ADDR"
  lab_check "site -> LAN host: ping $LANHOST" qemu_vm_exec site ping -c 2 -W 3 "$LANHOST"
  lab_check "LAN host -> site: ping $SITE_LAN" lab_ns_exec lan ping -c 2 -W 3 "$SITE_LAN"
  lab_check "hub -> LAN host: ping $LANHOST through the tunnel and the site" lab_ns_exec hub ping -c 3 -W 3 "$LANHOST"
}

site_online_on_hub() {
  lab_step "the hub shows the site online (its reports arrive)"
  local i status=""
  for ((i = 0; i < 90; i++)); do
    status=$(qf_site_field "$SITE_ID" .status)
    [ "$status" = online ] && break
    sleep 2
  done
  QF_FIG[online]=$(qf_since "$QF_T0")
  lab_expect "hub: site $SITE_ID is online (${QF_FIG[online]} s after power-on)" online "$status"
  e2e_api / >"$LAB_DIR/dashboard.html" 2>&1
  lab_check "hub dashboard: the site by name" grep -qF "$SITE_NAME" "$LAB_DIR/dashboard.html"
  SITE_SEQ=$(qf_site_field "$SITE_ID" .last_seq)
}

reboot_keeps_site() {
  lab_step "site: reboot (qm reboot) — the tunnel comes back, the reporter reports, cloud-init does not enroll again"
  local before_hs enrolled_at
  before_hs=$(qf_wait_handshake "$SITE_PUB" 0 1)
  enrolled_at=$(jq -r '.enrolled_at' <<<"$SITE_ENROLLMENT")
  qemu_vm_reboot site
  qemu_wait_agent site 300 || lab_fail "site: no guest agent after the reboot"
  QF_FIG[reboot]=$(qf_since "${QEMU_VM_T0[site]}")
  lab_ok "site: back, the guest agent answers (${QF_FIG[reboot]} s after power-on)"
  local hs seq
  hs=$(qf_wait_handshake "$SITE_PUB" "$before_hs" 120)
  lab_check "hub: a new handshake with the same key after the reboot" test "$hs" -gt "$before_hs"
  seq=$(qf_wait_report "$SITE_ID" "$SITE_SEQ" 90)
  lab_check "hub: reports after the reboot (last_seq $SITE_SEQ -> $seq)" test "$seq" -gt "$SITE_SEQ"
  lab_expect "site: the same enrollment (enrolled_at)" "$enrolled_at" \
    "$(qemu_vm_exec site cat /var/lib/wgagent/enrollment.json | jq -r '.enrolled_at')"
  lab_expect "hub: still one site" 1 "$(e2e_api /v1/sites | jq '[.[]? // .sites[]?] | length')"
  lab_check "site: runcmd did not run again (the bootstrap ran on one boot only)" \
    qemu_vm_sh site 'test "$(grep -c "wgagent-bootstrap: " /var/log/cloud-init-output.log)" -ge 1 && test "$(ls /var/lib/cloud/instances | wc -l)" = 1'
  lab_check "hub -> LAN host after the reboot" lab_ns_exec hub ping -c 3 -W 3 "$LANHOST"
  SITE_SEQ=$(qf_site_field "$SITE_ID" .last_seq)
}

clone_gets_its_own_identity() {
  lab_step "clone: a Proxmox clone of the site (same disk; new SMBIOS UUID, its own cloud-init drive and token)"
  qemu_vm_stop site && lab_ok "site: clean shutdown" || lab_bad "site: no clean shutdown"
  stock_user_data "$LAB_DIR/user-data-clone" branch-office-2
  CLONE_UUID=$(cat /proc/sys/kernel/random/uuid)
  qemu_seed_iso "$LAB_DIR/seed-clone.iso" "$LAB_DIR/user-data-clone" iid-clone-1 branch-office-2 "$CLONE_LAN/24" "$LAN_GW"
  qemu_clone clone site "$CLONE_UUID" "$LAB_DIR/seed-clone.iso"
  qemu_vm_start site
  qf_wait_cloud_init clone clone
  qemu_wait_agent site 300 || lab_fail "site: no guest agent after its restart"
  qf_cloud_init_clean clone
  local e
  e=$(qemu_vm_exec clone cat /var/lib/wgagent/enrollment.json)
  local cid caddr cpub
  cid=$(jq -r '.site_id' <<<"$e"); caddr=$(jq -r '.address' <<<"$e" | cut -d/ -f1); cpub=$(jq -r '.public_key' <<<"$e")
  lab_check "clone: enrolled as a site of its own ($cid, not $SITE_ID)" test -n "$cid" -a "$cid" != null -a "$cid" != "$SITE_ID"
  lab_check "clone: its own key and address ($caddr)" test "$cpub" != "$SITE_PUB" -a "$caddr" != "$SITE_ADDR" -a -n "$caddr"
  lab_expect "clone: its enrollment names its machine" "$CLONE_UUID" "$(jq -r '.machine.product_uuid' <<<"$e")"
  lab_check "clone: the original's key is set aside (0600), not used" \
    qemu_vm_sh clone "test \"\$(stat -c %a /etc/wireguard/wg0.key.original-site-$SITE_ID)\" = 600 && ! grep -qF \"\$(cat /etc/wireguard/wg0.key.original-site-$SITE_ID)\" /etc/wireguard/wg0.key"
  lab_expect "hub: two sites" 2 "$(e2e_api /v1/sites | jq '[.[]? // .sites[]?] | length')"
  lab_expect "hub: the original keeps its key" "$SITE_PUB" "$(qf_site_field "$SITE_ID" .public_key)"
  lab_expect "hub: the original keeps its address" "$SITE_ADDR" "$(qf_site_field "$SITE_ID" .address)"
  local hs seq
  hs=$(qf_wait_handshake "$cpub" 0 120)
  lab_check "hub: handshake with the clone's own key" test "$hs" -gt 0
  lab_check "hub -> clone: ping $caddr through the tunnel" lab_ns_exec hub ping -c 3 -W 3 "$caddr"
  seq=$(qf_wait_report "$SITE_ID" "$SITE_SEQ" 120)
  lab_check "hub: the original still reports (last_seq $SITE_SEQ -> $seq)" test "$seq" -gt "$SITE_SEQ"
  lab_check "hub -> original: ping $SITE_ADDR through the tunnel" lab_ns_exec hub ping -c 3 -W 3 "$SITE_ADDR"
}

figures() {
  lab_step "figures ($QEMU_ACCEL)"
  # A benchmark line, not an assertion: under TCG on a busy 2-core machine these vary by a factor of two.
  lab_info "qemu-firstboot accel=$QEMU_ACCEL link=$QF_LINK_RATE outage=${QF_OUTAGE}s agent-on-the-wire=${AGENT_GZ:-?}B power-on->agent-downloaded=${QF_FIG[agent]:-?}s power-on->cloud-init-done=${QF_FIG[first_boot]:-?}s power-on->site-online=${QF_FIG[online]:-?}s reboot->agent=${QF_FIG[reboot]:-?}s clone->cloud-init-done=${QF_FIG[clone]:-?}s"
}

stop() {
  lab_step "stop"
  qemu_vm_stop clone; qemu_vm_stop site
  lab_vm_stop hub
}

main() {
  lab_require_root_and_tools wg jq curl python3 ping iptables conntrack bc tc
  qemu_require_tools
  lab_require_binary wghub "$WGHUB_BIN" WGHUB_BIN
  lab_require_binary wgagent "$WGAGENT_BIN" WGAGENT_BIN
  lab_init
  qemu_init
  cloud_image
  LAB_SITE_NS=0 home_network
  hub_vm
  hub_serves
  hub_ships_agent
  slow_link
  power_on_site
  site_first_boot
  kernel_wireguard_and_guest_agent
  tunnel_and_pings
  site_online_on_hub
  reboot_keeps_site
  clone_gets_its_own_identity
  figures
  stop
  lab_summary
}

main "$@"
