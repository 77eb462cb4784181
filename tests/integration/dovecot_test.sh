#!/usr/bin/env bash
# The real Dovecot 2.3 (Debian 12) with passdb checkpassword -> authd-checkpassword -> authd.
# usage: dovecot_test.sh BIN_DIR SRC_DIR sqlite|mariadb [IMAP_PORT] [HTTP_PORT]
BIN=$1 SRC=$2 KIND=$3 IMAP_PORT=${4:-10143} HTTP_PORT=${5:-18431}
# Dovecot 2.4 (Debian 13) has no checkpassword: the Lua passdb is its path.
case "$(dovecot --version 2>/dev/null)" in 2.4.*) exec bash "$SRC/tests/integration/dovecot24_test.sh" "$@" ;; esac
LMTP_PORT=$((IMAP_PORT + 100))
DIR=/tmp/authd-it-dovecot-$KIND-$$
. "$SRC/tests/integration/common.sh"
. "$SRC/tests/integration/dovecot_common.sh"
. "$SRC/tests/integration/selfservice_common.sh"
make_dir
AUTHD_EXTRA=$(selfservice_toml $((HTTP_PORT + 60)))
mkdir -p "$DIR"/{run,state,home,vmail}; chown nobody:nogroup "$DIR/home" "$DIR/vmail"
start_authd "$(store_url "$KIND")" "$HTTP_PORT" || exit 1
trap 'stop_authd; doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1; sleep 0.3' EXIT

add_dovecot_accounts
ctl user add erin --hash "$(md5hex erins-pw)" --service imap >/dev/null
# imported from htpasswd: no uid, gid or home — the helper's --default-* values apply
printf 'dave:%s\n' "$(openssl passwd -apr1 daves-pw)" >"$DIR/import.htpasswd"
ctl import --format htpasswd "$DIR/import.htpasswd" >/dev/null

# The shipped file, with this test's paths in place of /usr/local/bin, /run/authd and /var/vmail.
sed -e "s|/usr/local/bin/authd-checkpassword|$DIR/authd-checkpassword|g" -e "s|/run/authd/authd.sock|$DIR/authd.sock|g" \
    -e "s|--default-uid vmail --default-gid vmail|--default-uid nobody --default-gid nogroup|g" \
    -e "s|/var/vmail/|$DIR/vmail/|g" "$SRC/contrib/dovecot/10-auth-authd.conf" >"$DIR/10-auth-authd.conf"
cat >"$DIR/dovecot.conf" <<CONF
protocols = imap lmtp
listen = 127.0.0.1
instance_name = authd-it-$KIND
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
auth_verbose = yes
auth_failure_delay = 0
# no address-space cap for the auth service: sanitizer builds of the helper reserve large shadow maps
default_vsz_limit = 0
ssl = no
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
!include $DIR/10-auth-authd.conf
CONF
doveconf -c "$DIR/dovecot.conf" -n >/dev/null || { echo "bad dovecot config"; exit 1; }
start_dovecot

C=(doveadm -c "$DIR/dovecot.conf")
dovecot_login_checks prefetch
"${C[@]}" auth lookup alice >/dev/null 2>&1; check "auth lookup (AUTHORIZED=1) finds alice" 0 $?
"${C[@]}" auth lookup nobody >/dev/null 2>&1; check "auth lookup of an unknown user" 67 $?
"${C[@]}" auth lookup -x service=lda bob >/dev/null 2>&1; check "delivery lookup (service=lda) finds smtp-only bob: grants decide logins" 0 $?
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u alice:password >/dev/null 2>&1; check "real IMAP LOGIN" 0 $?
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u alice:wrong >/dev/null 2>&1; check "real IMAP LOGIN, wrong password" 67 $?

