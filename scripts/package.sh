#!/usr/bin/env bash
# The Debian package, end to end, on Debian 12 and on Debian 13. As root, on this Debian 12 machine:
#   1. copies the working tree (tracked and new non-ignored files: uncommitted work included) to a
#      scratch directory; no build output ever lands in the checkout;
#   2. Debian 12: builds authd_<version>_<arch>.deb there (dpkg-buildpackage -us -uc -b), runs
#      lintian on the .changes (its .deb and .buildinfo) and fails on any error or warning;
#   3. installs the .deb with apt-get into a FRESH minbase bookworm system (a pristine debootstrap
#      cached as a tarball under /var/cache/authd-ci, unpacked anew for every run), checks what the
#      package created, runs authd in it as the units would (user authd, /etc/authd/authd.toml,
#      listeners handed over by systemd-socket-activate), adds an account with an MD5-crypt hash,
#      logs in over the UNIX socket with authd-checkpassword and over TCP with curl, checks that
#      `authctl audit` shows the account upgraded to `current`, reloads, stops, purges and checks
#      what is left;
#   4. Debian 13: the same build and lintian inside the trixie system of scripts/debian13.sh, and
#      the same install test in a fresh minbase trixie system.
# The throw-away systems run in their own mount/pid namespaces; the tests in their own network
# namespace (loopback only), so no port clashes with the host. Prints each phase's time.
#   scripts/package.sh                 everything
#   scripts/package.sh --build-deps    only install the build dependencies (debian/control) and the
#                                      packaging tools; used inside the Debian 13 system
# Env: AUTHD_PACKAGE_SRC (tree to package, default this checkout), AUTHD_PACKAGE_KEEP=1 (keep the
#      scratch directory and print it), AUTHD_CI_CACHE (default /var/cache/authd-ci),
#      AUTHD_PACKAGE_RELEASES (default "bookworm trixie").
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${AUTHD_PACKAGE_SRC:-$(cd "$HERE/.." && pwd)}
APT_OPTS=(-o DPkg::Lock::Timeout=600)
export DEBIAN_FRONTEND=noninteractive

build_deps() { # build_deps TREE: debian/control's Build-Depends and the tools to build and check
  if (cd "$1" && dpkg-checkbuilddeps) >/dev/null 2>&1 && command -v lintian >/dev/null; then
    echo "package: build dependencies present"
    return 0
  fi
  apt-get "${APT_OPTS[@]}" update -q
  apt-get build-dep -y --no-install-recommends "${APT_OPTS[@]}" "$1/"
  apt-get install -y --no-install-recommends "${APT_OPTS[@]}" lintian
}
if [ "${1:-}" = --build-deps ]; then
  build_deps "$(cd "$HERE/.." && pwd)"
  exit 0
fi

. "$HERE/lib-debian.sh"
[ "$(id -u)" = 0 ] || { echo "package: run me as root" >&2; exit 2; }
CACHE=${AUTHD_CI_CACHE:-/var/cache/authd-ci}
RELEASES=${AUTHD_PACKAGE_RELEASES:-bookworm trixie}
debian_tools package

T0=$SECONDS T=$SECONDS
TIMES=()
phase() { # phase "what was done": its time and the total so far
  TIMES+=("$(printf '%4ds  %s' $((SECONDS - T)) "$1")")
  echo "package: [$((SECONDS - T)) s, total $((SECONDS - T0)) s] $1"
  T=$SECONDS
}

