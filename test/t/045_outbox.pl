# Both outboxes under failure. Four clients run random transactions that
# write an order and publish its event twice: with cdc_plugin.publish()
# and by inserting (and at once deleting) a row of the outbox table; some
# roll back, some publish a second event both ways in a savepoint they
# roll back. Meanwhile the worker is killed with SIGKILL
# (the postmaster restarts everything) and later the server is stopped in
# immediate mode and started again. Read from Kafka and deduplicated by the
# header cdc.event_id, the topic holds every committed event exactly once
# and nothing else: no event of a rolled-back transaction or savepoint, the
# same payload and headers under every copy of an id, each key's events in
# commit order.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 3);
my $node = CdcKafka::start_node('outbox', $broker,
	conf => "restart_after_crash = on\ncdc_plugin.outbox_tables = 'public.outbox'\n"
	  . "cdc_plugin.outbox_topic = 'outbox.table.\${aggregatetype}'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
$node->safe_psql('postgres', q{
	CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL);
	-- the truth: which events were committed (written in the same transaction)
	CREATE TABLE committed_events (n bigint PRIMARY KEY, customer int NOT NULL);
	CREATE SEQUENCE event_seq;
	CREATE TABLE outbox (id text PRIMARY KEY, aggregatetype text NOT NULL, aggregateid text NOT NULL,
	                     type text NOT NULL, payload jsonb, headers jsonb);});

my $file = $node->basedir . '/outbox.tsv';
my ($cout, $cerr) = ('', '');
my $consumer = IPC::Run::start(
	[ $CdcKafka::CONSUME_BIN, 'consume', '--brokers', $broker->bootstrap,
	  '--topic-prefix', 'outbox', '--format', 'tsv', '--headers', '--output', $file ],
	'>', \$cout, '2>', \$cerr);

my $script = $node->basedir . '/outbox.pgbench';
open my $fh, '>', $script or die $!;
print $fh <<'SQL';
\set customer random(1, 20)
\set fate random(1, 10)
BEGIN;
SELECT nextval('event_seq') AS n \gset
INSERT INTO orders VALUES (:n, :customer);
INSERT INTO committed_events VALUES (:n, :customer);
SELECT cdc_plugin.publish('outbox.orders', :customer::text,
       jsonb_build_object('order', :n, 'customer', :customer),
       jsonb_build_object('type', 'OrderPlaced', 'order', :n));
INSERT INTO outbox VALUES ('o-' || :n, 'orders', :customer::text, 'OrderPlaced',
       jsonb_build_object('order', :n, 'customer', :customer, 'via', 'table'), jsonb_build_object('order', :n));
DELETE FROM outbox WHERE id = 'o-' || :n;
SAVEPOINT s;
SELECT nextval('event_seq') AS u \gset
SELECT cdc_plugin.publish('outbox.orders', :customer::text,
       jsonb_build_object('order', :u, 'undone', true), '{"type": "Undone"}');
INSERT INTO outbox VALUES ('o-' || :u, 'orders', :customer::text, 'Undone',
       jsonb_build_object('order', :u, 'undone', true), NULL);
