#!/usr/bin/env bash
# The README's nginx `auth_request` snippet, run by a real nginx in front of a started authd and
# a tiny backend: right password -> 200 and the backend sees Remote-User; wrong -> 401; a client
# that writes a new X-Forwarded-For into every request is still slowed as one source (authd takes
# the entry nginx appended, not the client's); a store outage (authd's 503) and authd stopped reach
# the browser as 500, never 401.
#
# usage: nginx_test.sh BIN_DIR SRC_DIR [AUTHD_PORT NGINX_PORT BACKEND_PORT]
#
# The snippet is taken verbatim from README.md: the first ```nginx fence after the heading
# "### nginx `auth_request`". Only its two ports are substituted (sed): 127.0.0.1:8425 (authd)
# -> 127.0.0.1:AUTHD_PORT and 127.0.0.1:8080 (the backend) -> 127.0.0.1:BACKEND_PORT.
#
# Addresses: nginx listens on 127.0.0.2:NGINX_PORT; the "browser" (curl --interface) comes from
# 127.0.0.3 (a second client from 127.0.0.4); nginx reaches authd from 127.0.0.1. authd trusts
# only 127.0.0.1/32, so in "FAKE, 127.0.0.3" (what $proxy_add_x_forwarded_for sends) it must
# skip nothing but nginx's own hop and take 127.0.0.3.
BIN=$1 SRC=$2 AUTHD_PORT=${3:-18441} NGINX_PORT=${4:-18442} BACKEND_PORT=${5:-18443}
DIR=/tmp/authd-it-nginx-$$
. "$SRC/tests/integration/common.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "FAIL nginx is not installed (scripts/install-deps.sh installs it)"; exit 1; }
make_dir
mkdir -p "$DIR/nginx/tmp"
BACKEND_PID= NGINX_PID=
trap 'stop_authd; [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null; [ -n "$BACKEND_PID" ] && kill "$BACKEND_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT

# authd: throttle on, short penalties; only nginx's own address (127.0.0.1) is a trusted proxy.
start() { # start STORE_URL
  cat >"$DIR/authd.toml" <<TOML
[store]
url = "$1"
timeout_ms = 1000
[policy]
bcrypt_cost = 4
[http]
listen = ["127.0.0.1:$AUTHD_PORT", "unix:$DIR/authd.sock"]
trusted_proxies = ["127.0.0.1/32"]
[throttle]
initial_ms = 500
max_ms = 2000
TOML
  "$BIN/authd" --config "$DIR/authd.toml" >>"$DIR/authd.log" 2>&1 &
  AUTHD_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$AUTHD_PORT/healthz" >/dev/null && return 0; sleep 0.05; done
  echo "FAIL authd did not start:"; cat "$DIR/authd.log"; exit 1
}
start "sqlite://$DIR/authd.db"
printf 'alice-pw\n' | ctl user add alice >/dev/null
ctl user add carol --hash "$(md5hex carol-pw)" >/dev/null

# The backend: answers 200 and records the Remote-User header nginx handed it.
cat >"$DIR/backend.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        user = self.headers.get("Remote-User", "")
        with open(sys.argv[2], "a") as f:
            f.write(f"{self.path} Remote-User={user}\n")
        body = f"backend: user={user}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$DIR/backend.py" "$BACKEND_PORT" "$DIR/backend.log" &
BACKEND_PID=$!

# nginx: the README snippet inside a server{} of a minimal nginx.conf.
snippet=$(awk '/^### nginx `auth_request`/ {h=1; next} h && !f && /^```nginx/ {f=1; next} f && /^```/ {exit} f' "$SRC/README.md")
contains "README has the nginx auth_request snippet" "auth_request" "$snippet"
snippet=$(printf '%s\n' "$snippet" | sed -e "s/127\.0\.0\.1:8425/127.0.0.1:$AUTHD_PORT/g" -e "s/127\.0\.0\.1:8080/127.0.0.1:$BACKEND_PORT/g")
cat >"$DIR/nginx/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log info;
events { worker_connections 256; }
http {
  access_log $DIR/nginx/access.log;
  client_body_temp_path $DIR/nginx/tmp/body;
  proxy_temp_path $DIR/nginx/tmp/proxy;
  fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
  scgi_temp_path $DIR/nginx/tmp/scgi;
  server {
    listen 127.0.0.2:$NGINX_PORT;
$snippet
  }
}
CONF
"$NGINX" -t -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" >"$DIR/nginx/t.log" 2>&1
check "nginx accepts the README snippet (nginx -t)" 0 $? || cat "$DIR/nginx/t.log"
"$NGINX" -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" 2>>"$DIR/nginx/error.log" &
NGINX_PID=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.2:$NGINX_PORT/" && curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$BACKEND_PORT/ready" && break
  sleep 0.05
