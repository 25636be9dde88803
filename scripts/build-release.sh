#!/usr/bin/env bash
# The binaries that go onto VMs: release, Swift runtime linked in, libsodium static.
#   wgagent  what remains shared: libc, libstdc++, libm; libcurl is opened on the first HTTPS call (CCurlLazy);
#            no Foundation beyond FoundationEssentials, so no ICU (its data alone was 34 MB of 58 MiB)
#   wghub    what remains shared: libc, libstdc++, libm, libsqlite3 (the hub VM of the lab has libsqlite3-0)
# Usage: scripts/build-release.sh [wgagent|wghub …]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
products=("$@")
[ ${#products[@]} -gt 0 ] || products=(wgagent wghub)
# The agent is fetched at first boot over whatever link a site has, so it is built for size:
#   -Osize                       our modules and ArgumentParser (~0.2 MB less than -O; nothing it does is hot)
#   ld.bfd -z pack-relative-relocs   DT_RELR: the ~1 MB of PIE relocations packed to a few KB, still PIE (ASLR).
#                                It needs glibc >= 2.36 to run (Debian 12; the binary already needed 2.35).
#                                gold, Swift's default linker here, has no such option.
agent_flags=(-Xswiftc -Osize -Xswiftc -use-ld=bfd -Xlinker -z -Xlinker pack-relative-relocs)
for p in "${products[@]}"; do
  flags=()
  [ "$p" = wgagent ] && flags=("${agent_flags[@]}")
  swift build -c release --static-swift-stdlib --product "$p" "${flags[@]}"
  # What goes onto a VM carries no symbol tables (about a quarter of the size).
  before=$(stat -c %s ".build/release/$p")
  strip --strip-unneeded ".build/release/$p"
  echo "built $(pwd)/.build/release/$p: $((before / 1048576)) MiB, stripped $(($(stat -c %s ".build/release/$p") / 1048576)) MiB; shared libraries:"
  ldd ".build/release/$p" | awk '{print "  " $1}'
done
