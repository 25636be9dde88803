#!/usr/bin/python3
"""An admin manages wghub in a real headless Chromium, driven through its DevTools protocol (CDP over a WebSocket).

Usage: manage_hub.py CHROMIUM HUB_URL ADMIN_TOKEN SITE_ID SITE_NAME LAN_PREFIX OUT_DIR

It signs in (first with a wrong token), creates an enrollment token and reads its enroll line and user-data off
the page, presses a copy button, revokes the token, grants the site's pending LAN prefix, deletes the site (first
with a wrong confirmation), signs out, and saves screenshots of the table, the new token and the site page in
OUT_DIR. It prints one JSON object of what it saw; the XCTest (ManagementBrowserTests) checks it and the store.
Every wait is bounded; the browser is killed on exit.
"""
import base64, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.request

import websocket  # Debian's python3-websocket

chromium, hub, admin, site_id, site_name, lan, out_dir = sys.argv[1:8]
profile = tempfile.mkdtemp(prefix="wghub-cdp-")
browser = subprocess.Popen(
    [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors", "--no-first-run",
     "--hide-scrollbars", "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def fail(msg):
    print(json.dumps({"error": msg}))
    sys.exit(1)


try:
    # "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…" on stderr.
    deadline = time.time() + 60
    port = None
    while time.time() < deadline and port is None:
        line = browser.stderr.readline()
        if not line and browser.poll() is not None:
            fail("chromium exited before DevTools listened")
        m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
        if m:
            port = int(m.group(1))
    if port is None:
        fail("chromium did not say where DevTools listens within 60 s")
    pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
    page = next(p for p in pages if p["type"] == "page")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
    seq = 0

    def call(method, **params):
        global seq
        seq += 1
        ws.send(json.dumps({"id": seq, "method": method, "params": params}))
        end = time.time() + 30
        while time.time() < end:
            msg = json.loads(ws.recv())
            if msg.get("id") == seq:
                if "error" in msg:
                    fail(f"{method}: {msg['error']}")
                return msg.get("result", {})
        fail(f"{method}: no answer within 30 s")

    def js(expr):
        r = call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            where = call("Runtime.evaluate", expression="location.href + ' | ' + (document.body ? document.body.innerText.slice(0, 300) : '')",
                         returnByValue=True)["result"].get("value")
            fail(f"script failed: {expr[:80]}: {r['exceptionDetails'].get('text')} (on {where})")
        return r["result"].get("value")

    def wait_load(action):
        """Runs action (a navigation or a click that submits a form) and waits for the next page to load."""
        before = js("performance.timeOrigin")
        action()
        end = time.time() + 30
        while time.time() < end:
            time.sleep(0.1)
            try:
                if js("performance.timeOrigin") != before and js("document.readyState") == "complete":
                    return
            except Exception:
                pass
        fail("the page did not load within 30 s")

    def go(path):
        wait_load(lambda: call("Page.navigate", url=hub + path))

    def click(selector):
        wait_load(lambda: js(f"document.querySelector({json.dumps(selector)}).click()"))

    def fill(selector, value):
        js(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")

    def text():
        return js("document.body.innerText")

    def path():
        return js("location.pathname + location.search")

    def shot(name, width=1280):
        call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=width < 600)
        h = js("document.documentElement.scrollHeight")
        call("Emulation.setDeviceMetricsOverride", width=width, height=min(max(h, 400), 4000), deviceScaleFactor=1, mobile=width < 600)
        png = base64.b64decode(call("Page.captureScreenshot", format="png")["data"])
        call("Emulation.clearDeviceMetricsOverride")
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(png)
        return len(png)

    call("Page.enable")
    call("Runtime.enable")
    call("Network.enable")
    # Headless has no window focus; the clipboard API needs a focused document.
    call("Emulation.setFocusEmulationEnabled", enabled=True)
    seen = {}

    # Anonymous: the table sends us to sign in. A wrong token is refused with words.
    go("/")
    seen["anonymous_path"] = path()
    fill("#token", "wga_not-a-real-admin-token-0000000000000000000000")
    click("button[type=submit]")
    seen["wrong_token_text"] = text()
    fill("#token", admin)
    click("button[type=submit]")
    seen["signed_in_path"] = path()
    seen["table_text"] = text()
    seen["table_png"] = shot("wghub-manage-table.png")
    seen["cookies"] = call("Network.getCookies", urls=[hub + "/"])["cookies"]
    seen["cookie_visible_to_script"] = js("document.cookie")

    # Tokens: create one, read what the page gives to paste, copy it, revoke it.
    go("/tokens")
    fill("#name", "branch-office-7")
    fill("#ttl", "2h")
    fill("#uses", "1")
    click("form[action='/tokens'] button[type=submit]")
    seen["created_text"] = text()
    seen["enroll_line"] = js("document.getElementById('enroll').textContent")
    seen["user_data"] = js("document.getElementById('userdata').textContent")
    seen["download_href_prefix"] = js("document.getElementById('download').getAttribute('href').slice(0, 40)")
    seen["download_name"] = js("document.getElementById('download').getAttribute('download')")
    call("Browser.grantPermissions", permissions=["clipboardReadWrite", "clipboardSanitizedWrite"], origin=hub)
    js("document.querySelector('button[data-copy=enroll]').click()")
    end = time.time() + 10
    while time.time() < end and js("document.querySelector('button[data-copy=enroll]').textContent") != "Copied":
        time.sleep(0.1)
    seen["copy_button"] = js("document.querySelector('button[data-copy=enroll]').textContent")
    seen["clipboard"] = js("navigator.clipboard.readText().catch(e => 'clipboard refused: ' + e)")
    seen["token_png"] = shot("wghub-manage-token.png")
    token_id = re.search(r"Token (tok_[0-9a-f]+) created", seen["created_text"])
    if not token_id:
        fail("no token id on the page: " + seen["created_text"][:300])
    seen["token_id"] = token_id.group(1)
    go("/tokens")
    seen["token_row_before"] = js(f"document.getElementById('{seen['token_id']}').innerText")
    click(f"tr[id='{seen['token_id']}'] button")
    seen["revoked_text"] = text()
    seen["token_row_after"] = js(f"document.getElementById('{seen['token_id']}').innerText")

    # The site: grant its pending LAN prefix, then delete it (a wrong name first deletes nothing).
    go(f"/sites/{site_id}")
    seen["site_text_before"] = text()
    click("form[action='/sites/%s/lan'] input[value='%s'] ~ button" % (site_id, lan))
    seen["granted_text"] = text()
    seen["site_png"] = shot("wghub-manage-site.png", width=412)
    click(f"a[href='/sites/{site_id}/delete']")
    seen["confirm_text"] = text()
    fill("#confirm", site_name + "-typo")
    click("button.danger")
    seen["wrong_confirm_text"] = text()
    fill("#confirm", site_name)
    click("button.danger")
    seen["deleted_path"] = path()
    seen["deleted_text"] = text()

    # Sign out: the session is gone, the token pages want a sign-in again.
    click("nav form button")
    seen["signed_out_path"] = path()
    go("/tokens")
    seen["after_signout_path"] = path()
    print(json.dumps(seen))
finally:
    browser.kill()
    browser.wait(timeout=10)
    shutil.rmtree(profile, ignore_errors=True)
