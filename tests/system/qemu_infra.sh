#!/usr/bin/env bash
# The real-VM lab (issue #9, "Proxmox for real"): proves scripts/lab/qemu-image.sh and scripts/lab/qemu.sh.
# A Debian bookworm cloud image (built once, cached) boots in QEMU as Proxmox runs it, on a LAN bridge behind
# the lab's NAT router, with a NoCloud `cidata` seed ISO (hand-written #cloud-config: write_files + argv
# runcmd that installs qemu-guest-agent and wireguard-tools offline from the image's apt cache). Then:
# cloud-init done without errors, QEMU/KVM virt, DMI, kernel WireGuard, the guest agent on the host socket,
# pings over the bridge, the NAT path out, a reboot (same instance-id: runcmd not re-run) and a Proxmox-style
# clone (new SMBIOS UUID and instance-id: runcmd re-run, the new product_uuid), and a fast reset of the clone
# (savevm, -loadvm: the agent answers at once, later writes gone). Everything is torn down on exit.
#
#   hub (netns hub)               router (netns router)                    LAN (bridge br0 in the router)
#   eth0 203.0.113.1/24 -------   wan0 203.0.113.2/24  MASQUERADE           br0 198.51.100.1/24 --+-- tap: vm1 198.51.100.10
#   http :8080 (python3)                                                                          +-- tap: vm2 198.51.100.11 (clone)
#                                                                                                 +-- lanpeer eth0 198.51.100.3
#
# Needs root. Env: QEMU_ACCEL (kvm|tcg, skip the probe), QEMU_BOOT_TIMEOUT, QEMU_EXEC_TIMEOUT,
# QI_CLOUD_INIT_TIMEOUT (s for cloud-init to finish, default 600), WGLAB_KEEP=1 keeps the work dir.
set -uo pipefail

QI_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_DIR=${LAB_DIR:-/var/tmp/wgqemu-$$}
# shellcheck source=../../scripts/lab/lib.sh
. "$QI_REPO/scripts/lab/lib.sh"
# shellcheck source=../../scripts/lab/qemu.sh
. "$QI_REPO/scripts/lab/qemu.sh"

QI_CLOUD_INIT_TIMEOUT=${QI_CLOUD_INIT_TIMEOUT:-600}
HUB=203.0.113.1
ROUTER_WAN=203.0.113.2
LAN_GW=198.51.100.1
LANPEER=198.51.100.3
VM1_ADDR=198.51.100.10
VM2_ADDR=198.51.100.11
FINISHED_RE='Cloud-init v\. [^ ]+ finished at'

qi_show() { sed 's/^/          | /' "$@"; }
qi_lower() { tr '[:upper:]' '[:lower:]'; }

# Wait for cloud-init's final message on this boot's serial console and the guest agent; record the figure.
declare -A QI_FIG=()
qi_wait_ready() {   # qi_wait_ready NAME LABEL
  local name=$1 label=$2 t_done
  if qemu_wait_serial "$name" "$FINISHED_RE" "$QI_CLOUD_INIT_TIMEOUT"; then
    t_done=$(date +%s.%N)
    QI_FIG[$label]=$(echo "$t_done - ${QEMU_VM_T0[$name]}" | bc | xargs printf '%.1f')
    local up; up=$(tail -c +"$((QEMU_VM_LOGOFF[$name] + 1))" "$(qemu_vm_serial "$name")" \
      | grep -aoE "$FINISHED_RE.*Up [0-9.]+ seconds" | grep -oE '[0-9.]+ seconds' | tail -n1)
    lab_ok "$name: cloud-init finished ${QI_FIG[$label]} s after power-on (guest uptime then: ${up:-?})"
  else
    tail -n 30 "$(qemu_vm_serial "$name")" | qi_show >&2
    lab_fail "$name: cloud-init did not finish within $QI_CLOUD_INIT_TIMEOUT s (serial $(qemu_vm_serial "$name"))"
  fi
  local t0=$SECONDS
  qemu_wait_agent "$name" 180 || lab_fail "$name: the guest agent does not answer guest-ping within 180 s"
  lab_ok "$name: guest agent answers guest-ping on the host socket (after $((SECONDS - t0)) s more)"
}

qi_cloud_init_clean() {   # qi_cloud_init_clean NAME -- status --long done, no errors in result.json
  local name=$1 out
  out=$(qemu_vm_exec "$name" cloud-init status --long 2>&1); local rc=$?
  if [ $rc -eq 0 ] && grep -q '^status: done' <<<"$out"; then
    lab_ok "$name: cloud-init status --long: done ($(grep -m1 '^detail' -A1 <<<"$out" | tail -n1 | xargs))"
  else
    lab_bad "$name: cloud-init status --long (exit $rc)"; qi_show <<<"$out" >&2
  fi
  out=$(qemu_vm_exec "$name" python3 -c 'import json; r = json.load(open("/run/cloud-init/result.json"))["v1"]; print(len(r["errors"]), r["errors"])')
  lab_expect "$name: cloud-init result.json lists no errors" "0 []" "$out"
}

