#!/usr/bin/env python3
"""Login latency and authd RSS, quiet and with many idle + slow-header connections open (issue 12).

    python3 bench/connections.py BIN_DIR [--idle 10000] [--slow 200] [--logins 100] [--port 18520]

Starts authd (SQLite in a temp dir, bcrypt cost 10, throttle off, TCP 127.0.0.1:PORT and a UNIX
socket, keepalive_timeout_s = 300, header_timeout_s = 10, max_connections = 20000) and measures:

  quiet   sequential right-password POST /v1/auth logins, one new connection each, then the same
          number over one keep-alive connection; authd's VmRSS / VmHWM.
  loaded  the same, while a helper process (this script with --hold) keeps IDLE keep-alive TCP
          connections open (each sent one GET /healthz, read the answer, then silent) and SLOW
          connections sending "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n" and then one header byte per
          second (each one cut by authd is reopened, so SLOW are always being attempted).

Prints one line per figure set (key=value), e.g.
  quiet  newconn_p50_ms=.. newconn_p99_ms=.. keepalive_p50_ms=.. keepalive_p99_ms=.. ok=.. rss_kb=.. hwm_kb=..
  opened  (holder's state once the idle ones are open)
  loaded newconn_p50_ms=.. ... idle_open=N/10000 slow_open=M slow_cut=K slow_cut_median_s=..
  ratio  newconn_p50=.. keepalive_p50=..   (loaded / quiet)
Python stdlib only. Against a server that does not know the issue-12 [http] keys (the old
cpp-httplib server) they are left out of the configuration and `config kind=old` is printed.
"""
import argparse
import os
import random
import resource
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authd_bench import (PASSWORD, Authd, Helper, auth_request, connect, parse_head,  # noqa: E402
                         parse_kv, pct, read_response)

USER = "bench"


def raise_nofile_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def login_series(port, n, keepalive, timeout, max_failures):
    """n sequential logins; returns (latencies_ms of 200s, ok, failures, reconnects)."""
    lat, ok, failures, reconnects = [], 0, 0, 0
    sock = None
    req = auth_request(USER, PASSWORD, keepalive)
    for _ in range(n):
        t0 = time.monotonic()
        deadline = t0 + timeout
        try:
            if sock is None:
                sock = connect(port, timeout)
                if keepalive and ok + failures > 0:
                    reconnects += 1
            sock.sendall(req)
            status, headers, _ = read_response(sock, deadline)
            ms = (time.monotonic() - t0) * 1000
            if status == 200:
                ok += 1
                lat.append(ms)
            else:
                failures += 1
            if not keepalive or headers.get("connection", "").lower() == "close":
                sock.close()
                sock = None
        except (OSError, ConnectionError, ValueError, IndexError):
            failures += 1
            if sock is not None:
                sock.close()
            sock = None
        if failures >= max_failures:
            break
    if sock is not None:
        sock.close()
    return lat, ok, failures, reconnects


# ---------------------------------------------------------------- connection holder (--hold)
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
SLOW_TRICKLE = b"X-Slow: " + b"a" * 100000  # never ends the head


class Conn:
    __slots__ = ("sock", "kind", "state", "buf", "t_open", "t_first", "sent", "next_send", "src")

    def __init__(self, sock, kind, src):
        self.sock, self.kind, self.src = sock, kind, src
        self.state = "connecting"
        self.buf = b""
        self.t_open = time.monotonic()
        self.t_first = None
        self.sent = 0
        self.next_send = 0.0


