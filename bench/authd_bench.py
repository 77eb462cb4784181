"""What bench/connections.py and bench/flood.py share: a throw-away authd, a small blocking HTTP
client, percentiles, /proc figures and the helper process each script drives over a pipe.

    import authd_bench  (the scripts put bench/ on sys.path first, so any working directory does)

Python stdlib only.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PASSWORD = "bench-pw"
HEALTH_CLOSE = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


# ---------------------------------------------------------------- small blocking HTTP client
def auth_request(user, password, keepalive, ip=None, service=None):
    """A POST /v1/auth request, with "remote_ip" / "service" in the JSON body when given."""
    fields = {"username": user, "password": password}
    if ip is not None:
        fields["remote_ip"] = ip
    if service is not None:
        fields["service"] = service
    body = json.dumps(fields).encode()
    return (b"POST /v1/auth HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n"
            b"Connection: " + (b"keep-alive" if keepalive else b"close") +
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def parse_head(head):
    """Status line and headers (names lower-cased) of a response head without its blank line."""
    lines = (head if isinstance(head, str) else head.decode("latin-1")).split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


def connect(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _recv(sock, deadline, what):
    sock.settimeout(max(0.001, deadline - time.monotonic()))
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("closed " + what)
    return chunk


def read_response(sock, deadline):
    """Reads one HTTP/1.1 response (Content-Length bodies only). Returns (status, headers, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += _recv(sock, deadline, "before the answer")
    head, _, body = buf.partition(b"\r\n\r\n")
    status, headers = parse_head(head)
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += _recv(sock, deadline, "in the body")
    return status, headers, body[:length]


# ---------------------------------------------------------------- figures
def pct(values, p):
    """Nearest-rank percentile; nan for no values."""
    if not values:
        return float("nan")
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))]


def proc_kb(pid, key):
    """A kB figure of /proc/PID/status (VmRSS, VmHWM, ...); -1 if missing."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def parse_kv(line):
    """'tag k=v k=v ...' -> {k: v} (strings)."""
    return dict(x.split("=", 1) for x in line.split()[1:])


# ---------------------------------------------------------------- a throw-away authd
class Authd:
    """authd on SQLite in a temp dir, TCP 127.0.0.1:PORT and a UNIX socket, bcrypt cost 10.
    Use as a context manager: on leaving, authd is stopped and the temp dir removed."""

    def __init__(self, bin_dir, port, prefix):
        self.bindir = os.path.abspath(bin_dir)
        self.port = port
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.env = dict(os.environ, AUTHD_CONFIG="/nonexistent")
        self.conf = os.path.join(self.tmp, "authd.toml")
        self.log_path = os.path.join(self.tmp, "authd.log")
        self.proc = None
        self._log = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def pid(self):
        return self.proc.pid

    def cmd(self, tool):
        return [os.path.join(self.bindir, tool), "--config", self.conf]

    def write_config(self, http_extra="", throttle=True, log_level="warn"):
        """http_extra: more [http] lines; throttle=False adds [throttle] enabled = false."""
        with open(self.conf, "w") as f:
            f.write('[store]\nurl = "sqlite://%s/authd.db"\n[policy]\nbcrypt_cost = 10\n'
                    '[http]\nlisten = ["127.0.0.1:%d", "unix:%s/authd.sock"]\nsocket_mode = "0666"\n'
                    '%s%s[daemon]\nlog_level = "%s"\n'
                    % (self.tmp, self.port, self.tmp, http_extra,
                       "" if throttle else "[throttle]\nenabled = false\n", log_level))

    def config_ok(self):
        """Whether this authd accepts the configuration (authd --check-config)."""
        return subprocess.run(self.cmd("authd") + ["--check-config"], env=self.env,
                              capture_output=True).returncode == 0

    def ctl(self, *args, input=None):
        """Runs authctl ARGS (must succeed); returns its stdout."""
        return subprocess.run(self.cmd("authctl") + list(args), env=self.env, check=True,
                              input=input, capture_output=True, text=True).stdout

    def add_users(self, users, password=PASSWORD):
        """Migrates the database and adds USERS, all with PASSWORD (bcrypt cost 10)."""
        self.ctl("db", "migrate")
        h = self.ctl("hash", "new", "--cost", "10", input=password + "\n").strip()
        for user in users:
            self.ctl("user", "add", user, "--hash", h)

    def start(self):
        """Starts authd and waits for GET /healthz to answer 200 (exits the script if it never does)."""
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd("authd"), env=self.env, stdout=self._log, stderr=self._log)
        for _ in range(200):
            try:
                with connect(self.port, 1) as s:
                    s.sendall(HEALTH_CLOSE)
                    if read_response(s, time.monotonic() + 1)[0] == 200:
                        return
            except (OSError, ConnectionError, ValueError, IndexError):
                pass
            time.sleep(0.05)
        with open(self.log_path) as f:
            sys.exit("authd did not start: " + f.read())

    def rss_kb(self):
        return proc_kb(self.proc.pid, "VmRSS")

    def hwm_kb(self):
        return proc_kb(self.proc.pid, "VmHWM")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- the helper process
class Helper:
    """The calling script run again as a helper process (e.g. with --hold), talked to a line at a
    time: a command on its stdin, one line of answer on its stdout. Killed on leaving the `with`
    unless quit() was called."""

    def __init__(self, script, args):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(script)] + list(args),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def readline(self):
        return self.proc.stdout.readline()

    def ask(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.readline()

    def quit(self):
        """Sends quit, returns the helper's last line and waits for it to end."""
        line = self.ask("quit")
        self.proc.wait(timeout=30)
        self.proc = None
        return line
