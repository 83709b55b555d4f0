-- cdc_plugin extension objects. The output plugin itself needs no SQL
-- object (slots name it directly); these functions help people and tests.

\echo Use "CREATE EXTENSION cdc_plugin" to load this file. \quit

-- Every name below is qualified, types and operators too (integer, bigint
-- and interval are keywords that always mean pg_catalog's): while this
-- script runs, search_path is schema cdc_plugin, and nothing here may
-- resolve to an object someone else put there.

-- The control file names schema cdc_plugin. CREATE EXTENSION creates it,
-- owned by the superuser who runs it, when it is missing, and uses it as it
-- is when it exists. Everything here trusts that schema: whoever owns it,
-- may create objects in it or left objects in it can put an overload in
-- front of a superuser's call (an untyped literal, as in
-- cdc_plugin.to_json('\x0801'), picks a to_json(text) over to_json(bytea)).
-- So an existing schema is accepted only when a superuser owns it, only
-- superusers may create objects in it, and superusers own all it holds; the
-- empty schema a DROP EXTENSION leaves behind passes.
DO $check_schema$
DECLARE
  schema_oid pg_catalog.oid;
  owner_name pg_catalog.name;
  owner_is_super pg_catalog.bool;
  creator pg_catalog.text;
  foreign_objects pg_catalog.text;
BEGIN
  SELECT n.oid, r.rolname, r.rolsuper INTO schema_oid, owner_name, owner_is_super
    FROM pg_catalog.pg_namespace n
    JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
   WHERE n.nspname OPERATOR(pg_catalog.=) 'cdc_plugin'::pg_catalog.name;
  IF NOT owner_is_super THEN
    RAISE EXCEPTION 'schema "cdc_plugin" already exists and is owned by role "%", who is not a superuser',
                    owner_name
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'cdc_plugin installs into schema cdc_plugin and trusts what it holds. Check what the schema holds, drop or rename it, then run CREATE EXTENSION cdc_plugin again.';
  END IF;

  SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
              ELSE r.rolname::pg_catalog.text END
    INTO creator
    FROM pg_catalog.pg_namespace n
   CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) a
    LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
   WHERE n.oid OPERATOR(pg_catalog.=) schema_oid
     AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'::pg_catalog.text
     AND NOT coalesce(r.rolsuper, false)
   ORDER BY 1
   LIMIT 1;
  IF creator IS NOT NULL THEN
    RAISE EXCEPTION 'schema "cdc_plugin" already exists and role "%" may create objects in it',
                    creator
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'cdc_plugin installs into schema cdc_plugin and trusts what it holds. Revoke CREATE on the schema from every role that is not a superuser, check what the schema holds, then run CREATE EXTENSION cdc_plugin again.';
  END IF;

  -- ownership of every object, except the bootstrap superuser's, is in pg_shdepend
  SELECT pg_catalog.string_agg(pg_catalog.format('%s %s', o.type, o.identity), ', '
                               ORDER BY o.type, o.identity)
    INTO foreign_objects
    FROM pg_catalog.pg_shdepend d
    JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) d.refobjid
   CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) o
   WHERE d.dbid OPERATOR(pg_catalog.=)
           (SELECT db.oid FROM pg_catalog.pg_database db
             WHERE db.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
     AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass
     AND d.deptype OPERATOR(pg_catalog.=) 'o'::pg_catalog.char
     AND NOT r.rolsuper
     AND o.schema OPERATOR(pg_catalog.=) 'cdc_plugin'::pg_catalog.text;
  IF foreign_objects IS NOT NULL THEN
    RAISE EXCEPTION 'schema "cdc_plugin" already exists and holds objects of roles that are not superusers: %',
                    foreign_objects
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'cdc_plugin installs into schema cdc_plugin and trusts what it holds. Check these objects, drop them or the schema, then run CREATE EXTENSION cdc_plugin again.';
  END IF;
END
$check_schema$;

-- to_json() and version() are for everyone; status() is granted below
GRANT USAGE ON SCHEMA cdc_plugin TO PUBLIC;

CREATE FUNCTION cdc_plugin.to_json(envelope pg_catalog.bytea)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'cdc_plugin_to_json'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION cdc_plugin.to_json(pg_catalog.bytea) IS
'renders one cdc.v1.Envelope (as produced by the cdc_plugin output plugin) as jsonb';

CREATE FUNCTION cdc_plugin.version()
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'cdc_plugin_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION cdc_plugin.version() IS
'version of the loaded cdc_plugin library';

CREATE FUNCTION cdc_plugin.status(
    OUT pid integer,
    OUT state pg_catalog.text,
    OUT database pg_catalog.text,
    OUT slot_name pg_catalog.text,
    OUT confirmed_lsn pg_catalog.pg_lsn,
    OUT wal_behind_bytes bigint,
    OUT retained_wal_bytes bigint,
    OUT last_commit_time pg_catalog.timestamptz,
    OUT lag interval,
    OUT events_published bigint,
    OUT bytes_published bigint,
    OUT transactions_published bigint,
    OUT in_flight bigint,
    OUT delivery_errors bigint,
    OUT restarts bigint,
    OUT broker pg_catalog.text,
    OUT last_error pg_catalog.text,
    OUT last_error_time pg_catalog.timestamptz,
    OUT state_since pg_catalog.timestamptz,
    OUT snapshot_id bigint,
    OUT snapshot_table pg_catalog.text,
    OUT snapshot_rows bigint,
    OUT snapshot_rows_estimated bigint,
    OUT wal_status pg_catalog.text,
    OUT wal_budget_bytes bigint,
    OUT safe_wal_bytes bigint,
    OUT wal_budget_used double precision,
    OUT gaps bigint,
    OUT last_gap_from_lsn pg_catalog.pg_lsn,
    OUT last_gap_to_lsn pg_catalog.pg_lsn,
    OUT last_gap_time pg_catalog.timestamptz)
RETURNS pg_catalog.record
AS 'MODULE_PATHNAME', 'cdc_plugin_status'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION cdc_plugin.status() IS
'state of the cdc_plugin background worker, its slot, and what it published to Kafka';

CREATE VIEW cdc_plugin.worker_status AS SELECT * FROM cdc_plugin.status();

COMMENT ON VIEW cdc_plugin.worker_status IS
'one row: the cdc_plugin background worker (see cdc_plugin.status())';

-- status() reveals only operational facts, but restrict it like
-- pg_stat_replication's details: monitoring roles and superusers.
REVOKE ALL ON FUNCTION cdc_plugin.status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cdc_plugin.status() TO pg_monitor;
REVOKE ALL ON cdc_plugin.worker_status FROM PUBLIC;
GRANT SELECT ON cdc_plugin.worker_status TO pg_monitor;

-- ---------------------------------------------------------------------
-- Snapshots
-- ---------------------------------------------------------------------

-- Members of this role may request and cancel snapshots (of tables they
-- may SELECT). Roles are cluster-wide: it is created by the first CREATE
-- EXTENSION in the cluster and kept by DROP EXTENSION.
DO $role$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
                  WHERE rolname OPERATOR(pg_catalog.=) 'cdc_plugin_snapshot'::pg_catalog.name) THEN
    CREATE ROLE cdc_plugin_snapshot NOLOGIN;
  END IF;
