#!/usr/bin/env bash
# A throw-away three-node MariaDB Galera cluster on loopback for the test suite, without systemd
# (as root; packages mariadb-server, galera-4, mariadb-backup, socat).
# usage: galera-test.sh start | stop | kill N | restart N | wait-synced N | status | sql N "STATEMENTS"
# env: GALERA_DIR (default ${TMPDIR:-/tmp}/authd-test-galera), GALERA_PORT (default 24400; below the ephemeral range, where an outgoing connection could hold a port a restarted node needs):
#   node N (1..3) serves SQL on GALERA_PORT+10*N, group communication on +1, IST on +2, SST on +3.
# Node 1 bootstraps the cluster (--wsrep-new-cluster); 2 and 3 join it and get their data by SST
# (mariabackup: rsync fails here). A killed node comes back with `restart N` and catches up by
# IST. Creates database authd and user authd/authdpw on 127.0.0.1 (replicated), for tests only.
set -euo pipefail
GALERA_DIR=${GALERA_DIR:-${TMPDIR:-/tmp}/authd-test-galera}
GALERA_PORT=${GALERA_PORT:-24400}
SRC_CNF=$(cd "$(dirname "$0")/.." && pwd)/contrib/galera/60-galera.cnf

port() { echo $((GALERA_PORT + 10 * $1 + ${2:-0})); }
dir() { echo "$GALERA_DIR/node$1"; }
sock() { echo "$(dir "$1")/mysqld.sock"; }
cnf() { echo "$(dir "$1")/my.cnf"; }
up() { mariadb-admin --no-defaults -S "$(sock "$1")" -uroot --connect-timeout=1 ping >/dev/null 2>&1; }
sql() { mariadb --no-defaults -S "$(sock "$1")" -uroot -N -B -e "$2"; }
state() { sql "$1" "SHOW STATUS LIKE 'wsrep_local_state'" 2>/dev/null | awk '{print $2}'; }

# MariaDB's SST scripts report only to syslog; this machine has none: a sink keeps their words.
syslog_sink() {
  command -v socat >/dev/null || return 0
  if [ -S /dev/log ]; then # someone listening (a syslog, an earlier sink), or a stale socket
    echo probe | socat -u - UNIX-SENDTO:/dev/log >/dev/null 2>&1 && return 0
    rm -f /dev/log
  fi
  socat -u UNIX-RECV:/dev/log,mode=666 OPEN:"$GALERA_DIR/syslog",creat,append >/dev/null 2>&1 &
  echo $! >"$GALERA_DIR/syslog.pid"
  sleep 0.2
}

write_cnf() {
  local n=$1 peers="" i
  for i in 1 2 3; do peers+="${peers:+,}127.0.0.1:$(port "$i" 1)"; done
  # The shipped server settings (contrib/galera/60-galera.cnf), then what differs for three nodes
  # on one loopback: addresses, ports, paths, the SST user (the last value of a key wins, for
  # mariadbd and for the SST script alike). Only options mariadb-backup also understands.
  cat >"$(cnf "$n")" <<CNF
!include $SRC_CNF
[mysqld]
datadir=$(dir "$n")/data
socket=$(sock "$n")
pid-file=$(dir "$n")/mariadbd.pid
log-error=$(dir "$n")/error.log
bind-address=127.0.0.1
port=$(port "$n")
skip-name-resolve
max-connections=300
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
innodb_flush_log_at_trx_commit=2
wsrep_cluster_name=authd_test
wsrep_cluster_address=gcomm://$peers
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$(port "$n" 1)
wsrep_provider_options=gmcast.listen_addr=tcp://127.0.0.1:$(port "$n" 1);ist.recv_addr=127.0.0.1:$(port "$n" 2);gcache.size=64M;evs.suspect_timeout=PT3S
wsrep_sst_receive_address=127.0.0.1:$(port "$n" 3)
wsrep_sst_auth=root:
CNF
}

start_node() { # N [--wsrep-new-cluster]
  local n=$1 d; d=$(dir "$1")
  mkdir -p "$d"
  [ -f "$(cnf "$n")" ] || write_cnf "$n"
  if [ ! -d "$d/data/mysql" ] && [ "${2:-}" = --wsrep-new-cluster ]; then
    mariadb-install-db --no-defaults --user=root --datadir="$d/data" \
      --auth-root-authentication-method=socket --skip-test-db >"$d/install-db.log" 2>&1
  fi
  mkdir -p "$d/data"
  mariadbd --defaults-file="$(cnf "$n")" --user=root ${2:-} >>"$d/stdout.log" 2>&1 &
  echo $! >"$d/mariadbd.bgpid"
}

wait_synced() { # N [seconds]
  local n=$1 limit=$((${2:-120} * 10)) i
  for ((i = 0; i < limit; i++)); do
    [ "$(state "$n")" = 4 ] && return 0
    kill -0 "$(cat "$(dir "$n")/mariadbd.bgpid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "galera node $n did not reach Synced:" >&2
  tail -30 "$(dir "$n")/error.log" >&2 || true
  [ -f "$GALERA_DIR/syslog" ] && tail -20 "$GALERA_DIR/syslog" >&2
  return 1
}

start() {
  mkdir -p "$GALERA_DIR"
  if up 1 && up 2 && up 3; then echo "galera already up"; return 0; fi
  syslog_sink
  start_node 1 --wsrep-new-cluster
  wait_synced 1 60
  sql 1 "CREATE DATABASE IF NOT EXISTS authd CHARACTER SET utf8mb4;
         CREATE USER IF NOT EXISTS 'authd'@'127.0.0.1' IDENTIFIED BY 'authdpw';
         GRANT ALL PRIVILEGES ON *.* TO 'authd'@'127.0.0.1';"
  start_node 2
  wait_synced 2 180
  start_node 3
  wait_synced 3 180
  echo "galera up: SQL ports $(port 1) $(port 2) $(port 3) (size $(sql 1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | awk '{print $2}'))"
}

stop_node() {
  local n=$1 pidf pid; pidf="$(dir "$1")/mariadbd.bgpid"
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf")
  mariadb-admin --no-defaults -S "$(sock "$n")" -uroot shutdown 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$pidf"
}

stop() {
  local n
  for n in 3 2 1; do stop_node "$n"; done
  [ -f "$GALERA_DIR/syslog.pid" ] && kill "$(cat "$GALERA_DIR/syslog.pid")" 2>/dev/null
  rm -f "$GALERA_DIR/syslog.pid"
  echo "galera stopped"
}

kill_node() { # SIGKILL: a node that dies, not one that shuts down
  local pidf; pidf="$(dir "$1")/mariadbd.bgpid"
  kill -KILL "$(cat "$pidf")"
  for _ in $(seq 1 100); do kill -0 "$(cat "$pidf")" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidf"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill_node "$2" ;;
  restart) start_node "$2"; wait_synced "$2" 180 ;;
  wait-synced) wait_synced "$2" "${3:-120}" ;;
  status) for n in 1 2 3; do echo "node$n port $(port "$n") state $(state "$n" || true)"; done ;;
  sql) sql "$2" "$3" ;;
  *) echo "usage: $0 start|stop|kill N|restart N|wait-synced N|status|sql N STATEMENTS" >&2; exit 2 ;;
esac
