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
# the table and rows of the streaming round-trip suite (sql/round_trip.sql)
my ($ddl, $rows) = CdcKafka::round_trip_table();
$node->safe_psql('postgres', $ddl
	  . "\n-- long texts out of line, uncompressed: the snapshot reads them from the TOAST table\n"
	  . "ALTER TABLE every_type ALTER t SET STORAGE EXTERNAL;\n");
$node->safe_psql('postgres', $rows);
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
