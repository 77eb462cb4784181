#!/usr/bin/env bash
# Installs every package authd needs to build and to run its whole test suite, on Debian 12
# (bookworm) or Debian 13 (trixie), told apart by /etc/os-release.
# Non-interactive, waits for the dpkg lock. Run as root. Idempotent.
#   scripts/install-deps.sh          build + test dependencies (default)
#   scripts/install-deps.sh build    build dependencies only
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600)

BUILD_PKGS=(
  cmake g++ make pkg-config ca-certificates
  libmariadb-dev libmariadb-dev-compat libcrypt-dev libsodium-dev libunistring-dev libsystemd-dev libcpp-httplib-dev libboost-dev libssl-dev
  libsqlite3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libexpected-dev libgtest-dev libgmock-dev libbenchmark-dev scdoc
)
TEST_PKGS=(
  mariadb-server mariadb-client dovecot-core dovecot-imapd dovecot-lmtpd apache2 libapache2-mod-authnz-external
  apache2-utils radicale python3-passlib python3-bcrypt curl openssl whois argon2 sqlite3
  nginx procps iproute2 systemd postfix swaks docker-compose time hyperfine wrk clang
  galera-4 mariadb-backup socat
  chromium fonts-dejavu-core
)
# What differs between the releases: clang's runtime (sanitizers, libFuzzer) and Dovecot — 2.3
# on Debian 12 (checkpassword), 2.4 on Debian 13 (the Lua passdb with a JSON module).
. /etc/os-release
case "${VERSION_CODENAME:-}" in
  bookworm) TEST_PKGS+=(libclang-rt-14-dev) ;;
  trixie) TEST_PKGS+=(libclang-rt-19-dev dovecot-auth-lua lua-json) ;;
  *) echo "install-deps: ${PRETTY_NAME:-this system} is neither Debian 12 nor Debian 13" >&2; exit 2 ;;
esac

# Node.js and npm for the browser test's playwright-core: the machine's own when it has them
# (a nodesource nodejs carries npm), else Debian's.
command -v npm >/dev/null 2>&1 || TEST_PKGS+=(nodejs npm)

# The browser test's one npm package (tests/browser/package-lock.json), from the npm registry.
browser_modules() {
  local dir; dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  if [ -f "$dir/node_modules/playwright-core/package.json" ] &&
     grep -q "\"version\": \"$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' "$dir/package.json")\"" "$dir/node_modules/playwright-core/package.json"; then
    return 0
  fi
  echo "install-deps: npm ci in tests/browser"
  for attempt in 1 2 3; do
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) && return 0
    sleep $((attempt * 5))
  done
  return 1
}

missing=()
want=("${BUILD_PKGS[@]}")
[ "${1:-all}" = build ] || want+=("${TEST_PKGS[@]}")
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  [ "${1:-all}" = build ] || browser_modules
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
# Postfix unconfigured: no system instance is set up or started (the tests run their own).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get -o DPkg::Lock::Timeout=600 update -q
"${APT[@]}" "${missing[@]}"
[ "${1:-all}" = build ] || browser_modules
