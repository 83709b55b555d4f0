-- Privileges, checked with pgTAP. A role that may create schemas in a
-- database cannot make the superuser who installs cdc_plugin there run its
-- code, and every object of the extension is granted exactly as the
-- README's "Who can call what" table says. Runs in a database of its own,
-- so the extension the other suites use stays as it is.
SET client_min_messages = warning;
CREATE ROLE regress_cdc_mallory LOGIN;   -- may create schemas in one database
CREATE ROLE regress_cdc_nobody LOGIN;    -- granted nothing: what PUBLIC may do
CREATE ROLE regress_cdc_monitor LOGIN IN ROLE pg_monitor;
CREATE DATABASE regress_cdc_privileges;
GRANT CREATE ON DATABASE regress_cdc_privileges TO regress_cdc_mallory;
\c regress_cdc_privileges
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
\pset format unaligned
\pset tuples_only true

-- The attack. Before a superuser installs cdc_plugin in this database,
-- mallory creates its schema with a to_json(text) that makes her a
-- superuser: an untyped literal, as in cdc_plugin.to_json('\x0801'),
-- picks her text overload over the extension's bytea one.
SET ROLE regress_cdc_mallory;
CREATE SCHEMA cdc_plugin;
CREATE FUNCTION cdc_plugin.to_json(envelope text) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  ALTER ROLE regress_cdc_mallory SUPERUSER;
  RETURN '{}';
END
$$;
RESET ROLE;

SELECT plan(30);

SELECT throws_ok('CREATE EXTENSION cdc_plugin', '42501',
                 'schema "cdc_plugin" already exists and is owned by role "regress_cdc_mallory", who is not a superuser',
                 'CREATE EXTENSION refuses a schema cdc_plugin owned by a role that is not a superuser');
SELECT hasnt_extension('cdc_plugin', 'so the extension is not installed');
-- what a superuser runs next where the extension got installed (README, "Use")
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_extension WHERE extname = 'cdc_plugin') THEN
    PERFORM cdc_plugin.to_json('\x0801');
  END IF;
END
$$;
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_cdc_mallory'), false,
          'mallory''s function never ran: she is not a superuser');

-- A schema a superuser owns is refused too while others may create objects
-- in it, or while it holds objects of roles that are not superusers.
DROP SCHEMA cdc_plugin CASCADE;
CREATE SCHEMA cdc_plugin;
GRANT CREATE ON SCHEMA cdc_plugin TO regress_cdc_mallory;
SELECT throws_ok('CREATE EXTENSION cdc_plugin', '42501',
                 'schema "cdc_plugin" already exists and role "regress_cdc_mallory" may create objects in it',
                 'CREATE EXTENSION refuses a schema cdc_plugin in which a role that is not a superuser may create objects');
REVOKE CREATE ON SCHEMA cdc_plugin FROM regress_cdc_mallory;
GRANT CREATE ON SCHEMA cdc_plugin TO PUBLIC;
SELECT throws_ok('CREATE EXTENSION cdc_plugin', '42501',
                 'schema "cdc_plugin" already exists and role "PUBLIC" may create objects in it',
                 'CREATE EXTENSION refuses a schema cdc_plugin in which everyone may create objects');
REVOKE CREATE ON SCHEMA cdc_plugin FROM PUBLIC;
GRANT CREATE ON SCHEMA cdc_plugin TO regress_cdc_mallory;
SET ROLE regress_cdc_mallory;
CREATE FUNCTION cdc_plugin.to_json(envelope text) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
RESET ROLE;
REVOKE CREATE ON SCHEMA cdc_plugin FROM regress_cdc_mallory;
SELECT throws_ok('CREATE EXTENSION cdc_plugin', '42501',
                 'schema "cdc_plugin" already exists and holds objects of roles that are not superusers: function cdc_plugin.to_json(pg_catalog.text)',
                 'CREATE EXTENSION refuses a schema cdc_plugin holding an object of a role that is not a superuser');
SELECT hasnt_extension('cdc_plugin', 'none of these installed the extension');

-- Without the schema, CREATE EXTENSION creates it, owned by the superuser;
-- DROP EXTENSION leaves it behind, empty, and installing again accepts it.
DROP SCHEMA cdc_plugin CASCADE;
SELECT lives_ok('CREATE EXTENSION cdc_plugin',
                'CREATE EXTENSION cdc_plugin works in a database without the schema');
SELECT is((SELECT r.rolsuper FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
            WHERE n.nspname = 'cdc_plugin'), true,
          'schema cdc_plugin is owned by a superuser');
SELECT lives_ok('DROP EXTENSION cdc_plugin', 'DROP EXTENSION cdc_plugin works');
SELECT has_schema('cdc_plugin', 'and leaves schema cdc_plugin behind');
SELECT lives_ok('CREATE EXTENSION cdc_plugin',
                'CREATE EXTENSION cdc_plugin works again after DROP EXTENSION');

-- Nothing of the extension depends on search_path: C functions, and any
-- other function pins its own search_path.
SELECT is_empty($$
  SELECT p.oid::regprocedure
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
   WHERE p.pronamespace = 'cdc_plugin'::regnamespace AND l.lanname <> 'c'
     AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')$$,
  'every function of the extension is written in C or sets its own search_path');

