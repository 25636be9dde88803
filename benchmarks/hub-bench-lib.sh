# Sourced by the wghub benchmarks: the binary (WGHUB_BIN, else a release build), a work folder removed on exit,
# and start_hub, whose hub is stopped by its PID on exit (trap).
bin=${WGHUB_BIN:-}
if [ -z "$bin" ]; then
  swift build -c release --product wghub >&2
  bin=$(swift build -c release --show-bin-path)/wghub
fi
work=$(mktemp -d /tmp/wghub-bench.XXXXXX)
hub_pid=""
cleanup() {
  if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_hub DATA [SERVE OPTION…]: `wghub serve --no-interface` over TLS on a free loopback port ($port), waiting
# (at most 30 s) for the pin line it prints once listening; its log is $work/serve.log.
start_hub() {
  local data=$1; shift
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local hubkey
  hubkey=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
  "$bin" serve --listen 127.0.0.1:$port --data "$data" --endpoint 203.0.113.1:51820 --pool 2001:db8:7::/112 \
    --no-interface --hub-public-key "$hubkey" --log-level error "$@" > "$work/serve.log" 2>&1 &
  hub_pid=$!
  for _ in $(seq 1 600); do grep -q '^pin ' "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
  grep -q '^pin ' "$work/serve.log" || { cat "$work/serve.log"; exit 1; }
}
