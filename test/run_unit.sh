#!/usr/bin/env bash
# GoogleTest suites of the C++ core, built with CMake (no PostgreSQL involved).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
cmake -S . -B build/unit -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/unit -j"$(nproc)"
ctest --test-dir build/unit --output-on-failure