-- The grants: exactly the README's table, and nothing else.
SELECT results_eq($$
  SELECT * FROM (
    SELECT o.object, CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
           a.privilege_type
      FROM (SELECT 'function ' || p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f', p.proowner)), p.proowner
              FROM pg_proc p WHERE p.pronamespace = 'cdc_plugin'::regnamespace
            UNION ALL
            SELECT 'view ' || c.oid::regclass::text, coalesce(c.relacl, acldefault('r', c.relowner)), c.relowner
              FROM pg_class c WHERE c.relnamespace = 'cdc_plugin'::regnamespace
            UNION ALL
            SELECT 'schema cdc_plugin', coalesce(n.nspacl, acldefault('n', n.nspowner)), n.nspowner
              FROM pg_namespace n WHERE n.nspname = 'cdc_plugin') o(object, acl, owner),
           LATERAL aclexplode(o.acl) a
     WHERE a.grantee <> o.owner) g(object, grantee, privilege)
   ORDER BY object COLLATE "C", grantee COLLATE "C", privilege COLLATE "C"$$,
  $$VALUES ('function cdc_plugin.cancel_snapshot(bigint)', 'cdc_plugin_snapshot', 'EXECUTE'),
           ('function cdc_plugin.publish(text,text,bytea,jsonb)', 'cdc_plugin_publisher', 'EXECUTE'),
           ('function cdc_plugin.publish(text,text,jsonb,jsonb)', 'cdc_plugin_publisher', 'EXECUTE'),
           ('function cdc_plugin.publish(text,text,text,jsonb)', 'cdc_plugin_publisher', 'EXECUTE'),
           ('function cdc_plugin.snapshot(regclass)', 'cdc_plugin_snapshot', 'EXECUTE'),
           ('function cdc_plugin.status()', 'pg_monitor', 'EXECUTE'),
           ('function cdc_plugin.to_json(bytea)', 'PUBLIC', 'EXECUTE'),
           ('function cdc_plugin.version()', 'PUBLIC', 'EXECUTE'),
           ('schema cdc_plugin', 'PUBLIC', 'USAGE'),
           ('view cdc_plugin.gaps', 'cdc_plugin_snapshot', 'SELECT'),
           ('view cdc_plugin.gaps', 'pg_monitor', 'SELECT'),
           ('view cdc_plugin.schema_versions', 'pg_monitor', 'SELECT'),
           ('view cdc_plugin.snapshots', 'cdc_plugin_snapshot', 'SELECT'),
           ('view cdc_plugin.snapshots', 'pg_monitor', 'SELECT'),
           ('view cdc_plugin.worker_status', 'pg_monitor', 'SELECT')$$,
  'the extension grants these privileges to roles other than its owner, and no others');

-- What a role granted nothing may do, and what pg_monitor's members may.
SELECT ok(has_schema_privilege('regress_cdc_nobody', 'cdc_plugin', 'USAGE'),
          'everyone may look up objects in schema cdc_plugin');
SELECT ok(NOT has_schema_privilege('regress_cdc_nobody', 'cdc_plugin', 'CREATE'),
          'nobody but superusers may create objects in schema cdc_plugin');
SELECT ok(NOT has_schema_privilege('regress_cdc_mallory', 'cdc_plugin', 'CREATE'),
          'not even a role that may create schemas in the database');
SELECT ok(has_function_privilege('regress_cdc_nobody', 'cdc_plugin.to_json(bytea)', 'EXECUTE'),
          'everyone may call to_json(bytea)');
SELECT ok(has_function_privilege('regress_cdc_nobody', 'cdc_plugin.version()', 'EXECUTE'),
          'everyone may call version()');
SELECT ok(NOT has_function_privilege('regress_cdc_nobody', 'cdc_plugin.recover_slot()', 'EXECUTE'),
          'nobody but superusers may call recover_slot() unless granted');
SELECT ok(NOT has_table_privilege('regress_cdc_nobody', 'cdc_plugin.gaps', 'SELECT'),
          'a role granted nothing may not read the gaps');
SELECT ok(NOT has_function_privilege('regress_cdc_nobody', 'cdc_plugin.status()', 'EXECUTE'),
          'a role granted nothing may not call status()');
SELECT ok(NOT has_table_privilege('regress_cdc_nobody', 'cdc_plugin.worker_status', 'SELECT'),
          'a role granted nothing may not read worker_status');
SELECT ok(has_function_privilege('regress_cdc_monitor', 'cdc_plugin.status()', 'EXECUTE'),
          'a member of pg_monitor may call status()');
SELECT ok(has_table_privilege('regress_cdc_monitor', 'cdc_plugin.worker_status', 'SELECT'),
          'a member of pg_monitor may read worker_status');
SELECT ok(NOT has_table_privilege('regress_cdc_monitor', 'cdc_plugin.worker_status',
                                  'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),
          'and do nothing else with it');
SELECT ok(NOT has_table_privilege('regress_cdc_nobody', 'cdc_plugin.schema_state', 'SELECT, INSERT, UPDATE, DELETE'),
          'a role granted nothing may neither read nor write schema_state');
SELECT ok(NOT has_table_privilege('regress_cdc_nobody', 'cdc_plugin.schema_versions', 'SELECT'),
          'a role granted nothing may not read schema_versions');
SELECT ok(has_table_privilege('regress_cdc_monitor', 'cdc_plugin.schema_versions', 'SELECT'),
          'a member of pg_monitor may read schema_versions');
SELECT ok(NOT has_function_privilege('regress_cdc_nobody', 'cdc_plugin.on_ddl_command_end()', 'EXECUTE')
          AND NOT has_function_privilege('regress_cdc_nobody', 'cdc_plugin.on_sql_drop()', 'EXECUTE'),
          'nobody is granted the event trigger functions (event triggers call them regardless)');
SELECT * FROM finish();

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_cdc_privileges;
DROP ROLE regress_cdc_mallory, regress_cdc_nobody, regress_cdc_monitor;
