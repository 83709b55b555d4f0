# Failure (c): every broker is down for 30 seconds while writes go on.
# The worker keeps what it decoded queued (message.timeout.ms=0: nothing
# expires), status() says the broker is down and the slot stops moving,
# and when the brokers return everything is delivered, in order. A
# crash while changes wait in the producer's queue loses none of them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my ($broker, $node, $consumer) = CdcKafka::setup_stream('outage');

my $writes = CdcKafka::start_writes($node, seconds => 36, rate => 100);
sleep 3;
is($broker->command('down all'), 'ok', 'brokers down');
my $down_at = $node->safe_psql('postgres', 'SELECT confirmed_lsn FROM cdc_plugin.status()');
CdcKafka::wait_for_status($node, "broker = 'down' AND in_flight > 0", 'broker down, changes queued');
sleep 27;
my $row = $node->safe_psql('postgres', qq{
	SELECT broker, in_flight > 0, confirmed_lsn <= '$down_at'::pg_lsn + 65536, pid IS NOT NULL
	FROM cdc_plugin.status()});
is($row, 'down|t|t|t', 'during the outage: broker down, changes queued, slot held back, worker alive');
is($broker->command('up all'), 'ok', 'brokers up after 30 s');
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
is($node->safe_psql('postgres', 'SELECT broker, restarts FROM cdc_plugin.status()'), 'up|0',
	'after the outage: broker up, no restart was needed');
# The worker itself re-sends nothing here (no restart, checked above), but
# a Produce request in flight when the brokers went down is retried by
# librdkafka; a real broker drops the copy by its idempotence sequence
# number, librdkafka 2.0.2's mock broker may store it twice. So a few
# duplicates (one retried batch per partition at most) are the mock's.
CdcKafka::verify_stream($node, $consumer, name => 'broker down for 30 s',
	max_duplicates => 20, tables => ['items']);

# The queued changes exist only in the worker's memory: a crash during an
# outage must not lose them, because the slot was not confirmed past them.
$writes = CdcKafka::start_writes($node, seconds => 3, rate => 100);
is($broker->command('down all'), 'ok', 'brokers down again');
CdcKafka::wait_for_status($node, "broker = 'down' AND in_flight > 0", 'changes queued');
CdcKafka::finish_writes($writes);
$node->safe_psql('postgres', 'CHECKPOINT');    # writes the slot's position down
$node->stop('immediate');
$node->start;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker back after the crash');
is($broker->command('up all'), 'ok', 'brokers up');
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'crash while the broker was down',
	max_duplicates => 1_000_000, tables => ['items']);

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
