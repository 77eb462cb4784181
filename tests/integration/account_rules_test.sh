#!/usr/bin/env bash
# What an account allows is what the operator meant (issue 13), through the real daemon on SQLite
# and MariaDB: revoking the last grant closes the account; a password longer than bcrypt's 72
# bytes survives the migration at full strength (login upgrade and wrap-legacy); " bob" is never a
# second bob; NFD finds the NFC account; rehashes keep password_changed_at.
# usage: account_rules_test.sh BIN_DIR SRC_DIR sqlite|mariadb [HTTP_PORT]
BIN=$1 SRC=$2 KIND=$3 HTTP_PORT=${4:-18458}
DIR=/tmp/authd-it-rules-$KIND-$$
. "$SRC/tests/integration/common.sh"
make_dir
start_authd "$(store_url "$KIND")" "$HTTP_PORT" || exit 1
trap 'stop_authd; rm -rf "$DIR"' EXIT
U=http://127.0.0.1:$HTTP_PORT
auth() { # auth USER PASSWORD [SERVICE] -> HTTP status (password as base64: any bytes)
  curl -s -o "$DIR/body" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
    --data-binary "{\"username\":$(printf '%s' "$1" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'),\"password_base64\":\"$(printf '%s' "$2" | base64 -w0)\",\"service\":\"${3:-imap}\"}" "$U/v1/auth"
}
scheme_of() { ctl user show "$1" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["scheme"])'; }
field_of() { ctl user show "$1" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# Grants: the last revoke leaves no service, never every service.
ctl user add dave --hash "$(md5hex daves-pw)" --service imap >/dev/null
check "imap-only account logs in on imap" 200 "$(auth dave daves-pw imap)"
check "… not on nextcloud" 403 "$(auth dave daves-pw nextcloud)"
ctl user revoke dave imap >/dev/null
for s in imap nextcloud web smtp; do check "last grant revoked: $s refused" 403 "$(auth dave daves-pw "$s")"; done
check "user list says none" none "$(ctl user list | awk -F'\t' '$1=="dave"{print $5}')"
ctl user grant dave all >/dev/null
check "grant all: every service again" 200 "$(auth dave daves-pw web)"

# Long passwords: MD5 of 73/100/1024 bytes -> argon2id at login, the 72-byte prefix refused after.
for len in 73 100 1024; do
  pw="$(head -c $((len - 1)) /dev/zero | tr '\0' a)z"
  ctl user add "long$len" --hash "$(md5hex "$pw")" >/dev/null
  changed=$(field_of "long$len" password_changed_at)
  sleep 1.1
  check "$len-byte MD5 password logs in" 200 "$(auth "long$len" "$pw")"
  contains "… and is upgraded" '"upgraded":true' "$(cat "$DIR/body")"
  check "… to argon2id, not bcrypt" argon2id "$(scheme_of "long$len")"
  check "… password_changed_at unchanged by the upgrade" "$changed" "$(field_of "long$len" password_changed_at)"
  check "… logs in again" 200 "$(auth "long$len" "$pw")"
  check "… its first 72 bytes alone are refused" 401 "$(auth "long$len" "${pw:0:72}")"
  check "… another tail is refused" 401 "$(auth "long$len" "${pw:0:72}$(head -c $((len - 72)) /dev/zero | tr '\0' b)")"
done
# {PLAIN} through wrap-legacy
pw100="$(head -c 99 /dev/zero | tr '\0' c)z"
printf 'plain100:{PLAIN}%s\n' "$pw100" >"$DIR/plain.htpasswd"
ctl import --format htpasswd "$DIR/plain.htpasswd" >/dev/null
ctl wrap-legacy >/dev/null
check "wrap-legacy: a 100-byte {PLAIN} becomes argon2id" argon2id "$(scheme_of plain100)"
check "… logs in" 200 "$(auth plain100 "$pw100")"
check "… the first 72 bytes are refused" 401 "$(auth plain100 "${pw100:0:72}")"

# Names: white space and invisible characters never reach bob; NFD finds the NFC account.
ctl user add bob --hash "$(md5hex bobs-pw)" >/dev/null
for spelling in " bob" "bob " "bob	" "$(printf 'bob\xc2\xa0')" "$(printf 'b\xe2\x80\x8bob')"; do
  check "'$spelling' is not bob (JSON)" 401 "$(auth "$spelling" bobs-pw)"
  check "'$spelling' is not bob (Basic)" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u "$spelling:bobs-pw" "$U/v1/basic")"
  check "'$spelling' cannot be added" 2 "$(ctl user add "$spelling" --hash "$(md5hex x)" >/dev/null 2>&1; echo $?)"
done
check "BOB is bob" 200 "$(auth BOB bobs-pw)"
ctl user add "$(printf 'jose\xcc\x81')" --hash "$(md5hex joses-pw)" >/dev/null
check "NFC spelling logs in to the account added in NFD" 200 "$(auth "$(printf 'jos\xc3\xa9')" joses-pw)"
hdr=$(curl -s -D - -o /dev/null -u "$(printf 'jose\xcc\x81'):joses-pw" "$U/v1/basic" | grep -i '^remote-user:' | tr -d '\r')
check "Remote-User carries the NFC name" "Remote-User: $(printf 'jos\xc3\xa9')" "$hdr"
check "a name with ':' cannot be added" 2 "$(ctl user add 'a:b' --hash "$(md5hex x)" >/dev/null 2>&1; echo $?)"
check "authd still serves" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")"
finish "ACCOUNT RULES ($KIND)"
