# Failure (g): a reload while Kafka is unreachable. With every broker down
# and the producer's queue full, a reload that points
# cdc_plugin.kafka_bootstrap_servers at other brokers is seen at once: the
# stuck session drains for a few seconds at most, is abandoned (nothing
# more confirmed), and a new session resends everything from the
# confirmed position to the new brokers. In the same situation a fast
# shutdown finishes instead of waiting for Kafka forever.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $old = CdcKafka::start_broker();
my $new = CdcKafka::start_broker();
my $node = CdcKafka::start_node('reload_outage', $old,
	conf => "cdc_plugin.kafka_properties = 'queue.buffering.max.messages=4'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
CdcKafka::create_reference_slot($node);
# the table's schema event goes to the first brokers while they are up (the
# new session on the new brokers restates the shape before the rows)
CdcKafka::create_items_table($node);
CdcKafka::wait_caught_up($node);
is($old->command('down all'), 'ok', 'the brokers the worker started with go down');
my $consumer = CdcKafka::start_consumer($new, $node->basedir . '/consumed.tsv');
my $pid = CdcKafka::worker_pid($node);

$node->safe_psql('postgres',
	"INSERT INTO items SELECT i, 1, 'before the reload' FROM generate_series(1, 5) i");
$node->safe_psql('postgres',
	"INSERT INTO items SELECT i, 1, 'before the reload' FROM generate_series(6, 10) i");
CdcKafka::wait_for_status($node,
	"state = 'waiting for Kafka: brokers unreachable' AND in_flight = 4",
	'queue full, brokers down');

$node->append_conf('postgresql.conf',
	"cdc_plugin.kafka_bootstrap_servers = '" . $new->bootstrap . "'\n");
$node->reload;
CdcKafka::wait_caught_up($node);
ok($node->log_contains(qr/cdc_plugin worker reloading: cdc_plugin\.kafka_bootstrap_servers changed/),
	'the reload was taken while waiting for room in the queue');
is(CdcKafka::worker_pid($node), $pid, 'in the same worker process');
CdcKafka::verify_stream($node, $consumer, name => 'reload to other brokers during an outage',
	max_duplicates => 0, tables => ['items']);

# The same outage, now on the new brokers, and a fast shutdown right
# after a reload: the drain is bounded, so the server stops.
is($new->command('down all'), 'ok', 'the new brokers go down too');
$node->safe_psql('postgres',
	"INSERT INTO items SELECT i, 2, 'during the second outage' FROM generate_series(11, 20) i");
CdcKafka::wait_for_status($node, "state = 'waiting for Kafka: brokers unreachable' AND in_flight = 4",
	'queue full again');
$node->append_conf('postgresql.conf',
	"cdc_plugin.kafka_bootstrap_servers = '" . $old->bootstrap . "'\n");
$node->reload;
{
	local $ENV{PGCTLTIMEOUT} = 10;
	ok($node->stop('fast', fail_ok => 1), 'a fast shutdown finishes within 10 s');
}

# Nothing of it is lost: the next start resends from the confirmed position.
is($new->command('up all'), 'ok', 'the new brokers are back');
$node->append_conf('postgresql.conf',
	"cdc_plugin.kafka_bootstrap_servers = '" . $new->bootstrap . "'\n");
$node->start;
CdcKafka::wait_caught_up($node);
# librdkafka may have had a Produce request in flight when the brokers
# went down; the mock broker lacks idempotent dedup and can store that
# batch twice (see 022_broker_outage.pl). The worker itself resends only
# what was never acknowledged.
CdcKafka::verify_stream($node, $consumer, name => 'fast shutdown during an outage',
	max_duplicates => 10, tables => ['items']);

CdcKafka::stop_consumer($consumer);
$node->stop;
$old->stop;
$new->stop;
done_testing();
