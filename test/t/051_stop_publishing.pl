# cdc_plugin.stop_publishing(drop_slot => true) on a streaming worker: the
# worker exits cleanly, its slot is dropped at once (no WAL retained, no
# restart needed for that), status() says why nothing runs, and the
# launcher starts no worker again: not after its restart backoff, not
# after the launcher itself was restarted (the flag is in shared memory).
# After a server restart the worker runs again: it creates a new slot and,
# with snapshot_mode = 'initial', snapshots the table, so the rows written
# while it was stopped arrive as r events, and new changes as usual.
use strict;
use warnings;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_node('stop_publishing', $broker);
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
CdcKafka::create_items_table($node);
$node->safe_psql('postgres',
	"INSERT INTO items SELECT g, 1, 'before the stop' FROM generate_series(1, 10) g");
CdcKafka::wait_caught_up($node);

# The events of table items in Kafka, read from the beginning, as "op:id".
sub items_events
{
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ $CdcKafka::CONSUME_BIN, 'consume', '--brokers', $broker->bootstrap,
		  '--topic-prefix', 'cdc', '--format', 'json', '--idle-exit', 3000 ],
		'>', \$out, '2>', \$err)
	  or die "consume --format json failed: $err";
	my @events;
	for my $line (split /\n/, $out)
	{
		my $m = decode_json($line);
		next unless $m->{topic} eq 'cdc.public.items' && defined $m->{value};
		my $row = $m->{value}{after} // $m->{value}{before} // next;
		push @events, "$m->{value}{op}:$row->{id}";
	}
	return sort @events;
}

# Workers running now, as pg_stat_activity shows them.
sub workers_running
{
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'cdc_plugin worker'");
}

sub launcher_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'cdc_plugin launcher'");
}

my $old_pid = CdcKafka::worker_pid($node);
ok(defined $old_pid, "worker $old_pid streams");
my $restarts = $node->safe_psql('postgres', 'SELECT restarts FROM cdc_plugin.status()');
my $log_offset = -s $node->logfile;

# ---- stop, dropping the slot ----------------------------------------------

my ($rc, $stdout, $stderr) =
  $node->psql('postgres', 'SELECT cdc_plugin.stop_publishing(drop_slot => true)');
is($rc, 0, 'stop_publishing(drop_slot => true) succeeds') or diag $stderr;
is($stdout, 't', 'and says it dropped a slot');
like($stderr, qr/NOTICE:  cdc_plugin worker stopped; it starts again when the server restarts/,
	'it says the worker stopped, and until when');
like($stderr, qr/NOTICE:  dropped the replication slot named by cdc_plugin\.slot_name/,
	'it says it dropped the slot');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE plugin = 'cdc_plugin'"),
	'0', 'no cdc_plugin slot is left to retain WAL');
# (its pg_stat_activity entry goes last, as the process exits)
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'cdc_plugin worker'"),
	'the worker process is gone');
is($node->safe_psql('postgres',
		'SELECT state, pid IS NULL, retained_wal_bytes IS NULL FROM cdc_plugin.status()'),
	'stopped by stop_publishing()|t|t', 'status() says why no worker runs');
ok($node->log_contains(qr/cdc_plugin worker stopped; confirmed position/, $log_offset),
	'the worker stopped the clean way (SIGTERM: drain, confirm, exit)');

# The launcher saw the worker exit and decided to start none. Its first
# restart backoff is 1 s: look a few times across several of them.
$node->wait_for_log(
	qr/cdc_plugin launcher starts no worker: cdc_plugin\.stop_publishing\(\) was called/,
	$log_offset);
my $seen = 0;
for (1 .. 5)
{
	sleep 1;
	$seen += workers_running();
}
is($seen, 0, 'the launcher starts no worker afterwards');
is($node->safe_psql('postgres', 'SELECT state, restarts FROM cdc_plugin.status()'),
	"stopped by stop_publishing()|$restarts", 'no restart is counted or shown');

# A new launcher (the postmaster restarts a terminated one after 5 s) finds
# the flag in shared memory.
my $launcher = launcher_pid();
$log_offset = -s $node->logfile;
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)"), 't',
	"launcher $launcher terminated");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'cdc_plugin launcher' AND pid <> $launcher")
  or die 'timed out waiting for a new launcher';
$node->wait_for_log(
	qr/cdc_plugin launcher starts no worker: cdc_plugin\.stop_publishing\(\) was called/,
	$log_offset);
$seen = 0;
for (1 .. 3)
{
	sleep 1;
	$seen += workers_running();
}
is($seen, 0, 'the new launcher starts no worker either');

# Calling it again changes nothing and says so.
($rc, $stdout, $stderr) =
  $node->psql('postgres', 'SELECT cdc_plugin.stop_publishing(drop_slot => true)');
is($stdout, 'f', 'a second call drops nothing');
like($stderr, qr/no cdc_plugin worker was running; none starts again until the server restarts/,
	'and says no worker was running');
like($stderr, qr/no replication slot named by cdc_plugin\.slot_name exists/,
	'and that there is no slot to drop');

# Written while stopped: no slot keeps it, nothing publishes it.
$node->safe_psql('postgres',
	"INSERT INTO items SELECT g, 1, 'while stopped' FROM generate_series(11, 20) g");

# ---- a server restart starts the worker again ----------------------------

$log_offset = -s $node->logfile;
$node->restart;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming after the restart');
ok($node->log_contains(qr/cdc_plugin created replication slot "cdc_plugin"/, $log_offset),
	'the worker created a new slot');
is($node->safe_psql('postgres',
		"SELECT plugin FROM pg_replication_slots WHERE slot_name = 'cdc_plugin'"),
	'cdc_plugin', 'and holds it');
$node->safe_psql('postgres', "INSERT INTO items VALUES (21, 1, 'after the restart')");
CdcKafka::wait_caught_up($node);
CdcKafka::wait_snapshots_done($node);

my @events = items_events();
my %count;
$count{$_}++ for @events;
is(scalar(grep { /^c:(\d+)$/ && $1 <= 10 } keys %count), 10,
	'the changes before the stop were published');
is(scalar(grep { /^c:(\d+)$/ && $1 > 10 && $1 <= 20 } keys %count), 0,
	'the changes made while stopped were not published as changes (no slot kept them)');
is(scalar(grep { /^r:(\d+)$/ } keys %count), 20,
	'the new slot\'s initial snapshot published every row, those written while stopped too');
is($count{'c:21'}, 1, 'a change after the restart is published once');

$node->stop;
$broker->stop;
done_testing();
