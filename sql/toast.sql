-- Large values stored out of line (TOAST): inserted and changed values are
-- sent whole; an UPDATE that leaves one untouched marks it as unchanged
-- (listed in "unchanged_toast"), never sends it as null or empty.
SET client_min_messages = warning;
CREATE TABLE documents (id int PRIMARY KEY, title text, body text, blob bytea);
ALTER TABLE documents ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE documents ALTER COLUMN blob SET STORAGE EXTERNAL;
SELECT 'init' FROM pg_create_logical_replication_slot('toast', 'cdc_plugin');

INSERT INTO documents VALUES (1, 'first', repeat('0123456789', 1000), decode(repeat('ab', 5000), 'hex'));
UPDATE documents SET title = 'renamed' WHERE id = 1;
UPDATE documents SET body = repeat('x', 9000) WHERE id = 1;
-- compressed but inline values are ordinary values
INSERT INTO documents VALUES (2, 'compressible', repeat('y', 3000), NULL);
UPDATE documents SET title = 'again' WHERE id = 2;
DELETE FROM documents WHERE id = 1;

SELECT e->>'op' AS op,
       e->'after'->>'title' AS title,
       length(e->'after'->>'body') AS body_length,
       length(e->'after'->>'blob') AS blob_hex_length,
       e->'after' ? 'body' AS body_present,
       e->'unchanged_toast' AS unchanged_toast,
       e->'key' AS key
  FROM pg_logical_slot_peek_binary_changes('toast', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- the full value matches the table byte for byte
SELECT e->'after'->>'body' = (SELECT repeat('x', 9000)) AS changed_body_is_whole
  FROM pg_logical_slot_get_binary_changes('toast', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e
 WHERE e->>'op' = 'u' AND e->'after' ? 'body' AND e->'after'->>'id' = '1';

-- REPLICA IDENTITY FULL: the old image is complete even for TOASTed columns,
-- and an unchanged TOAST value of the new image is taken from it
ALTER TABLE documents REPLICA IDENTITY FULL;
INSERT INTO documents VALUES (3, 'full', repeat('z', 9000), NULL);
UPDATE documents SET title = 'full-updated' WHERE id = 3;
SELECT e->>'op' AS op,
       length(e->'before'->>'body') AS before_body_length,
       length(e->'after'->>'body') AS after_body_length,
       e->'unchanged_toast' AS unchanged_toast
  FROM pg_logical_slot_get_binary_changes('toast', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- a key too large to stay in line: an UPDATE that leaves it untouched still
-- carries the key (PostgreSQL logs out-of-line identity values in the old
-- row, and the new image and key are completed from it)
CREATE TABLE big_keys (k text PRIMARY KEY, note text);
ALTER TABLE big_keys ALTER COLUMN k SET STORAGE EXTERNAL;
INSERT INTO big_keys VALUES (repeat('k', 2500), 'a');
UPDATE big_keys SET note = 'b';
SELECT e->>'op' AS op,
       length(e->'key'->>'k') AS key_length,
       length(e->'before'->>'k') AS before_key_length,
       length(e->'after'->>'k') AS after_key_length,
       e->'unchanged_toast' AS unchanged_toast
  FROM pg_logical_slot_get_binary_changes('toast', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e;

SELECT pg_drop_replication_slot('toast');
DROP TABLE documents, big_keys;