END
$role$;

-- One row per table snapshot: what the worker reads, and how far Kafka has
-- acknowledged it. Written by snapshot(), cancel_snapshot() and the worker
-- only; its changes are never published.
CREATE TABLE cdc_plugin.snapshot_queue (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request bigint,                    -- what snapshot() returned when it queued several
                                       -- leaves of a partitioned table; NULL: the id itself
    relid pg_catalog.oid NOT NULL,
    schema_name pg_catalog.text NOT NULL,
    table_name pg_catalog.text NOT NULL,
    kind pg_catalog.text NOT NULL
      CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['initial', 'incremental', 'gap']::pg_catalog.text[])),
    state pg_catalog.text NOT NULL DEFAULT 'queued'
      CHECK (state OPERATOR(pg_catalog.=)
             ANY (ARRAY['queued', 'running', 'done', 'failed', 'cancelled']::pg_catalog.text[])),
    rows_done bigint NOT NULL DEFAULT 0,       -- r events Kafka acknowledged
    rows_estimated bigint,
    chunks_done bigint NOT NULL DEFAULT 0,     -- chunks Kafka acknowledged
    last_key pg_catalog.text[],                -- key of the last acknowledged row (resume point)
    requested_by pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    requested pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    started pg_catalog.timestamptz,
    finished pg_catalog.timestamptz,
    error pg_catalog.text,
    gap bigint                         -- kind gap: the gap (cdc_plugin.gaps) it re-reads after
);

