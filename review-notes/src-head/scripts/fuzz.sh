#!/usr/bin/env bash
# Bounded libFuzzer runs of every fuzz target (clang, ASan+UBSan), after scripts/install-deps.sh.
#   FUZZ_SECONDS=20 (per target; CI)   longer: FUZZ_SECONDS=3600 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug -DAUTHD_FUZZ=ON -DFUZZ_SECONDS="${FUZZ_SECONDS:-20}"
cmake --build "$BUILD_DIR" -j"${JOBS:-2}"
ctest --test-dir "$BUILD_DIR" -j"${JOBS:-2}" --output-on-failure
