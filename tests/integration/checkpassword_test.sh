#!/usr/bin/env bash
# authd-checkpassword's own contract: fd-3 parsing, exit codes, the environment it hands the reply
# program (never the password), pipe mode. usage: checkpassword_test.sh BIN_DIR SRC_DIR [HTTP_PORT]
BIN=$1 SRC=$2 HTTP_PORT=${3:-18435}
DIR=/tmp/authd-it-checkpassword-$$
. "$SRC/tests/integration/common.sh"
make_dir
CP="$DIR/authd-checkpassword"
cat >"$DIR/reply.sh" <<'SH'
#!/bin/sh
# stands in for checkpassword-reply: records what it was given
{ echo "argv=$*"; env | grep -E '^(USER|HOME|EXTRA|AUTHORIZED|userdb_uid|userdb_gid)=' | sort; env | grep -c 'pw-' ; } >"$(dirname "$0")/reply.out"
[ "${AUTHORIZED:-}" = 2 ] && exit 2
exit 0
SH
chmod 755 "$DIR/reply.sh"
run() { "$CP" --socket "$DIR/authd.sock" "$DIR/reply.sh" extra-arg 3< <(printf "$1"); echo $?; }

# malformed input: exit 2 before any contact with authd (no authd is running yet: a request would be 111)
check "no fd 3" 2 "$("$CP" --socket "$DIR/authd.sock" "$DIR/reply.sh" 3<&-; echo $?)"
check "no NUL on fd 3" 2 "$(run 'alice-pw-1')"
check "only one NUL" 2 "$(run 'alice\0pw-1')"
check "empty user" 2 "$(run '\0pw-1\0\0')"
check "over 512 bytes" 2 "$(run "alice\\0$(head -c 600 /dev/zero | tr '\0' x)\\0\\0")"
check "no program to run" 2 "$("$CP" --socket "$DIR/authd.sock" 3< <(printf 'a\0b\0\0'); echo $?)"
check "unknown option" 2 "$("$CP" --bogus x 3< <(printf 'a\0b\0\0'); echo $?)"
check "authd unreachable -> 111" 111 "$(run 'alice\0pw-1\0\0')"
check "pipe: authd unreachable -> 111" 111 "$(printf 'alice\npw-1\n' | "$CP" --pipe --socket "$DIR/authd.sock"; echo $?)"

start_authd "sqlite://$DIR/authd.db" "$HTTP_PORT" || exit 1
trap 'stop_authd' EXIT
ctl user add alice --hash "$(md5hex pw-1)" --home /home/alice --uid 1001 --gid 1002 >/dev/null
ctl user add bob --hash "$(md5hex pw-2)" >/dev/null
printf 'caf\xe9-pw\n' >"$DIR/latin1"; ctl user add latin --hash "$(printf 'caf\xe9-pw' | md5sum | cut -d' ' -f1)" >/dev/null

