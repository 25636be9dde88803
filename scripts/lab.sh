#!/usr/bin/env bash
# The main job on a throwaway lab. Installs what it needs, builds the release binaries, then:
#
#   scripts/lab.sh              the whole story, end to end (tests/system/test_lab_e2e.sh): a hub VM provisioned
#                               by `wgagent apply --profile hub` running wghub, a home router with NAT, a site VM
#                               whose first boot enrolls it, a LAN host behind it; tunnel, pings, dashboard,
#                               /metrics, port-forward verdicts, wghub killed and back with no report lost
#   scripts/lab.sh alerts       alerts from a real outage (tests/system/test_lab_alerts.sh): the same hub VM and router,
#                               two site VMs with real tunnels, a webhook receiver and an SMTP server; one site cut at
#                               the router until its incident opens (wghub killed -9 during the grace, the webhook
#                               receiver down when "resolved" is due), the other a blip shorter than the grace: exactly one
#                               "opened" and one "resolved" per channel for the first, nothing for the second
#   scripts/lab.sh apply [systemd|openrc]
#                               one fresh VM becomes a site gateway with `wgagent apply` (no hub)
#   scripts/lab.sh qemu         Proxmox for real (tests/system/test_qemu_firstboot.sh): a stock Debian cloud image in
#                               a QEMU VM, nothing but the cloud-init drive `wghub token create --cloud-init` printed,
#                               becomes an online site on the kernel's WireGuard; guest agent, reboot, clone; the
#                               times power-on -> cloud-init done -> site online printed as a benchmark line
#   scripts/lab.sh qemu-infra   the QEMU lab library alone (tests/system/qemu_infra.sh: image, seed, guest agent,
#                               reboot, clone, savevm/loadvm), with hand-written user-data
#
# Every step is printed as it runs; everything it creates (VMs, namespaces, mounts) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-e2e}
usage="usage: scripts/lab.sh [alerts | apply [systemd|openrc] | qemu | qemu-infra]"
case $job in
  e2e) script=tests/system/test_lab_e2e.sh ;;
  alerts) script=tests/system/test_lab_alerts.sh ;;
  apply)
    kind=${2:-systemd}
    case $kind in systemd|openrc) ;; *) echo "$usage" >&2; exit 2 ;; esac
    script=tests/system/test_apply_$kind.sh ;;
  qemu) script=tests/system/test_qemu_firstboot.sh ;;
  qemu-infra) script=tests/system/qemu_infra.sh ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "lab.sh: needs root (network namespaces, nspawn)" >&2; exit 1; }
bash scripts/install-deps.sh
bash scripts/build-release.sh
exec bash "$script"
