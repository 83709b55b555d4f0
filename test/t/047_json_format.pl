# cdc_plugin.value_format = 'json' and cdc_plugin.key_format = 'json': the
# worker publishes every envelope as cdc_plugin.to_json() renders it (the
# Debezium shape: op, before, after, source, ts_ms, transaction) and every
# row key as its JSON object, so that kcat and jq read the topics without
# any protobuf tooling. Each value consumed with kcat and parsed with jq
# equals to_json of the protobuf envelope of the same change (decoded from
# a reference slot over the same WAL), for a table with a column of every
# kind of type; each Kafka key equals the value's key; snapshot, schema and
# tombstone messages come in the same format. A reload back to protobuf
# changes the format of what is published from then on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use CdcKafka;

CdcKafka::require_tools();
# kcat and jq come with make deps (make test installs them): no skip
my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_node('json', $broker,
	conf => "cdc_plugin.value_format = 'json'\n"
	  . "cdc_plugin.key_format = 'json'\n"
	  . "cdc_plugin.tombstones_on_delete = on\n"
	  . "cdc_plugin.snapshot_mode = 'never'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
CdcKafka::create_reference_slot($node);

# the table and rows of the streaming round-trip suite (sql/round_trip.sql)
my ($ddl, $rows) = CdcKafka::round_trip_table();
$node->safe_psql('postgres', $ddl);
$node->safe_psql('postgres', $rows);
$node->safe_psql('postgres', q{
	BEGIN;
	UPDATE every_type SET t = 'changed' WHERE id = 1;
	DELETE FROM every_type WHERE id = 2;
	COMMIT;});
$node->safe_psql('postgres', q{SELECT cdc_plugin.snapshot('every_type')});
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);

# kcat reads the topic to its end; jq parses each key and value
my $topic = 'cdc.public.every_type';
sub consume_with_kcat
{
	my ($file) = @_;
	my $err = '';
	IPC::Run::run(
		[ 'kcat', '-C', '-b', $broker->bootstrap, '-t', $topic, '-o', 'beginning', '-e', '-J', '-q' ],
		# jq parses key and value (fromjson fails the run on anything else) but
		# passes them on as text: jq 1.6 reads numbers as doubles, which
		# rounds 64-bit integers; PostgreSQL reads the text exactly
		'|', [ 'jq', '-c', '{partition, offset,
			key: (if .key == null then null else (.key | fromjson | tojson | .[0:0]) + .key end),
			value: (if .payload == null then null else (.payload | fromjson | .op | .[0:0]) + .payload end)}' ],
		'>', $file, '2>', \$err)
	  or die "kcat | jq failed: $err";
}
my $file = $node->basedir . '/kcat.jsonl';
consume_with_kcat($file);
ok(-s $file, 'kcat read the topic and jq parsed every key and value as JSON');

my $load = qq{
	CREATE TEMP TABLE k0 (m jsonb);
	COPY k0 FROM '$file' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02');
	CREATE TEMP TABLE k AS
	  SELECT jsonb_build_object('partition', m->'partition', 'offset', m->'offset',
	                            'key', (m->>'key')::jsonb, 'value', coalesce((m->>'value')::jsonb, 'null')) AS m
	    FROM k0;
	CREATE TEMP TABLE ref AS
	  SELECT cdc_plugin.to_json(data) AS e
	    FROM pg_logical_slot_peek_binary_changes('reference', NULL, NULL,
	           'include-messages', 'false', 'include-schema-events', 'true')
	   WHERE cdc_plugin.to_json(data)->>'op' IN ('c', 'u', 'd');
	CREATE TEMP VIEW rows AS
	  SELECT m->'value' AS v, m->'key' AS key FROM k
	   WHERE m->'value'->>'op' IN ('c', 'u', 'd');
};
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM ref}), '7', 'the reference has the 5 inserts, the update and the delete');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM rows r JOIN ref ON ref.e = r.v}),
	'7', 'every c, u and d value consumed equals to_json of the envelope of the same change');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM rows r WHERE NOT EXISTS (SELECT FROM ref WHERE ref.e = r.v)}),
	'0', 'and nothing else was consumed as a row change');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM k WHERE m->'value' IS NOT NULL AND m->'value'->'key' <> 'null'
	   AND m->'key' IS DISTINCT FROM m->'value'->'key'}),
	'0', 'each Kafka key is the JSON object of the value\'s key');
