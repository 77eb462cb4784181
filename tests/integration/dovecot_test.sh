#!/usr/bin/env bash
# The real Dovecot 2.3 (Debian 12) with passdb checkpassword -> authd-checkpassword -> authd.
# usage: dovecot_test.sh BIN_DIR SRC_DIR sqlite|mariadb [IMAP_PORT] [HTTP_PORT]
BIN=$1 SRC=$2 KIND=$3 IMAP_PORT=${4:-10143} HTTP_PORT=${5:-18431}
# Dovecot 2.4 (Debian 13) has no checkpassword: the Lua passdb is its path.
case "$(dovecot --version 2>/dev/null)" in 2.4.*) exec bash "$SRC/tests/integration/dovecot24_test.sh" "$@" ;; esac
DIR=/tmp/authd-it-dovecot-$KIND-$$
. "$SRC/tests/integration/common.sh"
. "$SRC/tests/integration/dovecot_common.sh"
make_dir
mkdir -p "$DIR"/{run,state,home}; chown nobody:nogroup "$DIR/home"
start_authd "$(store_url "$KIND")" "$HTTP_PORT" || exit 1
trap 'stop_authd; doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1; sleep 0.3' EXIT

add_dovecot_accounts

cat >"$DIR/dovecot.conf" <<CONF
protocols = imap
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
auth_mechanisms = plain login
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
passdb {
  driver = checkpassword
  args = $DIR/authd-checkpassword --socket $DIR/authd.sock
}
userdb {
  driver = prefetch
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DIR/home/%u
}
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
check "no password or hash in authd's log" 0 "$(grep -c -e "$(md5hex password)" -e 'secret-1' -e '\$2y\$' "$DIR/authd.log")"
check "no password or hash in Dovecot's log (helper's stderr)" 0 "$(grep -c -e "$(md5hex password)" -e 'secret-1' -e '\$2y\$' "$DIR/dovecot.log")"
check "no password or hash in /metrics" 0 "$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | grep -c -e 'secret-1' -e "$(md5hex password)" -e '\$2y\$')"

stop_authd
out=$("${C[@]}" auth test -x service=imap -x no-penalty alice password 2>&1); check "authd stopped: auth fails" 77 $?
contains "… as a temporary failure, not a wrong password" "code=temp_fail" "$out"
finish "DOVECOT CHECKPASSWORD ($KIND)"
