# Failure (c): every broker is down for 30 seconds while writes go on.
# The worker keeps what it decoded queued (message.timeout.ms=0: nothing
# expires), status() says the broker is down and the slot stops moving,
# and when the brokers return everything is delivered, in order. It says
# why once: state 'waiting for Kafka: brokers unreachable', last_error
# naming librdkafka's cause (no broker address, no hint about broker
# versions, which the cause is not), one WARNING; when a broker answers
# again, one LOG line and state 'streaming'. A crash while changes wait
# in the producer's queue loses none of them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my ($broker, $node, $consumer) = CdcKafka::setup_stream('outage');

my $unreachable = "state = 'waiting for Kafka: brokers unreachable'";
my $writes = CdcKafka::start_writes($node, seconds => 36, rate => 100);
sleep 3;
my $offset = -s $node->logfile;
is($broker->command('down all'), 'ok', 'brokers down');
my $down_at = $node->safe_psql('postgres', 'SELECT confirmed_lsn FROM cdc_plugin.status()');
CdcKafka::wait_for_status($node, "broker = 'down' AND in_flight > 0", 'broker down, changes queued');
CdcKafka::wait_for_status($node, $unreachable, 'status() says no broker can be reached');
my ($error, $error_time) = split /\|/,
  $node->safe_psql('postgres', 'SELECT last_error, last_error_time FROM cdc_plugin.status()');
like($error, qr/^all brokers are down: \S/, 'last_error says all brokers are down, and why');
note "last_error: $error";
unlike($error, qr/broker version/, 'without librdkafka\'s hint about broker versions');
unlike($error, qr/\Q${\ $broker->bootstrap}\E|127\.0\.0\.1/,
	'without the broker address (a setting\'s value)');
sleep 27;
my $row = $node->safe_psql('postgres', qq{
	SELECT broker, in_flight > 0, confirmed_lsn <= '$down_at'::pg_lsn + 65536, pid IS NOT NULL,
	       $unreachable, last_error, last_error_time = '$error_time'
	FROM cdc_plugin.status()});
is($row, "down|t|t|t|t|$error|t",
	'during the outage: broker down, changes queued, slot held back, worker alive, '
	  . 'the same state and the same error all along (librdkafka retried meanwhile)');
my $outage_log = slurp_file($node->logfile, $offset);
my @said = $outage_log =~ /^.*(?:LOG|WARNING|ERROR):  cdc_plugin.*$/mg;
is(scalar @said, 1, 'one line from the worker during the outage, not one per retry')
  or diag join "\n", @said;
like($said[0] // '', qr/WARNING:  cdc_plugin worker cannot reach any Kafka broker: \Q$error\E$/,
	'which is the warning naming the error');
unlike($outage_log, qr/broker version/, 'the log has no hint about broker versions either');
unlike($outage_log, qr/\Q${\ $broker->bootstrap}\E/, 'nor the broker address');

$offset = -s $node->logfile;
is($broker->command('up all'), 'ok', 'brokers up after 30 s');
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
is($node->safe_psql('postgres', 'SELECT state, broker, restarts FROM cdc_plugin.status()'),
	'streaming|up|0', 'after the outage: streaming, broker up, no restart was needed');
my @back = slurp_file($node->logfile, $offset) =~ /(cdc_plugin worker reached a Kafka broker again)/g;
is(scalar @back, 1, 'one LOG line says a broker is reachable again');
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
CdcKafka::wait_for_status($node, "$unreachable AND pid IS NOT NULL",
	'worker back after the crash, saying no broker can be reached');
is($broker->command('up all'), 'ok', 'brokers up');
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'crash while the broker was down',
	max_duplicates => 1_000_000, tables => ['items']);

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
