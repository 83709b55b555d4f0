-- What the plugin knows of a table (schema and table names, columns, type
-- names, how a composite's fields convert) is kept for the whole decoding
-- session and refreshed for just the tables a catalog change concerns.
-- Each block below is decoded in one call, so the changes after its DDL
-- are decoded with what the changes before it left in the cache.
SET client_min_messages = warning;
CREATE SCHEMA sales;
CREATE TABLE sales.orders (id int PRIMARY KEY, note text);
CREATE TABLE stock (id int PRIMARY KEY, qty int);
CREATE TABLE stock_moves (id int PRIMARY KEY, delta int);
CREATE TYPE colour_v1 AS ENUM ('red', 'green');
CREATE TYPE swatch AS (name text, c colour_v1);
CREATE TABLE paints (id int PRIMARY KEY, c colour_v1, cs colour_v1[]);
CREATE TABLE swatches (id int PRIMARY KEY, s swatch);
CREATE TYPE dims AS (w int, h int);
CREATE TYPE parcel AS (label text, d dims);
CREATE TABLE boxes (id int PRIMARY KEY, d dims);
CREATE TABLE parcels (id int PRIMARY KEY, p parcel, ds dims[]);
CREATE TABLE recycled (id int PRIMARY KEY, a text);
SELECT 'init' FROM pg_create_logical_replication_slot('relcache', 'cdc_plugin');

-- A schema rename: source.schema follows for the tables of that schema;
-- other tables keep theirs.
INSERT INTO sales.orders VALUES (1, 'in sales');
INSERT INTO stock VALUES (1, 10);
ALTER SCHEMA sales RENAME TO trade;
INSERT INTO trade.orders VALUES (2, 'in trade');
INSERT INTO stock VALUES (2, 20);
SELECT op, tbl, after FROM regress.changes('relcache');

-- A table rename, then a move to another schema.
INSERT INTO trade.orders VALUES (3, 'orders');
ALTER TABLE trade.orders RENAME TO purchases;
INSERT INTO trade.purchases VALUES (4, 'purchases');
ALTER TABLE trade.purchases SET SCHEMA public;
INSERT INTO public.purchases VALUES (5, 'moved to public');
SELECT op, tbl, after FROM regress.changes('relcache');

-- A type rename, with include-type-names: columns of that type (and of
-- arrays of it) and composite fields of it name the new type. The type
-- names are in the envelope only (JSON does not show them).
INSERT INTO paints VALUES (1, 'red', '{red,green}');
INSERT INTO swatches VALUES (1, ROW('rose', 'red'));
ALTER TYPE colour_v1 RENAME TO colour_v2;
INSERT INTO paints VALUES (2, 'green', '{green}');
INSERT INTO swatches VALUES (2, ROW('moss', 'green'));
SELECT e->'source'->>'table' AS tbl, e->'after' AS after,
       position(convert_to('colour_v1', 'UTF8') IN c.data) > 0 AS names_v1,
       position(convert_to('colour_v2', 'UTF8') IN c.data) > 0 AS names_v2
  FROM pg_logical_slot_get_binary_changes('relcache', NULL, NULL, 'include-type-names', 'true') c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- Attributes added to, dropped from and renamed in a composite type in use:
-- each value renders with the type's shape as of its change, in a column of
-- that type, nested in another composite and in an array. A value stored
-- before the attribute was added reads it as null.
INSERT INTO boxes VALUES (1, ROW(2, 3));
INSERT INTO parcels VALUES (1, ROW('small', ROW(2, 3)), ARRAY[ROW(1, 1), ROW(2, 2)]::dims[]);
ALTER TYPE dims ADD ATTRIBUTE depth int;
INSERT INTO boxes VALUES (2, ROW(4, 5, 6));
UPDATE boxes SET id = 10 WHERE id = 1;
INSERT INTO parcels VALUES (2, ROW('deep', ROW(4, 5, 6)), ARRAY[ROW(1, 1, 1)]::dims[]);
ALTER TYPE dims DROP ATTRIBUTE h;
INSERT INTO boxes VALUES (3, ROW(7, 8));
UPDATE boxes SET id = 20 WHERE id = 2;
INSERT INTO parcels VALUES (3, ROW('flat', ROW(7, 8)), ARRAY[ROW(1, 1), NULL]::dims[]);
ALTER TYPE dims RENAME ATTRIBUTE w TO width;
INSERT INTO boxes VALUES (4, ROW(9, 9));
INSERT INTO parcels VALUES (4, ROW('renamed', ROW(9, 9)), ARRAY[ROW(9, 9)]::dims[]);
SELECT op, tbl, after FROM regress.changes('relcache');

-- Two tables in one transaction, one of them altered halfway: each change
-- has its table's columns as of then, and the commit still counts both
-- tables' events.
BEGIN;
INSERT INTO stock VALUES (3, 30);
INSERT INTO stock_moves VALUES (1, 30);
ALTER TABLE stock ADD COLUMN bin text DEFAULT 'A1';
INSERT INTO stock VALUES (4, 40);
INSERT INTO stock_moves VALUES (2, 40);
COMMIT;
SELECT e->>'op' AS op,
       (e->'source'->>'schema') || '.' || (e->'source'->>'table') AS tbl,
       e->'transaction'->>'data_collection_order' AS table_order,
       e->'after' AS after, e->'summary' AS summary
  FROM pg_logical_slot_get_binary_changes('relcache', NULL, NULL,
         'include-transaction-events', 'true') c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- A table dropped and created again under the same name is a new table:
-- its changes have the new columns.
INSERT INTO recycled VALUES (1, 'first table');
DROP TABLE recycled;
CREATE TABLE recycled (id bigint PRIMARY KEY, b boolean);
INSERT INTO recycled VALUES (1, true);
SELECT op, tbl, after FROM regress.changes('relcache');

SELECT pg_drop_replication_slot('relcache');
DROP TABLE purchases, stock, stock_moves, paints, swatches, boxes, parcels, recycled;
DROP TYPE parcel, dims, swatch, colour_v2;
DROP SCHEMA trade;
