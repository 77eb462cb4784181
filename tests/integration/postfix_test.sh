#!/usr/bin/env bash
# Issue 15 with the real client: Debian's Postfix, started in its own config, queue and data
# directories, authenticating SMTP AUTH (PLAIN and LOGIN, driven by swaks) against authd's Dovecot
# auth-protocol listener with no Dovecot anywhere — over TCP as contrib/postfix/main.cf has it
# (smtpd_sasl_path = inet:…) and over the UNIX socket. A legacy account is accepted and bcrypt
# after its first SMTP login; a wrong password and an account without the smtp grant get 535;
# authd down gets Postfix's 454 (temporary), never a 535.
#   postfix_test.sh BIN SRC sqlite|mariadb SMTP_PORT HTTP_PORT AUTH_PORT
BIN=$1 SRC=$2 KIND=$3 SMTP_PORT=$4 HTTP_PORT=$5 AUTH_PORT=$6
DIR=${TMPDIR:-/tmp}/authd-it-postfix-$KIND-$$
. "$SRC/tests/integration/common.sh"
command -v postfix >/dev/null && command -v swaks >/dev/null || { echo "FAIL postfix and swaks are not installed (scripts/install-deps.sh)"; exit 1; }
make_dir
PF=$DIR/postfix
cleanup() {
  postfix -c "$PF" stop >/dev/null 2>&1
  stop_authd
  [ "$fails" = 0 ] && rm -rf "$DIR"
}
trap cleanup EXIT

URL=$(store_url "$KIND")
cat >"$DIR/authd.toml" <<TOML
[store]
url = "$URL"
[policy]
bcrypt_cost = 5
[http]
listen = ["127.0.0.1:$HTTP_PORT", "unix:$DIR/authd.sock"]
[dovecot_auth]
listen = ["127.0.0.1:$AUTH_PORT", "unix:$DIR/auth"]
socket_mode = "0666"
[throttle]
enabled = false
TOML
start() {
  "$BIN/authd" --config "$DIR/authd.toml" >>"$DIR/authd.log" 2>&1 &
  AUTHD_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && return 0; sleep 0.05; done
  echo "authd did not start:"; cat "$DIR/authd.log"; return 1
}
start || exit 1
ctl user add alice --hash "$(openssl passwd -1 'alice smtp pw')" >/dev/null
ctl user add bob --hash "$(openssl passwd -1 bobpw)" --service imap >/dev/null
printf 'carolpw\n' | ctl user add carol --service smtp >/dev/null

# A throw-away Postfix (shared/docs/ENVIRONMENT.md §15): every daemon unchrooted, smtpd on a
# loopback port, SASL through authd. The SASL lines are the ones README/contrib ship.
mkdir -p "$PF" "$DIR/pfq" "$DIR/pfd"
chown postfix "$DIR/pfd"
cp /etc/postfix/dynamicmaps.cf "$PF/"
awk -v port="$SMTP_PORT" '
  /^smtp +inet/ { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
  /^[a-z]/ && NF >= 8 { $5 = "n" }
  { print }' /etc/postfix/master.cf.proto >"$PF/master.cf"
sasl_lines() { sed -n '/^smtpd_sasl/p' "$SRC/contrib/postfix/main.cf"; }
cat >"$PF/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $DIR/pfq
data_directory = $DIR/pfd
maillog_file = $PF/maillog
maillog_file_prefixes = $DIR
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
smtpd_tls_security_level = none
$(sasl_lines | sed "s|^smtpd_sasl_path = .*|smtpd_sasl_path = inet:127.0.0.1:$AUTH_PORT|")
CF
postfix -c "$PF" set-permissions >/dev/null 2>&1
if ! script -qc "postfix -c $PF start" /dev/null >"$DIR/postfix-start.log" 2>&1; then
  echo "FAIL postfix did not start:"; cat "$DIR/postfix-start.log"; exit 1
fi
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break; sleep 0.1; done

smtp_auth() { # smtp_auth MECH USER PASSWORD -> the server's answer to AUTH (its code and text)
  swaks --server "127.0.0.1:$SMTP_PORT" --auth "$1" --auth-user "$2" --auth-password "$3" --quit-after AUTH \
    --timeout 20 2>&1 | grep -E '^ *<(-|~|\*\*) +[0-9]{3}' | grep -vE '^ *<\S* +(221|334) ' | tail -n1
}
code() { smtp_auth "$@" | grep -oE '[0-9]{3}' | head -n1; }

check "a legacy MD5 account logs in with AUTH PLAIN (235)" 235 "$(code PLAIN alice 'alice smtp pw')"
check "... and holds bcrypt after its first SMTP login" bcrypt "$(ctl user show alice | awk '/^scheme:/ {print $2}')"
check "AUTH LOGIN works too" 235 "$(code LOGIN alice 'alice smtp pw')"
check "a bcrypt account with the smtp grant (235)" 235 "$(code PLAIN carol carolpw)"
check "a wrong password gets 535" 535 "$(code PLAIN alice wrong)"
check "an account without the smtp grant gets 535" 535 "$(code PLAIN bob bobpw)"
check "an unknown user gets 535" 535 "$(code LOGIN nobody whatever)"
contains "the login was logged with service smtp and the client's address" 'user="alice" service=smtp ip=127.0.0.1' "$(cat "$DIR/authd.log")"

stop_authd
answer=$(smtp_auth PLAIN alice 'alice smtp pw')
check "authd down: Postfix answers 454 (temporary), not 535" 454 "$(echo "$answer" | grep -oE '[0-9]{3}' | head -n1)"
start || exit 1
# An smtpd process that still holds its connection to the stopped authd answers its next AUTH
# with 454 once (Postfix reconnects only when a write fails, not on EOF) — as with a restarted
# Dovecot; the one after that reconnects.
again=$(code PLAIN alice 'alice smtp pw')
[ "$again" = 454 ] && again=$(code PLAIN alice 'alice smtp pw')
check "authd back: the same Postfix logs in again (after at most one 454)" 235 "$again"

# The UNIX socket (Postfix's usual private/auth): smtpd reaches it by a path relative to its
# queue directory, so the socket is linked there.
mkdir -p "$DIR/pfq/private"
ln -sf "$DIR/auth" "$DIR/pfq/private/authd"
sed -i "s|^smtpd_sasl_path = .*|smtpd_sasl_path = private/authd|" "$PF/main.cf"
postfix -c "$PF" reload >/dev/null 2>&1
sleep 1
check "over the UNIX socket (smtpd_sasl_path = private/authd) too" 235 "$(code PLAIN carol carolpw)"

# A temporary failure inside authd (here: the throttle, past a hold of 0 ms) reaches Postfix as
# a closed connection, so its client gets 454, never the 535 a FAIL line would give.
sed -i 's/^enabled = false/enabled = true\nhold_max_ms = 0\ninitial_ms = 5000/' "$DIR/authd.toml"
kill -HUP "$AUTHD_PID"
sleep 0.5
check "throttle on: a wrong password is 535" 535 "$(code PLAIN carol wrong)"
check "... the next attempt inside the penalty is a temporary 454, not 535" 454 "$(code PLAIN carol carolpw)"
finish "POSTFIX ($KIND)"
