#!/usr/bin/env bash
# Try authd on a fresh Debian 12 machine, as root: installs the build dependencies, builds a
# Release, and shows how authd classifies, verifies and upgrades a legacy MD5 hash.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
bash scripts/install-deps.sh build
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAUTHD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2
A="$BUILD_DIR/bin/authctl"
export AUTHD_CONFIG=/nonexistent   # built-in defaults
MD5=5f4dcc3b5aa765d61d8327deb882cf99    # MD5("password"), as an old web app stored it
echo
echo "demo hash (legacy MD5 of 'password'): $MD5"
printf '  authctl hash identify -> '; "$A" hash identify "$MD5"
printf 'password\n' | "$A" hash verify "$MD5" && echo "  'password' matches (exit 0)"
printf 'wrong\n' | "$A" hash verify "$MD5" || echo "  'wrong' does not (exit $?)"
NEW=$(printf 'password\n' | "$A" hash new --cost 12)
echo "  its bcrypt replacement: $NEW"
printf '  authctl hash identify -> '; "$A" hash identify "$NEW"
echo
echo "Try it yourself:  printf 'secret\n' | $A hash new   |   $A hash identify '<hash>'"
