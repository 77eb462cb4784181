#!/usr/bin/env python3
"""What an app-password login costs beside a bcrypt login (issue 16).

A throw-away authd (SQLite) with one account whose own password is bcrypt at COST (default 12,
the policy's default) and one app password; CLIENTS keep-alive clients log in over the UNIX
socket for SECONDS with each, then a wrong password (which must cost a full verify either way).

usage: bench/app_password.py BIN_DIR [COST] [CLIENTS] [SECONDS]     (Python stdlib only)
"""
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
COST = int(sys.argv[2]) if len(sys.argv) > 2 else 12
CLIENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 4
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 6.0
TMP = tempfile.mkdtemp(prefix="authd-bench-app-")
SOCK = f"{TMP}/h.sock"



class Http:
    def __init__(self, password):
        self.req = auth_request("bench", password, keepalive=True, service="imap")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(SOCK)

    def login(self):
        self.s.sendall(self.req)
        return read_response(self.s, time.monotonic() + 30)[0]


def run(password, expect):
    lat, bad, lock = [], [0], threading.Lock()
    end = time.time() + SECONDS

    def client():
        c = Http(password)
        mine = []
        while time.time() < end:
            t = time.perf_counter()
            status = c.login()
            mine.append(time.perf_counter() - t)
            bad[0] += status != expect
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(lat) / SECONDS, pct(lat, 50) * 1000, pct(lat, 99) * 1000, bad[0]


conf = f"{TMP}/authd.toml"
with open(conf, "w") as f:
    f.write(f"""[store]
url = "sqlite://{TMP}/authd.db"
[policy]
bcrypt_cost = {COST}
[http]
listen = ["unix:{SOCK}"]
[throttle]
enabled = false
""")
ctl = [f"{BIN}/authctl", "--config", conf]
subprocess.run(ctl + ["user", "add", "bench"], input="bench-main-pw\n", check=True, capture_output=True, text=True)
app = subprocess.run(ctl + ["app-password", "add", "bench", "--service", "imap"], check=True, capture_output=True,
                     text=True).stdout.strip()
p = subprocess.Popen([f"{BIN}/authd", "--config", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        if os.path.exists(SOCK):
            break
        time.sleep(0.02)
    print(f"| login (bcrypt cost {COST}, {CLIENTS} keep-alive clients, {SECONDS:.0f} s) | logins/s | p50 | p99 | unexpected |")
    print("|---|---|---|---|---|")
    for name, password, expect in (("app password", app, 200), ("own password (bcrypt)", "bench-main-pw", 200),
                                   ("wrong password", "wrong-pw", 401),
                                   ("wrong password shaped like an app password", "aaaa-bbbb-cccc-dddd-eeee-ffff-gg", 401)):
        rate, p50, p99, bad = run(password, expect)
        print(f"| {name} | {rate:.1f} | {p50:.2f} ms | {p99:.2f} ms | {bad} |", flush=True)
finally:
    p.terminate()
    p.wait(15)
    shutil.rmtree(TMP, ignore_errors=True)
