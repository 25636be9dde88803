#!/usr/bin/env bash
# System test: `wgagent apply --profile site-gateway` on a real Debian VM booted with systemd (systemd-nspawn),
# checked with the VM's own tools, then a real WireGuard tunnel to a hub peer namespace.
# Needs root; see tests/system/apply_common.sh for the topology and the environment variables.
set -uo pipefail
# shellcheck source=apply_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/apply_common.sh"
ap_main systemd
