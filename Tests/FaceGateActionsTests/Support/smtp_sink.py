#!/usr/bin/env python3
"""Loopback SMTP server for FaceGate's mail tests (aiosmtpd).

Writes every received message to OUT/<n>.eml and its envelope to OUT/<n>.json.
Optional STARTTLS (--cert/--key, required when given) and AUTH PLAIN/LOGIN (--user/--password, required).
Prints READY <port> on stdout when listening; runs until killed.
"""
import argparse, json, os, ssl, sys, time, itertools
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--cert"); p.add_argument("--key")
p.add_argument("--user"); p.add_argument("--password")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
counter = itertools.count(1)

class Sink:
    async def handle_DATA(self, server, session, envelope):
        n = next(counter)
        tmp = os.path.join(a.out, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(os.path.join(a.out, f"{n}.json"), "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None,
                       "auth": session.authenticated, "login": (session.login_data.decode() if isinstance(session.login_data, bytes) else str(session.login_data)) if session.login_data else None}, f)
        os.rename(tmp, os.path.join(a.out, f"{n}.eml"))
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user and auth_data.password.decode() == a.password:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)

kw = {}
if a.cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    kw.update(tls_context=ctx, require_starttls=True)
if a.user:
    kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(a.cert))
c = Controller(Sink(), hostname="127.0.0.1", port=a.port, **kw)
c.start()
print(f"READY {a.port}", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
