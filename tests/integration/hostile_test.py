#!/usr/bin/env python3
"""Issue 12, from the outside: a started authd driven the way a hostile client would drive it.

Idle and slow connections on TCP and on the UNIX socket next to real logins, a slowloris cut at
header_timeout_s, a stranger's wrong passwords against a user's familiar address, a spray of
made-up names through loopback, rotated X-Forwarded-For / remote_ip from an untrusted peer,
repeated vs. distinct wrong passwords, chunked-body and header floods against authd's RSS,
pipelining, metric labels and the bearer token, SIGTERM with slow clients.

usage: hostile_test.py BIN_DIR SRC_DIR BASE_PORT     (uses BASE_PORT .. BASE_PORT+5)
Python 3 standard library only. Prints one "ok"/"FAIL" line per check, then
"HOSTILE CLIENTS: PASS" or "HOSTILE CLIENTS: FAIL (n)"; exits non-zero on any failure.

A configuration key that this authd rejects (--check-config) is reported as a FAIL and left out,
so that the remaining checks still run against an older build.
"""
import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, SRC, BASE_PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
TMP = tempfile.mkdtemp(prefix="authd-it-hostile-")
os.chmod(TMP, 0o755)
FAILS = 0
INSTANCES = []
PASSWORDS = {"alice": "alice-pw-1", "bob": "bob-pw-2", "dave": "dave-pw-4", "erin": "erin-pw-5",
             "frank": "frank-pw-6", "grace": "grace-pw-7", "heidi": "heidi-pw-8"}
MD5_USER, MD5_PASSWORD = "carol", "carol-md5-pw"


def check(name, good, detail=""):
    global FAILS
    if good:
        print(f"ok   {name:<70} ({detail})" if detail else f"ok   {name}", flush=True)
    else:
        FAILS += 1
        print(f"FAIL {name:<70} {detail}", flush=True)
    return good


def note(text):
    print(f"     {text}", flush=True)


# ---------------------------------------------------------------- raw HTTP client
class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return {}

    def __repr__(self):
        return f"{self.status} in {self.elapsed:.2f}s"


def connect(target, timeout=10.0):
    kind, where = target
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(where)
    return s


class Reader:
    """Reads HTTP/1.1 responses off one socket (Content-Length, chunked or until close)."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by authd")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if head_request or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._take(size)
                self._take(2)
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:
            body = self.buf
            try:
                while True:
                    self._fill()
            except (ConnectionError, OSError):
                pass
            body, self.buf = self.buf, b""
        return status, headers, body.decode("utf-8", "replace")


def build(method, path, headers=None, body=None, close=True):
    h = {"Host": "authd"}
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        body = body.encode() if isinstance(body, str) else body
        h["Content-Length"] = str(len(body))
    if close:
        h["Connection"] = "close"
    h.update(headers or {})
    raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return raw.encode("latin-1") + (body or b"")


def request(target, method, path, headers=None, body=None, timeout=10.0):
    """One request on a fresh connection. Returns Resp; status 0 = no answer (timeout / closed)."""
    t0 = time.monotonic()
    try:
        s = connect(target, timeout)
    except OSError as e:
        return Resp(0, {}, f"connect: {e}", time.monotonic() - t0)
    try:
        s.sendall(build(method, path, headers, body))
        status, hdrs, text = Reader(s).response(method == "HEAD")
        return Resp(status, hdrs, text, time.monotonic() - t0)
    except (OSError, ConnectionError, ValueError, IndexError) as e:
        return Resp(0, {}, f"{type(e).__name__}: {e}", time.monotonic() - t0)
    finally:
        s.close()


def raw(target, data, timeout=10.0):
    """Sends DATA as it is on a fresh connection; the answer's status, or None when closed unanswered."""
    s = connect(target, timeout)
    try:
        s.sendall(data)
        return Reader(s).response()[0]
    except (OSError, ConnectionError, ValueError, IndexError):
        return None
    finally:
        s.close()