ROLLBACK TO s;
SELECT CASE WHEN :fate <= 2 THEN 'ROLLBACK' ELSE 'COMMIT' END AS finish \gset
:finish;
SQL
close $fh;
sub writes
{
	my ($seconds) = @_;
	my ($out, $err) = ('', '');
	return IPC::Run::start(
		[ 'pgbench', '-n', '-c', 4, '-T', $seconds, '-R', 300, '-f', $script,
		  '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \$out, '2>', \$err);
}

my $w = writes(4);
sleep 2;
my $pid = CdcKafka::worker_pid($node);
ok(kill('KILL', $pid), "worker $pid killed while events are published");
CdcKafka::finish_writes($w);
CdcKafka::wait_for_status($node, "state = 'streaming' AND pid <> $pid", 'a new worker');
$w = writes(3);
sleep 1;
$node->stop('immediate');
CdcKafka::finish_writes($w);
$node->start;
$w = writes(2);
CdcKafka::finish_writes($w);
CdcKafka::wait_caught_up($node);

my $committed = $node->safe_psql('postgres', 'SELECT count(*) FROM committed_events');
cmp_ok($committed, '>', 300, "$committed transactions committed an event");
my $rolled_back = $node->safe_psql('postgres',
	"SELECT last_value - 2 * $committed FROM event_seq");
cmp_ok($rolled_back, '>', 0, 'and others rolled back theirs');

# wait until the consumer has read every committed event
my $load = qq{
	CREATE TEMP TABLE consumed (topic text, part int, off bigint, key bytea, value bytea, headers text);
	COPY consumed FROM '$file';
	CREATE TEMP TABLE ev AS
	  SELECT topic, part, off, convert_from(key, 'UTF8') AS key, convert_from(value, 'UTF8')::jsonb AS payload,
	         headers::jsonb AS headers,
	         (SELECT h->>1 FROM jsonb_array_elements(headers::jsonb) h WHERE h->>0 = 'cdc.event_id') AS id
	    FROM consumed;};
my $deadline = time + 120;
for (;;)
{
	my %ids = map { $_ => 1 } (slurp_file($file) =~ /"cdc\.event_id",\s*"([^"]+)"/g);
	last if keys %ids >= 2 * $committed;
	if (time > $deadline)
	{
		diag 'the consumer did not read every event: ' . $cerr;
		last;
	}
	sleep 1;
}
is($node->safe_psql('postgres', qq{$load SELECT count(*) FROM ev WHERE id IS NULL}), '0',
	'every message has a cdc.event_id header');
is($node->safe_psql('postgres', qq{$load
	SELECT count(*) FROM (SELECT id FROM ev GROUP BY id
	                      HAVING count(DISTINCT (payload, headers, key, part)) > 1) d}),
	'0', 'every copy of an id is the same event: payload, headers, key and partition');
for my $way (['outbox.orders', 'publish()'], ['outbox.table.orders', 'the outbox table'])
{
	my ($topic, $name) = @$way;
	is($node->safe_psql('postgres', qq{$load
		WITH events AS (SELECT DISTINCT ON (id) id, (payload->>'order')::bigint AS n,
		                       (payload->>'customer')::int AS customer, key FROM ev
		                 WHERE topic = '$topic' ORDER BY id, off)
		SELECT (SELECT count(*) FROM events),
		       (SELECT count(*) FROM events e JOIN committed_events c USING (n)
		         WHERE e.customer = c.customer AND e.key = c.customer::text),
		       (SELECT count(*) FROM committed_events c WHERE NOT EXISTS (SELECT FROM events e WHERE e.n = c.n))}),
		"$committed|$committed|0",
		"$name, deduplicated by cdc.event_id: every committed event once, keyed by its customer, nothing else");
}
is($node->safe_psql('postgres', qq{$load SELECT count(DISTINCT topic), count(*) FILTER (WHERE topic NOT IN ('outbox.orders', 'outbox.table.orders')) FROM ev}),
	'2|0', 'the outbox table\'s events go to the topic its template names');
is($node->safe_psql('postgres', 'SELECT count(*) FROM outbox'), '0', 'the outbox table is empty');
is($node->safe_psql('postgres', qq{$load
	SELECT count(*) FROM ev WHERE payload ? 'undone' OR headers @> '[["type", "Undone"]]'}),
	'0', 'no event of a rolled-back savepoint');
is($node->safe_psql('postgres', qq{$load
	SELECT count(*) FROM ev
	 WHERE NOT headers @> jsonb_build_array(jsonb_build_array('type', 'OrderPlaced'),
	                                        jsonb_build_array('order', payload->>'order'))
	    OR (topic = 'outbox.table.orders'
	        AND NOT headers @> jsonb_build_array(jsonb_build_array('id', 'o-' || (payload->>'order'))))}),
	'0', 'the headers arrive with every event: those given to publish(), the table\'s id, type and headers');
# per key, the first copies of the events come in commit order
is($node->safe_psql('postgres', qq{$load
	WITH firsts AS (SELECT DISTINCT ON (id) id, topic, part, off, key,
	                       split_part(id, ':', 1)::pg_lsn AS commit_lsn FROM ev ORDER BY id, off),
	     ordered AS (SELECT commit_lsn, lag(commit_lsn) OVER (PARTITION BY topic, key ORDER BY part, off) AS prev
	                   FROM firsts)
	SELECT count(*) FROM ordered WHERE commit_lsn < prev}),
	'0', 'each key\'s events in commit order');
is($node->safe_psql('postgres', qq{$load SELECT count(DISTINCT part) FROM ev WHERE topic = 'outbox.orders'}), '3',
	'keys spread over the partitions');

# An outbox table without a column it needs: one WARNING, the worker waits
# for a reload instead of failing at its first insert; fixed, it goes on.
$node->safe_psql('postgres',
	'CREATE TABLE bad_outbox (id text, aggregatetype text, aggregateid text)');
$node->append_conf('postgresql.conf', "cdc_plugin.outbox_tables = 'public.outbox, public.bad_outbox'\n");
$node->reload;
CdcKafka::wait_for_status($node, "last_error LIKE '%bad_outbox%'", 'the worker names the problem');
my $bad_re = qr/WARNING:  cdc_plugin worker cannot publish: outbox table "public.bad_outbox" has no column "payload" \(role payload\)/;
ok($node->log_contains($bad_re), 'the log names the table, the column and its role');
sleep 2;
is(CdcKafka::count_log($node, $bad_re), 1, 'once');
$node->safe_psql('postgres', 'ALTER TABLE bad_outbox ADD COLUMN payload jsonb');
$node->reload;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'streaming again after the fix and a reload');

$node->stop;
$consumer->signal('TERM');
$consumer->finish;
$broker->stop;
done_testing();
