# shellcheck shell=bash
# tests/system/lab_alerts.sh — the alert receivers of the system tests (sourced after scripts/lab/lib.sh by
# test_alerts.sh and test_lab_alerts.sh): a self-signed certificate, tests/alerts/smtp_sink.py (aiosmtpd: STARTTLS and
# AUTH required) and tests/alerts/webhook_sink.py (each signature checked with Python's hmac) started in a namespace
# of the run, and what they received, read back (tests/alerts/received.py).
#
#   alerts_need_aiosmtpd                 exit 1 loudly unless /usr/bin/python3 has aiosmtpd
#   alerts_cert SAN                      $LAB_DIR/sink-cert.pem and sink-key.pem, subjectAltName SAN (DNS:…,IP:…)
#   alerts_smtp_up NS DIR ADDR PORT USER PASSWORD    smtp_sink.py in namespace NS on ADDR:PORT, mail into DIR
#   alerts_hook_up NS DIR ADDR PORT SECRET [tls]     webhook_sink.py in NS on ADDR:PORT (HTTPS with the certificate
#                                        when "tls"), requests into DIR (numbering goes on from what DIR holds);
#                                        its PID in ALERTS_HOOK_PID
#   alerts_hook_down                     stop that webhook receiver (by its PID)
#   alerts_received DIR                  one JSON object a message, in arrival order (see tests/alerts/received.py)
#   alerts_events DIR                    the event of each message: "opened/ok resolved/ok test/ok" (BAD when a
#                                        signature, STARTTLS, AUTH or a delivery id is not as it should be)

ALERTS_PY=/usr/bin/python3
ALERTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../alerts" && pwd)
ALERTS_HOOK_PID=

alerts_need_aiosmtpd() {
  $ALERTS_PY -c 'import aiosmtpd' 2>/dev/null && return 0
  echo "$(basename "$0" .sh): ERROR: $ALERTS_PY lacks aiosmtpd (the real SMTP server of the alert tests): run scripts/install-deps.sh. Not skipping." >&2
  echo "0 passed, 1 failed"
  exit 1
}

alerts_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=wghub-lab-receivers -addext "subjectAltName=$1" \
    -keyout "$LAB_DIR/sink-key.pem" -out "$LAB_DIR/sink-cert.pem" -days 1 2>/dev/null || lab_fail "openssl req (receivers' certificate)"
}

# _alerts_ready LOG WHAT: wait (≤ 10 s) for the sink's READY line.
_alerts_ready() {
  local i
  for ((i = 0; i < 100; i++)); do grep -q READY "$1" && return 0; sleep 0.1; done
  sed 's/^/          | /' "$1" >&2
  lab_fail "$2 did not start"
}

alerts_smtp_up() {
  local ns=$1 dir=$2 addr=$3 port=$4 user=$5 password=$6
  mkdir -p "$dir"
  lab_bg "$LAB_DIR/smtp.log" ip netns exec "$(lab_ns "$ns")" $ALERTS_PY "$ALERTS_DIR/smtp_sink.py" "$dir" \
    "$LAB_DIR/sink-cert.pem" "$LAB_DIR/sink-key.pem" "$user" "$password" "$port" "$addr"
  _alerts_ready "$LAB_DIR/smtp.log" smtp_sink.py
}

alerts_hook_up() {
  local ns=$1 dir=$2 addr=$3 port=$4 secret=$5 tls=()
  [ "${6:-}" = tls ] && tls=(--cert "$LAB_DIR/sink-cert.pem" --key "$LAB_DIR/sink-key.pem")
  mkdir -p "$dir"
  lab_bg "$LAB_DIR/hook.log" ip netns exec "$(lab_ns "$ns")" $ALERTS_PY "$ALERTS_DIR/webhook_sink.py" "$dir" \
    --secret "$secret" --addr "$addr" --port "$port" "${tls[@]}"
  ALERTS_HOOK_PID=$LAB_LAST_PID
  _alerts_ready "$LAB_DIR/hook.log" webhook_sink.py
}

alerts_hook_down() {
  [ -n "$ALERTS_HOOK_PID" ] || return 0
  kill -TERM "$ALERTS_HOOK_PID" 2>/dev/null
  _lab_wait_gone "$ALERTS_HOOK_PID" 5 || kill -KILL "$ALERTS_HOOK_PID" 2>/dev/null
  wait "$ALERTS_HOOK_PID" 2>/dev/null
  ALERTS_HOOK_PID=
  return 0
}

alerts_received() { $ALERTS_PY "$ALERTS_DIR/received.py" "$1"; }

alerts_events() {
  alerts_received "$1" | jq -rs 'map(.event + (if .ok then "/ok" else "/BAD" end)) | join(" ")'
}
