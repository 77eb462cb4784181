# Helpers for the scripts that make and use throw-away Debian systems beside this machine
# (scripts/debian13.sh, scripts/package.sh). Sourced, not run.

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

# Installs a tool from the host's archive when it is missing: need COMMAND PACKAGE
need() {
  command -v "$1" >/dev/null && return 0
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "$2"
}

# debian_tools WHO [MIRROR]: sets MIRROR (default the host's archive) and SECURITY, and installs
# what making throw-away systems needs (debootstrap, unshare, ip). WHO prefixes the errors.
debian_tools() {
  MIRROR=${2:-$(host_uri debian)}
  SECURITY=$(host_uri debian-security)
  [ -n "$MIRROR" ] || { echo "$1: no Debian archive URL in the host's apt sources" >&2; exit 2; }
  SECURITY=${SECURITY:-${MIRROR%/debian}/debian-security}
  need debootstrap debootstrap
  need unshare util-linux
  need ip iproute2
}

# debian_prepare_root ROOT SUITE MIRROR SECURITY: apt sources of SUITE (with -updates and
# -security), a policy-rc.d that keeps packages from starting services, the host's resolv.conf,
# and /src for the bind mount.
debian_prepare_root() {
  local root=$1 suite=$2 mirror=$3 security=$4
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SRCS
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRCS
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  mkdir -p "$root/src"
}

# debian_chroot [--net] ROOT SRC COMMAND: COMMAND (bash) in the chroot ROOT with SRC bind-mounted
# at /src, in its own mount and pid namespaces (the mounts and every process started inside end
# with it) and with --net its own network namespace with only loopback up (no clash with the
# host's ports, no network).
debian_chroot() {
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
      HOME=/root LANG=C.UTF-8 TERM=dumb JOBS="${JOBS:-2}" /bin/bash -c "$C"' _ "$1" "$2" "$3"
}
