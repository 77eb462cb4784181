#!/usr/bin/env python3
"""Issue 14, from the outside: authd run like a Debian service.

- one instance per socket: a second authd on a live socket refuses to start and leaves the first
  one reachable; a stale socket (its authd killed -9) is replaced; a regular file or a socket that
  another program listens on is refused and left alone; at stop authd unlinks only its own socket;
- SIGHUP: a new bcrypt cost is used by the next upgrade, a lower log level silences login lines, a
  shorter keep-alive timeout applies to new connections, a restart-only key is named in the log and
  keeps its running value, an invalid file is refused with its reason and the old settings stay;
- restarts under systemd socket activation (systemd-socket-activate, as Debian's systemd package
  ships it, with a restart loop standing in for systemd's Restart=): a steady login load over TCP
  and over the UNIX socket across five restarts loses no login;
- SIGTERM with trickling clients ends within the grace, not after their timeouts; a SIGHUP or a second
  SIGTERM during the stop is logged and ignored.

usage: service_test.py BIN_DIR SRC_DIR BASE_PORT     (uses BASE_PORT .. BASE_PORT+4)
Prints one "ok"/"FAIL" line per check; exits non-zero on any failure.
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BIN, SRC, BASE_PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
# A stress run of the restart check alone: SERVICE_RESTARTS=50 SERVICE_ONLY=restarts service_test.py ...
RESTARTS = int(os.environ.get("SERVICE_RESTARTS", "5"))
ONLY = os.environ.get("SERVICE_ONLY")
TMP = tempfile.mkdtemp(prefix="authd-it-service-")
FAILS = 0
PROCS = []


def check(name, good, detail=""):
    global FAILS
    print(f"{'ok  ' if good else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)
    FAILS += 0 if good else 1
    return good


def write_config(path, port, extra="", cost=4, sock=None):
    with open(path, "w") as f:
        f.write(f"""[store]
