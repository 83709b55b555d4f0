-- Schema changes: the event trigger describes DDL on captured tables into
-- the WAL (cdc_plugin.schema logical messages, read here with
-- test_decoding), keeps cdc_plugin.schema_state, and refuses what
-- cdc_plugin.schema_compatibility forbids. test/regress.conf sets
-- cdc_plugin.exclude_tables = 'public.guard_excluded*'.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('guard_td', 'test_decoding');
SELECT 'init' FROM pg_create_logical_replication_slot('guard_cdc', 'cdc_plugin');

-- the schema events the slot holds, consumed, as jsonb
CREATE FUNCTION regress.schema_events()
RETURNS TABLE (e jsonb)
LANGUAGE sql AS $$
  SELECT substring(data FROM '^message: transactional: 1 prefix: cdc_plugin\.schema, sz: \d+ content:(.*)$')::jsonb
    FROM pg_logical_slot_get_changes('guard_td', NULL, NULL)
   WHERE data LIKE 'message: % prefix: cdc_plugin.schema,%'
$$;

-- Runs one DDL and rolls it back: 'ok', or the error it raised.
CREATE FUNCTION regress.try_ddl(mode text, ddl text)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('cdc_plugin.schema_compatibility', mode, true);
  BEGIN
    EXECUTE ddl;
    RAISE EXCEPTION 'regress: roll back';
  EXCEPTION WHEN OTHERS THEN
    RETURN CASE WHEN SQLERRM = 'regress: roll back' THEN 'ok' ELSE SQLERRM END;
  END;
END
$$;

SHOW cdc_plugin.schema_compatibility;
SHOW cdc_plugin.allow_incompatible_ddl;
SHOW cdc_plugin.schema_events_ddl_text;

-- CREATE TABLE is never refused: the table is recorded with version 1
SET cdc_plugin.schema_compatibility = 'full';
CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL, note text, qty int2,
                     price float4, code varchar(10), total numeric(10,2) DEFAULT 0);
CREATE UNIQUE INDEX orders_id_amount ON orders (id, amount);
CREATE SCHEMA elsewhere;
RESET cdc_plugin.schema_compatibility;
SELECT "table", schema_version, replica_identity, jsonb_array_length(columns) AS columns
  FROM cdc_plugin.schema_versions WHERE relid = 'orders'::regclass;
SELECT e->>'table' AS tbl, e->'schema_version' AS version, e->>'command_tag' AS tag
  FROM regress.schema_events() e;

-- The guard, change by change, in each mode (every DDL rolled back).
CREATE TEMP TABLE changes (n int, change text, ddl text);
INSERT INTO changes VALUES
  (1, 'add a nullable column', 'ALTER TABLE orders ADD COLUMN extra int'),
  (2, 'add a NOT NULL column with a default', 'ALTER TABLE orders ADD COLUMN extra int NOT NULL DEFAULT 0'),
  (3, 'add a NOT NULL column without default', 'ALTER TABLE orders ADD COLUMN extra int NOT NULL'),
  (4, 'drop a nullable column', 'ALTER TABLE orders DROP COLUMN note'),
  (5, 'drop a NOT NULL column', 'ALTER TABLE orders DROP COLUMN amount'),
  (6, 'widen int2 to int4', 'ALTER TABLE orders ALTER COLUMN qty TYPE int4'),
  (7, 'widen int4 to int8', 'ALTER TABLE orders ALTER COLUMN amount TYPE int8'),
  (8, 'widen float4 to float8', 'ALTER TABLE orders ALTER COLUMN price TYPE float8'),
  (9, 'widen varchar(10) to varchar(20)', 'ALTER TABLE orders ALTER COLUMN code TYPE varchar(20)'),
  (10, 'widen varchar(10) to text', 'ALTER TABLE orders ALTER COLUMN code TYPE text'),
  (11, 'widen numeric(10,2) to numeric(12,2)', 'ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2)'),
  (12, 'change int to text', 'ALTER TABLE orders ALTER COLUMN amount TYPE text'),
  (13, 'narrow varchar(10) to varchar(5)', 'ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)'),
  (14, 'change numeric(10,2) to numeric(12,3)', 'ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,3)'),
  (15, 'rename a column', 'ALTER TABLE orders RENAME COLUMN note TO remark'),
  (16, 'rename the table', 'ALTER TABLE orders RENAME TO purchases'),
  (17, 'move the table to another schema', 'ALTER TABLE orders SET SCHEMA elsewhere'),
  (18, 'change the primary key', 'ALTER TABLE orders DROP CONSTRAINT orders_pkey, ADD PRIMARY KEY (id, amount)'),
  (19, 'drop the primary key', 'ALTER TABLE orders DROP CONSTRAINT orders_pkey'),
  (20, 'replica identity full', 'ALTER TABLE orders REPLICA IDENTITY FULL'),
  (21, 'replica identity using an index', 'ALTER TABLE orders REPLICA IDENTITY USING INDEX orders_id_amount'),
  (22, 'drop the table', 'DROP TABLE orders'),
  (23, 'set NOT NULL', 'ALTER TABLE orders ALTER COLUMN note SET NOT NULL'),
  (24, 'drop NOT NULL', 'ALTER TABLE orders ALTER COLUMN amount DROP NOT NULL'),
  (25, 'set a default', 'ALTER TABLE orders ALTER COLUMN note SET DEFAULT ''none'''),
  (26, 'drop a default', 'ALTER TABLE orders ALTER COLUMN total DROP DEFAULT'),
  (27, 'set unlogged (stops capturing)', 'ALTER TABLE orders SET UNLOGGED'),
  (28, 'create an index (no change of shape)', 'CREATE INDEX ON orders (note)'),
  (29, 'drop a unique index (not the key)', 'DROP INDEX orders_id_amount');
