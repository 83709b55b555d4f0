# A lost slot after pg_stat_reset(): the change counters the worker
# recorded cannot be compared with the statistics any more, so every
# captured table is re-snapshotted (the keyless one too, read whole in the
# new slot's snapshot), and the log says why. The same after a crash
# (an immediate shutdown, whose recovery discards the statistics) while
# Kafka is down. Rebuilt with the gap rule, every table equals its source.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_budget_node('slot_lost_stats', $broker);
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');
CdcKafka::create_loss_tables($node, 100, 100);
CdcKafka::wait_caught_up($node);
CdcKafka::wait_counters_recorded($node);

CdcKafka::lose_slot($node, $broker,
	'SELECT pg_stat_reset()',
	'DELETE FROM a WHERE id % 2 = 0',
	'INSERT INTO a VALUES (500, \'new\')');
is($broker->command('up all'), 'ok', 'brokers up');
$node->poll_query_until('postgres', "SELECT state = 'done' FROM cdc_plugin.gaps")
  or die "the gap was not recovered\n";
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);

ok($node->log_contains(
		qr/LOG:  cdc_plugin queued gap 1 at [0-9A-F\/]+ for the 3 captured tables and re-snapshots all of them: the database's statistics were reset \(pg_stat_reset\(\) or pg_stat_reset_single_table_counters\(\)\) after the change counters were recorded/),
	'the log says every table is re-snapshotted, and why');
is($node->safe_psql('postgres', 'SELECT tables_resnapshot, resnapshot_all FROM cdc_plugin.gaps'),
	'3|t', 'cdc_plugin.gaps agrees');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', "table", state), ', ' ORDER BY "table")
	  FROM cdc_plugin.snapshots WHERE kind = 'gap'}), 'public.a done, public.b done, public.c done',
	'all three tables were re-snapshotted');
ok($node->log_contains(qr/LOG:  cdc_plugin gap snapshot \d+ read table public.c \(no key\) with the slot's snapshot: 3 rows/),
	'the keyless table was read whole in the new slot\'s snapshot');

my $out = CdcKafka::verify_stream($node, $consumer, name => 'after the gap', no_reference => 1,
	snapshots_complete => 1);
like($out, qr/\bgaps=6\b/, 'one gap event on each of the 2 partitions of the 3 topics');
CdcKafka::rebuild_with_gap_consumer($node, $consumer, name => 'gap rule', tables => [qw(a b c)]);

# Kafka down, a crash, then the loss: counters recorded before the crash
# cannot be compared with the statistics recovery started anew.
CdcKafka::wait_counters_recorded($node);
is($broker->command('down all'), 'ok', 'brokers down again');
$node->safe_psql('postgres', q{UPDATE b SET v = 'before the crash' WHERE id <= 10});
$node->stop('immediate');
$node->start;
CdcKafka::wait_for_status($node, "state = 'waiting for Kafka: brokers unreachable'",
	'worker back after the crash, waiting for the brokers');
CdcKafka::lose_slot($node, $broker, 'DELETE FROM b WHERE id > 90');
is($broker->command('up all'), 'ok', 'brokers up');
$node->poll_query_until('postgres', "SELECT count(*) = 2 AND bool_and(state = 'done') FROM cdc_plugin.gaps")
  or die "the second gap was not recovered\n";
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);
ok($node->log_contains(
		qr/LOG:  cdc_plugin queued gap \d+ at [0-9A-F\/]+ for the 3 captured tables and re-snapshots all of them: the server's statistics were discarded \(crash recovery\)/),
	'after a crash every table is re-snapshotted, and the log says why');
$out = CdcKafka::verify_stream($node, $consumer, name => 'after the second gap', no_reference => 1,
	snapshots_complete => 1, max_duplicates => 1000);
like($out, qr/\bgaps=12\b/, 'each gap on each of the 2 partitions of the 3 topics');
CdcKafka::rebuild_with_gap_consumer($node, $consumer, name => 'gap rule after a crash',
	tables => [qw(a b c)]);

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
