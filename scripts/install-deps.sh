#!/usr/bin/env bash
# Installs every system package the build, the tests and the lab need (Debian 12 host, root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  pkg-config libsodium-dev libcurl4-openssl-dev libsqlite3-dev libyaml-dev binutils   # build (binutils: strip)
  wireguard-tools wireguard-go iproute2 iptables conntrack iputils-ping procps  # tunnels, lab
  debootstrap systemd-container                                   # VMs
  qemu-system-x86 qemu-utils socat genisoimage                    # real QEMU VMs (scripts/lab/qemu.sh)
  openssl curl ca-certificates python3 jq
  chromium python3-websocket                                      # wghub in a real browser (DevTools protocol over a WebSocket)
  wrk bc                                                          # wghub benchmark
  time strace                                                     # footprint benchmark (peak RSS, CPU, programs run)
  python3-aiosmtpd                                                # a real SMTP server (STARTTLS, AUTH) for the alert tests
)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
# The alert tests run /usr/bin/python3 with aiosmtpd: Debian's package above, else from PyPI.
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
  /usr/bin/python3 -m pip install -q --break-system-packages aiosmtpd
fi
