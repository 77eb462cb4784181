#!/usr/bin/env bash
# Installs every Debian 12 package authd needs to build and to run its whole test suite.
# Non-interactive, waits for the dpkg lock. Run as root. Idempotent.
#   scripts/install-deps.sh          build + test dependencies (default)
#   scripts/install-deps.sh build    build dependencies only
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600)

BUILD_PKGS=(
  cmake g++ make pkg-config ca-certificates
  libmariadb-dev libmariadb-dev-compat libcrypt-dev libsodium-dev libcpp-httplib-dev libssl-dev
  libsqlite3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libexpected-dev libgtest-dev libgmock-dev libbenchmark-dev
)
TEST_PKGS=(
  mariadb-server mariadb-client dovecot-core dovecot-imapd apache2 libapache2-mod-authnz-external
  apache2-utils radicale python3-passlib python3-bcrypt curl openssl whois argon2 sqlite3
  procps iproute2 docker-compose time hyperfine wrk clang libclang-rt-14-dev
)

missing=()
want=("${BUILD_PKGS[@]}")
[ "${1:-all}" = build ] || want+=("${TEST_PKGS[@]}")
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
apt-get -o DPkg::Lock::Timeout=600 update -q
"${APT[@]}" "${missing[@]}"
