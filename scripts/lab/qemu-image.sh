#!/usr/bin/env bash
# scripts/lab/qemu-image.sh [--print-hash]
#
# Prints the path of a ready QEMU "cloud image" directory, building it only when missing:
#
#   ${WGLAB_CACHE:-/var/cache/wgagent-lab}/qemu-bookworm-<hash>/
#     disk.raw   pristine root filesystem (ext4, label "root", made with `mkfs.ext4 -d`, sparse, 3 G):
#                the lower layer of every boot — nothing may write into it (VMs get qcow2 overlays)
#     vmlinuz    the guest kernel (linux-image-amd64), booted with -kernel
#     initrd.img its initramfs (initramfs-tools, virtio modules in it)
#     recipe     what was hashed;  packages  dpkg -l of the image;  build.log  the chroot log
#
# Like a stock Debian bookworm cloud image: systemd-sysv, udev, kmod, iproute2, ifupdown, netbase, dbus,
# cloud-init (Debian's own config: NO datasource_list override, so a NoCloud `cidata` drive is found by
# ds-identify and cloud-init runs once per instance-id), python3-cffi-backend, curl, ca-certificates, sudo, iputils-ping,
# procps, /etc/default/locale (LANG=C.UTF-8: cloud-init's locale module has nothing to do), an empty
# /etc/machine-id. NOT installed: wgagent, wireguard-tools, wireguard-go, qemu-guest-agent — those and the
# rest of what the agent installs on Debian (image.sh's DOWNLOAD_PKGS: ufw, iptables, sudo, procps, …) are
# only downloaded into /var/cache/apt/archives with the apt lists kept, so the isolated VM can
# `apt-get install` them offline (the approach of scripts/lab/image.sh, whose chroot plumbing and
# `customize systemd` step this script sources and runs as they are).
#
# The base is image.sh's cached `debootstrap --variant=minbase bookworm` tarball (`image.sh base`).
# <hash> covers image.sh's recipe hash (its customize function, package lists, mirror) and this file's
# own recipe (qemu_customize, the package list, disk size): editing either yields a new directory and a
# rebuild; stale qemu-bookworm-* directories no running process holds open are removed. With
# --print-hash, print the hash and exit. Progress and the build time go to stderr, the path alone to stdout.
# A lock ($CACHE/qemu-image.lock) serialises parallel callers. Needs root (chroot, mount).
set -euo pipefail

QI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=image.sh
. "$QI_DIR/image.sh"      # defines CACHE, MIRROR, chroot_mount/umount, in_chroot, customize, RECIPE_HASH, on_exit trap

QEMU_PKGS=(linux-image-amd64 systemd-sysv udev kmod iproute2 ifupdown netbase dbus cloud-init python3-cffi-backend
  curl ca-certificates sudo procps iputils-ping)
# Must not be installed in the image (the agent / the test installs them from the offline cache).
QEMU_ABSENT=(wireguard-tools wireguard-go qemu-guest-agent ufw)
QEMU_DISK_SIZE=3G

qlog() { printf 'qemu-image.sh: %s\n' "$*" >&2; }
die() { qlog "ERROR: $*"; exit 1; }   # image.sh's die, under this script's name