qi_runcmd_log() { qemu_vm_exec "$1" cat /var/lib/wgqemu/runcmd.log 2>/dev/null; }

# ------------------------------------------------------------------ setup
lab_require_root_and_tools bc genisoimage
qemu_require_tools
lab_init
qemu_init

lab_step "image: a Debian bookworm cloud image, built once and cached (scripts/lab/qemu-image.sh)"
t0=$SECONDS
qemu_image
QI_FIG[image]=$((SECONDS - t0))
lab_ok "image ready in ${QI_FIG[image]} s: $QEMU_IMAGE_DIR"
img_mtime=$(stat -c %Y "$QEMU_IMAGE_DIR/disk.raw")
lab_check "image: disk.raw is an ext4 filesystem labelled root" sh -c "blkid -o export '$QEMU_IMAGE_DIR/disk.raw' | grep -qx LABEL=root"
absent=$(awk '$1 ~ /^(wgagent|wireguard-tools|wireguard-go|qemu-guest-agent)$/' "$QEMU_IMAGE_DIR/packages")
lab_expect "image: no wgagent, wireguard-tools, wireguard-go or qemu-guest-agent installed" "" "$absent"
present=$(awk '$1 ~ /^(linux-image-amd64|systemd-sysv|udev|kmod|iproute2|ifupdown|netbase|dbus|cloud-init|python3-cffi-backend|curl|ca-certificates|sudo|procps|iputils-ping)$/ { print $1 }' "$QEMU_IMAGE_DIR/packages" | wc -l)
lab_expect "image: the 15 cloud-image packages are installed" 15 "$present"

lab_step "accelerator"
QEMU_ACCEL=$(qemu_pick_accel)
lab_info "using $QEMU_ACCEL (-smp $QEMU_SMP -m $QEMU_MEM)"

lab_step "network: hub -- NAT router -- LAN bridge br0 (the VM's tap) + a LAN peer"
lab_netns hub; lab_netns router; lab_netns lanpeer
lab_link hub eth0 "$HUB/24" router wan0 "$ROUTER_WAN/24"
lab_bridge router br0 "$LAN_GW/24"
lab_bridge_port router br0 p-peer lanpeer eth0 "$LANPEER/24"
lab_route lanpeer default via "$LAN_GW"
lab_ns_exec router sysctl -qw net.ipv4.ip_forward=1
lab_ns_exec router iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE || lab_fail "router NAT"
mkdir -p "$LAB_DIR/www" && echo "hello from the hub" >"$LAB_DIR/www/index.txt"
lab_bg "$LAB_DIR/http.log" ip netns exec "$(lab_ns hub)" python3 -m http.server 8080 --bind "$HUB" --directory "$LAB_DIR/www"

# The user-data a person writes for a Proxmox VM: files, then an argv runcmd (installs from the offline cache).
cat >"$LAB_DIR/user-data" <<'EOF'
#cloud-config
write_files:
  - path: /usr/local/sbin/wgqemu-mark
    permissions: '0755'
    content: |
      #!/bin/sh
      # One line per runcmd run: instance-id, SMBIOS product UUID, boot id.
      mkdir -p /var/lib/wgqemu
      echo "$(cat /var/lib/cloud/data/instance-id) $(cat /sys/class/dmi/id/product_uuid) $(cat /proc/sys/kernel/random/boot_id)" >>/var/lib/wgqemu/runcmd.log
  - path: /etc/wgqemu/hello
    content: "written by write_files\n"
runcmd:
  - [/usr/local/sbin/wgqemu-mark]
  - [apt-get, install, -y, -q, --no-install-recommends, qemu-guest-agent, wireguard-tools]
  - [systemctl, start, qemu-guest-agent]
EOF
UUID1=$(cat /proc/sys/kernel/random/uuid)
UUID2=$(cat /proc/sys/kernel/random/uuid)
qemu_seed_iso "$LAB_DIR/seed-vm1.iso" "$LAB_DIR/user-data" iid-wgqemu-1 vm1 "$VM1_ADDR/24" "$LAN_GW"
lab_check "seed: a cidata ISO with user-data, meta-data, network-config" \
  sh -c "blkid -o value -s LABEL '$LAB_DIR/seed-vm1.iso' | grep -qx cidata"

