#!/usr/bin/env python3
"""The Dovecot auth-protocol listener beside HTTP: what a login costs through each front end.

A throw-away authd on SQLite with one bcrypt account; CLIENTS threads log in for SECONDS through
  - the Dovecot auth protocol over the UNIX socket, one persistent connection per client (as
    Postfix's smtpd processes keep theirs), AUTH PLAIN with an initial response;
  - POST /v1/auth over the UNIX socket, keep-alive;
  - the Dovecot protocol with a new connection per login (as Radicale and Exim do).
At bcrypt cost 4 (about a millisecond) the figures show the front end's own cost; at cost 10 the
hash dominates and both should reach the same logins/s.

usage: bench/dovecot_auth.py BIN_DIR [CLIENTS] [SECONDS]     (Python stdlib only)
"""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authd_bench import auth_request, pct, read_response  # noqa: E402

BIN = sys.argv[1]
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 8.0
TMP = tempfile.mkdtemp(prefix="authd-bench-dovecot-")
DSOCK, HSOCK = f"{TMP}/auth.sock", f"{TMP}/h.sock"
RESP = base64.b64encode(b"\0bench\0bench-pw").decode()



def start(cost):
    conf = f"{TMP}/authd-{cost}.toml"
    db = f"{TMP}/authd-{cost}.db"
    with open(conf, "w") as f:
        f.write(f"""[store]
url = "sqlite://{db}"
[policy]
bcrypt_cost = {cost}
[http]
listen = ["unix:{HSOCK}"]
[dovecot_auth]
listen = ["unix:{DSOCK}"]
[throttle]
enabled = false
""")
    h = subprocess.run([f"{BIN}/authctl", "--config", conf, "hash", "new", "--cost", str(cost)], input="bench-pw\n",
                       capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([f"{BIN}/authctl", "--config", conf, "user", "add", "bench", "--hash", h], check=True, capture_output=True)
    p = subprocess.Popen([f"{BIN}/authd", "--config", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(DSOCK) and os.path.exists(HSOCK):
            return p
        time.sleep(0.02)
    raise SystemExit("authd did not start")


class Dovecot:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(DSOCK)
        self.s.sendall(b"VERSION\t1\t0\nCPID\t1\n")
        self.buf = b""
        while b"DONE\n" not in self.buf:
            self.buf += self.s.recv(4096)
        self.buf = self.buf[self.buf.index(b"DONE\n") + 5:]
        self.id = 0

    def login(self):
        self.id += 1
        self.s.sendall(f"AUTH\t{self.id}\tPLAIN\tservice=smtp\tresp={RESP}\n".encode())
        while b"\n" not in self.buf:
            self.buf += self.s.recv(4096)
        line, _, self.buf = self.buf.partition(b"\n")
        return line.startswith(b"OK\t")


class Http:
    REQ = auth_request("bench", "bench-pw", keepalive=True)

    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(HSOCK)

    def login(self):
        self.s.sendall(self.REQ)
        return read_response(self.s, time.monotonic() + 30)[0] == 200


class DovecotPerLogin:
    def login(self):
        c = Dovecot()
        ok = c.login()
        c.s.close()
        return ok


def run(kind):
    lat, fails, lock = [], [0], threading.Lock()
    end = time.time() + SECONDS

    def client():
        c = kind()
        mine = []
        while time.time() < end:
            t = time.perf_counter()
            ok = c.login()
            mine.append(time.perf_counter() - t)
            if not ok:
                fails[0] += 1
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(lat) / SECONDS, pct(lat, 50) * 1000, pct(lat, 99) * 1000, fails[0]


print(f"| bcrypt cost | front end | logins/s | p50 | p99 | failed |")
print(f"|---|---|---|---|---|---|")
try:
    for cost in (4, 10):
        p = start(cost)
        try:
            for name, kind in (("Dovecot auth protocol, persistent connection", Dovecot),
                               ("POST /v1/auth, keep-alive", Http),
                               ("Dovecot auth protocol, a connection per login", DovecotPerLogin)):
                rate, p50, p99, failed = run(kind)
                print(f"| {cost} | {name} | {rate:.1f} | {p50:.2f} ms | {p99:.2f} ms | {failed} |", flush=True)
        finally:
            p.terminate()
            p.wait(15)
            for s in (DSOCK, HSOCK):
                if os.path.exists(s):
                    os.unlink(s)
finally:
    shutil.rmtree(TMP, ignore_errors=True)
