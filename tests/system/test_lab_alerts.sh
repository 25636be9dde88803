#!/usr/bin/env bash
# Alerts from a real outage in the lab (issue #10): the hub VM (`wgagent apply --profile hub`, wghub as a systemd
# service beside its wg0), the home router with NAT, and two Debian site VMs behind it, enrolled with the line
# `wghub token create` printed, each with a real tunnel (wireguard-go) and reporting every 2 s. A webhook receiver
# (HTTPS, HMAC-signed) and a real SMTP server (STARTTLS, AUTH) sit in an "ops" network the hub VM reaches by name;
# the admin adds them with `wghub alert add` inside the hub VM.
#
# Then the router drops everything of both sites (WireGuard UDP and HTTPS alike): branch-blip only until the hub has
# seen it offline for a few seconds (far less than the grace), branch-cut until its incident has opened. During
# branch-cut's grace wghub is killed (-9) and started again; when its "resolved" is due the webhook receiver is down
# and comes back later. Checked: exactly one "opened" and one "resolved" per channel for branch-cut (distinct
# delivery ids, valid HMAC, the site's name, the mail's subject and body), nothing at all for branch-blip (which
# was offline on the hub: seen on /v1/sites and as a pending incident in the store), the incident in the admin API,
# `wghub alert list` and the dashboard, the alert counters of /metrics, and that both tunnels and the reports come back.
#
#   hub VM (netns hub)                 router (netns router)                LAN (br0 on the router)
#   eth0 203.0.113.1/24   --------     wan0 203.0.113.2/24, MASQUERADE      br0 198.51.100.1/24 --+-- branch-cut  198.51.100.2
#   wg0 192.0.2.1/24 :51820            FORWARD DROP for a site = its cut                          +-- branch-blip 198.51.100.4
#   wghub https://203.0.113.1:8443                                                                +-- LAN host    198.51.100.3
#   ops0 203.0.113.129/25 -------- ops (netns ops) 203.0.113.130: mail.example.net:587 (SMTP), hooks.example.net:9443 (HTTPS)
#
# Needs root; installs nothing (scripts/install-deps.sh does). Env: WGHUB_BIN / WGAGENT_BIN (default
# REPO/.build/release/{wghub,wgagent}), ALERTLAB_OFFLINE_AFTER (s, default 135: wghub's --stale-after and
# --offline-after; WireGuard rekeys only every 2 minutes, so a healthy tunnel's handshake gets ~2 minutes old),
# ALERTLAB_GRACE (s, default 40: --alert-grace), WGLAB_KEEP=1 keeps the work dir.
set -uo pipefail

LA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lab/lib.sh
. "$LA_REPO/scripts/lab/lib.sh"
# shellcheck source=lab_hub.sh
. "$LA_REPO/tests/system/lab_hub.sh"
# shellcheck source=lab_alerts.sh
. "$LA_REPO/tests/system/lab_alerts.sh"

WGHUB_BIN=${WGHUB_BIN:-$LA_REPO/.build/release/wghub}
WGAGENT_BIN=${WGAGENT_BIN:-$LA_REPO/.build/release/wgagent}
LA_OFFLINE=${ALERTLAB_OFFLINE_AFTER:-135}
LA_GRACE=${ALERTLAB_GRACE:-40}
LA_REPORT_INTERVAL=2
LA_BLIP_HOLD=5             # s the blip goes on once the hub has seen the site offline
E2E_HUB_SERVE_ARGS="--stale-after ${LA_OFFLINE}s --offline-after ${LA_OFFLINE}s --alert-grace ${LA_GRACE}s --alert-hold-down 0 --alert-interval 1s"

CUT=branch-cut             # the site that really goes down (VM "cut", namespace "site")
BLIP=branch-blip           # the site with a blip shorter than the grace (VM "blip", namespace "site2")
BLIP_LAN=198.51.100.4
declare -A LA_VM=([$CUT]=cut [$BLIP]=blip) LA_NS=([$CUT]=site [$BLIP]=site2) LA_LAN=([$CUT]=$SITE_LAN [$BLIP]=$BLIP_LAN)
declare -A LA_HOST=([cut]=$CUT [blip]=$BLIP)
declare -A LA_ADDR=() LA_PUB=() LA_ID=() LA_T=()
OPS_HUB=203.0.113.129
OPS_ADDR=203.0.113.130
MAIL_HOST=mail.example.net
HOOK_HOST=hooks.example.net
HOOK_URL="https://$HOOK_HOST:9443/wghub"
HOOK_SECRET=hook-secret-$RANDOM$RANDOM
MAIL_USER=alerts
MAIL_PASS=mail-pass-$RANDOM$RANDOM

