import Foundation
import WGModel

/// The pages of managing the hub from a browser: sign-in, tokens (create, list, revoke), a token just made (its
/// enroll line and cloud-init user-data, to copy or download), and the confirmation before a site is deleted.
/// Server-rendered like the dashboard; every form posts the session's CSRF token. Only the page of a new token has
/// a script (two copy buttons), allowed by its nonce in the Content-Security-Policy (WGBrowserRoutes).
enum WGAdminPages {
    static let esc = WGDashboard.esc

    static let style = """
        nav{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:0 0 10px}
        nav form{margin:0}
        .panel{background:#fff;border-radius:8px;padding:10px 12px;margin:0 0 12px;box-shadow:0 1px 2px #0002}
        .panel label{display:block;margin:6px 0 2px;color:#444}
        .panel input[type=text],.panel input[type=password],.panel textarea{font:inherit;padding:4px 6px;width:100%;max-width:34em;box-sizing:border-box}
        button{font:inherit;padding:4px 12px;cursor:pointer}
        button.danger{background:#c62828;color:#fff;border:0;border-radius:4px}
        pre{background:#1d2330;color:#e8eaef;padding:8px;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
        .msg{padding:8px 10px;border-radius:6px;margin:0 0 10px}.msg.bad{background:#fde8e8}.msg.good{background:#e6f4ea}
        table.tok{border-collapse:collapse;width:100%;background:#fff}
        table.tok td,table.tok th{padding:4px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
        .inline{display:inline}
        """

    /// The bar above every page: who is signed in and where to go; sign-out is a form (POST with CSRF).
    static func nav(csrf: String?) -> String {
        guard let csrf else { return "<nav><a href=\"/\">Sites</a><a href=\"/signin\">Sign in</a></nav>\n" }
        return "<nav><a href=\"/\">Sites</a><a href=\"/tokens\">Tokens</a>"
            + "<form method=\"post\" action=\"/signout\">\(field(csrf))<button type=\"submit\">Sign out</button></form></nav>\n"
    }

    static func field(_ csrf: String) -> String { "<input type=\"hidden\" name=\"csrf\" value=\"\(esc(csrf))\">" }

    static func page(title: String, nav: String, body: String, script: (nonce: String, code: String)? = nil) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
                <title>\(esc(title)) — wghub</title>
        <style>
        \(WGDashboard.baseStyle)
        \(style)
        </style></head><body>
        \(nav)<h1>\(esc(title))</h1>
        \(body)\(script.map { "<script nonce=\"\($0.nonce)\">\($0.code)</script>\n" } ?? "")</body></html>

        """
    }

    static func message(_ text: String?, good: Bool = false) -> String {
        text.map { "<p class=\"msg \(good ? "good" : "bad")\" role=\"alert\">\(esc($0))</p>\n" } ?? ""
    }

    static func refused(_ e: WGHubError) -> String {
        page(title: "Refused", nav: "<nav><a href=\"/\">Sites</a><a href=\"/tokens\">Tokens</a></nav>\n",
             body: message("\(e.body.message) (\(e.status) \(e.reason))") + "<p><a href=\"/\">← back to the sites</a></p>\n")
    }

    static func signIn(error: String?, next: String) -> String {
        page(title: "Sign in", nav: "", body: """
            \(message(error))<form class="panel" method="post" action="/signin">
            <input type="hidden" name="next" value="\(esc(next))">
            <label for="token">Admin token</label>
            <input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
            <p class="sum">From <code>wghub admin-token create</code> on the hub. The session ends when you sign out, after an
            hour without use, after 12 hours, when the hub restarts, or when the token is revoked.</p>
            <button type="submit">Sign in</button>
            </form>

