# What the worker's TAP tests share: the mock Kafka broker process (with
# its fault-injection control channel), a node running the cdc_plugin
# worker against it, a consumer reading the topics while they are written,
# and the check every failure test ends with: compared with a reference
# slot decoding the same WAL, nothing is lost, nothing is invented, each
# key's changes arrive in commit order, duplicates appear only where
# allowed, and the rows rebuilt from the topics equal the table. After a
# slot loss there is no reference slot (it is lost too): the check then
# runs without one, and the tables are also rebuilt the way a consumer
# following the gap rule would (tools/gap_consumer.py).
package CdcKafka;

use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $tools = "$ENV{TESTDIR}/tools/kafka";
our $BROKER_BIN = "$tools/cdc_mock_broker";
our $CONSUME_BIN = "$tools/cdc_kafka_consume";
our $GAP_CONSUMER = "$ENV{TESTDIR}/tools/gap_consumer.py";

# Skips the whole file when the tools were not copied next to the tests.
sub require_tools
{
	plan skip_all => "Kafka test tools not built (make kafka-tools)"
	  unless -x $BROKER_BIN && -x $CONSUME_BIN;
}

# ---- the broker ----------------------------------------------------------

# Starts the mock cluster; returns a handle for command() and stop().
sub start_broker
{
	my (%opt) = @_;
	my $brokers = $opt{brokers} // 1;
	my $partitions = $opt{partitions} // 4;
	my $self = { in => '', out => '', err => '' };

	$self->{h} = IPC::Run::start(
		[ $BROKER_BIN, '--brokers', $brokers, '--partitions', $partitions ],
		'<', \$self->{in}, '>', \$self->{out}, '2>', \$self->{err});
	my $deadline = time + 30;
	while ($self->{out} !~ /^bootstrap=(\S+)$/m)
	{
		die "mock broker did not start: $self->{err}" if time > $deadline;
		$self->{h}->pump_nb;
		usleep(20_000);
	}
	$self->{out} =~ /^bootstrap=(\S+)$/m;
	$self->{bootstrap} = $1;
	$self->{out} = '';
	return bless $self, 'CdcKafka::Broker';
}

package CdcKafka::Broker;

use Time::HiRes qw(usleep);

# Sends one control command and returns its one-line reply ("ok" or "error: ...").
sub command
{
	my ($self, $cmd) = @_;
	$self->{out} = '';
	$self->{in} .= "$cmd\n";
	my $deadline = time + 30;
	while ($self->{out} !~ /\n/)
	{
		die "mock broker did not answer '$cmd'" if time > $deadline;
		$self->{h}->pump_nb;
		usleep(10_000);
	}
	my ($reply) = split /\n/, $self->{out};
	return $reply;
}

sub bootstrap { return $_[0]->{bootstrap} }

sub stop
{
	my ($self) = @_;
	$self->{h}->signal('TERM');
	$self->{h}->finish;
}

package CdcKafka;

# ---- the node ------------------------------------------------------------

