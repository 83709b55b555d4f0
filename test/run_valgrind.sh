#!/usr/bin/env bash
# Runs pg_regress suites against a server whose backends run under
# valgrind (memcheck), then fails if valgrind reported any error in code
# that passed through cdc_plugin. Slow: for developers, not part of
# `make test`. Usage: test/run_valgrind.sh [suite ...] (default: a set that
# exercises every value type, TOAST, DDL and corrupt input).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
command -v valgrind >/dev/null || { echo "run_valgrind: valgrind is not installed" >&2; exit 1; }

tests=("$@")
((${#tests[@]})) || tests=(basic_dml replica_identity types round_trip toast truncate messages ddl transaction_events corrupt_input)
[[ " ${tests[*]} " == *" setup "* ]] || tests=(setup "${tests[@]}")

work=$(make_scratch_dir valgrind)
port=${VALGRIND_PORT:-54331}
cleanup() {
  as_pg_user "$PG_BINDIR/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
cp -r sql expected test/regress.conf "$work/"
plugin_libraries_conf >>"$work/regress.conf"
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$work"

as_pg_user "$PG_BINDIR/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
cat "$work/regress.conf" >>"$work/data/postgresql.conf"
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
CONF
echo "run_valgrind: starting the server under valgrind (logs in $work)"
as_pg_user bash -c "cd '$work' && valgrind --quiet --trace-children=yes --track-origins=yes \
  --error-exitcode=0 --num-callers=30 --log-file='$work/valgrind.%p.log' \
  --suppressions=/dev/null '$PG_BINDIR/postgres' -D '$work/data' >'$work/server.log' 2>&1 &"
for _ in $(seq 120); do
  as_pg_user "$PG_BINDIR/pg_isready" -h "$work" -p "$port" -q && break
  sleep 1
done

cd "$work"
status=0
as_pg_user "$PG_REGRESS" --bindir="$PG_BINDIR" --inputdir="$work" --outputdir="$work" \
  --host="$work" --port="$port" --user=postgres \
  --dbname=contrib_regression "${tests[@]}" || status=$?

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
