# usage: http_abs.sh BIN PORT   -- authd with bearer_token over TCP + socket; absolute-form probes
BIN=$1 PORT=$2 D=/tmp/rev-http-$$
mkdir -p $D
cat > $D/authd.toml <<T
[store]
url = "sqlite://$D/a.db"
[policy]
bcrypt_cost = 5
[http]
listen = ["127.0.0.1:$PORT", "unix:$D/s.sock"]
bearer_token = "tok123"
[throttle]
enabled = false
T
$BIN/authctl --config $D/authd.toml user add alice --hash "$(printf password | md5sum | cut -d' ' -f1)" >/dev/null
$BIN/authd --config $D/authd.toml >$D/log 2>&1 & P=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
req() { # req TARGET BODY [extra curl args]
  local t=$1 b=$2; shift 2
  printf '%-34s %-28s -> %s\n' "$t" "$*" "$(curl -s -o /dev/stdout -w ' [%{http_code}]' --max-time 5 --request-target "$t" -X POST -H 'Content-Type: application/json' -d "$b" "$@" http://127.0.0.1:$PORT/ | tr '\n' ' ')"
}
L='{"username":"alice"}'; U='{"username":"nosuch"}'
for t in /v1/lookup http://x/v1/lookup HTTP://x/v1/lookup http://x:80/v1/lookup 'http://x%2fv1/lookup' //x/v1/lookup 'http:/x/v1/lookup' 'http://x/v1/lookup?y' 'http://@x/v1/lookup' 'http://x/../v1/lookup' '/v1/../v1/lookup' '/v1//lookup' '/v1/lookup/' '/V1/LOOKUP' 'https://x/v1/lookup' 'http://x/v1/lookup#f' '*' 'http://' 'http://x' 'http://x?y' ; do
  req "$t" "$L"
done
echo "-- lookup known vs unknown, no token / wrong token / token"
for a in "" "-H Authorization:Bearer\ wrong" "-H Authorization:Bearer\ tok123" "-H Authorization:bearer\ tok123" "-H Authorization:Bearer\ tok1234"; do
  eval "req http://x/v1/lookup '$L' $a"; eval "req http://x/v1/lookup '$U' $a"
done
echo "-- auth over TCP via absolute form without token"
req http://x/v1/auth '{"username":"alice","password":"password"}'
req http://x/v1/auth '{"username":"alice","password":"password"}' -H 'Authorization: Bearer tok123'
echo "-- socket"
for t in http://authd/v1/lookup /v1/lookup http://authd; do
  printf '%-34s -> %s\n' "sock $t" "$(curl -s -w ' [%{http_code}]' --unix-socket $D/s.sock --request-target "$t" -X POST -d "$L" http://authd/ )"
done
printf 'sock unknown -> %s\n' "$(curl -s -w ' [%{http_code}]' --unix-socket $D/s.sock -X POST -d "$U" http://authd/v1/lookup)"
echo "-- raw oddities"
raw() { python3 - "$PORT" "$1" <<'PY'
import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])));s.settimeout(3)
s.sendall(sys.argv[2].encode('latin-1').decode('unicode_escape').encode('latin-1'))
try: print(repr(s.recv(300)[:160]))
except Exception as e: print("ERR",e)
PY
}
raw 'POST http://x/v1/lookup HTTP/1.0\r\nContent-Length: 20\r\n\r\n{"username":"alice"}'
raw 'POST http://x/v1/lookup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok123\r\nContent-Length: 20\r\n\r\n{"username":"alice"}'
raw 'GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n'
raw 'GET http:///metrics HTTP/1.1\r\nHost: x\r\n\r\n'
raw 'GET http://x/v1/basic/imap HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6cGFzc3dvcmQ=\r\n\r\n'
raw 'GET http://x/v1/basic/..%2fimap HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6cGFzc3dvcmQ=\r\n\r\n'
kill $P; wait $P
echo "-- authd log"; tail -20 $D/log