            """)
    }

    static func tokens(_ list: [WGTokenListing], csrf: String, form: WGTokenForm = WGTokenForm(), error: String? = nil, notice: String? = nil, now: Date) -> String {
        let fmt = ISO8601DateFormatter()
        var b = message(error) + message(notice, good: true)
        b += """
            <form class="panel" method="post" action="/tokens">\(field(csrf))
            <h2>Create an enrollment token</h2>
            <label for="name">For (a name shown in the list)</label><input type="text" id="name" name="name" value="\(esc(form.name ?? ""))" maxlength="64">
            <label for="profile">Profile</label><input type="text" id="profile" name="profile" value="\(esc(form.profile ?? ""))" list="profiles" placeholder="site-gateway (the agent's default)">
            <datalist id="profiles"><option value="site-gateway"><option value="roadwarrior"><option value="hub"></datalist>
            <label for="ttl">Valid for</label><input type="text" id="ttl" name="ttl" value="\(esc(form.ttl ?? "24h"))" placeholder="90s, 15m, 24h, 7d">
            <label for="uses">Enrollments it allows</label><input type="text" id="uses" name="uses" value="\(esc(form.uses ?? "1"))" inputmode="numeric">
            <label for="lan">LAN prefixes it may have routed (space-separated)</label><input type="text" id="lan" name="lan" value="\(esc(form.lan ?? ""))" placeholder="198.51.100.0/24">
            <label for="vars">Profile values for the agent (one key=value per line)</label><textarea id="vars" name="vars" rows="2" placeholder="report_interval=30">\(esc(form.vars ?? ""))</textarea>
            <p><button type="submit">Create token</button></p>
            </form>
            <h2>Enrollment tokens</h2>

            """
        if list.isEmpty {
            b += "<p>No enrollment token yet.</p>\n"
        } else {
            b += "<table class=\"tok\"><tr><th>ID</th><th>State</th><th>Uses</th><th>Expires</th><th>Profile</th><th>For</th><th>LAN</th><th></th></tr>\n"
            for t in list.reversed() {
                b += "<tr id=\"\(esc(t.id))\"><td><code>\(esc(t.id))</code></td><td class=\"\(t.state == "valid" ? "good" : "")\">\(esc(t.state))</td>"
                b += "<td>\(t.uses)/\(t.maxUses.map(String.init) ?? "∞")</td><td>\(esc(t.expiresAt.map { fmt.string(from: $0) } ?? "never"))</td>"
                b += "<td>\(esc(t.profile ?? "—"))</td><td>\(esc(t.name ?? "—"))</td><td>\(esc(t.lanGrants.joined(separator: " ")))</td><td>"
                if t.state == "valid" {
                    b += "<form class=\"inline\" method=\"post\" action=\"/tokens/\(esc(t.id))/revoke\">\(field(csrf))"
                    b += "<button type=\"submit\" class=\"danger\" aria-label=\"revoke \(esc(t.id))\">Revoke</button></form>"
                }
                b += "</td></tr>\n"
            }
            b += "</table>\n"
        }
        return page(title: "Tokens", nav: nav(csrf: csrf), body: b)
    }

    /// The one time the secret is shown: the `wgagent enroll` line and the cloud-init user-data, each with a copy
    /// button and a download link (a data: URL: nothing is kept on the hub to fetch later).
    static func created(_ t: WGIssuedToken, csrf: String, nonce: String) -> String {
        let data = "data:text/cloud-config;charset=utf-8;base64," + Data(t.userData.utf8).base64EncodedString()
        let form = t.userDataForm == "stock-image"
            ? "for a stock cloud image: it fetches the agent from this hub over its pinned TLS, checks its SHA-256, installs it and enrolls"
            : "for an image that already has /usr/local/bin/wgagent (\(t.stockImageProblem ?? ""))"
        let b = """
            <p class="msg good" role="status">Token <code>\(esc(t.id))</code> created: \(esc(t.summary.replacingOccurrences(of: "token \(t.id): ", with: ""))).
            This page is the only time its secret is shown: copy what you need now.</p>
            <div class="panel">
            <h2>On the new machine</h2>
            <pre id="enroll">\(esc(t.enroll))</pre>
            <p><button type="button" data-copy="enroll">Copy</button></p>
            </div>
            <div class="panel">
            <h2>cloud-init user-data</h2>
            <p class="sum">\(esc(form)). On Proxmox: save it as a snippet and attach it with <code>qm set VMID --cicustom user=local:snippets/user-data</code>.</p>
            <pre id="userdata">\(esc(t.userData))</pre>
            <p><button type="button" data-copy="userdata">Copy</button>
            <a id="download" download="user-data" href="\(esc(data))">Download user-data</a></p>
            </div>
            <p><a href="/tokens">← all tokens</a></p>

