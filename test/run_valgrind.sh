#!/usr/bin/env bash
# Runs pg_regress suites against a server whose backends run under
# valgrind (memcheck), then fails if valgrind reported any error in code
# that passed through cdc_plugin. The server also runs the Kafka worker
# (publishing database "postgres" to the mock broker), which gets an
# initial snapshot (a keyed and a keyless table), a workload, an on-demand
# snapshot while rows change, a reload (to the json format) and a graceful stop after the suites. Slow: for
# developers, not part of `make test`. Usage: test/run_valgrind.sh
# [suite ...] (default: a set that exercises every value type, TOAST, DDL,
# the relation cache and corrupt input).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
command -v valgrind >/dev/null || { echo "run_valgrind: valgrind is not installed" >&2; exit 1; }

tests=("$@")
((${#tests[@]})) || tests=(basic_dml replica_identity types round_trip toast truncate messages ddl relation_cache transaction_events corrupt_input)
[[ " ${tests[*]} " == *" setup "* ]] || tests=(setup "${tests[@]}")

work=$(make_scratch_dir valgrind)
port=${VALGRIND_PORT:-54331}
broker_pid=
cleanup() {
  as_pg_user "$PG_BINDIR/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null || true
}
trap cleanup EXIT
cp -r sql expected test/regress.conf test/valgrind.supp "$work/"
plugin_libraries_conf >>"$work/regress.conf"
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$work"

make -s kafka-tools
tools/kafka/cdc_mock_broker --port-file "$work/bootstrap" </dev/null >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done

as_pg_user "$PG_BINDIR/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
cat "$work/regress.conf" >>"$work/data/postgresql.conf"
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
shared_preload_libraries = 'cdc_plugin'
cdc_plugin.database = 'postgres'
cdc_plugin.kafka_bootstrap_servers = '$(cat "$work/bootstrap")'
cdc_plugin.tombstones_on_delete = on
cdc_plugin.snapshot_chunk_rows = 300
CONF
echo "run_valgrind: starting the server under valgrind (logs in $work)"
as_pg_user bash -c "cd '$work' && valgrind --quiet --trace-children=yes --track-origins=yes \
  --error-exitcode=0 --num-callers=30 --log-file='$work/valgrind.%p.log' \
  --suppressions='$work/valgrind.supp' '$PG_BINDIR/postgres' -D '$work/data' >'$work/server.log' 2>&1 &"
for _ in $(seq 120); do
  as_pg_user "$PG_BINDIR/pg_isready" -h "$work" -p "$port" -q && break
  sleep 1
done

cd "$work"
status=0
as_pg_user "$PG_REGRESS" --bindir="$PG_BINDIR" --inputdir="$work" --outputdir="$work" \
  --host="$work" --port="$port" --user=postgres \
  --dbname=contrib_regression "${tests[@]}" || status=$?

# the worker: a workload, a reload mid-stream, more changes, a graceful stop
psql_pg() { as_pg_user "$PG_BINDIR/psql" -h "$work" -p "$port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
wait_published() {
  local lsn; lsn=$(psql_pg -At -c "SELECT pg_current_wal_flush_lsn()")
  for _ in $(seq 600); do
    [[ $(psql_pg -At -c "SELECT state = 'streaming' AND in_flight = 0 AND confirmed_lsn >= '$lsn' FROM cdc_plugin.status()") == t ]] && return 0
    sleep 0.5
  done
  echo "run_valgrind: the worker did not catch up" >&2; psql_pg -x -c "SELECT * FROM cdc_plugin.status()"; status=1
}
# rows that exist before the extension: the worker's initial snapshot reads
# vg_items in chunks and vg_log (no key) whole with its slot's snapshot
psql_pg <<'SQL' || status=1
CREATE TABLE vg_items (id int PRIMARY KEY, n numeric, tags text[], doc jsonb, big text, at timestamptz);
CREATE TABLE vg_log (line text);
INSERT INTO vg_items SELECT g, g / 7.0, ARRAY['a', g::text], jsonb_build_object('g', g),
       CASE WHEN g % 50 = 0 THEN repeat(md5(g::text), 300) END, now() FROM generate_series(1, 2000) g;
INSERT INTO vg_log SELECT 'old line ' || g FROM generate_series(1, 50) g;
CREATE EXTENSION cdc_plugin;
SQL
wait_snapshots() {
  for _ in $(seq 600); do
    [[ $(psql_pg -At -c "SELECT count(*) FROM cdc_plugin.snapshots WHERE state IN ('queued', 'running')") == 0 ]] && return 0
    sleep 0.5
  done
  echo "run_valgrind: snapshots did not finish" >&2; psql_pg -c "SELECT * FROM cdc_plugin.snapshots"; status=1
}
for _ in $(seq 600); do
  [[ $(psql_pg -At -c "SELECT count(*) FROM cdc_plugin.snapshots") -gt 0 ]] && break
  sleep 0.5
done
psql_pg <<'SQL' || status=1
UPDATE vg_items SET n = n + 1, tags = tags || 'u'::text WHERE id % 3 = 0;
DELETE FROM vg_items WHERE id % 10 = 0;
INSERT INTO vg_log SELECT 'line ' || g FROM generate_series(1, 100) g;
TRUNCATE vg_log;
SQL
wait_snapshots
wait_published
# an on-demand snapshot while rows change
psql_pg -c "SELECT cdc_plugin.snapshot('vg_items')" >/dev/null || status=1
psql_pg -c "UPDATE vg_items SET n = n * 2 WHERE id % 7 = 0; DELETE FROM vg_items WHERE id % 11 = 0" || status=1
wait_snapshots
psql_pg -c 'SELECT id, "table", kind, state, rows_done, chunks_done, error FROM cdc_plugin.snapshots ORDER BY id'
[[ $(psql_pg -At -c "SELECT count(*) FROM cdc_plugin.snapshots WHERE state <> 'done'") == 0 ]] || status=1
# a reload to other Kafka properties and to the json format: the changes
# after it are published as JSON (envelopes and keys)
printf '%s\n' "cdc_plugin.kafka_properties = 'compression.type=lz4;linger.ms=10'" \
  "cdc_plugin.value_format = 'json'" "cdc_plugin.key_format = 'json'" >>"$work/data/postgresql.conf"
psql_pg -c "SELECT pg_reload_conf()" >/dev/null
psql_pg -c "UPDATE vg_items SET big = repeat('z', 5000) WHERE id < 100" || status=1
psql_pg -c "UPDATE vg_items SET n = n + 1 WHERE id % 5 = 0; DELETE FROM vg_items WHERE id % 13 = 0" || status=1
wait_published
psql_pg -x -c "SELECT state, events_published, delivery_errors, restarts, last_error FROM cdc_plugin.status()"
as_pg_user "$PG_BINDIR/pg_ctl" -D "$work/data" -m fast -w -t 300 stop >/dev/null || status=1

# Errors whose stack passes through our library are ours to fix.
ours=$(grep -l "cdc_plugin.so" "$work"/valgrind.*.log 2>/dev/null || true)
if [[ -n "$ours" ]]; then
  for f in $ours; do echo "== $f"; cat "$f"; done
  echo "run_valgrind: valgrind reported errors in cdc_plugin code" >&2
  status=1
else
  echo "run_valgrind: no valgrind error involving cdc_plugin.so"
fi
[[ -f regression.diffs ]] && cat regression.diffs
cleanup
# keep the logs of a failed run, drop those of a clean one
if ((status == 0)); then rm -rf "$work"; else echo "run_valgrind: logs kept in $work" >&2; fi
exit $status
