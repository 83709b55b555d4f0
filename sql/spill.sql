-- Transactions larger than logical_decoding_work_mem (64kB in the test
-- configuration) are spilled to disk by the reorder buffer and decode
-- exactly like small ones: same events, same order, same values.
SET client_min_messages = warning;
SHOW logical_decoding_work_mem;
CREATE TABLE big_txn (id int PRIMARY KEY, payload text, amount numeric);
SELECT 'init' FROM pg_create_logical_replication_slot('spill', 'cdc_plugin');

-- 20000 inserts and 5000 updates in one transaction, with subtransactions
BEGIN;
INSERT INTO big_txn SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 10000) g;
SAVEPOINT s1;
INSERT INTO big_txn SELECT g, md5(g::text), g / 7.0 FROM generate_series(10001, 20000) g;
RELEASE SAVEPOINT s1;
UPDATE big_txn SET amount = -amount WHERE id % 4 = 0;
COMMIT;

SELECT e->>'op' AS op, count(*) AS events,
       count(DISTINCT e->'after'->>'id') AS distinct_ids,
       min((e->'transaction'->>'total_order')::int) AS first_order,
       max((e->'transaction'->>'total_order')::int) AS last_order
  FROM pg_logical_slot_peek_binary_changes('spill', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e
 GROUP BY 1 ORDER BY 1;

-- the reorder buffer did spill this transaction to disk
SELECT pg_stat_clear_snapshot();
SELECT spill_txns > 0 AS spilled_to_disk FROM pg_stat_replication_slots WHERE slot_name = 'spill';

-- the spilled decoding is byte-for-byte the decoding done in memory
CREATE TEMP TABLE spilled AS
  SELECT md5(string_agg(data, '' ORDER BY ord)) AS digest, count(*) AS events
    FROM pg_logical_slot_peek_binary_changes('spill', NULL, NULL) WITH ORDINALITY AS c(lsn, xid, data, ord);
SET logical_decoding_work_mem = '1GB';
SELECT s.events, md5(string_agg(c.data, '' ORDER BY c.ord)) = s.digest AS same_bytes_in_memory
  FROM pg_logical_slot_peek_binary_changes('spill', NULL, NULL) WITH ORDINALITY AS c(lsn, xid, data, ord),
       spilled s
 GROUP BY s.events, s.digest;
RESET logical_decoding_work_mem;

-- the decoded events are in commit order
SELECT bool_and(ord = (e->'transaction'->>'total_order')::bigint) AS in_order
  FROM pg_logical_slot_peek_binary_changes('spill', NULL, NULL) WITH ORDINALITY AS c(lsn, xid, data, ord),
       LATERAL cdc_plugin.to_json(c.data) e;

-- every row rebuilt from the stream equals the table's final state
WITH events AS (
  SELECT e->>'op' AS op, (e->'after'->>'id')::int AS id, e->'after' AS after, ord
    FROM pg_logical_slot_get_binary_changes('spill', NULL, NULL) WITH ORDINALITY AS c(lsn, xid, data, ord),
         LATERAL cdc_plugin.to_json(c.data) e
), latest AS (
  SELECT DISTINCT ON (id) id, after FROM events ORDER BY id, ord DESC
)
SELECT count(*) AS rows_compared,
       count(*) FILTER (WHERE jsonb_populate_record(NULL::big_txn, l.after) IS DISTINCT FROM t) AS rows_differing
  FROM big_txn t JOIN latest l USING (id);

SELECT pg_drop_replication_slot('spill');
DROP TABLE big_txn;
