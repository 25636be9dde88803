#!/usr/bin/env bash
# benchmarks/footprint.sh [REPORTER_SECONDS]   (default 120; 600 is the issue's 10 minutes)
#
# The agent's footprint, this build beside the previous release, in lab VMs (systemd-nspawn, Debian 12):
#   - stripped size of wgagent and wghub, whether ICU is inside, `ldd`
#   - peak RSS (/usr/bin/time -v "Maximum resident set size") and CPU (user + system) of a no-op `apply`,
#     `status --json`, `report --once` (median of 3 runs each), and the programs a no-op apply spawns (strace)
#   - the reporter (`report --interval $INTERVAL`, default 10 s) over REPORTER_SECONDS: peak and steady RSS,
#     (and its private part, RssAnon), CPU in all and per report, voluntary context switches per report
# Each build gets its own fresh VM, enrolled with a hub (`wghub serve` in a namespace behind a NAT router, as
# tests/system/test_enroll_systemd.sh sets it up); the enroll's first apply installs the packages, so the
# measured apply is the converged one. Everything is in namespaces of this run, documentation addresses only;
# every wait is bounded; cleanup by trap (scripts/lab/lib.sh).
#
# Env: NEW_AGENT (REPO/.build/release/wgagent), PREV_AGENT (/var/tmp/wgagent-prev/.build/release/wgagent:
#      `git worktree add --detach /var/tmp/wgagent-prev 4cb4ff1 && (cd /var/tmp/wgagent-prev &&
#      scripts/build-release.sh)`), NEW_HUB / PREV_HUB (the release wghub beside each agent; sizes only),
#      WGHUB_BIN (the hub that serves: NEW_HUB if built, else REPO/.build/debug/wghub), INTERVAL (10).
# Needs root, /usr/bin/time and strace on the host (scripts/install-deps.sh); /usr/bin/time is copied into
# each VM.
set -uo pipefail

FP_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lab/lib.sh
. "$FP_REPO/scripts/lab/lib.sh"

DURATION=${1:-120}
INTERVAL=${INTERVAL:-10}
NEW_AGENT=${NEW_AGENT:-$FP_REPO/.build/release/wgagent}
PREV_AGENT=${PREV_AGENT:-/var/tmp/wgagent-prev/.build/release/wgagent}
# The previous release, checked out and built in a scratch folder outside the repo when it is not there yet.
PREV_REV=${PREV_REV:-4cb4ff1}
if [ ! -x "$PREV_AGENT" ] && [ "$PREV_AGENT" = /var/tmp/wgagent-prev/.build/release/wgagent ]; then
  echo "footprint: building the previous release ($PREV_REV) in /var/tmp/wgagent-prev (once; minutes)" >&2
  [ -d /var/tmp/wgagent-prev ] || git -C "$FP_REPO" worktree add --detach /var/tmp/wgagent-prev "$PREV_REV" >&2
  (cd /var/tmp/wgagent-prev && bash scripts/build-release.sh) >&2 || echo "footprint: the previous build failed" >&2
fi
NEW_HUB=${NEW_HUB:-$(dirname "$NEW_AGENT")/wghub}
PREV_HUB=${PREV_HUB:-$(dirname "$PREV_AGENT")/wghub}
if [ -z "${WGHUB_BIN:-}" ]; then
  if [ -x "$NEW_HUB" ]; then WGHUB_BIN=$NEW_HUB; else WGHUB_BIN=$FP_REPO/.build/debug/wghub; fi
fi
FP_HUB_IF="wgf$$"
FP_HUB_LINK=203.0.113.1
FP_URL="https://$FP_HUB_LINK:8443"
declare -A R=()     # R[build.figure] = value

fp_mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# fp_size BUILD AGENT HUB — stripped sizes (of a stripped copy: build-release.sh strips, a plain build does not),
# ICU inside or not, shared libraries.
fp_size() {
  local b=$1 agent=$2 hub=$3 f
  for f in agent hub; do
    local bin; [ $f = agent ] && bin=$agent || bin=$hub
    if [ -x "$bin" ]; then
      strip --strip-unneeded -o "$LAB_DIR/$b-$f.stripped" "$bin"
      R[$b.$f-size]="$(fp_mib "$(stat -c %s "$LAB_DIR/$b-$f.stripped")") MiB"
      # ICU's data table is the symbol icudt*_dat; Foundation's i18n half names itself in its metadata.
      if grep -aqE 'icudt[0-9]+_dat|FoundationInternationalization' "$LAB_DIR/$b-$f.stripped"; then
        R[$b.$f-icu]=yes
      else
        R[$b.$f-icu]=no
      fi
    else
      R[$b.$f-size]="not built"; R[$b.$f-icu]="?"
    fi
  done
  R[$b.ldd]=$(ldd "$agent" 2>/dev/null | awk '{print $1}' | sed 's/^.*\///' | tr '\n' ' ')
}

