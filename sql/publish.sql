-- The table-less outbox: cdc_plugin.publish() writes a domain event into
-- the WAL in the calling transaction; it is decoded only if that
-- transaction (and the savepoint it was written in) commits, in its place
-- among the transaction's changes, as an outbox event. Everything that
-- could not be published is refused at the call.
SET client_min_messages = warning;
CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2));
SELECT 'init' FROM pg_create_logical_replication_slot('publish', 'cdc_plugin');

CREATE FUNCTION pg_temp.events()
RETURNS TABLE (op text, tbl text, pos text, topic text, key text, format text,
               payload jsonb, headers jsonb)
LANGUAGE sql AS $$
  SELECT e->>'op', e->'source'->>'table', e->'transaction'->>'total_order',
         e->'outbox'->>'topic', e->'outbox'->>'key', e->'outbox'->>'payload_format',
         e->'outbox'->'payload', e->'outbox'->'headers'
    FROM pg_logical_slot_get_binary_changes('publish', NULL, NULL) c,
         LATERAL cdc_plugin.to_json(c.data) e
$$;

-- a business write and its event in one transaction, three payload types
BEGIN;
INSERT INTO orders VALUES (1, 12.50);
SELECT cdc_plugin.publish('orders.events', 'order-1', '{"type": "OrderPlaced", "id": 1}'::jsonb,
                          '{"type": "OrderPlaced", "attempt": 1}');
SELECT cdc_plugin.publish('orders.text', NULL, 'plain text'::text);
SELECT cdc_plugin.publish('orders.bytes', 'k', '\x00ff'::bytea);
COMMIT;
-- rolled back, and in a savepoint rolled back: never decoded
BEGIN;
SELECT cdc_plugin.publish('orders.events', 'order-2', '{"lost": true}'::jsonb);
ROLLBACK;
BEGIN;
SELECT cdc_plugin.publish('orders.events', 'order-3', '{"kept": true}'::jsonb);
SAVEPOINT s;
SELECT cdc_plugin.publish('orders.events', 'order-3', '{"undone": true}'::jsonb);
ROLLBACK TO s;
COMMIT;
SELECT * FROM pg_temp.events();

-- refused at the call
SELECT cdc_plugin.publish(NULL, 'k', '{}'::jsonb);
SELECT cdc_plugin.publish('', 'k', '{}'::jsonb);
SELECT cdc_plugin.publish('bad topic', 'k', '{}'::jsonb);
SELECT cdc_plugin.publish(repeat('t', 250), 'k', '{}'::jsonb);
SELECT cdc_plugin.publish('..', 'k', '{}'::jsonb);
SELECT cdc_plugin.publish('t', 'k', '{}'::jsonb, '[1, 2]');
SELECT cdc_plugin.publish('t', 'k', '{}'::jsonb, '{"cdc.event_id": "mine"}');
SELECT cdc_plugin.publish('t', 'k', '{}'::jsonb, '{"": "x"}');
SELECT cdc_plugin.publish('t', 'k', '{}'::jsonb,
                          (SELECT jsonb_object_agg('h' || g, g) FROM generate_series(1, 65) g));
SELECT count(*) FROM pg_temp.events();

-- who may call it: superusers and members of cdc_plugin_publisher
CREATE ROLE publish_app;
CREATE ROLE publish_other;
GRANT cdc_plugin_publisher TO publish_app;
GRANT USAGE ON SCHEMA cdc_plugin TO publish_app, publish_other;
SET ROLE publish_other;
SELECT cdc_plugin.publish('t', 'k', '{}'::jsonb);
SET ROLE publish_app;
SELECT cdc_plugin.publish('t', 'k', '{"by": "app"}'::jsonb);
RESET ROLE;
SELECT op, topic, payload FROM pg_temp.events();

-- a forged message with the prefix is skipped with a WARNING
SELECT 'sent' FROM pg_logical_emit_message(true, 'cdc_plugin.outbox', 'not an event');
\set VERBOSITY terse
SELECT * FROM pg_temp.events();
\set VERBOSITY default

SELECT pg_drop_replication_slot('publish');
REVOKE USAGE ON SCHEMA cdc_plugin FROM publish_app, publish_other;
DROP ROLE publish_app;
DROP ROLE publish_other;
DROP TABLE orders;
