#!/usr/bin/env bash
# The whole suite again on Debian 13 ("trixie"), in a debootstrap'ed system beside this Debian 12
# machine (the machine's own apt archive also serves trixie). As root:
#   1. makes (or reuses) a minbase trixie root in $AUTHD_DEBIAN13_ROOT
#      (default /var/cache/authd-ci/debian13; kept between runs where the machine keeps it);
#   2. installs the build and test dependencies in it (scripts/install-deps.sh, with the network);
#   3. runs scripts/test.sh in it (SKIP_INSTALL=1) inside private mount, pid and network
#      namespaces: the mounts and every process started inside end with the run, and its
#      loopback is its own, so its ports never clash with the host's.
# The source tree is bind-mounted at /src; the build goes to build-debian13/.
# Env: AUTHD_DEBIAN13_ROOT, AUTHD_DEBIAN13_MIRROR (default: the host's own Debian archive URL),
#      DEBIAN13_CMD (default: the suite) to run something else inside, e.g. a shell.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = trixie ]; then
  echo "debian13: this machine is Debian 13 already (scripts/test.sh ran the suite on it)"
  exit 0
fi
ROOT=${AUTHD_DEBIAN13_ROOT:-/var/cache/authd-ci/debian13}
CMD=${DEBIAN13_CMD:-cd /src && BUILD_DIR=build-debian13 SKIP_INSTALL=1 bash scripts/test.sh}

# The host's archive URLs (deb822 .sources, classic lines with or without [options], or a
# mirror+file: list), never a hard-coded host.
host_uri() { # host_uri debian|debian-security
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{for (i = 2; i <= NF; i++) print $i}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(https?|mirror\+file):/) {print $i; break}}'
  } | while read -r uri; do
    case "$uri" in
      mirror+file:*) grep -hE '^https?://' "${uri#mirror+file:}" 2>/dev/null | awk '{print $1}' | head -n1 ;;
      *) echo "$uri" ;;
    esac
  done | sed 's|/*$||' | grep -E "/$1\$" | head -n1 || true
}
MIRROR=${AUTHD_DEBIAN13_MIRROR:-$(host_uri debian)}
SECURITY=$(host_uri debian-security)
[ -n "$MIRROR" ] || { echo "debian13: no Debian archive URL in the host's apt sources" >&2; exit 2; }
SECURITY=${SECURITY:-${MIRROR%/debian}/debian-security}

need() {
  command -v "$1" >/dev/null && return 0
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "$2"
}
need debootstrap debootstrap
need unshare util-linux
need ip iproute2

if [ ! -e "$ROOT/.authd-base" ]; then
  echo "debian13: debootstrap trixie from $MIRROR into $ROOT"
  rm -rf "$ROOT.tmp"; mkdir -p "$(dirname "$ROOT")"
  debootstrap --variant=minbase trixie "$ROOT.tmp" "$MIRROR" >"$(dirname "$ROOT")/debootstrap.log" 2>&1 \
    || { tail -20 "$(dirname "$ROOT")/debootstrap.log"; exit 1; }
  rm -rf "$ROOT"; mv "$ROOT.tmp" "$ROOT"
  touch "$ROOT/.authd-base"
fi
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<SRCS
Types: deb
URIs: $MIRROR
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRCS
# Packages never start services at install time; the tests start what they need.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"; chmod 755 "$ROOT/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$ROOT/src"

# in_root [--net] COMMAND: COMMAND in the chroot, in its own mount and pid namespaces (and with
# --net its own network namespace with only loopback up).
in_root() {
  local net=()
  if [ "$1" = --net ]; then net=(--net); shift; fi
  unshare --mount --propagation private --pid --fork --kill-child "${net[@]}" -- bash -c '
    set -e
    R=$1 S=$2 C=$3
    mount --rbind /dev "$R/dev"
    mount -t proc proc "$R/proc"
    mount --rbind /sys "$R/sys"
    mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
    mount -t tmpfs tmpfs "$R/run"
    mount --bind "$S" "$R/src"
    ip link set lo up 2>/dev/null || true
    exec chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 TERM=dumb JOBS="${JOBS:-2}" /bin/bash -c "$C"' _ "$ROOT" "$SRC" "$1"
}

echo "debian13: dependencies"
in_root "cd /src && bash scripts/install-deps.sh"
echo "debian13: $CMD"
in_root --net "$CMD"