# ------------------------------------------------------------------ helpers
la_now() { date +%s; }
la_mark() { LA_T[$1]=$(la_now); }                            # la_mark NAME: remember when NAME happened
la_since() { echo $(( ${LA_T[$2]:-0} - ${LA_T[$1]:-0} )); }   # la_since FROM TO: seconds between two marks

# The router drops (-I) or forwards again (-D) everything from and to a site's LAN address: its WireGuard UDP and
# its reports over HTTPS alike. First in FORWARD, before the rule that lets replies through.
la_cut() {
  local op=$1 addr=$2 pos=()
  [ "$op" = -I ] && pos=(1)
  e2e_router iptables "$op" FORWARD "${pos[@]}" -s "$addr" -j DROP && e2e_router iptables "$op" FORWARD "${pos[@]}" -d "$addr" -j DROP
}

la_status() { e2e_site_json "$1" | jq -r '.status // empty'; }
la_is() { [ "$(la_status "$1")" = "$2" ]; }
la_not() { local s; s=$(la_status "$1"); [ -n "$s" ] && [ "$s" != "$2" ]; }
# The site's offline incident in the store that has not opened yet: "ID|STARTED_AT" (empty: none).
la_pending() { e2e_sql "SELECT id, CAST(started_at AS INTEGER) FROM incidents WHERE site_id = ${LA_ID[$1]} AND kind = 'offline' AND opened_at IS NULL"; }
la_has_pending() { [ -n "$(la_pending "$1")" ]; }
la_no_pending() { [ -z "$(e2e_sql "SELECT id FROM incidents WHERE site_id = ${LA_ID[$1]} AND opened_at IS NULL")" ]; }
# Messages a receiver got for an event (test notifications aside): la_count DIR EVENT
la_count() { alerts_received "$1" | jq -s --arg e "$2" 'map(select(.event == $e)) | length'; }
la_got() { [ "$(la_count "$1" "$2")" -ge 1 ]; }
la_hs() { lab_handshake "${LA_PUB[$1]}" lab_vm_exec hub wg show wg0; }
la_hs_after() { local h; h=$(la_hs "$1"); [ -n "$h" ] && [ "$h" -gt "$2" ]; }
la_metric() { grep -E "^$1 " "$LAB_DIR/metrics-end.txt" | awk '{print $NF}'; }
la_alert_test() { lab_vm_exec hub wghub alert test --data "$HUB_DATA" "$1" | grep '^delivered dlv_'; }
la_hook_tried() { [ -n "$(e2e_sql "$LA_HOOK_TRIED")" ]; }
la_quiet() { [ -z "$(e2e_sql 'SELECT id FROM incidents WHERE opened_at IS NULL UNION ALL SELECT delivery_id FROM alert_outbox WHERE delivered_at IS NULL')" ]; }
la_hub_has() { [ -n "$(e2e_sql "SELECT 1 FROM reports WHERE site_id = ${LA_ID[$1]} AND seq = $2")" ]; }
la_spool_empty() { lab_vm_sh "${LA_VM[$1]}" '[ "$(ls /var/lib/wgagent/spool | grep -c "\.json$")" = 0 ]'; }
la_preboot() { echo "${LA_HOST[$1]}" >"$2/etc/hostname"; }   # LAB_VM_PREBOOT: the VM's hostname, as the hub will know it

# la_reports_complete NAME: the site's spool empties (its agent's backoff never waits past the next report), and the hub
# then holds every report the site made, each once.
la_reports_complete() {
  lab_wait 20 "$1: its spool is empty again" la_spool_empty "$1"
  local seq
  seq=$(lab_vm_exec "${LA_VM[$1]}" cat /var/lib/wgagent/report-seq 2>/dev/null | tr -d '[:space:]')
  # The site goes on reporting: its report #seq may still be on its way.
  lab_wait 10 "$1: the hub has its report #${seq:-?}" la_hub_has "$1" "${seq:-0}"
  lab_expect "$1: the hub has every report the site made up to it, each once (count|last)" "$seq|$seq" \
    "$(e2e_sql "SELECT count(*) || '|' || max(seq) FROM reports WHERE site_id = ${LA_ID[$1]} AND seq <= ${seq:-0}")"
}

