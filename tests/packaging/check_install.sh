#!/usr/bin/env bash
# `cmake --install BUILD --prefix DIR` gives a sane tree: the programs in sbin/bin, the man pages
# (when scdoc built them), docs and examples, the systemd units naming the configured sbindir and
# the tmpfiles.d snippet. Usage: check_install.sh BUILD_DIR SBINDIR_FULL WITH_MAN(ON|OFF)
set -euo pipefail
BUILD=$1 SBINDIR=$2 WITH_MAN=$3
DEST=$(mktemp -d)
trap 'rm -rf "$DEST"' EXIT
cmake --install "$BUILD" --prefix "$DEST" >/dev/null
UNITDIR=$(sed -n 's/^AUTHD_SYSTEMD_UNITDIR:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
TMPFILESDIR=$(sed -n 's/^AUTHD_TMPFILESDIR:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
case "$UNITDIR" in /*) UNITDIR=$DEST$UNITDIR ;; *) UNITDIR=$DEST/$UNITDIR ;; esac
case "$TMPFILESDIR" in /*) TMPFILESDIR=$DEST$TMPFILESDIR ;; *) TMPFILESDIR=$DEST/$TMPFILESDIR ;; esac
want=(sbin/authd sbin/authctl bin/authd-checkpassword share/doc/authd/README.md
      share/doc/authd/ARCHITECTURE.md share/doc/authd/examples/authd.toml.example
      share/doc/authd/examples/dovecot/10-auth-authd.conf share/doc/authd/examples/galera/60-galera.cnf)
[ "$WITH_MAN" = ON ] && want+=(share/man/man8/authd.8 share/man/man8/authctl.8
                               share/man/man8/authd-checkpassword.8 share/man/man5/authd.toml.5)
bad=0
for f in "${want[@]}"; do
  [ -e "$DEST/$f" ] || { echo "missing: PREFIX/$f"; bad=1; }
done
for f in sbin/authd sbin/authctl bin/authd-checkpassword; do
  [ -x "$DEST/$f" ] || { echo "not executable: PREFIX/$f"; bad=1; }
done
for u in authd.service authd.socket; do
  [ -f "$UNITDIR/$u" ] || { echo "missing: $UNITDIR/$u"; bad=1; }
done
grep -qx "ExecStart=$SBINDIR/authd --config /etc/authd/authd.toml" "$UNITDIR/authd.service" \
  || { echo "authd.service does not start $SBINDIR/authd"; bad=1; }
grep -qx 'd /run/authd 0750 authd authd -' "$TMPFILESDIR/authd.conf" || { echo "missing: $TMPFILESDIR/authd.conf"; bad=1; }
[ "$bad" = 0 ] && echo "install tree OK: $(find "$DEST" -type f | wc -l) files"
exit "$bad"