url = "sqlite://{TMP}/authd.db"
[policy]
bcrypt_cost = {cost}
[http]
listen = ["127.0.0.1:{port}", "unix:{sock or TMP + '/authd.sock'}"]
drain_timeout_s = 5
[throttle]
enabled = false
{extra}""")


def authctl(config, *args, stdin=None):
    return subprocess.run([f"{BIN}/authctl", "--config", config, *args], input=stdin, capture_output=True, text=True)


def start(config, log, env=None):
    out = open(log, "ab")
    p = subprocess.Popen([f"{BIN}/authd", "--config", config], stdout=out, stderr=out, env=env)
    PROCS.append(p)
    return p


def http(target, method, path, body=None, timeout=10):
    """One request on a fresh connection; (status, json) or raises OSError."""
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        where = target
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        host, port = target.rsplit(":", 1)
        where = (host, int(port))
    s.settimeout(timeout)
    try:
        s.connect(where)
        data = json.dumps(body).encode() if body is not None else b""
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        s.close()
    if not raw:
        raise OSError("connection closed without an answer")
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(rest or b"{}")
    except ValueError:
        return status, {}


def login(target, user, password):
    return http(target, "POST", "/v1/auth", {"username": user, "password": password})


def wait_answering(target, seconds=10):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if http(target, "GET", "/healthz", timeout=1)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def wait_log(log, text, seconds=5, after=0):
    end = time.time() + seconds
    while time.time() < end:
        with open(log, errors="replace") as f:
            if text in f.read()[after:]:
                return True
        time.sleep(0.05)
    return False


def log_size(log):
    return os.path.getsize(log) if os.path.exists(log) else 0


def stored_hash(user):
    with sqlite3.connect(f"{TMP}/authd.db") as db:
        row = db.execute("SELECT password_hash FROM accounts WHERE username = ?", (user,)).fetchone()
    return row[0] if row else None


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def md5_crypt(password):
    return subprocess.run(["openssl", "passwd", "-1", password], capture_output=True, text=True, check=True).stdout.strip()


# ------------------------------------------------------------------ one instance per socket
def instances():
    port = BASE_PORT
    conf, log, sock = f"{TMP}/a.toml", f"{TMP}/a.log", f"{TMP}/authd.sock"
    write_config(conf, port)
    a = start(conf, log)
    check("first authd answers on its socket", wait_answering(sock))
    conf_b = f"{TMP}/b.toml"
    write_config(conf_b, port + 1)
    b = start(conf_b, f"{TMP}/b.log")
    rc = b.wait(10)
    with open(f"{TMP}/b.log") as f:
        why = f.read()
    check("a second authd on the same socket refuses to start", rc != 0 and "another authd" in why, why.strip()[-160:])
    check("the first one is still reachable on the socket", wait_answering(sock, 2))
    check("the second one's TCP port was never served", not wait_answering(f"127.0.0.1:{port + 1}", 0.5))

    stop(a, signal.SIGKILL)
    check("a killed authd leaves a stale socket behind", os.path.exists(sock))
    c = start(conf, log)
    check("a new authd replaces the stale socket", wait_answering(sock))
    stop(c)
    check("a stopped authd removes its own socket", not os.path.exists(sock))

    with open(sock, "w") as f:
        f.write("not a socket\n")
    d = start(conf, f"{TMP}/d.log")
    rc = d.wait(10)
    with open(sock) as f:
        kept = f.read()
    check("a regular file at the socket path is refused and kept", rc != 0 and kept == "not a socket\n")
    os.unlink(sock)

    foreign = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    foreign.bind(sock)
    foreign.listen(8)
    e = start(conf, f"{TMP}/e.log")
    rc = e.wait(10)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(sock)
        still = True
    except OSError:
        still = False
    probe.close()
    check("another program's live socket is refused and left alone", rc != 0 and still)
    foreign.close()
    os.unlink(sock)

    f_ = start(conf, log)
    wait_answering(sock)
    os.unlink(sock)  # someone replaces the path while authd runs
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(sock)
    stop(f_)
    check("at stop authd does not unlink a socket that is not its own", os.path.exists(sock))
    other.close()
    os.unlink(sock)


# ------------------------------------------------------------------ SIGHUP
def reload():
    port = BASE_PORT + 2
    conf, log, sock = f"{TMP}/r.toml", f"{TMP}/r.log", f"{TMP}/r.sock"
    write_config(conf, port, cost=4, sock=sock)
    for user in ("ann", "ben", "cat"):
        authctl(conf, "user", "add", user, "--hash", md5_crypt(user + "-pw"))
    p = start(conf, log)
    tcp = f"127.0.0.1:{port}"
    wait_answering(tcp)
    status, _ = login(tcp, "ann", "ann-pw")
    check("login upgrades to the running cost 4", status == 200 and stored_hash("ann").startswith("$2y$04$"), stored_hash("ann")[:7])

    mark = log_size(log)
    write_config(conf, port, cost=5, sock=sock,
                 extra='[core]\nverify_threads = 1\n[daemon]\nlog_level = "warn"\n')
    p.send_signal(signal.SIGHUP)
    check("SIGHUP names the restart-only key it keeps", wait_log(log, "[core] verify_threads changed", after=mark))
    status, _ = login(tcp, "ben", "ben-pw")
    check("after SIGHUP the next upgrade uses the new bcrypt cost 5", status == 200 and stored_hash("ben").startswith("$2y$05$"),
          (stored_hash("ben") or "")[:7])
    status, _ = login(tcp, "ann", "ann-pw")
    check("a cost-4 hash is rehashed to cost 5 at its next login", stored_hash("ann").startswith("$2y$05$"))
    time.sleep(0.2)
    with open(log, errors="replace") as f:
        tail = f.read()[mark:]
    check("log_level = warn took effect: no info login lines after the reload", 'login user="ben"' not in tail)

    mark = log_size(log)
    write_config(conf, port, cost=6, sock=sock, extra="bogus = 1\n")
    p.send_signal(signal.SIGHUP)
    check("an invalid file is refused with file:line and the reason", wait_log(log, "r.toml:10: [throttle] bogus: unknown key", after=mark)
          and wait_log(log, "configuration refused", after=mark))
    status, _ = login(tcp, "cat", "cat-pw")
    check("the refused file changed nothing: cost 5 stays", status == 200 and stored_hash("cat").startswith("$2y$05$"),
          (stored_hash("cat") or "")[:7])

    write_config(conf, port, cost=5, sock=sock)
    with open(conf) as f:
        text = f.read().replace("drain_timeout_s = 5", "drain_timeout_s = 5\nkeepalive_timeout_s = 1")
    with open(conf, "w") as f:
        f.write(text)
    mark = log_size(log)
    p.send_signal(signal.SIGHUP)
    wait_log(log, "reloaded", after=mark)
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5)
    s.recv(4096)
    started = time.time()
    try:
        closed = s.recv(4096) == b""
    except OSError:
        closed = False
    idle = time.time() - started
    s.close()
    check("keepalive_timeout_s changed live (idle connection closed after ~1 s)", closed and idle < 3, f"{idle:.1f}s")

    write_config(conf, port, cost=5, sock=sock)
    with open(conf) as f:
        text = f.read().replace("drain_timeout_s = 5", 'drain_timeout_s = 5\nbearer_token = "Reload-Token-1"')
    with open(conf, "w") as f:
        f.write(text)
    mark = log_size(log)
    p.send_signal(signal.SIGHUP)
    wait_log(log, "reloaded", after=mark)
    check("a bearer token added by a reload is required on TCP", login(tcp, "ann", "ann-pw")[0] == 401)
    open(conf, "w").close()  # a reload that catches the file empty, half-way through being written
    mark = log_size(log)
    p.send_signal(signal.SIGHUP)
    check("an empty file on reload is refused", wait_log(log, "is empty", after=mark))
    check("… and the bearer token stays required", login(tcp, "ann", "ann-pw")[0] == 401)
    os.unlink(conf)
    mark = log_size(log)
    p.send_signal(signal.SIGHUP)
    check("a deleted file on reload is refused, not read as all defaults", wait_log(log, "config file not found", after=mark)
          and login(tcp, "ann", "ann-pw")[0] == 401)
    with open(log, errors="replace") as f:
        check("no bearer token in the log", "Reload-Token-1" not in f.read())
    stop(p)


# ------------------------------------------------------------------ restarts under load
def restarts():
    port = BASE_PORT + 3
    conf, log, sock = f"{TMP}/s.toml", f"{TMP}/s.log", f"{TMP}/s.sock"
    write_config(conf, port, sock=f"{TMP}/unused.sock")
    authctl(conf, "user", "add", "load", "--hash", md5_crypt("load-pw"))
    loop = f"{TMP}/restart-loop.sh"
    with open(loop, "w") as f:  # systemd's Restart= for this test: the sockets stay with the parent
        f.write(f"""#!/bin/sh
