# A replication client survives long runs of changes the plugin filters
# out. With wal_sender_timeout = 2s, pg_recvlogical streams a slot that
# excludes one table while a single transaction changes 500,000 of its rows
# (spilled to disk, as huge transactions are): the plugin sends nothing for
# them, yet reports progress as it skips them, so the walsender keeps
# exchanging keepalives with the client instead of ending the connection
# for a timeout, and the next captured change arrives.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use CdcNode;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = CdcNode::start_node('progress');
$node->append_conf('postgresql.conf', "wal_sender_timeout = 2s\nlogical_decoding_work_mem = 64kB\n");
$node->reload;
# the excluded table's rows are written before the slot exists; the
# transaction the stream must survive updates all 500,000 of them (with
# their old values, REPLICA IDENTITY FULL)
$node->safe_psql('postgres', q{
	CREATE TABLE captured (id int PRIMARY KEY);
	CREATE TABLE excluded (id int, note text);
	ALTER TABLE excluded REPLICA IDENTITY FULL;
	INSERT INTO excluded SELECT g, 'row ' || g FROM generate_series(1, 500000) g;});
is($node->safe_psql('postgres', 'SHOW wal_sender_timeout'), '2s', 'wal_sender_timeout is 2s');

my $connstr = $node->connstr('postgres');
$node->command_ok(
	[ 'pg_recvlogical', '-d', $connstr, '--slot', 'progress', '--create-slot', '-P', 'cdc_plugin' ],
	'slot created');

# --no-loop: a connection the server ends is not silently made again
my $outfile = $node->basedir . '/stream.bin';
my ($out, $err) = ('', '');
my $recv = IPC::Run::start(
	[ 'pg_recvlogical', '-d', $connstr, '--slot', 'progress', '--start', '--no-loop',
	  '-f', $outfile, '-o', 'exclude-tables=public.excluded' ],
	'>', \$out, '2>', \$err);
my $active_pid = "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'progress'";
$node->poll_query_until('postgres', "SELECT ($active_pid) IS NOT NULL")
  or die 'pg_recvlogical did not connect';
my $walsender = $node->safe_psql('postgres', $active_pid);

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "UPDATE excluded SET note = 'updated'");
$node->safe_psql('postgres', 'INSERT INTO captured VALUES (1)');

# the captured change names its table in the envelope
my $deadline = time + 60;
until ((-e $outfile && slurp_file($outfile) =~ /captured/) || !$recv->pumpable || time > $deadline)
{
	$recv->pump_nb;
	usleep(100_000);
}
ok($recv->pumpable, 'pg_recvlogical is still connected after the filtered transaction')
  or diag "pg_recvlogical: $err";
like(-e $outfile ? slurp_file($outfile) : '', qr/captured/,
	'and receives the captured change committed after it');
is($node->safe_psql('postgres', $active_pid), $walsender, 'over the same walsender');
unlike(slurp_file($node->logfile, $log_offset), qr/replication timeout/,
	'the server log shows no replication timeout');
unlike(-e $outfile ? slurp_file($outfile) : '', qr/excluded/,
	'nothing of the excluded table was sent');

$recv->signal('TERM');
$recv->finish;
$node->safe_psql('postgres', "SELECT pg_drop_replication_slot('progress')");
$node->stop;
done_testing();
