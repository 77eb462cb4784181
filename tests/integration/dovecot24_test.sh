#!/usr/bin/env bash
# The real Dovecot 2.4 (Debian 13) with the shipped Lua passdb + userdb (contrib/dovecot/authd.lua,
# contrib/dovecot/authd-dovecot24.conf) -> authd over its UNIX socket; IMAP login and LMTP delivery.
# usage: dovecot24_test.sh BIN_DIR SRC_DIR sqlite|mariadb [IMAP_PORT] [HTTP_PORT]
BIN=$1 SRC=$2 KIND=$3 IMAP_PORT=${4:-10143} HTTP_PORT=${5:-18431}
LMTP_PORT=$((IMAP_PORT + 100)) # the TCP-mode instance below: both + 300 (no clash with the other store kind's run)
DIR=/tmp/authd-it-dovecot24-$KIND-$$
. "$SRC/tests/integration/common.sh"
. "$SRC/tests/integration/dovecot_common.sh"
. "$SRC/tests/integration/selfservice_common.sh"
make_dir
AUTHD_EXTRA=$(selfservice_toml $((HTTP_PORT + 60)))
mkdir -p "$DIR"/{run,state,home,vmail}
chown nobody:nogroup "$DIR/home" "$DIR/vmail"
STORE=$(store_url "$KIND")
start_authd "$STORE" "$HTTP_PORT" || exit 1
trap 'stop_authd; doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1; doveadm -c "$DIR/tcp.conf" stop >/dev/null 2>&1; sleep 0.3' EXIT

add_dovecot_accounts
ctl user add erin --hash "$(md5hex erins-pw)" --service imap >/dev/null
# imported from htpasswd: no uid, gid or home — Dovecot's mail_* defaults apply
printf 'dave:%s\n' "$(openssl passwd -apr1 daves-pw)" >"$DIR/import.htpasswd"
ctl import --format htpasswd "$DIR/import.htpasswd" >/dev/null

# The shipped files, with this test's paths in place of /etc/dovecot, /run/authd and /var/vmail.
cp "$SRC/contrib/dovecot/authd.lua" "$DIR/authd.lua"
sed -e "s|/etc/dovecot/authd.lua|$DIR/authd.lua|" -e "s|/run/authd/authd.sock|$DIR/authd.sock|" \
    -e "s|^mail_uid = vmail|mail_uid = nobody|" -e "s|^mail_gid = vmail|mail_gid = nogroup|" \
    -e "s|/var/vmail/|$DIR/vmail/|" "$SRC/contrib/dovecot/authd-dovecot24.conf" >"$DIR/authd-dovecot24.conf"
cat >"$DIR/dovecot.conf" <<CONF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
protocols = imap lmtp
listen = 127.0.0.1
instance_name = authd-it24-$KIND
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
auth_verbose = yes
auth_failure_delay = 0
default_vsz_limit = unlimited
ssl = no
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = ~/Maildir
service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    listen = 127.0.0.1
    port = $LMTP_PORT
  }
}
!include $DIR/authd-dovecot24.conf
CONF
doveconf -c "$DIR/dovecot.conf" -n >"$DIR/doveconf.out" 2>&1; check "dovecot 2.4 accepts the shipped config" 0 $? || { cat "$DIR/doveconf.out"; exit 1; }
check "auth_allow_weak_schemes stays off" 0 "$(doveconf -c "$DIR/dovecot.conf" -h auth_allow_weak_schemes 2>/dev/null | grep -cx yes)"
start_dovecot

C=(doveadm -c "$DIR/dovecot.conf")
dovecot_login_checks "userdb lua"
"${C[@]}" auth test -x service=imap -x no-penalty dave daves-pw >/dev/null 2>&1; check "imported apr1 user logs in" 0 $?
out=$("${C[@]}" auth lookup alice 2>&1); check "auth lookup (passdb) finds alice" 0 $?
contains "… with her canonical name" "alice" "$out"
"${C[@]}" auth lookup nobody >/dev/null 2>&1; check "auth lookup of an unknown user" 67 $?
out=$("${C[@]}" user carol 2>&1); check "doveadm user (userdb) finds carol" 0 $?
contains "userdb uid from authd" "5000" "$out"
"${C[@]}" user nobody >/dev/null 2>&1; check "doveadm user of an unknown user" 67 $?
# Grants decide logins, not existence: an imap-only account is found for delivery and doveadm.
"${C[@]}" auth login -x service=imap -x no-penalty erin erins-pw >/dev/null 2>&1; check "imap-only account: login + userdb lookup" 0 $?
"${C[@]}" user erin >/dev/null 2>&1; check "imap-only account: doveadm user" 0 $?
"${C[@]}" user bob >/dev/null 2>&1; check "smtp-only account: doveadm user (existence, no grant check)" 0 $?
"${C[@]}" auth lookup erin >/dev/null 2>&1; check "imap-only account: doveadm auth lookup" 0 $?
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u erin:erins-pw >/dev/null 2>&1; check "imap-only account: real IMAP LOGIN" 0 $?
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u alice:password >/dev/null 2>&1; check "real IMAP LOGIN" 0 $?
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u alice:wrong >/dev/null 2>&1; check "real IMAP LOGIN, wrong password" 67 $?