done

# get FROM USER:PASSWORD [X-Forwarded-For] -> "CODE SECONDS"; the browser's own address is FROM.
get() {
  local xff=()
  [ -n "${3:-}" ] && xff=(-H "X-Forwarded-For: $3")
  curl -s -o "$DIR/body" -D "$DIR/headers" -w '%{http_code} %{time_total}' --max-time 20 --interface "$1" \
    -u "$2" "${xff[@]}" "http://127.0.0.2:$NGINX_PORT/app/page"
}
code() { echo "${1%% *}"; }
slow() { awk -v t="${1#* }" 'BEGIN { exit !(t >= 0.45) }'; } # held >= ~initial_ms
B=127.0.0.3

r=$(get $B alice:alice-pw); check "right password through nginx: 200" 200 "$(code "$r")"
contains "… the backend saw Remote-User: alice" "Remote-User=alice" "$(cat "$DIR/backend.log" 2>/dev/null)"
contains "… and answered the page" "backend: user=alice" "$(cat "$DIR/body")"
r=$(get $B carol:carol-pw); check "MD5 account through nginx: 200" 200 "$(code "$r")"
seen=$(wc -l <"$DIR/backend.log")
r=$(get $B alice:wrong "198.51.100.9"); check "wrong password through nginx: 401" 401 "$(code "$r")"
contains "… with WWW-Authenticate for the browser" "WWW-Authenticate: Basic" "$(cat "$DIR/headers")"
check "… and the request never reached the backend" "$seen" "$(wc -l <"$DIR/backend.log")"

# 127.0.0.3 has a fresh failure now; clear it with a success (held first, at most 500 ms).
r=$(get $B alice:alice-pw); check "right password after a typo from the same browser: 200 (not 500)" 200 "$(code "$r")"

# A brute-forcer from 127.0.0.3 writes a new X-Forwarded-For into each request (made-up names,
# so only the per-source penalty applies): attempts 2..5 are held or refused (429 -> nginx 500).
results=()
for i in 1 2 3 4 5; do results+=("$(get $B "ghost$i:guess$i" "203.0.113.$((RANDOM % 250 + 1))")"); done
bad=0; for r in "${results[@]:1}"; do { [ "$(code "$r")" = 500 ] || slow "$r"; } || bad=$((bad + 1)); done
check "rotated fake X-Forwarded-For from one browser: attempts 2..5 slowed as one source" 0 "$bad" \
  || echo "     answers: ${results[*]}"
check "… and none of them got anything but 401 or 500" "" "$(for r in "${results[@]}"; do c=$(code "$r"); [ "$c" = 401 ] || [ "$c" = 500 ] || echo "$c"; done)"
# The other real client (127.0.0.4) is its own source: not slowed by 127.0.0.3's failures.
r=$(get 127.0.0.4 alice:alice-pw)
if [ "$(code "$r")" = 200 ] && ! slow "$r"; then check "another browser (127.0.0.4) meanwhile: right password 200 at once" 200 200
else check "another browser (127.0.0.4) meanwhile: right password 200 at once" "200 fast" "$r"; fi
r=$(get 127.0.0.4 nobody:wrong "203.0.113.77")
if [ "$(code "$r")" = 401 ] && ! slow "$r"; then check "… and its wrong password 401 at once (not 127.0.0.3's penalty)" 401 401
else check "… and its wrong password 401 at once (not 127.0.0.3's penalty)" "401 fast" "$r"; fi
contains "authd logged 127.0.0.3 as the client, not a forwarded fake" "127.0.0.3" "$(cat "$DIR/authd.log")"
check "authd never logged the fake X-Forwarded-For entries as the client" 0 "$(grep -c '203\.0\.113\.' "$DIR/authd.log")"

# The store down: authd answers 503; nginx turns it into 500, never 401.
stop_authd
start "mariadb://authd:nothing@127.0.0.1:1/none"
check "store down: authd itself answers 503" 503 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u alice:alice-pw "http://127.0.0.1:$AUTHD_PORT/api/authz/auth-request?service=web")"
r=$(get 127.0.0.5 alice:alice-pw); check "store down: the browser gets 500 (right password)" 500 "$(code "$r")"
r=$(get 127.0.0.5 alice:wrong); check "store down: the browser gets 500 (wrong password), never 401" 500 "$(code "$r")"
stop_authd
r=$(get 127.0.0.5 alice:alice-pw); check "authd stopped: the browser gets 500, never 401" 500 "$(code "$r")"
finish "NGINX AUTH_REQUEST"