CREATE INDEX snapshot_queue_pending ON cdc_plugin.snapshot_queue (id)
  WHERE state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[]);

COMMENT ON TABLE cdc_plugin.snapshot_queue IS
'table snapshots requested from the cdc_plugin worker and their progress (see cdc_plugin.snapshots)';

CREATE VIEW cdc_plugin.snapshots AS
  SELECT id, coalesce(request, id) AS request,
         pg_catalog.format('%I.%I', schema_name, table_name) AS "table",
         kind, state, rows_done, rows_estimated, chunks_done,
         requested_by, requested, started, finished, error, gap
    FROM cdc_plugin.snapshot_queue;

COMMENT ON VIEW cdc_plugin.snapshots IS
'one row per table snapshot of the cdc_plugin worker: state and progress';

CREATE FUNCTION cdc_plugin.snapshot(table_name pg_catalog.regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cdc_plugin_snapshot'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION cdc_plugin.snapshot(pg_catalog.regclass) IS
'queues a snapshot of a captured table (each leaf of a partitioned one) for the worker; returns its request id';

CREATE FUNCTION cdc_plugin.cancel_snapshot(id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cdc_plugin_cancel_snapshot'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION cdc_plugin.cancel_snapshot(bigint) IS
'cancels a queued or running snapshot (a snapshot id or a request id); true if one was cancelled';

-- Only superusers and members of cdc_plugin_snapshot may call these (the
-- functions check it too); the queue itself is written through them.
REVOKE ALL ON cdc_plugin.snapshot_queue FROM PUBLIC;
REVOKE ALL ON cdc_plugin.snapshots FROM PUBLIC;
GRANT SELECT ON cdc_plugin.snapshots TO pg_monitor, cdc_plugin_snapshot;
REVOKE ALL ON FUNCTION cdc_plugin.snapshot(pg_catalog.regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc_plugin.cancel_snapshot(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cdc_plugin.snapshot(pg_catalog.regclass) TO cdc_plugin_snapshot;
GRANT EXECUTE ON FUNCTION cdc_plugin.cancel_snapshot(bigint) TO cdc_plugin_snapshot;

-- ---------------------------------------------------------------------
-- Gaps: changes lost when max_slot_wal_keep_size invalidated the slot
-- ---------------------------------------------------------------------

-- One row per lost slot, written by the worker and recover_slot() only:
-- waiting (cdc_plugin.on_slot_lost = 'stop', until recover_slot()),
-- recovering (the worker recreates the slot, publishes gap events and
-- queues the re-snapshots), done (Kafka acknowledged the gap events and
-- the new slot is kept). At most one row is not done.
CREATE TABLE cdc_plugin.gap_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_name pg_catalog.name NOT NULL,
    state pg_catalog.text NOT NULL
      CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['waiting', 'recovering', 'done']::pg_catalog.text[])),
    reason pg_catalog.text NOT NULL,
    lost_from_lsn pg_catalog.pg_lsn NOT NULL,  -- the lost slot's confirmed position
    invalidated_at_lsn pg_catalog.pg_lsn,      -- its restart position when it was invalidated
    lost_to_lsn pg_catalog.pg_lsn,             -- the new slot's start
    detected pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    recovery_requested_by pg_catalog.name,     -- recover_slot()'s caller; NULL: the worker
    recovered pg_catalog.timestamptz,
    tables_captured integer,
    tables_resnapshot integer,
    resnapshot_all boolean,
    resnapshot_why pg_catalog.text
);

CREATE UNIQUE INDEX gap_log_open ON cdc_plugin.gap_log ((true))
  WHERE state OPERATOR(pg_catalog.<>) 'done';

COMMENT ON TABLE cdc_plugin.gap_log IS
'slots of the cdc_plugin worker that max_slot_wal_keep_size invalidated, and their recovery (see cdc_plugin.gaps)';

CREATE VIEW cdc_plugin.gaps AS
  SELECT id, slot_name, state, reason, lost_from_lsn, lost_to_lsn, invalidated_at_lsn,
         detected, recovered, recovery_requested_by,
         tables_captured, tables_resnapshot, resnapshot_all, resnapshot_why
    FROM cdc_plugin.gap_log;

COMMENT ON VIEW cdc_plugin.gaps IS
'one row per gap: a lost replication slot of the cdc_plugin worker, the changes lost, and what was re-snapshotted';

-- Per captured table, its change counters (pg_stat_all_tables' n_tup_ins +
-- n_tup_upd + n_tup_del, and its relfilenode, which TRUNCATE changes) as
-- of change_counters_state.recorded_lsn, a position Kafka had acknowledged
-- everything before. After a loss, a table whose counters differ now is
-- re-snapshotted.
CREATE TABLE cdc_plugin.change_counters (
    relid pg_catalog.oid PRIMARY KEY,
    relfilenode pg_catalog.oid NOT NULL,
    changes bigint NOT NULL
);

CREATE TABLE cdc_plugin.change_counters_state (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    slot_name pg_catalog.name NOT NULL,
    recorded_lsn pg_catalog.pg_lsn NOT NULL,
    database_stats_reset pg_catalog.timestamptz,   -- pg_stat_database.stats_reset then
    wal_stats_reset pg_catalog.timestamptz,        -- pg_stat_wal.stats_reset (crash recovery sets it)
    recorded pg_catalog.timestamptz NOT NULL
);

COMMENT ON TABLE cdc_plugin.change_counters IS
'per captured table, its change counters when the cdc_plugin worker last recorded them';

CREATE FUNCTION cdc_plugin.recover_slot()
RETURNS bigint
AS 'MODULE_PATHNAME', 'cdc_plugin_recover_slot'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION cdc_plugin.recover_slot() IS
'with cdc_plugin.on_slot_lost = stop: lets the worker drop its lost slot, create a new one, publish gap events and re-snapshot; returns the gap id';

REVOKE ALL ON cdc_plugin.gap_log FROM PUBLIC;
REVOKE ALL ON cdc_plugin.change_counters FROM PUBLIC;
REVOKE ALL ON cdc_plugin.change_counters_state FROM PUBLIC;
REVOKE ALL ON cdc_plugin.gaps FROM PUBLIC;
GRANT SELECT ON cdc_plugin.gaps TO pg_monitor, cdc_plugin_snapshot;
-- superusers and roles with REPLICATION (the function checks it) that are granted it
REVOKE ALL ON FUNCTION cdc_plugin.recover_slot() FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Schema changes: the event trigger and the compatibility guard
-- ---------------------------------------------------------------------

-- One row per captured table: the shape last described in the WAL (a
-- cdc_plugin.schema logical message) and its version. Written only by the
-- event trigger (as this table's owner). A user catalog table, so that
-- logical decoding can read it with its historic snapshots.
CREATE TABLE cdc_plugin.schema_state (
    relid pg_catalog.oid PRIMARY KEY,
    schema_name pg_catalog.text NOT NULL,
    table_name pg_catalog.text NOT NULL,
    schema_version bigint NOT NULL,
    columns pg_catalog.jsonb NOT NULL,         -- [{attnum, name, type, type_oid, typmod, not_null, has_default, key}]
    replica_identity pg_catalog.text NOT NULL, -- default, full, index, nothing
    table_owner pg_catalog.oid NOT NULL,       -- who may pass a refused DROP TABLE (the table is gone by then)
    updated pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
) WITH (user_catalog_table = true);

COMMENT ON TABLE cdc_plugin.schema_state IS
'per captured table, the shape the cdc_plugin event trigger last described and its version (see cdc_plugin.schema_versions)';

CREATE VIEW cdc_plugin.schema_versions AS
  SELECT relid, pg_catalog.format('%I.%I', schema_name, table_name) AS "table",
         schema_version, columns, replica_identity, updated
    FROM cdc_plugin.schema_state;

COMMENT ON VIEW cdc_plugin.schema_versions IS
'one row per captured table: its schema version and shape as the cdc_plugin event trigger last described them';

REVOKE ALL ON cdc_plugin.schema_state FROM PUBLIC;
REVOKE ALL ON cdc_plugin.schema_versions FROM PUBLIC;
GRANT SELECT ON cdc_plugin.schema_versions TO pg_monitor;

-- version 1 of every captured table that exists now
CREATE FUNCTION cdc_plugin.schema_state_seed()
RETURNS bigint
AS 'MODULE_PATHNAME', 'cdc_plugin_schema_state_seed'
LANGUAGE C VOLATILE STRICT;
SELECT cdc_plugin.schema_state_seed();
DROP FUNCTION cdc_plugin.schema_state_seed();

CREATE FUNCTION cdc_plugin.on_ddl_command_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'cdc_plugin_on_ddl_command_end'
LANGUAGE C;

CREATE FUNCTION cdc_plugin.on_sql_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'cdc_plugin_on_sql_drop'
LANGUAGE C;

COMMENT ON FUNCTION cdc_plugin.on_ddl_command_end() IS
'event trigger: describes DDL on captured tables into the WAL and applies cdc_plugin.schema_compatibility';
COMMENT ON FUNCTION cdc_plugin.on_sql_drop() IS
'event trigger: describes dropped captured tables and columns into the WAL and applies cdc_plugin.schema_compatibility';

-- event triggers call them whatever EXECUTE says; nobody else may
REVOKE ALL ON FUNCTION cdc_plugin.on_ddl_command_end() FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc_plugin.on_sql_drop() FROM PUBLIC;

CREATE EVENT TRIGGER cdc_plugin_ddl ON ddl_command_end
  EXECUTE FUNCTION cdc_plugin.on_ddl_command_end();
CREATE EVENT TRIGGER cdc_plugin_ddl_drop ON sql_drop
  EXECUTE FUNCTION cdc_plugin.on_sql_drop();

-- ---------------------------------------------------------------------
-- The table-less outbox
-- ---------------------------------------------------------------------

-- Members of this role may publish domain events with cdc_plugin.publish().
-- Roles are cluster-wide: created by the first CREATE EXTENSION, kept by
-- DROP EXTENSION.
DO $role$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
                  WHERE rolname OPERATOR(pg_catalog.=) 'cdc_plugin_publisher'::pg_catalog.name) THEN
    CREATE ROLE cdc_plugin_publisher NOLOGIN;
  END IF;
END
$role$;

CREATE FUNCTION cdc_plugin.publish(topic pg_catalog.text, key pg_catalog.text,
                                   payload pg_catalog.jsonb, headers pg_catalog.jsonb DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'cdc_plugin_publish_jsonb'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION cdc_plugin.publish(topic pg_catalog.text, key pg_catalog.text,
                                   payload pg_catalog.text, headers pg_catalog.jsonb DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'cdc_plugin_publish_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION cdc_plugin.publish(topic pg_catalog.text, key pg_catalog.text,
                                   payload pg_catalog.bytea, headers pg_catalog.jsonb DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'cdc_plugin_publish_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb) IS
'publishes a domain event (JSON payload) to a Kafka topic if and when the calling transaction commits';
COMMENT ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'publishes a domain event (text payload) to a Kafka topic if and when the calling transaction commits';
COMMENT ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.bytea, pg_catalog.jsonb) IS
'publishes a domain event (bytes payload) to a Kafka topic if and when the calling transaction commits';

REVOKE ALL ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.bytea, pg_catalog.jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb) TO cdc_plugin_publisher;
GRANT EXECUTE ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) TO cdc_plugin_publisher;
GRANT EXECUTE ON FUNCTION cdc_plugin.publish(pg_catalog.text, pg_catalog.text, pg_catalog.bytea, pg_catalog.jsonb) TO cdc_plugin_publisher;

