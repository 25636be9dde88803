#!/usr/bin/env bash
# Self-test of scripts/lab: boots a systemd VM and an OpenRC VM, each in its own namespace linked to a
# "peer" namespace, pings both ways, installs iputils-ping offline from the image's apt cache, stops
# everything and checks that nothing is left (namespaces, processes, work dir). Needs root.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lab/lib.sh
. "$REPO/scripts/lab/lib.sh"

lab_require_root_and_tools ping
lab_init

lab_step "images (built once, cached in ${WGLAB_CACHE:-/var/cache/wgagent-lab})"
for kind in systemd openrc; do
  t0=$SECONDS
  img=$("$REPO/scripts/lab/image.sh" "$kind") || lab_fail "image $kind"
  lab_ok "image $kind: $img ($((SECONDS - t0)) s)"
done

lab_step "namespaces: peer <-> sd (198.51.100.0/24), peer <-> orc (203.0.113.0/24)"
lab_netns peer; lab_netns sd; lab_netns orc
lab_link peer vsd 198.51.100.1/24 sd eth0 198.51.100.2/24
lab_link peer vorc 203.0.113.1/24 orc eth0 203.0.113.2/24
lab_ok "namespaces and links"

lab_step "refuses a non-documentation address"
if (lab_addr peer vsd 10.1.2.3/24) >/dev/null 2>&1; then lab_bad "10.1.2.3 accepted"; else lab_ok "10.1.2.3/24 refused"; fi

lab_step "boot the VMs"
lab_vm_boot sd systemd sd
lab_vm_boot orc openrc orc
lab_check "systemd VM: PID 1 is systemd" \
  test "$(lab_vm_exec sd cat /proc/1/comm)" = systemd
lab_check "openrc VM: PID 1 is init, runlevel default" \
  test "$(lab_vm_exec orc cat /proc/1/comm)/$(lab_vm_exec orc cat /run/openrc/softlevel)" = init/default
lab_check "openrc VM: rc-service works" lab_vm_exec orc rc-service --exists net
for vm in sd orc; do
  lab_check "$vm: no policy-rc.d in the booted image" lab_vm_sh "$vm" '! test -e /usr/sbin/policy-rc.d'
  lab_check "$vm: no default route (isolated)" test -z "$(lab_vm_exec "$vm" ip route show default)"
  lab_check "$vm: lab_vm_exec passes the exit status back" \
    test "$(lab_vm_sh "$vm" 'exit 7'; echo $?)" = 7
  lab_check "$vm: lab_vm_exec passes stdin through" \
    test "$(echo hello | lab_vm_exec "$vm" cat)" = hello
done

lab_step "lab_vm_copy keeps the mode"
f="$LAB_DIR/fixture.sh"; printf '#!/bin/sh\necho fixture-ran\n' >"$f"; chmod 750 "$f"
lab_vm_copy sd "$f" /usr/local/bin/fixture.sh
lab_check "copied file has mode 750 and runs" \
  test "$(lab_vm_exec sd stat -c %a /usr/local/bin/fixture.sh)/$(lab_vm_exec sd fixture.sh)" = 750/fixture-ran

lab_step "peer pings the VMs"
lab_check "peer -> sd 198.51.100.2" lab_ns_exec peer ping -c 2 -W 2 -q 198.51.100.2
lab_check "peer -> orc 203.0.113.2" lab_ns_exec peer ping -c 2 -W 2 -q 203.0.113.2

lab_step "apt offline inside the VMs"
rc=0; lab_vm_exec sd timeout 60 apt-get update -q >"$LAB_DIR/apt-update.log" 2>&1 || rc=$?
lab_info "apt-get update without network: exit $rc ($(grep -cE '^(W|E):' "$LAB_DIR/apt-update.log") W/E lines) — lists are kept either way"
for vm in sd orc; do
  lab_check "$vm: ping not installed yet" lab_vm_sh "$vm" '! command -v ping >/dev/null'
  t0=$SECONDS
  if lab_vm_exec "$vm" timeout 120 apt-get install -y -q --no-install-recommends iputils-ping \
      >"$LAB_DIR/apt-$vm.log" 2>&1; then
    lab_ok "$vm: apt-get install iputils-ping offline ($((SECONDS - t0)) s)"
  else
    tail -n 15 "$LAB_DIR/apt-$vm.log" >&2; lab_bad "$vm: apt-get install iputils-ping offline"
  fi
  lab_check "$vm: .deb cache kept after install" \
    lab_vm_sh "$vm" 'ls /var/cache/apt/archives/iputils-ping_*.deb /var/cache/apt/archives/wireguard-go_*.deb >/dev/null'
done
lab_check "sd -> peer 198.51.100.1" lab_vm_exec sd ping -c 2 -W 2 -q 198.51.100.1
lab_check "orc -> peer 203.0.113.1" lab_vm_exec orc ping -c 2 -W 2 -q 203.0.113.1

lab_step "stop the VMs"
pids=()
for vm in sd orc; do pids+=("${LAB_VM_NSPAWN[$vm]}" "$(lab_vm_pid1 "$vm")"); done
for vm in sd orc; do
  t0=$SECONDS; lab_vm_stop "$vm"
  lab_check "$vm stopped ($((SECONDS - t0)) s)" test ! -e "/proc/${LAB_VM_NSPAWN[$vm]}"
done

lab_step "cleanup leaves nothing"
id=$LAB_ID; dir=$LAB_DIR
lab_cleanup
lab_check "no namespace wgl$id-* left" test -z "$(ip netns list | grep "^wgl$id-")"
left=""; for p in "${pids[@]}"; do [ -e "/proc/$p" ] && left+=" $p"; done
lab_check "no VM process left (nspawn + PID 1: ${pids[*]})" test -z "$left"
lab_check "no process mentions wgl$id" test -z "$(ps -eo pid=,args= | grep "wgl$id" | grep -v grep)"
lab_check "no mount under $dir left" test -z "$(grep " $dir" /proc/self/mounts)"
lab_check "work dir $dir removed" test ! -e "$dir"
lab_summary