            """
        let code = """
            for (const b of document.querySelectorAll('button[data-copy]')) b.addEventListener('click', () => \
            navigator.clipboard.writeText(document.getElementById(b.dataset.copy).textContent).then(() => { b.textContent = 'Copied'; }));
            """
        return page(title: "Token created", nav: nav(csrf: csrf), body: b, script: (nonce, code))
    }

    /// Deleting a site asks for its name: a slip of the mouse deletes nothing.
    static func confirmDelete(_ v: WGSiteView, csrf: String, error: String? = nil) -> String {
        page(title: "Delete \(v.hostname)?", nav: nav(csrf: csrf), body: """
            \(message(error))<form class="panel" method="post" action="/sites/\(v.id)/delete">\(field(csrf))
            <p>Site <strong>\(esc(v.hostname))</strong> (#\(v.id), \(esc(v.address))) will be removed: its peer and routes leave
            the hub's interface, its credential stops working, its history and incidents go. Its machine keeps its keys; it can
            enroll again with a new token.</p>
            <label for="confirm">Type the site's name, <code>\(esc(v.hostname))</code>, to confirm</label>
            <input type="text" id="confirm" name="confirm" autocomplete="off" required>
            <p><button type="submit" class="danger">Delete site</button> <a href="/sites/\(v.id)">Cancel</a></p>
            </form>

            """)
    }

    /// The site page's management panel: grant or withdraw its LAN prefixes, delete it.
    static func manageSite(_ v: WGSiteView, granted: [String], csrf: String, error: String? = nil, notice: String? = nil) -> String {
        var h = "<h2>Manage</h2>\n" + message(error) + message(notice, good: true) + "<div class=\"panel\">\n"
        if v.lan.isEmpty && granted.isEmpty {
            h += "<p>The site announces no LAN prefix.</p>\n"
        } else {
            h += "<table class=\"tok\"><tr><th>LAN prefix</th><th>State</th><th></th></tr>\n"
            var prefixes = v.lan.map(\.prefix)
            for g in granted where !prefixes.contains(g) { prefixes.append(g) }
            for p in prefixes {
                let route = v.lan.first { $0.prefix == p }
                let isGranted = granted.contains(p)
                h += "<tr><td>\(esc(p))</td><td>\(esc(route.map { $0.state.rawValue + ($0.reason.map { ": " + $0 } ?? "") } ?? "granted, not announced"))</td><td>"
                h += "<form class=\"inline\" method=\"post\" action=\"/sites/\(v.id)/lan\">\(field(csrf))"
                h += "<input type=\"hidden\" name=\"action\" value=\"\(isGranted ? "revoke" : "grant")\"><input type=\"hidden\" name=\"prefixes\" value=\"\(esc(p))\">"
                h += "<button type=\"submit\"\(isGranted ? " class=\"danger\"" : "")>\(isGranted ? "Withdraw" : "Grant")</button></form></td></tr>\n"
            }
            h += "</table>\n"
        }
        h += """
            <form method="post" action="/sites/\(v.id)/lan">\(field(csrf))<input type="hidden" name="action" value="grant">
            <label for="grant">Grant prefixes (space-separated; routed once the site announces them and they are safe)</label>
            <input type="text" id="grant" name="prefixes" placeholder="198.51.100.0/24"> <button type="submit">Grant</button></form>
            <p><a href="/sites/\(v.id)/delete">Delete this site…</a></p>
            </div>

            """
        return h
    }
}

/// The "Create token" form as posted (text fields; WGTokenAdmin checks them).
struct WGTokenForm: Codable, Sendable {
    var csrf: String?
    var name: String?
    var profile: String?
    var ttl: String?
    var uses: String?
    var lan: String?
    var vars: String?

    /// The request the CLI and the admin API would make.
    func request() throws -> WGTokenRequest {
        var uses: Int?
        if let text = self.uses?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard let n = Int(text) else { throw WGHubError.invalid("uses", "a whole number, e.g. 1") }
            uses = n
        }
        let lan = (self.lan ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0.isNewline }).map(String.init)
        let vars = (self.vars ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return WGTokenRequest(name: name, profile: profile, ttl: ttl, uses: uses, lan: lan, vars: vars)
    }
}