# A node whose worker publishes database "postgres" to $broker (undef: a
# port nothing listens on). Extra postgresql.conf lines may be given in
# conf, initdb arguments in init_extra. Started, with the extension
# created unless no_extension (the worker creates its slot, and takes its
# initial snapshot, only once the extension exists).
sub start_node
{
	my ($name, $broker, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init(allows_streaming => 'logical', extra => $opt{init_extra} // []);
	my $settings = `postgres --describe-config`;
	my $conf = "shared_preload_libraries = 'cdc_plugin'\n"
	  . "max_replication_slots = 10\n"
	  . "cdc_plugin.database = 'postgres'\n"
	  . "cdc_plugin.topic_prefix = 'cdc'\n"
	  . "cdc_plugin.kafka_bootstrap_servers = '"
	  . ($broker ? $broker->bootstrap : '127.0.0.1:9') . "'\n"
	  . "log_min_messages = info\n";
	$conf .= "output_plugin_libraries = 'pgoutput, test_decoding, cdc_plugin'\n"
	  if $settings =~ /^output_plugin_libraries\t/m;
	$conf .= $opt{conf} if $opt{conf};
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION cdc_plugin') unless $opt{no_extension};
	return $node;
}

# Polls status() until $sql_condition (over its columns) holds.
sub wait_for_status
{
	my ($node, $condition, $what) = @_;
	$node->poll_query_until('postgres',
		"SELECT ($condition) FROM cdc_plugin.status()")
	  or die "timed out waiting for the worker: $what\n"
	  . $node->safe_psql('postgres', 'SELECT * FROM cdc_plugin.worker_status', extra_params => ['-x']);
}

# Waits until the worker streams and has confirmed everything written so far.
sub wait_caught_up
{
	my ($node) = @_;
	my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');
	wait_for_status($node,
		"state = 'streaming' AND in_flight = 0 AND confirmed_lsn >= '$lsn'",
		"confirmed_lsn to reach $lsn");
}

# ---- the reference and the consumer -------------------------------------

# The table of every type and its five rows from the streaming round-trip
# suite (sql/round_trip.sql): (the DDL, the INSERTs).
sub round_trip_table
{
	open my $rt, '<', "$ENV{TESTDIR}/sql/round_trip.sql" or die "round_trip.sql: $!";
	my $round_trip = do { local $/; <$rt> };
	close $rt;
	my ($ddl) = $round_trip =~ /(CREATE TYPE rt_mood.*?\);)\s*\n\s*SELECT 'init'/s
	  or die 'no table in round_trip.sql';
	my ($rows) = $round_trip =~ /(INSERT INTO every_type VALUES \(1,.*?INSERT INTO every_type VALUES \(5,.*?\);)/s
	  or die 'no rows in round_trip.sql';
	return ($ddl, $rows);
}

# Creates the reference slot: the same plugin over the same WAL, with the
# worker's decoding options, read with peek at the end (never advanced).
# Its schema events (restatements where its own session first meets a
# table) are not compared: the verifier checks the topics' on their own.
sub create_reference_slot
{
	my ($node) = @_;
	$node->safe_psql('postgres',
		"SELECT pg_create_logical_replication_slot('reference', 'cdc_plugin')");
}

# Starts a consumer of every cdc.* topic writing tsv lines to a file.
sub start_consumer
{
	my ($broker, $file) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ $CONSUME_BIN, 'consume', '--brokers', $broker->bootstrap,
		  '--topic-prefix', 'cdc', '--format', 'tsv', '--output', $file ],
		'>', \$out, '2>', \$err);
	return { h => $h, file => $file, err => \$err, broker => $broker };
}

# Waits until a consumer's file has not grown for $quiet seconds (at most
# $max seconds): with no reference, nothing else tells that it read all.
sub wait_consumer_quiet
{
	my ($consumer, $quiet, $max) = @_;
	my $deadline = time + $max;
	my ($size, $since) = (-1, time);
	while (time < $deadline)
	{
		my $now = -s $consumer->{file} // 0;
		($size, $since) = ($now, time) if $now != $size;
		return if time - $since >= $quiet;
		usleep(200_000);
	}
}

sub stop_consumer
{
	my ($consumer) = @_;
	$consumer->{h}->signal('TERM');
	$consumer->{h}->finish;
}

