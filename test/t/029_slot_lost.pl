# Failure (i): PostgreSQL invalidates the worker's slot because it kept
# more WAL than max_slot_wal_keep_size allows, with the default
# cdc_plugin.on_slot_lost = 'resnapshot'. Three captured tables (a and b
# keyed, c without a key); with every broker down, only a is written
# (inserts, updates, deletes) while the slot's WAL grows past the budget;
# a checkpoint invalidates the slot. The worker warns once per level on the
# way, logs the loss once at ERROR level, drops the lost slot, creates a
# new one, publishes one gap event to every partition of every captured
# table, and re-snapshots only a (its change counters moved). Once Kafka
# is back, a consumer that applies the gap rule rebuilds all three tables
# exactly, rows deleted during the gap included. No crash loop, no second
# gap.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 3);
my $node = CdcKafka::start_budget_node('slot_lost', $broker);
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');
CdcKafka::create_loss_tables($node, 300, 50);
CdcKafka::wait_caught_up($node);
CdcKafka::wait_counters_recorded($node);
my $before = $node->safe_psql('postgres', 'SELECT confirmed_lsn FROM cdc_plugin.status()');

# Kafka is down; a is written while the WAL grows past the budget.
CdcKafka::lose_slot($node, $broker,
	'UPDATE a SET v = v || \'+\' WHERE id % 3 = 0',
	'DELETE FROM a WHERE id BETWEEN 100 AND 150',
	'INSERT INTO a SELECT g, \'new\' FROM generate_series(301, 350) g',
	'DELETE FROM a WHERE id % 10 = 1',
	'UPDATE a SET v = \'again\' WHERE id BETWEEN 290 AND 320');

my @levels = slurp_file($node->logfile) =~
  /WARNING:  cdc_plugin replication slot "cdc_plugin" retains WAL past (\d+)% of max_slot_wal_keep_size/g;
is(join(',', @levels), '50,80,95', 'one warning per level crossed on the way');
my $loss_re = qr/ERROR:  cdc_plugin lost changes to the WAL budget: replication slot "cdc_plugin" was invalidated/;
is(CdcKafka::count_log($node, $loss_re), 1, 'the loss is logged once at ERROR level');
like(slurp_file($node->logfile),
	qr/DETAIL:  Changes committed after \Q$before\E \(the slot's confirmed position\) and before the new slot's start cannot be published; this is gap 1\./,
	'naming the confirmed position the changes were lost from');
is($node->safe_psql('postgres', 'SELECT lost_from_lsn FROM cdc_plugin.gaps'), $before,
	'cdc_plugin.gaps records it');

# Kafka is back: the gap is published and a is re-read.
is($broker->command('up all'), 'ok', 'brokers up');
$node->poll_query_until('postgres', "SELECT state = 'done' FROM cdc_plugin.gaps")
  or die "the gap was not recovered\n";
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);
ok($node->log_contains(
		qr/LOG:  cdc_plugin queued gap 1 at [0-9A-F\/]+ for the 3 captured tables and re-snapshots the 1 whose change counters moved since/),
	'the log says which tables are re-snapshotted and why');
is($node->safe_psql('postgres', q{
	SELECT tables_captured, tables_resnapshot, resnapshot_all, lost_to_lsn > lost_from_lsn,
	       recovery_requested_by IS NULL
	  FROM cdc_plugin.gaps}), '3|1|f|t|t', 'gaps: 3 tables got the gap, 1 re-snapshot');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s %s', "table", state, gap), ', ')
	  FROM cdc_plugin.snapshots WHERE kind = 'gap'}), 'public.a done 1',
	'only the written table was re-snapshotted');
is($node->safe_psql('postgres', q{
	SELECT s.gaps, s.last_gap_from_lsn = g.lost_from_lsn, s.last_gap_to_lsn = g.lost_to_lsn,
	       s.last_gap_time = g.detected, s.state
	  FROM cdc_plugin.status() s, cdc_plugin.gaps g}), '1|t|t|t|streaming',
	'status() shows the gap');
is($node->safe_psql('postgres',
		"SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'cdc_plugin'"),
	'reserved', 'a new slot streams');

# Streaming goes on from the new slot.
$node->safe_psql('postgres', q{
	UPDATE a SET v = 'after' WHERE id < 20;
	DELETE FROM b WHERE id > 45;
	INSERT INTO c VALUES (9, 'after');});
CdcKafka::wait_caught_up($node);

my $out = CdcKafka::verify_stream($node, $consumer, name => 'after the gap', no_reference => 1,
	snapshots_complete => 1);
like($out, qr/\bgaps=9\b/, 'one gap event on each of the 3 partitions of the 3 topics');
CdcKafka::rebuild_with_gap_consumer($node, $consumer, name => 'gap rule', tables => [qw(a b c)]);

# No crash loop and no second gap.
my $pid = CdcKafka::worker_pid($node);
sleep 3;
is(CdcKafka::worker_pid($node), $pid, 'the worker keeps running');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cdc_plugin.gaps'), '1', 'no second gap');
is(CdcKafka::count_log($node, $loss_re), 1, 'and no second ERROR');
unlike(slurp_file($node->logfile), qr/has already been removed/, 'no attempt to read removed WAL');

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
