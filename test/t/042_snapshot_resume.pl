# A snapshot survives a crash. While the worker reads a 100,000-row table
# in chunks (and 4 clients write to it), it is killed with SIGKILL and the
# server is restarted at once in immediate mode. The new worker resumes
# the snapshot from the last chunk Kafka acknowledged instead of starting
# over: counted in the topic, the r events of that snapshot are far fewer
# than a restart from the first row would have published. Rebuilt from
# the topic, the table equals its source; per-key order holds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use CdcKafka;

CdcKafka::require_tools();
# small enough that the mock broker keeps every message (about 5 MB per partition)
my $rows = 100000;
my $broker = CdcKafka::start_broker(partitions => 6);
my $node = CdcKafka::start_node('resume', $broker,
	conf => "cdc_plugin.database = ''\ncdc_plugin.snapshot_mode = 'never'\n"
	  . "cdc_plugin.snapshot_chunk_rows = 250\nrestart_after_crash = on\n");
$node->safe_psql('postgres', qq{
	CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL, note text);
	INSERT INTO items SELECT g, 0, md5(g::text) FROM generate_series(1, $rows) g;});
$node->append_conf('postgresql.conf', "cdc_plugin.database = 'postgres'\n");
$node->restart;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
CdcKafka::create_reference_slot($node);
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');

my $script = $node->basedir . '/items.pgbench';
open my $fh, '>', $script or die $!;
print $fh <<SQL;
\\set id random(1, $rows)
UPDATE items SET version = version + 1 WHERE id = :id;
\\set d random(1, $rows)
DELETE FROM items WHERE id = :d AND version % 3 = 2;
SQL
close $fh;
my $writes = IPC::Run::start(
	[ 'pgbench', '-n', '-c', 4, '-T', 5, '-R', 400, '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \my $out, '2>', \my $err);

# slow acknowledgements (20 ms a response) make the snapshot take seconds:
# at most a few chunks wait for Kafka at a time
is($broker->command('rtt all 20'), 'ok', 'the broker answers slowly');
my $id = $node->safe_psql('postgres', q{SELECT cdc_plugin.snapshot('items')});
$node->poll_query_until('postgres',
	"SELECT chunks_done >= 20 FROM cdc_plugin.snapshots WHERE id = $id AND state = 'running'")
  or die 'the snapshot did not get far enough';
my $acked = $node->safe_psql('postgres', "SELECT rows_done FROM cdc_plugin.snapshots WHERE id = $id");
my $pid = CdcKafka::worker_pid($node);
ok(kill('KILL', $pid), "worker killed after $acked acknowledged rows of the snapshot");
$node->stop('immediate');
CdcKafka::finish_writes($writes);
is($broker->command('rtt all 0'), 'ok', 'the broker answers at once again');
$node->start;
$writes = IPC::Run::start(
	[ 'pgbench', '-n', '-c', 4, '-T', 3, '-R', 400, '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \$out, '2>', \$err);

CdcKafka::wait_snapshots_done($node);
CdcKafka::finish_writes($writes);
ok($node->log_contains(qr/resumed snapshot $id of table public\.items after \d+ acknowledged rows/),
	'the new worker resumed the snapshot');
my ($state, $chunks) = split /\|/, $node->safe_psql('postgres',
	"SELECT state, chunks_done FROM cdc_plugin.snapshots WHERE id = $id");
is($state, 'done', 'and finished it');
cmp_ok($chunks, '>=', $rows / 250 - 1, "$chunks chunks acknowledged in all");
CdcKafka::wait_caught_up($node);

CdcKafka::verify_stream($node, $consumer, name => 'snapshot resumed after a crash',
	max_duplicates => 1_000_000, snapshots_complete => 1, tables => ['items']);
my $published = CdcKafka::count_snapshot_rows($node, $consumer, $id);
cmp_ok($published, '>=', $rows / 2, "$published r events of the snapshot in the topic");
# The first chunk (ids 1..250) was acknowledged and its progress committed
# long before the crash (20 chunks were): a resumed snapshot never reads it
# again, a snapshot started over would publish each of its rows twice.
my $first_chunk = CdcKafka::count_snapshot_rows($node, $consumer, $id,
	"(e->'after'->>'id')::int <= 250");
my $first_keys = CdcKafka::count_snapshot_rows($node, $consumer, $id,
	"(e->'after'->>'id')::int <= 250", "count(DISTINCT e->'after'->>'id')");
cmp_ok($first_keys, '>', 200, "$first_keys rows of the first chunk were read");
is($first_chunk, $first_keys,
	'each of them was published once: the snapshot was resumed, not started over');

note 'consumer: ' . ${ $consumer->{err} };
$node->stop;
CdcKafka::stop_consumer($consumer);
$broker->stop;
done_testing();
