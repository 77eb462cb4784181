# TCP url mode with authd bearer_token set but token missing/wrong in lua_settings
BIN=$1 SRC=$2 KIND=$3 IMAP_PORT=$4 HTTP_PORT=$5
export LUA_SETTINGS_SED="s|socket = .*|url = http://127.0.0.1:$HTTP_PORT|"
. /src/review-notes/setup24.sh
# restart authd with a bearer token
stop_authd; sed -i '/^\[http\]/a bearer_token = "tok123"' $DIR/authd.toml; "$BIN/authd" --config "$DIR/authd.toml" >>"$DIR/authd.log" 2>&1 & AUTHD_PID=$!
sleep 1
ctl user add alice --hash "$(md5hex password)" >/dev/null
grep -A3 lua_settings $DIR/authd-dovecot24.conf | head -4
at "tcp, no token in lua: right pw" alice password
at "tcp, no token in lua: wrong pw" alice wrong
out=$(timeout 30 "${C[@]}" user alice 2>&1); echo "doveadm user rc=$? $out"
echo "LMTP: $(deliver alice)"
tail -5 $DIR/authd.log
