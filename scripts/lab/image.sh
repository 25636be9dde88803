#!/usr/bin/env bash
# scripts/lab/image.sh systemd|openrc|base [--dir]
#
# Prints the path of a ready VM image tarball (a Debian bookworm root for systemd-nspawn),
# building it only when missing. Images live outside the repo in ${WGLAB_CACHE:-/var/cache/wgagent-lab}:
#
#   base-bookworm-minbase-<hash>.tar   pristine `debootstrap --variant=minbase bookworm`
#   vm-<kind>-<hash>.tar               base + init system + cloud-image basics + an apt cache
#
# <hash> is computed from the recipe itself (the customize function's body, the package lists, the
# mirror), so editing the recipe yields a new file name and a rebuild; stale images of the same kind are
# removed. With --dir, the path printed is the image unpacked once into vm-<kind>-<hash>.root/ (a read-only
# overlay lower dir for lab.sh's VMs: nothing may write into it). Progress goes to stderr, the path alone to stdout. A lock serializes parallel callers.
#
# Every kind has iproute2, ca-certificates, libcurl4, libsqlite3-0 installed (a cloud image has them; wghub needs SQLite) and the packages the
# agent installs for real (DOWNLOAD_PKGS) only downloaded into /var/cache/apt/archives, with the apt lists
# kept and APT::Keep-Downloaded-Packages on, so an isolated VM can `apt-get install` them offline.
#
# Env: WGLAB_CACHE (cache dir), WGLAB_MIRROR (default: the host's configured Debian mirror).
set -euo pipefail

CACHE=${WGLAB_CACHE:-/var/cache/wgagent-lab}
SUITE=bookworm
COMMON_PKGS=(iproute2 ca-certificates libcurl4 libsqlite3-0)
SYSTEMD_PKGS=(systemd systemd-sysv dbus)
OPENRC_PKGS=(sysvinit-core openrc)
# What the agent installs for real inside the VM; only downloaded here. libsodium23 is cached too in case
# the agent binary links it dynamically.
DOWNLOAD_PKGS=(wireguard-tools wireguard-go ufw sudo procps iptables iputils-ping qemu-guest-agent
  openssh-client libsodium23)

