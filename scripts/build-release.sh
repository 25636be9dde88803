#!/usr/bin/env bash
# The binaries that go onto VMs: release, Swift runtime linked in, libsodium static.
# What remains shared: libc, libstdc++, libm, libcurl (every Debian/Alpine cloud image has them).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product wgagent
echo "built $(pwd)/.build/release/wgagent; shared libraries:"
ldd .build/release/wgagent | awk '{print "  " $1}'
