# Failure (d): the brokers answer Produce requests with errors. Retriable
# ones are retried by the idempotent producer without loss or duplicates.
# A non-retriable one fails a delivery: the worker restarts decoding from
# the confirmed position after a backoff (re-sending, at-least-once),
# says so in status(), and keeps running.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
# One Produce request in flight per connection: librdkafka 2.0.2's mock
# broker accepts a pipelined idempotent batch after an earlier one failed
# (a real broker answers OUT_OF_ORDER_SEQUENCE_NUMBER and the producer
# resends in order), so with several in flight the mock itself loses
# acknowledged messages; reproducible with a plain librdkafka producer.
my ($broker, $node, $consumer) = CdcKafka::setup_stream('produce_errors',
	conf => "cdc_plugin.kafka_properties = 'max.in.flight=1'\n");
my $pid = CdcKafka::worker_pid($node);

my $writes = CdcKafka::start_writes($node, seconds => 8);
sleep 1;
is($broker->command('produce-errors 30 NOT_ENOUGH_REPLICAS'), 'ok', 'retriable errors pushed');
sleep 2;
is($broker->command('produce-errors 30 REQUEST_TIMED_OUT'), 'ok', 'more retriable errors pushed');
sleep 2;
is($broker->command('produce-errors 20 LEADER_NOT_AVAILABLE'), 'ok', 'and more');
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
is($node->safe_psql('postgres', 'SELECT restarts, delivery_errors FROM cdc_plugin.status()'),
	'0|0', 'retriable errors: retried, nothing failed');
CdcKafka::verify_stream($node, $consumer, name => 'retriable produce errors',
	max_duplicates => 0, tables => ['items']);

$writes = CdcKafka::start_writes($node, seconds => 4);
sleep 1;
is($broker->command('produce-errors 1 TOPIC_AUTHORIZATION_FAILED'), 'ok', 'a non-retriable error pushed');
CdcKafka::finish_writes($writes);
CdcKafka::wait_for_status($node, 'restarts >= 1', 'the worker restarted decoding');
CdcKafka::wait_caught_up($node);
my $row = $node->safe_psql('postgres', qq{
	SELECT pid = $pid, delivery_errors >= 1, last_error ~* 'authorization' FROM cdc_plugin.status()});
is($row, 't|t|t', 'non-retriable error: counted, reported, same worker process went on');
ok($node->log_contains(qr/cdc_plugin worker restarting from [0-9A-F]+\/[0-9A-F]+ in \d+ ms/),
	'the restart and its backoff are logged');
CdcKafka::verify_stream($node, $consumer, name => 'non-retriable produce error',
	max_duplicates => 1_000_000, tables => ['items']);

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
