#!/usr/bin/env bash
# Self-test of scripts/lab: boots a systemd VM and an OpenRC VM, each in its own namespace linked to a
# "peer" namespace, pings both ways, installs iputils-ping offline from the image's apt cache, stops
# everything and checks that nothing is left (namespaces, processes, work dir). Needs root.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lab/lib.sh
. "$REPO/scripts/lab/lib.sh"

# ------------------------------------------------------------------ the steps
images() {
  lab_step "images (built once, cached in ${WGLAB_CACHE:-/var/cache/wgagent-lab})"
  local kind t0 img
  for kind in systemd openrc; do
    t0=$SECONDS
    img=$("$REPO/scripts/lab/image.sh" "$kind") || lab_fail "image $kind"
    lab_ok "image $kind: $img ($((SECONDS - t0)) s)"
  done
}

namespaces() {
  lab_step "namespaces: peer <-> sd (198.51.100.0/24), peer <-> orc (203.0.113.0/24)"
  lab_netns peer; lab_netns sd; lab_netns orc
  lab_link peer vsd 198.51.100.1/24 sd eth0 198.51.100.2/24
  lab_link peer vorc 203.0.113.1/24 orc eth0 203.0.113.2/24
  lab_ok "namespaces and links"
}

refuses_other_addresses() {
  lab_step "refuses a non-documentation address"
  if (lab_addr peer vsd 10.1.2.3/24) >/dev/null 2>&1; then lab_bad "10.1.2.3 accepted"; else lab_ok "10.1.2.3/24 refused"; fi
}

boot_vms() {
  lab_step "boot the VMs"
  lab_vm_boot sd systemd sd
  lab_vm_boot orc openrc orc
  lab_check "systemd VM: PID 1 is systemd" \
    test "$(lab_vm_exec sd cat /proc/1/comm)" = systemd
  lab_check "openrc VM: PID 1 is init, runlevel default" \
    test "$(lab_vm_exec orc cat /proc/1/comm)/$(lab_vm_exec orc cat /run/openrc/softlevel)" = init/default
  lab_check "openrc VM: rc-service works" lab_vm_exec orc rc-service --exists net
  local vm
  for vm in sd orc; do
    lab_check "$vm: no policy-rc.d in the booted image" lab_vm_sh "$vm" '! test -e /usr/sbin/policy-rc.d'
    lab_check "$vm: no default route (isolated)" test -z "$(lab_vm_exec "$vm" ip route show default)"
    lab_check "$vm: lab_vm_exec passes the exit status back" \
      test "$(lab_vm_sh "$vm" 'exit 7'; echo $?)" = 7
    lab_check "$vm: lab_vm_exec passes stdin through" \
      test "$(echo hello | lab_vm_exec "$vm" cat)" = hello
  done
}

vm_copy_keeps_mode() {
  lab_step "lab_vm_copy keeps the mode"
  local f="$LAB_DIR/fixture.sh"
  printf '#!/bin/sh\necho fixture-ran\n' >"$f"; chmod 750 "$f"
  lab_vm_copy sd "$f" /usr/local/bin/fixture.sh
  lab_check "copied file has mode 750 and runs" \
    test "$(lab_vm_exec sd stat -c %a /usr/local/bin/fixture.sh)/$(lab_vm_exec sd fixture.sh)" = 750/fixture-ran
}

peer_pings_vms() {
  lab_step "peer pings the VMs"
  lab_check "peer -> sd 198.51.100.2" lab_ns_exec peer ping -c 2 -W 2 -q 198.51.100.2
  lab_check "peer -> orc 203.0.113.2" lab_ns_exec peer ping -c 2 -W 2 -q 203.0.113.2
}

apt_offline() {
  lab_step "apt offline inside the VMs"
  local rc=0 vm t0
  lab_vm_exec sd timeout 60 apt-get update -q >"$LAB_DIR/apt-update.log" 2>&1 || rc=$?
  lab_info "apt-get update without network: exit $rc ($(grep -cE '^(W|E):' "$LAB_DIR/apt-update.log") W/E lines) — lists are kept either way"
  for vm in sd orc; do
    lab_check "$vm: ping not installed yet" lab_vm_sh "$vm" '! command -v ping >/dev/null'
    t0=$SECONDS
    if lab_vm_install_ping "$vm"; then
      lab_ok "$vm: apt-get install iputils-ping offline ($((SECONDS - t0)) s)"
    else
      tail -n 15 "$LAB_DIR/apt-$vm.log" >&2; lab_bad "$vm: apt-get install iputils-ping offline"
    fi
    lab_check "$vm: .deb cache kept after install" \
      lab_vm_sh "$vm" 'ls /var/cache/apt/archives/iputils-ping_*.deb /var/cache/apt/archives/wireguard-go_*.deb >/dev/null'
  done
  lab_check "sd -> peer 198.51.100.1" lab_vm_exec sd ping -c 2 -W 2 -q 198.51.100.1
  lab_check "orc -> peer 203.0.113.1" lab_vm_exec orc ping -c 2 -W 2 -q 203.0.113.1
}

stop_vms() {
  lab_step "stop the VMs"
  local vm t0
  VM_PIDS=()
  for vm in sd orc; do VM_PIDS+=("${LAB_VM_NSPAWN[$vm]}" "$(lab_vm_pid1 "$vm")"); done
  for vm in sd orc; do
    t0=$SECONDS; lab_vm_stop "$vm"
    lab_check "$vm stopped ($((SECONDS - t0)) s)" test ! -e "/proc/${LAB_VM_NSPAWN[$vm]}"
  done
}

cleanup_leaves_nothing() {
  lab_step "cleanup leaves nothing"
  local id=$LAB_ID dir=$LAB_DIR left="" p
  lab_cleanup
  lab_check "no namespace wgl$id-* left" test -z "$(ip netns list | grep "^wgl$id-")"
  for p in "${VM_PIDS[@]}"; do [ -e "/proc/$p" ] && left+=" $p"; done
  lab_check "no VM process left (nspawn + PID 1: ${VM_PIDS[*]})" test -z "$left"
  lab_check "no process mentions wgl$id" test -z "$(ps -eo pid=,args= | grep "wgl$id" | grep -v grep)"
  lab_check "no mount under $dir left" test -z "$(grep " $dir" /proc/self/mounts)"
  lab_check "work dir $dir removed" test ! -e "$dir"
}

main() {
  lab_require_root_and_tools ping
  lab_init
  images
  namespaces
  refuses_other_addresses
  boot_vms
  vm_copy_keeps_mode
  peer_pings_vms
  apt_offline
  stop_vms
  cleanup_leaves_nothing
  lab_summary
}

main "$@"
