#!/usr/bin/env bash
# Alerts from a shell, as an operator (or the lab) drives them: the release wghub in a network namespace of its own
# (loopback only, --no-interface: a site's status comes from its reports), a webhook receiver and an SMTP server
# (STARTTLS with a self-signed certificate, AUTH required) from tests/alerts/, receivers added with `wghub alert add`,
# a site enrolled and reporting with curl. The site stops reporting: one "opened" on each channel, with wghub killed
# (-9) and started again during the grace and the webhook receiver down when it was due; the site reports again:
# one "resolved" on each. `wghub alert test` goes through the same outbox.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lab/lib.sh
. tests/system/lab_alerts.sh

WGHUB_BIN=${WGHUB_BIN:-$PWD/.build/release/wghub}
PY=/usr/bin/python3
URL=https://127.0.0.1:8443
HOOK_SECRET=hook-secret-$RANDOM$RANDOM

in_hub() { lab_ns_exec hub "$@"; }

serve() {
  lab_hub_serve "$LAB_DIR/wghub.log" "^pin " 20 "$WGHUB_BIN" serve --listen 127.0.0.1:8443 --data "$LAB_DIR/hub" \
    --endpoint 203.0.113.1:51820 --pool 192.0.2.0/24 --no-interface --hub-public-key "$HUB_PUB" --log-level notice \
    --stale-after 1s --offline-after 3s --alert-grace 5s --alert-hold-down 0 --alert-interval 0.5s
  PIN=$(awk '/^pin /{print $2}' "$LAB_DIR/wghub.log" | tail -n 1)
  [ -n "$PIN" ] || lab_fail "wghub printed no pin"
}

sinks() {
  lab_step "receivers: tests/alerts/webhook_sink.py and tests/alerts/smtp_sink.py (aiosmtpd: STARTTLS, AUTH)"
  alerts_cert DNS:localhost,IP:127.0.0.1
  alerts_smtp_up hub "$LAB_DIR/mail" 127.0.0.1 2525 alerts mail-pass
  printf 'mail-pass\n' >"$LAB_DIR/mail-password"
  lab_ok "SMTP server on 127.0.0.1:2525 (STARTTLS, AUTH required)"
}

hook_up() { alerts_hook_up hub "$LAB_DIR/hook" 127.0.0.1 8099 "$HOOK_SECRET"; }

api() {  # api METHOD PATH [BODY] [BEARER]
  in_hub timeout 10 curl -sS -k --pinnedpubkey "$PIN" -X "$1" -H 'Content-Type: application/json' \
    ${4:+-H "Authorization: Bearer $4"} ${3:+--data "$3"} "$URL$2"
}

report() {
  SEQ=$((SEQ + 1))
  api POST /v1/health "{\"seq\": $SEQ, \"agent_time\": $(date +%s), \"interface\": \"wg0\", \"peers\": [], \"checks\": []}" "$CRED" >/dev/null \
    || lab_fail "health report $SEQ"
}

