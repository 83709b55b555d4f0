#!/usr/bin/env bash
# `make test`: every suite, from a fresh machine. Installs missing Debian
# packages, builds and installs the extension, then runs the GoogleTest,
# Kafka tool self-test, pg_regress (incl. pgTAP) and TAP suites (the
# worker's failure tests among them); prints one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
# packages first: lib.sh asks pg_config where PostgreSQL is
bash tools/install-deps.sh || exit 1
source test/lib.sh
make -s -j"$(nproc)" || exit 1
make -s kafka-tools || exit 1
make -s install || exit 1

passed=0 failed=0 failures=()
run_suite() {
  local name=$1; shift
  echo "=== suite: $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}
run_suite unit bash test/run_unit.sh
run_suite kafka-tools bash tools/kafka/selftest.sh
run_suite regress bash test/run_regress.sh
run_suite tap bash test/run_tap.sh

((failed)) && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
((failed == 0))