def hold(args):
    """Runs in its own process so that its work never shares a GIL with the latency client."""
    raise_nofile_limit()
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    port, n_idle, n_slow = args.port, args.idle, args.slow
    srcs = ["127.0.0.%d" % (i + 1) for i in range(args.sources)]
    stats = dict(idle_connected=0, idle_answered=0, idle_failed=0, idle_closed=0,
                 slow_opened=0, slow_cut=0, slow_failed=0)
    cut_after = []
    pending = []  # (kind) waiting for a connect slot
    connecting = 0
    conns = {}
    slow = {}
    seq = [0]

    def open_conn(kind):
        nonlocal connecting
        src = srcs[seq[0] % len(srcs)]
        seq[0] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT: port picked at connect
            s.bind((src, 0))
        except OSError:
            pass
        err = s.connect_ex(("127.0.0.1", port))
        c = Conn(s, kind, src)
        if err not in (0, 115):  # EINPROGRESS
            s.close()
            stats[kind + "_failed"] += 1
            return
        connecting += 1
        conns[s.fileno()] = c
        if kind == "slow":
            slow[s.fileno()] = c
        sel.register(s, selectors.EVENT_WRITE, c)

    def close_conn(c):
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        conns.pop(c.sock.fileno(), None)
        slow.pop(c.sock.fileno(), None)
        c.sock.close()

    def want(kind, k):
        pending.extend([kind] * k)

    want("idle", n_idle)
    phase = "idle"
    t_phase = time.monotonic()
    idle_deadline = t_phase + args.open_timeout
    reported_open = False
    slow_started = False

    def report(tag):
        idle_open = sum(1 for c in conns.values() if c.kind == "idle" and c.state == "open")
        idle_alive = sum(1 for c in conns.values() if c.kind == "idle")
        slow_open = len(slow)
        cut_after.sort()
        med = cut_after[len(cut_after) // 2] if cut_after else float("nan")
        print("%s idle_open=%d idle_alive=%d idle_answered=%d idle_failed=%d idle_closed=%d "
              "slow_open=%d slow_opened=%d slow_cut=%d slow_failed=%d slow_cut_median_s=%.1f "
              "t=%.1f" % (tag, idle_open, idle_alive, stats["idle_answered"], stats["idle_failed"],
                          stats["idle_closed"], slow_open, stats["slow_opened"], stats["slow_cut"],
                          stats["slow_failed"], med, time.monotonic() - t_phase), flush=True)

    while True:
        now = time.monotonic()
        while pending and connecting < args.connect_window:
            open_conn(pending.pop())
        if phase == "idle" and not reported_open and (
                stats["idle_answered"] + stats["idle_failed"] + stats["idle_closed"] >= n_idle
                or now > idle_deadline):
            report("opened")
            reported_open = True
            phase = "slow"
        if phase == "slow" and not slow_started:
            want("slow", n_slow)
            slow_started = True
        # trickle the slow ones
        timeout = 0.2
        for c in list(slow.values()):
            if c.state == "open" and c.next_send <= now:
                try:
                    c.sock.send(SLOW_TRICKLE[c.sent:c.sent + 1])
                    c.sent += 1
                    c.next_send = now + 1.0
                except OSError:
                    stats["slow_cut"] += 1
                    cut_after.append(now - c.t_first)
                    close_conn(c)
                    want("slow", 1)
        for key, ev in sel.select(timeout):
            c = key.data
            if c is None:  # a command on stdin
                line = sys.stdin.readline()
                if not line or line.strip() == "quit":
                    report("final")
                    return
                report(line.strip() or "status")
                continue
            if c.state == "connecting":
                connecting -= 1
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    stats[c.kind + "_failed"] += 1
                    close_conn(c)
                    if c.kind == "slow":
                        want("slow", 1)
                    continue
                sel.modify(c.sock, selectors.EVENT_READ, c)
                try:
                    if c.kind == "idle":
                        c.sock.send(HEALTH)
                        c.state = "asked"
                        stats["idle_connected"] += 1
                    else:
                        c.sock.send(SLOW_HEAD)
                        c.t_first = time.monotonic()
                        c.next_send = c.t_first + 1.0 + random.random() * 0.5
                        c.state = "open"
                        stats["slow_opened"] += 1
                except OSError:
                    stats[c.kind + "_failed"] += 1
                    close_conn(c)
                continue
            try:
                data = c.sock.recv(65536)
            except OSError:
                data = b""
            if c.kind == "idle":
                if not data:
                    stats["idle_closed"] += 1
                    close_conn(c)
                    continue
                if c.state == "asked":
                    c.buf += data
                    head, sep, body = c.buf.partition(b"\r\n\r\n")
                    if sep:
                        length = int(parse_head(head)[1].get("content-length", "0"))
                        if len(body) >= length:
                            c.state = "open"
                            c.buf = b""
                            stats["idle_answered"] += 1
            else:  # slow: any answer (408/431/...) or EOF means authd cut it
                stats["slow_cut"] += 1
                cut_after.append(time.monotonic() - c.t_first)
                close_conn(c)
                want("slow", 1)


# ---------------------------------------------------------------- driver
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", nargs="?")
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--logins", type=int, default=100)
    ap.add_argument("--port", type=int, default=18520)
    ap.add_argument("--sources", type=int, default=4, help="spread over 127.0.0.1..N")
    ap.add_argument("--connect-window", type=int, default=256, help="connects in flight at once")
    ap.add_argument("--open-timeout", type=float, default=60.0, help="max s to open the idle ones")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-login timeout, s")
    ap.add_argument("--settle", type=float, default=12.0,
                    help="s after the slow ones start before the final report (>= header_timeout_s)")
    ap.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hold:
        return hold(args)
    if not args.bin_dir:
        ap.error("BIN_DIR is required")

    raise_nofile_limit()  # authd inherits it too
    with Authd(args.bin_dir, args.port, "authd-conn.") as authd:
        authd.write_config("max_connections = 20000\nmax_connections_per_peer = 20000\n"
                           "keepalive_timeout_s = 300\nheader_timeout_s = 10\n", throttle=False)
        config_kind = "new"
        if not authd.config_ok():
            authd.write_config(throttle=False)
            config_kind = "old"
        authd.add_users([USER])
        authd.start()
        print("config kind=%s idle=%d slow=%d logins=%d" % (config_kind, args.idle, args.slow, args.logins),
              flush=True)

        def measure(tag, extra=""):
            # a series gives up after 3 failed logins (timeouts against a stalled server)
            nc, nc_ok, nc_fail, _ = login_series(args.port, args.logins, False, args.timeout, 3)
            ka, ka_ok, ka_fail, ka_re = login_series(args.port, args.logins, True, args.timeout, 3)
            rss, hwm = authd.rss_kb(), authd.hwm_kb()
            line = ("%s newconn_p50_ms=%.2f newconn_p99_ms=%.2f newconn_ok=%d/%d newconn_tries=%d "
                  "keepalive_p50_ms=%.2f keepalive_p99_ms=%.2f keepalive_ok=%d/%d keepalive_tries=%d keepalive_reconnects=%d rss_kb=%d hwm_kb=%d%s"
                  % (tag, pct(nc, 50), pct(nc, 99), nc_ok, args.logins, nc_ok + nc_fail, pct(ka, 50),
                     pct(ka, 99), ka_ok, args.logins, ka_ok + ka_fail, ka_re, rss, hwm, extra))
            return line, pct(nc, 50), pct(ka, 50)

        login_series(args.port, 5, True, args.timeout, 3)  # warm-up: dummy hash, store, caches
        line, q_nc, q_ka = measure("quiet")
        print(line, flush=True)

        with Helper(__file__, ["--hold", "--port", str(args.port), "--idle", str(args.idle),
                               "--slow", str(args.slow), "--sources", str(args.sources),
                               "--connect-window", str(args.connect_window),
                               "--open-timeout", str(args.open_timeout)]) as holder:
            opened = holder.readline().strip()
            print(opened, "rss_kb=%d" % authd.rss_kb(), flush=True)
            t_slow = time.monotonic()
            time.sleep(3)  # the slow ones are connected and trickling
            line, l_nc, l_ka = measure("loaded")
            rest = args.settle - (time.monotonic() - t_slow)
            if rest > 0:
                time.sleep(rest)
            kv = parse_kv(holder.quit().strip())
        print("%s idle_open=%s/%d slow_open=%s slow_cut=%s slow_cut_median_s=%s idle_answered=%s "
              "idle_closed=%s idle_failed=%s slow_opened=%s end_rss_kb=%d end_hwm_kb=%d"
              % (line, kv["idle_open"], args.idle, kv["slow_open"], kv["slow_cut"],
                 kv["slow_cut_median_s"], kv["idle_answered"], kv["idle_closed"], kv["idle_failed"],
                 kv["slow_opened"], authd.rss_kb(), authd.hwm_kb()), flush=True)
        print("ratio newconn_p50=%.3f keepalive_p50=%.3f" % (l_nc / q_nc, l_ka / q_ka), flush=True)


if __name__ == "__main__":
    main()
