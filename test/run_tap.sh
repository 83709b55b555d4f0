#!/usr/bin/env bash
# TAP suites (test/t/*.pl) using PostgreSQL::Test::Cluster, run by prove as
# the postgres user. Assumes the extension is installed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

work=$(make_scratch_dir tap)
trap 'rm -rf "$work"' EXIT
cp -r test/t "$work/t"
# the example consumer and the .proto it compiles, for 003_example_consumer
mkdir -p "$work/tools/kafka" "$work/src"
cp tools/consume_slot.py "$work/tools/"
# the example consumer of gaps, for CdcKafka::rebuild_with_gap_consumer
cp tools/gap_consumer.py "$work/tools/"
# the mock broker and the consumer/verifier, for the worker's tests
cp tools/kafka/cdc_mock_broker tools/kafka/cdc_kafka_consume "$work/tools/kafka/"
cp -r src/proto "$work/src/proto"
# the round-trip suite's table of every type, for 043_snapshot_types
mkdir -p "$work/sql" && cp sql/round_trip.sql "$work/sql/"
# the postgres_exporter queries file, for 050_exporter
cp -r tools/prometheus "$work/tools/prometheus"
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$work"
cd "$work"
# test files may be named (t/010_worker_stream.pl); default: all
files=("$@")
((${#files[@]})) || files=(t/*.pl)
status=0
as_pg_user env PATH="$PG_BINDIR:$PATH" TESTDIR="$work" PG_REGRESS="$PG_REGRESS" \
  prove ${PROVE_FLAGS:-} -I "$PG_TEST_PERL" -I "$work/t" "${files[@]}" || status=$?
if ((status != 0)) && [[ -d "$work/tmp_check/log" ]]; then
  rm -rf "$REPO_ROOT/tmp_check_tap" && cp -r "$work/tmp_check/log" "$REPO_ROOT/tmp_check_tap"
  echo "run_tap: failed; server logs in $REPO_ROOT/tmp_check_tap" >&2
fi
exit $status
