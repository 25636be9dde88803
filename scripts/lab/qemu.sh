# shellcheck shell=bash
# scripts/lab/qemu.sh — real QEMU VMs in the lab, as Proxmox runs them (source it AFTER lib.sh; LAB.md's
# "A real QEMU VM, as Proxmox runs it" is the recipe).
#
#   . scripts/lab/lib.sh; . scripts/lab/qemu.sh
#   lab_require_root_and_tools; qemu_require_tools
#   lab_init; qemu_init                   # qemu_init chains qemu_cleanup before lab_cleanup on EXIT
#   qemu_image                            # builds/caches the image (scripts/lab/qemu-image.sh)
#   lab_netns router; lab_bridge router br0 198.51.100.1/24
#   lab_netns peer;  lab_bridge_port router br0 p-peer peer eth0 198.51.100.3/24
#   qemu_seed_iso "$LAB_DIR/seed1.iso" user-data.yaml iid-1 vm1 198.51.100.10/24 198.51.100.1
#   qemu_vm_boot vm1 router br0 "$LAB_DIR/seed1.iso" "$(cat /proc/sys/kernel/random/uuid)"
#   qemu_wait_serial vm1 'Cloud-init v\. .* finished' 300
#   qemu_wait_agent vm1 120
#   qemu_vm_exec vm1 cloud-init status --long
#   qemu_vm_stop vm1
#
# Functions (a contract other scripts use):
#   qemu_require_tools              exit 1 loudly unless qemu-system-x86_64, qemu-img, genisoimage, socat, python3, jq
#   qemu_init                       after lab_init: EXIT trap = qemu_cleanup then lab_cleanup (exit status kept)
#   qemu_image                      build or reuse the cached image; sets QEMU_IMAGE_DIR (disk.raw, vmlinuz, initrd.img)
#   qemu_pick_accel                 print kvm or tcg (cached in QEMU_ACCEL; reason on stderr). kvm only when
#                                   kvm_intel/kvm_amd is loaded, /dev/kvm opens and a short probe boot of the
#                                   image's kernel reaches its root mount (a kvm_pvm /dev/kvm does not)
#   qemu_seed_iso OUT USER_DATA_FILE INSTANCE_ID HOSTNAME ADDR/PREFIX GATEWAY [DNS]
#                                   NoCloud seed (volume cidata: user-data, meta-data, network-config v2 with
#                                   a static address on eth0, gateway4:) — addresses must be documentation ranges
#   qemu_vm_boot NAME NETNS BRIDGE_OR_TAP SEED_ISO UUID
#                                   thin qcow2 overlay over the pristine disk.raw (absolute backing path) in
#                                   $LAB_DIR/qemu-NAME/, a tap created inside lab namespace NETNS and enslaved to
#                                   bridge BRIDGE_OR_TAP there (if that name is no bridge in NETNS, a tap of
#                                   that name is made and left unbridged), QEMU started inside NETNS with SMBIOS
#                                   type 1 uuid=UUID, serial log, QMP and guest-agent sockets; returns once the
#                                   kernel is up (serial shows "Linux version" or the agent answers), bounded by
#                                   $QEMU_BOOT_TIMEOUT (default 300 s); lab_fail otherwise
#   qemu_clone NAME SRC_NAME NEW_UUID SEED_ISO
#                                   a Proxmox-style clone: SRC must be stopped (cleanly, qemu_vm_stop); its
#                                   overlay (= its whole disk state over the template) is copied and booted on
#                                   SRC's namespace and bridge with NEW_UUID, a new MAC and the given seed
#   qemu_vm_start NAME              (re)start QEMU for an existing, stopped VM on its own overlay and seed
#   qemu_vm_reboot NAME             what `qm reboot` does: clean stop, then start on the same overlay
#   qemu_vm_stop NAME               guest-shutdown (≤ QEMU_STOP_TIMEOUT, default 90 s), then QMP system_powerdown
#                                   (≤ 30 s), then QMP quit, then SIGTERM/SIGKILL of that QEMU's PID only
#   qemu_vm_running NAME            status 0 when the VM's QEMU is alive
#   qemu_vm_savevm NAME TAG         fast resets: `savevm TAG` (HMP through QMP) stores RAM + disk state in the
#                                   VM's qcow2 overlay (bounded, 300 s); the VM keeps running
#   qemu_vm_loadvm NAME TAG         back to TAG: in place when running (HMP loadvm), else a start with
#                                   -loadvm TAG; then waits (≤ 120 s) for the agent and sets the guest's clock
#                                   from the host (guest-set-time)
#   qemu_qga NAME JSON [TIMEOUT]    one guest-agent command on the host socket (guest-sync-delimited first,
#                                   serialised, bounded: default 30 s); prints the "return" JSON
#   qemu_qmp NAME JSON [TIMEOUT]    one QMP command; prints the "return" JSON
#   qemu_wait_agent NAME TIMEOUT    wait until guest-ping answers (status 1 on timeout or if QEMU died)
#   qemu_wait_serial NAME ERE TIMEOUT  wait until this boot's serial output matches ERE (status 1 otherwise)
#   qemu_vm_exec NAME CMD ARGS…     run argv in the guest via guest-exec (clean env: PATH, HOME=/root,
#                                   LANG=C.UTF-8); stdout/stderr printed, the guest's exit status returned;
#                                   bounded by $QEMU_EXEC_TIMEOUT (default 300 s; 124 on timeout)
#   qemu_vm_sh NAME 'SHELL TEXT'    qemu_vm_exec NAME /bin/sh -c 'SHELL TEXT'
#   qemu_vm_serial NAME             print the serial log path;  qemu_vm_dir NAME  the VM's work dir
#   qemu_cleanup                    quit every QEMU this run started (by PID), idempotent; lab_cleanup then
#                                   removes namespaces (and their taps) and $LAB_DIR (overlays, seeds, logs)
#
# Variables: QEMU_IMAGE_DIR, QEMU_ACCEL (kvm|tcg; preset it to skip the probe), QEMU_SMP (2), QEMU_MEM (1024),
# QEMU_BOOT_TIMEOUT, QEMU_STOP_TIMEOUT, QEMU_EXEC_TIMEOUT; per VM (associative, by NAME): QEMU_VM_PID,
# QEMU_VM_T0 (epoch seconds with ns of the last power-on), QEMU_VM_UUID, QEMU_VM_MAC.
# Never `-nic user`: the only NIC is the tap in the test's own namespace.

