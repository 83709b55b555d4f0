-- The extension's SQL API, checked with pgTAP: what exists, with which
-- signature, and how it fails.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\pset format unaligned
\pset tuples_only true

SELECT plan(18);

SELECT has_schema('cdc_plugin', 'the extension lives in schema cdc_plugin');
SELECT has_function('cdc_plugin', 'to_json', ARRAY['bytea'], 'cdc_plugin.to_json(bytea) exists');
SELECT function_returns('cdc_plugin', 'to_json', ARRAY['bytea'], 'jsonb', 'to_json returns jsonb');
SELECT is_strict('cdc_plugin', 'to_json', ARRAY['bytea'], 'to_json is strict: NULL in, NULL out');
SELECT volatility_is('cdc_plugin', 'to_json', ARRAY['bytea'], 'immutable', 'to_json is immutable');
SELECT is(cdc_plugin.to_json(NULL), NULL, 'to_json(NULL) is NULL');
SELECT has_function('cdc_plugin', 'version', '{}'::name[], 'cdc_plugin.version() exists');
SELECT is(cdc_plugin.version(),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'cdc_plugin'),
          'version() reports the version in cdc_plugin.control');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'cdc_plugin'),
          cdc_plugin.version(), 'installed extension version matches the library');
SELECT throws_ok($$SELECT cdc_plugin.to_json('\x'::bytea)$$, '22P03', NULL,
                 'an empty envelope is rejected');
SELECT throws_ok($$SELECT cdc_plugin.to_json('\xdeadbeef'::bytea)$$, '22P03', NULL,
                 'garbage bytes are rejected');
SELECT throws_like($$SELECT cdc_plugin.to_json('\xffffffff'::bytea)$$, 'invalid envelope%',
                   'the error says the envelope is invalid');
SELECT lives_ok($$SELECT pg_drop_replication_slot(slot_name) FROM
                  (SELECT slot_name FROM pg_create_logical_replication_slot('api_slot', 'cdc_plugin')) s$$,
                'a slot can be created with the cdc_plugin output plugin');

SELECT has_function('cdc_plugin', 'status', '{}'::name[], 'cdc_plugin.status() exists');
SELECT has_view('cdc_plugin', 'worker_status', 'the view cdc_plugin.worker_status exists');
SELECT results_eq($$SELECT pid, state, last_error FROM cdc_plugin.status()$$,
                  $$VALUES (NULL::int, 'not loaded'::text,
                            'cdc_plugin is not in shared_preload_libraries, so no worker runs'::text)$$,
                  'without shared_preload_libraries status() says no worker runs, and why');
SELECT ok(NOT has_function_privilege('public', 'cdc_plugin.status()', 'EXECUTE'),
          'status() is not executable by PUBLIC');
SELECT ok(has_function_privilege('pg_monitor', 'cdc_plugin.status()', 'EXECUTE'),
          'status() is executable by pg_monitor');

SELECT * FROM finish();
