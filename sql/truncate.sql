-- TRUNCATE becomes one t event per truncated table, with its CASCADE and
-- RESTART IDENTITY flags.
SET client_min_messages = warning;
CREATE TABLE customers (id serial PRIMARY KEY, name text);
CREATE TABLE invoices (id serial PRIMARY KEY, customer_id int REFERENCES customers);
CREATE TABLE scratch (id int);
SELECT 'init' FROM pg_create_logical_replication_slot('trunc', 'cdc_plugin');

INSERT INTO customers (name) VALUES ('a');
INSERT INTO invoices (customer_id) VALUES (1);
TRUNCATE scratch;
TRUNCATE customers RESTART IDENTITY CASCADE;
TRUNCATE scratch, invoices;
SELECT op, tbl, key, extra FROM regress.changes('trunc');

SELECT pg_drop_replication_slot('trunc');
DROP TABLE invoices, customers, scratch;
