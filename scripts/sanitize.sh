#!/usr/bin/env bash
# The test suite again under sanitizers (after scripts/test.sh has installed the dependencies):
#   1. everything under AddressSanitizer + UndefinedBehaviorSanitizer;
#   2. the concurrent parts (core, store, daemon end to end, races) under ThreadSanitizer.
# Any report fails the run (halt_on_error; a sanitizer report inside a started authd ends it, and
# the tests that drive it fail).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAUTHD_SANITIZE=address,undefined
cmake --build build-asan -j"$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan -j"$JOBS" --output-on-failure --timeout 600

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DAUTHD_SANITIZE=thread
cmake --build build-tsan -j"$JOBS"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(pwd)/tests/tsan.supp" \
  ctest --test-dir build-tsan -j"$JOBS" --output-on-failure --timeout 900 \
    -R '^(Core\.|VerifyPool\.|LanedExecutor\.|Throttle\.|test_store|test_http_e2e|test_races|mariadb_)'
