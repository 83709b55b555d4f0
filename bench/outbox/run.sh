#!/usr/bin/env bash
# Outbox benchmark: one domain event per transaction from CLIENTS clients,
# three ways in one run, each published by the cdc_plugin worker to the
# mock Kafka broker:
#   publish        SELECT cdc_plugin.publish(...)               (no table)
#   insert_delete  INSERT into an outbox table, DELETE in the same transaction
#   insert_only    INSERT into an outbox table, rows left behind
# For each: committed tx/s (pgbench), WAL bytes per event
# (pg_current_wal_lsn() before and after / events), commit->produce p99
# (the Kafka timestamp the worker's producer stamped on the message minus
# clock_timestamp() taken in the transaction, over the last 5000 messages
# of each partition; acknowledgement adds linger.ms and the broker's round
# trip), the outbox table's size after, and how many events Kafka
# acknowledged (status().events_published). A benchmark, not a
# test: it prints figures and PASS/MISS per target.
#
#   bench/outbox/run.sh                 # 15 s per way, ~1.5 minutes
#   SECONDS_PER_WAY=5 bench/outbox/run.sh
#
# Environment: SECONDS_PER_WAY (15), CLIENTS (8), THREADS (2), PARTITIONS (4),
# LINGER_MS (5), BENCH_PORT (5497), KEEP (0: remove the scratch directory),
# PG_BIN (/usr/lib/postgresql/15/bin). Must run as root (the cluster runs as
# the 'postgres' OS user).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SECONDS_PER_WAY=${SECONDS_PER_WAY:-15}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
PARTITIONS=${PARTITIONS:-4}
LINGER_MS=${LINGER_MS:-5}
PORT=${BENCH_PORT:-5497}
KEEP=${KEEP:-0}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Targets (issue text): publish() >= 1.5x the INSERT+DELETE tx/s, <= 1/3 of its WAL bytes per event.
TARGET_TPS_RATIO=1.5
TARGET_WAL_RATIO=0.3334

log() { echo "bench/outbox: $*" >&2; }
[[ $(id -u) -eq 0 ]] || { log "run as root"; exit 1; }
make -C "$REPO" -s kafka-tools >/dev/null
command -v kcat >/dev/null || { log "kcat is missing (make deps)"; exit 1; }

work=$(mktemp -d /tmp/cdc_outbox_bench.XXXXXX)
chown postgres: "$work"
broker_pid=
cleanup() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null || true
  [[ "$KEEP" == 1 ]] && log "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

"$REPO/tools/kafka/cdc_mock_broker" --brokers 1 --partitions "$PARTITIONS" >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
for _ in $(seq 100); do grep -q '^bootstrap=' "$work/broker.out" && break; sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[[ -n "$bootstrap" ]] || { log "the broker did not start"; exit 1; }

