# Bad settings do not crash-loop: an unknown librdkafka property, empty
# bootstrap servers, a table pattern without a schema, a database that
# does not exist, and wal_level below
# logical each give one clear log line and a status() row saying what is
# wrong, while the server runs on and nothing restarts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use CdcKafka;

CdcKafka::require_tools();

# Starts a node with one bad setting, waits for the status row, and
# checks the log over a few more seconds.
sub check_bad_setting
{
	my ($name, $conf, $error_re, $log_re) = @_;
	my $node = CdcKafka::start_node($name, undef, conf => $conf);

	CdcKafka::wait_for_status($node, "state = 'configuration error'", "$name reported");
	like($node->safe_psql('postgres', 'SELECT last_error FROM cdc_plugin.status()'),
		$error_re, "$name: status() says what is wrong");
	sleep 3;
	my $log = slurp_file($node->logfile);
	my @lines = $log =~ /($log_re)/g;
	is(scalar @lines, 1, "$name: one log line") or diag join "\n", @lines;
	unlike($log, qr/background worker "cdc_plugin [a-z]+" .*exited/,
		"$name: no worker exited (no crash loop)");
	is($node->safe_psql('postgres', 'SELECT restarts FROM cdc_plugin.status()'), '0',
		"$name: nothing restarted");
	$node->stop;
}

check_bad_setting('unknown_property', "cdc_plugin.kafka_properties = 'linger.ms=5;no.such.property=1'\n",
	qr/^invalid Kafka property "no\.such\.property": No such configuration property/,
	qr/WARNING:  cdc_plugin worker cannot publish: invalid Kafka property "no\.such\.property"/);
check_bad_setting('empty_bootstrap', "cdc_plugin.kafka_bootstrap_servers = ''\n",
	qr/^no Kafka brokers configured: cdc_plugin\.kafka_bootstrap_servers is empty$/,
	qr/WARNING:  cdc_plugin worker cannot publish: no Kafka brokers configured/);
check_bad_setting('table_pattern', "cdc_plugin.include_tables = 'orders'\n",
	qr/^invalid value "orders" for option "include-tables": expected comma-separated schema\.table patterns/,
	qr/WARNING:  cdc_plugin worker cannot publish: invalid value "orders"/);
check_bad_setting('missing_database', "cdc_plugin.database = 'no_such_db'\n",
	qr/^database "no_such_db" named by cdc_plugin\.database does not exist$/,
	qr/WARNING:  cdc_plugin worker not started: database "no_such_db"/);
check_bad_setting('wal_level', "wal_level = replica\n",
	qr/^wal_level must be "logical"/,
	qr/WARNING:  cdc_plugin worker not started: wal_level must be "logical"/);

done_testing();
