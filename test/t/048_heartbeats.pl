# cdc_plugin.heartbeat_interval: while the worker has had nothing to
# publish for an interval (and nothing waits for Kafka), it publishes a
# heartbeat to <topic_prefix>.__heartbeat, keyed by its database: an
# envelope of op heartbeat whose source holds the database, the WAL
# position and the time. Consumers tell "idle" from "stuck" with it: while
# changes flow, no heartbeat is sent; they stop while Kafka is unreachable;
# the default (0) sends none.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 2);
my $node = CdcKafka::start_node('hb', $broker,
	conf => "cdc_plugin.snapshot_mode = 'never'\n");
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');
my $file = $consumer->{file};

my $load = qq{
	CREATE TEMP TABLE c (topic text, part int, off bigint, key bytea, value bytea);
	COPY c FROM '$file';
	CREATE TEMP VIEW hb AS
	  SELECT c.*, convert_from(key, 'UTF8') AS k, cdc_plugin.to_json(value) AS e
	    FROM c WHERE topic = 'cdc.__heartbeat';
};
sub heartbeats
{
	return 0 unless -s $file;
	return $node->safe_psql('postgres', $load . 'SELECT count(*) FROM hb');
}
sub wait_heartbeats
{
	my ($n) = @_;
	for (1 .. 900)
	{
		return 1 if heartbeats() >= $n;
		usleep(100_000);
	}
	return 0;
}

# off by default: a table's change is published, no heartbeat topic appears
$node->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY)');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (0)');
CdcKafka::wait_caught_up($node);

$node->safe_psql('postgres', q{
	ALTER SYSTEM SET cdc_plugin.heartbeat_interval = '1s';
	SELECT pg_reload_conf();});
ok(wait_heartbeats(3), 'idle with heartbeat_interval = 1s: heartbeats arrive');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FILTER (WHERE e->>'op' = 'heartbeat' AND k = current_database()
	                          AND e->'source'->>'database' = current_database()
	                          AND (e->'source'->>'lsn')::pg_lsn <= pg_current_wal_flush_lsn()
	                          AND e->'source'->>'table' IS NULL AND e->'transaction' IS NULL
	                          AND to_timestamp((e->>'ts_ms')::numeric / 1000) > now() - interval '1 hour')
	       = count(*)
	  FROM hb}), 't',
	'each is a heartbeat envelope keyed by the database, with its WAL position and time, no table');
is($node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM (
	  SELECT (e->>'ts_ms')::bigint - lag((e->>'ts_ms')::bigint) OVER (ORDER BY off) AS apart
	    FROM hb) d WHERE apart < 1000}), '0', 'they are at least the interval apart');

# a steady stream of changes, one every 50 ms for 4 s, with heartbeat_interval = 2s: none meanwhile
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET cdc_plugin.heartbeat_interval = '2s';
	SELECT pg_reload_conf();});
# (no producer rebuild: the worker reads the interval at its next wait; 1 s
# or 2 s, no heartbeat can come between changes 50 ms apart)
$node->safe_psql('postgres', q{
	CREATE PROCEDURE steady() LANGUAGE plpgsql AS $$
	BEGIN
	  FOR i IN 1 .. 80 LOOP
	    INSERT INTO t VALUES (i);
	    COMMIT;
	    PERFORM pg_sleep(0.05);
	  END LOOP;
	END $$;
	CALL steady();});
CdcKafka::wait_caught_up($node);
my $before = heartbeats();
ok(wait_heartbeats($before + 1), 'once the changes stop, heartbeats come again');
is($node->safe_psql('postgres', $load . q{
	WITH w AS (
	  SELECT min((cdc_plugin.to_json(value)->'source'->>'commit_time_us')::bigint) / 1000 AS first_ms,
	         max((cdc_plugin.to_json(value)->'source'->>'commit_time_us')::bigint) / 1000 AS last_ms
	    FROM c WHERE topic = 'cdc.public.t' AND (cdc_plugin.to_json(value)->'after'->>'id')::int BETWEEN 1 AND 80)
	SELECT count(*) FROM hb, w
	 WHERE (e->>'ts_ms')::bigint > w.first_ms + 1000 AND (e->>'ts_ms')::bigint < w.last_ms}),
	'0', 'no heartbeat while the changes flowed (none sent between them)');

# the verifier knows heartbeats: on their topic, keyed by database, no part of any table's stream
CdcKafka::create_reference_slot($node);
$node->safe_psql('postgres', 'INSERT INTO t VALUES (1000)');
CdcKafka::verify_stream($node, $consumer, name => 'with heartbeats', no_reference => 1);

# Kafka unreachable: what waits for it is not idleness, no heartbeat is sent
is($broker->command('down all'), 'ok', 'brokers down');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (1001)');
CdcKafka::wait_for_status($node, 'in_flight > 0', 'a change waits for Kafka');
my $down = heartbeats();
$node->poll_query_until('postgres',
	"SELECT now() > '" . $node->safe_psql('postgres', 'SELECT now()') . "'::timestamptz + interval '5 s'")
  or die 'the clock does not move';
is($broker->command('up all'), 'ok', 'brokers up');
CdcKafka::wait_caught_up($node);
my $hb_during = $node->safe_psql('postgres', $load . q{
	SELECT count(*) FROM hb
	 WHERE (e->>'ts_ms')::bigint < (SELECT (cdc_plugin.to_json(value)->'source'->>'commit_time_us')::bigint / 1000 + 5000
	                                  FROM c WHERE topic = 'cdc.public.t'
	                                   AND (cdc_plugin.to_json(value)->'after'->>'id')::int = 1001 LIMIT 1)
	   AND (e->>'ts_ms')::bigint > (SELECT (cdc_plugin.to_json(value)->'source'->>'commit_time_us')::bigint / 1000
	                                  FROM c WHERE topic = 'cdc.public.t'
	                                   AND (cdc_plugin.to_json(value)->'after'->>'id')::int = 1001 LIMIT 1)})
  if wait_heartbeats($down + 1);
is($hb_during, '0', 'no heartbeat while a change waited for the unreachable broker');

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
