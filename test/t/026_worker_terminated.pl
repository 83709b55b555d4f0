# SIGTERM (pg_terminate_backend, or a shutdown) makes the worker finish
# what is in flight, confirm it and exit; the launcher starts a new one,
# which goes on from the confirmed position: nothing lost, nothing sent
# twice. The restart is counted in status(), and the counters go on from
# where the old worker left them (they count since the server started).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my ($broker, $node, $consumer) = CdcKafka::setup_stream('terminated');

my $writes = CdcKafka::start_writes($node, seconds => 5);
sleep 2;
my $pid = CdcKafka::worker_pid($node);
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"), 't', "worker $pid terminated");
CdcKafka::wait_for_status($node, "state = 'streaming' AND pid <> $pid", 'a new worker');
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
ok($node->log_contains(qr/cdc_plugin worker stopped; confirmed position/),
	'the old worker stopped cleanly');
is($node->safe_psql('postgres', 'SELECT restarts >= 1 FROM cdc_plugin.status()'), 't',
	'the restart is counted');
CdcKafka::verify_stream($node, $consumer, name => 'worker terminated during writes',
	max_duplicates => 0, tables => ['items']);

# With everything confirmed and nothing written, a new worker sends
# nothing and shows the counters the old one left.
my $counters = 'SELECT events_published, bytes_published, transactions_published FROM cdc_plugin.status()';
my $before = $node->safe_psql('postgres', $counters);
like($before, qr/^[1-9]\d*\|[1-9]\d*\|[1-9]\d*$/, "published before: $before");
$pid = CdcKafka::worker_pid($node);
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
CdcKafka::wait_for_status($node, "state = 'streaming' AND pid <> $pid", 'another new worker');
is($node->safe_psql('postgres', $counters), $before, 'counters kept across the worker restart');

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
