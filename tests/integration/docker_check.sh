#!/usr/bin/env bash
# No Docker engine runs on CI machines: validate what can be validated without one, against this
# machine's Debian release (the suite runs on Debian 12 and, in scripts/debian13.sh, on 13).
# 1. docker/compose.yaml with Debian's docker-compose (v1) `config -q`;
# 2. every file the Dockerfiles COPY from the build context exists;
# 3. the Dockerfile builds on trixie by default and on this release with DEBIAN_RELEASE;
#    every package its build stage installs exists in this release (apt-cache);
# 4. docker/runtime-packages.sh, run on this build's binaries, names packages of this release
#    (what the runtime stage installs), and the compose example's Dovecot config is one the
#    installed Dovecot accepts when it is the 2.4 of the Dovecot image.
# usage: docker_check.sh SRC_DIR [BIN_DIR]
SRC=$1 BIN=${2:-}
. "$SRC/tests/integration/common.sh"
. /etc/os-release
out=$(docker-compose -f "$SRC/docker/compose.yaml" config -q 2>&1); check "compose.yaml is valid (docker-compose config -q)" 0 $?
[ -n "$out" ] && echo "$out"
for f in "$SRC"/docker/Dockerfile*; do
  while read -r src; do
    [ -e "$SRC/$src" ]; check "$(basename "$f"): COPY source $src exists" 0 $?
  done < <(grep -E '^COPY ' "$f" | grep -v -- '--from' | awk '{for (i = 2; i < NF; i++) print $i}')
done
check "Dockerfile builds on trixie by default" 1 "$(grep -c '^ARG DEBIAN_RELEASE=trixie$' "$SRC/docker/Dockerfile")"
check "both stages follow DEBIAN_RELEASE" 2 "$(grep -cE '^FROM debian:\$\{DEBIAN_RELEASE\}(-slim)?( |$)' "$SRC/docker/Dockerfile")"
if ! apt-cache show libc6 >/dev/null 2>&1; then
  echo "skip package checks: no apt lists on this machine (run apt-get update)"
else
  build_pkgs=$(sed -n '/^FROM debian:${DEBIAN_RELEASE} AS build/,/^WORKDIR/p' "$SRC/docker/Dockerfile" \
    | sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' \
    | grep -vxE 'apt-get|install|rm|rf|update|&&')
  check "build stage names packages" 1 "$([ "$(echo "$build_pkgs" | wc -l)" -gt 10 ] && echo 1)"
  for p in $build_pkgs; do
    apt-cache show "$p" >/dev/null 2>&1; check "build package $p exists in $VERSION_CODENAME" 0 $?
  done
  for p in dovecot-core dovecot-imapd dovecot-lmtpd dovecot-auth-lua lua-json; do
    [ "$VERSION_CODENAME" = trixie ] || break
    apt-cache show "$p" >/dev/null 2>&1; check "Dovecot image package $p exists in trixie" 0 $?
  done
  if [ -n "$BIN" ]; then
    runtime=$(sh "$SRC/docker/runtime-packages.sh" "$BIN/authd" "$BIN/authctl" "$BIN/authd-checkpassword"); check "runtime-packages.sh finds the packages" 0 $?
    contains "… including libsodium and the MariaDB client" "libsodium" "$runtime"
    contains "… (MariaDB Connector/C)" "libmariadb" "$runtime"
    for p in $runtime curl ca-certificates; do
      apt-cache show "$p" >/dev/null 2>&1; check "runtime package $p exists in $VERSION_CODENAME" 0 $?
    done
  fi
fi
case "$(dovecot --version 2>/dev/null)" in
  2.4.*)
    T=$(mktemp -d)
    cp "$SRC/contrib/dovecot/authd.lua" "$T/"
    sed "s|/etc/dovecot/authd.lua|$T/authd.lua|" "$SRC/contrib/dovecot/authd-dovecot24.conf" >"$T/authd-dovecot24.conf"
    sed "s|/etc/dovecot/authd-dovecot24.conf|$T/authd-dovecot24.conf|" "$SRC/docker/dovecot.conf" >"$T/dovecot.conf"
    id vmail >/dev/null 2>&1 || sed -i -e 's/^mail_uid = vmail/mail_uid = nobody/' -e 's/^mail_gid = vmail/mail_gid = nogroup/' "$T/authd-dovecot24.conf"
    out=$(doveconf -c "$T/dovecot.conf" -n 2>&1); check "docker/dovecot.conf is valid for Dovecot 2.4" 0 $?
    [ "$fails" = 0 ] || echo "$out" | tail -5
    rm -rf "$T" ;;
esac
finish "DOCKER FILES"
