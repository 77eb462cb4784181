#!/usr/bin/env bash
# No Docker engine runs on CI machines: validate what can be validated without one.
# 1. docker/compose.yaml with Debian's docker-compose (v1) `config -q`;
# 2. every file the Dockerfiles COPY from the build context exists;
# 3. every package the runtime image installs exists in Debian 12 (apt-cache).
SRC=$1
. "$SRC/tests/integration/common.sh"
out=$(docker-compose -f "$SRC/docker/compose.yaml" config -q 2>&1); check "compose.yaml is valid (docker-compose config -q)" 0 $?
[ -n "$out" ] && echo "$out"
for f in "$SRC"/docker/Dockerfile*; do
  while read -r src; do
    [ -e "$SRC/$src" ]; check "$(basename "$f"): COPY source $src exists" 0 $?
  done < <(grep -E '^COPY ' "$f" | grep -v -- '--from' | awk '{for (i = 2; i < NF; i++) print $i}')
done
if ! apt-cache show libc6 >/dev/null 2>&1; then
  echo "skip runtime package check: no apt lists on this machine (run apt-get update)"
else
for p in $(sed -n '/^FROM debian:bookworm-slim/,$p' "$SRC/docker/Dockerfile" | grep -oE 'lib[a-z0-9.+-]+[0-9][a-z0-9.+-]*|curl|ca-certificates' | sort -u); do
  apt-cache show "$p" >/dev/null 2>&1; check "runtime package $p exists" 0 $?
done
fi
finish "DOCKER FILES"
