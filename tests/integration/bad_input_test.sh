#!/usr/bin/env bash
# The catalogue of hostile input, sent to every front end of one running authd: oversized,
# truncated, NUL bytes, invalid UTF-8, SQL metacharacters, CR/LF header injection in user names.
# Each gets a clear 4xx / exit code; authd keeps serving; nothing is written to the store.
# usage: bad_input_test.sh BIN_DIR SRC_DIR [HTTP_PORT]
BIN=$1 SRC=$2 HTTP_PORT=${3:-18437}
DIR=/tmp/authd-it-bad-input-$$
. "$SRC/tests/integration/common.sh"
make_dir
start_authd "sqlite://$DIR/authd.db" "$HTTP_PORT" || exit 1
trap 'stop_authd; rm -rf "$DIR"' EXIT
ctl user add alice --hash "$(md5hex password)" >/dev/null
U=http://127.0.0.1:$HTTP_PORT
before=$(sqlite3 "$DIR/authd.db" "SELECT (SELECT COUNT(*) FROM accounts) || '/' || (SELECT COUNT(*) FROM events) || '/' || (SELECT password_hash FROM accounts)")
json() { curl -s -o "$DIR/body" -D "$DIR/headers" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' --data-binary "$1" "$U/v1/auth"; }

check "JSON: not JSON" 400 "$(json '{"username":')"
check "JSON: truncated string" 400 "$(json '{"username":"alice","password":"pass')"
check "JSON: invalid UTF-8 in the user name" 400 "$(json "$(printf '{"username":"al\xc3\x28ice","password":"x"}')")"
check "JSON: NUL in the password" 400 "$(json '{"username":"alice","password":"pass\u0000word"}')"
check "JSON: NUL in the user name" 401 "$(json '{"username":"ali\u0000ce","password":"password"}')"
check "JSON: CR/LF header injection in the user name" 401 "$(json '{"username":"alice\r\nX-Injected: 1","password":"password"}')"
check "… no injected header in the answer" 0 "$(grep -ci 'x-injected' "$DIR/headers")"
check "JSON: SQL metacharacters" 401 "$(json "{\"username\":\"alice' OR '1'='1\",\"password\":\"x' OR '1'='1\"}")"
check "JSON: numbers instead of strings" 400 "$(json '{"username":1,"password":2}')"
check "JSON: 1,100-byte password" 400 "$(json "{\"username\":\"alice\",\"password\":\"$(head -c 1100 /dev/zero | tr '\0' a)\"}")"
check "JSON: 5 KB body" 413 "$(json "{\"username\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}")"
check "JSON: 300-byte user name" 401 "$(json "{\"username\":\"$(head -c 300 /dev/zero | tr '\0' a)\",\"password\":\"x\"}")"
check "JSON: bad password_base64" 400 "$(json '{"username":"alice","password_base64":"!!!"}')"
check "JSON: service with a space" 400 "$(json '{"username":"alice","password":"password","service":"web mail"}')"
basic() { curl -s -o /dev/null -D "$DIR/headers" -w '%{http_code}' --max-time 10 -H "Authorization: $1" "$U/v1/basic"; }
check "Basic: not base64" 401 "$(basic 'Basic @@@')"
check "Basic: no colon" 401 "$(basic "Basic $(printf alice | base64)")"
check "Basic: CR/LF in the user name" 401 "$(basic "Basic $(printf 'alice\r\nRemote-User: root:password' | base64 -w0)")"
check "… no Remote-User header" 0 "$(grep -ci '^remote-user' "$DIR/headers")"
check "Basic: NUL in the password" 401 "$(basic "Basic $(printf 'alice:pass\0word' | base64 -w0)")"
check "Basic: 9 KB header (no colon inside)" 401 "$(basic "Basic $(head -c 9000 /dev/zero | tr '\0' a)")"
check "Basic: 20 KB header (past max_header_bytes)" 431 "$(basic "Basic $(head -c 20000 /dev/zero | tr '\0' a)")"
check "unknown path" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/nothing")"
check "wrong method" 404 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$U/v1/auth")"

CP="$DIR/authd-checkpassword"
fd3() { printf "$1" | "$CP" --socket "$DIR/authd.sock" /bin/true 3<&0 2>/dev/null; echo $?; }
check "fd 3: CR/LF in the user name" 1 "$(fd3 'alice\r\nx\0password\0\0')"
check "fd 3: SQL metacharacters" 1 "$(fd3 "alice' OR '1'='1\\0x\\0\\0")"
check "fd 3: invalid UTF-8" 1 "$(fd3 'al\303\050ice\0password\0\0')"
check "fd 3: no terminator" 2 "$(fd3 'alice\0password')"
check "fd 3: oversized" 2 "$(fd3 "$(head -c 700 /dev/zero | tr '\0' a)\\0x\\0\\0")"
check "pipe: three lines" 2 "$(printf 'alice\npassword\nmore\n' | "$CP" --pipe --socket "$DIR/authd.sock" 2>/dev/null; echo $?)"
check "pipe: invalid UTF-8 user" 1 "$(printf 'al\303\050ice\npassword\n' | "$CP" --pipe --socket "$DIR/authd.sock" 2>/dev/null; echo $?)"
check "pipe: NUL" 2 "$(printf 'alice\npass\0word\n' | "$CP" --pipe --socket "$DIR/authd.sock" 2>/dev/null; echo $?)"
check "authctl: CR in a user name" 2 "$(ctl user add "$(printf 'bad\rname')" --hash "$(md5hex x)" 2>/dev/null; echo $?)"

check "authd still serving" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")"
check "and still logs alice in" 200 "$(json '{"username":"alice","password":"password"}')"
after=$(sqlite3 "$DIR/authd.db" "SELECT (SELECT COUNT(*) FROM accounts) || '/' || (SELECT COUNT(*) FROM events WHERE kind <> 'upgrade')")
check "nothing written by the hostile requests" "$(echo "$before" | cut -d/ -f1-2)" "$after"
finish "BAD INPUT CATALOGUE"