# The check every test ends with. $tables: tables whose final state must
# equal the topics'; opts: max_duplicates (default 0), wait (seconds),
# snapshots_complete (every snapshot seen must have ended on every
# partition), no_reference (there is no reference slot, as after a slot
# loss: nothing is compared with the truth, everything else is checked;
# the consumer's file is first given time to stop growing).
sub verify_stream
{
	my ($node, $consumer, %opt) = @_;
	my $dir = $node->basedir;
	my $reference = "$dir/reference.copy";
	my $final = "$dir/final_state.copy";
	my $max_dup = $opt{max_duplicates} // 0;
	my $wait = $opt{wait} // 120;

	if ($opt{no_reference})
	{
		wait_consumer_quiet($consumer, 3, $wait);
	}
	else
	{
		$node->safe_psql('postgres', qq{
			COPY (SELECT data FROM pg_logical_slot_peek_binary_changes('reference', NULL, NULL,
			      'include-messages', 'false', 'include-schema-events', 'true')) TO '$reference'});
	}
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ $CONSUME_BIN, 'verify', '--consumed', $consumer->{file},
		  ($opt{no_reference} ? () : ('--reference', $reference)), '--topic-prefix', 'cdc',
		  '--max-duplicates', $max_dup, '--wait', $wait,
		  '--final-state', $final,
		  ($opt{snapshots_complete} ? ('--snapshots-complete') : ()) ],
		'>', \$out, '2>', \$err);
	chomp $out;
	note $out;
	my ($ok) = $out =~ /-> OK$/;
	ok($ok, "$opt{name}: "
		  . ($opt{no_reference} ? 'no reference; nothing invented' : 'nothing lost, nothing invented')
		  . ', per-key order kept')
	  or diag "$out\n$err";

	for my $table (@{ $opt{tables} // [] })
	{
		my $diff = $node->safe_psql('postgres', qq{
			CREATE TEMP TABLE rebuilt_envelopes (data bytea);
			COPY rebuilt_envelopes FROM '$final';
			WITH rebuilt AS (
			  SELECT r.* FROM rebuilt_envelopes e,
			    jsonb_populate_record(NULL::$table, cdc_plugin.to_json(e.data)->'after') r
			  WHERE cdc_plugin.to_json(e.data)->'source'->>'table' = '$table')
			SELECT count(*) FROM (
			  (SELECT * FROM rebuilt EXCEPT ALL SELECT * FROM $table)
			  UNION ALL
			  (SELECT * FROM $table EXCEPT ALL SELECT * FROM rebuilt)) d});
		is($diff, '0', "$opt{name}: rows rebuilt from the topic equal table $table");
	}
	return $out;
}

# Rebuilds tables the way a consumer following the gap rule does: reads
# every cdc.* topic from the beginning as JSON (`consume --format json`,
# stopping after idle_ms without a message, default 5000), pipes it
# through tools/gap_consumer.py, loads the rows it prints and compares each
# table of opts tables (names as in verify_stream; "schema.table" too) with
# the rebuilt rows, as verify_stream does. $source is a consumer from
# start_consumer (its broker is used) or a broker. Call it once the worker
# caught up (wait_caught_up): the topics must hold everything. Fails if
# the broker no longer had some messages (the mock keeps about 5 MiB per
# partition). Returns the number of rows rebuilt.
my $rebuilds = 0;
sub rebuild_with_gap_consumer
{
	my ($node, $source, %opt) = @_;
	my $broker = ref($source) eq 'CdcKafka::Broker' ? $source : $source->{broker};
	my $name = $opt{name} // 'gap consumer';
	$rebuilds++;
	my $json = $node->basedir . "/gap_consumer.$rebuilds.json";
	my $rows = $node->basedir . "/gap_consumer.$rebuilds.rows";

	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ $CONSUME_BIN, 'consume', '--brokers', $broker->bootstrap,
		  '--topic-prefix', 'cdc', '--format', 'json', '--output', $json,
		  '--idle-exit', $opt{idle_ms} // 5000 ],
		'>', \$out, '2>', \$err)
	  or die "consume --format json failed: $err";
	unlike($err, qr/were not read/, "$name: the topics still held every message")
	  or diag $err;

	my $consumer_err = '';
	my $ran = IPC::Run::run([ '/usr/bin/python3', $GAP_CONSUMER, $json ],
		'>', $rows, '2>', \$consumer_err);
	ok($ran, "$name: tools/gap_consumer.py ran") or diag $consumer_err;
	note "gap_consumer.py: $consumer_err" if $consumer_err ne '';

	# one JSON object per line, loaded with a quote and a delimiter that JSON
	# text never holds raw, so that COPY leaves backslashes and quotes alone
	# (a temporary table: a table of ours would be published too)
	my $load = qq{
		CREATE TEMP TABLE gap_rows (j jsonb);
		COPY gap_rows FROM '$rows' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02');};
	my $count = $node->safe_psql('postgres', "$load SELECT count(*) FROM gap_rows");

	for my $table (@{ $opt{tables} // [] })
	{
		my ($schema, $rel) = $table =~ /^(?:([^.]+)\.)?(.+)$/;
		$schema //= 'public';
		my $diff = $node->safe_psql('postgres', qq{$load
			WITH rebuilt AS (
			  SELECT r.* FROM gap_rows g, jsonb_populate_record(NULL::$table, g.j->'after') r
			  WHERE g.j->>'schema' = '$schema' AND g.j->>'table' = '$rel')
			SELECT count(*) FROM (
			  (SELECT * FROM rebuilt EXCEPT ALL SELECT * FROM $table)
			  UNION ALL
			  (SELECT * FROM $table EXCEPT ALL SELECT * FROM rebuilt)) d});
		is($diff, '0', "$name: rows gap_consumer.py rebuilt equal table $table");
	}
	return $count;
}

# Waits until no snapshot is queued or running; fails the test for any
# snapshot that failed.
sub wait_snapshots_done
{
	my ($node) = @_;
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 0 FROM cdc_plugin.snapshots WHERE state IN ('queued', 'running')})
	  or die "timed out waiting for snapshots:\n"
	  . $node->safe_psql('postgres', 'SELECT * FROM cdc_plugin.snapshots', extra_params => ['-x']);
	is($node->safe_psql('postgres', q{
		SELECT string_agg(format('%s: %s', "table", error), '; ')
		  FROM cdc_plugin.snapshots WHERE state = 'failed'}), '', 'no snapshot failed');
}

# The r events of one snapshot in a consumer's file, duplicates included
# (each consumed offset counts once).
# The r events of a snapshot in the consumer's file (each message once);
# $where, if given, is a further condition on the JSON envelope "e";
# $count, if given, replaces count(*).
sub count_snapshot_rows
{
	my ($node, $consumer, $snapshot_id, $where, $count) = @_;
	my $file = $consumer->{file};
	$where //= 'true';
	$count //= 'count(*)';
	return $node->safe_psql('postgres', qq{
		CREATE TEMP TABLE consumed (topic text, part int, off bigint, key bytea, value bytea);
		COPY consumed FROM '$file';
		SELECT $count FROM (SELECT DISTINCT topic, part, off, cdc_plugin.to_json(value) AS e
		                        FROM consumed WHERE value IS NOT NULL) c
		 WHERE e->>'op' = 'r'
		   AND (e->'source'->>'snapshot_id')::bigint = $snapshot_id
		   AND ($where)});
}

# ---- workload ------------------------------------------------------------

# Broker, node with the worker streaming, table items, the reference slot
# and a consumer: what every failure test starts from.
sub setup_stream
{
	my ($name, %opt) = @_;
	my $broker = start_broker(partitions => $opt{partitions} // 4);
	my $node = start_node($name, $broker, %opt);
	wait_for_status($node, "state = 'streaming'", 'worker streaming');
	create_items_table($node);
	create_reference_slot($node);
	my $consumer = start_consumer($broker, $node->basedir . '/consumed.tsv');
	return ($broker, $node, $consumer);
}

# Stops what setup_stream started.
sub teardown_stream
{
	my ($broker, $node, $consumer) = @_;
	stop_consumer($consumer);
	$node->stop;
	$broker->stop;
}

# The worker's pid (undef while none runs).
sub worker_pid
{
	my ($node) = @_;
	my $pid = $node->safe_psql('postgres', 'SELECT pid FROM cdc_plugin.status()');
	return $pid eq '' ? undef : $pid;
}

# The table the failure tests write to.
sub create_items_table
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
		CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL, note text);});
}