runuser -u postgres -- "$PG_BIN/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
plugin_libs=
"$PG_BIN/postgres" --describe-config 2>/dev/null | grep -q '^output_plugin_libraries' &&
  plugin_libs="output_plugin_libraries = 'pgoutput, cdc_plugin'"
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = $PORT
wal_level = logical
shared_buffers = 256MB
max_wal_size = 4GB
$plugin_libs
shared_preload_libraries = 'cdc_plugin'
cdc_plugin.database = 'postgres'
cdc_plugin.kafka_bootstrap_servers = '$bootstrap'
cdc_plugin.kafka_properties = 'linger.ms=$LINGER_MS'
cdc_plugin.snapshot_mode = 'never'
cdc_plugin.outbox_tables = 'public.outbox'
cdc_plugin.outbox_topic = 'bench.\${aggregatetype}'
CONF
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
psql_b() { runuser -u postgres -- "$PG_BIN/psql" -h "$work" -p "$PORT" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
psql_b -c "CREATE EXTENSION cdc_plugin" -c "
  CREATE TABLE outbox (id bigserial PRIMARY KEY, aggregatetype text NOT NULL, aggregateid text NOT NULL,
                       type text NOT NULL, payload jsonb NOT NULL)"
for _ in $(seq 100); do [[ $(psql_b -c "SELECT state FROM cdc_plugin.status()") == streaming ]] && break; sleep 0.2; done

# one event of ~100 bytes per transaction; the payload carries the time
cat >"$work/publish.pgbench" <<'SQL'
\set k random(1, 100000)
SELECT cdc_plugin.publish('bench.publish', :k::text, jsonb_build_object('order', :k, 'status', 'placed', 'ts', extract(epoch from clock_timestamp())), '{"type": "OrderPlaced"}');
SQL
cat >"$work/insert_delete.pgbench" <<'SQL'
\set k random(1, 100000)
BEGIN;
INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('insert_delete', :k, 'OrderPlaced', jsonb_build_object('order', :k, 'status', 'placed', 'ts', extract(epoch from clock_timestamp()))) RETURNING id \gset
DELETE FROM outbox WHERE id = :id;
COMMIT;
SQL
cat >"$work/insert_only.pgbench" <<'SQL'
\set k random(1, 100000)
INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('insert_only', :k, 'OrderPlaced', jsonb_build_object('order', :k, 'status', 'placed', 'ts', extract(epoch from clock_timestamp())));
SQL

declare -A TPS WALB P99 SIZE DELIVERED
for way in publish insert_delete insert_only; do
  log "$way: $CLIENTS clients for $SECONDS_PER_WAY s"
  psql_b -c "CHECKPOINT"
  start=$(psql_b -c "SELECT pg_current_wal_lsn()")
  before=$(psql_b -c "SELECT events_published FROM cdc_plugin.status()")
  out=$(runuser -u postgres -- "$PG_BIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$SECONDS_PER_WAY" \
          -f "$work/$way.pgbench" -h "$work" -p "$PORT" postgres 2>&1)
  end=$(psql_b -c "SELECT pg_current_wal_lsn()")
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  TPS[$way]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
  WALB[$way]=$(psql_b -c "SELECT round(('$end'::pg_lsn - '$start'::pg_lsn) / $tx)")
  SIZE[$way]=$(psql_b -c "SELECT pg_size_pretty(pg_total_relation_size('outbox'))")
  # wait for the worker to confirm everything, then read the topic back
  lsn=$(psql_b -c "SELECT pg_current_wal_flush_lsn()")
  for _ in $(seq 600); do
    [[ $(psql_b -c "SELECT in_flight = 0 AND confirmed_lsn >= '$lsn' FROM cdc_plugin.status()") == t ]] && break
    sleep 0.2
  done
  after=$(psql_b -c "SELECT events_published FROM cdc_plugin.status()")
  DELIVERED[$way]=$((after - before))
  # the mock broker keeps only a few MB per partition: the latency is taken
  # over the last messages of each partition (right after a topic was
  # created kcat may see no partition yet: read again)
  for _ in $(seq 10); do
    kcat -C -b "$bootstrap" -t "bench.$way" -o -5000 -e -q -f '%T %s\n' >"$work/$way.consumed" 2>/dev/null || true
    [[ -s "$work/$way.consumed" ]] && break
    sleep 1
  done
  # commit->produce: Kafka timestamp (ms) minus the payload's ts (s)
  P99[$way]=$(awk '{ if (match($0, /"ts": [0-9.]+/)) { ts = substr($0, RSTART + 6, RLENGTH - 6); d = $1 - ts * 1000; print d } }' \
                "$work/$way.consumed" | sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.5); if (i < 1) i = 1; if (NR == 0) print "n/a"; else printf "%.1f", a[i] }')
  DELIVERED[$way]="${DELIVERED[$way]} of $tx"
  log "$way: $(awk 'END { print NR }' "$work/$way.consumed") messages read back for the latency"
done

echo "outbox benchmark: $CLIENTS clients, $SECONDS_PER_WAY s per way, one ~100-byte event per transaction, $PARTITIONS partitions, linger.ms=$LINGER_MS"
printf '%-14s %10s %14s %22s %16s %18s\n' way "tx/s" "WAL B/event" "commit->produce p99" "outbox size" "acked by Kafka"
for way in publish insert_delete insert_only; do
  printf '%-14s %10s %14s %19s ms %16s %18s\n' "$way" "${TPS[$way]}" "${WALB[$way]}" "${P99[$way]}" "${SIZE[$way]}" "${DELIVERED[$way]}"
done
tps_ratio=$(awk -v a="${TPS[publish]}" -v b="${TPS[insert_delete]}" 'BEGIN { printf "%.2f", a / b }')
wal_ratio=$(awk -v a="${WALB[publish]}" -v b="${WALB[insert_delete]}" 'BEGIN { printf "%.2f", a / b }')
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { print ((dir == "ge" ? v >= t : v <= t) ? "PASS" : "MISS") }'; }
echo "publish / insert_delete tx/s:        $tps_ratio (target >= $TARGET_TPS_RATIO: $(verdict "$tps_ratio" "$TARGET_TPS_RATIO" ge))"
echo "publish / insert_delete WAL per event: $wal_ratio (target <= 0.33: $(verdict "$wal_ratio" "$TARGET_WAL_RATIO" le))"