CREATE TEMP TABLE results AS
  SELECT c.n, c.change, m.mode, regress.try_ddl(m.mode, c.ddl) AS result
    FROM changes c, (VALUES ('none'), ('backward'), ('forward'), ('full')) m(mode);

\pset null ''
SELECT n, change,
       max(CASE WHEN mode = 'none' THEN r END) AS "none",
       max(CASE WHEN mode = 'backward' THEN r END) AS backward,
       max(CASE WHEN mode = 'forward' THEN r END) AS forward,
       max(CASE WHEN mode = 'full' THEN r END) AS "full"
  FROM (SELECT n, change, mode,
               CASE WHEN result = 'ok' THEN 'ok'
                    WHEN result LIKE 'cdc_plugin refuses to %' THEN 'refused'
                    ELSE result END AS r
          FROM results) x
 GROUP BY n, change ORDER BY n;

-- the exact errors
SELECT n, mode, result FROM results WHERE result <> 'ok'
 ORDER BY n, array_position(ARRAY['none', 'backward', 'forward', 'full'], mode);

-- nothing was committed: no events, version 1
SELECT count(*) AS events FROM regress.schema_events();
SELECT schema_version FROM cdc_plugin.schema_versions WHERE relid = 'orders'::regclass;

-- a refusal, with its hint, and the DDL rolled back
SET cdc_plugin.schema_compatibility = 'full';
\set VERBOSITY default
ALTER TABLE orders DROP COLUMN amount;
SELECT count(*) AS amount_still_there FROM pg_attribute
 WHERE attrelid = 'orders'::regclass AND attname = 'amount' AND NOT attisdropped;

-- Accepted changes bump the version, one event per change.
ALTER TABLE orders ADD COLUMN extra int;
ALTER TABLE orders DROP COLUMN note;
CREATE INDEX orders_qty ON orders (qty);    -- no change of shape: no event
SELECT "table", schema_version FROM cdc_plugin.schema_versions WHERE relid = 'orders'::regclass;
SELECT e->>'table' AS tbl, e->'schema_version' AS version, e->>'command_tag' AS tag,
       e->>'ddl' AS ddl, (SELECT string_agg(c->>'name', ',') FROM jsonb_array_elements(e->'columns') c) AS columns
  FROM regress.schema_events() e;

-- A DDL transaction that rolls back leaves schema_state as it was and
-- writes no event.
RESET cdc_plugin.schema_compatibility;
BEGIN;
ALTER TABLE orders ADD COLUMN rolled_back int;
ALTER TABLE orders RENAME TO orders_rolled_back;
ROLLBACK;
SELECT "table", schema_version, columns @> '[{"name": "rolled_back"}]' AS has_rolled_back
  FROM cdc_plugin.schema_versions WHERE relid = 'orders'::regclass;
