#!/usr/bin/env bash
# authctl import and audit on N accounts (default 1,000,000), SQLite and (if given) MariaDB:
# wall time and peak RSS. usage: bench/scale.sh BIN_DIR [N] [MARIADB_URL]
# Needs GNU time (package "time"). Prints a Markdown table.
set -euo pipefail
BIN=$1 N=${2:-1000000} MDB=${3:-}
DIR=$(mktemp -d /tmp/authd-scale.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
/usr/bin/python3 - "$N" >"$DIR/users.htpasswd" <<'PY'
import hashlib, sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    pw = f"pw{i}".encode()
    out.write(f"user{i}:{hashlib.md5(pw).hexdigest()}\n")
PY
measure() { # measure LABEL CMD... -> "| LABEL | seconds | MB |"
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$DIR/t" "$@" >/dev/null 2>"$DIR/err" || { cat "$DIR/err"; return 1; }
  read -r secs kb <"$DIR/t"
  printf '| %s | %s s | %d MB |\n' "$label" "$secs" $((kb / 1024))
}
echo "| step ($N accounts) | wall | peak RSS |"
echo "|---|---|---|"
export AUTHD_CONFIG=/nonexistent
for url in "sqlite://$DIR/authd.db" ${MDB:+"$MDB"}; do
  kind=${url%%:*}
  "$BIN/authctl" --store "$url" db migrate >/dev/null
  measure "$kind: import --format htpasswd" "$BIN/authctl" --store "$url" import --format htpasswd "$DIR/users.htpasswd"
  measure "$kind: audit (table, all legacy)" "$BIN/authctl" --store "$url" audit
  measure "$kind: audit --format json --all" "$BIN/authctl" --store "$url" audit --format json --all
done
