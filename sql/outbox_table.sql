-- Outbox tables (decoding options outbox-tables, outbox-topic and
-- outbox-columns; the worker sets them from cdc_plugin.outbox_*): a row
-- inserted into an outbox table is an outbox event, not a row change:
-- topic from the template, key aggregateid, value payload, headers id,
-- type and the members of the headers column. Deletes are not published,
-- so inserting and deleting in one transaction keeps the table empty;
-- updates are not either (one WARNING per table).
SET client_min_messages = warning;
CREATE TABLE outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, type text,
                     payload jsonb, headers jsonb);
CREATE TABLE orders (id int PRIMARY KEY);
SELECT 'init' FROM pg_create_logical_replication_slot('outbox_table', 'cdc_plugin');

CREATE FUNCTION pg_temp.events(VARIADIC options text[])
RETURNS TABLE (op text, tbl text, pos text, topic text, key text, payload jsonb, headers jsonb)
LANGUAGE sql AS $$
  SELECT e->>'op', e->'source'->>'table', e->'transaction'->>'total_order',
         e->'outbox'->>'topic', e->'outbox'->>'key', e->'outbox'->'payload', e->'outbox'->'headers'
    FROM pg_logical_slot_get_binary_changes('outbox_table', NULL, NULL, VARIADIC options) c,
         LATERAL cdc_plugin.to_json(c.data) e
$$;

BEGIN;
INSERT INTO orders VALUES (1);
INSERT INTO outbox VALUES ('e-1', 'Order', '1', 'OrderPlaced', '{"order": 1}', '{"trace": "t-1", "n": 2}');
DELETE FROM outbox WHERE id = 'e-1';
COMMIT;
-- characters Kafka does not take become '_' in the topic; no headers column value
INSERT INTO outbox VALUES ('e-2', 'Customer Account/EU', 'c-9', NULL, '{"customer": 9}', NULL);
UPDATE outbox SET type = 'changed';
UPDATE outbox SET type = 'again';
SELECT * FROM pg_temp.events('outbox-tables', 'public.outbox');
SELECT count(*) AS rows_left FROM outbox WHERE id = 'e-1';

-- other column names, another topic template
CREATE TABLE events_out (event_id bigint, kind text, entity text, body bytea);
INSERT INTO events_out VALUES (7, 'Invoice', 'inv-7', '\x0102');
SELECT * FROM pg_temp.events('outbox-tables', 'public.events_out',
  'outbox-topic', 'billing.${kind}', 'outbox-columns', 'id=event_id, aggregatetype=kind, aggregateid=entity, payload=body');

-- without the option the table is an ordinary one
INSERT INTO events_out VALUES (8, 'Invoice', 'inv-8', '\x03');
SELECT op, tbl FROM pg_temp.events('include-messages', 'true');

-- a missing column is an ERROR that names it and the role
INSERT INTO events_out VALUES (9, 'Invoice', 'inv-9', '\x04');
\set VERBOSITY terse
SELECT * FROM pg_logical_slot_peek_binary_changes('outbox_table', NULL, NULL, 'outbox-tables', 'public.events_out');
SELECT * FROM pg_logical_slot_peek_binary_changes('outbox_table', NULL, NULL, 'outbox-tables', 'public.events_out',
  'outbox-columns', 'id=event_id, aggregateid=entity, payload=body', 'outbox-topic', 'billing.${region}');
-- bad option values
SELECT * FROM pg_logical_slot_peek_binary_changes('outbox_table', NULL, NULL, 'outbox-columns', 'body=payload');
SELECT * FROM pg_logical_slot_peek_binary_changes('outbox_table', NULL, NULL, 'outbox-topic', 'events.${');
\set VERBOSITY default

SELECT pg_drop_replication_slot('outbox_table');
DROP TABLE outbox, orders, events_out;