is($node->safe_psql('postgres', $load . q{
	SELECT string_agg(DISTINCT k, ',' ORDER BY k) FROM rows r, jsonb_object_keys(r.v) k}),
	'after,before,key,op,source,transaction,ts_ms',
	'row events have Debezium\'s top-level fields (and key)');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM k WHERE (m->'value')::text = 'null' AND m->'key' = '{"id": 2}'}),
	'1', 'the delete is followed by a tombstone: its JSON key, a null value');
is($node->safe_psql('postgres', $load . q{
	SELECT string_agg(op || '=' || n, ',' ORDER BY op) FROM (
	  SELECT m->'value'->>'op' AS op, count(*) AS n FROM k
	   WHERE m->'value'->>'op' IN ('r', 'snapshot_begin', 'snapshot_end') GROUP BY 1) s}),
	'r=4,snapshot_begin=2,snapshot_end=2', 'the snapshot\'s rows and markers are JSON too');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM k r
	 WHERE r.m->'value'->>'op' = 'r'
	   AND (r.m->'value'->'after' = (SELECT e->'after' FROM ref WHERE e->>'op' = 'c'
	                                   AND e->'key' = r.m->'key' AND (r.m->'key'->>'id')::int <> 1)
	        OR ((r.m->'key'->>'id')::int = 1 AND r.m->'value'->'after'->>'t' = 'changed'))}),
	'4', 'each r event\'s after is its row: as inserted, or as updated');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM k WHERE m->'value'->>'op' = 'schema'
	   AND m->'value'->'schema_change'->>'version' IS NOT NULL AND m->'key' = 'null'}),
	'4', 'schema events: one to each partition before the rows and one before each snapshot, JSON, no key');

# back to protobuf by a reload: what is published from then on is protobuf
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET cdc_plugin.value_format = 'protobuf';
	ALTER SYSTEM SET cdc_plugin.key_format = 'protobuf';
	SELECT pg_reload_conf();});
$node->wait_for_log(qr/cdc_plugin worker reloading/);
CdcKafka::wait_for_status($node, "state = 'streaming'", 'streaming after the reload');
$node->safe_psql('postgres', q{UPDATE every_type SET t = 'protobuf now' WHERE id = 3});
CdcKafka::wait_caught_up($node);
my $tsv = $node->basedir . '/after_reload.tsv';
my $consumer = CdcKafka::start_consumer($broker, $tsv);
# everything on the topic: what kcat read before, and what came after the reload
my $json_values = $node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM k WHERE (m->'value')::text <> 'null'});
my $read_tsv = qq{
	CREATE TEMP TABLE c (topic text, part int, off bigint, key bytea, value bytea);
	COPY c FROM '$tsv';
	CREATE TEMP VIEW v AS
	  SELECT * FROM c WHERE topic = '$topic' AND value IS NOT NULL AND length(value) > 0;
};
for (1 .. 600)
{
	last if -s $tsv
	  && $node->safe_psql('postgres', $read_tsv . 'SELECT count(*) FROM v') >= $json_values + 3;
	usleep(100_000);
}
is($node->safe_psql('postgres', $read_tsv . q{
	SELECT cdc_plugin.to_json(value)->'after'->>'t' FROM v
	 WHERE get_byte(value, 0) = 8 AND cdc_plugin.to_json(value)->>'op' = 'u'}),
	'protobuf now', 'after the reload the change is published as a cdc.v1.Envelope');
is($node->safe_psql('postgres', $read_tsv . q{
	SELECT count(*) FILTER (WHERE get_byte(value, 0) = 8) || ' protobuf, '
	       || count(*) FILTER (WHERE get_byte(value, 0) = 123) || ' json'
	  FROM v}),
	"3 protobuf, $json_values json",
	'protobuf from the reload on (the update, and the restatement of the table\'s shape the new session sends to each of the 2 partitions); JSON before');

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
