#!/usr/bin/env python3
"""A familiar user's logins during a flood of wrong passwords from many sources (issue 12).

    python3 bench/flood.py BIN_DIR [--sources 200] [--logins 100] [--interval 0.25] [--ipv6]

Starts authd (SQLite in a temp dir, bcrypt cost 10, the throttle at its defaults, TCP
127.0.0.1:PORT and a UNIX socket) with accounts `fam` and a few targets. `fam` logs in once from
198.51.100.1 (POST /v1/auth with "remote_ip" from loopback, a trusted peer) to become familiar.

  quiet   `fam` logs in LOGINS times from 198.51.100.1, one new connection each, one every INTERVAL s
  flood   a helper process (this script with --flood) runs SOURCES sources (remote_ip 10.X.Y.Z, or
          2001:db8:N::1 = distinct /64s with --ipv6), each with one keep-alive connection and one
          request in flight: a wrong password for `fam`, a target or a random name, the next one
          sent as soon as the answer comes (held answers and 429s pace it; --retry-after makes a
          source sleep Retry-After after a 429 instead). After WARMUP s `fam` logs in as in quiet.

Prints key=value lines:
  quiet  ok=../.. p50_ms=.. p99_ms=.. rss_kb=..
  flood  ok=../.. p50_ms=.. p99_ms=.. fam_status=200:..,429:.. rss_kb=.. hwm_kb=..
  flood_requests total=.. per_s=.. s200=.. s401=.. s401_held=.. s429=.. s503=.. other=.. errors=..
         (during fam's logins; s401_held = wrong-password answers that took >= 1 s)
  ratio  p50=..   (flood / quiet)
Python stdlib only.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

PASSWORD = "bench-pw"
FAM_IP = "198.51.100.1"
TARGETS = ["t%d" % i for i in range(5)]


def auth_body(user, password, ip):
    return json.dumps({"username": user, "password": password, "remote_ip": ip}).encode()


def auth_request(user, password, ip, keepalive):
    body = auth_body(user, password, ip)
    return (b"POST /v1/auth HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n"
            b"Connection: " + (b"keep-alive" if keepalive else b"close") +
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


def blocking_auth(port, user, password, ip, timeout):
    """One login on a new connection; returns (status or 'error', ms)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(auth_request(user, password, ip, False))
            buf = b""
            while b"\r\n\r\n" not in buf:
                s.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buf += chunk
            status, _ = parse_head(buf.partition(b"\r\n\r\n")[0])
            return status, (time.monotonic() - t0) * 1000
    except (OSError, ConnectionError, ValueError, IndexError):
        return "error", (time.monotonic() - t0) * 1000


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))]


def proc_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def fam_series(port, n, interval, timeout, budget_s):
    lat, by_status = [], {}
    t_end = time.monotonic() + budget_s
    attempted = 0
    for _ in range(n):
        if time.monotonic() > t_end:
            break
        t_next = time.monotonic() + interval
        status, ms = blocking_auth(port, "fam", PASSWORD, FAM_IP, timeout)
        attempted += 1
        by_status[status] = by_status.get(status, 0) + 1
        if status == 200:
            lat.append(ms)
        rest = t_next - time.monotonic()
        if rest > 0:
            time.sleep(rest)
    return lat, by_status, attempted


# ---------------------------------------------------------------- flood helper (--flood)
async def flood_source(i, args, counts, stop):
    ip = ("2001:db8:%x::1" % (i + 1)) if args.ipv6 else "10.%d.%d.%d" % (
        (i >> 16) & 255, (i >> 8) & 255, (i & 255) or 1)
    rnd = random.Random(i)
    reader = writer = None
    n = 0
    while not stop.is_set():
        kind = n % 3
        n += 1
        user = "fam" if kind == 0 else (rnd.choice(TARGETS) if kind == 1 else "nx%08x" % rnd.getrandbits(32))
        password = "wrong-%016x" % rnd.getrandbits(64)
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
                writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.monotonic()
            writer.write(auth_request(user, password, ip, True))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            status, headers = parse_head(head[:-4])
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            dt = time.monotonic() - t0
            key = "s%d" % status if status in (200, 401, 429, 503) else "other"
            counts[key] += 1
            if status == 401 and dt >= 1.0:
                counts["s401_held"] += 1
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
            if status == 429 and args.retry_after:
                await asyncio.sleep(float(headers.get("retry-after", "1")))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ValueError, IndexError):
            counts["errors"] += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


