-- include-tables and exclude-tables select tables by schema.table patterns
-- with * wildcards; exclusion wins. Filtered tables produce no events and
-- (with skip-empty-xacts, the default) no empty transactions either.
SET client_min_messages = warning;
CREATE SCHEMA sales;
CREATE SCHEMA staging;
CREATE TABLE sales.orders (id int PRIMARY KEY);
CREATE TABLE sales.order_lines (id int PRIMARY KEY);
CREATE TABLE sales.refunds (id int PRIMARY KEY);
CREATE TABLE staging.orders (id int PRIMARY KEY);
CREATE TABLE public.orders_tmp (id int PRIMARY KEY);
SELECT 'init' FROM pg_create_logical_replication_slot('filters', 'cdc_plugin');

INSERT INTO sales.orders VALUES (1);
INSERT INTO sales.order_lines VALUES (1);
INSERT INTO sales.refunds VALUES (1);
INSERT INTO staging.orders VALUES (1);
INSERT INTO public.orders_tmp VALUES (1);
TRUNCATE sales.refunds, staging.orders;

-- everything by default
SELECT e->>'op' AS op, (e->'source'->>'schema') || '.' || (e->'source'->>'table') AS tbl
  FROM pg_logical_slot_peek_binary_changes('filters', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- one schema
SELECT e->>'op' AS op, (e->'source'->>'schema') || '.' || (e->'source'->>'table') AS tbl
  FROM pg_logical_slot_peek_binary_changes('filters', NULL, NULL, 'include-tables', 'sales.*') c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- wildcards in both parts, several patterns, spaces around commas
SELECT e->>'op' AS op, (e->'source'->>'schema') || '.' || (e->'source'->>'table') AS tbl
  FROM pg_logical_slot_peek_binary_changes('filters', NULL, NULL,
         'include-tables', '*.orders* , sales.refunds') c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- exclusion wins over inclusion
SELECT e->>'op' AS op, (e->'source'->>'schema') || '.' || (e->'source'->>'table') AS tbl
  FROM pg_logical_slot_peek_binary_changes('filters', NULL, NULL,
         'include-tables', 'sales.*', 'exclude-tables', 'sales.order_*') c,
       LATERAL cdc_plugin.to_json(c.data) e;

-- transactions that only touch filtered tables leave no begin/commit behind
SELECT e->>'op' AS op, (e->'source'->>'schema') || '.' || (e->'source'->>'table') AS tbl
  FROM pg_logical_slot_get_binary_changes('filters', NULL, NULL,
         'exclude-tables', 'staging.*, public.*, sales.order_*, sales.refunds',
         'include-transaction-events', 'true') c,
       LATERAL cdc_plugin.to_json(c.data) e;

SELECT pg_drop_replication_slot('filters');
DROP SCHEMA sales, staging CASCADE;
DROP TABLE public.orders_tmp;
