# The self-service page as deployed: authd's [selfservice] listener behind a real nginx with TLS
# and the shipped contrib/nginx/authd-selfservice.conf (only its upstream port substituted), used
# by a real headless Chromium (Debian's, driven by playwright-core: tests/browser/selfservice.mjs)
# beside the running Dovecot: sign in to a legacy (MD5-crypt) account, change the password (the
# stored hash is bcrypt at once), make an app password and log in over IMAP with it, revoke it and
# see IMAP refuse it. Screenshots go to $AUTHD_ARTIFACTS (default build/artifacts)/selfservice-*.
# Sourced after common.sh; needs authd started with selfservice_toml WEB_PORT in AUTHD_EXTRA.

selfservice_toml() { # selfservice_toml WEB_PORT: the [selfservice] section for start_authd
  printf '[selfservice]\nlisten = ["127.0.0.1:%s"]\nservice = "selfservice"\nmin_password_length = 10\n' "$1"
}

# selfservice_browser_checks IMAP_PORT WEB_PORT NGINX_PORT
selfservice_browser_checks() {
  local imap=$1 web=$2 port=$3 nginx_pid shots out
  local browser_dir="$SRC/tests/browser"
  if [ ! -d "$browser_dir/node_modules/playwright-core" ] || [ ! -x /usr/bin/chromium ]; then
    check "browser test prerequisites (scripts/install-deps.sh: chromium, npm ci in tests/browser)" yes no
    return
  fi
  shots="${AUTHD_ARTIFACTS:-$SRC/build/artifacts}/selfservice-$(. /etc/os-release; echo "$VERSION_CODENAME")"
  mkdir -p "$shots" "$DIR/nginx/tmp"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
      -keyout "$DIR/nginx/key.pem" -out "$DIR/nginx/cert.pem" >/dev/null 2>&1
  sed -e "s|127.0.0.1:8426|127.0.0.1:$web|" "$SRC/contrib/nginx/authd-selfservice.conf" >"$DIR/nginx/authd-selfservice.conf"
  cat >"$DIR/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log;
events { worker_connections 64; }
http {
  access_log $DIR/nginx/access.log;
  client_body_temp_path $DIR/nginx/tmp; proxy_temp_path $DIR/nginx/tmp; fastcgi_temp_path $DIR/nginx/tmp;
  uwsgi_temp_path $DIR/nginx/tmp; scgi_temp_path $DIR/nginx/tmp;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $DIR/nginx/cert.pem;
    ssl_certificate_key $DIR/nginx/key.pem;
    include $DIR/nginx/authd-selfservice.conf;
  }
}
NGINX
  "$(command -v nginx || echo /usr/sbin/nginx)" -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" >>"$DIR/nginx/stdout" 2>&1 &
  nginx_pid=$!
  for _ in $(seq 1 100); do curl -sk -o /dev/null "https://127.0.0.1:$port/account/" && break; sleep 0.05; done

  ctl user add gwen --hash "$(openssl passwd -1 gwens-old-pw)" >/dev/null
  check "a legacy (md5-crypt) account to migrate" 1 "$(ctl user show gwen | grep -c md5)"
  out=$(cd "$browser_dir" && BASE="https://127.0.0.1:$port/account/" USER_NAME=gwen OLD_PW=gwens-old-pw \
        NEW_PW='gwens new pässword' IMAP_PORT=$imap SHOTS="$shots" timeout 180 node selfservice.mjs 2>&1)
  check "the browser session (tests/browser/selfservice.mjs) passes" 0 $?
  printf '%s\n' "$out" | sed 's/^/    /'
  out=$(ctl user show gwen)
  contains "after the page: the stored hash is bcrypt" "bcrypt" "$out"
  check "... and no longer md5-crypt" 0 "$(printf '%s' "$out" | grep -c md5)"
  if [ -f "$DIR/authd.db" ]; then # SQLite runs (the event itself is in test_web for every store)
    check "the password change is an event by selfservice" 1 \
        "$(sqlite3 "$DIR/authd.db" "SELECT COUNT(*) FROM events WHERE username = 'gwen' AND kind = 'password_change' AND actor = 'selfservice'")"
  fi
  check "no password of the page in authd's log" 0 "$(grep -c -e 'gwens' "$DIR/authd.log")"
  check "no password of the page in nginx's logs" 0 "$(cat "$DIR"/nginx/*.log | grep -c -e 'gwens')"
  check "screenshots kept" yes "$([ "$(ls "$shots"/*.png 2>/dev/null | wc -l)" -ge 6 ] && echo yes || echo no)"
  kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null
}
