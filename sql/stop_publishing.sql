-- cdc_plugin.stop_publishing() and what DROP EXTENSION says about slots,
-- on a server where cdc_plugin is not preloaded (test/regress.conf): who
-- may call it, what it says with no worker, which slot it drops and which
-- it refuses, and the WARNING of DROP EXTENSION for each cdc_plugin slot
-- of its database (none for other databases' slots, other plugins' slots,
-- or other extensions). The worker's side is test/t/051_stop_publishing.pl.
-- Runs in a database of its own, so the extension the other suites use
-- stays as it is.
CREATE ROLE regress_cdc_operator LOGIN;
CREATE DATABASE regress_cdc_uninstall;
-- a cdc_plugin slot of another database: no DROP EXTENSION below names it
SELECT 'created' FROM pg_create_logical_replication_slot('regress_cdc_elsewhere', 'cdc_plugin');
\c regress_cdc_uninstall
SET client_min_messages = notice;
CREATE EXTENSION cdc_plugin;

-- Superusers only: EXECUTE is revoked from PUBLIC, and a GRANT is not
-- enough either (the function checks).
SELECT has_function_privilege('regress_cdc_operator', 'cdc_plugin.stop_publishing(boolean)', 'EXECUTE');
SET ROLE regress_cdc_operator;
SELECT cdc_plugin.stop_publishing();
RESET ROLE;
GRANT EXECUTE ON FUNCTION cdc_plugin.stop_publishing(boolean) TO regress_cdc_operator;
SET ROLE regress_cdc_operator;
SELECT cdc_plugin.stop_publishing(drop_slot => true);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION cdc_plugin.stop_publishing(boolean) FROM regress_cdc_operator;
SELECT has_function_privilege('regress_cdc_operator', 'cdc_plugin.on_drop_extension()', 'EXECUTE');

-- Not preloaded: no worker to stop, and status() is unchanged.
SELECT cdc_plugin.stop_publishing();
SELECT state FROM cdc_plugin.status();
-- drop_slot looks for the slot named by cdc_plugin.slot_name (default
-- cdc_plugin): there is none yet
SELECT cdc_plugin.stop_publishing(drop_slot => true);
-- a slot of that name of another plugin is not the worker's: refused, kept
SELECT 'created' FROM pg_create_logical_replication_slot('cdc_plugin', 'test_decoding');
SELECT cdc_plugin.stop_publishing(drop_slot => true);
SELECT slot_name, plugin FROM pg_replication_slots WHERE slot_name = 'cdc_plugin';
SELECT pg_drop_replication_slot('cdc_plugin');
-- a cdc_plugin slot of another database is left to that database
\c contrib_regression
SELECT 'created' FROM pg_create_logical_replication_slot('cdc_plugin', 'cdc_plugin');
\c regress_cdc_uninstall
SET client_min_messages = notice;
SELECT cdc_plugin.stop_publishing(drop_slot => true);
\c contrib_regression
SELECT pg_drop_replication_slot('cdc_plugin');
\c regress_cdc_uninstall
SET client_min_messages = notice;
-- a left-over cdc_plugin slot nobody holds is dropped
SELECT 'created' FROM pg_create_logical_replication_slot('cdc_plugin', 'cdc_plugin');
SELECT cdc_plugin.stop_publishing(drop_slot => true);
SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_plugin';
-- drop_slot => false never drops one
SELECT 'created' FROM pg_create_logical_replication_slot('cdc_plugin', 'cdc_plugin');
SELECT cdc_plugin.stop_publishing(drop_slot => false);
SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_plugin';
SELECT pg_drop_replication_slot('cdc_plugin');
-- STRICT: a null drop_slot does nothing
SELECT cdc_plugin.stop_publishing(NULL) IS NULL AS "null in, null out";

-- DROP EXTENSION with no cdc_plugin slot in this database (one is in
-- contrib_regression): no warning.
DROP EXTENSION cdc_plugin;
CREATE EXTENSION cdc_plugin;

-- With two cdc_plugin slots here (and one of another plugin): one WARNING
-- each, in name order, and DROP EXTENSION drops none of them.
SELECT 'created' FROM pg_create_logical_replication_slot('regress_cdc_b', 'cdc_plugin');
SELECT 'created' FROM pg_create_logical_replication_slot('regress_cdc_a', 'cdc_plugin');
SELECT 'created' FROM pg_create_logical_replication_slot('regress_cdc_other', 'test_decoding');
DROP EXTENSION cdc_plugin;
SELECT slot_name, plugin, database FROM pg_replication_slots ORDER BY slot_name;

-- Dropping another extension says nothing; one DROP naming several does.
CREATE EXTENSION cdc_plugin;
CREATE EXTENSION pgtap;
DROP EXTENSION pgtap;
CREATE EXTENSION pgtap;
DROP EXTENSION IF EXISTS pgtap, cdc_plugin;

-- Once the slots are dropped, DROP EXTENSION has nothing to say. The
-- trigger function is for the event trigger only.
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
 WHERE slot_name IN ('regress_cdc_a', 'regress_cdc_b', 'regress_cdc_other');
CREATE EXTENSION cdc_plugin;
SELECT cdc_plugin.on_drop_extension();
DROP EXTENSION cdc_plugin;
\c contrib_regression
SELECT pg_drop_replication_slot('regress_cdc_elsewhere');
DROP DATABASE regress_cdc_uninstall;
DROP ROLE regress_cdc_operator;