rm -f "$DIR/reply.out"
check "right password -> reply program's exit" 0 "$(HOME=/root run 'alice\0pw-1\0\0')"
out=$(cat "$DIR/reply.out")
contains "reply program gets its own arguments" "argv=extra-arg" "$out"
contains "USER set" "USER=alice" "$out"
contains "HOME from authd" "HOME=/home/alice" "$out"
contains "uid/gid via EXTRA" "EXTRA=userdb_uid userdb_gid" "$out"
contains "userdb_uid" "userdb_uid=1001" "$out"
check "password not in the reply's environment" 0 "$(tail -1 "$DIR/reply.out")"
HOME=/root run 'bob\0pw-2\0\0' >/dev/null
check "no inherited HOME for accounts without one" "" "$(grep '^HOME=' "$DIR/reply.out")"
check "wrong password -> 1" 1 "$(run 'alice\0nope\0\0')"
check "unknown user -> 1" 1 "$(run 'nobody\0pw-1\0\0')"
check "timestamp and extra fields ignored" 0 "$(run 'alice\0pw-1\0x123\0more\0')"
check "latin-1 password bytes arrive intact" 0 "$(run 'latin\0caf\351-pw\0\0')"
check "lookup (AUTHORIZED=1) of a known user -> exec, 2" 2 "$(AUTHORIZED=1 run 'alice\0\0\0')"
contains "lookup sets AUTHORIZED=2" "AUTHORIZED=2" "$(cat "$DIR/reply.out")"
check "lookup of an unknown user -> 3" 3 "$(AUTHORIZED=1 run 'nobody\0\0\0')"
# --default-uid/-gid/-home: filled in for accounts without stored values; stored values win.
dflt() { "$CP" --socket "$DIR/authd.sock" --default-uid vmail --default-gid 8 --default-home '/var/vmail/%d/%n/%%' "$DIR/reply.sh" 3< <(printf "$1"); echo $?; }
ctl user add 'carl@example.org' --hash "$(md5hex pw-3)" >/dev/null
check "defaults: login of an account without uid/gid/home" 0 "$(dflt 'carl@example.org\0pw-3\0\0')"
out=$(cat "$DIR/reply.out")
contains "… userdb_uid from --default-uid" "userdb_uid=vmail" "$out"
contains "… userdb_gid from --default-gid" "userdb_gid=8" "$out"
contains "… in EXTRA, so checkpassword-reply does not put its own uid" "EXTRA=userdb_uid userdb_gid" "$out"
contains "… HOME from the template (%d, %n, %%)" "HOME=/var/vmail/example.org/carl/%" "$out"
check "defaults: a lookup gets them too" 2 "$(AUTHORIZED=1 dflt 'carl@example.org\0\0\0')"
contains "… in lookup mode" "userdb_uid=vmail" "$(cat "$DIR/reply.out")"
dflt 'alice\0pw-1\0\0' >/dev/null
out=$(cat "$DIR/reply.out")
contains "defaults: stored uid wins" "userdb_uid=1001" "$out"
contains "defaults: stored home wins" "HOME=/home/alice" "$out"
ctl user add 'x/../../etc' --hash "$(md5hex pw-4)" >/dev/null
check "defaults: a name with '/' gets no home -> 111" 111 "$(dflt 'x/../../etc\0pw-4\0\0' 2>/dev/null)"
check "defaults: relative --default-home -> 2" 2 "$("$CP" --default-home 'vmail/%u' "$DIR/reply.sh" 3< <(printf 'a\0b\0\0') 2>/dev/null; echo $?)"
check "defaults: bad --default-uid -> 2" 2 "$("$CP" --default-uid 'a b' "$DIR/reply.sh" 3< <(printf 'a\0b\0\0') 2>/dev/null; echo $?)"
check "pipe: right password -> 0" 0 "$(printf 'alice\npw-1\n' | "$CP" --pipe --socket "$DIR/authd.sock"; echo $?)"
check "pipe: no final newline -> 0" 0 "$(printf 'alice\npw-1' | "$CP" --pipe --socket "$DIR/authd.sock"; echo $?)"
check "pipe: wrong password -> 1" 1 "$(printf 'alice\nnope\n' | "$CP" --pipe --socket "$DIR/authd.sock"; echo $?)"
check "pipe: service from CONTEXT (not granted) -> 1" 1 "$(ctl user grant bob imap >/dev/null; printf 'bob\npw-2\n' | CONTEXT=web "$CP" --pipe --socket "$DIR/authd.sock"; echo $?)"
check "pipe: malformed -> 2" 2 "$(printf 'alice' | "$CP" --pipe --socket "$DIR/authd.sock"; echo $?)"
check "pipe: extra lines -> 2" 2 "$(printf 'alice\npw-1\nmore\n' | "$CP" --pipe --socket "$DIR/authd.sock"; echo $?)"
check "the lookup endpoint refuses TCP without the bearer token" 403 "$(curl -s -o /dev/null -w '%{http_code}' -d '{"username":"alice"}' "http://127.0.0.1:$HTTP_PORT/v1/lookup")"
finish "AUTHD-CHECKPASSWORD"
