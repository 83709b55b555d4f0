-- Tables without a primary key are captured too: no key, and an old image
-- only where REPLICA IDENTITY FULL or a unique index provides one.
SET client_min_messages = warning;
CREATE TABLE log_lines (at int, line text);
CREATE TABLE log_full (at int, line text);
ALTER TABLE log_full REPLICA IDENTITY FULL;
CREATE TABLE log_unique (at int NOT NULL, line text);
CREATE UNIQUE INDEX log_unique_at ON log_unique (at);
ALTER TABLE log_unique REPLICA IDENTITY USING INDEX log_unique_at;

SELECT 'init' FROM pg_create_logical_replication_slot('nopk', 'cdc_plugin');
INSERT INTO log_lines VALUES (1, 'first'), (1, 'duplicate row');
INSERT INTO log_full VALUES (1, 'first');
INSERT INTO log_unique VALUES (1, 'first');
-- updating or deleting rows of a table without replica identity is refused
-- while it is published; without a publication PostgreSQL allows it
UPDATE log_lines SET line = 'changed' WHERE line = 'first';
DELETE FROM log_lines WHERE line = 'duplicate row';
UPDATE log_full SET line = 'changed';
DELETE FROM log_full;
UPDATE log_unique SET line = 'changed';
DELETE FROM log_unique;
SELECT * FROM regress.changes('nopk');

-- a table without columns
CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;
DELETE FROM no_columns;
SELECT * FROM regress.changes('nopk');

-- partitioned tables: changes come from the partition that holds the row
CREATE TABLE measurements (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO measurements VALUES (1, '2024-06-01'), (2, '2025-06-01');
UPDATE measurements SET at = '2025-07-01' WHERE id = 1;
SELECT op, tbl, key, after FROM regress.changes('nopk');

SELECT pg_drop_replication_slot('nopk');
DROP TABLE log_lines, log_full, log_unique, no_columns, measurements;
