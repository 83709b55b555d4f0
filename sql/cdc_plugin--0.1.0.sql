-- cdc_plugin extension objects. The output plugin itself needs no SQL
-- object (slots name it directly); these functions help people and tests.

\echo Use "CREATE EXTENSION cdc_plugin" to load this file. \quit

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