# ------------------------------------------------------------------ first boot
lab_step "vm1: first boot (power-on -> cloud-init done)"
qemu_vm_boot vm1 router br0 "$LAB_DIR/seed-vm1.iso" "$UUID1"
qi_wait_ready vm1 first
qi_cloud_init_clean vm1

osinfo=$(qemu_qga vm1 '{"execute":"guest-get-osinfo"}')
lab_expect "vm1: guest-get-osinfo: Debian 12" "debian 12" "$(jq -r '"\(.id) \(."version-id")"' <<<"$osinfo")"
lab_info "guest-get-osinfo: $(jq -c '{id, "pretty-name", "kernel-release", machine}' <<<"$osinfo")"
virt=$(qemu_vm_exec vm1 systemd-detect-virt)
case $virt in qemu|kvm) lab_ok "vm1: systemd-detect-virt = $virt" ;; *) lab_bad "vm1: systemd-detect-virt: '$virt'" ;; esac
lab_expect "vm1: DMI sys_vendor" QEMU "$(qemu_vm_exec vm1 cat /sys/class/dmi/id/sys_vendor)"
lab_expect "vm1: DMI product_uuid = the SMBIOS UUID" "$UUID1" "$(qemu_vm_exec vm1 cat /sys/class/dmi/id/product_uuid | qi_lower)"
lab_expect "vm1: hostname from meta-data" vm1 "$(qemu_vm_exec vm1 hostname)"
lab_expect "vm1: eth0 has the static address from network-config" "$VM1_ADDR/24" \
  "$(qemu_vm_exec vm1 ip -4 -o addr show dev eth0 | awk '{ print $4 }')"
lab_expect "vm1: default route via the router (gateway4)" "$LAN_GW" \
  "$(qemu_vm_exec vm1 ip -4 route show default | awk '{ print $3 }')"
lab_expect "vm1: write_files wrote its file" "written by write_files" "$(qemu_vm_exec vm1 cat /etc/wgqemu/hello)"
runlog=$(qi_runcmd_log vm1)
lab_expect "vm1: runcmd ran once, for iid-wgqemu-1" "1 iid-wgqemu-1" "$(wc -l <<<"$runlog" | xargs) $(awk '{ print $1 }' <<<"$runlog")"
boot1=$(qemu_vm_exec vm1 cat /proc/sys/kernel/random/boot_id)
lab_check "vm1: kernel WireGuard (ip link add wgt0 type wireguard)" \
  qemu_vm_sh vm1 'ip link add wgt0 type wireguard && ip link show wgt0 && ip link del wgt0'
lab_check "vm1: qemu-guest-agent and wireguard-tools installed by runcmd from the offline cache" \
  qemu_vm_sh vm1 'dpkg-query -W -f="\${Package} \${db:Status-Abbrev}\n" qemu-guest-agent wireguard-tools | grep -c "ii" | grep -qx 2 && wg --version'
lab_check "vm1: runcmd's apt-get fetched nothing (offline, from /var/cache/apt/archives)" \
  qemu_vm_sh vm1 '! grep -E "^(Get|Err):" /var/log/cloud-init-output.log && grep -q "Setting up wireguard-tools" /var/log/cloud-init-output.log'
lab_check "vm1: the agent's other packages (ufw iptables wireguard-go sudo procps) are all in the cache" \
  qemu_vm_sh vm1 'out=$(apt-get install --print-uris -qq -y ufw iptables wireguard-go sudo procps) && echo "[$out]" && [ -z "$out" ]'
lab_check "vm1: resolv.conf has no host resolver (the VM is offline)" qemu_vm_sh vm1 '! grep -q nameserver /etc/resolv.conf'
lab_check "vm1: no datasource_list override in the image" qemu_vm_sh vm1 '! grep -rqs "^datasource_list" /etc/cloud/cloud.cfg /etc/cloud/cloud.cfg.d'

lab_step "vm1: the lab network"
lab_check "lanpeer -> vm1 ping over the bridge" lab_ns_exec lanpeer ping -c 3 -W 2 -i 0.3 "$VM1_ADDR"
lab_check "router -> vm1 ping" lab_ns_exec router ping -c 2 -W 2 -i 0.3 "$VM1_ADDR"
lab_expect "vm1 -> hub HTTP through the NAT router" "hello from the hub" \
  "$(qemu_vm_exec vm1 curl -sS --max-time 20 "http://$HUB:8080/index.txt")"
lab_check "the hub saw the router's WAN address (MASQUERADE), not the VM's" grep -q "^$ROUTER_WAN " "$LAB_DIR/http.log"

