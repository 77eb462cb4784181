#!/usr/bin/env bash
# SQLite on a full and on a read-only filesystem (a small tmpfs): logins keep being answered
# correctly (a failed upgrade write never fails a login), writes fail with a clear message, and
# nothing is corrupted. usage: sqlite_faults.sh BIN_DIR SRC_DIR [HTTP_PORT]
BIN=$1 SRC=$2 HTTP_PORT=${3:-18436}
DIR=/tmp/authd-it-sqlite-faults-$$
. "$SRC/tests/integration/common.sh"
make_dir
mkdir -p "$DIR/fs"
if ! mount -t tmpfs -o size=2m tmpfs "$DIR/fs" 2>/dev/null; then
  echo "skip: cannot mount a tmpfs here (needs CAP_SYS_ADMIN)"; finish "SQLITE FAULTS"; exit 0
fi
trap 'stop_authd; umount "$DIR/fs" 2>/dev/null; rm -rf "$DIR"' EXIT
start_authd "sqlite://$DIR/fs/authd.db" "$HTTP_PORT" || exit 1
for u in full1 full2 ro1; do ctl user add "$u" --hash "$(md5hex password)" >/dev/null; done
post() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d "{\"username\":\"$1\",\"password\":\"$2\"}" "http://127.0.0.1:$HTTP_PORT/v1/auth"; }

dd if=/dev/zero of="$DIR/fs/filler" bs=4k 2>/dev/null   # fill the filesystem
check "disk full: right password still logs in" 200 "$(post full1 password)"
check "disk full: wrong password still rejected" 401 "$(post full1 wrong)"
check "disk full: the hash stayed as it was (upgrade not written)" "plain_md5 legacy" "$(ctl user list | awk '$1=="full1"{print $3, $4}')"
out=$(printf 'pw-12345\n' | ctl user add newbie 2>&1); check "disk full: authctl user add fails" 2 $?
contains "… with a clear message" "full" "$out"
contains "authd logged the failed upgrade" "upgrade user=\"full1\" from=plain_md5 failed" "$(cat "$DIR/authd.log")"
rm -f "$DIR/fs/filler"
check "space back: the next login upgrades" 200 "$(post full1 password)"
check "… and the hash is bcrypt" "bcrypt current" "$(ctl user list | awk '$1=="full1"{print $3, $4}')"

stop_authd
if mount -o remount,ro "$DIR/fs" 2>/dev/null; then
  start_authd "sqlite://$DIR/fs/authd.db" "$HTTP_PORT" || exit 1
  check "read-only filesystem: right password is a temporary failure" 503 "$(post ro1 password)"
  check "read-only filesystem: wrong password too, never 401" 503 "$(post ro1 wrong)"
  check "read-only filesystem: /readyz" 503 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/readyz")"
  contains "a clear log line" "sqlite" "$(cat "$DIR/authd.log" | tail -5)"
  stop_authd
  mount -o remount,rw "$DIR/fs"
fi
start_authd "sqlite://$DIR/fs/authd.db" "$HTTP_PORT" || exit 1
check "integrity_check after the faults" ok "$(sqlite3 "$DIR/fs/authd.db" 'PRAGMA integrity_check')"
check "other accounts unharmed" 200 "$(post ro1 password)"
finish "SQLITE FAULTS"
