# The slot budget: while Kafka is down the worker's slot retains WAL, and
# PostgreSQL would invalidate it at max_slot_wal_keep_size. The worker
# warns before that, once per level of cdc_plugin.wal_budget_warn crossed
# (50, 80, 95 % here), naming the cause and what to do; says once when the
# slot is back below the lowest level; and status() shows the slot's
# wal_status, budget, safe WAL and the fraction used, as
# pg_replication_slots does. The slot is never invalidated here. Without
# a budget the worker warns once at start that only the disk limits the
# slot, and once past cdc_plugin.wal_retained_warn_bytes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();

# Lines of the node's log matching $re.
sub count_log
{
	my ($node, $re) = @_;
	my @lines = slurp_file($node->logfile) =~ /$re/g;
	return scalar @lines;
}

# Waits until the log has $n lines matching $re.
sub wait_log_count
{
	my ($node, $re, $n, $what) = @_;
	my $deadline = time + 60;
	while (count_log($node, $re) < $n)
	{
		die "timed out waiting for the log: $what\n" if time > $deadline;
		sleep 1;
	}
	pass($what);
}

# Writes WAL the worker decodes but does not publish (a non-transactional
# logical message) until status() says the slot uses $fraction of its budget.
sub fill_budget
{
	my ($node, $fraction) = @_;
	my $deadline = time + 120;
	until ($node->safe_psql('postgres',
			"SELECT wal_budget_used >= $fraction FROM cdc_plugin.status()") eq 't')
	{
		die "retained WAL did not reach $fraction of the budget\n" if time > $deadline;
		$node->safe_psql('postgres',
			"SELECT pg_logical_emit_message(false, 'filler', repeat('x', 200000)); SELECT pg_sleep(0.05)");
	}
}

my $warn_re = qr/WARNING:  cdc_plugin replication slot "cdc_plugin" retains WAL past (\d+)% of max_slot_wal_keep_size/;
my $back_re = qr/LOG:  cdc_plugin replication slot "cdc_plugin" is back below 50% of max_slot_wal_keep_size/;

my $broker = CdcKafka::start_broker();
# 1 MB segments and a budget of 8 MB; no checkpoint comes by itself, so
# the slot is never invalidated
my $node = CdcKafka::start_node('wal_budget', $broker,
	init_extra => ['--wal-segsize=1'],
	conf => "max_slot_wal_keep_size = 8MB\nwal_keep_size = 0\n"
	  . "max_wal_size = 64MB\nmin_wal_size = 2MB\ncheckpoint_timeout = '1h'\n"
	  . "cdc_plugin.wal_budget_warn = '50,80,95'\ncdc_plugin.snapshot_mode = 'never'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
$node->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY)');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (0)');
CdcKafka::wait_caught_up($node);
is($node->safe_psql('postgres',
		'SELECT wal_status, wal_budget_bytes, safe_wal_bytes > 0, wal_budget_used < 0.5 FROM cdc_plugin.status()'),
	'reserved|8388608|t|t', 'status(): the slot within its budget of 8 MB');
is(count_log($node, qr/may retain WAL until the disk is full/), 0, 'no warning about an unlimited slot');