-- ---------------------------------------------------------------------
-- Uninstall: stopping the worker, and the slots DROP EXTENSION leaves
-- ---------------------------------------------------------------------

CREATE FUNCTION cdc_plugin.stop_publishing(drop_slot boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cdc_plugin_stop_publishing'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION cdc_plugin.stop_publishing(boolean) IS
'stops the cdc_plugin worker until the server restarts; with drop_slot => true also drops its replication slot; true if a slot was dropped';

-- superusers only (the function checks it too, so a GRANT does not widen it)
REVOKE ALL ON FUNCTION cdc_plugin.stop_publishing(boolean) FROM PUBLIC;

CREATE FUNCTION cdc_plugin.on_drop_extension()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'cdc_plugin_on_drop_extension'
LANGUAGE C;

COMMENT ON FUNCTION cdc_plugin.on_drop_extension() IS
'event trigger: DROP EXTENSION cdc_plugin warns of the cdc_plugin replication slots of the database, which it does not drop';

REVOKE ALL ON FUNCTION cdc_plugin.on_drop_extension() FROM PUBLIC;

-- ddl_command_start: at ddl_command_end and sql_drop the trigger is gone
CREATE EVENT TRIGGER cdc_plugin_drop_extension ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION')
  EXECUTE FUNCTION cdc_plugin.on_drop_extension();