# An imported account without uid/gid/home: IMAP login and LMTP delivery with Dovecot's defaults.
check "LMTP delivers to the imported account" delivered "$(deliver dave)"
out=$(curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX;UID=1" -u dave:daves-pw 2>&1); check "imported account reads it over IMAP" 0 $?
contains "… the delivered message" "hello dave" "$out"
check "… in the default home" 1 "$(find "$DIR/vmail/dave/Maildir" -type f \( -path '*/new/*' -o -path '*/cur/*' \) 2>/dev/null | wc -l)"
check "LMTP delivers to alice (uid/home from authd)" delivered "$(deliver alice)"
check "LMTP delivers to the imap-only account" delivered "$(deliver erin)"
check "LMTP delivers to the smtp-only account" delivered "$(deliver bob)"
delivery_to_disabled_checks
check "LMTP refuses an unknown user permanently" "refused 550" "$(deliver nobody)"

check "no password or hash in authd's log" 0 "$(grep -c -e "$(md5hex password)" -e 'secret-1' -e 'daves-pw' -e 'erins-pw' -e '\$2y\$' -e '\$apr1\$' "$DIR/authd.log")"
check "no password or hash in Dovecot's log" 0 "$(grep -c -e "$(md5hex password)" -e 'secret-1' -e 'daves-pw' -e 'erins-pw' -e '\$2y\$' -e '\$apr1\$' "$DIR/dovecot.log")"

# Issue 16: the self-service page in a real browser, through nginx with TLS, beside this Dovecot.
selfservice_browser_checks "$IMAP_PORT" $((HTTP_PORT + 60)) $((HTTP_PORT + 70))

# The script's TCP mode (lua_settings url + bearer_token) beside the socket: a second Dovecot
# against authd with a bearer token. The right token logs in and looks up; a missing one is
# authd refusing the request, a temporary failure — never "wrong password".
tcp_dovecot() { # tcp_dovecot LUA_TOKEN_LINE: (re)start the TCP-mode Dovecot
  doveadm -c "$DIR/tcp.conf" stop >/dev/null 2>&1; sleep 0.3
  sed -e "s|socket = $DIR/authd.sock|url = http://127.0.0.1:$HTTP_PORT\n    $1|" "$DIR/authd-dovecot24.conf" >"$DIR/authd-tcp.conf"
  sed -e "s|^base_dir = .*|base_dir = $DIR/run-tcp|" -e "s|^instance_name = .*|instance_name = authd-it24-tcp-$KIND|" \
      -e "s|^log_path = .*|log_path = $DIR/dovecot-tcp.log|" -e "s|port = $IMAP_PORT|port = $((IMAP_PORT + 300))|" \
      -e "s|port = $LMTP_PORT|port = $((LMTP_PORT + 300))|" -e "s|authd-dovecot24.conf|authd-tcp.conf|" "$DIR/dovecot.conf" >"$DIR/tcp.conf"
  mkdir -p "$DIR/run-tcp"; rm -f "$DIR/run-tcp/auth-client"
  dovecot -F -c "$DIR/tcp.conf" >>"$DIR/dovecot-tcp.stdout" 2>&1 &
  for _ in $(seq 1 100); do [ -S "$DIR/run-tcp/auth-client" ] && break; sleep 0.05; done
}
T=(doveadm -c "$DIR/tcp.conf")
stop_authd
start_authd "$STORE" "$HTTP_PORT" 'bearer_token = "tok-lua-24"' || exit 1
tcp_dovecot 'bearer_token = tok-lua-24'
"${T[@]}" auth test -x service=imap -x no-penalty alice password >/dev/null 2>&1; check "TCP mode with the token: login" 0 $?
"${T[@]}" auth test -x service=imap -x no-penalty alice wrong >/dev/null 2>&1; check "TCP mode with the token: wrong password fails" 77 $?
out=$("${T[@]}" user carol 2>&1); check "TCP mode with the token: userdb lookup" 0 $?
contains "… uid from authd" "5000" "$out"
tcp_dovecot ''
out=$("${T[@]}" auth test -x service=imap -x no-penalty alice password 2>&1); check "TCP mode without the token: temporary failure (75)" 75 $?
contains "… code=temp_fail, not a wrong password" "code=temp_fail" "$out"
"${T[@]}" user carol >/dev/null 2>&1; check "TCP mode without the token: userdb lookup is temporary" 75 $?
doveadm -c "$DIR/tcp.conf" stop >/dev/null 2>&1
check "no token in Dovecot's log" 0 "$(grep -c 'tok-lua-24' "$DIR/dovecot-tcp.log")"

# The store down (a MariaDB nobody answers): logins and lookups are temporary failures.
stop_authd
start_authd "mariadb://authd:x@127.0.0.1:9/none" "$HTTP_PORT" || exit 1
out=$("${C[@]}" auth test -x service=imap -x no-penalty alice password 2>&1); check "store down: auth fails as temporary (doveadm exit 75)" 75 $?
contains "… as a temporary failure, not a wrong password" "code=temp_fail" "$out"
"${C[@]}" user carol >/dev/null 2>&1; check "store down: userdb lookup is a temporary failure" 75 $?
check "store down: LMTP defers (4xx), never bounces" "refused 451" "$(deliver dave)"
out=$(timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.recv(4096)
s.sendall(b"a LOGIN alice password\r\n"); print(s.recv(4096).decode())' "$IMAP_PORT" 2>&1)
contains "store down: IMAP answers UNAVAILABLE" "[UNAVAILABLE]" "$out"

stop_authd
out=$("${C[@]}" auth test -x service=imap -x no-penalty alice password 2>&1); check "authd stopped: auth fails as temporary (doveadm exit 75)" 75 $?
contains "… as a temporary failure, not a wrong password" "code=temp_fail" "$out"
check "authd stopped: LMTP defers (4xx), never bounces" "refused 451" "$(deliver dave)"
finish "DOVECOT 2.4 LUA ($KIND)"
