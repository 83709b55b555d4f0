# tools/consume_slot.py, the example consumer in README, streams the slot
# over the replication protocol, decodes each envelope with protoc-generated
# classes into typed values, and confirms what it handled.
use strict;
use warnings;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use CdcNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $tool = "$ENV{TESTDIR}/tools/consume_slot.py";
plan skip_all => "example consumer not copied next to the tests" unless -f $tool;

my $node = CdcNode::start_node('consumer');
$node->safe_psql('postgres', q{
	CREATE EXTENSION cdc_plugin;
	CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(10,2), tags text[], placed date);
	SELECT pg_create_logical_replication_slot('shop', 'cdc_plugin');
});
my $start = $node->safe_psql('postgres',
	"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'shop'");
$node->safe_psql('postgres', q{
	INSERT INTO orders VALUES (1, 10.50, '{new,gift}', '2024-02-29');
	UPDATE orders SET amount = 12 WHERE id = 1;
	DELETE FROM orders WHERE id = 1;
});

my ($out, $err) = ('', '');
my @cmd = ('/usr/bin/python3', $tool, '--dsn', $node->connstr('postgres'),
	'--slot', 'shop', '--max-events', '3');
# the timer only keeps a broken consumer from hanging the suite
my $ok = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
ok($ok, 'the consumer exits after three events') or diag($err);

my @events = map { decode_json($_) } grep { /\S/ } split /\n/, $out;
is(join(',', map { $_->{op} } @events), 'c,u,d', 'one line per change, in commit order');
is($events[0]{table}, 'public.orders', 'the table is named');
is_deeply($events[0]{after},
	{ id => 1, amount => '10.50', tags => { dims => [2], elements => [ 'new', 'gift' ] },
	  placed => 19782 },
	'values arrive typed: integers, exact numerics, arrays, dates as days since 1970');
is_deeply($events[0]{key}, { id => 1 }, 'the key is the primary key');
is_deeply($events[2]{before}, { id => 1 }, 'a delete carries the old key');

my $confirmed = $node->safe_psql('postgres',
	"SELECT confirmed_flush_lsn > '$start' FROM pg_replication_slots WHERE slot_name = 'shop'");
is($confirmed, 't', 'the consumer confirmed its position to the server');

# with include-schema-events a DDL arrives as a schema event before the rows
# of the new shape, and row events carry their schema version
$node->safe_psql('postgres', q{
	SELECT pg_create_logical_replication_slot('shop2', 'cdc_plugin');
	ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT '';
	INSERT INTO orders VALUES (2, 1, '{}', '2024-03-01', 'new shape');
});
($out, $err) = ('', '');
@cmd = ('/usr/bin/python3', $tool, '--dsn', $node->connstr('postgres'),
	'--slot', 'shop2', '--max-events', '2', '--option', 'include-schema-events=true');
$ok = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
ok($ok, 'the consumer exits after two more events') or diag($err);
@events = map { decode_json($_) } grep { /\S/ } split /\n/, $out;
is(join(',', map { $_->{op} } @events), 'schema,c', 'the schema event comes first');
is_deeply([ map { $_->{name} } @{ $events[0]{schema_change}{columns} } ],
	[qw(id amount tags placed note)], 'it lists the new shape\'s columns');
like($events[0]{schema_change}{ddl}, qr/^ALTER TABLE orders ADD COLUMN note/, 'and the DDL');
is($events[1]{schema_version}, $events[0]{schema_change}{version},
	'the row carries that schema version');

$node->stop;
done_testing();
