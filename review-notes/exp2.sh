BIN=$1 SRC=$2 KIND=$3 IMAP_PORT=$4 HTTP_PORT=$5
. /src/review-notes/setup24.sh
ctl user add alice --hash "$(md5hex password)" >/dev/null
at "alice ok" alice password
echo "== SIGSTOP authd 25s"
kill -STOP $AUTHD_PID; s=$(date +%s.%N)
( sleep 25; kill -CONT $AUTHD_PID ) &
at "during stop" alice password
echo "elapsed $(echo "$(date +%s.%N) - $s" | bc 2>/dev/null || python3 -c "print($(date +%s.%N)-$s)")"
o=$(timeout 40 python3 -c '
import socket, sys, time
t=time.time(); s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.recv(4096)
s.sendall(b"a LOGIN alice password\r\n"); print(s.recv(4096).decode().strip(), round(time.time()-t,1))' "$IMAP_PORT" 2>&1); echo "IMAP during stop: $o"
wait
at "after cont" alice password
echo "== 60 concurrent (half wrong)"
for i in $(seq 1 60); do
  if [ $((i%2)) = 0 ]; then p=password; else p=wrong; fi
  ( timeout 120 "${C[@]}" auth test -x service=imap -x no-penalty alice $p >/dev/null 2>&1; echo "$p $?" ) &
done > $DIR/conc.out; wait
sort $DIR/conc.out | uniq -c
echo "== 60 concurrent IMAP logins, no rip (same 127.0.0.1)"
for i in $(seq 1 30); do ( curl -sS --max-time 60 "imap://127.0.0.1:$IMAP_PORT/" -u alice:password >/dev/null 2>&1; echo "ok $?" ) & done > $DIR/c2.out; wait
sort $DIR/c2.out | uniq -c
grep -c 'queue\|503\|429' $DIR/authd.log
grep -i 'warn\|error\|fatal' $DIR/dovecot.log | sort | uniq -c | sort -rn | head -10
