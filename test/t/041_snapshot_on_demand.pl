# An on-demand snapshot. A 200,000-row table existed before the worker's
# slot (snapshot_mode = 'never': nothing of it was published). While 8
# clients update and delete random rows of it, cdc_plugin.snapshot() has
# the worker read it in chunks between watermarks, streaming on. Rebuilt
# from the topic, the table equals its source, and no r event follows a
# newer change of its key. A second request is cancelled.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 4);
# no worker while the table is filled; then one that publishes changes only
my $node = CdcKafka::start_node('on_demand', $broker,
	conf => "cdc_plugin.database = ''\ncdc_plugin.snapshot_mode = 'never'\n"
	  . "cdc_plugin.snapshot_chunk_rows = 2000\n");
$node->safe_psql('postgres', q{
	CREATE TABLE orders (id int PRIMARY KEY, version int NOT NULL, note text);
	INSERT INTO orders SELECT g, 0, md5(g::text) FROM generate_series(1, 200000) g;});
$node->append_conf('postgresql.conf', "cdc_plugin.database = 'postgres'\n");
$node->restart;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
CdcKafka::create_reference_slot($node);
is($node->safe_psql('postgres', 'SELECT count(*) FROM cdc_plugin.snapshots'), '0',
	"snapshot_mode = 'never': no initial snapshot");
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');

my $script = $node->basedir . '/orders.pgbench';
open my $fh, '>', $script or die $!;
print $fh <<'SQL';
\set id random(1, 200000)
UPDATE orders SET version = version + 1, note = md5(random()::text) WHERE id = :id;
\set d random(1, 200000)
DELETE FROM orders WHERE id = :d AND version % 2 = 1;
SQL
close $fh;
my $writes = IPC::Run::start(
	[ 'pgbench', '-n', '-c', 8, '-T', 8, '-R', 800, '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \my $out, '2>', \my $err);
sleep 1;

my $id = $node->safe_psql('postgres', q{SELECT cdc_plugin.snapshot('orders')});
like($id, qr/^\d+$/, 'snapshot() returns the snapshot id');
my ($row, $notice) = ('', '');
$node->psql('postgres', q{SELECT cdc_plugin.snapshot('orders')},
	stdout => \$row, stderr => \$notice);
is($row, $id, 'asking again while it is queued or running returns the same id');
like($notice, qr/already has a snapshot queued or running/, 'with a notice');

$node->poll_query_until('postgres', qq{
	SELECT snapshot_id = $id AND snapshot_rows > 0 AND snapshot_table = 'public.orders'
	  FROM cdc_plugin.status()}) or die 'status() never showed the snapshot';
pass('status() shows the running snapshot and its progress');

CdcKafka::finish_writes($writes);
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);
my ($state, $rows, $chunks) = split /\|/, $node->safe_psql('postgres',
	"SELECT state, rows_done, chunks_done FROM cdc_plugin.snapshots WHERE id = $id");
is($state, 'done', 'the snapshot is done');
cmp_ok($chunks, '>=', 100, "read in chunks of 2000 rows ($chunks chunks)");
cmp_ok($rows, '>', 150000, "$rows rows published as r events");
cmp_ok($rows, '<=', 200000, 'none twice');

CdcKafka::verify_stream($node, $consumer, name => 'on-demand snapshot during writes',
	snapshots_complete => 1, tables => ['orders']);

# cancelling: a queued snapshot never starts, and the view says who cancelled it
$node->safe_psql('postgres', q{
	CREATE ROLE snapper LOGIN IN ROLE cdc_plugin_snapshot;
	GRANT SELECT ON orders TO snapper;});
my $second = $node->safe_psql('postgres', q{
	BEGIN;
	SET LOCAL ROLE snapper;
	SELECT cdc_plugin.snapshot('orders') AS second \gset
	SELECT cdc_plugin.cancel_snapshot(:second);
	COMMIT;});
is($second, 't', 'a member queues a snapshot and cancels it');
CdcKafka::wait_snapshots_done($node);
is($node->safe_psql('postgres', q{
	SELECT format('%s %s', state, error) FROM cdc_plugin.snapshots ORDER BY id DESC LIMIT 1}),
	'cancelled cancelled by snapper', 'the view says it was cancelled, and by whom');
is($node->safe_psql('postgres', "SELECT cdc_plugin.cancel_snapshot($id)"), 'f',
	'a finished snapshot cannot be cancelled');

$node->stop;
CdcKafka::stop_consumer($consumer);
$broker->stop;
done_testing();