# The whole path of every kind of account through the shipped layout: IMAP login, LMTP delivery,
# reading the message back. dave (imported, no uid/gid/home) gets the --default-* values, not the
# helper's own uid; erin may only use imap; bob only smtp (delivered, cannot read over IMAP).
out=$("${C[@]}" auth login -x service=imap -x no-penalty dave daves-pw 2>&1); check "imported account: login + userdb" 0 $?
contains "… uid from --default-uid, not the dovecot user's" "uid=$(id -u nobody)" "$out"
contains "… home from --default-home" "home=$DIR/vmail/dave" "$out"
out=$("${C[@]}" user dave 2>&1); check "imported account: userdb lookup (delivery)" 0 $?
contains "… the same uid as at login" "$(id -u nobody)" "$out"
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u dave:daves-pw >/dev/null 2>&1; check "imported account: real IMAP LOGIN" 0 $?
check "LMTP delivers to the imported account" delivered "$(deliver dave)"
out=$(curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX;UID=1" -u dave:daves-pw 2>&1); check "imported account reads it over IMAP" 0 $?
contains "… the delivered message" "hello dave" "$out"
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u erin:erins-pw >/dev/null 2>&1; check "imap-only account: real IMAP LOGIN" 0 $?
check "LMTP delivers to the imap-only account" delivered "$(deliver erin)"
out=$(curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX;UID=1" -u erin:erins-pw 2>&1); check "imap-only account reads it over IMAP" 0 $?
contains "… the delivered message" "hello erin" "$out"
check "LMTP delivers to the smtp-only account" delivered "$(deliver bob)"
check "LMTP delivers to alice (uid/home stored in authd)" delivered "$(deliver alice)"
check "LMTP refuses an unknown user permanently" "refused 550" "$(deliver nobody)"
delivery_to_disabled_checks
# Issue 16: an app password scoped to imap logs in over real IMAP, is refused for nextcloud; the
# main password kept to web is refused over IMAP; a revoke ends the app password at once.
APP=$(ctl app-password add erin --service imap --label "erin's phone" 2>/dev/null)
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u "erin:$APP" >/dev/null 2>&1; check "app password (imap): real IMAP LOGIN" 0 $?
check "... refused for nextcloud (Basic)" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u "erin:$APP" "http://127.0.0.1:$HTTP_PORT/v1/basic/nextcloud")"
ctl user set erin --main-password-service web >/dev/null
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u erin:erins-pw >/dev/null 2>&1; check "main password kept to web: refused over IMAP" 67 $?
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u "erin:$APP" >/dev/null 2>&1; check "... while the app password still logs in" 0 $?
ctl app-password revoke erin "$(ctl app-password list erin --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" >/dev/null
curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u "erin:$APP" >/dev/null 2>&1; check "revoked: the app password is refused at once" 67 $?
ctl user set erin --main-password-service all >/dev/null
check "no app password in authd's log" 0 "$(grep -c -e "$APP" "$DIR/authd.log")"

# Issue 16: the self-service page in a real browser, through nginx with TLS, beside this Dovecot.
selfservice_browser_checks "$IMAP_PORT" $((HTTP_PORT + 60)) $((HTTP_PORT + 70))

check "no password or hash in authd's log" 0 "$(grep -c -e "$(md5hex password)" -e 'secret-1' -e 'daves-pw' -e 'erins-pw' -e '\$2y\$' -e '\$apr1\$' "$DIR/authd.log")"
check "no password or hash in Dovecot's log (helper's stderr)" 0 "$(grep -c -e "$(md5hex password)" -e 'secret-1' -e 'daves-pw' -e 'erins-pw' -e '\$2y\$' -e '\$apr1\$' "$DIR/dovecot.log")"
check "no password or hash in /metrics" 0 "$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | grep -c -e 'secret-1' -e "$(md5hex password)" -e '\$2y\$')"

stop_authd
out=$("${C[@]}" auth test -x service=imap -x no-penalty alice password 2>&1); check "authd stopped: auth fails" 77 $?
contains "… as a temporary failure, not a wrong password" "code=temp_fail" "$out"
check "authd stopped: LMTP defers (4xx), never bounces" "refused 451" "$(deliver dave)"
finish "DOVECOT CHECKPASSWORD ($KIND)"
