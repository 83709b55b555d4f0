-- The JSON contract: for every column type, including special values,
-- jsonb_populate_record(NULL::tbl, to_json(envelope)->'after') rebuilds a
-- row equal to the inserted one. The exceptions are documented: a json or
-- jsonb value that is the JSON literal null becomes SQL NULL (JSON cannot
-- tell the two apart), so it is not among the samples; a json value that
-- jsonb cannot hold comes back as a JSON string of its text (the end of
-- this file).
SET client_min_messages = warning;
CREATE TYPE rt_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN rt_positive AS numeric CHECK (VALUE > 0);
CREATE TYPE rt_pair AS (x int, label text, at timestamptz);

CREATE TABLE every_type (
  id int PRIMARY KEY,
  b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
  n numeric, n2 numeric(12,2), t text, vc varchar(20), c char(6), nm name,
  by bytea, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz,
  iv interval, u uuid, j json, jb jsonb, e rt_mood, dom rt_positive,
  ai integer[], at text[], an numeric[], af float8[], ats timestamptz[],
  ad date[], ab bytea[], aj jsonb[], ae rt_mood[], a2 integer[],
  rec rt_pair, arec rt_pair[],
  r int4range, pt point, ip inet, cidr_ cidr, mac macaddr, m money, bt bit(4),
  vb varbit, tv tsvector, x xml, l pg_lsn, o oid, box_ box, tr tsrange
);

SELECT 'init' FROM pg_create_logical_replication_slot('rt', 'cdc_plugin');

-- ordinary values
INSERT INTO every_type VALUES (1,
  true, 12, 1234, 123456789012, 1.25, 3.141592653589793,
  '12345.678900', 99.90, 'hello, world', 'varchar', 'char', 'a_name',
  '\xdeadbeef', '2024-02-29', '13:14:15.161718', '13:14:15+02', '2024-02-29 13:14:15.5',
  '2024-02-29 13:14:15.5+00', '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"k": [1, "two", {"three": 3}]}', '{"k": [1, "two", {"three": 3}]}', 'ok', 7.5,
  '{1,2,3}', '{"a","b c"}', '{1.5,2.25}', '{0.5,1e300}', '{"2024-01-01 00:00+00"}',
  '{2024-01-01,2024-12-31}', '{"\\x0102"}', '{"{\"a\": 1}","[true]"}', '{sad,happy}', '{{1,2},{3,4}}',
  '(1,one,"2024-01-01 00:00:00+00")', '{"(1,one,)","(2,two,)"}',
  '[1,5)', '(1,2)', '10.0.0.1/8', '10.0.0.0/8', '08:00:2b:01:02:03', '1.23', '1010',
  '10101', 'a fat cat', '<x>1</x>', '0/16B3748', 42, '((0,0),(1,1))', '[2024-01-01,2024-02-01)');

-- extremes and special values
INSERT INTO every_type VALUES (2,
  false, -32768, -2147483648, -9223372036854775808, 'NaN', 'NaN',
  'NaN', -0.01, E'quote " backslash \\ tab\t nl\n ctl\x01 ünïcødé 😀', '', ' ', '',
  '\x', '-infinity', '00:00', '00:00:00-12', '-infinity',
  '-infinity', '-178000000 years -00:00:00.000001', '00000000-0000-0000-0000-000000000000',
  '[]', '{}', 'sad', 0.000000001,
  '{}', '{NULL,""}', '{NaN,Infinity,-Infinity}', '{NaN,-Infinity,-0}', '{-infinity,NULL}',
  '{infinity}', '{NULL}', '{"\"str\"", "{}"}', '{}', '{{NULL,2},{3,NULL}}',
  '(,,)', '{}',
  'empty', '(-0.5,1e-300)', '::1', '::/0', '00:00:00:00:00:00', '-92233720368547758.08', '0000',
  '', '', '', '0/0', 0, '((-1,-1),(1,1))', 'empty');

INSERT INTO every_type VALUES (3,
  NULL, 32767, 2147483647, 9223372036854775807, 'Infinity', 'Infinity',
  'Infinity', 9999999999.99, repeat('long ', 1000), NULL, NULL, NULL,
  decode(repeat('00ff', 3000), 'hex'), 'infinity', '24:00:00', '23:59:59.999999+14', 'infinity',
  'infinity', '178000000 years 11 mons 29 days 23:59:59.999999', NULL,
  '"string"', '1e-7', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, '92233720368547758.07', NULL, NULL, NULL, NULL, 'FFFFFFFF/FFFFFFFF', 4294967295, NULL, NULL);

