# Failure (i): PostgreSQL invalidates the worker's slot because it kept
# more WAL than max_slot_wal_keep_size allows. The worker cannot go on
# from it and must not pretend to: it logs one clear warning saying what
# happened and what to do, shows state 'slot lost' and stops retrying
# (no crash loop on removed WAL). Once an operator drops the slot, the
# worker creates a new one and streams again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
# no broker: nothing is acknowledged, so the slot holds its WAL
my $node = CdcKafka::start_node('slot_lost', undef,
	conf => "max_slot_wal_keep_size = 1MB\nwal_keep_size = 0\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
$node->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY)');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
CdcKafka::wait_for_status($node, 'in_flight = 1', 'a change waits for Kafka');

for my $i (1 .. 4)
{
	$node->safe_psql('postgres', "INSERT INTO t VALUES (1 + $i); SELECT pg_switch_wal()");
}
$node->safe_psql('postgres', 'CHECKPOINT');
is($node->safe_psql('postgres',
		"SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'cdc_plugin'"),
	'lost', 'the checkpoint invalidated the slot');

CdcKafka::wait_for_status($node, "state = 'slot lost'", "state 'slot lost'");
my $pid = CdcKafka::worker_pid($node);
my $restarts = $node->safe_psql('postgres', 'SELECT restarts FROM cdc_plugin.status()');
like($node->safe_psql('postgres', 'SELECT last_error FROM cdc_plugin.status()'),
	qr/invalidated \(max_slot_wal_keep_size\): drop it/, 'status() says what to do');

# A reload makes the worker look at the slot again; it is still lost.
$node->reload;
sleep 3;
is(CdcKafka::worker_pid($node), $pid, 'the worker does not crash-loop');
is($node->safe_psql('postgres', 'SELECT state, restarts FROM cdc_plugin.status()'),
	"slot lost|$restarts", 'and does not retry');
my $log = slurp_file($node->logfile);
my @warnings = $log =~ /(WARNING:  cdc_plugin replication slot "cdc_plugin" was invalidated[^\n]*)/g;
is(scalar @warnings, 1, 'one warning') or diag join "\n", @warnings;
like($log, qr/HINT:  Drop the slot with SELECT pg_drop_replication_slot\('cdc_plugin'\)/,
	'whose hint says what to do');
unlike($log, qr/has already been removed/, 'no attempt to read removed WAL');

# The operator accepts the loss: drop the slot, the worker starts over.
$node->safe_psql('postgres', "SELECT pg_drop_replication_slot('cdc_plugin')");
$node->reload;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'streaming from a new slot');
ok($node->log_contains(qr/cdc_plugin created replication slot "cdc_plugin"/),
	'a new slot was created');
is(CdcKafka::worker_pid($node), $pid, 'by the same worker');

$node->stop;
done_testing();
