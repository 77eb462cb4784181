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
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authd_bench import (PASSWORD, Authd, Helper, auth_request, connect, parse_head,  # noqa: E402
                         parse_kv, pct, read_response)

FAM_IP = "198.51.100.1"
TARGETS = ["t%d" % i for i in range(5)]


def blocking_auth(port, user, password, ip, timeout):
    """One login on a new connection; returns (status or 'error', ms)."""
    t0 = time.monotonic()
    try:
        with connect(port, timeout) as s:
            s.sendall(auth_request(user, password, False, ip))
            status, _, _ = read_response(s, t0 + timeout)
            return status, (time.monotonic() - t0) * 1000
    except (OSError, ConnectionError, ValueError, IndexError):
        return "error", (time.monotonic() - t0) * 1000


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
            writer.write(auth_request(user, password, True, ip))
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

    with Authd(args.bin_dir, args.port, "authd-flood.") as authd:
        authd.write_config(log_level="error")
        authd.add_users(["fam"] + TARGETS)
        authd.start()
        first, _ = blocking_auth(args.port, "fam", PASSWORD, FAM_IP, args.timeout)  # becomes familiar
        print("config sources=%d %s logins=%d interval_s=%.2f warmup_s=%.1f retry_after=%s first_login=%s"
              % (args.sources, "ipv6" if args.ipv6 else "ipv4", args.logins, args.interval, args.warmup,
                 args.retry_after, first), flush=True)

        def summary(tag, lat, by_status, attempted, extra=""):
            ok = by_status.get(200, 0)
            print("%s ok=%d/%d attempted=%d p50_ms=%.2f p99_ms=%.2f fam_status=%s rss_kb=%d hwm_kb=%d%s"
                  % (tag, ok, args.logins, attempted, pct(lat, 50), pct(lat, 99),
                     ",".join("%s:%d" % (k, v) for k, v in sorted(by_status.items(), key=str)),
                     authd.rss_kb(), authd.hwm_kb(), extra), flush=True)
            return pct(lat, 50)

        q_lat, q_st, q_n = fam_series(args.port, args.logins, args.interval, args.timeout, args.budget)
        q50 = summary("quiet", q_lat, q_st, q_n)

        with Helper(__file__, ["--flood", "--port", str(args.port), "--sources", str(args.sources)]
                    + (["--ipv6"] if args.ipv6 else []) + (["--retry-after"] if args.retry_after else [])
                    ) as flooder:
            flooder.readline()
            time.sleep(args.warmup)
            a = parse_kv(flooder.ask("mark"))
            f_lat, f_st, f_n = fam_series(args.port, args.logins, args.interval, args.timeout, args.budget)
            b = parse_kv(flooder.ask("mark"))
            f50 = summary("flood", f_lat, f_st, f_n)
            secs = float(b["t"]) - float(a["t"])
            keys = ["s200", "s401", "s401_held", "s429", "s503", "other", "errors"]
            d = {k: int(b[k]) - int(a[k]) for k in keys}
            total = int(b["total"]) - int(a["total"])
            print("flood_requests window_s=%.1f total=%d per_s=%.1f %s"
                  % (secs, total, total / secs if secs > 0 else 0, " ".join("%s=%d" % (k, d[k]) for k in keys)),
                  flush=True)
            fin = flooder.quit().split()
        print("flood_requests_all " + " ".join(fin[1:]), flush=True)
        print("ratio p50=%.3f" % (f50 / q50), flush=True)


if __name__ == "__main__":
    main()
