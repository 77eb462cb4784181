#!/usr/bin/env python3
"""Issue 15, from the outside: hostile clients of the Dovecot auth-protocol listener.

- a request id reused after CANCEL is a new request: it gets its own answer, never the cancelled
  one's (a right password's OK for a wrong one, or the reverse), also while a login is held;
- CANCEL does not lift the bound on logins in flight per connection;
- a flood of idle connections (past the open-file limit) neither takes HTTP logins away nor new
  Dovecot logins: full listeners close their longest-idle connections;
- framing: a 16 KiB line is taken, a longer one closes the connection;
- one client (one rip) keeping hundreds of right-password logins of its own account in flight over
  several connections does not get another client's logins refused (closed: 454 for Postfix).

usage: dovecot_auth_hostile_test.py BIN_DIR SRC_DIR BASE_PORT     (uses BASE_PORT .. BASE_PORT+1)
"""
import base64
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, SRC, BASE_PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
TMP = tempfile.mkdtemp(prefix="authd-it-dovecot-hostile-")
FAILS = 0


def check(name, good, detail=""):
    global FAILS
    detail = detail.replace("FAIL", "fail")  # a quoted protocol line must not look like a failed check
    print(f"{'ok  ' if good else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)
    FAILS += 0 if good else 1


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b""
        self.s.sendall(b"VERSION\t1\t0\nCPID\t77\n")
        while b"DONE\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise OSError("closed during the handshake")
            self.buf += chunk
        self.buf = self.buf[self.buf.index(b"DONE\n") + 5:]

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")

    def line(self, timeout=10):
        self.s.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.s.recv(4096)
            except (TimeoutError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def close(self):
        self.s.close()


conf = f"{TMP}/authd.toml"
dsock, hsock = f"{TMP}/auth.sock", f"{TMP}/h.sock"
with open(conf, "w") as f:
    f.write(f"""[store]
url = "sqlite://{TMP}/authd.db"
[policy]
bcrypt_cost = 4
[http]
listen = ["127.0.0.1:{BASE_PORT}", "unix:{hsock}"]
[dovecot_auth]
listen = ["unix:{dsock}", "127.0.0.1:{BASE_PORT + 1}"]
[throttle]
initial_ms = 2000
""")
md5 = subprocess.run(["openssl", "passwd", "-1", "pw"], capture_output=True, text=True, check=True).stdout.strip()
subprocess.run([f"{BIN}/authctl", "--config", conf, "user", "add", "alice", "--hash", md5], check=True, capture_output=True)
log = open(f"{TMP}/authd.log", "wb")
# An open-file limit of 1024: four listeners get (1024 - 256) / 4 = 192 connections each.
authd = subprocess.Popen([f"{BIN}/authd", "--config", conf], stdout=log, stderr=log,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)))
for _ in range(100):
    if os.path.exists(dsock) and os.path.exists(hsock):
        break
    time.sleep(0.05)