while [ ! -e {TMP}/stop-loop ]; do
  sh -c 'echo $$ > {TMP}/authd.pid; LISTEN_PID=$$ exec "$@"' sh {BIN}/authd --config {conf} >>{log} 2>&1
  sleep 0.05
done
""")
    os.chmod(loop, 0o755)
    activator = subprocess.Popen(["systemd-socket-activate", "-l", sock, "-l", f"127.0.0.1:{port}", loop],
                                 stdout=subprocess.DEVNULL, stderr=open(f"{TMP}/activate.log", "wb"))
    PROCS.append(activator)
    end = time.time() + 10
    while not os.path.exists(sock) and time.time() < end:
        time.sleep(0.05)
    targets = [sock, f"127.0.0.1:{port}"]
    counts = {"ok": 0, "failed": 0}
    errors = []
    lock = threading.Lock()
    running = threading.Event()
    running.set()

    def client(target):
        while running.is_set():
            try:
                status, body = login(target, "load", "load-pw")
                good = status == 200 and body.get("ok") is True
                why = f"{target}: HTTP {status}"
            except OSError as e:
                good, why = False, f"{target}: {e}"
            with lock:
                counts["ok" if good else "failed"] += 1
                if not good and len(errors) < 5:
                    errors.append(why)

    threads = [threading.Thread(target=client, args=(t,)) for t in targets for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    pids = set()
    for i in range(RESTARTS):
        with open(f"{TMP}/authd.pid") as f:
            pid = int(f.read().strip() or 0)
        pids.add(pid)
        os.kill(pid, signal.SIGTERM)
        end = time.time() + 15
        while time.time() < end:  # until the next authd has written its pid
            time.sleep(0.1)
            with open(f"{TMP}/authd.pid") as f:
                text = f.read().strip()
            if text and int(text) != pid:
                break
        time.sleep(0.8)
    running.clear()
    for t in threads:
        t.join(30)
    open(f"{TMP}/stop-loop", "w").close()
    with open(f"{TMP}/authd.pid") as f:
        os.kill(int(f.read().strip()), signal.SIGTERM)
    activator.wait(15)
    with open(log, errors="replace") as f:
        ready = f.read().count("socket activation: 2 listener(s)")
    check(f"{RESTARTS} restarts under socket activation, each a new authd", len(pids) == RESTARTS and ready >= RESTARTS + 1,
          f"{len(pids)} pids, {ready} starts")
    check(f"steady load over TCP and the socket across {RESTARTS} restarts: zero failed logins",
          counts["failed"] == 0 and counts["ok"] > 50, f"{counts['ok']} ok, {counts['failed']} failed {errors}")


# ------------------------------------------------------------------ activation with a Dovecot socket
def activated_dovecot():
    """contrib/systemd/authd-dovecot-auth.socket: a socket named dovecot-auth goes to the Dovecot
    auth-protocol listener, the others to HTTP."""
    port = BASE_PORT + 4
    conf, log = f"{TMP}/v.toml", f"{TMP}/v.log"
    write_config(conf, port, sock=f"{TMP}/v-unused.sock")
    authctl(conf, "user", "add", "vic", "--hash", md5_crypt("vic-pw"))
    dsock, hsock = f"{TMP}/v-dovecot.sock", f"{TMP}/v-http.sock"
    act = subprocess.Popen(["systemd-socket-activate", "-l", hsock, "-l", dsock, "--fdname=http:dovecot-auth",
                            f"{BIN}/authd", "--config", conf], stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    PROCS.append(act)
    end = time.time() + 10
    while not os.path.exists(dsock) and time.time() < end:
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(dsock)
    s.sendall(b"VERSION\t1\t0\nCPID\t1\n")
    hello = b""
    while b"DONE\n" not in hello:
        chunk = s.recv(1024)
        if not chunk:
            break
        hello += chunk
    import base64
    s.sendall(b"AUTH\t1\tPLAIN\tservice=smtp\tresp=" + base64.b64encode(b"\0vic\0vic-pw") + b"\n")
    reply = s.recv(1024)
    s.close()
    check("socket activation: the fd named dovecot-auth speaks the Dovecot protocol", hello.startswith(b"VERSION\t1\t")
          and reply == b"OK\t1\tuser=vic\n", repr(reply))
    check("... and the other one HTTP", wait_answering(hsock, 5))
    act.send_signal(signal.SIGTERM)
    act.wait(15)


# ------------------------------------------------------------------ SIGTERM with slow clients
def slow_shutdown():
    port = BASE_PORT + 4
    conf, log = f"{TMP}/t.toml", f"{TMP}/t.log"
    write_config(conf, port, sock=f"{TMP}/t.sock")
    p = start(conf, log)
    wait_answering(f"127.0.0.1:{port}")
    slow = []
    for _ in range(2):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/auth HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    time.sleep(0.3)
    started = time.time()
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    took = time.time() - started
    for s in slow:
        s.close()
    check("SIGTERM with two trickling clients stops within the 1 s grace", took < 2.5, f"{took:.1f}s")


# ------------------------------------------------------------------ a wedged owner, a bounded drain
def wedged_owner():
    sock = f"{TMP}/wedged.sock"
    owner = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    owner.bind(sock)
    owner.listen(0)
    fillers = []
    for _ in range(3):  # fill its accept queue: a blocking connect would now wait forever
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(sock)
        except OSError:
            pass
        fillers.append(c)
    conf = f"{TMP}/w.toml"
    write_config(conf, BASE_PORT + 4, sock=sock)
    p = start(conf, f"{TMP}/w.log")
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    check("a socket whose owner no longer accepts is refused at once, not waited on", rc not in (None, 0))
    stop(p, signal.SIGKILL)
    for c in fillers:
        c.close()
    owner.close()
    os.unlink(sock)


def bounded_drain():
    port = BASE_PORT + 4
    conf, log = f"{TMP}/d2.toml", f"{TMP}/d2.log"
    write_config(conf, port, sock=f"{TMP}/d2.sock", cost=12)
    with open(conf) as f:
        text = f.read().replace("drain_timeout_s = 5", "drain_timeout_s = 1\nthreads = 32")
    with open(conf, "w") as f:
        f.write(text)
    slow_hash = authctl(conf, "hash", "new", "--cost", "12", stdin="slow-pw\n").stdout.strip()
    authctl(conf, "user", "add", "slowpoke", "--hash", slow_hash)
    p = start(conf, log)
    wait_answering(f"127.0.0.1:{port}")
    t0 = time.time()
    login(f"127.0.0.1:{port}", "slowpoke", "slow-pw")
    one = time.time() - t0  # one cost-12 verify here, now
    answered = []
    threads = [threading.Thread(target=lambda: answered.append(_swallow(login, f"127.0.0.1:{port}", "slowpoke", "slow-pw")))
               for _ in range(40)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    check("the drain test's authd is serving", p.poll() is None)
    started = time.time()
    p.send_signal(signal.SIGTERM)
    time.sleep(0.2)  # the stop is under way: a reload and a second SIGTERM are named, not acted on
    p.send_signal(signal.SIGHUP)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(60)
    took = time.time() - started
    for t in threads:
        t.join(30)
    ok = sum(1 for a in answered if a and a[0] == 200)
    # 32 workers each waiting for a verify on 2 hashing threads: without shedding at the deadline
    # the stop would take drain + 16 verifies; with it, drain + the verifies already running.
    bound = 1.0 + 4 * one + 0.5
    check("SIGTERM with 40 queued cost-12 logins stops near drain_timeout_s = 1, not after all of them",
          0.5 < took < bound and ok >= 1, f"{took:.1f}s (bound {bound:.1f}s), {ok} answered before the stop")
    with open(log, errors="replace") as f:
        text = f.read()
    check("a SIGHUP and a second SIGTERM during the stop are logged as ignored; the stop ends cleanly (exit 0)",
          "SIGHUP while stopping: ignored" in text and "SIGTERM while stopping: ignored" in text and rc == 0,
          f"exit {rc}; " + " | ".join(line.strip()[-80:] for line in text.splitlines() if "while stopping" in line))


def _swallow(f, *args):
    try:
        return f(*args)
    except OSError:
        return None


# ------------------------------------------------------------------ --check-config
def check_config():
    pw = f"{TMP}/db-password"
    with open(pw, "wb") as f:
        f.write(b"Secret99\r\n")
    cases = [
        ('[http]\nsocket_mode = "0999"\n', "c.toml:2: [http] socket_mode"),
        ('[http]\nsocket_group = "no-such-group-x"\n', "c.toml:2: [http] socket_group: no such group"),
        ('[daemon]\nuser = "no-such-user-x"\n', "c.toml:2: [daemon] user: no such user"),
        ('[daemon]\ngroup = "no-such-group-x"\n', "c.toml:2: [daemon] group: no such group"),
        ("[http]\nlisten = []\n", "c.toml:2: [http] listen: is empty"),
        ('[daemon]\nlog_level = "loud"\n', "c.toml:2: [daemon] log_level"),
        ('[store]\nurl = "sqlite:///nonexistent-dir-x/authd.db"\n', "c.toml:2: [store] url: sqlite database directory"),
        ('[store]\nurl = "postgres://a@b/c"\n', "c.toml:2: [store] url: unknown store URL"),
        ('[store]\nurl = "mariadb://u@localhost/db"\npassword_file = "/nonexistent-x"\n', "c.toml:3: [store] password_file"),
    ]
    conf = f"{TMP}/c.toml"
    for text, expected in cases:
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([f"{BIN}/authd", "--config", conf, "--check-config"], capture_output=True, text=True)
        check(f"--check-config refuses {text.strip().splitlines()[-1]}", r.returncode == 2 and expected in r.stderr,
              r.stderr.strip()[-150:])
    r = subprocess.run([f"{BIN}/authd", "--config", TMP, "--check-config"], capture_output=True, text=True)
    check("--check-config refuses a directory as --config", r.returncode == 2 and "is a directory" in r.stderr)
    os.mkfifo(f"{TMP}/fifo.toml")
    try:
        r = subprocess.run([f"{BIN}/authd", "--config", f"{TMP}/fifo.toml", "--check-config"], capture_output=True,
                           text=True, timeout=10)
        check("--check-config refuses a FIFO as --config at once", r.returncode == 2 and "not a regular file" in r.stderr)
    except subprocess.TimeoutExpired:
        check("--check-config refuses a FIFO as --config at once", False, "it blocked reading the FIFO")
    for listen, expected in ((f'["localhost:{BASE_PORT}"]', "numeric address"), (f'["[::1:{BASE_PORT}"]', "listen"),
                             (f'["unix:{TMP}/x.sock", "unix:{TMP}/x.sock"]', "listed twice"),
                             (f'["unix:/{"x" * 120}.sock"]', "shorter than 108")):
        with open(conf, "w") as f:
            f.write(f"[http]\nlisten = {listen}\n")
        r = subprocess.run([f"{BIN}/authd", "--config", conf, "--check-config"], capture_output=True, text=True)
        check(f"--check-config refuses listen = {listen[:40]}", r.returncode == 2 and expected in r.stderr, r.stderr.strip()[-120:])
    with open(conf, "w") as f:
        f.write(f'[store]\nurl = "sqlite://{TMP}"\n')
    r = subprocess.run([f"{BIN}/authd", "--config", conf, "--check-config"], capture_output=True, text=True)
    check("--check-config refuses an SQLite path that is a directory", r.returncode == 2 and "is a directory" in r.stderr)
    with open(conf, "w") as f:
        f.write(f'[store]\nurl = "mariadb://atuser@localhost/authd"\npassword_file = "{pw}"\n')
    r = subprocess.run([f"{BIN}/authd", "--config", conf, "--dump-config"], capture_output=True, text=True)
    check("a CRLF password file: the CR is not part of the password, and the dump masks it",
          r.returncode == 0 and "mariadb://atuser:***@localhost/authd" in r.stdout and "Secret99" not in r.stdout)
    with open(conf, "w") as f:
        f.write('[store]\nurl = "mariadb://atuser:p@ss@Secret99@localhost/authd"\n')
    r = subprocess.run([f"{BIN}/authd", "--config", conf, "--dump-config"], capture_output=True, text=True)
    check("a password with '@' is masked whole", "Secret99" not in r.stdout and "p@ss" not in r.stdout
          and "mariadb://atuser:***@localhost/authd" in r.stdout)


try:
    if not shutil.which("systemd-socket-activate"):
        check("systemd-socket-activate installed (Debian package systemd)", False)
    for name, run in [("check_config", check_config), ("instances", instances), ("reload", reload),
                      ("restarts", restarts), ("slow_shutdown", slow_shutdown), ("activated_dovecot", activated_dovecot),
                      ("wedged_owner", wedged_owner), ("bounded_drain", bounded_drain)]:
        if ONLY is None or ONLY == name:
            run()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    subprocess.run(["pkill", "-f", TMP], check=False)
    if FAILS == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print(f"logs kept in {TMP}")
print(f"SERVICE: {'PASS' if FAILS == 0 else f'FAIL ({FAILS})'}")
sys.exit(1 if FAILS else 0)
