-- pg_logical_emit_message() becomes an m event with prefix and content.
-- Transactional messages arrive in commit order with their transaction (and
-- vanish with a rollback); non-transactional ones arrive at once.
SET client_min_messages = warning;
CREATE TABLE audit (id int PRIMARY KEY);
SELECT 'init' FROM pg_create_logical_replication_slot('msg', 'cdc_plugin');

BEGIN;
INSERT INTO audit VALUES (1);
SELECT 'emitted' FROM pg_logical_emit_message(true, 'app.audit', 'in transaction');
SELECT 'emitted' FROM pg_logical_emit_message(false, 'app.heartbeat', 'right away');
COMMIT;
BEGIN;
SELECT 'emitted' FROM pg_logical_emit_message(true, 'app.audit', 'rolled back');
ROLLBACK;
SELECT 'emitted' FROM pg_logical_emit_message(false, 'app.binary', '\x00ff'::bytea);
SELECT 'emitted' FROM pg_logical_emit_message(true, 'other', 'filtered below');

SELECT e->>'op' AS op, e->'message' AS message,
       e->'transaction'->>'total_order' AS total_order,
       (e->'source'->>'xid')::bigint > 0 AS has_xid
  FROM pg_logical_slot_peek_binary_changes('msg', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- message-prefixes keeps only the listed prefixes
SELECT e->'message'->>'prefix' AS prefix
  FROM pg_logical_slot_peek_binary_changes('msg', NULL, NULL, 'message-prefixes', 'app.audit, app.binary') c,
       LATERAL cdc_plugin.to_json(c.data) e
 WHERE e->>'op' = 'm';

-- include-messages off drops them all
SELECT e->>'op' AS op
  FROM pg_logical_slot_get_binary_changes('msg', NULL, NULL, 'include-messages', 'false') c,
       LATERAL cdc_plugin.to_json(c.data) e;

SELECT pg_drop_replication_slot('msg');
DROP TABLE audit;