WORK=$(mktemp -d /var/tmp/authd-package.XXXXXX)
cleanup() {
  if [ "${AUTHD_PACKAGE_KEEP:-0}" = 1 ]; then echo "package: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
PKG_VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$SRC/debian/changelog")
ARCH=$(dpkg --print-architecture)
TREE=$WORK/src/authd-$PKG_VERSION

# 1. The working tree as it is, minus ignored files (build dirs) and files deleted but tracked.
mkdir -p "$TREE"
(cd "$SRC" && git ls-files -z -co --exclude-standard) \
  | (cd "$SRC" && while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done) \
  | tar -C "$SRC" --null --no-recursion -T - -cf - | tar -C "$TREE" -xf -
echo "package: $(find "$TREE" -type f | wc -l) files of $SRC copied to $TREE"
phase "copy the working tree"

# A fresh minbase system of SUITE in DIR: unpacks the cached pristine debootstrap (made once).
fresh_system() {
  local suite=$1 dir=$2 base=$CACHE/$1-minbase.tar
  if [ ! -s "$base" ]; then
    echo "package: debootstrap --variant=minbase $suite (cached as $base)"
    rm -rf "$base.d" && mkdir -p "$CACHE"
    debootstrap --variant=minbase "$suite" "$base.d" "$MIRROR" >"$CACHE/$suite-debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/$suite-debootstrap.log"; exit 1; }
    rm -f "$base.d"/var/cache/apt/archives/*.deb
    tar -C "$base.d" --numeric-owner -cf "$base.tmp" . && mv "$base.tmp" "$base" && rm -rf "$base.d"
  fi
  mkdir -p "$dir" && tar -C "$dir" --numeric-owner -xf "$base"
  debian_prepare_root "$dir" "$suite" "$MIRROR" "$SECURITY"
}

lint() { # lint DIR-WITH-CHANGES: lintian on the .changes (and its .deb, .buildinfo)
  local changes=$1/authd_${PKG_VERSION}_$ARCH.changes
  echo "package: lintian $(lintian --version) on $(basename "$changes")"
  lintian --fail-on error,warning --display-info "$changes" || {
    echo "package: lintian reports errors or warnings (above)" >&2; exit 1; }
  echo "package: lintian: no errors, no warnings"
}

# What runs inside the fresh system, in two steps: the install (with the network) and the test
# (own network namespace, loopback only). /src is the directory holding the .deb.
read -r -d '' INSTALL_STEP <<'STEP' || true
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
A=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
apt-get "${A[@]}" update -q >/dev/null
echo "== apt-get install ./$DEB (a fresh minbase system)"
apt-get install -y --no-install-recommends "${A[@]}" "/src/$DEB" 2>&1 | grep -vE '^(Get|Selecting|Preparing|Unpacking|Reading|Building)' || exit 1
# Tools of the test only (not dependencies of the package): the listeners as systemd would hand
# them over, an HTTP client, the MD5-crypt hash, ps, man (systemd-analyze verify looks up the
# units' Documentation= man pages).
apt-get install -y --no-install-recommends "${A[@]}" systemd curl openssl procps man-db >/dev/null 2>&1
STEP

read -r -d '' TEST_STEP <<'STEP' || true
set -euo pipefail
fail() { echo "FAIL: $*" >&2; [ -f /tmp/authd.log ] && sed 's/^/  authd: /' /tmp/authd.log >&2; exit 1; }
check() { local what=$1; shift; if "$@"; then echo "ok   $what"; else fail "$what"; fi; }
stat_is() { [ "$(stat -c '%a %U:%G' "$1")" = "$2" ] || { echo "  $1: $(stat -c '%a %U:%G' "$1"), want $2"; return 1; }; }
CONF=/etc/authd/authd.toml
echo "== what the package installed and created"
check "authd, authctl in /usr/sbin, authd-checkpassword in /usr/bin" test -x /usr/sbin/authd -a -x /usr/sbin/authctl -a -x /usr/bin/authd-checkpassword
check "system user authd (home /var/lib/authd, no login shell)" sh -c 'getent passwd authd | grep -Eq "^authd:x:[0-9]+:[0-9]+:[^:]*:/var/lib/authd:/usr/sbin/nologin$"'
check "system group authd" getent group authd
check "$CONF is a conffile, 0640 root:authd" sh -c "grep -qx $CONF /var/lib/dpkg/info/authd.conffiles && stat -c '%a %U:%G' $CONF | grep -qx '640 root:authd'"
check "/var/lib/authd is 0750 authd:authd" stat_is /var/lib/authd "750 authd:authd"
check "the store was created by the postinst, owned by authd" stat_is /var/lib/authd/authd.db "644 authd:authd"
UNITDIR=$(dirname "$(dpkg -L authd | grep '/systemd/system/authd.socket$')")
check "units in $UNITDIR" test -f "$UNITDIR/authd.service" -a -f "$UNITDIR/authd.socket"
check "authd.socket enabled (sockets.target.wants)" test -L /etc/systemd/system/sockets.target.wants/authd.socket
check "tmpfiles.d snippet for /run/authd" grep -q '^d /run/authd 0750 authd authd' /usr/lib/tmpfiles.d/authd.conf
check "man pages authd(8) authctl(8) authd-checkpassword(8) authd.toml(5)" \
  test -f /usr/share/man/man8/authd.8.gz -a -f /usr/share/man/man8/authctl.8.gz -a -f /usr/share/man/man8/authd-checkpassword.8.gz -a -f /usr/share/man/man5/authd.toml.5.gz
check "docs and examples" test -f /usr/share/doc/authd/README.md.gz -a -f /usr/share/doc/authd/examples/authd.toml.example
check "authd --check-config on the shipped file" runuser -u authd -- authd --config $CONF --check-config
if out=$(cd "$UNITDIR" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify authd.socket authd.service 2>&1); then
  echo "ok   systemd-analyze verify authd.socket authd.service"
else
  # Offline verification needs no running systemd; anything it prints is a finding.
  echo "$out" | sed 's/^/  /'; fail "systemd-analyze verify"
fi

echo "== /run/authd as at boot (systemd-tmpfiles), authd as the units start it"
systemd-tmpfiles --create authd.conf
check "/run/authd is 0750 authd:authd" stat_is /run/authd "750 authd:authd"
# authd.socket hands authd its listeners; systemd-socket-activate does the same outside systemd
# and starts authd on the first connection. It binds as user authd (SocketUser=/SocketGroup=), so
# the socket is authd:authd.
AS_AUTHD=(setpriv --reuid=authd --regid=authd --init-groups --)
if grep -q sd_listen_fds /usr/sbin/authd; then
  MODE="socket activation (systemd-socket-activate -l /run/authd/authd.sock -l 127.0.0.1:8425)"
  (exec "${AS_AUTHD[@]}" systemd-socket-activate -l /run/authd/authd.sock -l 127.0.0.1:8425 \
     /usr/sbin/authd --config $CONF) >/tmp/authd.log 2>&1 &
  PID=$!
else
  MODE="plain authd, its default listeners (this authd has no socket activation)"
  (exec "${AS_AUTHD[@]}" /usr/sbin/authd --config $CONF) >/tmp/authd.log 2>&1 &
  PID=$!
fi
echo "   $MODE"
for _ in $(seq 100); do [ -S /run/authd/authd.sock ] && break; sleep 0.1; done
check "the socket /run/authd/authd.sock is there" test -S /run/authd/authd.sock
# systemd-socket-activate makes it 0644 whatever the umask; systemd applies SocketMode=0660.
chmod 0660 /run/authd/authd.sock
check "the socket is authd:authd, group-writable" sh -c "stat -c '%U:%G %A' /run/authd/authd.sock | grep -Eq '^authd:authd srw.rw.---'"

echo "== an account with an MD5-crypt hash, logins over the socket and over TCP"
HASH=$(openssl passwd -1 'correct horse')
runuser -u authd -- authctl --config $CONF user add alice --hash "$HASH"
check "the stored hash is legacy md5_crypt" sh -c "authctl --config $CONF hash identify '$HASH' | grep -qx 'md5_crypt legacy'"
# A Dovecot-like client: a member of group authd (usermod -aG authd dovecot), no other rights.
useradd --system --no-create-home --groups authd mailsrv
check "authd-checkpassword (fd 3, as a member of group authd) logs alice in over the socket" \
  bash -c "runuser -u mailsrv -- authd-checkpassword /bin/true 3< <(printf 'alice\0correct horse\0')"
rc=0; runuser -u mailsrv -- authd-checkpassword /bin/true 3< <(printf 'alice\0wrong\0') || rc=$?
check "a wrong password exits 1" test "$rc" = 1
R=$(curl -s --max-time 30 -X POST http://127.0.0.1:8425/v1/auth -d '{"username":"alice","password":"correct horse"}')
echo "   POST /v1/auth -> $R"
check "curl POST /v1/auth over TCP: ok" sh -c "echo '$R' | grep -q '\"ok\":true'"
check "authctl audit shows alice current (upgraded by the first login)" sh -c "authctl --config $CONF audit --all --format json | grep -o '{[^}]*\"username\":\"alice\"[^}]*}' | grep -q '\"status\":\"current\"'"
authctl --config $CONF audit --all | sed 's/^/   /'
check "root's authctl keeps the store authd's" stat_is /var/lib/authd/authd.db "644 authd:authd"
# The background job exec'd setpriv, systemd-socket-activate and authd: $PID is authd now.
check "authd runs as user authd" sh -c "ps -o user=,comm= -p $PID | grep -Eq '^authd +authd$'"
kill -HUP "$PID"
for _ in $(seq 50); do grep -q 'SIGHUP: configuration .*reloaded' /tmp/authd.log && break; sleep 0.1; done
check "SIGHUP reloads the configuration (ExecReload=)" grep -q 'SIGHUP: configuration .*reloaded' /tmp/authd.log
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
check "SIGTERM stops authd, exit 0" test "$rc" = 0

echo "== apt-get purge authd"
apt-get purge -y -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 authd >/dev/null
check "binaries, units, man pages gone" sh -c "! ls /usr/sbin/authd /usr/sbin/authctl /usr/bin/authd-checkpassword $UNITDIR/authd.service $UNITDIR/authd.socket /usr/share/man/man8/authd.8.gz 2>/dev/null | grep -q ."
check "/etc/authd gone" test ! -e /etc/authd
check "/run/authd gone" test ! -e /run/authd
check "authd.socket no longer enabled" test ! -e /etc/systemd/system/sockets.target.wants/authd.socket
check "the account database is kept (documented)" test -f /var/lib/authd/authd.db
echo "   left: $(find /var/lib/authd | tr '\n' ' ')user $(getent passwd authd | cut -d: -f1) (kept, as documented)"
STEP

# install_test SUITE DIR-WITH-DEB: both steps in a fresh SUITE system.
install_test() {
  local suite=$1 debdir=$2 root=$WORK/root-$1
  fresh_system "$suite" "$root"
  phase "$suite: fresh minbase system"
  debian_chroot "$root" "$debdir" "DEB=authd_${PKG_VERSION}_$ARCH.deb; $INSTALL_STEP"
  phase "$suite: apt-get install ./authd_${PKG_VERSION}_$ARCH.deb"
  debian_chroot --net "$root" "$debdir" "$TEST_STEP"
  phase "$suite: run authd from the package, logins, purge"
  rm -rf "$root"
}

for suite in $RELEASES; do
  case "$suite" in
    bookworm)
      [ "$(. /etc/os-release && echo "$VERSION_CODENAME")" = bookworm ] || { echo "package: the Debian 12 build needs a Debian 12 host" >&2; exit 2; }
      echo "== Debian 12 (this machine): dpkg-buildpackage"
      build_deps "$TREE" >/dev/null
      phase "bookworm: build dependencies"
      (cd "$TREE" && dpkg-buildpackage -us -uc -b -j2) >"$WORK/build-bookworm.log" 2>&1 \
        || { tail -40 "$WORK/build-bookworm.log"; exit 1; }
      OUT=$WORK/out-bookworm; mkdir -p "$OUT"
      mv "$WORK/src"/authd*_"$PKG_VERSION"_* "$WORK/src"/*.buildinfo "$WORK/src"/*.changes "$OUT"/ 2>/dev/null || true
      (cd "$TREE" && rm -rf obj-* debian/authd debian/.debhelper debian/files debian/*.substvars debian/debhelper-build-stamp debian/*.debhelper*)
      ls -l "$OUT"
      phase "bookworm: dpkg-buildpackage -us -uc -b"
      lint "$OUT"
      phase "bookworm: lintian"
      install_test bookworm "$OUT"
      ;;
    trixie)
      echo "== Debian 13 (scripts/debian13.sh's system): dpkg-buildpackage on a copy of /src"
      OUT=$WORK/out-trixie
      DEBIAN13_DEPS="cd /src && bash scripts/package.sh --build-deps" \
      DEBIAN13_CMD="set -e; rm -rf /tmp/pkg; mkdir -p /tmp/pkg; cp -a /src /tmp/pkg/authd-$PKG_VERSION;
        cd /tmp/pkg/authd-$PKG_VERSION && dpkg-buildpackage -us -uc -b -j2 >/tmp/pkg/build.log 2>&1 || { tail -40 /tmp/pkg/build.log; exit 1; }
        mkdir -p /src/.package-out && cp /tmp/pkg/*.deb /tmp/pkg/*.changes /tmp/pkg/*.buildinfo /tmp/pkg/*.ddeb /src/.package-out/ 2>/dev/null || true
        ls -l /src/.package-out
        echo \"package: lintian \$(lintian --version) on authd_${PKG_VERSION}_$ARCH.changes\"
        lintian --fail-on error,warning --display-info /tmp/pkg/authd_${PKG_VERSION}_$ARCH.changes \
          || { echo 'package: lintian reports errors or warnings (above)' >&2; exit 1; }
        echo 'package: lintian: no errors, no warnings'" \
        bash "$TREE/scripts/debian13.sh"
      mv "$TREE/.package-out" "$OUT"
      phase "trixie: build dependencies, dpkg-buildpackage -us -uc -b, lintian"
      install_test trixie "$OUT"
      ;;
    *) echo "package: unknown release $suite" >&2; exit 2 ;;
  esac
done

echo "package: all done in $((SECONDS - T0)) s"
printf '  %s\n' "${TIMES[@]}"
