# What the Dovecot 2.3 (checkpassword) and 2.4 (Lua) client tests share (sourced after common.sh).
# Needs DIR, and C=(doveadm -c "$DIR/dovecot.conf") once Dovecot runs.

# The accounts both tests log in with: alice (legacy MD5, home/uid/gid stored), bob (MD5, smtp
# only), carol (bcrypt from authctl, home/uid 5000).
add_dovecot_accounts() {
  ctl user add alice --hash "$(md5hex password)" --home "$DIR/home/alice" --uid "$(id -u nobody)" --gid "$(getent group nogroup | cut -d: -f3)" >/dev/null
  ctl user add bob --hash "$(md5hex password)" --service smtp >/dev/null
  printf 'secret-1\n' | ctl user add carol --home /var/vmail/carol --uid 5000 --gid 5000 >/dev/null
}

# start_dovecot: Dovecot in the foreground on $DIR/dovecot.conf; exits the test if it does not come up.
start_dovecot() {
  dovecot -F -c "$DIR/dovecot.conf" >"$DIR/dovecot.stdout" 2>&1 &
  for _ in $(seq 1 100); do [ -S "$DIR/run/auth-client" ] && break; sleep 0.05; done
  [ -S "$DIR/run/auth-client" ] || { echo "FAIL dovecot did not start:"; cat "$DIR/dovecot.stdout" "$DIR/dovecot.log"; exit 1; }
}

# The login checks both Dovecots must pass through authd: the upgrade, wrong and unknown, grants by
# service, and carol's userdb fields from authd (LABEL names the userdb path).
dovecot_login_checks() { # dovecot_login_checks USERDB_LABEL
  local out
  out=$("${C[@]}" auth test -x service=imap -x no-penalty alice password 2>&1); check "legacy MD5 user logs in" 0 $?
  contains "canonical user returned" "user=alice" "$out"
  check "store now holds bcrypt \$2y\$05" "bcrypt current" "$(ctl user list | awk '$1=="alice"{print $3, $4}')"
  "${C[@]}" auth test -x service=imap -x no-penalty alice password >/dev/null 2>&1; check "and logs in again with bcrypt" 0 $?
  "${C[@]}" auth test -x service=imap -x no-penalty alice wrong >/dev/null 2>&1; check "wrong password fails" 77 $?
  "${C[@]}" auth test -x service=imap -x no-penalty nobody password >/dev/null 2>&1; check "unknown user fails" 77 $?
  "${C[@]}" auth test -x service=imap -x no-penalty bob password >/dev/null 2>&1; check "user without the imap grant fails (the service reaches authd)" 77 $?
  "${C[@]}" auth test -x service=smtp -x no-penalty bob password >/dev/null 2>&1; check "same user on smtp logs in" 0 $?
  out=$("${C[@]}" auth login -x service=imap -x no-penalty carol secret-1 2>&1); check "userdb fields from authd ($1)" 0 $?
  contains "home from authd" "home=/var/vmail/carol" "$out"
  contains "uid from authd" "uid=5000" "$out"
  contains "gid from authd" "gid=5000" "$out"
}

# deliver RCPT: one message over LMTP to 127.0.0.1:$LMTP_PORT; prints "delivered", or "refused
# CODE" / "error …".
deliver() {
  python3 - "$LMTP_PORT" "$1" <<'PY'
import smtplib, sys
c = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
try:
    c.sendmail("sender@example.org", [sys.argv[2]], "Subject: authd test\r\n\r\nhello " + sys.argv[2] + "\r\n")
    print("delivered")
except smtplib.SMTPRecipientsRefused as e:
    print("refused", list(e.recipients.values())[0][0])
except smtplib.SMTPException as e:
    print("error", e)
c.quit()
PY
}

# A disabled account keeps receiving mail ([core] lookup_disabled = true, the default) while its
# logins are refused.
delivery_to_disabled_checks() {
  ctl user add gone --hash "$(md5hex gones-pw)" >/dev/null && ctl user disable gone >/dev/null
  "${C[@]}" auth test -x service=imap -x no-penalty gone gones-pw >/dev/null 2>&1; check "disabled account: login refused" 77 $?
  check "disabled account: LMTP still delivers (no bounce)" delivered "$(deliver gone)"
}