main() {
  lab_require_root_and_tools ip curl openssl wg jq
  lab_require_binary wghub "$WGHUB_BIN" WGHUB_BIN "scripts/build-release.sh wghub"
  alerts_need_aiosmtpd
  lab_init
  lab_netns hub
  HUB_PUB=$(wg genkey | wg pubkey)
  sinks

  lab_step "wghub serve --no-interface --offline-after 3s --alert-grace 5s --alert-hold-down 0"
  serve
  lab_step "wghub alert add: a signed webhook (receiver down for now) and mail over STARTTLS with AUTH"
  HOOK_ID=$(in_hub "$WGHUB_BIN" alert add --data "$LAB_DIR/hub" --allow-private-receivers --webhook http://127.0.0.1:8099/hook --secret "$HOOK_SECRET" | cut -f1)
  MAIL_ID=$(in_hub "$WGHUB_BIN" alert add --data "$LAB_DIR/hub" --smtp localhost:2525 --from wghub@example.net \
    --to ops@example.net --user alerts --password-file "$LAB_DIR/mail-password" --starttls --ca-file "$LAB_DIR/sink-cert.pem" | cut -f1)
  local listed; listed=$(in_hub "$WGHUB_BIN" alert list --data "$LAB_DIR/hub")
  lab_expect "wghub alert list shows both, never a secret" "2 0" \
    "$(grep -cE "^($HOOK_ID|$MAIL_ID)" <<<"$listed") $(grep -cE "$HOOK_SECRET|mail-pass" <<<"$listed" || true)"

  lab_step "a site enrolls and reports (curl)"
  local token key answer
  token=$(in_hub "$WGHUB_BIN" token create --data "$LAB_DIR/hub" --name site-s --uses 1 2>/dev/null | sed -n 2p)
  key=$(wg genkey | wg pubkey)
  answer=$(api POST /v1/enroll "{\"token\": \"$token\", \"public_key\": \"$key\", \"hostname\": \"site-s\", \"listen_port\": 51820, \"lan_subnets\": []}")
  CRED=$($PY -c 'import json,sys; print(json.load(sys.stdin)["credential"])' <<<"$answer") || lab_fail "enroll: $answer"
  SEQ=0
  report
  lab_ok "site-s enrolled and reported"

  lab_step "site-s stops reporting: offline after 3 s, then the 5 s grace; wghub is killed (-9) and started again meanwhile"
  lab_wait 10 "a pending incident in the store" \
    bash -c "[ -n \"\$(lab_sqlite '$LAB_DIR/hub/wghub.sqlite' \"SELECT id FROM incidents WHERE opened_at IS NULL\")\" ]" || true
  kill -KILL "$LAB_HUB_PID"; wait "$LAB_HUB_PID" 2>/dev/null || true
  serve
  lab_ok "wghub restarted on the same data folder"
  lab_wait 20 "the opened mail arrived" bash -c "[ -e '$LAB_DIR/mail/1.eml' ]" || true
  lab_wait 10 "the opened webhook was tried while the receiver was down" \
    bash -c "[ -n \"\$(lab_sqlite '$LAB_DIR/hub/wghub.sqlite' \"SELECT 1 FROM alert_outbox WHERE receiver_id = '$HOOK_ID' AND attempts > 0 AND delivered_at IS NULL\")\" ]" || true
  hook_up
  lab_wait 20 "the webhook receiver, back, got it" bash -c "[ -e '$LAB_DIR/hook/1.json' ]" || true

  lab_step "site-s reports again: resolved"
  report
  lab_wait 20 "resolved on both channels" bash -c "[ -e '$LAB_DIR/hook/2.json' ] && [ -e '$LAB_DIR/mail/2.eml' ]" || true
  sleep 2
  lab_expect "webhook: one opened, one resolved, each signed (checked with Python's hmac)" "opened/ok resolved/ok" "$(alerts_events "$LAB_DIR/hook")"
  lab_expect "mail: one opened, one resolved, over STARTTLS with AUTH, Message-ID from the delivery id" \
    "opened/ok resolved/ok" "$(alerts_events "$LAB_DIR/mail")"

  lab_step "wghub alert test: through the same outbox"
  lab_check "wghub alert test $HOOK_ID says delivered" bash -c "ip netns exec $(lab_ns hub) $WGHUB_BIN alert test --data $LAB_DIR/hub $HOOK_ID | grep -q '^delivered dlv_'"
  lab_expect "the receiver got the test" "opened/ok resolved/ok test/ok" "$(alerts_events "$LAB_DIR/hook")"
  local metrics; metrics=$(api GET /metrics "" "$(in_hub "$WGHUB_BIN" admin-token create --data "$LAB_DIR/hub" 2>/dev/null | grep -o 'wga_[A-Za-z0-9_-]*' | head -n 1)")
  lab_expect "/metrics: nothing pending, no incident open" "wghub_alert_outbox_pending 0 wghub_incidents_open 0" \
    "$(grep -E '^wghub_(alert_outbox_pending|incidents_open) ' <<<"$metrics" | tr '\n' ' ' | sed 's/ $//')"
  lab_summary
}

export -f lab_sqlite
main "$@"
