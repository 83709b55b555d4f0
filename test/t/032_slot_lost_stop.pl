# A lost slot with cdc_plugin.on_slot_lost = 'stop': the worker logs the
# loss once, keeps the invalidated slot for inspection, shows state 'slot
# lost' and publishes nothing, also once Kafka is back, until an operator
# calls cdc_plugin.recover_slot(). That does what 'resnapshot' does: a new
# slot, one gap event per partition of every captured table, a re-snapshot
# of the table written during the gap; the tables rebuilt with the gap rule
# equal their sources. recover_slot() needs REPLICATION or superuser, and
# refuses when the slot is not lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_budget_node('slot_lost_stop', $broker,
	conf => "cdc_plugin.on_slot_lost = 'stop'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');
CdcKafka::create_loss_tables($node, 200, 30);
$node->safe_psql('postgres', q{
	CREATE ROLE operator_without_replication LOGIN;
	GRANT EXECUTE ON FUNCTION cdc_plugin.recover_slot() TO operator_without_replication;});
CdcKafka::wait_caught_up($node);
CdcKafka::wait_counters_recorded($node);

my ($ret, $out, $err) = $node->psql('postgres', 'SELECT cdc_plugin.recover_slot()');
like($err, qr/ERROR:  replication slot "cdc_plugin" of the cdc_plugin worker is not lost/,
	'recover_slot() refuses a slot that is not lost');

CdcKafka::lose_slot($node, $broker,
	'DELETE FROM a WHERE id <= 40',
	'UPDATE a SET v = \'changed\' WHERE id % 4 = 0',
	'INSERT INTO a VALUES (1000, \'new\')');
CdcKafka::wait_for_status($node, "state = 'slot lost'", "state 'slot lost'");
like(slurp_file($node->logfile),
	qr/ERROR:  cdc_plugin lost changes to the WAL budget[^\n]*\n[^\n]*DETAIL:[^\n]*\n[^\n]*HINT:  cdc_plugin.on_slot_lost = 'stop': the worker keeps the lost slot/,
	'the loss is logged, with what to do');
like($node->safe_psql('postgres', 'SELECT last_error FROM cdc_plugin.status()'),
	qr/recover_slot\(\) recreates it/, 'status() says what to do');

# Kafka is back, and still nothing happens until the operator acts.
is($broker->command('up all'), 'ok', 'brokers up');
my $pid = CdcKafka::worker_pid($node);
sleep 4;
is($node->safe_psql('postgres', q{
	SELECT s.state, r.wal_status, g.state
	  FROM cdc_plugin.status() s, pg_replication_slots r, cdc_plugin.gaps g
	 WHERE r.slot_name = 'cdc_plugin'}), 'slot lost|lost|waiting',
	'the invalidated slot is kept for inspection, the gap waits');
is(CdcKafka::worker_pid($node), $pid, 'the worker does not crash-loop');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cdc_plugin.snapshots WHERE kind = 'gap'}),
	'0', 'nothing re-snapshotted');

($ret, $out, $err) = $node->psql('postgres', 'SELECT cdc_plugin.recover_slot()',
	extra_params => ['-U', 'operator_without_replication']);
like($err, qr/ERROR:  permission denied to recover the cdc_plugin replication slot/,
	'a role without REPLICATION may not recover the slot');

($ret, $out, $err) = $node->psql('postgres', 'SELECT cdc_plugin.recover_slot()');
is($out, '1', 'recover_slot() returns the gap id');
like($err, qr/NOTICE:  the cdc_plugin worker will drop replication slot "cdc_plugin", create a new one and publish gap 1/,
	'and says what happens next');
$node->poll_query_until('postgres', "SELECT state = 'done' FROM cdc_plugin.gaps")
  or die "the gap was not recovered\n";
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);
is($node->safe_psql('postgres', q{
	SELECT tables_captured, tables_resnapshot, resnapshot_all, recovery_requested_by = current_user
	  FROM cdc_plugin.gaps}), '3|1|f|t', 'the gap, its re-snapshot of a, and who asked for it');
is($node->safe_psql('postgres', q{
	SELECT string_agg("table", ', ') FROM cdc_plugin.snapshots WHERE kind = 'gap'}), 'public.a',
	'only the written table was re-snapshotted');
is($node->safe_psql('postgres', 'SELECT state, gaps FROM cdc_plugin.status()'), 'streaming|1',
	'streaming from a new slot');

($ret, $out, $err) = $node->psql('postgres', 'SELECT cdc_plugin.recover_slot()');
like($err, qr/is not lost/, 'a second recover_slot() has nothing to do');

$node->safe_psql('postgres', q{UPDATE b SET v = 'after' WHERE id = 1});
CdcKafka::wait_caught_up($node);
$out = CdcKafka::verify_stream($node, $consumer, name => 'after recover_slot()', no_reference => 1,
	snapshots_complete => 1);
like($out, qr/\bgaps=6\b/, 'one gap event on each of the 2 partitions of the 3 topics');
CdcKafka::rebuild_with_gap_consumer($node, $consumer, name => 'gap rule', tables => [qw(a b c)]);
is(CdcKafka::count_log($node, qr/ERROR:  cdc_plugin lost changes/), 1, 'one ERROR line in all');

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
