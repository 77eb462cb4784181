#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root:
#   installs what is missing, builds (Debug, -Werror), starts the services the tests need,
#   runs every test with ctest, stops the services.
# Env: BUILD_DIR (default build-test), JOBS (default 2), SKIP_INSTALL=1 to skip apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-test}
JOBS=${JOBS:-2}

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  bash scripts/install-deps.sh
fi

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug -DAUTHD_WERROR=ON
cmake --build "$BUILD_DIR" -j"$JOBS"

ctest --test-dir "$BUILD_DIR" -j"$JOBS" --output-on-failure --timeout 600
