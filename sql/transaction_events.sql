-- With include-transaction-events, each transaction is framed by a begin
-- event and a commit event that counts the transaction's events per table.
-- skip-empty-xacts (default on) drops transactions with nothing to send.
SET client_min_messages = warning;
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric);
CREATE TABLE ledger (id serial PRIMARY KEY, account int, delta numeric);
CREATE TABLE ignored (id int);
SELECT 'init' FROM pg_create_logical_replication_slot('txn', 'cdc_plugin');

BEGIN;
INSERT INTO accounts VALUES (1, 100), (2, 0);
INSERT INTO ledger (account, delta) VALUES (1, -25), (2, 25);
UPDATE accounts SET balance = balance - 25 WHERE id = 1;
UPDATE accounts SET balance = balance + 25 WHERE id = 2;
SELECT txid_current() AS xid \gset
COMMIT;
-- a transaction that touches only an excluded table
INSERT INTO ignored VALUES (1);
-- a transaction that writes nothing decodable
SELECT 'no-op' FROM txid_current();

SELECT e->>'op' AS op,
       (e->'source'->>'schema') || '.' || (e->'source'->>'table') AS tbl,
       e->'transaction'->>'total_order' AS total_order,
       e->'transaction'->>'data_collection_order' AS table_order,
       (e->'transaction'->>'id')::bigint = :xid AS is_our_xid,
       e->'summary' AS summary
  FROM pg_logical_slot_peek_binary_changes('txn', NULL, NULL,
         'include-transaction-events', 'true', 'exclude-tables', 'public.ignored') c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- begin and commit events locate the transaction
SELECT e->>'op' AS op,
       e->'source'->>'database' = current_database() AS db_matches,
       (e->'source'->>'commit_lsn')::pg_lsn = max((e->'source'->>'commit_lsn')::pg_lsn) OVER () AS same_commit_lsn,
       (e->'source'->>'commit_time_us') IS NOT NULL AS has_commit_time
  FROM pg_logical_slot_peek_binary_changes('txn', NULL, NULL,
         'include-transaction-events', 'true', 'exclude-tables', 'public.ignored') c,
       LATERAL cdc_plugin.to_json(c.data) e
 WHERE e->>'op' IN ('begin', 'commit')
   AND (e->'transaction'->>'id')::bigint = :xid;

-- with skip-empty-xacts off, the excluded-only transaction is framed too
SELECT e->>'op' AS op, e->'summary' AS summary
  FROM pg_logical_slot_get_binary_changes('txn', NULL, NULL,
         'include-transaction-events', 'true', 'exclude-tables', 'public.ignored',
         'skip-empty-xacts', 'false') c,
       LATERAL cdc_plugin.to_json(c.data) e
 WHERE e->>'op' IN ('begin', 'commit');

SELECT pg_drop_replication_slot('txn');
DROP TABLE accounts, ledger, ignored;