# ------------------------------------------------------------------ the steps
networks() {
  home_network
  lab_step "networks: $BLIP's namespace on the LAN ($BLIP_LAN), and the ops network of the receivers ($OPS_ADDR) beside the hub"
  home_site site2 "$BLIP_LAN"
  lab_netns ops
  lab_link hub ops0 "$OPS_HUB/25" ops eth0 "$OPS_ADDR/25"
}

receivers() {
  lab_step "receivers in the ops network: $MAIL_HOST:587 (smtp_sink.py: STARTTLS, AUTH) and $HOOK_URL (webhook_sink.py, HMAC)"
  alerts_cert "DNS:$MAIL_HOST,DNS:$HOOK_HOST"
  alerts_smtp_up ops "$LAB_DIR/mail" "$OPS_ADDR" 587 "$MAIL_USER" "$MAIL_PASS"
  alerts_hook_up ops "$LAB_DIR/hook" "$OPS_ADDR" 9443 "$HOOK_SECRET" tls
  lab_ok "both listening on $OPS_ADDR"
  # What an admin would have: the names in DNS (here the hub VM's /etc/hosts), the receivers' CA, the secrets in files.
  lab_vm_sh hub "printf '%s %s %s\n' $OPS_ADDR $MAIL_HOST $HOOK_HOST >>/etc/hosts" || lab_fail "/etc/hosts in the hub VM"
  (umask 077; printf '%s\n' "$HOOK_SECRET" >"$LAB_DIR/hook-secret"; printf '%s\n' "$MAIL_PASS" >"$LAB_DIR/mail-password")
  lab_vm_copy hub "$LAB_DIR/sink-cert.pem" /etc/wghub/receivers-ca.pem && lab_vm_copy hub "$LAB_DIR/hook-secret" /root/hook-secret \
    && lab_vm_copy hub "$LAB_DIR/mail-password" /root/mail-password || lab_fail "copy the CA and the secrets into the hub VM"
}

receivers_added() {
  lab_step "hub VM: wghub alert add (a signed webhook over HTTPS, mail over STARTTLS with AUTH), list, test"
  HOOK_ID=$(lab_vm_exec hub wghub alert add --data "$HUB_DATA" --webhook "$HOOK_URL" --secret-file /root/hook-secret \
    --ca-file /etc/wghub/receivers-ca.pem 2>&1 | cut -f1)
  MAIL_ID=$(lab_vm_exec hub wghub alert add --data "$HUB_DATA" --smtp "$MAIL_HOST:587" --from wghub@example.net --to ops@example.net \
    --user "$MAIL_USER" --password-file /root/mail-password --starttls --ca-file /etc/wghub/receivers-ca.pem 2>&1 | cut -f1)
  local listed
  listed=$(lab_vm_exec hub wghub alert list --data "$HUB_DATA" 2>&1)
  e2e_show <<<"$listed"
  lab_expect "wghub alert list: both receivers ($HOOK_ID, $MAIL_ID), never a secret" "2 0" \
    "$(grep -cE "^(${HOOK_ID:-none}|${MAIL_ID:-none})	" <<<"$listed") $(grep -cF -e "$HOOK_SECRET" -e "$MAIL_PASS" <<<"$listed")"
  local id
  for id in "$HOOK_ID" "$MAIL_ID"; do
    lab_check "wghub alert test $id: delivered from the hub VM through the ops network (names, the CA, AUTH)" la_alert_test "$id"
  done
  lab_expect "the receivers got one test each" "test/ok test/ok" "$(alerts_events "$LAB_DIR/hook") $(alerts_events "$LAB_DIR/mail")"
}

