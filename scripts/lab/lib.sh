# shellcheck shell=bash
# scripts/lab/lib.sh — the lab's test library (source it; see /work/shared/LAB.md for the rules).
#
#   . scripts/lab/lib.sh
#   lab_require_root_and_tools
#   lab_init
#   lab_netns hub; lab_netns site
#   lab_link hub veth0 198.51.100.1/24 site eth0 198.51.100.2/24
#   lab_vm_boot site1 systemd site
#   lab_vm_exec site1 ip -br addr
#   lab_vm_stop site1            # optional: lab_cleanup (EXIT trap) stops everything
#
# Namespace names given to these functions are short names; the real namespace is "wgl<PID>-<name>"
# (see lab_ns) so parallel runs never collide. Every address handed to lab_link / lab_addr must lie in a
# documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) — anything else is
# refused. Nothing here touches anything the run did not create.
#
# Functions (a contract other scripts use):
#   lab_require_root_and_tools [TOOL…]   exit 1 loudly unless root and every needed tool is there
#   lab_init                             per-run work dir /var/tmp/wglab.$$ + EXIT/INT/TERM trap → lab_cleanup
#   lab_netns NAME                       ip netns add wgl$$-NAME, lo up; remembered for cleanup
#   lab_ns NAME                          print the real namespace name for NAME
#   lab_ns_exec NAME CMD…                run CMD inside namespace NAME (ip netns exec)
#   lab_link NS_A IF_A ADDR_A NS_B IF_B ADDR_B   veth pair NS_A:IF_A <-> NS_B:IF_B, CIDR addresses, up
#   lab_addr NS IF ADDR                  add one more (documentation) address to an interface
#   lab_bridge NS BR ADDR                a bridge (a LAN switch) BR in NS with ADDR on it, up
#   lab_bridge_port NS BR PORT NS_B IF_B ADDR_B   veth NS:PORT (a port of BR) <-> NS_B:IF_B with ADDR_B, up
#   lab_route NS ARGS…                   ip -n NS route add ARGS…
#   lab_bg LOG CMD…                      start CMD in the background (output to LOG), PID in $LAB_LAST_PID,
#                                        killed by lab_cleanup
#   lab_track_file PATH                  remove PATH in lab_cleanup (e.g. a wireguard-go socket)
#   lab_vm_boot NAME KIND NETNS          root = overlay over the cached image KIND (systemd|openrc) (or an
#                                        unpacked copy with WGLAB_NO_OVERLAY=1), boot it with systemd-nspawn
#                                        in namespace NETNS, wait (≤ $LAB_BOOT_TIMEOUT s, default 60) until up;
#                                        with LAB_VM_PREBOOT=FUNC set, FUNC NAME ROOTDIR runs before the boot
#                                        (what an image builder or cloud-init seed would put on the disk)
#   lab_vm_pid1 NAME                     print the VM's PID 1 (host PID)
#   lab_vm_root NAME                     print the VM's root directory on the host
#   lab_vm_exec NAME CMD ARGS…           run CMD inside the VM (all its namespaces), stdin passed through,
#                                        exit status passed back; clean env (PATH, HOME=/root, LANG=C.UTF-8)
#   lab_vm_sh NAME 'SHELL TEXT'          lab_vm_exec NAME /bin/sh -c 'SHELL TEXT'
#   lab_vm_copy NAME SRC DEST            copy a host file into the VM (mode kept, owner root)
#   lab_vm_stop NAME                     power the VM off from inside, wait (bounded), then kill nspawn
#   lab_cleanup                          stop VMs, kill started PIDs, delete namespaces, remove the work dir;
#                                        idempotent
#   lab_step TEXT / lab_ok TEXT / lab_fail TEXT   the account of the run; lab_ok counts a pass,
#                                        lab_fail counts a failure, prints the summary and exits 1
#   lab_check TEXT CMD…                  run CMD (output kept in $LAB_DIR/check.out, shown on failure);
#                                        lab_ok or (non-fatal) lab_bad with TEXT; returns CMD's status
#   lab_expect TEXT EXPECTED ACTUAL      lab_ok TEXT when equal, else lab_bad naming both values
#   lab_bad TEXT                         count a failure without exiting
#   lab_wait SECS TEXT CMD…              run CMD every 0.2 s until it succeeds: lab_ok "TEXT (after N s)", status 0;
#                                        not within SECS s (wall clock): lab_bad (non-fatal), status 1
#   lab_summary                          print "N passed, N failed"; return 1 if any failed
#
# Shared steps of the system tests (each tests/system/*.sh main() is a short list of named steps; a step
# that more than one test takes lives here, once; the others are functions of the test file):
#   lab_require_binary NAME PATH VAR [HINT]   exit 1 ("0 passed, 1 failed") unless PATH is executable; the
#                                        error names the binary, the variable that sets it and how to build it
#   lab_router PEER_NS PEER_IF PEER_ADDR WAN_ADDR   a home router: namespace "router", its wan0 (WAN_ADDR)
#                                        linked to PEER_NS:PEER_IF (PEER_ADDR), ip_forward=1, MASQUERADE out of
#                                        wan0 (the LAN side and any FORWARD policy are the test's own)
#   lab_hub_peer IF ADDR PORT            in namespace "hub" (made before): wireguard-go IF (stopped by
#                                        lab_cleanup), a fresh key ($LAB_DIR/hub.key, public key in
#                                        $LAB_HUB_PUB), listening on PORT, address ADDR (CIDR), up
#   lab_hub_wg ARGS…                     wg ARGS… in namespace "hub"
#   lab_hub_serve LOG READY SECS CMD…    start CMD (wghub serve …) in namespace "hub" in the background (PID in
#                                        $LAB_HUB_PID), wait ≤ SECS s until LOG has a line matching the extended
#                                        regex READY; lab_fail (log shown) when CMD dies or never prints it
#   lab_hub_api PIN TOKEN URL            curl URL from namespace "hub": TLS pinned to PIN, Bearer TOKEN, body on
#                                        stdout, non-zero on an HTTP error (10 s bound)
#   lab_vm_install VM NAME PATH [NAME PATH…]   copy each PATH into the VM as /usr/local/bin/NAME; lab_fail
#                                        unless ldd finds every shared library they need in the VM
#   lab_agent_vm VM KIND NETNS           lab_vm_boot VM KIND NETNS, then lab_vm_install VM wgagent "$WGAGENT_BIN"
#   lab_vm_install_ping VM               apt-get install iputils-ping in the VM, offline from its apt cache (log
#                                        $LAB_DIR/apt-VM.log); returns apt's status
#   lab_vm_ensure_ping VM                the same unless ping is there already; a failure is counted (lab_bad)
#   lab_handshake KEY WG_CMD…            print the latest handshake (Unix time, 0 = never) with peer KEY, as
#                                        `WG_CMD… latest-handshakes` shows it (e.g. lab_hub_wg show wgp1)
#   lab_wait_handshake TRIES POKE KEY WG_CMD…   up to TRIES times: lab_handshake, done when not 0, else POKE (a
#                                        command, word-split: 'sleep 0.5', or a function that sends traffic);
#                                        prints the last value; status 0 when there was a handshake
#   lab_json_extract IN OUT '{'|'['      the first JSON object (or array) in the text file IN (text before it is
#                                        tolerated) written to OUT; status 1 (reason on stderr) when there is none
#   lab_sqlite DBFILE SQL                SQL on an SQLite file, read-only; rows on stdout, columns joined by '|'
#
# Variables: LAB_DIR (work dir), LAB_ID (run id), LAB_PASS / LAB_FAIL (counters), LAB_LIB_DIR, LAB_HUB_PUB,
# LAB_HUB_PID, LAB_BOOT_TIMEOUT, LAB_STOP_TIMEOUT. Env: WGLAB_CACHE (image cache, see image.sh), WGLAB_KEEP=1 keeps the
# work dir (VM roots and logs) after the run for debugging.

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ID=${LAB_ID:-$$}
LAB_DIR=${LAB_DIR:-/var/tmp/wglab.$LAB_ID}
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-60}
LAB_STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-30}
LAB_PASS=0
LAB_FAIL=0
LAB_T0=$SECONDS
LAB_NETNS=()          # real names of namespaces we created
LAB_PIDS=()           # background PIDs we started
LAB_FILES=()          # files to remove
LAB_VMS=()            # VM names
LAB_MOUNTS=()         # mount points we created (VM overlay roots)
LAB_CLEANED=0
LAB_INITED=0
LAB_LAST_PID=
declare -gA LAB_VM_NSPAWN=() LAB_VM_PID1=() LAB_VM_KIND=() LAB_VM_ROOTDIR=() LAB_VM_LOG=()

