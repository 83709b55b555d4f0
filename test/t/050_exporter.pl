# Metrics where operators already look: Debian's prometheus-postgres-exporter,
# run as a role with pg_monitor and given tools/prometheus/cdc_plugin_queries.yaml,
# serves every figure of cdc_plugin.status(), the cdc_plugin slots of
# pg_replication_slots and the table snapshots by kind and state, each
# with its type (counter or gauge) and equal to what SQL shows. A figure
# status() shows as null is left out, and the scrape still succeeds. The
# counters follow what Kafka acknowledges.
use strict;
use warnings;
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use CdcKafka;

my $exporter_bin = '/usr/bin/prometheus-postgres-exporter';
my $queries = "$ENV{TESTDIR}/tools/prometheus/cdc_plugin_queries.yaml";

CdcKafka::require_tools();
die "$exporter_bin is missing: run make deps (tools/install-deps.sh)\n" unless -x $exporter_bin;
die "$queries is missing: test/run_tap.sh copies tools/prometheus\n" unless -r $queries;

# Every metric the queries file defines, and its type.
my %metric_type = (
	cdc_plugin_worker_state => 'gauge',
	cdc_plugin_worker_up => 'gauge',
	cdc_plugin_worker_state_since_timestamp_seconds => 'gauge',
	cdc_plugin_restarts_total => 'counter',
	cdc_plugin_events_published_total => 'counter',
	cdc_plugin_bytes_published_total => 'counter',
	cdc_plugin_transactions_published_total => 'counter',
	cdc_plugin_delivery_errors_total => 'counter',
	cdc_plugin_in_flight_messages => 'gauge',
	cdc_plugin_broker_up => 'gauge',
	cdc_plugin_last_commit_timestamp_seconds => 'gauge',
	cdc_plugin_lag_seconds => 'gauge',
	cdc_plugin_last_error_timestamp_seconds => 'gauge',
	cdc_plugin_confirmed_lsn => 'gauge',
	cdc_plugin_wal_behind_bytes => 'gauge',
	cdc_plugin_retained_wal_bytes => 'gauge',
	cdc_plugin_wal_status => 'gauge',
	cdc_plugin_wal_budget_bytes => 'gauge',
	cdc_plugin_wal_budget_used_ratio => 'gauge',
	cdc_plugin_safe_wal_bytes => 'gauge',
	cdc_plugin_gaps_total => 'counter',
	cdc_plugin_last_gap_timestamp_seconds => 'gauge',
	cdc_plugin_last_gap_from_lsn => 'gauge',
	cdc_plugin_last_gap_to_lsn => 'gauge',
	cdc_plugin_snapshot_id => 'gauge',
	cdc_plugin_snapshot_rows => 'gauge',
	cdc_plugin_snapshot_rows_estimated => 'gauge',
	cdc_plugin_table_snapshots => 'gauge',
	cdc_plugin_replication_slot_active => 'gauge',
	cdc_plugin_replication_slot_retained_wal_bytes => 'gauge',
	cdc_plugin_replication_slot_safe_wal_bytes => 'gauge',
	cdc_plugin_replication_slot_wal_status => 'gauge',);

# The metrics of status() figures that are null here (no error, no gap,
# no snapshot running), so left out; this condition on status() says so.
my @left_out = qw(
  cdc_plugin_last_error_timestamp_seconds
  cdc_plugin_last_gap_timestamp_seconds cdc_plugin_last_gap_from_lsn cdc_plugin_last_gap_to_lsn
  cdc_plugin_snapshot_id cdc_plugin_snapshot_rows cdc_plugin_snapshot_rows_estimated);
my $left_out_are_null = 'last_error_time IS NULL AND last_gap_time IS NULL '
  . 'AND last_gap_to_lsn IS NULL AND snapshot_id IS NULL AND snapshot_rows_estimated IS NULL';

# The metrics a queries file defines: <query name>_<column> for every column
# whose usage is not LABEL, with its usage in lower case.
sub metrics_of_queries_file
{
	my ($file) = @_;
	my (%defined, $query, $column);
	for my $line (split /\n/, slurp_file($file))
	{
		if ($line =~ /^(\w+):\s*$/) { $query = $1; }
		elsif ($line =~ /^\s+- (\w+):\s*$/) { $column = $1; }
		elsif ($line =~ /^\s+usage:\s*"(\w+)"/ && $1 ne 'LABEL')
		{
			$defined{"${query}_$column"} = lc $1;
		}
	}
	return \%defined;
}

