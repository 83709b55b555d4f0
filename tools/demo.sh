#!/usr/bin/env bash
# `make demo`: the main job on embedded defaults. A local Kafka-protocol
# broker (librdkafka's mock cluster, in its own process), a throwaway
# PostgreSQL cluster with cdc_plugin preloaded and its worker publishing
# database "shop" to the broker, rows that existed before the worker
# (published by its initial snapshot as r events), a small order-shop
# workload with an on-demand snapshot in the middle, and every event shown
# as it is consumed from Kafka with kcat: the worker publishes JSON values
# and keys (cdc_plugin.value_format = 'json'), and heartbeats while idle.
# Leaves nothing behind: everything lives in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
# packages first: lib.sh asks pg_config where PostgreSQL is
bash tools/install-deps.sh
source test/lib.sh
make -s -j"$(nproc)"
make -s kafka-tools
make -s install

work=$(make_scratch_dir demo)
port=${DEMO_PORT:-54329}
pgdata="$work/data"
log="$work/server.log"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg_user "$PG_BINDIR/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting a Kafka-protocol broker on loopback (3 partitions per topic)"
tools/kafka/cdc_mock_broker --brokers 1 --partitions 3 --port-file "$work/bootstrap" \
  </dev/null >"$work/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done
bootstrap=$(cat "$work/bootstrap")
echo "   bootstrap servers: $bootstrap"

echo "== starting a throwaway PostgreSQL in $work (port $port)"
as_pg_user "$PG_BINDIR/initdb" -D "$pgdata" -U postgres --auth=trust >/dev/null
cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
wal_level = logical
$(plugin_libraries_conf)
CONF
as_pg_user "$PG_BINDIR/pg_ctl" -D "$pgdata" -l "$log" -w start >/dev/null
psql_demo() { as_pg_user "$PG_BINDIR/psql" -h "$work" -p "$port" -U postgres -d shop -X -q -v ON_ERROR_STOP=1 "$@"; }
as_pg_user "$PG_BINDIR/createdb" -h "$work" -p "$port" -U postgres shop
psql_demo <<'SQL'
CREATE EXTENSION cdc_plugin;
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id int REFERENCES customers,
  status text NOT NULL DEFAULT 'new',
  total numeric(10,2),
  placed_at timestamptz DEFAULT now(),
  items jsonb
);
-- rows that exist before the worker runs: the initial snapshot publishes them as r events
INSERT INTO customers (name, email) VALUES ('Alan', 'alan@example.com'), ('Barbara', 'barbara@example.com');
INSERT INTO orders (customer_id, total, items) VALUES (1, 120.00, '[{"sku": "lamp", "qty": 1}]');
SQL

echo "== enabling the worker: these lines go to postgresql.conf, then a restart"
tee -a "$pgdata/postgresql.conf" <<CONF | sed 's/^/   /'
shared_preload_libraries = 'cdc_plugin'
cdc_plugin.database = 'shop'
cdc_plugin.kafka_bootstrap_servers = '$bootstrap'
cdc_plugin.topic_prefix = 'shop'
cdc_plugin.include_tables = 'public.*'
cdc_plugin.tombstones_on_delete = on
cdc_plugin.value_format = 'json'
cdc_plugin.key_format = 'json'
cdc_plugin.heartbeat_interval = '2s'
CONF
as_pg_user "$PG_BINDIR/pg_ctl" -D "$pgdata" -l "$log" -w restart >/dev/null
for _ in $(seq 100); do
  [[ $(psql_demo -At -c "SELECT state FROM cdc_plugin.status()") == streaming ]] && break
  sleep 0.1
done
psql_demo -At -c "SELECT format('   worker %s: %s, slot %s', pid, state, slot_name) FROM cdc_plugin.status()"

