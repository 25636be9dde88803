#!/usr/bin/env bash
# The main job on a throwaway lab: installs what it needs, builds wgagent, boots a fresh Debian VM
# (systemd-nspawn, its own network namespace, no network but a WireGuard peer), runs
# `wgagent apply --profile site-gateway` in it, and shows the VM come up as a WireGuard gateway:
# packages, admin user, forwarding, keys, wg0.conf, ufw, wg-quick@wg0, a handshake and pings.
# Everything it creates is removed on exit.  Usage: scripts/lab.sh [systemd|openrc]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-systemd}
case $kind in systemd|openrc) ;; *) echo "usage: scripts/lab.sh [systemd|openrc]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "lab.sh: needs root (network namespaces, nspawn)" >&2; exit 1; }
bash scripts/install-deps.sh
bash scripts/build-release.sh
exec bash "tests/system/test_apply_$kind.sh"