# Starts pgbench in the background: upserts and deletes on items, from
# $clients clients for $seconds. Connection loss (a restart) ends it early.
sub start_writes
{
	my ($node, %opt) = @_;
	my $script = $node->basedir . '/items.pgbench';
	open my $fh, '>', $script or die $!;
	print $fh <<'SQL';
\set id random(1, 500)
INSERT INTO items VALUES (:id, 1, md5(:id::text)) ON CONFLICT (id) DO UPDATE SET version = items.version + 1, note = md5(random()::text);
\set d random(1, 500)
DELETE FROM items WHERE id = :d AND version % 5 = 4;
SQL
	close $fh;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-c', $opt{clients} // 2, '-T', $opt{seconds} // 10,
		  '-R', $opt{rate} // 300, '-f', $script,
		  '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \$out, '2>', \$err);
	return $h;
}

# Waits for a writer started by start_writes; its exit status does not
# matter (a restart may end it): the reference slot is the truth.
sub finish_writes
{
	my ($h) = @_;
	eval { $h->finish };
}

# ---- losing the slot -----------------------------------------------------

# A node whose slot PostgreSQL invalidates after a few MB of retained WAL:
# 1 MB segments, max_slot_wal_keep_size = 4MB, no checkpoint but the
# test's. Extra postgresql.conf lines in conf.
sub start_budget_node
{
	my ($name, $broker, %opt) = @_;
	return start_node($name, $broker,
		init_extra => ['--wal-segsize=1'],
		conf => "max_slot_wal_keep_size = 4MB\nwal_keep_size = 0\n"
		  . "max_wal_size = 64MB\nmin_wal_size = 2MB\ncheckpoint_timeout = '1h'\n"
		  . "cdc_plugin.wal_budget_warn = '50,80,95'\n"
		  . ($opt{conf} // ''));
}

# The slot-loss tests' three captured tables: a and b keyed ($a_rows and
# $b_rows rows), c without a key (REPLICA IDENTITY FULL, 3 rows, two alike).
sub create_loss_tables
{
	my ($node, $a_rows, $b_rows) = @_;
	$node->safe_psql('postgres', qq{
		CREATE TABLE a (id int PRIMARY KEY, v text NOT NULL);
		CREATE TABLE b (id int PRIMARY KEY, v text NOT NULL);
		CREATE TABLE c (n int, v text);
		ALTER TABLE c REPLICA IDENTITY FULL;
		INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, $a_rows) g;
		INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, $b_rows) g;
		INSERT INTO c VALUES (1, 'c'), (1, 'c'), (2, 'c');});
}

