-- Every built-in type gets a native encoding and a JSON rendering that
-- PostgreSQL's input functions accept; types without a native mapping fall
-- back to their output text, never an error. Each line: a value as typed
-- in SQL, and how to_json() renders it.
SET client_min_messages = warning;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
CREATE DOMAIN short_text AS text CHECK (length(VALUE) < 10);
CREATE TYPE pair AS (x int, label text);
CREATE TABLE samples (id serial PRIMARY KEY, typ text, literal text);

-- Inserts each literal into a one-column table of the given type.
CREATE FUNCTION pg_temp.sample(typ text, VARIADIC literals text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  lit text;
  sample_id int;
  tbl text := 'v_' || regexp_replace(typ, '\W+', '_', 'g');
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I (id int PRIMARY KEY, v %s)', tbl, typ);
  FOREACH lit IN ARRAY literals LOOP
    INSERT INTO samples (typ, literal) VALUES (typ, lit) RETURNING id INTO sample_id;
    EXECUTE format('INSERT INTO %I VALUES ($1, $2::%s)', tbl, typ) USING sample_id, lit;
  END LOOP;
END
$$;

SELECT 'init' FROM pg_create_logical_replication_slot('types', 'cdc_plugin');

SELECT pg_temp.sample('boolean', 'true', 'false');
SELECT pg_temp.sample('smallint', '-32768', '32767');
SELECT pg_temp.sample('integer', '-2147483648', '2147483647');
SELECT pg_temp.sample('bigint', '-9223372036854775808', '9223372036854775807');
SELECT pg_temp.sample('real', '0.1', '-0', '3.4028235e38', '1.4e-45', 'NaN', 'Infinity', '-Infinity');
SELECT pg_temp.sample('double precision', '0.1', '-0', '1.7976931348623157e308', '5e-324',
                      'NaN', 'Infinity', '-Infinity');
SELECT pg_temp.sample('numeric', '0', '-1.50', '123456789012345678901234567890.000000000123',
                      'NaN', 'Infinity', '-Infinity');
SELECT pg_temp.sample('numeric(5,2)', '1.5');
SELECT pg_temp.sample('text', '', 'plain', 'quote " backslash \ tab	end', E'line\nbreak\x01', 'ünïcødé ✓ 😀');
SELECT pg_temp.sample('varchar(8)', 'short');
SELECT pg_temp.sample('char(5)', 'ab');
SELECT pg_temp.sample('name', 'pg_class');
SELECT pg_temp.sample('bytea', '\x', '\x00ff10', 'abc');
SELECT pg_temp.sample('date', '1970-01-01', '2000-02-29', '0001-01-01', '0001-12-31 BC',
                      '4714-11-24 BC', '5874897-12-31', 'infinity', '-infinity');
SELECT pg_temp.sample('time', '00:00', '12:34:56.789', '23:59:59.999999', '24:00:00');
SELECT pg_temp.sample('timetz', '12:34:56.5+05:30', '00:00:00-12', '23:59:59+14');
SELECT pg_temp.sample('timestamp', '2024-02-29 12:00:00', '1999-12-31 23:59:59.999999',
                      '0044-03-15 12:00 BC', '294276-12-31 23:59:59.999999', 'infinity', '-infinity');
SELECT pg_temp.sample('timestamptz', '2024-02-29 12:00:00+00', '2024-07-01 09:30:00.25+02',
                      '4714-11-24 00:00:00+00 BC', 'infinity', '-infinity');
SELECT pg_temp.sample('interval', '0', '1 year 2 mons 3 days 04:05:06.789', '-1 year +2 mons -3 days',
                      '-00:00:00.000001', '1 day -1 hour', '178000000 years');
SELECT pg_temp.sample('uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT pg_temp.sample('json', '{"b": 1,  "a": [1, 2.50, null]}', '"just a string"', '[]');
SELECT pg_temp.sample('jsonb', '{"b": 1,  "a": [1, 2.50, null]}', '"just a string"', '3.14');
SELECT pg_temp.sample('mood', 'happy');
SELECT pg_temp.sample('positive_int', '42');
SELECT pg_temp.sample('short_text', 'domain');
SELECT pg_temp.sample('integer[]', '{}', '{1,NULL,3}', '{{1,2},{3,4}}', '[0:2]={7,8,9}', '[-1:0][1:2]={{1,2},{3,4}}');
SELECT pg_temp.sample('text[]', '{"a b",NULL,"","q\"uote"}', '[0:3]={"a b",NULL,"","q\"uote"}');
SELECT pg_temp.sample('numeric[]', '{1.10,NaN,-Infinity}');
SELECT pg_temp.sample('double precision[]', '{NaN,Infinity,0.5}');
SELECT pg_temp.sample('timestamptz[]', '{"2024-01-01 00:00:00+00",infinity}');
SELECT pg_temp.sample('bytea[]', '{"\\x01",NULL}');
SELECT pg_temp.sample('mood[]', '{sad,happy}');
SELECT pg_temp.sample('jsonb[]', '{"{\"k\": 1}","[1]"}');
SELECT pg_temp.sample('pair', '(1,one)', '(,)');
SELECT pg_temp.sample('pair[]', '{"(1,one)","(2,two)"}', '[0:1]={"(1,one)","(2,\"t w o\")"}');
-- no native mapping: the type's output text
SELECT pg_temp.sample('int4range', '[1,10)', 'empty');
SELECT pg_temp.sample('point', '(1.5,-2)');
SELECT pg_temp.sample('inet', '192.168.0.1/24');
SELECT pg_temp.sample('money', '12.34');
SELECT pg_temp.sample('bit(4)', '1010');
SELECT pg_temp.sample('tsvector', 'a fat cat');
SELECT pg_temp.sample('xml', '<a>b</a>');
SELECT pg_temp.sample('pg_lsn', '16/B374D848');

SELECT s.typ, s.literal, e->'after'->'v' AS rendered
  FROM pg_logical_slot_get_binary_changes('types', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e
  JOIN samples s ON s.id = (e->'after'->>'id')::int
 WHERE e->'source'->>'table' <> 'samples'
 ORDER BY s.id;

SELECT pg_drop_replication_slot('types');
