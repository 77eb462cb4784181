# sourced: BIN SRC KIND IMAP_PORT HTTP_PORT set; starts authd + dovecot 2.4 like tests/integration/dovecot24_test.sh
LMTP_PORT=$((IMAP_PORT + 100))
DIR=/tmp/rev24-$$
. "$SRC/tests/integration/common.sh"
make_dir
mkdir -p "$DIR"/{run,state,home,vmail}
chown nobody:nogroup "$DIR/home" "$DIR/vmail"
start_authd "sqlite://$DIR/authd.db" "$HTTP_PORT" || exit 1
trap 'stop_authd; doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1; sleep 0.3' EXIT
NOBODY=$(id -u nobody) NOGROUP=$(getent group nogroup | cut -d: -f3)
cp "$SRC/contrib/dovecot/authd.lua" "$DIR/authd.lua"
sed -e "s|/etc/dovecot/authd.lua|$DIR/authd.lua|" -e "s|/run/authd/authd.sock|$DIR/authd.sock|" \
    -e "s|^mail_uid = vmail|mail_uid = nobody|" -e "s|^mail_gid = vmail|mail_gid = nogroup|" \
    -e "s|/var/vmail/|$DIR/vmail/|" "$SRC/contrib/dovecot/authd-dovecot24.conf" >"$DIR/authd-dovecot24.conf"
[ -n "${LUA_SETTINGS_SED:-}" ] && sed -i -e "$LUA_SETTINGS_SED" "$DIR/authd-dovecot24.conf"
cat >"$DIR/dovecot.conf" <<CONF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
protocols = imap lmtp
listen = 127.0.0.1
instance_name = rev24-$$
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
auth_verbose = yes
auth_debug = ${AUTH_DEBUG:-no}
auth_debug_passwords = ${AUTH_DEBUG:-no}
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
doveconf -c "$DIR/dovecot.conf" -n >"$DIR/doveconf.out" 2>&1 || { cat "$DIR/doveconf.out"; exit 1; }
dovecot -F -c "$DIR/dovecot.conf" >"$DIR/dovecot.stdout" 2>&1 &
for _ in $(seq 1 100); do [ -S "$DIR/run/auth-client" ] && break; sleep 0.05; done
C=(doveadm -c "$DIR/dovecot.conf")
deliver() {
  python3 - "$LMTP_PORT" "$1" <<'PY'
import smtplib, sys
c = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
try:
    c.sendmail("sender@example.org", [sys.argv[2]], "Subject: t\r\n\r\nhello\r\n")
    print("delivered")
except smtplib.SMTPRecipientsRefused as e:
    print("refused", list(e.recipients.values())[0])
except smtplib.SMTPException as e:
    print("error", e)
c.quit()
PY
}
at() { # at LABEL ARGS... : doveadm auth test, prints exit code and last line
  local label=$1; shift
  local out rc; out=$(timeout 60 "${C[@]}" auth test -x service=imap -x no-penalty "$@" 2>&1); rc=$?
  printf '%-40s rc=%s %s\n' "$label" "$rc" "$(echo "$out" | tr '\n' ' ' | cut -c1-160)"
}