# The text exposition format: { type => {name => type}, samples => {name =>
# [{labels => {...}, value => ...}]} }.
sub parse_metrics
{
	my ($text) = @_;
	my (%type, %samples);
	for my $line (split /\n/, $text)
	{
		if ($line =~ /^# TYPE (\S+) (\S+)$/) { $type{$1} = $2; next; }
		next if $line =~ /^#/ || $line !~ /\S/;
		$line =~ /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/ or die "not a sample: $line\n";
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %labels = $labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g;
		push @{ $samples{$name} }, { labels => \%labels, value => $value };
	}
	return { type => \%type, samples => \%samples };
}

# The value of the one sample of $name whose labels include %want.
sub value_of
{
	my ($metrics, $name, %want) = @_;
	my @match = grep {
		my $l = $_->{labels};
		!grep { ($l->{$_} // "\0") ne $want{$_} } keys %want
	} @{ $metrics->{samples}{$name} // [] };
	die "$name: " . scalar(@match) . " samples match\n" unless @match == 1;
	return $match[0]{value};
}

my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_node('exporter', $broker,
	conf => "max_slot_wal_keep_size = '1GB'\n");
CdcKafka::wait_for_status($node, "state = 'streaming' AND broker = 'up'", 'worker streaming');
$node->safe_psql('postgres', q{
	CREATE ROLE cdc_exporter LOGIN IN ROLE pg_monitor;
	CREATE TABLE orders (id int PRIMARY KEY, status text);
	INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 100) g;});
CdcKafka::wait_caught_up($node);

# the exporter on a port of its own, with these metrics only
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $url = "http://127.0.0.1:$port/metrics";
my $exporter_out = '';
my $exporter;
{
	local $ENV{DATA_SOURCE_NAME} = sprintf('host=%s port=%d dbname=postgres user=cdc_exporter sslmode=disable',
		$node->host, $node->port);
	$exporter = IPC::Run::start(
		[ $exporter_bin, "--web.listen-address=127.0.0.1:$port", "--extend.query-path=$queries",
		  '--disable-default-metrics', '--disable-settings-metrics',
		  '--no-collector.database', '--no-collector.bgwriter' ],
		'<', \undef, '>&', \$exporter_out);
}
END { $exporter->kill_kill if $exporter && $exporter->pumpable; }

# Fetches /metrics until the exporter answers with cdc_plugin's metrics.
my $http = HTTP::Tiny->new(timeout => 10);
sub scrape
{
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (1)
	{
		my $res = $http->get($url);
		$exporter->pump_nb;
		return parse_metrics($res->{content})
		  if $res->{success} && $res->{content} =~ /^cdc_plugin_worker_state\{/m;
		die "the exporter did not serve cdc_plugin metrics at $url ($res->{status} $res->{reason}):\n"
		  . $exporter_out
		  if time > $deadline || !$exporter->pumpable;
		usleep(100_000);
	}
}

# status() and the metrics read while nothing changes (everything acknowledged)
my $metrics = scrape();
is(value_of($metrics, 'pg_exporter_user_queries_load_error'), '0', 'the exporter loaded the queries file');
is(value_of($metrics, 'pg_exporter_last_scrape_error'), '0', 'the scrape had no error');
is_deeply(metrics_of_queries_file($queries), \%metric_type,
	'the queries file defines exactly the metrics listed here, with these types');
is($node->safe_psql('postgres', "SELECT $left_out_are_null FROM cdc_plugin.status()"), 't',
	'status() shows null for the figures whose metrics are left out');
for my $name (sort keys %metric_type)
{
	if (grep { $_ eq $name } @left_out)
	{
		ok(!exists $metrics->{samples}{$name} && !exists $metrics->{type}{$name},
			"$name is left out while status() shows null");
		next;
	}
	is($metrics->{type}{$name}, $metric_type{$name}, "$name is a $metric_type{$name}");
}
my @not_numbers = grep {
	/^cdc_plugin_/ && grep { $_->{value} !~ /^-?\d+(?:\.\d+)?(?:e[-+]?\d+)?$/ } @{ $metrics->{samples}{$_} }
} keys %{ $metrics->{samples} };
is("@not_numbers", '', 'every cdc_plugin sample is a number (no NaN)');

# Checks that the one sample of $name (with labels %want) equals $want.
sub value_is
{
	my ($metrics, $name, $labels, $want, $what) = @_;
	cmp_ok(value_of($metrics, $name, %$labels), '==', $want, $what);
}

# counters are still while nothing is written; positions may move on
my %status = split /\|/, $node->safe_psql('postgres', q{
	SELECT 'events', events_published, 'bytes', bytes_published, 'transactions', transactions_published,
	       'delivery_errors', delivery_errors, 'restarts', restarts, 'gaps', gaps, 'in_flight', in_flight,
	       'confirmed', confirmed_lsn - '0/0', 'budget', wal_budget_bytes, 'wal_status', wal_status
	  FROM cdc_plugin.status()});
value_is($metrics, 'cdc_plugin_events_published_total', {}, $status{events}, 'events_published as status() shows it');
value_is($metrics, 'cdc_plugin_bytes_published_total', {}, $status{bytes}, 'bytes_published as status() shows it');
value_is($metrics, 'cdc_plugin_transactions_published_total', {}, $status{transactions},
	'transactions_published as status() shows it');
value_is($metrics, 'cdc_plugin_delivery_errors_total', {}, $status{delivery_errors},
	'delivery_errors as status() shows it');
value_is($metrics, 'cdc_plugin_restarts_total', {}, $status{restarts}, 'restarts as status() shows it');
value_is($metrics, 'cdc_plugin_gaps_total', {}, $status{gaps}, 'gaps as status() shows it');
value_is($metrics, 'cdc_plugin_in_flight_messages', {}, $status{in_flight}, 'in_flight as status() shows it');
my $confirmed = value_of($metrics, 'cdc_plugin_confirmed_lsn');
ok($confirmed > 0 && $confirmed <= $status{confirmed},
	"confirmed_lsn is a byte position ($confirmed, then $status{confirmed})");
value_is($metrics, 'cdc_plugin_wal_budget_bytes', {}, $status{budget}, 'wal_budget_bytes is max_slot_wal_keep_size');
value_is($metrics, 'cdc_plugin_wal_status', { wal_status => $status{wal_status} }, 1,
	"wal_status is $status{wal_status}");
cmp_ok(value_of($metrics, 'cdc_plugin_wal_budget_used_ratio'), '<', 1, 'the slot is within its budget');
is(value_of($metrics, 'cdc_plugin_worker_up'), '1', 'the worker is up');
is(value_of($metrics, 'cdc_plugin_broker_up'), '1', 'a broker is up');
is(value_of($metrics, 'cdc_plugin_replication_slot_active', slot_name => 'cdc_plugin', database => 'postgres'),
	'1', "the worker's slot is active in pg_replication_slots");
is(value_of($metrics, 'cdc_plugin_table_snapshots', kind => 'incremental', state => 'done'), '0',
	'no incremental snapshot done yet');
is(scalar @{ $metrics->{samples}{cdc_plugin_table_snapshots} }, 15,
	'table snapshots are counted for every kind and state, 0 included');

# writes and a snapshot: the counters move, the snapshot is counted done
my $before = $metrics;
$node->safe_psql('postgres', q{UPDATE orders SET status = 'paid' WHERE id <= 50});
my $events = value_of($before, 'cdc_plugin_events_published_total');
CdcKafka::wait_for_status($node, "events_published > $events", 'events published after the update');
$node->safe_psql('postgres', q{SELECT cdc_plugin.snapshot('orders')});
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);

$metrics = scrape();
is(value_of($metrics, 'pg_exporter_last_scrape_error'), '0', 'the second scrape had no error');
for my $name (qw(cdc_plugin_events_published_total cdc_plugin_transactions_published_total
	cdc_plugin_bytes_published_total cdc_plugin_confirmed_lsn))
{
	cmp_ok(value_of($metrics, $name), '>', value_of($before, $name), "$name moved on");
}
value_is($metrics, 'cdc_plugin_events_published_total', {},
	$node->safe_psql('postgres', 'SELECT events_published FROM cdc_plugin.status()'),
	'events_published is what status() shows now');
is(value_of($metrics, 'cdc_plugin_worker_state', state => 'streaming'), '1', 'the worker state is streaming');
is(scalar @{ $metrics->{samples}{cdc_plugin_worker_state} }, 1, 'and in no other state');
is(value_of($metrics, 'cdc_plugin_table_snapshots', kind => 'incremental', state => 'done'), '1',
	'the snapshot is counted done');

$exporter->pump_nb;
unlike($exporter_out, qr/level=error/, 'the exporter logged no error');
$exporter->signal('TERM');
$exporter->finish;
$node->stop;
$broker->stop;
done_testing();