def http_login():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(hsock)
        body = json.dumps({"username": "alice", "password": "pw"}).encode()
        s.sendall(b"POST /v1/auth HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b" ", 2)[1].decode() if data else "none"
    except OSError as e:
        return str(e)
    finally:
        s.close()


try:
    c = Client(dsock)
    c.send(f"AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.10\tresp={plain('alice', 'pw')}")
    c.send("CANCEL\t1")
    c.send(f"AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.11\tresp={plain('nosuch', 'bad')}")
    answers = [c.line(), c.line(3)]
    check("an id reused after CANCEL gets its own answer, not the cancelled login's OK",
          answers[0] is not None and answers[0].startswith("FAIL\t1") and answers[1] is None, repr(answers))
    c.close()

    c = Client(dsock)
    c.send(f"AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.20\tresp={plain('alice', 'wrong')}")
    first = c.line()
    c.send(f"AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.20\tresp={plain('alice', 'pw')}")  # held ~2 s
    time.sleep(0.3)
    c.send("CANCEL\t2")
    c.send(f"AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.20\tresp={plain('alice', 'pw')}")
    second = c.line(12)
    check("a held login cancelled and its id reused: the new request is answered after its hold",
          first.startswith("FAIL\t1") and second == "OK\t2\tuser=alice", f"{first!r} {second!r}")
    c.close()

    c = Client(dsock)
    closed = False
    for i in range(1, 200):
        try:
            c.send(f"AUTH\t{i}\tPLAIN\tservice=smtp\trip=192.0.2.30\tresp={plain('alice', 'pw')}")
            c.send(f"CANCEL\t{i}")
        except OSError:
            closed = True
            break
    if not closed:
        try:
            while c.line(5) is not None:
                pass
            closed = True
        except OSError:
            closed = True
    check("CANCEL does not lift the bound on logins in flight per connection (closed)", closed)
    c.close()

    c = Client(dsock)
    big = "x" * (16384 - len("AUTH\t9\tPLAIN\tservice=smtp\tlip=\t") - len(f"resp={plain('alice', 'pw')}"))
    c.send(f"AUTH\t9\tPLAIN\tservice=smtp\tlip={big}\tresp={plain('alice', 'pw')}")
    check("a 16384-byte line is taken", c.line() == "OK\t9\tuser=alice")
    c.send("X" * 16385)
    check("a longer one closes the connection", c.line(5) is None)
    c.close()

    slow = subprocess.run([f"{BIN}/authctl", "--config", conf, "hash", "new", "--cost", "10"], input="own-pw\n",
                          capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([f"{BIN}/authctl", "--config", conf, "user", "add", "mallory", "--hash", slow], check=True,
                   capture_output=True)
    stop, flood_closed = threading.Event(), [0]

    def flooder():
        while not stop.is_set():
            try:
                fc = Client(dsock)
                for i in range(1, 31):
                    fc.send(f"AUTH\t{i}\tPLAIN\tservice=smtp\trip=203.0.113.66\tresp={plain('mallory', 'own-pw')}")
                while fc.line(10) is not None:
                    pass
                flood_closed[0] += 1
                fc.close()
            except OSError:
                flood_closed[0] += 1

    floods = [threading.Thread(target=flooder) for _ in range(6)]
    [t.start() for t in floods]
    time.sleep(1.0)
    probes = []
    for i in range(20):
        try:
            pc = Client(dsock)
            pc.send(f"AUTH\t1\tPLAIN\tservice=smtp\trip=198.51.100.7\tresp={plain('alice', 'pw')}")
            probes.append(pc.line(15))
            pc.close()
        except OSError as e:
            probes.append(str(e))
        time.sleep(0.1)
    stop.set()
    [t.join() for t in floods]
    check("one client with 6 x 30 right-password logins in flight: another client's 20 logins all OK",
          all(a == "OK\t1\tuser=alice" for a in probes), f"{sorted(set(map(repr, probes)))}")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    idle = []
    for _ in range(1100):  # past authd's open-file limit of 1024
        try:
            idle.append(Client(dsock))
        except OSError:
            break
    time.sleep(0.5)
    check("a flood of idle Dovecot connections: HTTP logins still answered", http_login() == "200")
    try:
        fresh = Client(dsock)
        fresh.send(f"AUTH\t1\tPLAIN\tservice=smtp\tresp={plain('alice', 'pw')}")
        answer = fresh.line()
        fresh.close()
    except OSError as e:
        answer = str(e)
    check("... and a new Dovecot login too (the longest-idle connections were closed for it)",
          answer == "OK\t1\tuser=alice", repr(answer))
    with open(f"{TMP}/authd.log", errors="replace") as f:
        text = f.read()
    check("the cap was named in the log", "capped at 192 per listener" in text)
    check("no 'Too many open files' on accept", "Too many open files" not in text)
    for cl in idle:
        cl.close()
finally:
    authd.terminate()
    try:
        authd.wait(15)
    except subprocess.TimeoutExpired:
        authd.kill()
    if FAILS == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print(f"logs kept in {TMP}")
print(f"DOVECOT AUTH HOSTILE: {'PASS' if FAILS == 0 else f'FAIL ({FAILS})'}")
sys.exit(1 if FAILS else 0)
