BIN=$1 SRC=$2 KIND=$3 IMAP_PORT=$4 HTTP_PORT=$5
. /src/review-notes/setup24.sh
md5b() { printf "$1" | md5sum | cut -d' ' -f1; }
ctl user add alice --hash "$(md5hex password)" --home "$DIR/home/alice" --uid "$NOBODY" --gid "$NOGROUP" >/dev/null
ctl user add bob --hash "$(md5hex password)" --service smtp >/dev/null
ctl user add erin --hash "$(md5hex password)" --service imap >/dev/null
ctl user add latin --hash "$(md5b 'p\xe4ss\xe9')" >/dev/null
ctl user add utf --hash "$(md5b 'p\xc3\xa4ss')" >/dev/null
LONG=$(head -c 1000 /dev/zero | tr '\0' 'x'); ctl user add long --hash "$(md5hex "$LONG")" >/dev/null
L1024=$(head -c 1024 /dev/zero | tr '\0' 'y'); ctl user add l1024 --hash "$(md5hex "$L1024")" >/dev/null
L1025=$(head -c 1025 /dev/zero | tr '\0' 'z'); ctl user add l1025 --hash "$(md5hex "$L1025")" >/dev/null
ctl user add quote --hash "$(md5hex 'a"b\c/d')" >/dev/null
ctl user add "jös" --hash "$(md5hex password)" 2>&1 | head -2
ctl user add "sp ace" --hash "$(md5hex password)" 2>&1 | head -2
ctl user add 'q"uo' --hash "$(md5hex password)" 2>&1 | head -2
ctl user add 'ЯЮ@example.org' --hash "$(md5hex password)" 2>&1 | head -2
ctl user list
echo "== passwords"
at "alice ok" alice password
at "alice wrong" alice wrong
at "alice empty" alice ''
at "latin-1 pw" latin "$(printf 'p\xe4ss\xe9')"
at "latin-1 pw wrong (utf8 form)" latin "$(printf 'p\xc3\xa4ss\xc3\xa9')"
at "utf8 pw" utf "$(printf 'p\xc3\xa4ss')"
at "1000-byte pw" long "$LONG"
at "1024-byte pw" l1024 "$L1024"
at "1025-byte pw" l1025 "$L1025"
at 'pw with quote/backslash' quote 'a"b\c/d'
at 'pw injection' alice 'x","username":"bob'
echo "== names"
at "jös" "jös" password
at "JÖS upper" "JÖS" password
at "sp ace" "sp ace" password
at 'q"uo' 'q"uo' password
at 'ЯЮ@example.org' 'ЯЮ@example.org' password
at 'name inj' 'alice","password":"password' password
at 'name tab' "$(printf 'ali\tce')" password
at 'name newline' "$(printf 'alice\nx')" password
at 'name latin1' "$(printf 'j\xf6s')" password
at 'name VT' "$(printf 'al\vice')" password
at 'ALICE' ALICE password
echo "== grants via auth login / userdb / LMTP"
for u in alice bob erin; do
  out=$(timeout 60 "${C[@]}" auth login -x service=imap -x no-penalty $u password 2>&1); echo "auth login imap $u rc=$? $(echo "$out"|tail -2|tr '\n' ' ')"
  out=$(timeout 60 "${C[@]}" user $u 2>&1); echo "doveadm user $u rc=$? $(echo "$out"|tail -1)"
  out=$(timeout 60 "${C[@]}" auth lookup $u 2>&1); echo "auth lookup $u rc=$?"
  echo "LMTP $u: $(deliver $u)"
done
echo "LMTP nobody: $(deliver nobody)"
echo "LMTP jös: $(deliver 'jös')"
out=$(curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u erin:password 2>&1); echo "IMAP erin rc=$? $out"
echo "== logs"
grep -n 'auth\|lua\|Warn\|Error' "$DIR/dovecot.log" | grep -v 'auth-worker.*: Debug' | tail -40
echo "-- authd log"; tail -30 "$DIR/authd.log"
echo "== password grep"
grep -c -e 'wrong' -e "$LONG" -e 'x","username' -e 'a"b' "$DIR/authd.log" "$DIR/dovecot.log"
