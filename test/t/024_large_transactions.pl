# Failure (e): a transaction larger than logical_decoding_work_mem (decoded
# from spill files) and one touching ten tables commit while small ones go
# on. Every change arrives once, each table's rows rebuilt from its topic
# equal the table, and the slot moves past both only after Kafka has them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my ($broker, $node, $consumer) = CdcKafka::setup_stream('large',
	conf => "logical_decoding_work_mem = 64kB\n");
my @tables = map { "part_$_" } 1 .. 10;
$node->safe_psql('postgres',
	join '', map { "CREATE TABLE $_ (id int PRIMARY KEY, amount numeric, note text);" } @tables);

my $writes = CdcKafka::start_writes($node, seconds => 6);
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO items SELECT g, 1, repeat(md5(g::text), 4) FROM generate_series(1001, 21000) g;
	UPDATE items SET version = 2 WHERE id BETWEEN 1001 AND 3000;
	DELETE FROM items WHERE id BETWEEN 3001 AND 4000;
	COMMIT;});
$node->safe_psql('postgres', 'BEGIN;'
	  . join('', map { "INSERT INTO $_ SELECT g, g * 0.5, '$_' FROM generate_series(1, 300) g;"
		  . "UPDATE $_ SET amount = amount + 1 WHERE id % 2 = 0;"
		  . "DELETE FROM $_ WHERE id % 7 = 0;" } @tables)
	  . 'COMMIT;');
CdcKafka::finish_writes($writes);
CdcKafka::wait_caught_up($node);

cmp_ok($node->safe_psql('postgres',
		"SELECT spill_txns FROM pg_stat_replication_slots WHERE slot_name = 'cdc_plugin'"),
	'>', 0, 'the large transaction was spilled to disk by the worker\'s decoding');
CdcKafka::verify_stream($node, $consumer, name => 'spilled and ten-table transactions',
	max_duplicates => 0, tables => [ 'items', @tables ]);

CdcKafka::teardown_stream($broker, $node, $consumer);
done_testing();
