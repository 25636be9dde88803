#!/usr/bin/env python3
"""What a receiver of tests/alerts/ got, one JSON object a line, in the order it arrived: the N.json of
webhook_sink.py, or the N.eml (+ N.json) of smtp_sink.py. For a shell test to read with jq.

    received.py DIR [SMTP_USER]

webhook: {"n", "channel": "webhook", "event", "kind", "site", "incident", "delivery" (the body's),
          "delivery_header", "event_header", "signed" (X-WGHub-Signature checked with Python's hmac), "text",
          "started_at", "created_at", "at" (arrival, Unix time), "ok" (signed, both ids and both events agree)}
mail:    {"n", "channel": "mail", "event", "kind", "site", "incident": null, "delivery" (the body's "delivery:" line),
          "delivery_header" (X-WGHub-Delivery), "message_id", "subject", "from", "to", "tls", "login", "text" (the
          body's first line), "body" (decoded, LF line ends), "at", "ok" (STARTTLS, AUTH as SMTP_USER (default alerts), Message-ID <DELIVERY@wghub>,
          both ids agree)}
"""
import email, email.policy, glob, json, os, re, sys

d = sys.argv[1]
user = sys.argv[2] if len(sys.argv) > 2 else "alerts"


def number(f):
    return int(re.sub(r"\D", "", os.path.basename(f)))


def line(text, key):
    m = re.search(r"^%s: (.*)$" % key, text, re.M)
    return m.group(1).strip() if m else None


for f in sorted(glob.glob(os.path.join(d, "*.json")), key=number):
    meta = json.load(open(f))
    at = os.stat(f).st_mtime
    if "body" in meta:  # webhook_sink.py
        body = json.loads(meta["body"])
        h = meta["headers"]
        out = {"n": number(f), "channel": "webhook", "event": body.get("event"), "kind": body.get("kind"),
               "site": (body.get("site") or {}).get("hostname"), "incident": body.get("incident_id"),
               "delivery": body.get("delivery_id"), "delivery_header": h.get("x-wghub-delivery"),
               "event_header": h.get("x-wghub-event"), "signed": meta["signature_ok"], "text": body.get("text"),
               "started_at": body.get("started_at"), "created_at": body.get("created_at"), "at": at}
        out["ok"] = bool(out["signed"] and out["delivery"] and out["delivery"] == out["delivery_header"]
                         and out["event"] == out["event_header"])
    else:  # smtp_sink.py
        msg = email.message_from_binary_file(open(f[:-5] + ".eml", "rb"), policy=email.policy.default)
        text = msg.get_payload(decode=True).decode("utf-8")
        site = line(text, "site")
        out = {"n": number(f), "channel": "mail", "event": line(text, "event"),
               "kind": (line(text, "problem") or "").split(":")[0] or None,
               "site": site.split(" (")[0] if site else None, "incident": None,
               "delivery": line(text, "delivery"), "delivery_header": msg["X-WGHub-Delivery"],
               "message_id": msg["Message-ID"], "subject": str(msg["Subject"]), "from": msg["From"], "to": msg["To"],
               "tls": meta["tls"], "login": meta["login"], "text": text.splitlines()[0] if text else "",
               "body": text.replace("\r\n", "\n"), "at": at}
        out["ok"] = bool(meta["tls"] and meta["authenticated"] and meta["login"] == user and out["delivery"]
                         and out["delivery"] == out["delivery_header"] and out["message_id"] == "<%s@wghub>" % out["delivery"])
    print(json.dumps(out))
