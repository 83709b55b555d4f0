# The replication protocol (pg_recvlogical -P cdc_plugin) delivers exactly
# the envelopes the SQL functions return, and rejects bad decoding options
# with the same clear error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use CdcNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = CdcNode::start_node('primary');
$node->safe_psql('postgres',
	'CREATE EXTENSION cdc_plugin; CREATE TABLE items (id int PRIMARY KEY, label text)');

my $connstr = $node->connstr('postgres');
$node->command_ok(
	[ 'pg_recvlogical', '-d', $connstr, '--slot', 'proto', '--create-slot', '-P', 'cdc_plugin' ],
	'pg_recvlogical creates a slot with the cdc_plugin output plugin');

$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO items VALUES (1, 'one'), (2, 'two');
	UPDATE items SET label = 'uno' WHERE id = 1;
	DELETE FROM items WHERE id = 2;
	SELECT pg_logical_emit_message(true, 'test', 'hello');
	COMMIT;
});
my $endpos = $node->safe_psql('postgres',
	'SELECT pg_current_wal_insert_lsn()');

# pg_recvlogical writes each message followed by a newline.
my $expected = $node->safe_psql('postgres', q{
	SELECT string_agg(encode(data, 'hex') || '0a', '' ORDER BY ord)
	  FROM pg_logical_slot_peek_binary_changes('proto', NULL, NULL,
	         'include-transaction-events', 'true') WITH ORDINALITY AS c(lsn, xid, data, ord)});
my $events = $node->safe_psql('postgres', q{
	SELECT string_agg(cdc_plugin.to_json(data)->>'op', ',')
	  FROM pg_logical_slot_peek_binary_changes('proto', NULL, NULL,
	         'include-transaction-events', 'true')});
is($events, 'begin,c,c,u,d,m,commit', 'the SQL interface sees the transaction');

my $outfile = $node->basedir . '/stream.bin';
$node->command_ok(
	[
		'pg_recvlogical', '-d', $connstr, '--slot', 'proto', '--start',
		'--endpos', $endpos, '--no-loop', '-f', $outfile,
		'-o', 'include-transaction-events=true'
	],
	'pg_recvlogical streams the slot up to the end position');

open(my $fh, '<:raw', $outfile) or die "cannot open $outfile: $!";
my $streamed = do { local $/; <$fh> };
close($fh);
is(unpack('H*', $streamed), $expected,
	'streamed bytes are exactly the envelopes the SQL interface returns');

# A stream that starts with non-transactional messages (heartbeats) names
# the database from its first event on.
$node->safe_psql('postgres',
	q{SELECT pg_logical_emit_message(false, 'heartbeat', 'beat 1'), pg_logical_emit_message(false, 'heartbeat', 'beat 2')});
my $hb_end = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $hb_file = $node->basedir . '/heartbeats.bin';
$node->command_ok(
	[
		'pg_recvlogical', '-d', $connstr, '--slot', 'proto', '--start',
		'--endpos', $hb_end, '--no-loop', '-f', $hb_file
	],
	'pg_recvlogical streams the heartbeats');
open($fh, '<:raw', $hb_file) or die "cannot open $hb_file: $!";
my $beats = do { local $/; <$fh> };
close($fh);
# Source.database is field 3: tag 0x1a, then the length and the name
my $named = () = $beats =~ /\x1a\x08postgres/g;
is($named, 2, 'both heartbeat messages carry the database name');

$node->command_fails_like(
	[
		'pg_recvlogical', '-d', $connstr, '--slot', 'proto', '--start',
		'--endpos', $endpos, '--no-loop', '-f', '-', '-o', 'no-such-option=1'
	],
	qr/unrecognized option "no-such-option"/,
	'an unknown decoding option is refused over the replication protocol');

$node->safe_psql('postgres', "SELECT pg_drop_replication_slot('proto')");
$node->stop;
done_testing();
