# The metadata topics. With cdc_plugin.transaction_topic set, every
# published transaction gets one begin and one commit event there (keyed by
# its transaction id; the commit counts the events per table), and none is
# sent for a transaction that published nothing. With
# cdc_plugin.messages_topic set, pg_logical_emit_message() messages go
# there as m events keyed by their prefix: transactional ones only if their
# transaction commits, non-transactional ones at once. Topic names are
# checked when they are set.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_node('meta', $broker,
	conf => "cdc_plugin.transaction_topic = 'meta.transactions'\n"
	  . "cdc_plugin.messages_topic = 'meta.messages'\n"
	  . "cdc_plugin.exclude_tables = 'public.quiet'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');

my ($ret, $out, $err) = $node->psql('postgres', "ALTER SYSTEM SET cdc_plugin.messages_topic = 'bad topic'");
like($err, qr/invalid value for parameter "cdc_plugin.messages_topic".*\n.*topic name has a character Kafka does not allow at position 4/,
	'a topic name Kafka refuses is refused when set');

my $file = $node->basedir . '/meta.tsv';
my ($cout, $cerr) = ('', '');
my $consumer = IPC::Run::start(
	[ $CdcKafka::CONSUME_BIN, 'consume', '--brokers', $broker->bootstrap,
	  '--topic-prefix', 'meta', '--format', 'tsv', '--headers', '--output', $file ],
	'>', \$cout, '2>', \$cerr);

$node->safe_psql('postgres', q{
	CREATE TABLE orders (id int PRIMARY KEY);
	CREATE TABLE lines (id int PRIMARY KEY);
	CREATE TABLE quiet (id int);});
my $xid = $node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO orders VALUES (1), (2);
	INSERT INTO lines VALUES (1);
	SELECT pg_logical_emit_message(true, 'app.audit', 'order 1 placed');
	SELECT txid_current();
	COMMIT;});
$xid = (split /\n/, $xid)[-1];
$node->safe_psql('postgres', q{
	INSERT INTO quiet VALUES (1);
	BEGIN;
	SELECT pg_logical_emit_message(true, 'app.audit', 'rolled back');
	ROLLBACK;
	SELECT pg_logical_emit_message(false, 'app.heartbeat', 'now');});
$node->safe_psql('postgres', 'INSERT INTO orders VALUES (3)');
# snapshot events (schema restatement, markers, r events) carry event ids too
my $rows_file = $node->basedir . '/rows.tsv';
my ($rout, $rerr) = ('', '');
my $rows_consumer = IPC::Run::start(
	[ $CdcKafka::CONSUME_BIN, 'consume', '--brokers', $broker->bootstrap,
	  '--topic-prefix', 'cdc', '--format', 'tsv', '--headers', '--output', $rows_file ],
	'>', \$rout, '2>', \$rerr);
$node->safe_psql('postgres', "SELECT cdc_plugin.snapshot('orders')");
CdcKafka::wait_snapshots_done($node);
CdcKafka::wait_caught_up($node);
my $deadline = time + 60;
until (time > $deadline)
{
	my $got = -s $file ? slurp_file($file) : '';
	my $transactions = () = $got =~ /^meta\.transactions\t/mg;
	last if $got =~ /app\.heartbeat/ && $transactions >= 8;
	sleep 1;
}
sleep 1;

my $load = qq{
	CREATE TEMP TABLE consumed (topic text, part int, off bigint, key bytea, value bytea, headers text);
	COPY consumed FROM '$file';
	CREATE TEMP TABLE ev AS
	  SELECT DISTINCT ON (id) topic, convert_from(key, 'UTF8') AS key, cdc_plugin.to_json(value) AS e, id
	    FROM (SELECT *, (SELECT h->>1 FROM jsonb_array_elements(headers::jsonb) h
	                      WHERE h->>0 = 'cdc.event_id') AS id FROM consumed) c
	   ORDER BY id, part, off;};
is($node->safe_psql('postgres', qq{$load
	SELECT string_agg(e->>'op', ',' ORDER BY (e->'source'->>'lsn')::pg_lsn)
	  FROM ev WHERE topic = 'meta.transactions' AND key = '$xid'}),
	'begin,commit', 'the transaction has one begin and one commit, keyed by its id');
is($node->safe_psql('postgres', qq{$load
	SELECT e->'summary'->'event_count',
	       (SELECT string_agg(format('%s.%s=%s', t->>'schema', t->>'table', t->>'event_count'), ','
	                          ORDER BY t->>'schema', t->>'table')
	          FROM jsonb_array_elements(e->'summary'->'tables') t)
	  FROM ev WHERE topic = 'meta.transactions' AND key = '$xid' AND e->>'op' = 'commit'}),
	'4|public.lines=1,public.orders=2',
	'the commit counts the transaction\'s events (the message too) and those of each table');
is($node->safe_psql('postgres', qq{$load
	SELECT count(*) FROM ev WHERE topic = 'meta.transactions'}),
	'8', 'the four transactions that published something (two CREATE TABLEs with their schema events, two with rows) have begin and commit; the others none');
is($node->safe_psql('postgres', qq{$load
	SELECT string_agg(key || ':' || (e->'message'->>'content_text'), ',' ORDER BY (e->'source'->>'lsn')::pg_lsn)
	  FROM ev WHERE topic = 'meta.messages'}),
	'app.audit:order 1 placed,app.heartbeat:now',
	'messages are keyed by prefix: the committed one and the non-transactional one, not the rolled back one');
is($node->safe_psql('postgres', qq{$load SELECT count(*) FROM ev WHERE id IS NULL}), '0',
	'every message has a cdc.event_id');

my $rows_deadline = time + 60;
sleep 1 until (-s $rows_file && slurp_file($rows_file) =~ /:end:1"/) || time > $rows_deadline;
is($node->safe_psql('postgres', qq{
	CREATE TEMP TABLE consumed (topic text, part int, off bigint, key bytea, value bytea, headers text);
	COPY consumed FROM '$rows_file';
	WITH m AS (SELECT cdc_plugin.to_json(value)->>'op' AS op,
	                  (SELECT h->>1 FROM jsonb_array_elements(headers::jsonb) h
	                    WHERE h->>0 = 'cdc.event_id') AS id FROM consumed)
	SELECT count(*) FILTER (WHERE id IS NULL),
	       count(DISTINCT id) = count(*),
	       string_agg(DISTINCT op || '=' || regexp_replace(id, '^[0-9A-F]+/[0-9A-F]+:([0-9A-F]+/[0-9A-F]+:)?', ''), ',')
	         FILTER (WHERE op IN ('r', 'snapshot_begin', 'snapshot_end'))
	  FROM m}),
	'0|t|r=r1,r=r2,r=r3,snapshot_begin=begin:0,snapshot_begin=begin:1,snapshot_end=end:0,snapshot_end=end:1',
	'row, schema and snapshot events all carry distinct event ids (r events by their place, markers by partition)');
$rows_consumer->signal('TERM');
$rows_consumer->finish;

$node->stop;
$consumer->signal('TERM');
$consumer->finish;
$broker->stop;
done_testing();
