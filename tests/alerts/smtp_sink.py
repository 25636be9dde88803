#!/usr/bin/env python3
"""A real SMTP server for wghub's alert tests (aiosmtpd): STARTTLS with the given certificate, AUTH PLAIN/LOGIN
required (over TLS only) for USER:PASSWORD, every accepted message written to OUTDIR as N.eml with a .json beside
it (envelope, the authenticated user, TLS or not). Prints "READY PORT" once listening on ADDR (127.0.0.1).

    smtp_sink.py OUTDIR CERT KEY USER PASSWORD [PORT [ADDR]]
"""
import signal, json, os, ssl, sys, time

# A runner may start us with SIGTERM/SIGINT ignored or blocked (both inherited): stop on either all the same.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

outdir, cert, key, user, password = sys.argv[1:6]
port = int(sys.argv[6]) if len(sys.argv) > 6 else 0
addr = sys.argv[7] if len(sys.argv) > 7 else "127.0.0.1"


class Sink:
    # Numbering goes on from what OUTDIR holds: a sink started again (a receiver back) never overwrites a message.
    count = len([f for f in os.listdir(outdir) if f.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        base = os.path.join(outdir, "%d" % Sink.count)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "login": getattr(session, "wghub_login", None),
                "authenticated": session.authenticated, "tls": session.ssl is not None}
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK queued as %d" % Sink.count


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    if ok:
        session.wghub_login = auth_data.login.decode()
    return AuthResult(success=ok, handled=False)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
if port == 0:
    import socket
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
controller = Controller(Sink(), hostname=addr, port=port, server_hostname="localhost", tls_context=context,
                        require_starttls=True, authenticator=authenticator, auth_required=True, auth_require_tls=True)
controller.start()
print("READY %d" % port, flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    controller.stop()
