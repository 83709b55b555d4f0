-- to_json() is given bytes from outside (Kafka, files, people): a corrupt
-- or truncated envelope is an ERROR, never a crash.
SET client_min_messages = warning;
CREATE TABLE fragile (id int PRIMARY KEY, t text, a int[], j jsonb);
SELECT 'init' FROM pg_create_logical_replication_slot('corrupt', 'cdc_plugin');
INSERT INTO fragile VALUES (1, 'some text', '{1,2,3}', '{"k": "v"}');
CREATE TEMP TABLE envelope AS
  SELECT data FROM pg_logical_slot_get_binary_changes('corrupt', NULL, NULL);

SELECT cdc_plugin.to_json(data)->'after' AS intact FROM envelope;
SELECT cdc_plugin.to_json('\x0a'::bytea);
SELECT cdc_plugin.to_json('\x08ff'::bytea);
SELECT cdc_plugin.to_json('\x0863'::bytea);

-- Renders every prefix of the envelope and every single-byte corruption of
-- it; counts how many render and how many raise an error.
CREATE FUNCTION pg_temp.try_all() RETURNS TABLE (variant text, tried int, rendered int, rejected int)
LANGUAGE plpgsql AS $$
DECLARE
  env bytea := (SELECT data FROM envelope);
  i int;
  b int;
  ok_count int;
  err_count int;
BEGIN
  ok_count := 0; err_count := 0;
  FOR i IN 0 .. length(env) - 1 LOOP
    BEGIN
      PERFORM cdc_plugin.to_json(substring(env FROM 1 FOR i));
      ok_count := ok_count + 1;
    EXCEPTION WHEN OTHERS THEN
      err_count := err_count + 1;
    END;
  END LOOP;
  variant := 'truncated'; tried := length(env); rendered := ok_count; rejected := err_count;
  RETURN NEXT;
  ok_count := 0; err_count := 0;
  FOR i IN 0 .. length(env) - 1 LOOP
    FOREACH b IN ARRAY ARRAY[0, 1, 127, 128, 255] LOOP
      BEGIN
        PERFORM cdc_plugin.to_json(set_byte(env, i, b));
        ok_count := ok_count + 1;
      EXCEPTION WHEN OTHERS THEN
        err_count := err_count + 1;
      END;
    END LOOP;
  END LOOP;
  variant := 'byte replaced'; tried := 5 * length(env); rendered := ok_count; rejected := err_count;
  RETURN NEXT;
END
$$;
-- the server survives all of them, each either renders or is rejected, and
-- most are rejected (a prefix ending on a field boundary is a valid, shorter
-- envelope; protobuf has no end marker)
SELECT variant, rendered + rejected = tried AS all_answered, rejected > rendered AS mostly_rejected
  FROM pg_temp.try_all();
SELECT 'server still up' AS status;

-- The work is bounded by the input. Arrays whose dims contain a 0 have no
-- elements, but each level before the 0 is still rendered: [200000000, 0]
-- is 200,000,001 JSON arrays from 21 bytes. Every rendered array level is
-- counted, against at most 3 per envelope byte plus 1024 (an envelope the
-- plugin writes needs fewer); more is refused at once, well within the
-- statement timeout.
SET statement_timeout = '1s';
SELECT cdc_plugin.to_json('\x08011a110a0f0a0161220a9201070a058084af5f00'::bytea);
SELECT cdc_plugin.to_json('\x08011a170a150a0161221092010d0a0bffffffff07ffffffff0700'::bytea);
SELECT cdc_plugin.to_json('\x08011a160a140a0161220f92010c0a0a80800480800480800400'::bytea);
RESET statement_timeout;
-- a few empty levels are fine
SELECT cdc_plugin.to_json('\x08011a0e0a0c0a016122079201040a020200'::bytea)->'after' AS two_empty;

-- PostgreSQL strings cannot hold a NUL byte, so no envelope the plugin
-- writes has one in a string field: an error, not "\u0000" (which jsonb
-- refuses).
SELECT cdc_plugin.to_json('\x08011a0c0a0a0a017422053203610062'::bytea);

-- The rendering is capped at 256 MB (jsonb cannot hold much more): a text
-- value of 45,000,000 control characters renders as 270,000,000 bytes of
-- \u0001 escapes, and is refused with a message that says so, before the
-- buffer is allocated.
CREATE TABLE huge (id int PRIMARY KEY, t text);
SELECT 'init' FROM pg_create_logical_replication_slot('huge', 'cdc_plugin');
INSERT INTO huge VALUES (1, repeat(chr(1), 45000000));
CREATE TEMP TABLE huge_envelope AS
  SELECT data FROM pg_logical_slot_get_binary_changes('huge', NULL, NULL);
SELECT length(data) > 45000000 AS envelope_is_45mb FROM huge_envelope;
SELECT pg_column_size(cdc_plugin.to_json(data)) > 0 AS rendered FROM huge_envelope;
SELECT pg_drop_replication_slot('huge');
DROP TABLE huge;

SELECT pg_drop_replication_slot('corrupt');
DROP TABLE fragile;
