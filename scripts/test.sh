#!/usr/bin/env bash
# Every test: installs what it needs, builds, runs the unit tests, then the system tests on real VMs.
#   scripts/test.sh            everything (needs root: namespaces, nspawn VMs)
#   scripts/test.sh --unit     unit tests only
set -euo pipefail
cd "$(dirname "$0")/.."
unit_only=0
[ "${1:-}" = "--unit" ] && unit_only=1

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: the tests need root (network namespaces, nspawn VMs, apt-get install). Run it as root." >&2
  exit 1
fi
bash scripts/install-deps.sh

echo "== unit tests (swift test)"
swift build --build-tests
# pipefail: a failing swift test fails the pipeline, and set -e ends the run here.
swift test --skip-build 2>&1 | tee .build/unit-tests.log

[ $unit_only -eq 1 ] && exit 0

echo "== release build for the VMs (static Swift runtime)"
bash scripts/build-release.sh

echo "== system tests"
passed=0; failed=0; failures=()
for t in tests/system/test_*.sh; do
  echo "-- $t"
  if bash "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$t"); fi
done
echo "system: $passed passed, $failed failed"
[ $failed -eq 0 ] || { printf 'failed: %s\n' "${failures[@]}" >&2; exit 1; }
