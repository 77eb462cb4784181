#!/usr/bin/env bash
# Wrong-password answer times per kind of account (the figure of bench/RESULTS.md §8), against a
# Release authd on SQLite at target bcrypt cost 10, throttling off: median of 31 sequential
# POST /v1/auth each. Prints one Markdown table row (bench/run.sh puts it into §8).
#   bash bench/timing.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD_DIR:-build-bench}}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DAUTHD_BUILD_TESTS=OFF -DAUTHD_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 >/dev/null
B=$(pwd)/$BUILD/bin
DIR=$(mktemp -d /tmp/authd-timing.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT
export AUTHD_CONFIG=/nonexistent
cat >"$DIR/authd.toml" <<TOML
[store]
url = "sqlite://$DIR/authd.db"
[policy]
bcrypt_cost = 10
[http]
listen = ["127.0.0.1:18510"]
[throttle]
enabled = false
[daemon]
log_level = "warn"
TOML
CTL=("$B/authctl" --config "$DIR/authd.toml")
"${CTL[@]}" db migrate >/dev/null
"${CTL[@]}" user add t-legacy --hash "$(printf 'bench-pw' | md5sum | cut -d' ' -f1)" >/dev/null
"${CTL[@]}" user add t-weak --hash "$(printf 'bench-pw' | "$B/authctl" hash new --cost 8)" >/dev/null
"${CTL[@]}" user add t-current --hash "$(printf 'bench-pw' | "$B/authctl" hash new --cost 10)" >/dev/null
"${CTL[@]}" user add t-disabled --hash "$(printf 'bench-pw' | "$B/authctl" hash new --cost 10)" --disabled >/dev/null
"$B/authd" --config "$DIR/authd.toml" >"$DIR/authd.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18510/healthz >/dev/null && break; sleep 0.05; done
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
wrong_ms() { for _ in $(seq 1 31); do curl -s -o /dev/null -w '%{time_total}\n' -d "{\"username\":\"$1\",\"password\":\"wrong-pw\"}" http://127.0.0.1:18510/v1/auth; done | median | awk '{printf "%.2f", $1*1000}'; }
wrong_ms t-nobody >/dev/null # warm-up: the dummy hash and its measured cost
U=$(wrong_ms t-nobody) D=$(wrong_ms t-disabled) L=$(wrong_ms t-legacy) W=$(wrong_ms t-weak) C=$(wrong_ms t-current)
S=$(printf '%s\n' "$U" "$D" "$L" "$W" "$C" | sort -n | awk 'NR==1{min=$1} {max=$1} END{printf "%.1f", (max-min)/min*100}')
echo "| $U ms | $D ms | $L ms | $W ms | $C ms | $S % |"