async def flood_main(args):
    counts = dict(s200=0, s401=0, s401_held=0, s429=0, s503=0, other=0, errors=0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    tasks = [asyncio.create_task(flood_source(i, args, counts, stop)) for i in range(args.sources)]

    def line(tag):
        total = sum(v for k, v in counts.items() if k not in ("s401_held",))
        return "%s t=%.2f total=%d %s" % (tag, time.monotonic() - t0, total,
                                          " ".join("%s=%d" % kv for kv in counts.items()))

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("started", flush=True)
    while True:
        cmd = (await reader.readline()).decode().strip()
        if not cmd or cmd == "quit":
            break
        print(line(cmd), flush=True)
    stop.set()
    print(line("final"), flush=True)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ---------------------------------------------------------------- driver
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", nargs="?")
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--logins", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.25, help="s between fam's login starts")
    ap.add_argument("--warmup", type=float, default=5.0, help="s of flood before fam's logins")
    ap.add_argument("--timeout", type=float, default=20.0, help="per fam login, s")
    ap.add_argument("--budget", type=float, default=180.0, help="max s for fam's series")
    ap.add_argument("--port", type=int, default=18530)
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--retry-after", action="store_true", help="flood sources honour Retry-After")
    ap.add_argument("--flood", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.flood:
        return asyncio.run(flood_main(args))
    if not args.bin_dir:
        ap.error("BIN_DIR is required")

    bindir = os.path.abspath(args.bin_dir)
    tmp = tempfile.mkdtemp(prefix="authd-flood.")
    env = dict(os.environ, AUTHD_CONFIG="/nonexistent")
    conf = os.path.join(tmp, "authd.toml")
    with open(conf, "w") as f:
        f.write('[store]\nurl = "sqlite://%s/authd.db"\n[policy]\nbcrypt_cost = 10\n'
                '[http]\nlisten = ["127.0.0.1:%d", "unix:%s/authd.sock"]\nsocket_mode = "0666"\n'
                '[daemon]\nlog_level = "error"\n' % (tmp, args.port, tmp))
    authd = [os.path.join(bindir, "authd"), "--config", conf]
    ctl = [os.path.join(bindir, "authctl"), "--config", conf]
    subprocess.run(ctl + ["db", "migrate"], env=env, check=True, capture_output=True)
    h = subprocess.run(ctl + ["hash", "new", "--cost", "10"], env=env, check=True,
                       input=PASSWORD + "\n", capture_output=True, text=True).stdout.strip()
    for user in ["fam"] + TARGETS:
        subprocess.run(ctl + ["user", "add", user, "--hash", h], env=env, check=True, capture_output=True)
    log = open(os.path.join(tmp, "authd.log"), "w")
    proc = subprocess.Popen(authd, env=env, stdout=log, stderr=log)
    flooder = None
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", args.port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(100).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            sys.exit("authd did not start: " + open(os.path.join(tmp, "authd.log")).read())
        first, _ = blocking_auth(args.port, "fam", PASSWORD, FAM_IP, args.timeout)  # becomes familiar
        print("config sources=%d %s logins=%d interval_s=%.2f warmup_s=%.1f retry_after=%s first_login=%s"
              % (args.sources, "ipv6" if args.ipv6 else "ipv4", args.logins, args.interval, args.warmup,
                 args.retry_after, first), flush=True)

        def summary(tag, lat, by_status, attempted, extra=""):
            ok = by_status.get(200, 0)
            print("%s ok=%d/%d attempted=%d p50_ms=%.2f p99_ms=%.2f fam_status=%s rss_kb=%d hwm_kb=%d%s"
                  % (tag, ok, args.logins, attempted, pct(lat, 50), pct(lat, 99),
                     ",".join("%s:%d" % (k, v) for k, v in sorted(by_status.items(), key=str)),
                     proc_kb(proc.pid, "VmRSS"), proc_kb(proc.pid, "VmHWM"), extra), flush=True)
            return pct(lat, 50)

        q_lat, q_st, q_n = fam_series(args.port, args.logins, args.interval, args.timeout, args.budget)
        q50 = summary("quiet", q_lat, q_st, q_n)

        cmd = [sys.executable, os.path.abspath(__file__), "--flood", "--port", str(args.port),
               "--sources", str(args.sources)] + (["--ipv6"] if args.ipv6 else []) + (
               ["--retry-after"] if args.retry_after else [])
        flooder = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        flooder.stdout.readline()
        time.sleep(args.warmup)

        def ask(tag):
            flooder.stdin.write(tag + "\n")
            flooder.stdin.flush()
            return dict(x.split("=", 1) for x in flooder.stdout.readline().split()[1:])

        a = ask("mark")
        f_lat, f_st, f_n = fam_series(args.port, args.logins, args.interval, args.timeout, args.budget)
        b = ask("mark")
        f50 = summary("flood", f_lat, f_st, f_n)
        secs = float(b["t"]) - float(a["t"])
        keys = ["s200", "s401", "s401_held", "s429", "s503", "other", "errors"]
        d = {k: int(b[k]) - int(a[k]) for k in keys}
        total = int(b["total"]) - int(a["total"])
        print("flood_requests window_s=%.1f total=%d per_s=%.1f %s"
              % (secs, total, total / secs if secs > 0 else 0, " ".join("%s=%d" % (k, d[k]) for k in keys)),
              flush=True)
        flooder.stdin.write("quit\n")
        flooder.stdin.flush()
        fin = flooder.stdout.readline().split()
        flooder.wait(timeout=30)
        flooder = None
        print("flood_requests_all " + " ".join(fin[1:]), flush=True)
        print("ratio p50=%.3f" % (f50 / q50), flush=True)
    finally:
        if flooder is not None:
            flooder.kill()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