SELECT count(*) AS events FROM regress.schema_events();

-- mode none refuses nothing; a rename keeps the version's history
ALTER TABLE orders RENAME TO purchases;
ALTER TABLE purchases RENAME COLUMN extra TO bonus;
SELECT "table", schema_version FROM cdc_plugin.schema_versions WHERE relid = 'purchases'::regclass;
SELECT e->>'table' AS tbl, e->'schema_version' AS version, e->'renamed_from' AS renamed_from
  FROM regress.schema_events() e;

-- One event exactly as written (relid aside), names escaped as JSON.
CREATE TABLE "Odd ""Name""" (id int PRIMARY KEY, "we""ird\col" varchar(3) NOT NULL DEFAULT 'a"b');
SELECT regexp_replace(substring(data FROM 'content:(.*)$'), '"relid":\d+', '"relid":N') AS content
  FROM pg_logical_slot_peek_changes('guard_td', NULL, NULL)
 WHERE data LIKE 'message: % prefix: cdc_plugin.schema,%';
SELECT e->>'relid' = '"Odd ""Name"""'::regclass::oid::text AS relid_ok FROM regress.schema_events() e;
-- without the DDL text
SET cdc_plugin.schema_events_ddl_text = off;
ALTER TABLE "Odd ""Name""" ADD COLUMN more text;
RESET cdc_plugin.schema_events_ddl_text;
SELECT e->'ddl' AS ddl, e->'schema_version' AS version FROM regress.schema_events() e;

-- the cdc_plugin output plugin makes no event of them (messages are on by default)
SELECT count(*) AS m_events
  FROM pg_logical_slot_get_binary_changes('guard_cdc', NULL, NULL) c, LATERAL cdc_plugin.to_json(c.data) e
 WHERE e->>'op' = 'm';

-- DROP TABLE: refused in full mode, else the row goes and the event says dropped
SET cdc_plugin.schema_compatibility = 'full';
DROP TABLE "Odd ""Name""";
RESET cdc_plugin.schema_compatibility;
DROP TABLE "Odd ""Name""";
SELECT e->>'table' AS tbl, e->'schema_version' AS version, e->'dropped' AS dropped, e->>'command_tag' AS tag
  FROM regress.schema_events() e;
SELECT count(*) AS rows_left FROM cdc_plugin.schema_state WHERE table_name = 'Odd "Name"';

-- Tables that are not captured: never refused, nothing written.
SET cdc_plugin.schema_compatibility = 'full';
CREATE UNLOGGED TABLE guard_unlogged (id int PRIMARY KEY, a int NOT NULL);
CREATE TEMP TABLE guard_temp (id int PRIMARY KEY, a int NOT NULL);
CREATE TABLE guard_excluded_t (id int PRIMARY KEY, a int NOT NULL);
ALTER TABLE guard_unlogged DROP COLUMN a, ALTER COLUMN id TYPE text;
ALTER TABLE guard_temp DROP COLUMN a, ALTER COLUMN id TYPE text;
ALTER TABLE guard_excluded_t DROP COLUMN a, ALTER COLUMN id TYPE text;
ALTER TABLE guard_excluded_t RENAME TO guard_excluded_u;
CREATE TABLE guard_as AS SELECT 1 AS x;    -- CREATE TABLE AS is captured: version 1
DROP TABLE guard_unlogged, guard_temp, guard_excluded_u;
SELECT e->>'table' AS tbl, e->'schema_version' AS version FROM regress.schema_events() e;
SELECT "table" FROM cdc_plugin.schema_versions WHERE "table" LIKE '%guard%';
-- but making a captured table uncaptured is a change
ALTER TABLE guard_as SET UNLOGGED;
ALTER TABLE guard_as RENAME TO guard_excluded_as;
RESET cdc_plugin.schema_compatibility;
ALTER TABLE guard_as RENAME TO guard_excluded_as;
SELECT e->>'table' AS tbl, e->'schema_version' AS version, e->'dropped' AS dropped FROM regress.schema_events() e;
DROP TABLE guard_excluded_as;