log() { printf 'image.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The host's configured Debian mirror: first non-security URI from deb822 sources or sources.list.
host_mirror() {
  local f u
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    u=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f" | grep -E '/debian/?$' | head -n1 || true)
    [ -n "$u" ] && { echo "${u%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    u=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; break } }' "$f" \
      | grep -E '/debian/?$' | head -n1 || true)
    [ -n "$u" ] && { echo "${u%/}"; return; }
  done
  echo "http://deb.debian.org/debian"
}

# Security mirror from the host config (optional; empty when none).
host_security_mirror() {
  local f
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { print $2 }' | grep -E 'debian-security/?$' | head -n1 \
    || true
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && awk '$1 == "deb" && /debian-security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' "$f"
  done | head -n1 || true
}

MIRROR=${WGLAB_MIRROR:-$(host_mirror)}
SECURITY_MIRROR=$(host_security_mirror | head -n1)
SECURITY_MIRROR=${SECURITY_MIRROR%/}

# ---------------------------------------------------------------- chroot plumbing
CHROOT=""
MOUNTS=()
BUILD_DIR=""

chroot_mount() {            # chroot_mount ROOT  -- proc first, then /dev and /dev/pts
  CHROOT=$1
  mount -t proc proc "$CHROOT/proc";          MOUNTS+=("$CHROOT/proc")
  mount --bind /dev "$CHROOT/dev";            MOUNTS+=("$CHROOT/dev")
  mount --bind /dev/pts "$CHROOT/dev/pts";    MOUNTS+=("$CHROOT/dev/pts")
  mount -t sysfs sysfs "$CHROOT/sys";         MOUNTS+=("$CHROOT/sys")
}

chroot_umount() {           # reverse order; idempotent
  local i m
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${MOUNTS[$i]}
    if mountpoint -q "$m"; then umount "$m" 2>/dev/null || umount -l "$m" || log "WARNING: could not unmount $m"; fi
  done
  MOUNTS=()
}

on_exit() {
  local rc=$?
  chroot_umount
  if [ -n "$BUILD_DIR" ] && [ -d "$BUILD_DIR" ]; then
    # never rm -rf through a live mount
    if grep -q " $BUILD_DIR" /proc/self/mounts; then
      log "WARNING: mounts remain under $BUILD_DIR; not removing it"
    else
      rm -rf --one-file-system "$BUILD_DIR"
    fi
  fi
  rm -f "$CACHE"/*.tar.tmp.$$ 2>/dev/null || true
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_chroot() { chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root "$@"; }

pack() {                    # pack DIR OUT  -- atomic write of a tarball of DIR
  local tmp="$2.tmp.$$"
  tar -C "$1" --numeric-owner --xattrs --xattrs-include='*' --one-file-system -cf "$tmp" .
  mv -f "$tmp" "$2"
}

# ---------------------------------------------------------------- recipes
BASE_RECIPE="debootstrap --variant=minbase $SUITE $MIRROR v1"

build_base() {               # build_base OUT
  local out=$1 t0=$SECONDS
  BUILD_DIR=$(mktemp -d "$CACHE/build-base.XXXXXX")
  log "debootstrap --variant=minbase $SUITE from $MIRROR (≈ 30 s–2 min)"
  debootstrap --variant=minbase "$SUITE" "$BUILD_DIR/root" "$MIRROR" >"$CACHE/build-base.log" 2>&1 \
    || { tail -n 20 "$CACHE/build-base.log" >&2; die "debootstrap failed (log: $CACHE/build-base.log)"; }
  pack "$BUILD_DIR/root" "$out"
  rm -rf --one-file-system "$BUILD_DIR"; BUILD_DIR=""
  log "base image built in $((SECONDS - t0)) s: $out"
}

# Runs with CHROOT mounted; $1 = kind. Everything that shapes the image is in here (it is hashed).
customize() {
  local kind=$1 r=$CHROOT
  # Nothing starts during installs.
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
  # apt: keep every downloaded .deb, no docker-style cleaning, no recommends.
  rm -f "$r"/etc/apt/apt.conf.d/docker-clean
  cat >"$r/etc/apt/apt.conf.d/90wglab" <<'EOF'
APT::Keep-Downloaded-Packages "true";
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Install-Recommends "false";
EOF
  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    [ -n "$SECURITY_MIRROR" ] && echo "deb $SECURITY_MIRROR $SUITE-security main"
  } >"$r/etc/apt/sources.list"
  cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
  in_chroot apt-get update -q
  case $kind in
    systemd) in_chroot apt-get install -y -q --no-install-recommends "${SYSTEMD_PKGS[@]}" "${COMMON_PKGS[@]}" ;;
    openrc)
      in_chroot apt-get install -y -q --no-install-recommends "${OPENRC_PKGS[@]}" "${COMMON_PKGS[@]}"
      # No gettys under nspawn --console=pipe.
      sed -i -E 's/^([^#].*getty.*)$/#\1/' "$r/etc/inittab"
      # Alpine's services `need net` / `need localmount`; Debian's openrc has no such services: stub them.
      local svc
      for svc in net localmount; do
        if ! grep -lqsE "^\s*provide .*\b$svc\b" "$r"/etc/init.d/* && [ ! -e "$r/etc/init.d/$svc" ]; then
          cat >"$r/etc/init.d/$svc" <<EOF
#!/sbin/openrc-run
# wgagent lab stub: Debian has no '$svc' service; Alpine services depend on it.
description="lab stub providing $svc"
depend() { provide $svc; }
start() { return 0; }
stop() { return 0; }
EOF
          chmod 755 "$r/etc/init.d/$svc"
        fi
      done
      ;;
    *) die "unknown kind $kind" ;;
  esac
  in_chroot apt-get install -y -q --no-install-recommends --download-only "${DOWNLOAD_PKGS[@]}"
  # Check every requested package's .deb is in the cache.
  local p missing=()
  for p in "${DOWNLOAD_PKGS[@]}"; do
    compgen -G "$r/var/cache/apt/archives/${p}_*.deb" >/dev/null || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] || die "not in the apt cache after --download-only: ${missing[*]}"
  # A VM has no network: no resolv.conf from the host; hostname comes from nspawn -M.
  : >"$r/etc/resolv.conf"
  rm -f "$r/usr/sbin/policy-rc.d"   # services must start in the booted VM
}

RECIPE_HASH=$( { declare -f customize; echo "$BASE_RECIPE ${COMMON_PKGS[*]} ${SYSTEMD_PKGS[*]} ${OPENRC_PKGS[*]}";
  echo "${DOWNLOAD_PKGS[*]} $SECURITY_MIRROR"; } | sha256sum | cut -c1-12)
BASE_HASH=$(echo "$BASE_RECIPE" | sha256sum | cut -c1-12)
BASE_TAR="$CACHE/base-$SUITE-minbase-$BASE_HASH.tar"

build_kind() {               # build_kind KIND OUT
  local kind=$1 out=$2 t0=$SECONDS
  BUILD_DIR=$(mktemp -d "$CACHE/build-$kind.XXXXXX")
  mkdir "$BUILD_DIR/root"
  tar -C "$BUILD_DIR/root" --numeric-owner --xattrs --xattrs-include='*' -xf "$BASE_TAR"
  chroot_mount "$BUILD_DIR/root"
  log "customizing $kind image (log: $CACHE/build-$kind.log)"
  # Not in an `if`: set -e must stay in force inside the subshell.
  local rc
  set +e
  (set -e; customize "$kind") >"$CACHE/build-$kind.log" 2>&1
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then tail -n 30 "$CACHE/build-$kind.log" >&2; die "building the $kind image failed"; fi
  chroot_umount
  pack "$BUILD_DIR/root" "$out"
  rm -rf --one-file-system "$BUILD_DIR"; BUILD_DIR=""
  log "$kind image built in $((SECONDS - t0)) s: $out"
}

# unpack_dir TAR  -- the tarball unpacked once next to it (TAR%.tar.root), for overlay lower dirs.
unpack_dir() {
  local tarball=$1 dir=${1%.tar}.root t0=$SECONDS
  if [ ! -d "$dir" ]; then
    BUILD_DIR=$(mktemp -d "$dir.tmp.XXXXXX")
    tar -C "$BUILD_DIR" --numeric-owner --xattrs --xattrs-include='*' -xf "$tarball"
    chmod 755 "$BUILD_DIR"
    mv "$BUILD_DIR" "$dir"; BUILD_DIR=""
    log "unpacked in $((SECONDS - t0)) s: $dir"
  fi
  echo "$dir"
}

# Remove images of KIND other than KEEP (tarballs, and unpacked roots no overlay still uses).
remove_stale() {
  local kind=$1 keep=$2 old
  for old in "$CACHE"/vm-"$kind"-*.tar "$CACHE"/vm-"$kind"-*.root; do
    [ -e "$old" ] || continue
    [ "${old%.root}" = "${keep%.tar}" ] || [ "$old" = "$keep" ] && continue
    if [ -d "$old" ] && grep -q "lowerdir=$old" /proc/self/mounts; then continue; fi
    rm -rf --one-file-system "$old"
  done
}

main() {
  local kind=${1:-} want_dir=0
  [ "${2:-}" = --dir ] && want_dir=1
  case $kind in systemd|openrc|base) ;; *) echo "usage: $0 systemd|openrc|base [--dir]" >&2; exit 2 ;; esac
  [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mount)"
  local t
  for t in debootstrap tar sha256sum flock chroot mount; do command -v "$t" >/dev/null || die "missing tool: $t (run scripts/install-deps.sh)"; done
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock -w 1800 9 || die "timed out waiting for the image lock $CACHE/.lock"
  if [ ! -s "$BASE_TAR" ]; then build_base "$BASE_TAR"; fi
  if [ "$kind" = base ]; then echo "$BASE_TAR"; return; fi
  local out="$CACHE/vm-$kind-$RECIPE_HASH.tar"
  if [ ! -s "$out" ]; then
    build_kind "$kind" "$out"
    remove_stale "$kind" "$out"
  fi
  if [ $want_dir -eq 1 ]; then unpack_dir "$out"; else echo "$out"; fi
}

# Sourced (scripts/lab/qemu-image.sh reuses the chroot plumbing and customize): define only, run nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
