-- cdc_plugin extension objects. The output plugin itself needs no SQL
-- object (slots name it directly); these functions help people and tests.

\echo Use "CREATE EXTENSION cdc_plugin" to load this file. \quit

-- to_json() and version() are for everyone; status() is granted below
GRANT USAGE ON SCHEMA cdc_plugin TO PUBLIC;

CREATE FUNCTION cdc_plugin.to_json(envelope bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'cdc_plugin_to_json'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION cdc_plugin.to_json(bytea) IS
'renders one cdc.v1.Envelope (as produced by the cdc_plugin output plugin) as jsonb';

CREATE FUNCTION cdc_plugin.version()
RETURNS text
AS 'MODULE_PATHNAME', 'cdc_plugin_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION cdc_plugin.version() IS
'version of the loaded cdc_plugin library';

CREATE FUNCTION cdc_plugin.status(
    OUT pid integer,
    OUT state text,
    OUT database text,
    OUT slot_name text,
    OUT confirmed_lsn pg_lsn,
    OUT wal_behind_bytes bigint,
    OUT retained_wal_bytes bigint,
    OUT last_commit_time timestamptz,
    OUT lag interval,
    OUT events_published bigint,
    OUT bytes_published bigint,
    OUT transactions_published bigint,
    OUT in_flight bigint,
    OUT delivery_errors bigint,
    OUT restarts bigint,
    OUT broker text,
    OUT last_error text,
    OUT last_error_time timestamptz,
    OUT state_since timestamptz)
RETURNS record
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
