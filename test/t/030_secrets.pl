# Secrets never reach a GUC value, the server log or a monitoring role.
# SASL credentials live in cdc_plugin.kafka_properties_file, a name=value
# file the worker reads itself (a password may hold ';', '=' and '#'); a
# changed file and a reload rebuild the producer. A pg_monitor member sees
# where the file is, never what is in it: not with SHOW, not in pg_settings,
# not in status(). A secret-bearing property in cdc_plugin.kafka_properties
# is refused, at a reload and at startup, with an error naming the property
# and the file setting and never its value; the configuration error leaves
# status() once the configuration is valid again. A file that others may
# read, one owned by another user, a missing one and a malformed one are
# refused, naming the file and what is wrong. The server log never holds a
# secret.
#
# The mock broker speaks plaintext only, so security.protocol stays
# plaintext: librdkafka then takes sasl.* (it warns that sasl.mechanism is
# set without a SASL protocol, naming properties, not values) and never
# sends them, while they still go through everything a real SASL setup's
# would: the file, the producer's configuration, the settings comparison.
use strict;
use warnings;
use Fcntl qw(:mode);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();

# Recognisable secrets, with the characters kafka_properties could not
# hold; each of their pieces between those characters is recognisable too.
my @secrets = map { "Qx${_}sec;Qx${_}ret=Qx${_}pass#Qx${_}word" } 1 .. 4;
my $dir = PostgreSQL::Test::Utils::tempdir();
my $file = "$dir/kafka.properties";

sub write_properties
{
	my ($path, $content, $mode) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $content;
	close $fh;
	chmod $mode // 0600, $path or die "chmod $path: $!";
}

sub credentials
{
	my ($password) = @_;
	return "# Kafka credentials of the cdc user\n"
	  . "\n"
	  . "sasl.mechanism = PLAIN\n"
	  . "sasl.username = cdc\n"
	  . "sasl.password = $password\n";
}

# Fails for every secret (or a distinctive part of one) that $text holds.
sub no_secret_in
{
	my ($text, $what) = @_;
	my @found = grep { index($text, $_) >= 0 }
	  map { ($_, split /[;=#]/, $_) } @secrets;
	is(join(', ', @found), '', "$what holds no secret");
}

my $set_props = "cdc_plugin.kafka_properties = 'security.protocol=plaintext;linger.ms=5'\n";
write_properties($file, credentials($secrets[0]));

my $broker = CdcKafka::start_broker(partitions => 1);
my $node = CdcKafka::start_node('secrets', $broker,
	conf => $set_props . "cdc_plugin.kafka_properties_file = '$file'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'streaming with the properties file');
$node->safe_psql('postgres', q{
	CREATE TABLE items (id int PRIMARY KEY, note text);
	INSERT INTO items SELECT g, 'before rotation' FROM generate_series(1, 100) g;});
CdcKafka::wait_caught_up($node);
pass('the worker publishes with credentials from the file');

# Rotating the password: a changed file and a reload rebuild the producer.
my $offset = -s $node->logfile;
write_properties($file, credentials($secrets[1]));
$node->reload;
$node->wait_for_log(qr/cdc_plugin worker reloading: cdc_plugin\.kafka_properties_file changed/, $offset);
$node->safe_psql('postgres', q{UPDATE items SET note = 'after rotation'});
CdcKafka::wait_caught_up($node);
pass('a changed file and a reload rebuild the producer, which publishes on');

# A reload that changes nothing rebuilds nothing.
$offset = -s $node->logfile;
$node->reload;
$node->safe_psql('postgres', q{INSERT INTO items VALUES (101, 'after a plain reload')});
CdcKafka::wait_caught_up($node);
unlike(slurp_file($node->logfile, $offset), qr/cdc_plugin worker reloading/,
	'a reload without changes does not rebuild the producer');

# What a pg_monitor member sees.
$node->safe_psql('postgres', 'CREATE ROLE mon LOGIN IN ROLE pg_monitor');
sub as_monitor
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'mon' ]);
}
is(as_monitor('SHOW cdc_plugin.kafka_properties_file'), $file,
	'a pg_monitor member sees where the secrets are');
my $seen = as_monitor('SHOW cdc_plugin.kafka_properties');
is($seen, 'security.protocol=plaintext;linger.ms=5', 'and the kafka_properties without secrets');
no_secret_in($seen, 'SHOW cdc_plugin.kafka_properties');
no_secret_in(as_monitor(q{SELECT * FROM pg_settings WHERE name LIKE 'cdc_plugin.%'}),
	'pg_settings as a pg_monitor member');
no_secret_in(as_monitor('SELECT * FROM cdc_plugin.status()'), 'status() as a pg_monitor member');
my ($rc) = $node->psql('postgres', 'SELECT * FROM pg_file_settings', extra_params => [ '-U', 'mon' ]);
isnt($rc, 0, 'pg_file_settings (which shows postgresql.conf as written) is not for pg_monitor');

# A secret in kafka_properties, at a reload: refused before PostgreSQL
# applies (and logs) the value; the worker reports a configuration error.
$offset = -s $node->logfile;
$node->append_conf('postgresql.conf',
	"cdc_plugin.kafka_properties = 'security.protocol=plaintext;sasl.password=$secrets[2]'\n");
$node->reload;
CdcKafka::wait_for_status($node, "state = 'configuration error'",
	'a secret in kafka_properties is a configuration error');
my $error = as_monitor('SELECT last_error FROM cdc_plugin.status()');
like($error, qr/^Kafka property "sasl\.password" holds a secret and cannot be set in cdc_plugin\.kafka_properties .*cdc_plugin\.kafka_properties_file$/,
	'status() names the property and the file setting');
no_secret_in($error, 'that error');
my $log = slurp_file($node->logfile, $offset);
like($log, qr/WARNING:  cdc_plugin worker cannot publish: Kafka property "sasl\.password" holds a secret/,
	'the worker logs the refusal once');
unlike($log, qr/parameter "cdc_plugin\.kafka_properties" changed to/,
	'PostgreSQL did not take (and log) the new value');
no_secret_in($log, 'the server log of that reload');
is(as_monitor('SHOW cdc_plugin.kafka_properties'), 'security.protocol=plaintext;linger.ms=5',
	'the value in effect is still the old one');

# Fixed: streaming again, and the configuration error leaves status().
$node->append_conf('postgresql.conf', $set_props);
$node->reload;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'streaming after the fix');
is(as_monitor(q{SELECT coalesce(last_error, 'none') FROM cdc_plugin.status()}), 'none',
	'a configuration error is cleared from last_error once the configuration is valid');

