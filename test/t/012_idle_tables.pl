# Idle captured tables never hold WAL back: while other tables of the
# database and another database write a lot, the worker publishes nothing
# but keeps confirming what it decoded, so the slot's confirmed position
# follows the WAL and, after a checkpoint, the WAL it retains shrinks.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker();
my $node = CdcKafka::start_node('idle', $broker,
	conf => "cdc_plugin.include_tables = 'public.captured'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
$node->safe_psql('postgres', q{
	CREATE TABLE captured (id int PRIMARY KEY);
	CREATE TABLE busy (id int, payload text);
	CREATE DATABASE other;});
$node->safe_psql('other', 'CREATE TABLE busy (id int, payload text)');

my $start = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
for my $round (1 .. 5)
{
	$node->safe_psql('postgres',
		"INSERT INTO busy SELECT g, repeat('x', 500) FROM generate_series(1, 10000) g");
	$node->safe_psql('other',
		"INSERT INTO busy SELECT g, repeat('y', 500) FROM generate_series(1, 10000) g");
}
$node->safe_psql('postgres', 'CHECKPOINT');
my $end = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
my $written = $node->safe_psql('postgres', "SELECT '$end'::pg_lsn - '$start'::pg_lsn");
cmp_ok($written, '>', 50_000_000, 'the other tables wrote more than 50 MB of WAL');

CdcKafka::wait_for_status($node, "confirmed_lsn >= '$end'",
	'confirmed position past the other tables\' WAL');
# the slot's restart position moves once decoding passes a running-
# transactions record (the checkpoint's, or the next the bgwriter logs)
$node->poll_query_until('postgres',
	"SELECT retained_wal_bytes < $written / 4 FROM cdc_plugin.status()")
  or diag $node->safe_psql('postgres', 'SELECT * FROM cdc_plugin.worker_status', extra_params => ['-x']);
cmp_ok($node->safe_psql('postgres', 'SELECT retained_wal_bytes FROM cdc_plugin.status()'),
	'<', $written / 4, 'the slot does not retain the other tables\' WAL');
# the only events: the schema event of CREATE TABLE captured, on each of the 4 partitions
is($node->safe_psql('postgres', 'SELECT events_published, in_flight FROM cdc_plugin.status()'),
	'4|0', 'and nothing was published for them');

$node->stop;
$broker->stop;
done_testing();