# fp_time LABEL CMD… — /usr/bin/time -v inside VM $FP_VM; sets FP_RSS (KiB), FP_CPU (ms), FP_RC.
fp_time() {
  local label=$1; shift
  FP_RC=0
  lab_vm_exec "$FP_VM" /usr/local/bin/time -v -o "/var/tmp/$label.time" "$@" >"$LAB_DIR/$FP_B-$label.out" 2>&1 || FP_RC=$?
  lab_vm_exec "$FP_VM" cat "/var/tmp/$label.time" >"$LAB_DIR/$FP_B-$label.time" 2>/dev/null
  FP_RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LAB_DIR/$FP_B-$label.time")
  FP_CPU=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END { printf "%d", (u + s) * 1000 + 0.5 }' "$LAB_DIR/$FP_B-$label.time")
}

# fp_median3 KEY LABEL CMD… — three runs; the median CPU and the median peak RSS go to R[build.KEY-cpu/-rss].
fp_median3() {
  local key=$1 label=$2; shift 2
  local cpus=() rsss=() i
  for i in 1 2 3; do
    fp_time "$label-$i" "$@"
    [ "$FP_RC" -eq 0 ] || lab_bad "$FP_B: $* exited $FP_RC (see $LAB_DIR/$FP_B-$label-$i.out)"
    cpus+=("$FP_CPU"); rsss+=("$FP_RSS")
  done
  R[$FP_B.$key-cpu]="$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 2p) ms"
  R[$FP_B.$key-rss]="$(fp_mib "$(( $(printf '%s\n' "${rsss[@]}" | sort -n | sed -n 2p) * 1024 ))") MiB"
  lab_info "$FP_B $key: CPU ${cpus[*]} ms, peak RSS ${rsss[*]} KiB"
}

