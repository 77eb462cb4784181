#!/usr/bin/env bash
# Try authd on a fresh Debian 12 machine, as root: installs what is missing, builds a Release,
# starts authd on the embedded SQLite store with a demo account that still holds an MD5 hash,
# logs in once (the hash becomes bcrypt) and prints how to try it yourself.
# authd keeps running in the background; stop it with the command printed at the end.
# Env: BUILD_DIR (build), DEMO_DIR (/tmp/authd-demo), DEMO_PORT (8425).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
DEMO_DIR=${DEMO_DIR:-/tmp/authd-demo}
DEMO_PORT=${DEMO_PORT:-8425}
bash scripts/install-deps.sh build
command -v curl >/dev/null || apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 curl
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAUTHD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2
BIN=$ROOT/$BUILD_DIR/bin

mkdir -p "$DEMO_DIR"
if [ -f "$DEMO_DIR/authd.pid" ] && kill "$(cat "$DEMO_DIR/authd.pid")" 2>/dev/null; then
  sleep 0.5 # an earlier demo's authd
fi
rm -f "$DEMO_DIR/authd.db"*
cat >"$DEMO_DIR/authd.toml" <<TOML
[store]
url = "sqlite://$DEMO_DIR/authd.db"
[policy]
target = "bcrypt"
bcrypt_cost = 12
[http]
listen = ["127.0.0.1:$DEMO_PORT", "unix:$DEMO_DIR/authd.sock"]
TOML
CTL=("$BIN/authctl" --config "$DEMO_DIR/authd.toml")
MD5=$(printf '%s' demo-password | md5sum | cut -d' ' -f1)   # as an old web app stored it
"${CTL[@]}" user add demo --hash "$MD5" >/dev/null
setsid "$BIN/authd" --config "$DEMO_DIR/authd.toml" >"$DEMO_DIR/authd.log" 2>&1 < /dev/null &
echo $! >"$DEMO_DIR/authd.pid"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$DEMO_PORT/healthz" >/dev/null && break; sleep 0.1; done

echo
echo "authd is running (pid $(cat "$DEMO_DIR/authd.pid")) on 127.0.0.1:$DEMO_PORT and unix:$DEMO_DIR/authd.sock,"
echo "store $DEMO_DIR/authd.db, log $DEMO_DIR/authd.log."
echo
echo "The demo account 'demo' (password 'demo-password') still holds an MD5 hash:"
"${CTL[@]}" audit --all | sed 's/^/  /'
echo
echo "One login over HTTP Basic (what Nextcloud and reverse proxies do):"
echo "  \$ curl -u demo:demo-password http://127.0.0.1:$DEMO_PORT/v1/basic"
curl -s -o /dev/null -w '  -> HTTP %{http_code}\n' -u demo:demo-password "http://127.0.0.1:$DEMO_PORT/v1/basic"
echo
echo "…and the account has moved to bcrypt:"
echo "  \$ $BIN/authctl --config $DEMO_DIR/authd.toml audit --all"
"${CTL[@]}" audit --all | sed 's/^/  /'
echo
echo "Try it yourself:"
echo "  curl -u demo:demo-password http://127.0.0.1:$DEMO_PORT/v1/basic          # 200, Remote-User: demo"
echo "  curl -u demo:wrong http://127.0.0.1:$DEMO_PORT/v1/basic                  # 401"
echo "  curl -d '{\"username\":\"demo\",\"password\":\"demo-password\"}' http://127.0.0.1:$DEMO_PORT/v1/auth"
echo "  curl --unix-socket $DEMO_DIR/authd.sock -u demo:demo-password http://localhost/v1/basic"
echo "  $BIN/authctl --config $DEMO_DIR/authd.toml audit --all"
echo "  curl -s http://127.0.0.1:$DEMO_PORT/metrics | grep authd_"
echo "Stop it:  kill \$(cat $DEMO_DIR/authd.pid)"