# ------------------------------------------------------------------ account of the run
_lab_ts() { printf '%4ds' $((SECONDS - LAB_T0)); }
lab_step() { printf '%s ==> %s\n' "$(_lab_ts)" "$*"; }
lab_ok()   { LAB_PASS=$((LAB_PASS + 1)); printf '%s   ok   %s\n' "$(_lab_ts)" "$*"; }
lab_bad()  { LAB_FAIL=$((LAB_FAIL + 1)); printf '%s   FAIL %s\n' "$(_lab_ts)" "$*" >&2; }
lab_info() { printf '%s        %s\n' "$(_lab_ts)" "$*"; }
lab_summary() {
  printf '%d passed, %d failed\n' "$LAB_PASS" "$LAB_FAIL"
  [ "$LAB_FAIL" -eq 0 ]
}
lab_fail() {
  lab_bad "$*"
  lab_summary || true
  exit 1
}
lab_expect() {   # lab_expect TEXT EXPECTED ACTUAL -- lab_ok when equal, else (non-fatal) lab_bad with both
  if [ "$2" = "$3" ]; then lab_ok "$1"; else lab_bad "$1: expected '$2', got '$3'"; fi
}
lab_wait() {
  local secs=$1 text=$2 t0=$SECONDS; shift 2
  while :; do
    if "$@"; then lab_ok "$text (after $((SECONDS - t0)) s)"; return 0; fi
    [ $((SECONDS - t0)) -ge "$secs" ] && break
    sleep 0.2
  done
  lab_bad "$text: not within $secs s"
  return 1
}
lab_check() {
  local text=$1; shift
  local rc=0 out="${LAB_DIR}/check.out"
  [ -d "$LAB_DIR" ] || out=/dev/null
  "$@" >"$out" 2>&1 || rc=$?
  if [ $rc -eq 0 ]; then lab_ok "$text"; else
    lab_bad "$text (exit $rc: $*)"
    [ "$out" = /dev/null ] || tail -n 10 "$out" | sed 's/^/          | /' >&2
  fi
  return $rc
}

