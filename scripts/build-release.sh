#!/usr/bin/env bash
# The binaries that go onto VMs: release, Swift runtime linked in, libsodium static.
#   wgagent  what remains shared: libc, libstdc++, libm, libcurl (every Debian/Alpine cloud image has them)
#   wghub    what remains shared: libc, libstdc++, libm, libsqlite3 (the hub VM of the lab has libsqlite3-0)
# Usage: scripts/build-release.sh [wgagent|wghub …]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
products=("$@")
[ ${#products[@]} -gt 0 ] || products=(wgagent wghub)
for p in "${products[@]}"; do
  swift build -c release --static-swift-stdlib --product "$p"
  # What goes onto a VM carries no symbol tables (about a quarter of the size).
  before=$(stat -c %s ".build/release/$p")
  strip --strip-unneeded ".build/release/$p"
  echo "built $(pwd)/.build/release/$p: $((before / 1048576)) MiB, stripped $(($(stat -c %s ".build/release/$p") / 1048576)) MiB; shared libraries:"
  ldd ".build/release/$p" | awk '{print "  " $1}'
done
