#!/usr/bin/env python3
"""A fake `facegate daemon` for testing pam_facegate.so: serves one scenario on a Unix socket.

usage: fake_pam_daemon.py SOCKET SCENARIO REQUEST_LOG
Writes the request lines the module sent to REQUEST_LOG (one per line) and answers as SCENARIO says.
Prints "ready" on stdout once listening. Serves connections until killed.
"""
import os, signal, socket, sys, time

# The test process may hand down a signal mask that blocks SIGTERM: unblock, and never outlive a test by much.
signal.pthread_sigmask(signal.SIG_UNBLOCK, set(signal.Signals))
signal.alarm(60)

path, scenario, log = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
os.chmod(path, 0o666)
srv.listen(4)
print("ready", flush=True)

def serve(c):
    f = c.makefile("rb")
    lines = []
    while True:
        l = f.readline(1024)
        if not l:
            return
        lines.append(l.decode("utf-8", "replace").rstrip("\n"))
        if lines[-1] == "AUTH":
            break
    with open(log, "a") as out:
        out.write("\n".join(lines) + "\n---\n")
    def send(s):
        c.sendall(s if isinstance(s, bytes) else s.encode())
    if scenario == "ok":
        send("INFO Look at the camera\nINFO Blink\nRESULT OK\n")
    elif scenario == "deny":
        send("INFO Look at the camera\nRESULT DENIED face did not match\n")
    elif scenario == "unknown":
        send("RESULT UNKNOWN_USER\n")
    elif scenario == "unavailable":
        send("RESULT UNAVAILABLE camera busy\n")
    elif scenario == "garbage":
        send("HELLO WORLD\n")
    elif scenario == "okay":                     # almost the success line: must not count
        send("RESULT OKAY\n")
    elif scenario == "ok-trailing":
        send("RESULT OK but not really\n")
    elif scenario == "nul":
        send(b"RESULT OK\x00\n")
    elif scenario == "longline":
        send("INFO " + "x" * 5000 + "\nRESULT OK\n")
    elif scenario == "flood":
        send("INFO again\n" * 2000 + "RESULT OK\n")
    elif scenario == "silent":
        time.sleep(60)
    elif scenario == "close":
        pass
    elif scenario == "slow-ok":                  # steady progress, each gap below the module's timeout
        for i in range(6):
            send("INFO step %d\n" % i)
            time.sleep(0.3)
        send("RESULT OK\n")
    elif scenario == "trickle":                  # progress forever: the whole-attempt limit must end it
        for i in range(200):
            send("INFO still looking\n")
            time.sleep(0.3)
    elif scenario == "control":
        send("INFO Bl\x1b[2Jink\nRESULT OK\n")
    else:
        send("RESULT UNAVAILABLE unknown scenario\n")

while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        c.close()
