# The worker's main job: with shared_preload_libraries and a few settings,
# every committed change of the database lands in <prefix>.<schema>.<table>,
# keyed by the replica identity (tables without one get a null key), byte
# for byte the envelope a slot consumer would get, with status() telling
# what was published. Tombstones follow deletes once switched on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 3);
my $node = CdcKafka::start_node('stream', $broker);
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');

my $row = $node->safe_psql('postgres', q{
	SELECT pid IS NOT NULL, database, slot_name, confirmed_lsn IS NOT NULL
	FROM cdc_plugin.status()});
is($row, 't|postgres|cdc_plugin|t', 'status() names the worker, its database and its slot');
is($node->safe_psql('postgres',
		"SELECT plugin, database FROM pg_replication_slots WHERE slot_name = 'cdc_plugin'"),
	'cdc_plugin|postgres', 'the worker created its slot');

$node->safe_psql('postgres', q{
	CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric(10,2));
	CREATE TABLE audit_log (at timestamptz, line text);  -- no key
	CREATE TABLE scratch (id int PRIMARY KEY);});
CdcKafka::create_reference_slot($node);
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');

$node->safe_psql('postgres', q{
	INSERT INTO orders SELECT g, 'new', g * 1.5 FROM generate_series(1, 200) g;
	UPDATE orders SET status = 'paid' WHERE id % 3 = 0;
	DELETE FROM orders WHERE id % 10 = 0;
	INSERT INTO audit_log VALUES (now(), 'one'), (now(), 'two');
	INSERT INTO scratch VALUES (1), (2);
	TRUNCATE scratch;
	BEGIN;
	UPDATE orders SET total = total + 1 WHERE id = 7;
	UPDATE orders SET total = total + 1 WHERE id = 7;
	COMMIT;});
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'inserts, updates, deletes, truncate',
	tables => ['orders']);

my $consumed = slurp_file($consumer->{file});
like($consumed, qr/^cdc\.public\.orders\t/m, 'topic is <topic_prefix>.<schema>.<table>');
like($consumed, qr/^cdc\.public\.audit_log\t\d+\t\d+\t\\N\t/m,
	'a table without a key gets a null Kafka key');
unlike($consumed, qr/\t\\N$/m, 'no tombstones by default');

$row = $node->safe_psql('postgres', q{
	-- rows, and a schema event for each CREATE TABLE on each of the 3 partitions
	-- (the 3 transactions that created the tables published those)
	SELECT events_published = 200 + 66 + 20 + 2 + 2 + 1 + 2 + 3 * 3, transactions_published = 7 + 3,
	       bytes_published > 0, in_flight, broker, last_commit_time > now() - interval '1 minute',
	       wal_behind_bytes < 1024 * 1024, last_error IS NULL
	FROM cdc_plugin.status()});
is($row, 't|t|t|0|up|t|t|t', 'status() counts what Kafka acknowledged');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cdc_plugin.worker_status'), '1',
	'the worker_status view shows one row');

# settings that may hold secrets stay with superusers; status() with pg_monitor
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN; CREATE ROLE watcher LOGIN IN ROLE pg_monitor;});
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SHOW cdc_plugin.kafka_properties',
	extra_params => [ '-U', 'app' ]);
like($stderr, qr/must be superuser or have privileges of pg_read_all_settings/,
	'kafka_properties is hidden from ordinary roles');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_settings WHERE name = 'cdc_plugin.kafka_properties'",
		extra_params => [ '-U', 'app' ]),
	'0', 'and from their pg_settings');
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT * FROM cdc_plugin.status()',
	extra_params => [ '-U', 'app' ]);
like($stderr, qr/permission denied for function status/, 'status() is not for everyone');
is($node->safe_psql('postgres', 'SELECT state FROM cdc_plugin.worker_status',
		extra_params => [ '-U', 'watcher' ]),
	'streaming', 'but pg_monitor members may read it');

# tombstones: switched on by reload, one after each delete of a keyed row
$node->append_conf('postgresql.conf', "cdc_plugin.tombstones_on_delete = on\n");
$node->reload;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming after reload');
$node->safe_psql('postgres', 'DELETE FROM orders WHERE id IN (1, 2)');
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'deletes with tombstones', tables => ['orders']);
$consumed = slurp_file($consumer->{file});
my @tombstones = $consumed =~ /^cdc\.public\.orders\t\d+\t\d+\t\\\\x\w+\t\\N$/mg;
is(scalar @tombstones, 2, 'two deletes, two tombstones');

# what a stream is checked with after a slot loss: no reference, and the
# tables rebuilt by the example consumer of the gap rule (here without a gap)
CdcKafka::verify_stream($node, $consumer, name => 'deletes with tombstones, no reference',
	no_reference => 1, tables => ['orders']);
is(CdcKafka::rebuild_with_gap_consumer($node, $consumer, name => 'tools/gap_consumer.py',
		tables => [ 'orders', 'audit_log', 'scratch' ]),
	$node->safe_psql('postgres', 'SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM audit_log)'),
	'tools/gap_consumer.py rebuilt a row for each row of orders and audit_log');

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
