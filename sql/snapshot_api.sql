-- The snapshot SQL API: cdc_plugin.snapshot(), cancel_snapshot() and the
-- snapshots view, their errors and grants, checked with pgTAP. This
-- instance runs no worker (cdc_plugin is not preloaded): every refusal
-- below comes before that, and a valid request is refused only for that
-- reason. The worker's side is tested by the TAP suites.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
\pset format unaligned
\pset tuples_only true
CREATE ROLE regress_snap_member LOGIN IN ROLE cdc_plugin_snapshot;
CREATE ROLE regress_snap_nobody LOGIN;
CREATE TABLE snap_orders (id int PRIMARY KEY, note text);
CREATE TABLE snap_nokey (a int, b text);
CREATE TABLE snap_parted (id int, part int, PRIMARY KEY (id, part)) PARTITION BY LIST (part);
CREATE TABLE snap_parted_1 PARTITION OF snap_parted FOR VALUES IN (1);
CREATE TABLE snap_mixed (id int, part int) PARTITION BY LIST (part);
CREATE TABLE snap_mixed_1 PARTITION OF snap_mixed FOR VALUES IN (1);
CREATE UNLOGGED TABLE snap_unlogged (id int PRIMARY KEY);
CREATE VIEW snap_view AS SELECT * FROM snap_orders;
CREATE TEMP TABLE snap_temp (id int PRIMARY KEY);
GRANT SELECT ON snap_orders TO regress_snap_member;

SELECT plan(27);

-- who may call what
SELECT has_role('cdc_plugin_snapshot', 'CREATE EXTENSION creates role cdc_plugin_snapshot');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'cdc_plugin_snapshot'), false,
          'which cannot log in');
SELECT ok(NOT has_function_privilege('regress_snap_nobody', 'cdc_plugin.snapshot(regclass)', 'EXECUTE'),
          'PUBLIC may not call snapshot()');
SELECT ok(NOT has_function_privilege('regress_snap_nobody', 'cdc_plugin.cancel_snapshot(bigint)', 'EXECUTE'),
          'PUBLIC may not call cancel_snapshot()');
SELECT ok(has_function_privilege('regress_snap_member', 'cdc_plugin.snapshot(regclass)', 'EXECUTE'),
          'members of cdc_plugin_snapshot may call snapshot()');
SELECT ok(has_table_privilege('regress_snap_member', 'cdc_plugin.snapshots', 'SELECT'),
          'and read the snapshots view');
SELECT ok(has_table_privilege('pg_monitor', 'cdc_plugin.snapshots', 'SELECT'),
          'so may members of pg_monitor');
SELECT ok(NOT has_table_privilege('regress_snap_member', 'cdc_plugin.snapshot_queue',
                                  'SELECT, INSERT, UPDATE, DELETE, TRUNCATE'),
          'but nobody except the owner touches the queue table directly');
SELECT columns_are('cdc_plugin', 'snapshots',
                   ARRAY['id', 'request', 'table', 'kind', 'state', 'rows_done', 'rows_estimated',
                         'chunks_done', 'requested_by', 'requested', 'started', 'finished', 'error', 'gap'],
                   'the snapshots view shows one row per table snapshot with its progress');

-- a role that is neither superuser nor member is refused, with the grant to ask for
SET ROLE regress_snap_nobody;
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_orders')$$, '42501',
                 'permission denied for function snapshot',
                 'a role granted nothing cannot call snapshot()');
RESET ROLE;
GRANT EXECUTE ON FUNCTION cdc_plugin.snapshot(regclass), cdc_plugin.cancel_snapshot(bigint)
  TO regress_snap_nobody;
SET ROLE regress_snap_nobody;
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_orders')$$, '42501',
                 'permission denied to request a cdc_plugin snapshot',
                 'EXECUTE alone is not enough: snapshot() checks membership of cdc_plugin_snapshot');
SELECT throws_ok($$SELECT cdc_plugin.cancel_snapshot(1)$$, '42501',
                 'permission denied to cancel a cdc_plugin snapshot',
                 'and so does cancel_snapshot()');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION cdc_plugin.snapshot(regclass), cdc_plugin.cancel_snapshot(bigint)
  FROM regress_snap_nobody;

-- a member needs SELECT on the table
SET ROLE regress_snap_member;
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_nokey')$$, '42501',
                 'permission denied for table snap_nokey',
                 'a member may not snapshot a table it may not read');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_orders')$$, '55000',
                 'cdc_plugin is not in shared_preload_libraries, so no worker runs to take snapshots',
                 'a member may request a table it may read (refused here only because no worker runs)');
SELECT throws_ok($$INSERT INTO cdc_plugin.snapshot_queue (relid, schema_name, table_name, kind)
                   VALUES ('snap_nokey'::regclass, 'public', 'snap_nokey', 'incremental')$$, '42501',
                 'permission denied for table snapshot_queue',
                 'nor can it queue a snapshot behind snapshot()''s back');
SELECT is(cdc_plugin.cancel_snapshot(424242), false,
          'cancel_snapshot() of a snapshot that does not exist returns false');
RESET ROLE;

-- what cannot be snapshotted, and why
SELECT throws_ok($$SELECT cdc_plugin.snapshot('no_such_table')$$, '42P01',
                 'relation "no_such_table" does not exist',
                 'a table that does not exist');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_view')$$, '42809',
                 '"public.snap_view" is not a table',
                 'a view');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_unlogged')$$, '55000',
                 'table "public.snap_unlogged" is not captured: it is unlogged',
                 'an unlogged table (logical decoding sees none of its changes)');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_temp')$$, '55000',
                 NULL, 'a temporary table');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('pg_catalog.pg_class')$$, '55000',
                 'table "pg_catalog.pg_class" is not captured: its schema is never published',
                 'a system catalog');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('cdc_plugin.snapshot_queue')$$, '55000',
                 'table "cdc_plugin.snapshot_queue" is not captured: its schema is never published',
                 'the extension''s own queue');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_nokey')$$, '55000',
                 'table "public.snap_nokey" has no primary key or replica identity index',
                 'a table without a key (only the initial snapshot reads those)');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_mixed')$$, '55000',
                 'table "public.snap_mixed_1" has no primary key or replica identity index',
                 'a partitioned table with a leaf without a key');
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_parted')$$, '55000',
                 'cdc_plugin is not in shared_preload_libraries, so no worker runs to take snapshots',
                 'a partitioned table whose leaves all have a key is accepted (but no worker runs here)');
ALTER TABLE snap_nokey ALTER a SET NOT NULL;
CREATE UNIQUE INDEX snap_nokey_a ON snap_nokey (a);
ALTER TABLE snap_nokey REPLICA IDENTITY USING INDEX snap_nokey_a;
SELECT throws_ok($$SELECT cdc_plugin.snapshot('snap_nokey')$$, '55000',
                 'cdc_plugin is not in shared_preload_libraries, so no worker runs to take snapshots',
                 'a replica identity index is a key too');

SELECT is_empty('SELECT * FROM cdc_plugin.snapshots', 'none of these queued anything');
SELECT * FROM finish();

DROP TABLE snap_orders, snap_nokey, snap_parted, snap_mixed, snap_unlogged, snap_temp CASCADE;
DROP ROLE regress_snap_member, regress_snap_nobody;