QEMU_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QEMU_SMP=${QEMU_SMP:-2}
QEMU_MEM=${QEMU_MEM:-1024}
QEMU_BOOT_TIMEOUT=${QEMU_BOOT_TIMEOUT:-300}
QEMU_STOP_TIMEOUT=${QEMU_STOP_TIMEOUT:-90}
QEMU_EXEC_TIMEOUT=${QEMU_EXEC_TIMEOUT:-300}
QEMU_ACCEL=${QEMU_ACCEL:-}
QEMU_IMAGE_DIR=${QEMU_IMAGE_DIR:-}
QEMU_VMS=()
QEMU_CLEANED=0
declare -gA QEMU_VM_PID=() QEMU_VM_DIR=() QEMU_VM_NS=() QEMU_VM_LINK=() QEMU_VM_TAP=() QEMU_VM_SEED=() \
  QEMU_VM_UUID=() QEMU_VM_MAC=() QEMU_VM_T0=() QEMU_VM_LOGOFF=() QEMU_VM_LOADVM=()

qemu_require_tools() {
  local t missing=()
  for t in qemu-system-x86_64 qemu-img genisoimage socat python3 jq; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "qemu: ERROR: missing tools: ${missing[*]}. Run scripts/install-deps.sh (as root). Not skipping." >&2
    exit 1
  fi
}

qemu_init() {
  trap '_qemu_rc=$?; qemu_cleanup; (exit $_qemu_rc); lab_cleanup' EXIT
}

qemu_image() {
  [ -n "$QEMU_IMAGE_DIR" ] && [ -s "$QEMU_IMAGE_DIR/disk.raw" ] && return 0
  QEMU_IMAGE_DIR=$("$QEMU_LIB_DIR/qemu-image.sh") || lab_fail "the QEMU image could not be built (scripts/lab/qemu-image.sh)"
}

qemu_vm_dir() { printf '%s' "${QEMU_VM_DIR[$1]:-}"; }
qemu_vm_serial() { printf '%s/serial.log' "${QEMU_VM_DIR[$1]:-}"; }
qemu_vm_running() { _lab_alive "${QEMU_VM_PID[$1]:-}"; }

