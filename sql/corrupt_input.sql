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

SELECT pg_drop_replication_slot('corrupt');
DROP TABLE fragile;
