#!/usr/bin/env bash
# `make demo`: a throwaway PostgreSQL cluster with cdc_plugin, a small
# order-shop workload, and every committed change shown as the decoded
# envelope's JSON as it arrives from the replication slot. Leaves nothing
# behind: the cluster lives in a temporary directory removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# packages first: lib.sh asks pg_config where PostgreSQL is
bash tools/install-deps.sh
source test/lib.sh
make -s -j"$(nproc)"
make -s install

work=$(make_scratch_dir demo)
port=${DEMO_PORT:-54329}
pgdata="$work/data"
log="$work/server.log"
cleanup() {
  as_pg_user "$PG_BINDIR/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting a throwaway PostgreSQL in $work (port $port)"
as_pg_user "$PG_BINDIR/initdb" -D "$pgdata" -U postgres --auth=trust >/dev/null
cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
wal_level = logical
max_replication_slots = 4
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
SELECT 'slot created' FROM pg_create_logical_replication_slot('demo', 'cdc_plugin');
SQL
echo "== slot 'demo' created with the cdc_plugin output plugin; starting the workload"

# The workload runs in the background, one small transaction at a time.
(
  psql_demo <<'SQL'
INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.com'), ('Grace', 'grace@example.com');
SELECT pg_sleep(0.3);
BEGIN;
INSERT INTO orders (customer_id, total, items) VALUES (1, 42.50, '[{"sku": "book", "qty": 2}]');
INSERT INTO orders (customer_id, total, items) VALUES (2, 9.99, '[{"sku": "pen", "qty": 1}]');
COMMIT;
SELECT pg_sleep(0.3);
UPDATE orders SET status = 'paid' WHERE id = 1;
SELECT pg_sleep(0.3);
UPDATE customers SET email = 'grace@navy.example' WHERE id = 2;
SELECT pg_sleep(0.3);
SELECT pg_logical_emit_message(true, 'shop.audit', 'order 2 cancelled by customer');
DELETE FROM orders WHERE id = 2;
SELECT pg_sleep(0.3);
TRUNCATE orders;
SQL
) >/dev/null &
workload=$!

# Poll the slot and print each envelope's JSON as it arrives.
shown=0
while :; do
  done_workload=0
  kill -0 "$workload" 2>/dev/null || done_workload=1
  out=$(psql_demo -At -c "
    SELECT format('[%s] %s  %s', lpad(e->>'op', 6), coalesce((e->'source'->>'schema') || '.' || (e->'source'->>'table'), ''), e::text)
      FROM pg_logical_slot_get_binary_changes('demo', NULL, NULL, 'include-transaction-events', 'true') c,
           LATERAL cdc_plugin.to_json(c.data) e")
  if [[ -n "$out" ]]; then
    echo "$out"
    shown=$((shown + $(wc -l <<<"$out")))
  fi
  ((done_workload)) && break
  sleep 0.2
done
wait "$workload"
echo "== $shown envelopes decoded; the cluster is removed on exit"