# ------------------------------------------------------------------ accelerator
qemu_pick_accel() {
  if [ -n "$QEMU_ACCEL" ]; then echo "$QEMU_ACCEL"; return 0; fi
  local why=""
  if [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
    why="neither kvm_intel nor kvm_amd is loaded$( [ -d /sys/module/kvm_pvm ] && echo ' (/dev/kvm is kvm_pvm: stock kernels do not run on it)')"
  elif ! { exec 7<>/dev/kvm; } 2>/dev/null; then
    why="/dev/kvm cannot be opened"
  else
    exec 7>&-
    qemu_image
    local log; log=$(mktemp "${LAB_DIR:-/var/tmp}/qemu-kvm-probe.XXXXXX")
    # The image's kernel without a root: a healthy KVM runs it to "VFS: Unable to mount root" in seconds.
    timeout 60 qemu-system-x86_64 -accel kvm -cpu host -smp 1 -m 256 -nodefaults -no-user-config -net none -display none \
      -vga none -no-reboot -kernel "$QEMU_IMAGE_DIR/vmlinuz" -append "console=ttyS0 panic=-1 root=/dev/nonexistent" \
      -serial "file:$log" >/dev/null 2>&1 || true
    if grep -q 'Unable to mount root' "$log"; then why=""; else why="the KVM probe boot did not reach the root mount"; fi
    rm -f "$log"
    if [ -z "$why" ]; then QEMU_ACCEL=kvm; echo "qemu: accelerator kvm (probe boot passed)" >&2; echo kvm; return 0; fi
  fi
  QEMU_ACCEL=tcg
  echo "qemu: accelerator tcg: $why" >&2
  echo tcg
}

# ------------------------------------------------------------------ seed
qemu_seed_iso() {
  local out=$1 ud=$2 iid=$3 host=$4 addr=$5 gw=$6 dns=${7:-}
  [ -f "$ud" ] || lab_fail "qemu_seed_iso: no user-data file $ud"
  _lab_doc_addr "$addr" && _lab_doc_addr "$gw" || lab_fail "qemu_seed_iso: $addr / $gw"
  [ -z "$dns" ] || _lab_doc_addr "$dns" || lab_fail "qemu_seed_iso: dns $dns"
  local d; d=$(mktemp -d "${LAB_DIR:-/var/tmp}/seed.XXXXXX")
  cp "$ud" "$d/user-data"
  printf 'instance-id: %s\nlocal-hostname: %s\n' "$iid" "$host" >"$d/meta-data"
  {
    echo 'version: 2'
    echo 'ethernets:'
    echo '  eth0:'
    echo "    addresses: [$addr]"
    echo "    gateway4: $gw"
    [ -z "$dns" ] || echo "    nameservers: {addresses: [$dns]}"
  } >"$d/network-config"
  genisoimage -quiet -output "$out" -volid cidata -joliet -rock "$d/user-data" "$d/meta-data" "$d/network-config" \
    || lab_fail "qemu_seed_iso: genisoimage failed"
  rm -rf "$d"
}

# ------------------------------------------------------------------ boot / stop
_qemu_mac() { printf '52:54:00:%s' "$(printf '%s' "$LAB_ID-$1" | sha256sum | sed -E 's/^(..)(..)(..).*/\1:\2:\3/')"; }

# Prepare NAME's dir, tap and bookkeeping (no QEMU yet).
_qemu_vm_define() {
  local name=$1 net=$2 link=$3 seed=$4 uuid=$5
  local ns; ns=$(lab_ns "$net")
  [ -e "/run/netns/$ns" ] || lab_fail "qemu: namespace $net ($ns) does not exist (lab_netns first)"
  [ -z "${QEMU_VM_DIR[$name]:-}" ] || lab_fail "qemu: VM $name already exists"
  [ -f "$seed" ] || lab_fail "qemu: no seed ISO $seed"
  [[ $uuid =~ ^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$ ]] || lab_fail "qemu: bad UUID '$uuid'"
  local dir="$LAB_DIR/qemu-$name"
  mkdir -p "$dir"
  local tap
  if ip -n "$ns" -d link show "$link" 2>/dev/null | grep -q ' bridge '; then
    tap=$(printf 'tq%s' "$name" | cut -c1-15)
    ip -n "$ns" tuntap add "$tap" mode tap && ip -n "$ns" link set "$tap" master "$link" \
      && ip -n "$ns" link set "$tap" up || lab_fail "qemu: tap $tap on $ns:$link"
  else
    tap=$link
    ip -n "$ns" tuntap add "$tap" mode tap && ip -n "$ns" link set "$tap" up || lab_fail "qemu: tap $ns:$tap"
  fi
  QEMU_VM_DIR[$name]=$dir QEMU_VM_NS[$name]=$net QEMU_VM_LINK[$name]=$link QEMU_VM_TAP[$name]=$tap
  QEMU_VM_SEED[$name]=$(readlink -f "$seed") QEMU_VM_UUID[$name]=$uuid QEMU_VM_MAC[$name]=$(_qemu_mac "$name")
  QEMU_VMS+=("$name")
}

qemu_vm_start() {
  local name=$1 dir=${QEMU_VM_DIR[$1]:-}
  [ -n "$dir" ] || lab_fail "qemu_vm_start: unknown VM $name"
  qemu_vm_running "$name" && lab_fail "qemu_vm_start: VM $name is already running"
  [ -n "$QEMU_ACCEL" ] || qemu_pick_accel >/dev/null
  local accel=$QEMU_ACCEL
  local accel_args=(-accel tcg,thread=multi -cpu max)
  [ "$accel" = kvm ] && accel_args=(-accel kvm -cpu host)
  rm -f "$dir/qmp.sock" "$dir/qga.sock"
  touch "$dir/serial.log"
  QEMU_VM_LOGOFF[$name]=$(stat -c %s "$dir/serial.log")
  local ns; ns=$(lab_ns "${QEMU_VM_NS[$name]}")
  # No -no-reboot: a reboot from inside the guest stays in the same QEMU, as on Proxmox.
  local argv=(qemu-system-x86_64 -name "$name,process=wgq-$name" "${accel_args[@]}" -smp "$QEMU_SMP" -m "$QEMU_MEM"
    -machine pc -nodefaults -no-user-config -display none -vga none
    -kernel "$QEMU_IMAGE_DIR/vmlinuz" -initrd "$QEMU_IMAGE_DIR/initrd.img"
    -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1"
    -drive "file=$dir/disk.qcow2,if=virtio,format=qcow2,cache=unsafe"
    -drive "file=${QEMU_VM_SEED[$name]},media=cdrom,if=ide,index=2,readonly=on"
    -smbios "type=1,uuid=${QEMU_VM_UUID[$name]}"
    -netdev "tap,id=net0,ifname=${QEMU_VM_TAP[$name]},script=no,downscript=no"
    -device "virtio-net-pci,netdev=net0,mac=${QEMU_VM_MAC[$name]}"
    -chardev "file,id=ser0,path=$dir/serial.log,append=on" -serial chardev:ser0
    -qmp "unix:$dir/qmp.sock,server=on,wait=off"
    -chardev "socket,path=$dir/qga.sock,server=on,wait=off,id=qga0"
    -device virtio-serial -device "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"
    -pidfile "$dir/qemu.pid")
  if [ -n "${QEMU_VM_LOADVM[$name]:-}" ]; then argv+=(-loadvm "${QEMU_VM_LOADVM[$name]}"); QEMU_VM_LOADVM[$name]=""; fi
  printf '%q ' ip netns exec "$ns" "${argv[@]}" >"$dir/cmdline"; echo >>"$dir/cmdline"
  QEMU_VM_T0[$name]=$(date +%s.%N)
  ip netns exec "$ns" "${argv[@]}" </dev/null >>"$dir/qemu.log" 2>&1 &
  QEMU_VM_PID[$name]=$!
  LAB_PIDS+=("$!")
  local i t0=$SECONDS
  for ((i = 0; i < QEMU_BOOT_TIMEOUT * 5; i++)); do
    if ! qemu_vm_running "$name"; then
      tail -n 20 "$dir/qemu.log" "$dir/serial.log" >&2
      lab_fail "qemu: VM $name: QEMU exited during boot (logs in $dir)"
    fi
    if tail -c +"$((QEMU_VM_LOGOFF[$name] + 1))" "$dir/serial.log" | grep -q 'Linux version' \
      || { [ "${argv[-2]}" = -loadvm ] && qemu_qga "$name" '{"execute":"guest-ping"}' 2 >/dev/null 2>&1; }; then
      local what="kernel up"; [ "${argv[-2]}" = -loadvm ] && what="resumed from ${argv[-1]}"
      lab_info "VM $name ($accel, QEMU PID ${QEMU_VM_PID[$name]}, netns $ns, tap ${QEMU_VM_TAP[$name]}, uuid ${QEMU_VM_UUID[$name]}): $what in $((SECONDS - t0)) s"
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$dir/serial.log" >&2
  lab_fail "qemu: VM $name: no kernel output within $QEMU_BOOT_TIMEOUT s (serial $dir/serial.log)"
}

qemu_vm_boot() {
  local name=$1
  [ $# -eq 5 ] || lab_fail "usage: qemu_vm_boot NAME NETNS BRIDGE_OR_TAP SEED_ISO UUID"
  qemu_image
  _qemu_vm_define "$@"
  local dir=${QEMU_VM_DIR[$name]}
  qemu-img create -q -f qcow2 -F raw -b "$(readlink -f "$QEMU_IMAGE_DIR/disk.raw")" "$dir/disk.qcow2" \
    || lab_fail "qemu: overlay for $name"
  qemu_vm_start "$name"
}

qemu_clone() {
  local name=$1 src=$2 uuid=$3 seed=$4
  [ $# -eq 4 ] || lab_fail "usage: qemu_clone NAME SRC_NAME NEW_UUID SEED_ISO"
  [ -n "${QEMU_VM_DIR[$src]:-}" ] || lab_fail "qemu_clone: unknown source VM $src"
  qemu_vm_running "$src" && lab_fail "qemu_clone: source VM $src is running (qemu_vm_stop it first)"
  [ "$uuid" != "${QEMU_VM_UUID[$src]}" ] || lab_fail "qemu_clone: the clone needs a new UUID"
  _qemu_vm_define "$name" "${QEMU_VM_NS[$src]}" "${QEMU_VM_LINK[$src]}" "$seed" "$uuid"
  # The source's overlay holds all its writes; its backing file (the pristine template) is absolute.
  cp --sparse=always "${QEMU_VM_DIR[$src]}/disk.qcow2" "${QEMU_VM_DIR[$name]}/disk.qcow2" \
    || lab_fail "qemu_clone: copy of $src's disk"
  qemu-img check -q "${QEMU_VM_DIR[$name]}/disk.qcow2" || lab_fail "qemu_clone: copied disk fails qemu-img check"
  qemu_vm_start "$name"
}

_qemu_wait_exit() {   # _qemu_wait_exit NAME SECS
  local pid=${QEMU_VM_PID[$1]:-}
  _lab_wait_gone "$pid" "$2" || return 1
  wait "$pid" 2>/dev/null
  return 0
}

qemu_vm_stop() {
  local name=$1 t0=$SECONDS how
  qemu_vm_running "$name" || return 0
  local dir=${QEMU_VM_DIR[$name]} pid=${QEMU_VM_PID[$name]}
  how=guest-shutdown
  python3 "$QEMU_LIB_DIR/qemu_agent.py" qga "$dir/qga.sock" 15 '{"execute":"guest-shutdown"}' >/dev/null 2>&1
  if ! _qemu_wait_exit "$name" "$QEMU_STOP_TIMEOUT"; then
    how=system_powerdown
    qemu_qmp "$name" '{"execute":"system_powerdown"}' 10 >/dev/null 2>&1
    if ! _qemu_wait_exit "$name" 30; then
      how=quit
      qemu_qmp "$name" '{"execute":"quit"}' 10 >/dev/null 2>&1
      if ! _qemu_wait_exit "$name" 10; then
        how=SIGTERM
        kill -TERM "$pid" 2>/dev/null
        _qemu_wait_exit "$name" 10 || { how=SIGKILL; kill -KILL "$pid" 2>/dev/null; _qemu_wait_exit "$name" 5; }
      fi
    fi
  fi
  lab_info "VM $name stopped by $how in $((SECONDS - t0)) s"
  [ "$how" = guest-shutdown ] || [ "$how" = system_powerdown ]
}

qemu_vm_reboot() {
  local name=$1
  qemu_vm_stop "$name" || lab_info "VM $name: no clean shutdown before the restart"
  qemu_vm_start "$name"
}

# One HMP command through QMP; its text output must be empty (HMP reports errors as text).
_qemu_hmp() {   # _qemu_hmp NAME TIMEOUT COMMAND-LINE
  local out
  out=$(qemu_qmp "$1" "$(jq -cn --arg c "$3" '{execute: "human-monitor-command", arguments: {"command-line": $c}}')" "$2") \
    || return 1
  out=$(jq -r . <<<"$out")
  [ -z "${out//[$'\r\n ']/}" ] || { echo "qemu: $1: $3: $out" >&2; return 1; }
}

qemu_vm_savevm() {
  local name=$1 tag=$2 t0=$SECONDS
  qemu_vm_running "$name" || { echo "qemu: VM $name is not running" >&2; return 1; }
  _qemu_hmp "$name" 300 "savevm $tag" || return 1
  lab_info "VM $name: savevm $tag in $((SECONDS - t0)) s"
}

qemu_vm_loadvm() {
  local name=$1 tag=$2 t0=$SECONDS
  if qemu_vm_running "$name"; then
    _qemu_hmp "$name" 300 "loadvm $tag" || return 1
  else
    QEMU_VM_LOADVM[$name]=$tag
    qemu_vm_start "$name"
  fi
  qemu_wait_agent "$name" 120 || { echo "qemu: $name: no guest agent after loadvm $tag" >&2; return 1; }
  qemu_qga "$name" "{\"execute\":\"guest-set-time\",\"arguments\":{\"time\":$(date +%s%N)}}" >/dev/null || return 1
  lab_info "VM $name: loadvm $tag, agent answering, clock set, in $((SECONDS - t0)) s"
}

qemu_cleanup() {
  [ "$QEMU_CLEANED" -eq 1 ] && return 0
  QEMU_CLEANED=1
  local name pid
  for name in "${QEMU_VMS[@]}"; do
    pid=${QEMU_VM_PID[$name]:-}
    _lab_alive "$pid" || continue
    python3 "$QEMU_LIB_DIR/qemu_agent.py" qmp "${QEMU_VM_DIR[$name]}/qmp.sock" 5 '{"execute":"quit"}' >/dev/null 2>&1
    _lab_wait_gone "$pid" 5 || kill -TERM "$pid" 2>/dev/null
    _lab_wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  return 0
}

# ------------------------------------------------------------------ sockets
qemu_qga() {
  local name=$1 json=$2 to=${3:-30}
  python3 "$QEMU_LIB_DIR/qemu_agent.py" qga "${QEMU_VM_DIR[$name]:-/nonexistent}/qga.sock" "$to" "$json"
}

qemu_qmp() {
  local name=$1 json=$2 to=${3:-30}
  python3 "$QEMU_LIB_DIR/qemu_agent.py" qmp "${QEMU_VM_DIR[$name]:-/nonexistent}/qmp.sock" "$to" "$json"
}

qemu_vm_exec() {
  local name=$1; shift
  qemu_vm_running "$name" || { echo "qemu: VM $name is not running" >&2; return 125; }
  python3 "$QEMU_LIB_DIR/qemu_agent.py" exec "${QEMU_VM_DIR[$name]}/qga.sock" "$QEMU_EXEC_TIMEOUT" "$@"
}

qemu_vm_sh() { local name=$1; shift; qemu_vm_exec "$name" /bin/sh -c "$1"; }

qemu_wait_agent() {
  local name=$1 secs=$2 end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    qemu_vm_running "$name" || return 1
    qemu_qga "$name" '{"execute":"guest-ping"}' 10 >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

qemu_wait_serial() {
  local name=$1 re=$2 end=$((SECONDS + $3)) log; log=$(qemu_vm_serial "$1")
  while [ $SECONDS -lt $end ]; do
    tail -c +"$((${QEMU_VM_LOGOFF[$name]:-0} + 1))" "$log" 2>/dev/null | grep -qE -- "$re" && return 0
    qemu_vm_running "$name" || return 1
    sleep 0.5
  done
  return 1
}
