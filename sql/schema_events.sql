-- Schema events over the SQL interface (decoding option
-- include-schema-events): each DDL on a captured table is decoded as a
-- schema event in order with the rows; before a table's first event of the
-- session its shape is restated (resent); row events carry
-- source.schema_version. Without the option no schema event is sent.
SET client_min_messages = warning;
CREATE TABLE shapes (id int PRIMARY KEY, a text);
SELECT 'init' FROM pg_create_logical_replication_slot('schema_events', 'cdc_plugin');

CREATE FUNCTION pg_temp.events(VARIADIC options text[] DEFAULT '{}')
RETURNS TABLE (op text, tbl text, v text, what text, columns text, after jsonb)
LANGUAGE sql AS $$
  SELECT e->>'op', e->'source'->>'table', e->'source'->>'schema_version',
         CASE WHEN (sc->>'resent')::bool THEN 'restated'
              ELSE coalesce(sc->>'ddl', sc->>'command_tag' || ' (no text)') END
           || CASE WHEN (sc->>'dropped')::bool THEN ' [dropped]' ELSE '' END
           || coalesce(' [renamed from ' || (sc->>'renamed_from_schema') || '.'
                       || (sc->>'renamed_from_table') || ']', '')
           || CASE WHEN sc->>'replica_identity' <> 'default'
                   THEN ' [identity ' || (sc->>'replica_identity') || ']' ELSE '' END,
         (SELECT string_agg(c->>'name' || ' ' || (c->>'type')
                            || CASE WHEN (c->>'key')::bool THEN ' key' ELSE '' END
                            || CASE WHEN (c->>'not_null')::bool THEN ' not null' ELSE '' END
                            || CASE WHEN (c->>'has_default')::bool THEN ' default' ELSE '' END,
                            ', ' ORDER BY (c->>'attnum')::int)
            FROM jsonb_array_elements(sc->'columns') c),
         e->'after'
    FROM pg_logical_slot_get_binary_changes('schema_events', NULL, NULL, VARIADIC options) c,
         LATERAL cdc_plugin.to_json(c.data) e,
         LATERAL (SELECT e->'schema_change' AS sc) s
$$;

-- the first row of the session is preceded by a restatement
INSERT INTO shapes VALUES (1, 'one');
-- a DDL between rows of one transaction
BEGIN;
UPDATE shapes SET a = 'before' WHERE id = 1;
ALTER TABLE shapes ADD COLUMN b int NOT NULL DEFAULT 0;
UPDATE shapes SET b = 2 WHERE id = 1;
COMMIT;
-- a DDL that rolls back is not there
BEGIN;
ALTER TABLE shapes ADD COLUMN never int;
ROLLBACK;
ALTER TABLE shapes ALTER COLUMN b TYPE bigint;
ALTER TABLE shapes REPLICA IDENTITY FULL;
SET cdc_plugin.schema_events_ddl_text = off;
ALTER TABLE shapes ALTER COLUMN a SET NOT NULL;
RESET cdc_plugin.schema_events_ddl_text;
ALTER TABLE shapes RENAME TO reshaped;
INSERT INTO reshaped VALUES (2, 'two', 2);
DROP TABLE reshaped;
SELECT * FROM pg_temp.events('include-schema-events', 'true');

-- without the option: rows only, and no schema_version
CREATE TABLE plain (id int PRIMARY KEY);
INSERT INTO plain VALUES (1);
ALTER TABLE plain ADD COLUMN x text;
INSERT INTO plain VALUES (2, 'x');
SELECT * FROM pg_temp.events();

-- a forged message with the prefix is skipped with a WARNING, never sent
SET client_min_messages = warning;
SELECT 'sent' FROM pg_logical_emit_message(true, 'cdc_plugin.schema', '{"relid": 1}');
SELECT 'sent' FROM pg_logical_emit_message(true, 'cdc_plugin.schema', 'not json');
INSERT INTO plain VALUES (3, 'after forged');
\set VERBOSITY terse
SELECT * FROM pg_temp.events('include-schema-events', 'true');
\set VERBOSITY default

SELECT pg_drop_replication_slot('schema_events');
DROP TABLE plain;