def basic_header(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def auth(target, user, password, xff=None, remote_ip=None, service=None, headers=None, timeout=10.0):
    body = {"username": user, "password": password}
    if remote_ip is not None:
        body["remote_ip"] = remote_ip
    if service is not None:
        body["service"] = service
    h = dict(headers or {})
    if xff is not None:
        h["X-Forwarded-For"] = xff
    return request(target, "POST", "/v1/auth", h, body, timeout)


def basic(target, user, password, xff=None, path="/v1/basic", headers=None, timeout=10.0):
    h = basic_header(user, password)
    if xff is not None:
        h["X-Forwarded-For"] = xff
    h.update(headers or {})
    return request(target, "GET", path, h, None, timeout)


def slowed(r, floor_s):
    """An answer the throttle slowed: held for at least floor_s, or refused with 429."""
    return r.status == 429 or (r.status in (401, 403, 200) and r.elapsed >= floor_s)


# ---------------------------------------------------------------- one authd
class Authd:
    def __init__(self, name, port, http_lines="", throttle_lines="", extra=""):
        self.name, self.port = name, port
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "authd.sock")
        self.conf = os.path.join(self.dir, "authd.toml")
        self.log = os.path.join(self.dir, "authd.log")
        self.tcp, self.unix = ("tcp", ("127.0.0.1", port)), ("unix", self.sock)
        self.proc = None
        self.lines = [
            "[store]", f'url = "sqlite://{self.dir}/authd.db"', "[policy]", "bcrypt_cost = 4",
            "[http]", f'listen = ["127.0.0.1:{port}", "unix:{self.sock}"]', 'socket_mode = "0600"',
            *[l for l in http_lines.splitlines() if l.strip()],
            "[throttle]", *[l for l in throttle_lines.splitlines() if l.strip()],
            *[l for l in extra.splitlines() if l.strip()],
        ]
        self._write_checked()
        for user, password in PASSWORDS.items():
            self.ctl("user", "add", user, stdin=password + "\n")
        self.ctl("user", "add", MD5_USER, "--hash", hashlib.md5(MD5_PASSWORD.encode()).hexdigest())
        INSTANCES.append(self)

    def _write_checked(self):
        for _ in range(20):
            with open(self.conf, "w") as f:
                f.write("\n".join(self.lines) + "\n")
            p = subprocess.run([f"{BIN}/authd", "--config", self.conf, "--check-config"],
                               capture_output=True, text=True)
            if p.returncode == 0:
                return
            m = re.search(r":(\d+):.*unknown key", p.stderr + p.stdout)
            if not m:
                raise SystemExit(f"{self.name}: config rejected: {p.stderr}{p.stdout}")
            bad = self.lines[int(m.group(1)) - 1]
            check(f"[{self.name}] authd accepts config line `{bad}`", False, "(left out)")
            del self.lines[int(m.group(1)) - 1]

    def ctl(self, *args, stdin=None):
        p = subprocess.run([f"{BIN}/authctl", "--config", self.conf, *args], input=stdin,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"authctl {' '.join(args)}: {p.stderr}")
        return p.stdout

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([f"{BIN}/authd", "--config", self.conf], stdout=logf, stderr=logf)
        for _ in range(200):
            if os.path.exists(self.sock) and request(self.tcp, "GET", "/healthz", timeout=2).status == 200:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        print(open(self.log, errors="replace").read())
        raise SystemExit(f"{self.name}: authd did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def metrics(self):
        return request(self.unix, "GET", "/metrics").body


class RssWatch:
    """Samples authd's VmRSS every 20 ms in the background; .peak in kB."""

    def __init__(self, authd):
        self.authd, self.peak, self.stop_flag = authd, authd.rss_kb(), False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_flag:
            try:
                self.peak = max(self.peak, self.authd.rss_kb())
            except OSError:
                return
            time.sleep(0.02)

    def done(self):
        self.stop_flag = True
        self.t.join()
        return self.peak


# ---------------------------------------------------------------- the checks
INITIAL_S, MAX_MS = 0.5, 2000
FAST = """
initial_ms = 500
max_ms = 2000
account_free_failures = 5
"""


def check_idle_connections(q):
    """1. 200 idle / slowloris connections on TCP and the socket; logins still answered in < 2 s."""
    idle, slow, lock = [], [], threading.Lock()
    for target in (q.tcp, q.unix):
        for _ in range(50):
            s = connect(target)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: authd\r\n\r\n")  # keep-alive, then silence
            idle.append(s)
        for _ in range(50):
            s = connect(target)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: authd\r\nX-Slow: ")  # never finished
            slow.append(s)
    stop = threading.Event()

    def dribble():
        while not stop.wait(2.0):
            with lock:
                for s in list(slow):
                    try:
                        s.send(b"a")
                    except OSError:
                        slow.remove(s)
    threading.Thread(target=dribble, daemon=True).start()
    time.sleep(0.5)

    worst, bad, timeouts = 0.0, [], 0
    plan = [("POST /v1/auth TCP", lambda: auth(q.tcp, "dave", PASSWORDS["dave"], timeout=5))] * 10 + \
           [("GET /v1/basic TCP", lambda: basic(q.tcp, "dave", PASSWORDS["dave"], timeout=5))] * 10 + \
           [("POST /v1/auth socket", lambda: auth(q.unix, "dave", PASSWORDS["dave"], timeout=5))] * 5
    for what, call in plan:
        r = call()
        worst = max(worst, r.elapsed)
        if r.status != 200 or r.elapsed >= 2.0 or (what.startswith("POST") and r.json().get("ok") is not True):
            bad.append(f"{what}: {r}")
            timeouts += r.status == 0
            if timeouts >= 2:
                bad.append("(gave up after two unanswered logins)")
                break
    check("idle+slowloris x200 (TCP+socket): 25 logins each 200 in < 2 s", not bad,
          f"slowest {worst:.3f}s" if not bad else "; ".join(bad[:4]))

    # Every idle connection got its /healthz answer (none waited for a thread).
    answered, deadline = 0, time.monotonic() + 3
    for s in idle:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if Reader(s).response()[0] == 200:
                answered += 1
        except (OSError, ConnectionError, ValueError):
            pass
    check("all 100 idle keep-alive connections got their /healthz answer", answered == 100, f"{answered}/100")
    with lock:
        note(f"slowloris connections not yet refused by a send: {len(slow)}/100")
    stop.set()
    with lock:
        for s in slow + idle:
            s.close()


def check_slowloris_cut(a, header_timeout):
    """2. A connection dribbling header bytes is closed within header_timeout_s + slack."""
    for label, target in (("TCP", a.tcp), ("socket", a.unix)):
        s = connect(target, timeout=0.5)
        t0 = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: authd\r\nX-Slow: ")
        closed_at, alive_at_1s = None, False
        while time.monotonic() - t0 < header_timeout + 6:
            try:
                s.send(b"a")
                data = s.recv(4096)  # waits up to 0.5 s for an answer / EOF
                if not data:
                    closed_at = time.monotonic() - t0
                    break
                # A 408 (or similar) answer is fine; the close must follow.
            except socket.timeout:
                pass
            except OSError:
                closed_at = time.monotonic() - t0
                break
            if time.monotonic() - t0 >= 1.0:
                alive_at_1s = alive_at_1s or closed_at is None
        s.close()
        ok = closed_at is not None and closed_at <= header_timeout + 1.5 and alive_at_1s
        check(f"slowloris on {label} cut by header_timeout_s={header_timeout} (+1.5 s)", ok,
              f"closed after {closed_at:.1f}s" if closed_at else f"still open after {header_timeout + 6} s")


def check_stranger(a):
    """3. A stranger's wrong passwords from rotating addresses do not keep alice out."""
    home = "198.51.100.7"
    r = basic(a.tcp, "alice", PASSWORDS["alice"], xff=home)
    check("alice logs in from 198.51.100.7 (through the loopback proxy)", r.status == 200, repr(r))
    results, n = [], iter(range(1, 250))
    lock = threading.Lock()

    def stranger(k):
        for _ in range(k):
            with lock:
                ip = f"203.0.113.{next(n)}"
            results.append(auth(a.tcp, "alice", f"guess-{random.random()}", xff=ip, timeout=20).status)
    threads = [threading.Thread(target=stranger, args=(5,)) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    note(f"stranger's 20 wrong passwords for alice: {sorted(set(results))}")
    outcome = []
    for _ in range(5):
        stranger(1)  # the stranger keeps going between alice's logins
        r = basic(a.tcp, "alice", PASSWORDS["alice"], xff=home, timeout=10)
        outcome.append(r)
    good = all(r.status == 200 and r.elapsed < 1.5 for r in outcome)
    check("after 25 stranger failures alice from her address: 5 x 200 in < 1.5 s", good, ", ".join(map(repr, outcome)))
    # A new stranger address is slowed for alice (account-level, unfamiliar source).
    tries = []
    for _ in range(6):
        r = auth(a.tcp, "alice", f"guess-{random.random()}", xff=f"203.0.113.{next(n)}", timeout=20)
        tries.append(r)
        if slowed(r, INITIAL_S * 0.9):
            break
    check("a wrong password for alice from a new stranger address is slowed", slowed(tries[-1], INITIAL_S * 0.9),
          ", ".join(map(repr, tries)))


def check_spray(a):
    """4. Made-up names sprayed through loopback without a forwarded address keep nobody out."""
    stop = threading.Event()
    spray = []

    def sprayer():
        while not stop.is_set():
            name = "ghost%06d" % random.randrange(10 ** 6)
            spray.append(basic(a.tcp, name, "nope", path="/v1/basic/nextcloud", timeout=15).status)
            stop.wait(0.3)
    t = threading.Thread(target=sprayer, daemon=True)
    t.start()
    real = []
    t_end = time.monotonic() + 10
    while time.monotonic() < t_end:
        real.append(basic(a.tcp, "erin", PASSWORDS["erin"], path="/v1/basic/nextcloud", timeout=15))
        time.sleep(0.5)
    stop.set()
    t.join()
    ok200 = sum(r.status == 200 for r in real)
    check("made-up-name spray via loopback (no XFF): the real user 200 every time", ok200 == len(real),
          f"{ok200}/{len(real)} ok, slowest {max(r.elapsed for r in real):.2f}s; spray answers {sorted(set(spray))}")


def check_untrusted(u):
    """5. trusted_proxies = []: rotated XFF / JSON remote_ip from loopback are one source."""
    rs = [basic(u.tcp, f"nobody{i}", "wrong", xff=f"192.0.2.{i + 10}", timeout=20) for i in range(4)]
    check("untrusted peer, rotated X-Forwarded-For: attempts 2..4 slowed as one source",
          all(slowed(r, INITIAL_S * 0.9) for r in rs[1:]), ", ".join(map(repr, rs)))
    # A right password from the same source clears its penalty (it may itself be held first).
    r = auth(u.tcp, "bob", PASSWORDS["bob"], timeout=20)
    check("… the right password from that source afterwards: 200", r.status == 200, repr(r))
    rs = [auth(u.tcp, f"nobody{i}", "wrong", remote_ip=f"192.0.2.{i + 50}", timeout=20) for i in range(4)]
    check("untrusted peer, rotated JSON remote_ip: attempts 2..4 slowed as one source",
          all(slowed(r, INITIAL_S * 0.9) for r in rs[1:]), ", ".join(map(repr, rs)))
    # The socket stays trusted: its remote_ip is believed, so fresh addresses are not slowed.
    rs = [auth(u.unix, f"nobody{i}", "wrong", remote_ip=f"192.0.2.{i + 90}", timeout=20) for i in range(3)]
    check("… the UNIX socket's remote_ip is still believed (fresh addresses not slowed)",
          all(r.status == 401 and r.elapsed < INITIAL_S * 0.6 for r in rs), ", ".join(map(repr, rs)))


def check_repeat(a):
    """6. The same wrong password repeated does not escalate; distinct ones do."""
    gap = INITIAL_S + 0.15  # just past the first penalty; an escalated one (1 s, 2 s) still runs
    for user, src, same in (("frank", "198.51.100.66", True), ("grace", "198.51.100.67", False)):
        r = basic(a.tcp, user, PASSWORDS[user], xff=src)  # familiar: no account-level penalty here
        if r.status != 200:
            check(f"{user} logs in from {src}", False, repr(r))
        rs = []
        for i in range(6):
            rs.append(basic(a.tcp, user, "old-password" if same else f"typo-{i}", xff=src, timeout=20))
            time.sleep(gap)
        text = ", ".join(map(repr, rs))
        if same:
            check("same wrong password x6 (after each penalty): 401 at once every time",
                  all(r.status == 401 and r.elapsed <= 0.35 for r in rs), text)
        else:
            check("6 distinct wrong passwords: the later ones held >= 2 x initial_ms or 429",
                  all(slowed(r, 2 * INITIAL_S) for r in rs[4:]), text)
        r = basic(a.tcp, user, PASSWORDS[user], xff=src, timeout=20)
        check(f"… then {user}'s right password from that source: 200", r.status == 200, repr(r))


def check_typo_hold(q):
    """Default throttle (initial 2 s): a typo, then the right password from the same address is
    held and answered 200, never 429 at once."""
    src = "198.51.100.200"
    r1 = basic(q.tcp, "heidi", "typo", xff=src)
    r2 = basic(q.tcp, "heidi", PASSWORDS["heidi"], xff=src, timeout=20)
    check("defaults: typo then right password from one address: held ~2 s, then 200",
          r1.status == 401 and r2.status == 200 and 1.7 <= r2.elapsed <= 3.5, f"{r1!r}, {r2!r}")


def flood(a, head, chunks, label):
    """Streams head + chunks on one connection while sampling RSS; returns (status or None, peak growth MB)."""
    before = a.rss_kb()
    watch = RssWatch(a)
    s = connect(a.tcp, timeout=30)
    status = [None]

    def read():
        try:
            status[0] = Reader(s).response()[0]
        except (OSError, ConnectionError, ValueError, IndexError):
            pass
    t = threading.Thread(target=read, daemon=True)
    t.start()
    sent = 0
    try:
        s.sendall(head)
        for c in chunks:
            s.sendall(c)
            sent += len(c)
            if status[0] is not None:
                break
    except OSError:
        pass
    t.join(10)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    t.join(5)
    s.close()
    time.sleep(0.3)
    peak = watch.done()
    grow = (peak - before) / 1024
    note(f"{label}: sent {sent / 2 ** 20:.1f} MiB, answer {status[0] or 'none (closed)'}, RSS {before // 1024} -> peak {peak // 1024} MB")
    return status[0], grow


def check_floods(a):
    """7. Chunked body flood, header floods: 413/431 or closed, RSS grows < 20 MB."""
    head = (b"POST /v1/auth HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
    status, grow = flood(a, head, (piece for _ in range(1024)), "64 MiB chunked body")
    check("64 MiB chunked POST /v1/auth: 413 or closed, RSS +< 20 MB", status in (413, None) and grow < 20,
          f"answer {status}, +{grow:.1f} MB")

    line = lambda i: b"X-Flood-%05d: %s\r\n" % (i, b"v" * 90)
    head = b"GET /healthz HTTP/1.1\r\nHost: authd\r\n"
    status, grow = flood(a, head, (line(i) for i in range(10000)), "10,000 header lines (1 MiB)")
    check("10,000 header lines / 1 MiB of headers: 431 or closed, RSS flat", status in (431, None) and grow < 20,
          f"answer {status}, +{grow:.1f} MB")
    status, grow = flood(a, head, (line(i % 100000) * 100 for i in range(6500)), "64 MiB of header lines")
    check("64 MiB of header lines: 431 or closed, RSS +< 20 MB", status in (431, None) and grow < 20,
          f"answer {status}, +{grow:.1f} MB")
    r = request(a.tcp, "GET", "/healthz", {f"X-Many-{i}": "x" for i in range(100)})
    check("100 header fields (> 64): 431", r.status == 431 or r.status == 0, repr(r))
    r = request(a.tcp, "GET", "/healthz", {"X-Big": "b" * 20000})
    check("one 20 kB header (> max_header_bytes 16384): 431", r.status == 431 or r.status == 0, repr(r))
    r = request(a.tcp, "GET", "/healthz", {f"X-Some-{i}": "x" * 100 for i in range(40)})
    check("40 header fields of 100 bytes (within the limits): 200", r.status == 200, repr(r))
    body = json.dumps({"username": "bob", "password": PASSWORDS["bob"]}).encode()
    st = raw(a.tcp, b"POST /v1/auth HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:]))
    check("a small chunked POST /v1/auth (two chunks) is still served: 200", st == 200, f"answer {st}")
    st = raw(a.tcp, b"POST /v1/auth HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    check("Transfer-Encoding and Content-Length together: 400 (or closed)", st in (400, None), f"answer {st}")
    r = auth(a.tcp, "bob", PASSWORDS["bob"])
    check("authd still logs in after the floods", r.status == 200, repr(r))


def check_pipelining(a):
    """8. Two (three) requests in one write: answers in order, promptly."""
    body = json.dumps({"username": "bob", "password": PASSWORDS["bob"]}).encode()
    for label, target in (("TCP", a.tcp), ("socket", a.unix)):
        s = connect(target, timeout=5)
        t0 = time.monotonic()
        s.sendall(build("GET", "/healthz", close=False) + build("POST", "/v1/auth", body=body, close=False)
                  + build("GET", "/v1/nothing-here", close=True))
        rd, got = Reader(s), []
        try:
            for _ in range(3):
                st, _, text = rd.response()
                got.append((st, text.strip()[:40]))
        except (OSError, ConnectionError, ValueError, IndexError) as e:
            got.append(type(e).__name__)
        el = time.monotonic() - t0
        s.close()
        good = (len(got) == 3 and got[0][0] == 200 and got[1][0] == 200 and '"user"' in got[1][1]
                and got[2][0] == 404 and el < 2)
        check(f"pipelined GET /healthz + POST /v1/auth + GET 404 on {label}: 3 answers in order", good,
              f"{got} in {el:.2f}s")


def metric(text, key):
    """The value of one exact series (name and labels), 0 when absent."""
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.rpartition(" ")[2])
    return 0.0


def series(text, name):
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def check_metrics_token(t, token):
    """9. Metric labels tell no account apart; the bearer token guards TCP."""
    moved = []
    for i, (user, pw) in enumerate((("nosuchuser", "x1"), ("alice", "x2"), (MD5_USER, "x3"), ("nosuch2", "x4"))):
        before = series(t.metrics(), "authd_logins_total")
        r = auth(t.unix, user, pw, remote_ip=f"192.0.2.{200 + i}")
        after = series(t.metrics(), "authd_logins_total")
        diff = [k for k in after if after[k] != before.get(k, 0)]
        moved.append((user, r.status, diff))
    keys = {tuple(d) for _, _, d in moved}
    check("wrong password: unknown, bcrypt and MD5 user move the same authd_logins_total series",
          len(keys) == 1 and all(len(d) == 1 and st == 401 for _, st, d in moved),
          "; ".join(f"{u} {st}: {d}" for u, st, d in moved))

    tok = {"X-Authd-Token": token}
    right = ("bob", PASSWORDS["bob"])
    for path in ("/v1/basic", "/v1/basic/web", "/api/verify", "/api/authz/forward-auth"):
        r0 = basic(t.tcp, *right, path=path)
        r1 = basic(t.tcp, *right, path=path, headers=tok)
        r2 = basic(t.tcp, *right, path=path, headers={"X-Authd-Token": "not-the-token"})
        check(f"bearer set: TCP {path} without / with / wrong X-Authd-Token: 403 / 200 / 403",
              (r0.status, r1.status, r2.status) == (403, 200, 403), f"{r0.status} / {r1.status} / {r2.status}")
    r = basic(t.unix, *right)
    check("bearer set: /v1/basic on the socket needs no token: 200", r.status == 200, repr(r))
    r0 = auth(t.tcp, *right)
    r1 = auth(t.tcp, *right, headers={"Authorization": f"Bearer {token}"})
    check("bearer set: TCP POST /v1/auth without / with the token: 401 with error / 200",
          r0.status == 401 and "error" in r0.json() and r1.status == 200, f"{r0!r} {r0.body.strip()[:60]} / {r1!r}")
    r0 = request(t.tcp, "GET", "/metrics")
    r1 = request(t.tcp, "GET", "/metrics", {"Authorization": f"Bearer {token}"})
    r2 = request(t.unix, "GET", "/metrics")
    check("/metrics: TCP without token 403, TCP with token 200, socket 200",
          (r0.status, r1.status, r2.status) == (403, 200, 200), f"{r0.status} / {r1.status} / {r2.status}")


def check_sigterm(q):
    """10. SIGTERM with slow clients and one in-flight (held) login: exit within drain_timeout_s + 3."""
    drain = 10  # the default
    slow = []
    for target in (q.tcp, q.unix):
        for _ in range(10):
            s = connect(target)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: authd\r\nX-Slow: a")
            slow.append(s)
        for _ in range(10):
            s = connect(target)
            s.sendall(b"POST /v1/auth HTTP/1.1\r\nHost: authd\r\nContent-Length: 200\r\n\r\n{\"user")
            slow.append(s)
        for _ in range(10):
            s = connect(target)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: authd\r\n\r\n")
            slow.append(s)
    src = "198.51.100.201"
    basic(q.tcp, "heidi", "typo-again", xff=src)  # the next attempt from src is held ~2 s
    inflight = {}

    def login():
        inflight["r"] = basic(q.tcp, "heidi", PASSWORDS["heidi"], xff=src, timeout=drain + 5)
    t = threading.Thread(target=login, daemon=True)
    t.start()
    time.sleep(0.4)
    t0 = time.monotonic()
    q.proc.send_signal(signal.SIGTERM)
    try:
        rc = q.proc.wait(drain + 3)
        el = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        rc, el = None, None
    check(f"SIGTERM with 60 slow clients + a held login: exit 0 within {drain}+3 s", rc == 0,
          f"exit {rc} after {el:.1f}s" if el is not None else f"still running after {drain + 3} s")
    if rc is None:
        q.proc.kill()
        q.proc.wait()
    t.join(3)
    r = inflight.get("r")
    check("… the in-flight login was answered before the exit", r is not None and r.status in (200, 401, 429, 503),
          repr(r))
    check("… and the held answer did not keep the drain waiting (exit within 3 s)", el is not None and el < 3.0,
          f"{el:.1f}s" if el is not None else "-")
    for s in slow:
        s.close()


def check_no_address_owner(a):
    """13. An owner whose logins come without an address (Nextcloud relaying, the socket without
    remote_ip) is not kept out by a stranger's wrong passwords from elsewhere."""
    r = basic(a.tcp, "erin", PASSWORDS["erin"], path="/v1/basic/nextcloud")
    check("erin logs in through the no-address channel", r.status == 200, repr(r))
    for i in range(12):
        basic(a.tcp, "erin", f"guess-{i}", xff=f"203.0.113.{100 + i}", timeout=20)
    rs = [basic(a.tcp, "erin", PASSWORDS["erin"], path="/v1/basic/nextcloud") for _ in range(5)]
    check("… after 12 strangers' guesses her no-address logins: 200, promptly",
          all(r.status == 200 and r.elapsed < 1.0 for r in rs), ", ".join(map(repr, rs)))
    r = auth(a.unix, "erin", PASSWORDS["erin"])
    check("… and over the socket without remote_ip", r.status == 200 and r.elapsed < 1.0, repr(r))


def check_shared_address(a):
    """14. A sprayer behind a shared address (office NAT, a webmail) does not keep that address's
    own users out: their logins are held at most initial_ms, never refused."""
    nat = "198.51.100.150"
    r = basic(a.tcp, "dave", PASSWORDS["dave"], xff=nat)
    check("dave logs in from the office address", r.status == 200, repr(r))
    for i in range(8):
        basic(a.tcp, f"nobody{i}", "x", xff=nat, timeout=20)
    r = basic(a.tcp, "dave", PASSWORDS["dave"], xff=nat, timeout=20)
    check("… after a spray of made-up names from it, dave: 200 within initial_ms + slack",
          r.status == 200 and r.elapsed <= INITIAL_S + 0.5, repr(r))


def check_listener_full(c):
    """11. A listener full of slowloris connections still takes a login: the slowest goes."""
    slow = []
    for _ in range(16):
        s = connect(c.tcp, timeout=0.5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: authd\r\nX-Slow: ")
        slow.append(s)
    time.sleep(0.2)  # all 16 fresh: none can be closed to make room yet
    got = raw(c.tcp, build("GET", "/v1/basic", {"Authorization": basic_header("alice", PASSWORDS["alice"])}))
    check("a newcomer refused by the full listener reads the 503, not a reset", got == 503, repr(got))
    late = []
    for _ in range(3):  # refused at accept, before its request arrives; it sends it a moment later
        s = connect(c.tcp, timeout=5)
        time.sleep(0.3)
        try:
            s.sendall(build("GET", "/v1/basic", {"Authorization": basic_header("alice", PASSWORDS["alice"])}))
            late.append(Reader(s).response()[0])
        except (OSError, ConnectionError, ValueError, IndexError) as e:
            late.append(type(e).__name__)
        finally:
            s.close()
    check("... also when its request comes after the refusal (read, not answered with a reset)",
          late == [503] * 3, repr(late))
    time.sleep(1.3)  # they have been sending their heads for over a second now
    answers = [basic(c.tcp, "alice", PASSWORDS["alice"]).status for _ in range(5)]
    check("listener full of slow heads: logins still answered 200", answers == [200] * 5, repr(answers))
    evicted = metric(c.metrics(), 'authd_http_connections_closed_total{reason="slow_evicted"}')
    check("... by closing a slow connection (metric slow_evicted)", evicted >= 1, f"{evicted}")
    for s in slow:
        s.close()


def check_per_peer_cap(u):
    """12. An untrusted source cannot open more than max_connections_per_peer connections."""
    held = []
    for _ in range(16):
        s = connect(u.tcp)
        s.sendall(build("GET", "/healthz", close=False))
        held.append(s)
    time.sleep(0.3)
    extra = raw(u.tcp, build("GET", "/healthz"))
    check("17th connection from one untrusted source refused with 503", extra == 503, repr(extra))
    refused = metric(u.metrics(), 'authd_http_connections_refused_total{reason="per_peer"}')
    check("... counted as refused per_peer", refused >= 1, f"{refused}")
    r = auth(u.unix, "alice", PASSWORDS["alice"])
    check("... while the socket still logs in", r.status == 200, repr(r))
    for s in held:
        s.close()


def check_fair_share(f):
    """15. One client keeping many right-password logins of its own account in flight (it is never
    throttled: the password is right) must not take the workers and the verify queue from the
    others: its excess is refused (503, its own), another client's logins are all answered."""
    slow = f.ctl("hash", "new", "--cost", "10", stdin="mallory-own-pw\n").strip()
    f.ctl("user", "add", "mallory", "--hash", slow)
    stop, flood_status = threading.Event(), []

    def flooder():
        while not stop.is_set():
            try:
                flood_status.append(auth(f.tcp, "mallory", "mallory-own-pw", remote_ip="203.0.113.66", timeout=20).status)
            except OSError:
                flood_status.append(0)

    threads = [threading.Thread(target=flooder) for _ in range(40)]
    [t.start() for t in threads]
    time.sleep(1.0)
    probes = []
    for i in range(25):
        probes.append(auth(f.tcp, "alice", PASSWORDS["alice"], remote_ip="198.51.100.7", timeout=20))
        time.sleep(0.1)
    typo = auth(f.tcp, "bob", "bob-typo", remote_ip="198.51.100.9", timeout=20)
    right = auth(f.tcp, "bob", PASSWORDS["bob"], remote_ip="198.51.100.9", timeout=20)
    stop.set()
    [t.join() for t in threads]
    check("… a user who mistyped once (his next login is suspect) still gets in during the flood",
          typo.status == 401 and right.status == 200 and right.elapsed < INITIAL_S + 6, f"{typo!r} then {right!r}")
    refused = sum(1 for s in flood_status if s == 503)
    check("… the flooder's own excess is refused (503) while it holds the queue", refused > 0,
          f"{len(flood_status)} flood logins, {refused} refused")
    check("40 right-password logins in flight from one client: another client's 25 logins all 200",
          all(r.status == 200 for r in probes),
          f"statuses {sorted(set(r.status for r in probes))}, slowest {max(r.elapsed for r in probes):.2f}s")
    elapsed = sorted(r.elapsed for r in probes)
    check("… and promptly (all but two within 5 s)", elapsed[-3] < 5.0,
          f"median {elapsed[len(elapsed) // 2]:.2f}s, third slowest {elapsed[-3]:.2f}s")


def main():
    token = "hostile-test-token-0123456789"
    try:
        # Q: the http defaults (keep-alive 60 s, header timeout 10 s, drain 10 s, throttle 2 s).
        q = Authd("quiet", BASE_PORT)
        # A: header_timeout_s = 2, short throttle.
        a = Authd("attack", BASE_PORT + 1, http_lines="header_timeout_s = 2", throttle_lines=FAST)
        # U: no TCP peer is trusted.
        u = Authd("untrusted", BASE_PORT + 2, http_lines="trusted_proxies = []\nmax_connections_per_peer = 16",
                  throttle_lines=FAST)
        # T: bearer token set.
        t = Authd("token", BASE_PORT + 3, http_lines=f'bearer_token = "{token}"', throttle_lines=FAST)
        # C: a small connection cap.
        c = Authd("cap", BASE_PORT + 4, http_lines="max_connections = 16", throttle_lines=FAST)
        # F: few workers and a short queue, as a small box has under a flood.
        f = Authd("fair", BASE_PORT + 5, http_lines="threads = 4", throttle_lines=FAST,
                  extra="[core]\nverify_threads = 1\nqueue_size = 16")
        for inst in INSTANCES:
            inst.start()
        steps = [
            ("1 idle connections", lambda: check_idle_connections(q)),
            ("2 slowloris cut", lambda: check_slowloris_cut(a, 2)),
            ("3 stranger keeps alice out", lambda: check_stranger(a)),
            ("4 made-up-name spray", lambda: check_spray(a)),
            ("5 untrusted peer", lambda: check_untrusted(u)),
            ("6 repeated wrong password", lambda: check_repeat(a)),
            ("6b defaults: typo then right password", lambda: check_typo_hold(q)),
            ("7 floods", lambda: check_floods(a)),
            ("8 pipelining", lambda: check_pipelining(a)),
            ("9 metrics and bearer token", lambda: check_metrics_token(t, token)),
            ("11 listener full of slow heads", lambda: check_listener_full(c)),
            ("13 owner without an address", lambda: check_no_address_owner(a)),
            ("14 shared address", lambda: check_shared_address(a)),
            ("12 per-peer connection cap", lambda: check_per_peer_cap(u)),
            ("15 one client's right-password flood", lambda: check_fair_share(f)),
            ("10 SIGTERM", lambda: check_sigterm(q)),  # last: it stops the quiet instance
        ]
        only = os.environ.get("HOSTILE_ONLY")  # e.g. HOSTILE_ONLY=3,7 while developing
        for name, step in steps:
            if only and name.split()[0] not in only.split(","):
                continue
            print(f"-- {name}", flush=True)
            try:
                step()
            except Exception as e:  # a crash of one check is a failure, the others still run
                check(f"{name} ran to the end", False, f"{type(e).__name__}: {e}")
            for inst in INSTANCES:
                if inst.proc.poll() is not None and not (inst is q and name.startswith("10")):
                    check(f"[{inst.name}] authd still running", False, f"exit {inst.proc.returncode}")
                    inst.start()
    finally:
        for inst in INSTANCES:
            inst.stop()
        if FAILS and os.environ.get("HOSTILE_KEEP"):
            print(f"logs kept in {TMP}")
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    print(f"HOSTILE CLIENTS: PASS" if FAILS == 0 else f"HOSTILE CLIENTS: FAIL ({FAILS})")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