# The same secret at startup: the value is emptied, and the worker refuses.
$node->append_conf('postgresql.conf',
	"cdc_plugin.kafka_properties = 'security.protocol=plaintext;ssl.key.password=$secrets[3]'\n");
$offset = -s $node->logfile;
$node->restart;
CdcKafka::wait_for_status($node,
	"state = 'configuration error' AND last_error ~ '\"ssl.key.password\" holds a secret'",
	'a secret in kafka_properties at startup is a configuration error');
is(as_monitor('SHOW cdc_plugin.kafka_properties'), '', 'SHOW does not hold the refused value');
no_secret_in(as_monitor(q{SELECT * FROM pg_settings WHERE name LIKE 'cdc_plugin.%'}),
	'pg_settings after a refusal at startup');
no_secret_in(slurp_file($node->logfile, $offset), 'the server log of that startup');
$node->append_conf('postgresql.conf', $set_props);
$node->reload;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'streaming after the fix at startup');

# Files the worker refuses; each time it waits for the next reload.
# $needle: a part of the expected error (plain text) to wait for.
sub refused
{
	my ($what, $needle, $error_re) = @_;
	$node->reload;
	CdcKafka::wait_for_status($node,
		"state = 'configuration error' AND position('$needle' in last_error) > 0", $what);
	like($node->safe_psql('postgres', 'SELECT last_error FROM cdc_plugin.status()'),
		$error_re, "$what: status() names the file and what is wrong");
}

chmod 0644, $file;
refused('a file others may read', 'has permissions 0644',
	qr/^cdc_plugin\.kafka_properties_file "\Q$file\E" has permissions 0644: group and others must have no access/);
chmod 0600, $file;
$node->reload;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'streaming once the file is 0600 again');

my $foreign = '/etc/passwd';
isnt((stat $foreign)[4], $>, "$foreign is owned by another user");
$node->append_conf('postgresql.conf', "cdc_plugin.kafka_properties_file = '$foreign'\n");
refused('a file owned by another user', 'is owned by user ID',
	qr/^cdc_plugin\.kafka_properties_file "\Q$foreign\E" is owned by user ID \d+: it must be owned by the user the server runs as/);

$node->append_conf('postgresql.conf', "cdc_plugin.kafka_properties_file = '$dir/missing'\n");
refused('a missing file', 'No such file',
	qr/^could not open cdc_plugin\.kafka_properties_file "\Q$dir\E\/missing": No such file or directory/);

# A password pasted on a line of its own: named by the line's number, and
# what precedes its '=' is not quoted as a property name.
write_properties($file, credentials($secrets[1]) . "$secrets[0]\n");
$node->append_conf('postgresql.conf', "cdc_plugin.kafka_properties_file = '$file'\n");
refused('a malformed file', 'does not start with a property name',
	qr/^line 6 of cdc_plugin\.kafka_properties_file does not start with a property name/);

write_properties($file, credentials($secrets[1]));
$node->reload;
CdcKafka::wait_for_status($node, "state = 'streaming' AND last_error IS NULL",
	'streaming once the file is fixed');

# After all these reloads and refusals.
no_secret_in(slurp_file($node->logfile), 'the whole server log');
no_secret_in(as_monitor('SELECT * FROM cdc_plugin.status()'), 'status() at the end');

$node->stop;
$broker->stop;
done_testing();
