#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, runs every suite (the gpu suite on
# whatever Vulkan device there is, lavapipe in CI, with validation layers on), then builds the
# CPU suites again under AddressSanitizer + UndefinedBehaviorSanitizer and runs them (with the
# hostile-input cases against the sanitized salab-cli), then fuzzes the readers of untrusted
# files (pattern, session, .npy) with libFuzzer for a bounded time (SALAB_FUZZ_SECONDS, 30 each).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
cmake -S . -B build-ci -G Ninja -DCMAKE_BUILD_TYPE=Release -DSALAB_WERROR=ON
cmake --build build-ci -j "$jobs"
# As many cases at once as there are CPUs: each is its own process, and one gpu case on lavapipe
# keeps about one core busy. The cli cases (one scratch directory) take turns, the two window
# cases run alone (tests/CMakeLists.txt).
(cd build-ci && ctest --output-on-failure -j "$jobs" --timeout 1200)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSALAB_SANITIZE=ON -DSALAB_BUILD_GUI=OFF -DSALAB_WERROR=ON
cmake --build build-asan -j "$jobs" --target salab_tests
(cd build-asan && ctest --output-on-failure -j "$jobs" -L 'cpu|hostile')  # the cpu/* and hostile/* cases, one process each
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSALAB_FUZZ=ON \
  -DSALAB_BUILD_GUI=OFF -DSALAB_BUILD_TESTS=OFF
cmake --build build-fuzz -j "$jobs" --target salab_fuzzers
bash tests/fuzz/run.sh build-fuzz "${SALAB_FUZZ_SECONDS:-30}"