INSERT INTO every_type VALUES (4,
  true, 0, 0, 0, '-Infinity', '-Infinity',
  '-Infinity', 0, '', NULL, NULL, NULL,
  NULL, '4714-11-24 BC', '23:59:59.999999', '00:00:00+00:00:01', '4714-11-24 00:00:00 BC',
  '4714-11-24 00:00:00+00 BC', '-1 day +1 hour', NULL,
  '3', 'true', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO every_type VALUES (5,
  false, 1, 1, 1, '1.4e-45', '5e-324',
  '-0.000000000000000000000000000001', 1, 'x', 'y', 'z', 'w',
  '\x00', '5874897-12-31', '00:00:00.000001', '12:00:00-13:59:59', '294276-12-31 23:59:59.999999',
  '294276-12-31 23:59:59.999999+00', '-0.000001 seconds', NULL,
  '1.5e300', '-0', NULL, NULL, NULL, NULL, NULL, '{1.7976931348623157e308,5e-324}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- rows compared; then every column that did not survive the round trip
SELECT count(*) AS rows_inserted FROM every_type;
SELECT * FROM regress.round_trip_mismatches('every_type', 'rt');
SELECT count(*) AS rows_rebuilt FROM rt_after;

-- Negative zero and arrays whose lower bounds are not 1: -0 renders as the
-- string "-0" (as NaN does), such an array as its text literal; both come
-- back exactly, at any depth (in records, records in arrays, any element
-- type, box[] with its ';' delimiter). So do json and jsonb arrays with an
-- element that is a JSON array (jsonb_populate_record would take it for a
-- dimension) or JSON null (it would become SQL NULL): their text literal.
CREATE TYPE rt_holder AS (xs int[], label text);
CREATE TABLE bounds (
  id int PRIMARY KEY,
  f4 real, f8 double precision, af4 real[], af8 float8[],
  ai int[], at text[], a2 int[], an numeric[], ats timestamptz[], ab bytea[],
  aj jsonb[], ae rt_mood[], arec rt_pair[], hold rt_holder, ahold rt_holder[],
  aholdlb rt_holder[], abox box[], ad date[], aiv interval[], ars int4range[]
);
INSERT INTO bounds VALUES (1,
  '-0', '-0', '{-0,0}', '{-0,NaN,-Infinity}',
  '[0:2]={7,8,9}', '[-3:1]={"a b",NULL,"","q\"u\\o{t}e,",NULL}', '[-1:0][5:6]={{1,2},{3,NULL}}',
  '[2:3]={1.50,NaN}', '[0:1]={"2024-01-01 00:00:00+00",-infinity}', '[0:1]={"\\x01",NULL}',
  '[0:2]={"{\"a\": [1, \"x\"]}","null","\"s\""}', '[7:7]={happy}',
  '[0:1]={"(1,one,\"2024-01-01 00:00:00+00\")","(,\"\",)"}', '("[0:1]={1,2}",x)',
  '{"(\"[5:5]={3}\",y)",NULL}', '[0:0]={"(\"[5:5]={3}\",\"a (b)\")"}',
  '[0:1]={(1,1),(0,0);(2,2),(1,1)}', '[0:1]={infinity,"0044-03-15 BC"}', '[0:0]={"1 day -1 hour"}',
  '[0:1]={"[1,5)",empty}');
INSERT INTO bounds VALUES (2,
  '0', '0', '[0:1]={-0,1}', '[0:0]={-0}',
  '{1,2}', '[-2147483648:-2147483647]={NULL,"NULL"}', '{{1,2},{3,4}}',
  '{}', '{}', '[5:5]={"\\x"}',
  '[1:1]={"[]"}', '{}', '{"(2,two,)"}', '(,)',
  NULL, NULL, '{(1,1),(0,0)}', '{}', '{}', NULL);
INSERT INTO bounds (id, aj) VALUES (3, '{"[1, 2]","{}"}'), (4, '{"{}","[]"}'), (5, '{"null",NULL,"1"}'),
  (6, '{{"[1]","2"},{"3","[[4]]"}}');
SELECT count(*) AS rows_inserted FROM bounds;
SELECT * FROM regress.round_trip_mismatches('bounds', 'rt');
SELECT count(*) AS rows_rebuilt FROM rt_after;

-- A json column keeps any text that is valid JSON syntax, but jsonb refuses
-- some of it: \u0000, escapes of unpaired surrogates, numbers beyond
-- numeric's range, nesting deeper than the stack allows (to_json allows
-- max_stack_depth / 320 bytes, 6553 levels at the default 2MB). Such a value
-- renders as a JSON string of its text, so every envelope renders;
-- jsonb_populate_record gives the column that JSON string, whose text
-- (#>> '{}') is the original value (a value jsonb takes comes back equal as
-- jsonb, row 7). In a json[] column such an element makes the array render
-- as its text literal, which comes back exactly.
CREATE TABLE odd_json (id int PRIMARY KEY, j json, aj json[]);
INSERT INTO odd_json VALUES (1, '"\u0000"', '{"\"\\u0000\"",NULL,"null"}'),
  (2, '{"a":"\ud800"}', '{"[\"\\ud800\"]"}'), (3, '[1, "\udc00x"]', NULL),
  (4, '1e999999', '{1e999999}'), (5, '{"n": 0.0e-16383}', NULL),
  (6, (repeat('[', 7000) || repeat(']', 7000))::json, NULL),
  (7, '{"fine": "\u00e9\ud83d\ude00", "n": 1e131071}', '{"\"é\"","{\"k\": [1]}"}');
SELECT o.id, jsonb_typeof(e->'after'->'j') AS rendered_as,
       left(e->'after'->>'j', 40) AS rendered_text,
       CASE WHEN jsonb_typeof(e->'after'->'j') = 'string'
            THEN (jsonb_populate_record(NULL::odd_json, e->'after')).j #>> '{}' = o.j::text
            ELSE (jsonb_populate_record(NULL::odd_json, e->'after')).j::jsonb = o.j::jsonb
       END AS comes_back,
       jsonb_typeof(e->'after'->'aj') AS array_rendered_as,
       (jsonb_populate_record(NULL::odd_json, e->'after')).aj::text = o.aj::text AS array_comes_back
  FROM pg_logical_slot_get_binary_changes('rt', NULL, NULL) c,
       LATERAL cdc_plugin.to_json(c.data) e
  JOIN odd_json o ON o.id = (e->'after'->>'id')::int
 ORDER BY o.id;

SELECT pg_drop_replication_slot('rt');
DROP TABLE every_type, bounds, odd_json;