sites_enroll() {
  lab_step "two site VMs behind the router enroll with the line \`wghub token create\` printed (--var report_interval=$LA_REPORT_INTERVAL), at once"
  local name vm line t0=$SECONDS
  declare -A pid=()
  for name in "$CUT" "$BLIP"; do
    vm=${LA_VM[$name]}
    LAB_VM_PREBOOT=la_preboot lab_agent_vm "$vm" systemd "${LA_NS[$name]}"
    line=$(lab_vm_exec hub wghub token create --data "$HUB_DATA" --uses 1 --name "$name" 2>/dev/null | sed -n 's/^  \(wgagent enroll .*\)$/\1/p')
    [ -n "$line" ] || lab_fail "wghub token create printed no enroll line"
    # shellcheck disable=SC2086  # the printed line, word by word
    lab_bg "$LAB_DIR/enroll-$vm.log" lab_vm_exec "$vm" timeout 400 $line --var "report_interval=$LA_REPORT_INTERVAL"
    pid[$name]=$LAB_LAST_PID
  done
  for name in "$CUT" "$BLIP"; do
    local rc=0
    wait "${pid[$name]}" || rc=$?
    vm=${LA_VM[$name]}
    lab_expect "$name: wgagent enroll exit status ($((SECONDS - t0)) s)" 0 "$rc"
    [ "$rc" -eq 0 ] || { tail -n 20 "$LAB_DIR/enroll-$vm.log" >&2; lab_fail "$name did not enroll"; }
    LA_ADDR[$name]=$(lab_vm_exec "$vm" cat /var/lib/wgagent/enrollment.json 2>/dev/null | jq -r '.address // empty' | cut -d/ -f1)
    LA_PUB[$name]=$(lab_vm_exec "$vm" cat /etc/wireguard/wg0.pub 2>/dev/null)
  done
}

sites_online() {
  lab_step "both sites online on the hub: handshake and reports; pings through both tunnels"
  local name
  for name in "$CUT" "$BLIP"; do
    lab_wait 60 "$name (tunnel ${LA_ADDR[$name]}, on the LAN at ${LA_LAN[$name]}) online on /v1/sites" la_is "$name" online
    LA_ID[$name]=$(e2e_site_json "$name" | jq -r '.id // empty')
    lab_check "hub -> $name: ping ${LA_ADDR[$name]} through its tunnel" lab_ns_exec hub ping -c 2 -W 2 "${LA_ADDR[$name]}"
    lab_expect "$name: no failing check in its reports (each would be an incident of its own; the port-forward verdict is not one)" "" \
      "$(e2e_site_json "$name" | jq -r '.failing_checks | map(select(test("port_forward") | not)) | join(",")')"
  done
  [ -n "${LA_ID[$CUT]}" ] && [ -n "${LA_ID[$BLIP]}" ] || lab_fail "the hub does not list both sites"
  lab_expect "no incident yet" "" "$(e2e_sql "SELECT id FROM incidents")"
}

outage() {
  lab_step "the router drops all of $CUT's and $BLIP's traffic (WireGuard UDP and HTTPS); offline after ${LA_OFFLINE} s of neither"
  la_cut -I "${LA_LAN[$CUT]}" && la_cut -I "${LA_LAN[$BLIP]}" || lab_fail "the router's DROP rules"
  la_mark cut
  local name
  for name in "$CUT" "$BLIP"; do
    lab_check "hub -> $name: ping ${LA_ADDR[$name]} fails now (the tunnel is cut)" sh -c "! ip netns exec $(lab_ns hub) ping -c 2 -W 1 ${LA_ADDR[$name]}"
  done
  lab_info "waiting for --offline-after ${LA_OFFLINE}s (a healthy tunnel's handshake gets 2 minutes old between rekeys: less would call healthy sites stale)"
  sleep $((LA_OFFLINE > 15 ? LA_OFFLINE - 15 : 0))
}

blip() {
  lab_step "$BLIP: offline on the hub, then back after $LA_BLIP_HOLD s (well within the ${LA_GRACE} s grace: nothing may be sent)"
  lab_wait 60 "$BLIP is offline on /v1/sites" la_is "$BLIP" offline || lab_fail "$BLIP never went offline on the hub: the blip proves nothing"
  la_mark blip_offline
  lab_wait 5 "$BLIP: a pending offline incident in the hub's store" la_has_pending "$BLIP"
  BLIP_STARTED=$(la_pending "$BLIP" | cut -d'|' -f2)
  sleep "$LA_BLIP_HOLD"
  la_cut -D "${LA_LAN[$BLIP]}" || lab_fail "lift $BLIP's cut"
  la_mark blip_lifted
  lab_wait 15 "$BLIP reports again (the agent's backoff never waits past its next report): no longer offline" la_not "$BLIP" offline
  la_mark blip_back
  lab_wait 10 "$BLIP: its pending incident dropped (never opened)" la_no_pending "$BLIP"
  la_mark blip_cleared
  BLIP_DOWN=$(( ${LA_T[blip_cleared]} - ${BLIP_STARTED:-${LA_T[blip_offline]}} ))
  lab_check "$BLIP was offline on the hub for $BLIP_DOWN s: shorter than the grace (${LA_GRACE} s)" test "$BLIP_DOWN" -lt "$LA_GRACE"
}

