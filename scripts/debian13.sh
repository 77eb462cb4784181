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
#      DEBIAN13_CMD (default: the suite) to run something else inside, e.g. a shell;
#      DEBIAN13_DEPS (default: scripts/install-deps.sh) the dependency step (with the network).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = trixie ]; then
  echo "debian13: this machine is Debian 13 already (scripts/test.sh ran the suite on it)"
  exit 0
fi
ROOT=${AUTHD_DEBIAN13_ROOT:-/var/cache/authd-ci/debian13}
CMD=${DEBIAN13_CMD:-cd /src && BUILD_DIR=build-debian13 SKIP_INSTALL=1 bash scripts/test.sh}
DEPS=${DEBIAN13_DEPS:-cd /src && bash scripts/install-deps.sh}

. "$SRC/scripts/lib-debian.sh"
debian_tools debian13 "${AUTHD_DEBIAN13_MIRROR:-}"

if [ ! -e "$ROOT/.authd-base" ]; then
  echo "debian13: debootstrap trixie from $MIRROR into $ROOT"
  rm -rf "$ROOT.tmp"; mkdir -p "$(dirname "$ROOT")"
  debootstrap --variant=minbase trixie "$ROOT.tmp" "$MIRROR" >"$(dirname "$ROOT")/debootstrap.log" 2>&1 \
    || { tail -20 "$(dirname "$ROOT")/debootstrap.log"; exit 1; }
  rm -rf "$ROOT"; mv "$ROOT.tmp" "$ROOT"
  touch "$ROOT/.authd-base"
fi
# apt sources, a policy-rc.d: packages never start services at install time; the tests start
# what they need.
debian_prepare_root "$ROOT" trixie "$MIRROR" "$SECURITY"

# in_root [--net] COMMAND: COMMAND in the chroot, in its own mount and pid namespaces (and with
# --net its own network namespace with only loopback up).
in_root() {
  local net=()
  if [ "$1" = --net ]; then net=(--net); shift; fi
  debian_chroot "${net[@]}" "$ROOT" "$SRC" "$1"
}

echo "debian13: dependencies"
in_root "$DEPS"
echo "debian13: $CMD"
in_root --net "$CMD"