-- Partitioned tables: the leaves are captured, and changes that reach
-- them are guarded.
CREATE TABLE parted (id int, region text NOT NULL, v int NOT NULL, PRIMARY KEY (id, region))
  PARTITION BY LIST (region);
CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');
SET cdc_plugin.schema_compatibility = 'full';
ALTER TABLE parted DROP COLUMN v;
ALTER TABLE parted ADD COLUMN w int;
RESET cdc_plugin.schema_compatibility;
SELECT "table", schema_version FROM cdc_plugin.schema_versions WHERE "table" LIKE 'public.parted%' ORDER BY 1;
SELECT e->>'table' AS tbl, e->'schema_version' AS version, e->>'command_tag' AS tag
  FROM regress.schema_events() e ORDER BY 1, 2;
DROP TABLE parted;
SELECT e->>'table' AS tbl, e->'dropped' AS dropped FROM regress.schema_events() e ORDER BY 1;

-- The override: SET LOCAL cdc_plugin.allow_incompatible_ddl, by the
-- table's owner (logged), never by a role that does not own the table.
CREATE ROLE regress_guard_owner;
CREATE ROLE regress_guard_other;
CREATE SCHEMA guard_theirs AUTHORIZATION regress_guard_other;
GRANT USAGE ON SCHEMA guard_theirs TO regress_guard_owner;
CREATE TABLE guard_theirs.ledger (id int PRIMARY KEY, amount int NOT NULL, memo text);
ALTER TABLE guard_theirs.ledger OWNER TO regress_guard_owner;
SET cdc_plugin.schema_compatibility = 'full';
SET ROLE regress_guard_owner;
BEGIN;
SET LOCAL cdc_plugin.allow_incompatible_ddl = on;
SET LOCAL client_min_messages = log;
ALTER TABLE guard_theirs.ledger DROP COLUMN amount;
COMMIT;
-- the setting passes only the transaction it was set in
ALTER TABLE guard_theirs.ledger DROP COLUMN id;
RESET ROLE;
-- the schema's owner may drop the table, but not past the guard
SET ROLE regress_guard_other;
DROP TABLE guard_theirs.ledger;
BEGIN;
SET LOCAL cdc_plugin.allow_incompatible_ddl = on;
DROP TABLE guard_theirs.ledger;
ROLLBACK;
RESET ROLE;
-- a role may not lower the mode (superusers only)
SET ROLE regress_guard_owner;
SET cdc_plugin.schema_compatibility = 'none';
RESET ROLE;
SELECT "table", schema_version FROM cdc_plugin.schema_versions WHERE "table" = 'guard_theirs.ledger';
SELECT e->>'table' AS tbl, e->'schema_version' AS version,
       (SELECT string_agg(c->>'name', ',') FROM jsonb_array_elements(e->'columns') c) AS columns
  FROM regress.schema_events() e;
RESET cdc_plugin.schema_compatibility;
DROP SCHEMA guard_theirs CASCADE;
SELECT e->>'table' AS tbl, e->'dropped' AS dropped, e->>'command_tag' AS tag FROM regress.schema_events() e;
DROP ROLE regress_guard_owner, regress_guard_other;

-- CREATE EXTENSION records version 1 of every captured table that exists.
CREATE DATABASE regress_cdc_schema_seed;
\c regress_cdc_schema_seed
SET client_min_messages = warning;
CREATE TABLE seeded (id int PRIMARY KEY, label varchar(20) NOT NULL);
CREATE UNLOGGED TABLE not_seeded_unlogged (id int);
CREATE TABLE guard_excluded_not_seeded (id int);
CREATE TABLE seeded_parted (id int) PARTITION BY RANGE (id);
CREATE TABLE seeded_leaf PARTITION OF seeded_parted FOR VALUES FROM (0) TO (10);
CREATE EXTENSION cdc_plugin;
SELECT "table", schema_version, replica_identity, columns FROM cdc_plugin.schema_versions ORDER BY 1;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_cdc_schema_seed;

DROP TABLE purchases;
SELECT e->>'table' AS tbl, e->'schema_version' AS version, e->'dropped' AS dropped FROM regress.schema_events() e;
SELECT pg_drop_replication_slot('guard_td');
SELECT pg_drop_replication_slot('guard_cdc');