# ------------------------------------------------------------------ reboot
lab_step "vm1: reboot (qm reboot: clean stop, start on the same overlay; same instance-id)"
qemu_vm_reboot vm1
qi_wait_ready vm1 reboot
qi_cloud_init_clean vm1
boot2=$(qemu_vm_exec vm1 cat /proc/sys/kernel/random/boot_id)
[ -n "$boot2" ] && [ "$boot2" != "$boot1" ] && lab_ok "vm1: a new boot (boot_id changed)" || lab_bad "vm1: boot_id '$boot1' -> '$boot2'"
runlog=$(qi_runcmd_log vm1)
lab_expect "vm1: runcmd not re-run after the reboot (same instance-id)" 1 "$(wc -l <<<"$runlog" | xargs)"
lab_check "lanpeer -> vm1 ping after the reboot" lab_ns_exec lanpeer ping -c 3 -W 2 -i 0.3 "$VM1_ADDR"

# ------------------------------------------------------------------ clone
lab_step "vm2: a Proxmox-style clone of vm1 (new SMBIOS UUID, new seed with a new instance-id)"
qemu_vm_stop vm1 && lab_ok "vm1: clean shutdown (guest-shutdown)" || lab_bad "vm1: no clean shutdown"
qemu_seed_iso "$LAB_DIR/seed-vm2.iso" "$LAB_DIR/user-data" iid-wgqemu-2 vm2 "$VM2_ADDR/24" "$LAN_GW"
qemu_clone vm2 vm1 "$UUID2" "$LAB_DIR/seed-vm2.iso"
qi_wait_ready vm2 clone
qi_cloud_init_clean vm2
lab_expect "vm2: DMI product_uuid = the new UUID" "$UUID2" "$(qemu_vm_exec vm2 cat /sys/class/dmi/id/product_uuid | qi_lower)"
runlog=$(qi_runcmd_log vm2)
lab_expect "vm2: runcmd re-ran for the new instance-id (2 lines, the last for iid-wgqemu-2 and the new UUID)" \
  "2 iid-wgqemu-2 $UUID2" "$(wc -l <<<"$runlog" | xargs) $(tail -n1 <<<"$runlog" | awk '{ print $1, tolower($2) }')"
lab_expect "vm2: hostname from its own meta-data" vm2 "$(qemu_vm_exec vm2 hostname)"
lab_expect "vm2: its own address" "$VM2_ADDR/24" "$(qemu_vm_exec vm2 ip -4 -o addr show dev eth0 | awk '{ print $4 }')"
lab_check "lanpeer -> vm2 ping" lab_ns_exec lanpeer ping -c 3 -W 2 -i 0.3 "$VM2_ADDR"

lab_step "vm2: fast reset (savevm in the overlay, then -loadvm on a fresh QEMU)"
if qemu_vm_savevm vm2 ready; then
  lab_ok "vm2: savevm ready"
  qemu_vm_exec vm2 touch /root/after-snapshot
  qemu_vm_stop vm2 && lab_ok "vm2: clean shutdown (guest-shutdown)" || lab_bad "vm2: no clean shutdown"
  t0=$(date +%s.%N)
  if qemu_vm_loadvm vm2 ready; then
    QI_FIG[loadvm]=$(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f')
    lab_ok "vm2: back to 'ready', agent answering ${QI_FIG[loadvm]} s after QEMU start"
    lab_check "vm2: the write after the snapshot is gone" qemu_vm_sh vm2 '! test -e /root/after-snapshot'
    skew=$(( $(qemu_vm_exec vm2 date +%s) - $(date +%s) ))
    [ "${skew#-}" -le 5 ] && lab_ok "vm2: guest clock set after loadvm (skew ${skew} s)" || lab_bad "vm2: guest clock off by $skew s"
    lab_check "lanpeer -> vm2 ping after loadvm" lab_ns_exec lanpeer ping -c 3 -W 2 -i 0.3 "$VM2_ADDR"
  else
    lab_bad "vm2: loadvm ready"
  fi
else
  lab_bad "vm2: savevm ready"
fi
qemu_vm_stop vm2 && lab_ok "vm2: clean shutdown (guest-shutdown)" || lab_bad "vm2: no clean shutdown"
lab_expect "the pristine disk.raw was not written" "$img_mtime" "$(stat -c %Y "$QEMU_IMAGE_DIR/disk.raw")"

lab_step "figures ($QEMU_ACCEL, -smp $QEMU_SMP, load $(cut -d' ' -f1-3 /proc/loadavg))"
lab_info "image ready (build or cache hit): ${QI_FIG[image]} s"
lab_info "power-on -> cloud-init done: first boot ${QI_FIG[first]:-?} s, reboot ${QI_FIG[reboot]:-?} s, clone ${QI_FIG[clone]:-?} s"
lab_info "QEMU start with -loadvm -> guest agent answering: ${QI_FIG[loadvm]:-?} s"
lab_summary
