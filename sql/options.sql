-- Decoding options are checked when decoding starts: an unknown option or
-- a bad value is an ERROR naming the option and what it accepts. Textual
-- consumers get PostgreSQL's "binary output" error, never garbage.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('opts', 'cdc_plugin');

SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'no-such-option', 'x');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'include-transaction-events', 'maybe');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'skip-empty-xacts', '2');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'include-messages', '');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'include-tables', 'orders');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'exclude-tables', 'public.');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'include-tables', 'a.b,,c.d');
-- option names are case-sensitive, as in wal2json
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL, 'Include-Messages', 'true');

-- accepted spellings of booleans
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL,
  'include-transaction-events', 'on', 'skip-empty-xacts', 'OFF', 'include-messages', 'yes');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL,
  'include-transaction-events', '1', 'skip-empty-xacts', 'False', 'include-messages', 'no');
-- empty lists mean "no filter"
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL,
  'include-tables', '', 'exclude-tables', '', 'message-prefixes', '');

-- the slot still works after the errors
CREATE TABLE opt_t (id int PRIMARY KEY);
INSERT INTO opt_t VALUES (1);
SELECT op, tbl, after FROM regress.changes('opts');

-- include-type-names adds each column's SQL type name to the envelope
-- (protobuf Column.type; JSON does not show types)
INSERT INTO opt_t VALUES (2);
SELECT position('\x696e7465676572'::bytea IN data) > 0 AS has_type_name  -- 'integer'
  FROM pg_logical_slot_peek_binary_changes('opts', NULL, NULL);
SELECT position('\x696e7465676572'::bytea IN data) > 0 AS has_type_name
  FROM pg_logical_slot_get_binary_changes('opts', NULL, NULL, 'include-type-names', 'true');

-- text consumers are refused: cdc_plugin writes binary protobuf
SELECT count(*) FROM pg_logical_slot_peek_changes('opts', NULL, NULL);

SELECT pg_drop_replication_slot('opts');
DROP TABLE opt_t;
