#!/usr/bin/env bash
# The real Apache 2.4 + mod_authnz_external (pipe) -> authd-checkpassword --pipe -> authd, and
# the real Radicale 3.1.8 behind that Apache (http_x_remote_user).
# usage: apache_test.sh BIN_DIR SRC_DIR sqlite|mariadb [HTTP_PORT] [AUTHD_PORT] [RADICALE_PORT]
BIN=$1 SRC=$2 KIND=$3 PORT=${4:-18081} HTTP_PORT=${5:-18433} RAD_PORT=${6:-15234}
DIR=/tmp/authd-it-apache-$KIND-$$
. "$SRC/tests/integration/common.sh"
M=/usr/lib/apache2/modules
make_dir
mkdir -p "$DIR"/{htdocs/protected,run,radicale}
echo "public" >"$DIR/htdocs/index.html"; echo "secret page" >"$DIR/htdocs/protected/index.html"
start_authd "$(store_url "$KIND")" "$HTTP_PORT" || exit 1
RAD_PID=
trap 'stop_authd; apache2 -f "$DIR/httpd.conf" -k stop >/dev/null 2>&1; [ -n "$RAD_PID" ] && kill $RAD_PID; sleep 0.3' EXIT

ctl user add carol --hash "$(md5hex carols-pw)" >/dev/null
ctl user add dave --hash "$(md5hex daves-pw)" --service imap >/dev/null

cat >"$DIR/radicale.conf" <<CONF
[server]
hosts = 127.0.0.1:$RAD_PORT
[auth]
type = http_x_remote_user
[storage]
filesystem_folder = $DIR/radicale
[logging]
level = warning
CONF
/usr/bin/python3 -m radicale --config "$DIR/radicale.conf" >"$DIR/radicale.log" 2>&1 &
RAD_PID=$!

cat >"$DIR/httpd.conf" <<CONF
ServerRoot "$DIR"
DefaultRuntimeDir "$DIR/run"
PidFile "$DIR/run/httpd.pid"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
User www-data
Group www-data
ErrorLog "$DIR/error.log"
LogLevel warn authnz_external:debug
LoadModule mpm_event_module       $M/mod_mpm_event.so
LoadModule authn_core_module      $M/mod_authn_core.so
LoadModule authz_core_module      $M/mod_authz_core.so
LoadModule authz_user_module      $M/mod_authz_user.so
LoadModule auth_basic_module      $M/mod_auth_basic.so
LoadModule authnz_external_module $M/mod_authnz_external.so
LoadModule dir_module             $M/mod_dir.so
LoadModule mime_module            $M/mod_mime.so
LoadModule proxy_module           $M/mod_proxy.so
LoadModule proxy_http_module      $M/mod_proxy_http.so
LoadModule headers_module         $M/mod_headers.so
TypesConfig /etc/mime.types
DocumentRoot "$DIR/htdocs"
DirectoryIndex index.html
<Directory "$DIR/htdocs">
  Require all granted
</Directory>
DefineExternalAuth authd pipe "$DIR/authd-checkpassword --pipe --socket $DIR/authd.sock"
<Location "/protected">
  AuthType Basic
  AuthName "authd test"
  AuthBasicProvider external
  AuthExternal authd
  AuthExternalContext web
  Require valid-user
</Location>
<Location "/radicale/">
  AuthType Basic
  AuthName "authd test"
  AuthBasicProvider external
  AuthExternal authd
  AuthExternalContext radicale
  Require valid-user
  ProxyPass http://127.0.0.1:$RAD_PORT/ retry=0
  ProxyPassReverse http://127.0.0.1:$RAD_PORT/
  RequestHeader set X-Script-Name /radicale
  RequestHeader set X-Remote-User expr=%{REMOTE_USER}
</Location>
CONF
apache2 -f "$DIR/httpd.conf" -t >/dev/null 2>&1 || { apache2 -f "$DIR/httpd.conf" -t; exit 1; }
apache2 -f "$DIR/httpd.conf" -DFOREGROUND >"$DIR/apache.stdout" 2>&1 &
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$RAD_PORT/" && break; sleep 0.1; done

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"; }
U=http://127.0.0.1:$PORT
check "no credentials -> 401" 401 "$(code "$U/protected/")"
check "wrong password -> 401" 401 "$(code -u carol:wrong "$U/protected/")"
check "legacy MD5 user, right password -> 200" 200 "$(code -u carol:carols-pw "$U/protected/")"
check "store now holds bcrypt" "bcrypt current" "$(ctl user list | awk '$1=="carol"{print $3, $4}')"
check "and the bcrypt hash lets her in" 200 "$(code -u carol:carols-pw "$U/protected/")"
check "user granted only imap is refused by Apache" 401 "$(code -u dave:daves-pw "$U/protected/")"
check "unknown user -> 401" 401 "$(code -u nobody:x "$U/protected/")"
check "Radicale behind Apache: PROPFIND -> 207" 207 "$(code -X PROPFIND -H 'Depth: 0' -u carol:carols-pw "$U/radicale/carol/")"
check "Radicale behind Apache: wrong password -> 401" 401 "$(code -X PROPFIND -H 'Depth: 0' -u carol:nope "$U/radicale/carol/")"
contains "Apache logs the helper's exit" "AuthExtern authd" "$(cat "$DIR/error.log")"
check "no password or hash in Apache's, Radicale's or authd's logs" 0 "$(cat "$DIR/error.log" "$DIR/radicale.log" "$DIR/authd.log" | grep -c -e carols-pw -e daves-pw -e "$(md5hex carols-pw)" -e '\$2y\$')"
stop_authd
check "authd stopped -> 401 (pipe has no tempfail signal)" 401 "$(code -u carol:carols-pw "$U/protected/")"
contains "… but Apache's log says 111, not a wrong password" "Failed (111)" "$(cat "$DIR/error.log")"
finish "APACHE + RADICALE ($KIND)"
