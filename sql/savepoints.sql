-- Subtransactions: work rolled back to a savepoint is never sent; released
-- savepoints and committed subtransactions are part of the transaction.
SET client_min_messages = warning;
CREATE TABLE steps (id int PRIMARY KEY, label text);
SELECT 'init' FROM pg_create_logical_replication_slot('sp', 'cdc_plugin');

BEGIN;
INSERT INTO steps VALUES (1, 'kept');
SAVEPOINT a;
INSERT INTO steps VALUES (2, 'rolled back');
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
INSERT INTO steps VALUES (3, 'released');
RELEASE SAVEPOINT b;
SAVEPOINT c;
UPDATE steps SET label = 'kept, updated' WHERE id = 1;
SAVEPOINT d;
DELETE FROM steps WHERE id = 3;
ROLLBACK TO SAVEPOINT d;
COMMIT;
-- a plpgsql exception block is a subtransaction too
DO $$
BEGIN
  INSERT INTO steps VALUES (4, 'before error');
  BEGIN
    INSERT INTO steps VALUES (5, 'undone by the error');
    PERFORM 1 / 0;
  EXCEPTION WHEN division_by_zero THEN
    INSERT INTO steps VALUES (6, 'after error');
  END;
END $$;

SELECT op, tbl, key, after FROM regress.changes('sp');

SELECT pg_drop_replication_slot('sp');
DROP TABLE steps;