# the settings' check
my ($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET cdc_plugin.wal_budget_warn = '80,50'");
like($err, qr/The percentages must increase \(item 2 does not\)/, 'decreasing percentages are refused');
($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET cdc_plugin.wal_budget_warn = '50,101'");
like($err, qr/between 1 and 100/, 'a percentage above 100 is refused');

# Kafka goes away with a change in flight: the slot holds its WAL.
is($broker->command('down all'), 'ok', 'brokers down');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
CdcKafka::wait_for_status($node, "broker = 'down' AND in_flight > 0", 'broker down, a change queued');

my $prev_safe;
for my $level (50, 80, 95)
{
	fill_budget($node, $level / 100);
	wait_log_count($node, qr/WARNING:  cdc_plugin replication slot "cdc_plugin" retains WAL past $level% of/,
		1, "a warning at $level %");
	my ($status, $safe) = split /\|/, $node->safe_psql('postgres', q{
		SELECT s.wal_status = r.wal_status AND s.wal_status IN ('reserved', 'extended')
		   AND s.wal_budget_bytes = 8388608
		   AND abs(s.safe_wal_bytes - r.safe_wal_size) <= 65536
		   AND abs(s.wal_budget_used - s.retained_wal_bytes / 8388608.0) < 1e-9,
		       s.safe_wal_bytes
		FROM cdc_plugin.status() s JOIN pg_replication_slots r ON r.slot_name = s.slot_name});
	is($status, 't', "status() at $level %: wal_status and safe WAL as pg_replication_slots, the fraction used");
	ok(!defined $prev_safe || $safe < $prev_safe, "safe_wal_bytes decreases ($safe)");
	$prev_safe = $safe;
}
sleep 3;
my @levels = slurp_file($node->logfile) =~ /$warn_re/g;
is(join(',', @levels), '50,80,95', 'one warning per level, none repeated');
like(slurp_file($node->logfile),
	qr/DETAIL:  It retains [^\n]* of WAL; after [^\n]* more, PostgreSQL invalidates it at a checkpoint [^\n]*Cause: the worker cannot reach any Kafka broker/,
	'the warning names the cause');
like(slurp_file($node->logfile), qr/HINT:  Make a Kafka broker reachable from the database server/,
	'and what to do');
unlike(slurp_file($node->logfile), qr/retains WAL past[^\n]*50,80,95/, 'the setting is not echoed');
is($node->safe_psql('postgres',
		"SELECT wal_status <> 'lost' FROM pg_replication_slots WHERE slot_name = 'cdc_plugin'"),
	't', 'the slot was not invalidated');

# Kafka is back: the worker catches up, the slot moves on (its restart
# position follows the confirmed one at the next running-transactions
# record, so keep committing), and it says once that it is back.
is($broker->command('up all'), 'ok', 'brokers up');
CdcKafka::wait_caught_up($node);
my $deadline = time + 120;
my $id = 100;
while (count_log($node, $back_re) < 1)
{
	die "timed out waiting for the slot to be back below 50 %\n" if time > $deadline;
	$node->safe_psql('postgres', "INSERT INTO t VALUES ($id)");
	$id++;
	sleep 1;
}
pass('a LOG line: back below 50 %');
ok($node->safe_psql('postgres', 'SELECT wal_budget_used < 0.5 FROM cdc_plugin.status()') eq 't',
	'status() agrees');
sleep 2;
is(count_log($node, $back_re), 1, 'said once');
@levels = slurp_file($node->logfile) =~ /$warn_re/g;
is(join(',', @levels), '50,80,95', 'no further warnings');
$node->stop;
$broker->stop;

# No budget (max_slot_wal_keep_size = -1): one warning at start, and one
# past cdc_plugin.wal_retained_warn_bytes (no broker: nothing is confirmed).
my $free = CdcKafka::start_node('wal_unlimited', undef,
	init_extra => ['--wal-segsize=1'],
	conf => "cdc_plugin.wal_retained_warn_bytes = '2MB'\ncdc_plugin.snapshot_mode = 'never'\n");
CdcKafka::wait_for_status($free, "state = 'waiting for Kafka: brokers unreachable'",
	'worker running without a budget (and without a broker)');
$free->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY)');
$free->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
# (the table's schema event waits to learn how many partitions its topic has)
CdcKafka::wait_for_status($free, "state = 'waiting for Kafka: brokers unreachable'",
	'the new table\'s events wait for Kafka');
is($free->safe_psql('postgres',
		'SELECT wal_status, wal_budget_bytes IS NULL, safe_wal_bytes IS NULL, wal_budget_used IS NULL FROM cdc_plugin.status()'),
	'reserved|t|t|t', 'status(): no budget, no safe size, no fraction');
my $unlimited_re = qr/WARNING:  cdc_plugin replication slot "cdc_plugin" may retain WAL until the disk is full/;
is(count_log($free, $unlimited_re), 1, 'one warning that only the disk limits the slot');
like(slurp_file($free->logfile), qr/HINT:  Set max_slot_wal_keep_size/, 'whose hint says what to set');
my $bytes_re = qr/WARNING:  cdc_plugin replication slot "cdc_plugin" retains more WAL than cdc_plugin.wal_retained_warn_bytes/;
is(count_log($free, $bytes_re), 0, 'no byte warning yet');
$deadline = time + 120;
until ($free->safe_psql('postgres', 'SELECT retained_wal_bytes > 2 * 1024 * 1024 FROM cdc_plugin.status()') eq 't')
{
	die "retained WAL did not reach 2 MB\n" if time > $deadline;
	$free->safe_psql('postgres', "SELECT pg_logical_emit_message(false, 'filler', repeat('x', 200000))");
}
wait_log_count($free, $bytes_re, 1, 'a warning past cdc_plugin.wal_retained_warn_bytes');
sleep 3;
is(count_log($free, $bytes_re), 1, 'only one');
is(count_log($free, $unlimited_re), 1, 'and still one about the unlimited slot');
$free->stop;
done_testing();
