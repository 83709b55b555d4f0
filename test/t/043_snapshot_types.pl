# Snapshot rows are encoded exactly like streamed rows. A table with a
# column of every kind of type (enums, domains, composites, arrays of
# them, ranges, geometric types, special values, out-of-line values) gets
# its rows inserted (streamed as c events), then snapshotted on demand (r
# events): for every row, the r event's after equals the c event's after,
# and jsonb_populate_record of it rebuilds the row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_node('types', $broker,
	conf => "cdc_plugin.snapshot_mode = 'never'\ncdc_plugin.snapshot_chunk_rows = 2\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');
$node->safe_psql('postgres', <<'SQL');
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
-- long texts out of line, uncompressed: the snapshot reads them from the TOAST table
ALTER TABLE every_type ALTER t SET STORAGE EXTERNAL;
SQL
$node->safe_psql('postgres', <<'SQL');
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
SQL
my $id = $node->safe_psql('postgres', q{SELECT cdc_plugin.snapshot('every_type')});
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);
# the consumer has everything once it has the snapshot's end on both partitions
my $file = $consumer->{file};
my $ends = 0;
for (1 .. 600)
{
	$ends = $node->safe_psql('postgres', qq{
		CREATE TEMP TABLE c (topic text, part int, off bigint, key bytea, value bytea);
		COPY c FROM '$file';
		SELECT count(*) FROM c WHERE value IS NOT NULL
		   AND cdc_plugin.to_json(value)->>'op' = 'snapshot_end'});
	last if $ends == 2;
	sleep 0.1;
}
is($ends, 2, 'the consumer got the snapshot_end of both partitions');

my $check = qq{
	CREATE TEMP TABLE c (topic text, part int, off bigint, key bytea, value bytea);
	COPY c FROM '$file';
	CREATE TEMP TABLE ev AS
	  SELECT cdc_plugin.to_json(value)->>'op' AS op,
	         (cdc_plugin.to_json(value)->'key'->>'id')::int AS id,
	         cdc_plugin.to_json(value)->'after' AS after
	    FROM c WHERE topic = 'cdc.public.every_type' AND value IS NOT NULL
	     AND cdc_plugin.to_json(value)->>'op' IN ('c', 'r');
};
is($node->safe_psql('postgres', $check . q{
	SELECT string_agg(id::text, ',' ORDER BY id) FROM (
	  SELECT id FROM ev GROUP BY id
	  HAVING count(*) FILTER (WHERE op = 'c') <> 1 OR count(*) FILTER (WHERE op = 'r') <> 1
	      OR count(DISTINCT after) <> 1) bad}), '',
	'every row has one c and one r event, with the same after');
is($node->safe_psql('postgres', $check . q{
	SELECT count(*) FROM ev WHERE op = 'r'}),
	$node->safe_psql('postgres', 'SELECT count(*) FROM every_type'), 'one r event per row');
# column by column, as text (json as jsonb: json comes back equal as jsonb)
my @columns = split /\n/, $node->safe_psql('postgres', q{
	SELECT CASE WHEN atttypid IN ('json'::regtype, 'json[]'::regtype)
	            THEN format('%I::jsonb%s', attname, CASE WHEN atttypid = 'json[]'::regtype THEN '[]' ELSE '' END)
	            ELSE quote_ident(attname) END
	  FROM pg_attribute WHERE attrelid = 'every_type'::regclass AND attnum > 0 AND NOT attisdropped
	 ORDER BY attnum});
my $differ = join(' UNION ALL ', map { my $c = $_; (my $name = $c) =~ s/::.*//;
	qq{SELECT '$name' AS col, t.id FROM ev CROSS JOIN LATERAL jsonb_populate_record(NULL::every_type, ev.after) r
	     JOIN every_type t ON t.id = ev.id WHERE ev.op = 'r' AND (r.$c)::text IS DISTINCT FROM (t.$c)::text} } @columns);
is($node->safe_psql('postgres', $check . "SELECT string_agg(format('%s of row %s', col, id), ', ') FROM ($differ) d"),
	'', 'jsonb_populate_record of each r event rebuilds its row, every column');
ok($node->safe_psql('postgres', 'SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE relname = \'every_type\'') eq 't',
	'some of the values are stored out of line');

$node->stop;
CdcKafka::stop_consumer($consumer);
$broker->stop;
done_testing();
