#!/usr/bin/env python3
"""Logins/s with one authd vs three (one per node) on a three-node Galera cluster, all on this
one machine (issue 17). The machine's CPUs are shared by the three database nodes, the authd and
the clients, so the ratio measures the overhead of the cluster path, not how far it scales.

A three-node cluster on loopback (scripts/galera-test.sh, its own directory and ports), one
account per client (no artificial hot row), bcrypt at COST (default 4: the store path is most of
a login then), CLIENTS keep-alive clients over TCP for SECONDS per row: first every client on one
authd (its node first in the URL), then the clients spread over three, then every client on
one account through the three (its rows written from three nodes at once: certification
conflicts, each run again by authd).

usage: bench/galera.py BIN_DIR [COST] [CLIENTS] [SECONDS]     (Python stdlib only; as root)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authd_bench import auth_request, connect, pct, read_response  # noqa: E402

BIN = sys.argv[1]
COST = int(sys.argv[2]) if len(sys.argv) > 2 else 4
CLIENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 12
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 8.0
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = tempfile.mkdtemp(prefix="authd-bench-galera-")
ENV = dict(os.environ, GALERA_DIR=TMP + "/cluster", GALERA_PORT="24500")
PORT = 18790


def cluster(*args):
    return subprocess.run(["bash", f"{SRC}/scripts/galera-test.sh", *args], env=ENV, capture_output=True, text=True)


def config(n, url=None):
    nodes = [n] + [m for m in (1, 2, 3) if m != n]
    url = url or "mariadb://authd:authdpw@" + ",".join(f"127.0.0.1:{24500 + 10 * m}" for m in nodes) + "/authd_bench"
    path = f"{TMP}/authd{n}.toml"
    with open(path, "w") as f:
        f.write(f"""[store]
url = "{url}"
pool_size = 8
[policy]
bcrypt_cost = {COST}
[http]
listen = ["127.0.0.1:{PORT + n}"]
[throttle]
enabled = false
[daemon]
log_level = "warn"
""")
    return path


def conflicts():
    """Certification failures and brute-force aborts, summed over the nodes."""
    total = 0
    for n in (1, 2, 3):
        out = cluster("sql", str(n), "SHOW STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')")
        total += sum(int(line.split()[1]) for line in out.stdout.splitlines() if line.strip())
    return total


def plain_mariadb():
    """The same login on one MariaDB without Galera (scripts/mariadb-test.sh), through authd 4."""
    env = dict(os.environ, MDB_DIR=TMP + "/plain", MDB_PORT="24600")
    subprocess.run(["bash", f"{SRC}/scripts/mariadb-test.sh", "start"], env=env, check=True, capture_output=True)
    url = "mariadb://authd:authdpw@127.0.0.1:24600/authd"
    ctl = [f"{BIN}/authctl", "--config", config(4, url)]
    subprocess.run(ctl + ["db", "migrate"], check=True, capture_output=True)
    for i in range(CLIENTS):
        subprocess.run(ctl + ["user", "add", f"user{i}"], input=f"pw-{i}-bench\n", capture_output=True, text=True)
    p = subprocess.Popen([f"{BIN}/authd", "--config", config(4, url)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        run([4])
        return run([4])
    finally:
        p.terminate()
        p.wait(15)
        subprocess.run(["bash", f"{SRC}/scripts/mariadb-test.sh", "stop"], env=env, capture_output=True)


def run(instances, one_account=False):
    lat, bad, lock = [], [0], threading.Lock()
    end = time.time() + SECONDS

    def client(i):
        s = connect(PORT + instances[i % len(instances)], 30)
        k = 0 if one_account else i
        req = auth_request(f"user{k}", f"pw-{k}-bench", keepalive=True)
        mine = []
        while time.time() < end:
            t = time.perf_counter()
            s.sendall(req)
            status = read_response(s, time.monotonic() + 30)[0]
            mine.append(time.perf_counter() - t)
            bad[0] += status != 200
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(lat) / SECONDS, pct(lat, 50) * 1000, pct(lat, 99) * 1000, bad[0]


procs = []
try:
    r = cluster("start")
    if r.returncode != 0:
        sys.exit("galera cluster did not start: " + r.stderr[-500:])
    cluster("sql", "1", "DROP DATABASE IF EXISTS authd_bench; CREATE DATABASE authd_bench CHARACTER SET utf8mb4")
    ctl = [f"{BIN}/authctl", "--config", config(1)]
    m = subprocess.run(ctl + ["db", "migrate"], capture_output=True, text=True)
    if m.returncode != 0:
        sys.exit("authctl db migrate: " + m.stderr)
    for i in range(CLIENTS):
        subprocess.run(ctl + ["user", "add", f"user{i}"], input=f"pw-{i}-bench\n", check=True, capture_output=True,
                       text=True)
    for n in (1, 2, 3):
        procs.append(subprocess.Popen([f"{BIN}/authd", "--config", config(n)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
    time.sleep(1.5)
    run([1, 2, 3])  # warm-up: every pool connected, every account's rows written once
    print(f"| authd instances (bcrypt cost {COST}, {CLIENTS} keep-alive clients, {SECONDS:.0f} s) "
          "| logins/s | p50 | p99 | not 200 | lost races (cluster) |")
    print("|---|---|---|---|---|---|")
    for name, instances, one in (("1 (node 1)", [1], False), ("3 (one per node)", [1, 2, 3], False),
                                 ("3, every client on one account (hot rows)", [1, 2, 3], True)):
        before = conflicts()
        rate, p50, p99, bad = run(instances, one)
        print(f"| {name} | {rate:.1f} | {p50:.2f} ms | {p99:.2f} ms | {bad} | {conflicts() - before} |", flush=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(15)
    procs.clear()
    cluster("stop")  # the plain server gets the machine to itself
    rate, p50, p99, bad = plain_mariadb()
    print(f"| 1 on one MariaDB without Galera (same machine, for comparison) | {rate:.1f} | {p50:.2f} ms | {p99:.2f} ms "
          f"| {bad} | - |", flush=True)
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(15)
    cluster("stop")
    shutil.rmtree(TMP, ignore_errors=True)
