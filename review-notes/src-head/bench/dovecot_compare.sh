#!/usr/bin/env bash
# Dovecot 2.3 with authd-checkpassword vs Dovecot 2.3 with its own passwd-file passdb, same bcrypt
# hash, each driven by `doveadm auth test` N times. usage: dovecot_compare.sh BIN_DIR BCRYPT_HASH [N]
# (authd must NOT be running on 18501; this script starts its own). Prints one Markdown table.
set -euo pipefail
B=$1 HASH=$2 N=${3:-30}
DIR=$(mktemp -d /tmp/authd-dovebench.XXXXXX); chmod 755 "$DIR"
mkdir -p "$DIR"/{run,state}; cp "$B/authd-checkpassword" "$DIR/"
export AUTHD_CONFIG=/nonexistent
cat >"$DIR/authd.toml" <<TOML
[store]
url = "sqlite://$DIR/authd.db"
[policy]
bcrypt_cost = 10
[http]
listen = ["127.0.0.1:18501", "unix:$DIR/authd.sock"]
socket_mode = "0666"
[throttle]
enabled = false
TOML
"$B/authctl" --config "$DIR/authd.toml" user add bench --hash "$HASH" >/dev/null
"$B/authd" --config "$DIR/authd.toml" >"$DIR/authd.log" 2>&1 &
APID=$!
echo "bench:{BLF-CRYPT}$HASH" >"$DIR/passwd"
chmod 644 "$DIR/passwd"
trap 'kill $APID 2>/dev/null || true; doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1 || true; sleep 0.3; rm -rf "$DIR"' EXIT
sleep 0.3
run() { # run PASSDB_BLOCK -> mean ms per doveadm auth test
  cat >"$DIR/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
instance_name = authd-bench
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
auth_failure_delay = 0
auth_cache_size = 0
ssl = no
disable_plaintext_auth = no
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
$1
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
CONF
  dovecot -F -c "$DIR/dovecot.conf" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do [ -S "$DIR/run/auth-client" ] && break; sleep 0.05; done
  doveadm -c "$DIR/dovecot.conf" auth test -x no-penalty bench bench-pw >/dev/null 2>&1 || true
  local t0 t1; t0=$(date +%s%N)
  for _ in $(seq 1 "$N"); do doveadm -c "$DIR/dovecot.conf" auth test -x no-penalty bench bench-pw >/dev/null 2>&1; done
  t1=$(date +%s%N)
  doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1; wait $pid 2>/dev/null || true
  awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN{printf "%.1f", (b-a)/1e6/n}'
}
CP=$(run "passdb {
  driver = checkpassword
  args = $DIR/authd-checkpassword --socket $DIR/authd.sock
}")
PF=$(run "passdb {
  driver = passwd-file
  args = scheme=BLF-CRYPT $DIR/passwd
}")
echo "| passdb | mean per \`doveadm auth test\` |"
echo "|---|---|"
echo "| checkpassword → authd-checkpassword → authd | $CP ms |"
echo "| Dovecot passwd-file (bcrypt verified inside Dovecot) | $PF ms |"
echo "| difference (fork/exec of the helper, socket, HTTP, store lookup) | $(awk -v a="$CP" -v b="$PF" 'BEGIN{printf "%.1f", a-b}') ms |"
