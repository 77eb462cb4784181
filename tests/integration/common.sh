# Shared helpers for the real-client integration tests (sourced). Needs BIN (the build's bin/),
# SRC (the source tree) and DIR (a fresh test directory) set by the caller.
set -uo pipefail
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then printf 'ok   %-60s (%s)\n' "$1" "$3"; else printf 'FAIL %-60s expected %s, got %s\n' "$1" "$2" "$3"; fails=$((fails + 1)); return 1; fi
}
contains() { # contains NAME NEEDLE HAYSTACK
  case "$3" in *"$2"*) printf 'ok   %-60s\n' "$1" ;; *) printf 'FAIL %-60s: no "%s" in:\n%s\n' "$1" "$2" "$3"; fails=$((fails + 1)) ;; esac
}
finish() { # finish NAME
  [ "$fails" = 0 ] && echo "$1: PASS" || echo "$1: FAIL ($fails)"
  [ "$fails" = 0 ]
}

# A test directory every service user can traverse, holding its own copy of the client binary.
make_dir() {
  rm -rf "$DIR"; mkdir -p "$DIR"; chmod 755 "$DIR"
  cp "$BIN/authd-checkpassword" "$DIR/"; chmod 755 "$DIR/authd-checkpassword"
}

# start_authd STORE_URL HTTP_PORT [HTTP_LINE]: authd on the store, TCP 127.0.0.1:PORT and
# unix:$DIR/authd.sock (mode 0666: Dovecot's and Apache's helpers run as dovecot / www-data);
# HTTP_LINE is one more [http] setting; $AUTHD_EXTRA, more sections at the end.
start_authd() {
  cat >"$DIR/authd.toml" <<TOML
[store]
url = "$1"
timeout_ms = 2000
[policy]
bcrypt_cost = 5
[http]
listen = ["127.0.0.1:$2", "unix:$DIR/authd.sock"]
socket_mode = "0666"
${3:-}
[throttle]
enabled = false
${AUTHD_EXTRA:-}
TOML
  "$BIN/authd" --config "$DIR/authd.toml" >>"$DIR/authd.log" 2>&1 &
  AUTHD_PID=$!
  for _ in $(seq 1 100); do [ -S "$DIR/authd.sock" ] && curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return 0; sleep 0.05; done
  echo "authd did not start:"; cat "$DIR/authd.log"; return 1
}
stop_authd() { [ -n "${AUTHD_PID:-}" ] && kill "$AUTHD_PID" 2>/dev/null && wait "$AUTHD_PID" 2>/dev/null; AUTHD_PID=; }
ctl() { "$BIN/authctl" --config "$DIR/authd.toml" "$@"; }
md5hex() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

# store_url KIND: a fresh SQLite file or a fresh MariaDB database (scripts/mariadb-test.sh).
store_url() {
  if [ "$1" = mariadb ]; then
    local db="authd_it_$$_$RANDOM"
    "$SRC/scripts/mariadb-test.sh" sql "CREATE DATABASE $db CHARACTER SET utf8mb4" >/dev/null
    echo "mariadb://authd:authdpw@127.0.0.1:${MDB_PORT:-23306}/$db"
  else
    echo "sqlite://$DIR/authd.db"
  fi
}