# Runs after `customize systemd` with CHROOT mounted. Everything that shapes the image beyond image.sh's
# recipe is in here (it is hashed).
qemu_customize() {
  local r=$CHROOT
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
  in_chroot apt-get install -y -q --no-install-recommends "${QEMU_PKGS[@]}"
  # What a cloud image carries that minbase does not.
  echo 'LANG=C.UTF-8' >"$r/etc/default/locale"
  echo 'LABEL=root / ext4 rw,discard,errors=remount-ro 0 1' >"$r/etc/fstab"
  echo debian >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
  cat >"$r/etc/network/interfaces" <<'EOF'
# The loopback network interface; cloud-init writes the rest into interfaces.d
auto lo
iface lo inet loopback

source /etc/network/interfaces.d/*
EOF
  mkdir -p "$r/etc/network/interfaces.d"
  # Each instance gets its own machine-id on first boot (as a cloud image ships it).
  : >"$r/etc/machine-id"; rm -f "$r/var/lib/dbus/machine-id"
  # Never a datasource_list override (LAB.md): cloud-init would then run on every boot.
  if grep -rqs '^datasource_list:.*NoCloud, *None' "$r/etc/cloud/cloud.cfg" "$r/etc/cloud/cloud.cfg.d"; then
    echo "datasource_list: [NoCloud, None] found in the image" >&2; return 1
  fi
  : >"$r/etc/resolv.conf"
  rm -f "$r/usr/sbin/policy-rc.d"
  # Check: the agent's packages are not installed, but in the cache.
  local p
  for p in "${QEMU_ABSENT[@]}"; do
    if in_chroot dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
      echo "$p must not be installed in the image" >&2; return 1
    fi
    compgen -G "$r/var/cache/apt/archives/${p}_*.deb" >/dev/null || { echo "$p not in the apt cache" >&2; return 1; }
  done
  compgen -G "$r/boot/vmlinuz-*" >/dev/null && compgen -G "$r/boot/initrd.img-*" >/dev/null \
    || { echo "no kernel/initrd in /boot" >&2; return 1; }
}

QEMU_RECIPE=$( { echo "image.sh recipe $RECIPE_HASH"; declare -f qemu_customize;
  echo "${QEMU_PKGS[*]} | ${QEMU_ABSENT[*]} | $QEMU_DISK_SIZE | mkfs.ext4 -L root -d"; })
QEMU_HASH=$(printf '%s\n' "$QEMU_RECIPE" | sha256sum | cut -c1-12)

# Is any process holding a file under DIR open (a running QEMU's backing disk)?
qemu_dir_in_use() {
  local d=$1 f
  for f in /proc/[0-9]*/fd/*; do
    case $(readlink "$f" 2>/dev/null) in "$d"/*) return 0 ;; esac
  done
  return 1
}

qemu_build() {              # qemu_build OUT_DIR
  local out=$1 t0=$SECONDS base log rc
  base=$("$QI_DIR/image.sh" base) || die "no base image (image.sh base)"
  BUILD_DIR=$(mktemp -d "$CACHE/qemu-build.XXXXXX")
  mkdir "$BUILD_DIR/root" "$BUILD_DIR/out"
  tar -C "$BUILD_DIR/root" --numeric-owner --xattrs --xattrs-include='*' -xf "$base"
  chroot_mount "$BUILD_DIR/root"
  log="$BUILD_DIR/out/build.log"
  qlog "customizing the QEMU image (≈ 2–5 min; log: $CACHE/qemu-build.log)"
  set +e
  (set -e; customize systemd; qemu_customize) >"$log" 2>&1
  rc=$?
  set -e
  cp -f "$log" "$CACHE/qemu-build.log"
  if [ $rc -ne 0 ]; then tail -n 30 "$log" >&2; die "building the QEMU image failed"; fi
  in_chroot dpkg-query -W -f='${Package} ${Version}\n' >"$BUILD_DIR/out/packages"
  chroot_umount
  local k i
  k=$(ls "$BUILD_DIR"/root/boot/vmlinuz-* | sort -V | tail -n1)
  i=$(ls "$BUILD_DIR"/root/boot/initrd.img-* | sort -V | tail -n1)
  cp "$k" "$BUILD_DIR/out/vmlinuz"; cp "$i" "$BUILD_DIR/out/initrd.img"
  printf '%s\n' "$QEMU_RECIPE" >"$BUILD_DIR/out/recipe"
  truncate -s "$QEMU_DISK_SIZE" "$BUILD_DIR/out/disk.raw"
  mkfs.ext4 -q -F -L root -d "$BUILD_DIR/root" "$BUILD_DIR/out/disk.raw" >>"$log" 2>&1 || die "mkfs.ext4 -d failed"
  chmod 444 "$BUILD_DIR/out/disk.raw"
  rm -rf --one-file-system "$BUILD_DIR/root"
  mv "$BUILD_DIR/out" "$out"
  rmdir "$BUILD_DIR" 2>/dev/null || rm -rf --one-file-system "$BUILD_DIR"
  BUILD_DIR=""
  qlog "QEMU image built in $((SECONDS - t0)) s: $out ($(du -sh --apparent-size "$out/disk.raw" | cut -f1) sparse disk, $(du -sh "$out/disk.raw" | cut -f1) used)"
}

qemu_image_main() {
  [ "${1:-}" = --print-hash ] && { echo "$QEMU_HASH"; return; }
  [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mount)"
  local t
  for t in debootstrap tar sha256sum flock chroot mount mkfs.ext4 truncate; do
    command -v "$t" >/dev/null || die "missing tool: $t (run scripts/install-deps.sh)"
  done
  mkdir -p "$CACHE"
  exec 8>"$CACHE/qemu-image.lock"
  flock -w 1800 8 || die "timed out waiting for the lock $CACHE/qemu-image.lock"
  local out="$CACHE/qemu-bookworm-$QEMU_HASH" t0=$SECONDS
  if [ -s "$out/disk.raw" ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
    qlog "cached: $out (checked in $((SECONDS - t0)) s)"
  else
    [ -e "$out" ] && rm -rf --one-file-system "$out"
    qemu_build "$out"
    local old
    for old in "$CACHE"/qemu-bookworm-*; do
      [ -d "$old" ] && [ "$old" != "$out" ] || continue
      if qemu_dir_in_use "$old"; then qlog "stale $old still in use: kept"; else rm -rf --one-file-system "$old"; fi
    done
  fi
  echo "$out"
}

qemu_image_main "$@"
