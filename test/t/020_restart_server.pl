# Failure (a): PostgreSQL restarts while writes go on, first with a fast
# shutdown, then with an immediate one (a crash as far as WAL is
# concerned). Nothing is lost and each key keeps its order. A fast
# shutdown lets the worker drain and write its confirmed position, so it
# re-sends nothing; after an immediate one it re-sends from the position
# last written to disk, and only then are duplicates expected.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my ($broker, $node, $consumer) = CdcKafka::setup_stream('restart');

my $writes = CdcKafka::start_writes($node, seconds => 4);
sleep 2;
$node->stop('fast');
$node->start;
CdcKafka::finish_writes($writes);
$writes = CdcKafka::start_writes($node, seconds => 2);
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'fast restart during writes',
	max_duplicates => 0, tables => ['items']);

$writes = CdcKafka::start_writes($node, seconds => 4);
sleep 2;
$node->stop('immediate');
$node->start;
CdcKafka::finish_writes($writes);
$writes = CdcKafka::start_writes($node, seconds => 2);
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'immediate restart during writes',
	max_duplicates => 1_000_000, tables => ['items']);

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