echo "== consuming from Kafka with kcat as it arrives (JSON values, parsed with jq; ordered per key, not across topics)"
# value_format = json: each value is the envelope in Debezium's shape (op,
# before, after, source, ts_ms, transaction), keys are JSON objects; jq
# turns each into one readable line
show_events() {
  jq -r --unbuffered '
    def pad: if length < 9 then ("         " + .)[-9:] else . end;
    "\(.topic)/\(.partition)@\(.offset)" as $at
    | (.key // "null") as $k
    | if .payload == null then "[tombstone] \($at) key=\($k)"
      else (.payload | fromjson) as $v
      | if ($v.op | startswith("snapshot_")) then
          "[\($v.op | sub("snapshot_"; "snap ") | pad)] \($at) snapshot \($v.source.snapshot_id) (\($v.source.snapshot_kind)), partition \($v.snapshot.partition // 0) of \($v.snapshot.partitions)"
          + (if $v.op == "snapshot_end" then ", \($v.snapshot.rows // 0) rows" else "" end)
        elif $v.op == "schema" then
          ($v.schema_change) as $sc
          | "[   schema] \($at) \($v.source.schema).\($v.source.table) version \($sc.version): \(if $sc.resent then "restated" else ($sc.ddl // $sc.command_tag) end)\n            columns: \([$sc.columns[] | "\(.name) \(.type)\(if .key then " key" else "" end)"] | join(", "))"
        elif $v.op == "heartbeat" then
          "[heartbeat] \($at) database \($v.source.database), WAL at \($v.source.lsn), ts_ms \($v.ts_ms)"
        else
          "[\($v.op | pad)] \($at) key=\($k)\n            \({before: $v.before, after: $v.after} | with_entries(select(.value != null)) | tojson)"
        end
      end'
}
for t in shop.public.customers shop.public.orders shop.__heartbeat; do
  kcat -C -b "$bootstrap" -t "$t" -J -u -q 2>>"$work/consumer.log" | show_events &
  pids+=($!)
done
# domain events from cdc_plugin.publish() are published as they are (JSON
# payload, key, headers) to their own topic: read with kcat
kcat -C -b "$bootstrap" -t events.orders -u -q \
  -f '[   outbox] %t/%p@%o key=%k headers=%h\n            %s\n' 2>>"$work/consumer.log" &
pids+=($!)
sleep 1

echo "== running the workload (in the middle of it, a snapshot of customers on demand and an ALTER TABLE)"
psql_demo >/dev/null <<'SQL'
INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.com'), ('Grace', 'grace@example.com');
SELECT pg_sleep(0.3);
SELECT cdc_plugin.snapshot('customers');
SELECT pg_sleep(0.3);
BEGIN;
INSERT INTO orders (customer_id, total, items) VALUES (1, 42.50, '[{"sku": "book", "qty": 2}]');
-- the order-placed event, in the same transaction as the order
SELECT cdc_plugin.publish('events.orders', 'customer-1',
       jsonb_build_object('type', 'OrderPlaced', 'order', currval('orders_id_seq'), 'total', 42.50),
       '{"type": "OrderPlaced"}');
INSERT INTO orders (customer_id, total, items) VALUES (2, 9.99, '[{"sku": "pen", "qty": 1}]');
COMMIT;
SELECT pg_sleep(0.3);
UPDATE orders SET status = 'paid' WHERE id = 1;
SELECT pg_sleep(0.3);
UPDATE customers SET email = 'grace@navy.example' WHERE id = 4;
SELECT pg_sleep(0.3);
ALTER TABLE customers ADD COLUMN phone text;
UPDATE customers SET phone = '+1 555 0100' WHERE id = 3;
SELECT pg_sleep(0.3);
DELETE FROM orders WHERE id = 2;
SELECT pg_sleep(0.3);
TRUNCATE orders;
SQL

# wait until Kafka acknowledged everything, then give the consumer a moment
lsn=$(psql_demo -At -c "SELECT pg_current_wal_flush_lsn()")
for _ in $(seq 100); do
  [[ $(psql_demo -At -c "SELECT in_flight = 0 AND confirmed_lsn >= '$lsn' FROM cdc_plugin.status()") == t ]] && break
  sleep 0.1
done
sleep 1.5
echo "== one message as it is on Kafka (kcat | jq): the last change of shop.public.customers"
kcat -C -b "$bootstrap" -t shop.public.customers -J -o -1 -e -q 2>>"$work/consumer.log" |
  jq -s 'map(select(.payload != null and .key != null)) | max_by(.ts)
         | {topic, partition, offset, key: (.key | fromjson), value: (.payload | fromjson)}' |
  sed 's/^/   /'
echo "== idle now: heartbeats every 2 s (cdc_plugin.heartbeat_interval) tell idle from stuck"
sleep 4.5
echo "== cdc_plugin.status()"
psql_demo -x -c "SELECT pid, state, slot_name, confirmed_lsn, wal_behind_bytes, events_published,
                        transactions_published, in_flight, broker, last_error
                 FROM cdc_plugin.status()"
echo "== cdc_plugin.snapshots"
psql_demo -c 'SELECT id, "table", kind, state, rows_done, chunks_done FROM cdc_plugin.snapshots ORDER BY id'
echo "== done; the broker and the cluster are removed on exit"