# Waits until the change counters the worker recorded are those of every
# captured table now (it reads them every 2 s and records them once Kafka
# acknowledged what they count; unchanged counters are not written again).
sub wait_counters_recorded
{
	my ($node) = @_;
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 0
		  FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid
		  LEFT JOIN cdc_plugin.change_counters r ON r.relid = t.relid
		 WHERE t.schemaname = 'public'
		   AND (r.relid IS NULL OR r.relfilenode <> c.relfilenode
		        OR r.changes <> t.n_tup_ins + t.n_tup_upd + t.n_tup_del)})
	  or die "timed out waiting for the worker to record its change counters\n";
}

# With the brokers down, runs each of @statements (changes that now stay in
# flight) while writing WAL until the slot retains 130 % of its budget,
# step by step so that each warning level is crossed on its own; then a
# checkpoint invalidates the slot. Returns when the worker recorded the gap.
sub lose_slot
{
	my ($node, $broker, @statements) = @_;
	my $gaps = $node->safe_psql('postgres', 'SELECT count(*) FROM cdc_plugin.gaps');
	Test::More::is($broker->command('down all'), 'ok', 'brokers down');
	my $deadline = time + 180;
	my $i = 0;
	until ($node->safe_psql('postgres',
			'SELECT wal_budget_used >= 1.3 FROM cdc_plugin.status()') eq 't')
	{
		die "retained WAL did not pass the budget\n" if time > $deadline;
		$node->safe_psql('postgres', $statements[$i++]) if $i < @statements;
		$node->safe_psql('postgres',
			"SELECT pg_logical_emit_message(false, 'filler', repeat('x', 100000)); SELECT pg_sleep(0.25)");
	}
	$node->safe_psql('postgres', $_) for @statements[$i .. $#statements];
	$node->safe_psql('postgres',
		"SELECT pg_logical_emit_message(false, 'filler', repeat('x', 100000)); SELECT pg_switch_wal()")
	  for 1 .. 2;
	$node->safe_psql('postgres', 'CHECKPOINT');
	Test::More::is(count_log($node,
			qr/invalidating slot "cdc_plugin" because its restart_lsn [0-9A-F\/]+ exceeds max_slot_wal_keep_size/),
		$gaps + 1, 'the checkpoint invalidated the slot');
	$node->poll_query_until('postgres', 'SELECT count(*) = ' . ($gaps + 1) . ' FROM cdc_plugin.gaps')
	  or die "timed out waiting for the worker to record the gap\n";
}

# Lines of the node's log matching $re.
sub count_log
{
	my ($node, $re) = @_;
	my @lines = PostgreSQL::Test::Utils::slurp_file($node->logfile) =~ /$re/g;
	return scalar @lines;
}

1;
