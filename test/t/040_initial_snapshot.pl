# The initial snapshot. Three tables hold rows before the worker creates
# its slot: one without a key (REPLICA IDENTITY FULL), one partitioned
# (two leaves), one with values stored out of line (TOAST). When the
# extension is created the worker creates its slot, reads the keyless
# table whole with the slot's own snapshot, and the other tables in short
# chunks between watermarks while writes go on. Rebuilt from the topics,
# every table equals its source; no r event follows a newer change of its
# key; every partition of each topic has its snapshot_begin and
# snapshot_end markers, with that table's r events between them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 3);
my $node = CdcKafka::start_node('initial', $broker, no_extension => 1,
	conf => "cdc_plugin.snapshot_chunk_rows = 250\n");

$node->safe_psql('postgres', q{
	CREATE TABLE log (at int, what text);
	ALTER TABLE log REPLICA IDENTITY FULL;
	INSERT INTO log SELECT g % 100, 'event ' || (g % 7) FROM generate_series(1, 3000) g;
	CREATE TABLE parted (id int, region int, v int NOT NULL, PRIMARY KEY (id, region))
	  PARTITION BY LIST (region);
	CREATE TABLE parted_east PARTITION OF parted FOR VALUES IN (1);
	CREATE TABLE parted_west PARTITION OF parted FOR VALUES IN (2);
	INSERT INTO parted SELECT g, 1 + g % 2, 0 FROM generate_series(1, 6000) g;
	CREATE TABLE docs (id int PRIMARY KEY, version int NOT NULL, body text);
	ALTER TABLE docs ALTER body SET STORAGE EXTERNAL;
	INSERT INTO docs SELECT g, 0, repeat(md5(g::text), 100) FROM generate_series(1, 2000) g;});
is($node->safe_psql('postgres',
	q{SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE relname = 'docs'}), 't',
	'docs bodies are stored out of line');

is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0',
	'without the extension the worker waits: no slot yet');
ok($node->log_contains(qr/waits for CREATE EXTENSION cdc_plugin/), 'and says so');

my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');
$node->safe_psql('postgres', 'CREATE EXTENSION cdc_plugin');
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = 'cdc_plugin'})
  or die 'no slot';
# the reference sees exactly the changes the worker's slot sees
CdcKafka::create_reference_slot($node);

my $script = $node->basedir . '/writes.pgbench';
open my $fh, '>', $script or die $!;
print $fh <<'SQL';
\set id random(1, 6500)
\set r random(1, 2)
INSERT INTO parted VALUES (:id, :r, 1) ON CONFLICT (id, region) DO UPDATE SET v = parted.v + 1;
\set d random(1, 6500)
DELETE FROM parted WHERE id = :d AND v % 3 = 2;
\set doc random(1, 2200)
INSERT INTO docs VALUES (:doc, 1, repeat(md5(random()::text), 100))
  ON CONFLICT (id) DO UPDATE SET version = docs.version + 1, body = EXCLUDED.body;
\set gone random(1, 2200)
DELETE FROM docs WHERE id = :gone AND version % 4 = 3;
\set at random(1, 120)
INSERT INTO log VALUES (:at, 'new');
DELETE FROM log WHERE ctid = (SELECT ctid FROM log WHERE at = :at LIMIT 1);
SQL
close $fh;
my $writes = IPC::Run::start(
	[ 'pgbench', '-n', '-c', 4, '-T', 6, '-R', 150, '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \my $out, '2>', \my $err);

# the writes overlap the chunked reads
$node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM cdc_plugin.snapshots WHERE state IN ('running', 'done')
	   AND "table" <> 'public.log'}) or die 'no snapshot ran';
CdcKafka::finish_writes($writes);
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);

is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s %s', "table", kind, state), ', ' ORDER BY "table")
	  FROM cdc_plugin.snapshots}),
	'public.docs initial done, public.log initial done, public.parted_east initial done, public.parted_west initial done',
	'one initial snapshot per table, partitioned tables by leaf, all done');
ok($node->safe_psql('postgres',
	q{SELECT bool_and(chunks_done > 1) FROM cdc_plugin.snapshots WHERE "table" <> 'public.log'}) eq 't',
	'keyed tables were read in several chunks');
ok($node->log_contains(qr/initial snapshot \d+ read table public\.log \(no key\) with the slot's snapshot: 3000 rows/),
	'the keyless table was read whole with the slot snapshot');

CdcKafka::verify_stream($node, $consumer, name => 'initial snapshot during writes',
	snapshots_complete => 1,
	tables => [ 'log', 'parted_east', 'parted_west', 'docs' ]);
# the example consumer of the gap rule rebuilds them too (no gap here)
CdcKafka::rebuild_with_gap_consumer($node, $consumer, name => 'tools/gap_consumer.py',
	tables => [ 'log', 'parted_east', 'parted_west', 'public.docs' ]);

$node->stop;
CdcKafka::stop_consumer($consumer);
$broker->stop;
done_testing();
