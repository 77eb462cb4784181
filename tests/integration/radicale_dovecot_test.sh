#!/usr/bin/env bash
# Issue 15 with the real client: Radicale >= 3.3.1 (Debian 13's 3.5) with [auth] type = dovecot
# against authd's Dovecot auth-protocol listener, through contrib/radicale/config-dovecot. A legacy
# account logs in and is bcrypt afterwards, a wrong password and an account without the radicale
# grant get 401, authd down is not a login. Debian 12's Radicale 3.1.8 has no dovecot backend:
# there the test says so and passes.
#   radicale_dovecot_test.sh BIN SRC RADICALE_PORT HTTP_PORT
BIN=$1 SRC=$2 RAD_PORT=$3 HTTP_PORT=$4
DIR=${TMPDIR:-/tmp}/authd-it-radicale-dovecot-$$
. "$SRC/tests/integration/common.sh"
version=$(/usr/bin/python3 -c 'import radicale; print(radicale.VERSION)' 2>/dev/null)
if ! /usr/bin/python3 -c 'import radicale.auth.dovecot' 2>/dev/null; then
  echo "ok   Radicale ${version:-missing} has no dovecot auth backend (3.3.1+, Debian 13): nothing to test here"
  finish "RADICALE DOVECOT"; exit
fi
make_dir
mkdir -p "$DIR/collections"
cleanup() { [ -n "${RAD_PID:-}" ] && kill "$RAD_PID" 2>/dev/null; stop_authd; [ "$fails" = 0 ] && rm -rf "$DIR"; }
trap cleanup EXIT

cat >"$DIR/authd.toml" <<TOML
[store]
url = "sqlite://$DIR/authd.db"
[policy]
bcrypt_cost = 5
[http]
listen = ["127.0.0.1:$HTTP_PORT", "unix:$DIR/authd.sock"]
[dovecot_auth]
listen = ["unix:$DIR/dovecot-auth.sock"]
[throttle]
enabled = false
TOML
start() {
  "$BIN/authd" --config "$DIR/authd.toml" >>"$DIR/authd.log" 2>&1 &
  AUTHD_PID=$!
  for _ in $(seq 1 100); do [ -S "$DIR/dovecot-auth.sock" ] && return 0; sleep 0.05; done
  echo "authd did not start:"; cat "$DIR/authd.log"; return 1
}
start || exit 1
ctl user add erin --hash "$(md5hex erins-pw)" >/dev/null
ctl user add frank --hash "$(openssl passwd -1 franks-pw)" --service imap >/dev/null

# The shipped file, with this test's port, socket and storage.
sed -e "s|127.0.0.1:5232|127.0.0.1:$RAD_PORT|" -e "s|/run/authd/dovecot-auth.sock|$DIR/dovecot-auth.sock|" \
  -e "s|/var/lib/radicale/collections|$DIR/collections|" "$SRC/contrib/radicale/config-dovecot" >"$DIR/radicale.conf"
printf '[logging]\nlevel = info\n' >>"$DIR/radicale.conf"
/usr/bin/python3 -m radicale --config "$DIR/radicale.conf" >"$DIR/radicale.log" 2>&1 &
RAD_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$RAD_PORT/" && break; sleep 0.1; done
U=http://127.0.0.1:$RAD_PORT
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"; }

check "Radicale $version, type = dovecot: a legacy MD5 account logs in (PROPFIND 207)" 207 \
  "$(code -X PROPFIND -H 'Depth: 0' -u erin:erins-pw "$U/erin/")"
check "... and holds bcrypt afterwards" bcrypt "$(ctl user show erin | awk '/^scheme:/ {print $2}')"
check "a wrong password: 401" 401 "$(code -X PROPFIND -H 'Depth: 0' -u erin:wrong "$U/erin/")"
check "an account without the radicale grant: 401" 401 "$(code -X PROPFIND -H 'Depth: 0' -u frank:franks-pw "$U/frank/")"
contains "authd logged the login for service radicale" 'user="erin" service=radicale' "$(cat "$DIR/authd.log")"
stop_authd
check "authd down: no login (Radicale answers 401)" 401 "$(code -X PROPFIND -H 'Depth: 0' -u erin:erins-pw "$U/erin/")"
start || exit 1
check "authd back: logins again" 207 "$(code -X PROPFIND -H 'Depth: 0' -u erin:erins-pw "$U/erin/")"
check "no password or hash in Radicale's or authd's logs" 0 "$(cat "$DIR/radicale.log" "$DIR/authd.log" | grep -c -e erins-pw -e franks-pw -e "$(md5hex erins-pw)" -e '\$2y\$')"
finish "RADICALE DOVECOT"
