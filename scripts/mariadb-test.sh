#!/usr/bin/env bash
# A throw-away MariaDB for the test suite, without systemd (as root).
# usage: mariadb-test.sh start|stop|status|sql "STATEMENTS"
# env: MDB_DIR (default ${TMPDIR:-/tmp}/authd-test-mariadb), MDB_PORT (default 23306: below the ephemeral range, where an outgoing connection could hold the port a restarted server needs)
# Creates user authd/authdpw (localhost + 127.0.0.1) with all privileges, for tests only.
set -euo pipefail
MDB_DIR=${MDB_DIR:-${TMPDIR:-/tmp}/authd-test-mariadb}
MDB_PORT=${MDB_PORT:-23306}
DATA=$MDB_DIR/data SOCK=$MDB_DIR/mysqld.sock PIDF=$MDB_DIR/mariadbd.pid LOG=$MDB_DIR/error.log

up() { mariadb-admin --no-defaults -S "$SOCK" -uroot --connect-timeout=1 ping >/dev/null 2>&1; }

start() {
  mkdir -p "$MDB_DIR"
  if up; then echo "mariadb already up: socket=$SOCK port=$MDB_PORT"; return 0; fi
  if [ ! -d "$DATA/mysql" ]; then
    mariadb-install-db --no-defaults --user=root --datadir="$DATA" \
      --auth-root-authentication-method=socket --skip-test-db >"$MDB_DIR/install-db.log" 2>&1
  fi
  mariadbd --no-defaults --user=root --datadir="$DATA" --socket="$SOCK" --pid-file="$PIDF" \
    --log-error="$LOG" --bind-address=127.0.0.1 --port="$MDB_PORT" --skip-name-resolve \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 --max-connections=300 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci >/dev/null 2>&1 &
  echo $! >"$MDB_DIR/mariadbd.bgpid"
  for _ in $(seq 1 300); do
    up && break
    kill -0 "$(cat "$MDB_DIR/mariadbd.bgpid")" 2>/dev/null || { echo "mariadbd died:"; tail -20 "$LOG"; exit 1; }
    sleep 0.1
  done
  up || { echo "mariadbd did not answer"; tail -20 "$LOG"; exit 1; }
  mariadb --no-defaults -S "$SOCK" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS authd CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'authd'@'localhost' IDENTIFIED BY 'authdpw';
CREATE USER IF NOT EXISTS 'authd'@'127.0.0.1' IDENTIFIED BY 'authdpw';
GRANT ALL PRIVILEGES ON *.* TO 'authd'@'localhost';
GRANT ALL PRIVILEGES ON *.* TO 'authd'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  echo "mariadb up: socket=$SOCK port=$MDB_PORT"
}

stop() {
  [ -f "$MDB_DIR/mariadbd.bgpid" ] || { echo "mariadb not started"; return 0; }
  local pid; pid=$(cat "$MDB_DIR/mariadbd.bgpid")
  mariadb-admin --no-defaults -S "$SOCK" -uroot shutdown 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -f "$MDB_DIR/mariadbd.bgpid"
  echo "mariadb stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) up && echo up || { echo down; exit 1; } ;;
  sql) mariadb --no-defaults -S "$SOCK" -uroot -e "$2" ;;
  *) echo "usage: $0 start|stop|status|sql STATEMENTS" >&2; exit 2 ;;
esac