# ------------------------------------------------------------------ prerequisites
lab_require_root_and_tools() {
  local t missing=()
  if [ "$(id -u)" -ne 0 ]; then
    echo "lab: ERROR: system tests need root (namespaces, systemd-nspawn, mounts). Not skipping: run as root." >&2
    exit 1
  fi
  for t in ip nsenter systemd-nspawn tar sha256sum flock chroot debootstrap mountpoint timeout "$@"; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "lab: ERROR: missing tools: ${missing[*]}. Run scripts/install-deps.sh (as root). Not skipping." >&2
    exit 1
  fi
}

# ------------------------------------------------------------------ run setup / teardown
lab_init() {
  [ "$LAB_INITED" -eq 1 ] && return 0
  if [ -e "$LAB_DIR" ]; then echo "lab: ERROR: $LAB_DIR already exists (stale run?)" >&2; exit 1; fi
  mkdir -p "$LAB_DIR"
  chmod 700 "$LAB_DIR"
  LAB_INITED=1
  trap 'lab_cleanup' EXIT
  trap 'lab_bad "interrupted"; exit 130' INT
  trap 'lab_bad "terminated"; exit 143' TERM
  lab_info "lab run $LAB_ID, work dir $LAB_DIR"
}

# Is PID alive (and not a zombie)?
_lab_alive() { [ -n "${1:-}" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# Wait (bounded, seconds) for PID to go away.
_lab_wait_gone() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    _lab_alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

lab_cleanup() {
  local rc=$?
  [ "$LAB_CLEANED" -eq 1 ] && return $rc
  LAB_CLEANED=1
  set +e
  local name pid ns f
  for name in "${LAB_VMS[@]}"; do
    if _lab_alive "${LAB_VM_NSPAWN[$name]:-}"; then lab_vm_stop "$name" >/dev/null 2>&1; fi
  done
  for pid in "${LAB_PIDS[@]}"; do
    _lab_alive "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${LAB_PIDS[@]}"; do
    _lab_wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # Anything still running inside a namespace we created was started by this run (e.g. a daemonized
  # wireguard-go): stop it by PID before deleting the namespace.
  for ns in "${LAB_NETNS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
  done
  for ns in "${LAB_NETNS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      _lab_wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
    done
    ip netns delete "$ns" 2>/dev/null
    [ -d "/etc/netns/$ns" ] && rm -rf --one-file-system "/etc/netns/$ns"
  done
  for f in "${LAB_FILES[@]}"; do rm -f -- "$f"; done
  local i
  for ((i = ${#LAB_MOUNTS[@]} - 1; i >= 0; i--)); do _lab_umount "${LAB_MOUNTS[$i]}"; done
  if [ "$LAB_INITED" -eq 1 ] && [ -d "$LAB_DIR" ]; then
    if grep -q " $LAB_DIR[/ ]" /proc/self/mounts; then
      echo "lab: WARNING: mounts remain under $LAB_DIR; not removing it" >&2
    elif [ "${WGLAB_KEEP:-0}" = 1 ]; then
      echo "lab: WGLAB_KEEP=1: keeping $LAB_DIR" >&2
    else
      rm -rf --one-file-system "$LAB_DIR"
    fi
  fi
  return $rc
}

# ------------------------------------------------------------------ namespaces and links
lab_ns() { printf 'wgl%s-%s' "$LAB_ID" "$1"; }

lab_netns() {
  local ns; ns=$(lab_ns "$1")
  ip netns add "$ns" || lab_fail "ip netns add $ns"
  LAB_NETNS+=("$ns")
  ip -n "$ns" link set lo up
}

lab_ns_exec() { local ns; ns=$(lab_ns "$1"); shift; ip netns exec "$ns" "$@"; }

# Refuse any address outside the documentation ranges.
_lab_doc_addr() {
  local a=${1%/*}
  case $a in
    192.0.2.*|198.51.100.*|203.0.113.*) return 0 ;;
  esac
  case ${a,,} in
    2001:db8:*|2001:0db8:*) return 0 ;;
  esac
  echo "lab: ERROR: address $1 is not in a documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)" >&2
  return 1
}

lab_addr() {
  local ns; ns=$(lab_ns "$1")
  _lab_doc_addr "$3" || lab_fail "lab_addr $*"
  ip -n "$ns" addr add "$3" dev "$2" || lab_fail "ip -n $ns addr add $3 dev $2"
}

lab_link() {
  local na nb; na=$(lab_ns "$1"); nb=$(lab_ns "$4")
  local ia=$2 aa=$3 ib=$5 ab=$6
  _lab_doc_addr "$aa" && _lab_doc_addr "$ab" || lab_fail "lab_link $*"
  # Created directly inside the namespaces: no name ever appears in the host's namespace.
  ip link add "$ia" netns "$na" type veth peer name "$ib" netns "$nb" \
    || lab_fail "veth $na:$ia <-> $nb:$ib"
  ip -n "$na" addr add "$aa" dev "$ia" && ip -n "$nb" addr add "$ab" dev "$ib" \
    && ip -n "$na" link set "$ia" up && ip -n "$nb" link set "$ib" up \
    || lab_fail "addresses on $na:$ia / $nb:$ib"
}

lab_bridge() {
  local ns; ns=$(lab_ns "$1")
  _lab_doc_addr "$3" || lab_fail "lab_bridge $*"
  ip -n "$ns" link add "$2" type bridge && ip -n "$ns" addr add "$3" dev "$2" && ip -n "$ns" link set "$2" up \
    || lab_fail "bridge $ns:$2"
}

lab_bridge_port() {
  local na nb; na=$(lab_ns "$1"); nb=$(lab_ns "$4")
  local br=$2 port=$3 ib=$5 ab=$6
  _lab_doc_addr "$ab" || lab_fail "lab_bridge_port $*"
  ip link add "$port" netns "$na" type veth peer name "$ib" netns "$nb" || lab_fail "veth $na:$port <-> $nb:$ib"
  ip -n "$na" link set "$port" master "$br" && ip -n "$na" link set "$port" up \
    && ip -n "$nb" addr add "$ab" dev "$ib" && ip -n "$nb" link set "$ib" up \
    || lab_fail "bridge port $na:$br/$port <-> $nb:$ib"
}

lab_route() {
  local ns; ns=$(lab_ns "$1"); shift
  local w
  for w in "$@"; do
    case $w in [0-9]*.*.*.*|*:*:*) [ "$w" = default ] || _lab_doc_addr "$w" || lab_fail "lab_route $*" ;; esac
  done
  ip -n "$ns" route add "$@" || lab_fail "ip -n $ns route add $*"
}

lab_bg() {
  local log=$1; shift
  "$@" >"$log" 2>&1 </dev/null &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
}

lab_track_file() { LAB_FILES+=("$1"); }

# ------------------------------------------------------------------ VMs
lab_vm_pid1() { printf '%s' "${LAB_VM_PID1[$1]:-}"; }
lab_vm_root() { printf '%s' "${LAB_VM_ROOTDIR[$1]:-}"; }

# The container's init: a descendant of nspawn whose innermost PID is 1.
_lab_find_pid1() {
  local nspawn=$1 c g
  for c in $(cat /proc/"$nspawn"/task/*/children 2>/dev/null); do
    if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$c/status" 2>/dev/null; then echo "$c"; return 0; fi
    for g in $(cat /proc/"$c"/task/*/children 2>/dev/null); do
      if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$g/status" 2>/dev/null; then echo "$g"; return 0; fi
    done
  done
  return 1
}

# Is the VM's boot finished? systemd: running/degraded. openrc: default runlevel reached and no rc running.
_lab_vm_up() {
  local name=$1 st
  case ${LAB_VM_KIND[$name]} in
    systemd)
      st=$(lab_vm_exec "$name" systemctl is-system-running 2>/dev/null) || true
      case $st in running|degraded) return 0 ;; esac
      return 1 ;;
    openrc)
      st=$(lab_vm_exec "$name" cat /run/openrc/softlevel 2>/dev/null) || return 1
      [ "$st" = default ] || return 1
      # no runlevel change still in progress (the rc / openrc process of the boot)
      local p1 pidns p
      p1=${LAB_VM_PID1[$name]}
      pidns=$(readlink "/proc/$p1/ns/pid") || return 1
      for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$pidns" ] || continue
        case $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) in
          *'/etc/init.d/rc '*|*'/sbin/openrc '*|openrc\ *|*'/sbin/rc '*) return 1 ;;
        esac
      done
      [ -z "$(lab_vm_exec "$name" sh -c 'ls /run/openrc/starting 2>/dev/null')" ] ;;
  esac
}

lab_vm_boot() {
  local name=$1 kind=$2 net=$3
  local ns; ns=$(lab_ns "$net")
  case $kind in systemd|openrc) ;; *) lab_fail "lab_vm_boot: unknown kind '$kind' (systemd|openrc)" ;; esac
  [ -e "/run/netns/$ns" ] || lab_fail "lab_vm_boot: namespace $net ($ns) does not exist (lab_netns first)"
  [ -z "${LAB_VM_KIND[$name]:-}" ] || lab_fail "lab_vm_boot: VM $name already exists"
  local dir="$LAB_DIR/vm-$name" lower img
  mkdir -p "$dir/root"
  if [ "${WGLAB_NO_OVERLAY:-0}" = 1 ]; then
    img=$("$LAB_LIB_DIR/image.sh" "$kind") || lab_fail "image for $kind could not be built"
    tar -C "$dir/root" --numeric-owner --xattrs --xattrs-include='*' -xf "$img" || lab_fail "unpack $img"
  else
    # The cached, unpacked image is the read-only lower layer; the VM writes into $dir/upper only.
    lower=$("$LAB_LIB_DIR/image.sh" "$kind" --dir) || lab_fail "image for $kind could not be built"
    mkdir -p "$dir/upper" "$dir/work"
    mount -t overlay "wglab-$LAB_ID-$name" -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/root" \
      || lab_fail "overlay mount for VM $name (set WGLAB_NO_OVERLAY=1 to unpack a copy instead)"
    LAB_MOUNTS+=("$dir/root")
  fi
  if [ -n "${LAB_VM_PREBOOT:-}" ]; then
    "$LAB_VM_PREBOOT" "$name" "$dir/root" || lab_fail "VM $name: $LAB_VM_PREBOOT (before boot) failed"
  fi
  LAB_VM_KIND[$name]=$kind
  LAB_VM_ROOTDIR[$name]="$dir/root"
  LAB_VM_LOG[$name]="$dir/console.log"
  LAB_VMS+=("$name")
  # Machine name unique per run: nspawn keeps per-machine state under /run/systemd/nspawn/.
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn -b -D "$dir/root" --register=no --keep-unit \
    --network-namespace-path="/run/netns/$ns" --capability=CAP_NET_ADMIN --console=pipe \
    --resolv-conf=off --timezone=off -M "wgl$LAB_ID-$name" \
    </dev/null >"$dir/console.log" 2>&1 &
  local npid=$!
  LAB_VM_NSPAWN[$name]=$npid
  LAB_PIDS+=("$npid")
  local i p1="" t0=$SECONDS
  for ((i = 0; i < LAB_BOOT_TIMEOUT * 5; i++)); do
    if ! _lab_alive "$npid"; then
      tail -n 30 "$dir/console.log" >&2
      lab_fail "VM $name ($kind): systemd-nspawn exited during boot (log $dir/console.log)"
    fi
    if [ -z "$p1" ]; then
      p1=$(_lab_find_pid1 "$npid") && LAB_VM_PID1[$name]=$p1 || p1=""
    fi
    if [ -n "$p1" ] && _lab_vm_up "$name"; then
      lab_info "VM $name ($kind) up in $((SECONDS - t0)) s: nspawn PID $npid, PID 1 = $p1, netns $ns"
      return 0
    fi
    sleep 0.2
  done
  tail -n 30 "$dir/console.log" >&2
  if [ -n "$p1" ] && [ "$kind" = systemd ]; then lab_vm_exec "$name" systemctl list-jobs >&2 || true; fi
  lab_fail "VM $name ($kind) not up within $LAB_BOOT_TIMEOUT s (log $dir/console.log)"
}

lab_vm_exec() {
  local name=$1; shift
  local p1=${LAB_VM_PID1[$name]:-}
  if [ -z "$p1" ] || ! _lab_alive "$p1"; then echo "lab: VM $name is not running" >&2; return 125; fi
  nsenter -t "$p1" -a -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
}

lab_vm_sh() { local name=$1; shift; lab_vm_exec "$name" /bin/sh -c "$1"; }

lab_vm_copy() {
  local name=$1 src=$2 dest=$3 mode
  [ -f "$src" ] || { echo "lab: lab_vm_copy: no such file $src" >&2; return 1; }
  mode=$(stat -c %a "$src")
  local p1=${LAB_VM_PID1[$name]:-}
  if [ -n "$p1" ] && _lab_alive "$p1"; then
    # Through the VM's own view of its filesystem: symlinks inside it resolve inside it.
    lab_vm_exec "$name" /bin/sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1.lab-tmp" && chmod "$2" "$1.lab-tmp" && mv -f "$1.lab-tmp" "$1"' \
      sh "$dest" "$mode" <"$src"
  else
    local root=${LAB_VM_ROOTDIR[$name]:-}
    [ -n "$root" ] || { echo "lab: lab_vm_copy: unknown VM $name" >&2; return 1; }
    install -D -o root -g root -m "$mode" "$src" "$root/${dest#/}"
  fi
}

_lab_umount() {
  local m=$1 i
  mountpoint -q "$m" 2>/dev/null || return 0
  for ((i = 0; i < 10; i++)); do
    umount "$m" 2>/dev/null && return 0
    sleep 0.5
  done
  umount -l "$m" 2>/dev/null || echo "lab: WARNING: could not unmount $m" >&2
}

lab_vm_stop() {
  local name=$1
  local npid=${LAB_VM_NSPAWN[$name]:-} p1=${LAB_VM_PID1[$name]:-}
  [ -n "$npid" ] || return 0
  if _lab_alive "$npid"; then
    if [ -n "$p1" ] && _lab_alive "$p1"; then
      case ${LAB_VM_KIND[$name]} in
        systemd) timeout 10 nsenter -t "$p1" -a -- /bin/systemctl --no-block poweroff >/dev/null 2>&1 ;;
        openrc)  timeout 10 nsenter -t "$p1" -a -- /sbin/poweroff >/dev/null 2>&1 \
                   || timeout 10 nsenter -t "$p1" -a -- /sbin/halt -p >/dev/null 2>&1 ;;
      esac
    fi
    if ! _lab_wait_gone "$npid" "$LAB_STOP_TIMEOUT"; then
      lab_info "VM $name did not power off within $LAB_STOP_TIMEOUT s: terminating nspawn $npid"
      kill -TERM "$npid" 2>/dev/null
      if ! _lab_wait_gone "$npid" 10; then
        kill -KILL "$npid" 2>/dev/null
        [ -n "$p1" ] && _lab_alive "$p1" && kill -KILL "$p1" 2>/dev/null
        _lab_wait_gone "$npid" 5
      fi
    fi
  fi
  wait "$npid" 2>/dev/null || true
  LAB_VM_PID1[$name]=""
  _lab_umount "${LAB_VM_ROOTDIR[$name]}"
  return 0
}

# ------------------------------------------------------------------ shared steps of the system tests
lab_require_binary() {
  local name=$1 path=$2 var=$3 hint=${4:-scripts/build-release.sh}
  [ -x "$path" ] && return 0
  echo "$(basename "$0" .sh): ERROR: no $name binary at $path (set $var, or build it: $hint)" >&2
  echo "0 passed, 1 failed"
  exit 1
}

lab_router() {
  local peer_ns=$1 peer_if=$2 peer_addr=$3 wan_addr=$4
  lab_netns router
  lab_link "$peer_ns" "$peer_if" "$peer_addr" router wan0 "$wan_addr"
  lab_ns_exec router sysctl -q -w net.ipv4.ip_forward=1 || lab_fail "ip_forward in the router namespace"
  lab_ns_exec router iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE || lab_fail "MASQUERADE in the router namespace"
}

lab_hub_wg() { lab_ns_exec hub wg "$@"; }

lab_hub_peer() {
  local ifc=$1 addr=$2 port=$3 i sock="/run/wireguard/$1.sock"
  (umask 077; wg genkey >"$LAB_DIR/hub.key")
  LAB_HUB_PUB=$(wg pubkey <"$LAB_DIR/hub.key")
  lab_track_file "$sock"
  lab_bg "$LAB_DIR/hub-wireguard-go.log" ip netns exec "$(lab_ns hub)" wireguard-go -f "$ifc"
  for ((i = 0; i < 50; i++)); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { cat "$LAB_DIR/hub-wireguard-go.log" >&2; lab_fail "wireguard-go $ifc did not start"; }
  lab_hub_wg set "$ifc" private-key "$LAB_DIR/hub.key" listen-port "$port" || lab_fail "wg set $ifc"
  lab_addr hub "$ifc" "$addr"
  ip -n "$(lab_ns hub)" link set "$ifc" up || lab_fail "link up $ifc"
}

lab_hub_serve() {
  local log=$1 ready=$2 secs=$3 i; shift 3
  # Emptied here, not only by the background job's redirection: a restart must not find the last run's READY
  # line (and read its values) before the job has opened the file.
  : >"$log"
  lab_bg "$log" ip netns exec "$(lab_ns hub)" "$@"
  LAB_HUB_PID=$LAB_LAST_PID
  for ((i = 0; i < secs * 10; i++)); do
    if grep -qE -- "$ready" "$log" 2>/dev/null; then return 0; fi
    _lab_alive "$LAB_HUB_PID" || break
    sleep 0.1
  done
  if grep -qE -- "$ready" "$log" 2>/dev/null; then return 0; fi
  sed 's/^/          | /' "$log" >&2
  lab_fail "$1 $2: no line matching '$ready' within $secs s (alive: $(_lab_alive "$LAB_HUB_PID" && echo yes || echo no))"
}

lab_hub_api() {
  local pin=$1 token=$2 url=$3
  lab_ns_exec hub timeout 10 curl -sS --fail-with-body -k --pinnedpubkey "$pin" \
    -H "Authorization: Bearer $token" "$url"
}

lab_vm_install() {
  local vm=$1 dests=() missing; shift
  while [ $# -ge 2 ]; do
    lab_vm_copy "$vm" "$2" "/usr/local/bin/$1" || lab_fail "copy $2 into the VM $vm"
    dests+=("/usr/local/bin/$1")
    shift 2
  done
  missing=$(lab_vm_exec "$vm" ldd "${dests[@]}" 2>&1 | grep 'not found')
  # shellcheck disable=SC2086
  [ -z "$missing" ] || lab_fail "${dests[*]} need shared libraries the VM $vm lacks: $(echo $missing)"
}

lab_agent_vm() {
  lab_vm_boot "$1" "$2" "$3"
  lab_vm_install "$1" wgagent "$WGAGENT_BIN"
}

lab_vm_install_ping() {
  lab_vm_exec "$1" timeout 120 apt-get install -y -q --no-install-recommends iputils-ping >"$LAB_DIR/apt-$1.log" 2>&1
}

lab_vm_ensure_ping() {
  lab_vm_sh "$1" 'command -v ping >/dev/null' && return 0
  lab_vm_install_ping "$1" || lab_bad "install iputils-ping offline in the VM $1 (for the ping checks)"
}

lab_handshake() {
  local key=$1; shift
  "$@" latest-handshakes 2>/dev/null | awk -v k="$key" '$1 == k {print $2}'
}

lab_wait_handshake() {
  local tries=$1 poke=$2 key=$3 hs="" i; shift 3
  for ((i = 0; i < tries; i++)); do
    hs=$(lab_handshake "$key" "$@")
    [ -n "$hs" ] && [ "$hs" != 0 ] && break
    $poke
  done
  printf '%s' "$hs"
  [ -n "$hs" ] && [ "$hs" != 0 ]
}

lab_json_extract() {
  python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
s = open(sys.argv[1], encoding="utf-8", errors="replace").read()
i = s.find(sys.argv[3])
if i < 0:
    sys.exit("no JSON %s in output" % ("array" if sys.argv[3] == "[" else "object"))
obj, _ = json.JSONDecoder().raw_decode(s[i:])
json.dump(obj, open(sys.argv[2], "w"))
EOF
}

lab_sqlite() {
  python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
EOF
}
