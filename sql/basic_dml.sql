-- INSERT, UPDATE and DELETE become c, u and d envelopes with typed row
-- images, the primary key as key, and a source block locating the change.
SET client_min_messages = warning;
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer text NOT NULL,
  amount numeric(12,2),
  placed_at timestamptz,
  paid boolean DEFAULT false
);
SELECT 'init' FROM pg_create_logical_replication_slot('basic', 'cdc_plugin');

INSERT INTO orders VALUES (1, 'alice', 10.50, '2024-05-01 10:00:00+00', false);
INSERT INTO orders VALUES (2, 'bob', 99.99, '2024-05-01 11:30:00.123456+00', true);
UPDATE orders SET paid = true WHERE id = 1;
-- changing the key: the before image carries the old key
UPDATE orders SET id = 3 WHERE id = 2;
DELETE FROM orders WHERE id = 1;
SELECT * FROM regress.changes('basic');

-- INSERT ... ON CONFLICT: an insert, or an update of the existing row
INSERT INTO orders VALUES (3, 'bob', 1, NULL, false)
  ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount;
INSERT INTO orders VALUES (4, 'carol', 5, NULL, false)
  ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount;
SELECT op, key, after->'amount' AS amount FROM regress.changes('basic');

-- a rolled back transaction produces nothing
BEGIN;
INSERT INTO orders VALUES (10, 'nobody', 0, now(), false);
ROLLBACK;
SELECT count(*) AS events_after_rollback FROM regress.changes('basic');

-- several statements in one transaction keep their order
BEGIN;
INSERT INTO orders VALUES (20, 'dave', 1, NULL, DEFAULT);
UPDATE orders SET amount = 2 WHERE id = 20;
INSERT INTO orders VALUES (21, 'erin', NULL, NULL, NULL);
SELECT txid_current() AS xid \gset
COMMIT;
SELECT e->>'op' AS op, e->'after'->>'id' AS id,
       e->'transaction'->>'total_order' AS total_order,
       e->'transaction'->>'data_collection_order' AS table_order,
       (e->'transaction'->>'id')::bigint = :xid AS txn_id_is_xid,
       (e->'source'->>'xid')::bigint = :xid AS source_xid_is_xid
  FROM pg_logical_slot_peek_binary_changes('basic', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- the source block: connector, version, database, schema, table, LSNs, time
-- (commit_time_us: microseconds since 1970; ts_ms, beside source: the same in milliseconds)
SELECT e->'source'->>'connector' AS connector,
       e->'source'->>'version' = cdc_plugin.version() AS version_matches,
       e->'source'->>'database' = current_database() AS db_matches,
       e->'source'->>'schema' AS schema,
       e->'source'->>'table' AS "table",
       (e->'source'->>'lsn')::pg_lsn = c.lsn AS lsn_is_change_lsn,
       (e->'source'->>'commit_lsn')::pg_lsn > (e->'source'->>'lsn')::pg_lsn AS commit_after_change,
       to_timestamp((e->'source'->>'commit_time_us')::numeric / 1e6) <= now() AS commit_time_is_past,
       to_timestamp((e->'source'->>'commit_time_us')::numeric / 1e6) > now() - interval '1 day' AS commit_time_is_recent,
       (e->>'ts_ms')::bigint = (e->'source'->>'commit_time_us')::bigint / 1000 AS ts_ms_is_commit_ms,
       e->'source'->'snapshot' AS snapshot
  FROM pg_logical_slot_get_binary_changes('basic', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e;

SELECT pg_drop_replication_slot('basic');
DROP TABLE orders;
