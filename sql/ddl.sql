-- Schema changes between changes: each change is decoded with the table's
-- schema as of that change (logical decoding's historic catalog snapshots),
-- even when all of it is decoded later in one go.
SET client_min_messages = warning;
CREATE TABLE evolving (id int PRIMARY KEY, a text, b int);
SELECT 'init' FROM pg_create_logical_replication_slot('ddl', 'cdc_plugin');

INSERT INTO evolving VALUES (1, 'original', 10);
ALTER TABLE evolving ADD COLUMN c timestamptz DEFAULT '2024-01-01 00:00+00';
INSERT INTO evolving VALUES (2, 'added c', 20);
ALTER TABLE evolving DROP COLUMN b;
INSERT INTO evolving VALUES (3, 'dropped b');
ALTER TABLE evolving RENAME COLUMN a TO label;
INSERT INTO evolving VALUES (4, 'renamed a');
ALTER TABLE evolving ALTER COLUMN id TYPE bigint;
INSERT INTO evolving VALUES (5, 'id is bigint now');
ALTER TABLE evolving ALTER COLUMN label TYPE varchar(40) USING upper(label);
UPDATE evolving SET label = label || '!' WHERE id = 5;
-- a rewrite changes the relfilenode; the table name stays
VACUUM FULL evolving;
INSERT INTO evolving VALUES (6, 'after rewrite');
ALTER TABLE evolving RENAME TO evolved;
INSERT INTO evolved VALUES (7, 'table renamed');
-- DDL and DML in one transaction
BEGIN;
ALTER TABLE evolved ADD COLUMN d boolean;
INSERT INTO evolved VALUES (8, 'same transaction', DEFAULT, true);
ALTER TABLE evolved DROP COLUMN c;
INSERT INTO evolved VALUES (9, 'same transaction, c dropped', false);
COMMIT;

SELECT op, tbl, after FROM regress.changes('ddl');

SELECT pg_drop_replication_slot('ddl');
DROP TABLE evolved;
