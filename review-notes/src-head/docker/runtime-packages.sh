#!/bin/sh
# Prints the Debian packages that provide the shared libraries the given binaries load, one per
# line: the runtime image installs exactly these, so it names no release-specific library
# package (libfmt9 on Debian 12 is libfmt10 on Debian 13, …).
#   docker/runtime-packages.sh BIN...
set -eu
ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
  real=$(readlink -f "$lib")
  # merged /usr: dpkg may know the file under /lib, /usr/lib or its real name
  dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null \
    || dpkg -S "${real#/usr}" 2>/dev/null || { echo "runtime-packages: no package owns $lib" >&2; exit 1; }
done | cut -d: -f1 | sort -u