# fp_measure BUILD AGENT — one VM: enroll, then the figures.
fp_measure() {
  FP_B=$1
  local agent=$2 token rc=0 p1 i
  FP_VM=$FP_B
  lab_step "$FP_B: boot a systemd VM, copy the agent ($agent) and /usr/bin/time in, enroll"
  lab_vm_boot "$FP_VM" systemd site
  lab_vm_copy "$FP_VM" "$agent" /usr/local/bin/wgagent || lab_fail "copy $agent into the VM"
  lab_vm_copy "$FP_VM" /usr/bin/time /usr/local/bin/time || lab_fail "copy /usr/bin/time into the VM"
  token=$("$WGHUB_BIN" token create --data "$LAB_DIR/hub" --uses 1 --name "$FP_B" 2>/dev/null \
    | sed -n 's/.*--token \([^ ]*\).*/\1/p' | head -n1)
  [ -n "$token" ] || lab_fail "wghub token create gave no token"
  lab_vm_exec "$FP_VM" timeout 300 /usr/local/bin/wgagent enroll --hub "$FP_URL" --token "$token" --pin "$FP_PIN" \
    --wait 30 >"$LAB_DIR/$FP_B-enroll.out" 2>&1 || rc=$?
  lab_expect "$FP_B: enroll exits 0" 0 "$rc"
  [ "$rc" -eq 0 ] || { tail -n 20 "$LAB_DIR/$FP_B-enroll.out" >&2; return 1; }
  # The service would report on its own meanwhile; the figures are of the commands alone.
  lab_vm_exec "$FP_VM" systemctl stop wgagent-reporter
  lab_vm_exec "$FP_VM" /usr/local/bin/wgagent apply --profile site-gateway >"$LAB_DIR/$FP_B-apply0.out" 2>&1 \
    || lab_bad "$FP_B: the warm-up apply failed"
  lab_vm_exec "$FP_VM" /usr/local/bin/wgagent apply --profile site-gateway --json >"$LAB_DIR/$FP_B-apply-json.out" 2>/dev/null
  lab_expect "$FP_B: no-op apply changed" 0 "$(jq -r .changed "$LAB_DIR/$FP_B-apply-json.out" 2>/dev/null)"

  lab_step "$FP_B: no-op apply, status --json, report --once (3 runs each)"
  fp_median3 apply apply /usr/local/bin/wgagent apply --profile site-gateway
  fp_median3 status status /usr/local/bin/wgagent status --json
  fp_median3 report report /usr/local/bin/wgagent report --once
  # The programs a no-op apply runs: execve calls below nsenter/env/wgagent itself.
  p1=$(lab_vm_pid1 "$FP_VM")
  strace -f -qq -e trace=execve -e signal=none -o "$LAB_DIR/$FP_B-apply.strace" \
    nsenter -t "$p1" -a -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 /usr/local/bin/wgagent apply --profile site-gateway >/dev/null 2>&1
  R[$FP_B.apply-spawns]=$(grep -c 'execve(' "$LAB_DIR/$FP_B-apply.strace" | awk '{print $1 - 3}')
  R[$FP_B.apply-programs]=$(grep -o 'execve("[^"]*"' "$LAB_DIR/$FP_B-apply.strace" | sed 's/execve("//; s/"$//; s/.*\///' \
    | grep -vxE 'nsenter|env|wgagent' | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')
  lab_info "$FP_B: a no-op apply ran ${R[$FP_B.apply-spawns]} programs: ${R[$FP_B.apply-programs]}"

  lab_step "$FP_B: the reporter, report --interval $INTERVAL for $DURATION s"
  local seq0; seq0=$(lab_vm_exec "$FP_VM" cat /var/lib/wgagent/report-seq 2>/dev/null | tr -dc 0-9)
  lab_vm_sh "$FP_VM" "rm -f /var/tmp/rep.pid; /usr/local/bin/time -v -o /var/tmp/reporter.time timeout -s INT $DURATION \
    sh -c 'echo \$\$ >/var/tmp/rep.pid; exec /usr/local/bin/wgagent report --interval $INTERVAL' >/var/tmp/reporter.log 2>&1" &
  local bg=$!
  # Steady RSS: sampled once near the end, between two reports.
  sleep $((DURATION > 20 ? DURATION - 5 - INTERVAL / 2 : DURATION / 2))
  local rep; rep=$(lab_vm_exec "$FP_VM" cat /var/tmp/rep.pid 2>/dev/null)
  R[$FP_B.reporter-steady]="$(fp_mib "$(( $(lab_vm_exec "$FP_VM" awk '/^VmRSS/ {print $2}' "/proc/$rep/status" 2>/dev/null || echo 0) * 1024 ))") MiB"
  # Of it, what is the process's own (heap, stacks, written pages): the rest is file pages of the binary and
  # the shared libraries, shared with every other process that maps them.
  R[$FP_B.reporter-private]="$(fp_mib "$(( $(lab_vm_exec "$FP_VM" awk '/^RssAnon/ {print $2}' "/proc/$rep/status" 2>/dev/null || echo 0) * 1024 ))") MiB"
  R[$FP_B.reporter-threads]=$(lab_vm_exec "$FP_VM" awk '/^Threads/ {print $2}' "/proc/$rep/status" 2>/dev/null)
  for ((i = 0; i < DURATION + 30; i++)); do kill -0 "$bg" 2>/dev/null || break; sleep 1; done
  kill -0 "$bg" 2>/dev/null && { lab_bad "$FP_B: the reporter run did not end"; kill "$bg" 2>/dev/null; }
  wait "$bg" 2>/dev/null
  lab_vm_exec "$FP_VM" cat /var/tmp/reporter.time >"$LAB_DIR/$FP_B-reporter.time" 2>/dev/null
  lab_vm_exec "$FP_VM" cat /var/tmp/reporter.log >"$LAB_DIR/$FP_B-reporter.log" 2>/dev/null
  local n cpu vcs
  n=$(( $(lab_vm_exec "$FP_VM" cat /var/lib/wgagent/report-seq 2>/dev/null | tr -dc 0-9) - ${seq0:-0} ))
  cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END { printf "%d", (u + s) * 1000 + 0.5 }' "$LAB_DIR/$FP_B-reporter.time")
  vcs=$(awk -F': ' '/Voluntary context switches/ {print $2}' "$LAB_DIR/$FP_B-reporter.time")
  R[$FP_B.reporter-peak]="$(fp_mib "$(( $(awk -F': ' '/Maximum resident set size/ {print $2}' "$LAB_DIR/$FP_B-reporter.time") * 1024 ))") MiB"
  R[$FP_B.reporter-reports]=$n
  R[$FP_B.reporter-cpu]="$cpu ms"
  R[$FP_B.reporter-cpu-per]="$( [ "${n:-0}" -gt 0 ] && echo "$((cpu / n)) ms" || echo "?")"
  R[$FP_B.reporter-wakeups]="$( [ "${n:-0}" -gt 0 ] && echo "$((vcs / n))" || echo "?")"
  lab_info "$FP_B reporter: $n reports, CPU $cpu ms, $vcs voluntary context switches, log: $(tail -n 1 "$LAB_DIR/$FP_B-reporter.log")"
  lab_vm_stop "$FP_VM"
}

main() {
  lab_require_root_and_tools wg wireguard-go jq strace strip python3
  [ -x /usr/bin/time ] || { echo "footprint: no /usr/bin/time (apt-get install time)" >&2; exit 1; }
  local b
  for b in "$NEW_AGENT" "$PREV_AGENT" "$WGHUB_BIN"; do
    [ -x "$b" ] || { echo "footprint: no binary at $b (see the header of $0)" >&2; exit 1; }
  done
  lab_init
  local i
  lab_step "hub namespace behind a NAT router: wireguard-go $FP_HUB_IF, wghub serve on $FP_URL ($WGHUB_BIN)"
  lab_netns hub; lab_netns router; lab_netns site
  lab_link hub hubveth "$FP_HUB_LINK/24" router wan0 203.0.113.2/24
  lab_link router lan0 198.51.100.1/24 site uplink0 198.51.100.2/24
  lab_ns_exec router sysctl -q -w net.ipv4.ip_forward=1 || lab_fail "ip_forward in the router namespace"
  lab_ns_exec router iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE || lab_fail "MASQUERADE in the router"
  lab_route site default via 198.51.100.1
  (umask 077; wg genkey >"$LAB_DIR/hub.key")
  lab_track_file "/run/wireguard/$FP_HUB_IF.sock"
  lab_bg "$LAB_DIR/hub-wireguard-go.log" ip netns exec "$(lab_ns hub)" wireguard-go -f "$FP_HUB_IF"
  for ((i = 0; i < 50; i++)); do [ -S "/run/wireguard/$FP_HUB_IF.sock" ] && break; sleep 0.1; done
  lab_ns_exec hub wg set "$FP_HUB_IF" private-key "$LAB_DIR/hub.key" listen-port 51820 || lab_fail "wg set $FP_HUB_IF"
  lab_addr hub "$FP_HUB_IF" 192.0.2.1/24
  ip -n "$(lab_ns hub)" link set "$FP_HUB_IF" up || lab_fail "link up $FP_HUB_IF"
  mkdir -p "$LAB_DIR/hub"; chmod 700 "$LAB_DIR/hub"
  lab_bg "$LAB_DIR/wghub.log" ip netns exec "$(lab_ns hub)" "$WGHUB_BIN" serve --listen "$FP_HUB_LINK:8443" \
    --data "$LAB_DIR/hub" --interface "$FP_HUB_IF" --endpoint "$FP_HUB_LINK:51820" --pool 192.0.2.0/24
  FP_PIN=""
  for ((i = 0; i < 300; i++)); do
    FP_PIN=$(awk '$1 == "pin" {print $2; exit}' "$LAB_DIR/wghub.log" 2>/dev/null)
    [ -n "$FP_PIN" ] && break
    sleep 0.1
  done
  [ -n "$FP_PIN" ] || { cat "$LAB_DIR/wghub.log" >&2; lab_fail "wghub serve printed no pin within 30 s"; }

  fp_size prev "$PREV_AGENT" "$PREV_HUB"
  fp_size new "$NEW_AGENT" "$NEW_HUB"
  fp_measure prev "$PREV_AGENT"
  fp_measure new "$NEW_AGENT"

  lab_step "figures (median of 3 runs; reporter: $DURATION s at --interval $INTERVAL)"
  {
    printf '| %s | %s | %s |\n' "figure" "previous (4cb4ff1)" "this build"
    printf '|---|---:|---:|\n'
    local k label
    for k in "agent-size:wgagent stripped" "agent-icu:ICU inside wgagent" "hub-size:wghub stripped" "hub-icu:ICU inside wghub" \
      "apply-cpu:no-op apply CPU" "apply-rss:no-op apply peak RSS" "apply-spawns:no-op apply programs run" \
      "status-cpu:status --json CPU" "status-rss:status --json peak RSS" \
      "report-cpu:report --once CPU" "report-rss:report --once peak RSS" \
      "reporter-peak:reporter peak RSS" "reporter-steady:reporter steady RSS" "reporter-private:…of it private (RssAnon)" "reporter-threads:reporter threads" \
      "reporter-reports:reporter reports sent" "reporter-cpu:reporter CPU in all" "reporter-cpu-per:reporter CPU per report" \
      "reporter-wakeups:reporter wake-ups (voluntary switches) per report"; do
      label=${k#*:}; k=${k%%:*}
      printf '| %s | %s | %s |\n' "$label" "${R[prev.$k]:-?}" "${R[new.$k]:-?}"
    done
  } | tee "$LAB_DIR/figures.md"
  printf '\nprograms a no-op apply runs:\n  previous: %s\n  this:     %s\n' "${R[prev.apply-programs]:-?}" "${R[new.apply-programs]:-?}"
  printf 'shared libraries (wgagent):\n  previous: %s\n  this:     %s\n' "${R[prev.ldd]:-?}" "${R[new.ldd]:-?}"
  cp "$LAB_DIR/figures.md" "${FOOTPRINT_OUT:-/var/tmp/footprint-figures.md}" 2>/dev/null
  lab_summary
}

main "$@"