hub_killed_in_grace() {
  lab_step "$CUT's grace: wghub killed (-9) and started again before it ends"
  la_is "$CUT" offline && lab_ok "$CUT is offline on /v1/sites" || lab_bad "$CUT is not offline ($(la_status "$CUT"))"
  local p
  p=$(la_pending "$CUT")
  CUT_INCIDENT=${p%%|*} CUT_STARTED=${p#*|}
  [ -n "$p" ] || { CUT_INCIDENT=0; CUT_STARTED=$(la_now); }   # a failure, counted; the story goes on to show what follows
  lab_check "$CUT: a pending offline incident (#$CUT_INCIDENT, started $((CUT_STARTED - ${LA_T[cut]})) s after the cut)" test -n "$p"
  e2e_hub_kill || lab_fail "systemctl kill -s KILL wghub"
  la_mark killed
  lab_expect "wghub is down" failed "$(lab_vm_exec hub systemctl is-active wghub 2>/dev/null)"
  sleep 3
  e2e_hub_start || lab_fail "wghub did not come back (systemctl start wghub)"
  la_mark restarted
  local left=$(( CUT_STARTED + LA_GRACE - ${LA_T[restarted]} ))
  lab_check "wghub back $(la_since killed restarted) s after the kill, $left s before $CUT's grace ends" test "$left" -gt 0
  lab_expect "the incident is still pending after the restart (the store's)" "$CUT_INCIDENT|$CUT_STARTED" "$(la_pending "$CUT")"
  # Meanwhile: what $BLIP's agent recorded during the blip reached the hub (spool and backoff), nothing lost.
  la_reports_complete "$BLIP"
}

opened() {
  lab_step "$CUT's incident opens: one \"opened\" by mail and by webhook"
  local secs=$(( CUT_STARTED + LA_GRACE + 30 - $(la_now) ))
  lab_wait "$secs" "the mail arrived" la_got "$LAB_DIR/mail" opened
  lab_wait 10 "the webhook arrived" la_got "$LAB_DIR/hook" opened
  la_mark opened
  local lines
  lines=$(lab_vm_exec hub wghub alert list --data "$HUB_DATA" 2>&1 | grep '^incident ')
  e2e_show <<<"$lines"
  lab_check "wghub alert list: incident $CUT_INCIDENT open, $CUT, offline" grep -qP "^incident $CUT_INCIDENT\topen\t$CUT\toffline\t" <<<"$lines"
  e2e_api / 2>/dev/null | e2e_page_text /dev/stdin >"$LAB_DIR/dashboard-open.txt"
  lab_info "dashboard: $(grep -oE '[0-9]+ sites?: [a-z0-9 ,]+' "$LAB_DIR/dashboard-open.txt" | head -n1)"
  lab_check "dashboard: $CUT counted offline" grep -qE '2 sites: 1 offline' "$LAB_DIR/dashboard-open.txt"
  lab_expect "/metrics: one incident open" 1 "$(e2e_api /metrics 2>/dev/null | awk '$1 == "wghub_incidents_open" {print $2}')"
}

back() {
  lab_step "the webhook receiver goes down; $CUT's cut is lifted: \"resolved\" by mail now, by webhook once it is back"
  alerts_hook_down
  la_cut -D "${LA_LAN[$CUT]}" || lab_fail "lift $CUT's cut"
  la_mark cut_lifted
  lab_wait 30 "$CUT reports again: no longer offline" la_not "$CUT" offline
  lab_wait 20 "the resolved mail arrived" la_got "$LAB_DIR/mail" resolved
  la_mark resolved_mail
  LA_HOOK_TRIED="SELECT attempts || ' attempt(s), ' || last_error FROM alert_outbox WHERE receiver_id = '$HOOK_ID' AND event = 'resolved' AND delivered_at IS NULL AND attempts > 0"
  lab_wait 20 "the resolved webhook was tried while its receiver was down" la_hook_tried
  lab_info "outbox: $(e2e_sql "$LA_HOOK_TRIED")"
  alerts_hook_up ops "$LAB_DIR/hook" "$OPS_ADDR" 9443 "$HOOK_SECRET" tls
  la_mark hook_back
  lab_wait 60 "the webhook receiver, back, got the resolved" la_got "$LAB_DIR/hook" resolved
  la_mark resolved_hook
  lab_wait 60 "$CUT's tunnel is back: a new handshake on the hub" la_hs_after "$CUT" "${LA_T[cut_lifted]}"
  la_mark tunnel_back
  lab_check "hub -> $CUT: ping ${LA_ADDR[$CUT]} through its tunnel again" lab_ns_exec hub ping -c 2 -W 2 "${LA_ADDR[$CUT]}"
  # Whatever a late report might still open (a failing check) must have had its grace: nothing pending, nothing unsent.
  la_reports_complete "$CUT"
  lab_wait $((LA_GRACE + 20)) "the hub is quiet: no pending incident, nothing left in the outbox" la_quiet
  sleep 3
}

verdicts() {
  lab_step "what the admin got: one opened and one resolved for $CUT on each channel, nothing for $BLIP"
  alerts_received "$LAB_DIR/hook" >"$LAB_DIR/hook.jsonl"
  alerts_received "$LAB_DIR/mail" >"$LAB_DIR/mail.jsonl"
  jq -r 'select(.event != "test") | "\(.channel) #\(.n) \(.event) \(.site) \(.delivery) ok=\(.ok): \(.text)"' "$LAB_DIR/hook.jsonl" "$LAB_DIR/mail.jsonl" | e2e_show
  local ch f
  for ch in hook mail; do
    f="$LAB_DIR/$ch.jsonl"
    lab_expect "$ch: exactly one opened and one resolved, both for $CUT, each verified (HMAC / STARTTLS+AUTH, ids)" \
      "opened:$CUT:true resolved:$CUT:true" \
      "$(jq -rs 'map(select(.event != "test") | "\(.event):\(.site):\(.ok)") | join(" ")' "$f")"
    lab_expect "$ch: nothing names $BLIP" 0 "$(grep -cF "$BLIP" "$f")"
  done
  lab_expect "delivery ids: all distinct (2 tests, 2 opened, 2 resolved)" 6 \
    "$(jq -rs 'map(.delivery) | unique | map(select(. != null)) | length' "$LAB_DIR/hook.jsonl" "$LAB_DIR/mail.jsonl")"
  lab_expect "webhook: both about incident #$CUT_INCIDENT" "$CUT_INCIDENT $CUT_INCIDENT" \
    "$(jq -rs 'map(select(.event != "test") | .incident | tostring) | join(" ")' "$LAB_DIR/hook.jsonl")"
  lab_check "mail: subjects \"[wghub] $CUT: offline — …\" and \"[wghub] $CUT: resolved — offline is back to normal …\"" \
    jq -es --arg s "$CUT" 'map(select(.event != "test") | .subject) as $x | ($x[0] | startswith("[wghub] \($s): offline — ")) and ($x[1] | startswith("[wghub] \($s): resolved — offline is back to normal after"))' "$LAB_DIR/mail.jsonl"
  lab_check "mail: the opened one's body names the site, its id and tunnel address (site: $CUT (id ${LA_ID[$CUT]}, ${LA_ADDR[$CUT]})), the problem" \
    jq -es --arg l "site: $CUT (id ${LA_ID[$CUT]}, ${LA_ADDR[$CUT]})" \
    'map(select(.event == "opened"))[0].body | contains("\n\($l)\n") and contains("\nproblem: offline: offline: last report ")' "$LAB_DIR/mail.jsonl"
  lab_check "mail: the resolved one's body says when (resolved: …)" \
    jq -es 'map(select(.event == "resolved"))[0].body | test("\nresolved: 20[0-9-]+T")' "$LAB_DIR/mail.jsonl"

  lab_step "the hub's own account: admin API, store, /metrics, dashboard"
  e2e_api /v1/alerts >"$LAB_DIR/alerts.json" 2>&1
  lab_expect "GET /v1/alerts: one incident, $CUT's offline, opened and resolved" "$CUT offline opened resolved" \
    "$(jq -r '[.incidents[] | "\(.hostname) \(.kind) \(if .opened_at then "opened" else "pending" end) \(if .resolved_at then "resolved" else "live" end)"] | join("; ")' "$LAB_DIR/alerts.json")"
  lab_expect "GET /v1/alerts: the outbox holds 6 rows, all delivered" "6 6" \
    "$(jq -r '"\(.outbox | length) \([.outbox[] | select(.delivered_at)] | length)"' "$LAB_DIR/alerts.json")"
  lab_check "GET /v1/alerts: the webhook's resolved took more than one attempt (its receiver was down)" \
    jq -e --arg r "$HOOK_ID" '[.outbox[] | select(.receiver_id == $r and .event == "resolved" and .attempts >= 2)] | length == 1' "$LAB_DIR/alerts.json"
  local opened_at
  opened_at=$(e2e_sql "SELECT CAST(opened_at AS INTEGER) FROM incidents WHERE id = ${CUT_INCIDENT:-0}")
  lab_check "store: the incident opened $(( ${opened_at:-0} - ${CUT_STARTED:-0} )) s after it started: the grace (${LA_GRACE} s), not more than 10 s late" \
    test $(( ${opened_at:-0} - ${CUT_STARTED:-0} )) -ge "$LA_GRACE" -a $(( ${opened_at:-0} - ${CUT_STARTED:-0} )) -le $((LA_GRACE + 10))
  lab_expect "store: no incident of $BLIP at all (its pending one was dropped)" 0 "$(e2e_sql "SELECT count(*) FROM incidents WHERE site_id = ${LA_ID[$BLIP]}")"
  e2e_api /metrics >"$LAB_DIR/metrics-end.txt" 2>&1
  lab_expect "/metrics since the restart: sent smtp 2, sent webhook-generic 2, nothing pending, no incident open" "2 2 0 0" \
    "$(la_metric 'wghub_alerts_sent_total\{channel="smtp"\}') $(la_metric 'wghub_alerts_sent_total\{channel="webhook-generic"\}') $(la_metric wghub_alert_outbox_pending) $(la_metric wghub_incidents_open)"
  lab_check "/metrics: failed webhook-generic attempts counted ($(la_metric 'wghub_alerts_failed_total\{channel="webhook-generic"\}'))" \
    test "$(la_metric 'wghub_alerts_failed_total\{channel="webhook-generic"\}')" -ge 1
  e2e_api / 2>/dev/null | e2e_page_text /dev/stdin >"$LAB_DIR/dashboard-end.txt"
  lab_info "dashboard: $(grep -oE '[0-9]+ sites?: [a-z0-9 ,]+' "$LAB_DIR/dashboard-end.txt" | head -n1)"
  lab_check "dashboard: both sites back, none offline" grep -qE '2 sites: 0 offline' "$LAB_DIR/dashboard-end.txt"
}

timings() {
  lab_step "timings (s after the cut)"
  local k
  for k in blip_offline blip_lifted blip_back blip_cleared killed restarted opened cut_lifted resolved_mail hook_back resolved_hook tunnel_back; do
    [ -n "${LA_T[$k]:-}" ] && lab_info "$(printf '%-14s %4d' "$k" "$(la_since cut "$k")")"
  done
  lab_info "$BLIP offline on the hub for ${BLIP_DOWN:-?} s (grace ${LA_GRACE} s); $CUT's incident started $(( ${CUT_STARTED:-0} - ${LA_T[cut]} )) s after the cut (--offline-after ${LA_OFFLINE}s)"
}

stop() {
  lab_step "stop"
  lab_vm_stop cut
  lab_vm_stop blip
  lab_vm_stop hub
  lab_info "whole run: $((SECONDS - LAB_T0)) s"
}

main() {
  lab_require_root_and_tools wg jq curl openssl ping iptables python3
  lab_require_binary wghub "$WGHUB_BIN" WGHUB_BIN
  lab_require_binary wgagent "$WGAGENT_BIN" WGAGENT_BIN
  alerts_need_aiosmtpd
  lab_init
  networks
  hub_vm
  hub_serves
  receivers
  receivers_added
  sites_enroll
  sites_online
  outage
  blip
  hub_killed_in_grace
  opened
  back
  verdicts
  timings
  stop
  lab_summary
}

main "$@"
