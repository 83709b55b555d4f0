-- Old row images follow REPLICA IDENTITY: DEFAULT sends the primary key,
-- FULL the whole old row, USING INDEX that index's columns, NOTHING none.
-- The key is the replica identity's columns (the primary key for FULL and
-- NOTHING tables that have one).
SET client_min_messages = warning;
CREATE TABLE ri_default (id int PRIMARY KEY, code text, note text);
CREATE TABLE ri_full (id int PRIMARY KEY, code text, note text);
ALTER TABLE ri_full REPLICA IDENTITY FULL;
CREATE TABLE ri_index (id int PRIMARY KEY, code text NOT NULL, note text);
CREATE UNIQUE INDEX ri_index_code ON ri_index (code);
ALTER TABLE ri_index REPLICA IDENTITY USING INDEX ri_index_code;
CREATE TABLE ri_nothing (id int PRIMARY KEY, code text, note text);
ALTER TABLE ri_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE ri_composite (a int, b text, note text, PRIMARY KEY (a, b));

SELECT 'init' FROM pg_create_logical_replication_slot('ri', 'cdc_plugin');

INSERT INTO ri_default VALUES (1, 'A', 'x');
UPDATE ri_default SET note = 'y' WHERE id = 1;
UPDATE ri_default SET id = 2 WHERE id = 1;
DELETE FROM ri_default WHERE id = 2;

INSERT INTO ri_full VALUES (1, 'A', 'x');
UPDATE ri_full SET note = 'y' WHERE id = 1;
DELETE FROM ri_full WHERE id = 1;

INSERT INTO ri_index VALUES (1, 'A', 'x');
UPDATE ri_index SET note = 'y' WHERE id = 1;
UPDATE ri_index SET code = 'B' WHERE id = 1;
DELETE FROM ri_index WHERE id = 1;

INSERT INTO ri_nothing VALUES (1, 'A', 'x');
UPDATE ri_nothing SET note = 'y' WHERE id = 1;
DELETE FROM ri_nothing WHERE id = 1;

INSERT INTO ri_composite VALUES (1, 'one', 'x');
UPDATE ri_composite SET b = 'uno' WHERE a = 1;
DELETE FROM ri_composite WHERE a = 1;

SELECT * FROM regress.changes('ri');

SELECT pg_drop_replication_slot('ri');
DROP TABLE ri_default, ri_full, ri_index, ri_nothing, ri_composite;
