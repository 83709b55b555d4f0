# Failure (f): SIGHUP changes a Kafka property while writes go on. The
# worker drains what is in flight, rebuilds its producer and goes on from
# the confirmed position: nothing lost, nothing sent twice, same process.
# Its LOG line names the settings that changed, never their values: one
# setting, two at once, and the properties file whose content changed.
# A reload with a bad property is refused with one log line and a status
# row, the worker waits for the next reload, and catches up after it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my ($broker, $node, $consumer) = CdcKafka::setup_stream('reload');
my $pid = CdcKafka::worker_pid($node);

# Reloads with $conf appended (and the properties file already written);
# returns the worker's reload line.
sub reload_with
{
	my ($conf, $what) = @_;
	my $offset = -s $node->logfile;
	$node->append_conf('postgresql.conf', $conf) if $conf ne '';
	$node->reload;
	$node->wait_for_log(qr/cdc_plugin worker reloading/, $offset);
	CdcKafka::wait_for_status($node, "state = 'streaming'", "streaming again after $what");
	my ($line) = slurp_file($node->logfile, $offset) =~ /(cdc_plugin worker reloading.*)/;
	return $line;
}

# Writes the properties file: owned by the server's user, mode 0600.
my $file = $node->data_dir . '/kafka.properties';
sub write_properties
{
	my ($content) = @_;
	open my $fh, '>', $file or die "$file: $!";
	print $fh $content;
	close $fh;
	chmod 0600, $file or die "$file: $!";
}

my $writes = CdcKafka::start_writes($node, seconds => 14);
sleep 2;
is(reload_with("cdc_plugin.kafka_properties = 'compression.type=lz4;linger.ms=20'\n",
		'a changed property'),
	'cdc_plugin worker reloading: cdc_plugin.kafka_properties changed',
	'the reload line names the setting that changed');

write_properties("linger.ms = 10\n");
is(reload_with("cdc_plugin.kafka_properties = 'compression.type=lz4'\n"
		  . "cdc_plugin.kafka_properties_file = '$file'\n", 'two changed settings'),
	'cdc_plugin worker reloading: cdc_plugin.kafka_properties and cdc_plugin.kafka_properties_file changed',
	'two settings changed at once: both named');

write_properties("linger.ms = 30\n");
is(reload_with('', 'a changed properties file'),
	'cdc_plugin worker reloading: cdc_plugin.kafka_properties_file changed',
	'the properties file\'s content changed: the file\'s setting is named');
unlike(slurp_file($node->logfile), qr/cdc_plugin worker reloading.*(?:lz4|linger|kafka\.properties')/,
	'no reload line quotes a value');
sleep 2;

my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "cdc_plugin.kafka_properties = 'no.such.property=1'\n");
$node->reload;
CdcKafka::wait_for_status($node,
	"state = 'configuration error' AND last_error ~ 'no.such.property'",
	'bad property reported in status()');
sleep 2;    # writes go on; a crash loop would show up in the log now
my $log = slurp_file($node->logfile, $offset);
my @lines = $log =~ /(cdc_plugin worker cannot publish: .*)/g;
is(scalar @lines, 1, 'one log line for the bad property') or diag join "\n", @lines;
like($lines[0] // '', qr/invalid Kafka property "no\.such\.property"/, 'which names it');
unlike($log, qr/background worker "cdc_plugin worker" .* exited/, 'the worker did not exit');

$node->append_conf('postgresql.conf', "cdc_plugin.kafka_properties = 'compression.type=lz4'\n");
$node->reload;
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);
is(CdcKafka::worker_pid($node), $pid, 'the same worker process throughout');
is($node->safe_psql('postgres', 'SELECT restarts FROM cdc_plugin.status()'), '0',
	'no restart counted');
CdcKafka::verify_stream($node, $consumer, name => 'Kafka settings reloaded during writes',
	max_duplicates => 0, tables => ['items']);

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
