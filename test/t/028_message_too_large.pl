# Failure (h): a row whose message cannot fit in the producer's queue
# (queue.buffering.max.kbytes) would be reported "queue full" by
# librdkafka forever. The worker refuses it instead, with one clear error
# naming the table, the size and the settings to raise, backs off like for
# any refused message (nothing after it is confirmed), and a reload that
# raises the queue size lets it through.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker();
my $node = CdcKafka::start_node('too_large', $broker,
	conf => "cdc_plugin.kafka_properties = 'message.max.bytes=16000000;queue.buffering.max.kbytes=2048'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
$node->safe_psql('postgres', 'CREATE TABLE big (id int PRIMARY KEY, payload text)');
CdcKafka::create_reference_slot($node);
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');

$node->safe_psql('postgres', "INSERT INTO big VALUES (1, 'small')");
CdcKafka::wait_caught_up($node);
my $offset = -s $node->logfile;
# about 3.2 MB of text: more than the 2 MB queue
$node->safe_psql('postgres',
	"INSERT INTO big SELECT 2, string_agg(md5(i::text), '') FROM generate_series(1, 100000) i");
CdcKafka::wait_for_status($node,
	"state = 'retrying' AND last_error ~ 'table \"public.big\"'"
	  . " AND last_error ~ 'does not fit in the producer queue'",
	'the row refused, status says why');
like(slurp_file($node->logfile, $offset),
	qr/could not publish a change of table "public\.big": a message of \d{7} bytes does not fit in the producer queue: raise queue\.buffering\.max\.kbytes/,
	'the log names the table, the size and the setting');

$node->append_conf('postgresql.conf',
	"cdc_plugin.kafka_properties = 'message.max.bytes=16000000;queue.buffering.max.kbytes=16384'\n");
$node->reload;
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'a row larger than the queue, then a larger queue',
	max_duplicates => 0, tables => ['big']);

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
