# Failure (b): the worker is killed with SIGKILL while writes go on. The
# postmaster treats that as a crash and restarts every process; the worker
# comes back, resumes from its slot's confirmed position, and the topics
# end up complete and in per-key order (re-sent changes are duplicates).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
# the test framework turns crash restarts off; production keeps the default
my ($broker, $node, $consumer) =
  CdcKafka::setup_stream('killed', conf => "restart_after_crash = on\n");

my $writes = CdcKafka::start_writes($node, seconds => 4);
sleep 2;
my $pid = CdcKafka::worker_pid($node);
ok(kill('KILL', $pid), "worker $pid killed");
CdcKafka::finish_writes($writes);
CdcKafka::wait_for_status($node, "state = 'streaming' AND pid <> $pid", 'a new worker');
$writes = CdcKafka::start_writes($node, seconds => 2);
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
ok($node->log_contains(qr/cdc_plugin worker.*terminated by signal 9/),
	'the postmaster saw the worker die');
CdcKafka::verify_stream($node, $consumer, name => 'worker killed during writes',
	max_duplicates => 1_000_000, tables => ['items']);

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
