# Schema changes reach consumers in order with the data. While 4 clients
# write to a captured table, a column is added, a column is dropped, a
# type is widened, a DDL runs in a transaction that also changes rows, and
# at the end the table is renamed. In every partition of the table's topic
# a schema event of each version comes before the first row of that shape
# (the verifier checks every row's source.schema_version and columns
# against the schema events before it), a rename reaches the former topic
# and the new one, DROP TABLE ends with dropped = true, and the DDL text
# can be left out. A replica that applies each schema event (add, drop or
# retype the column) and then the rows ends equal to the source table.
# After a restart the worker restates each table's shape before its first
# event.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use CdcKafka;

CdcKafka::require_tools();
my $partitions = 4;
my $broker = CdcKafka::start_broker(partitions => $partitions);
my $node = CdcKafka::start_node('schema', $broker);
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');
CdcKafka::create_reference_slot($node);
$node->safe_psql('postgres', q{
	CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL, note text, extra text);
	INSERT INTO orders SELECT g, g, md5(g::text), 'x' FROM generate_series(1, 300) g;
	-- rows the clients never touch
	INSERT INTO orders SELECT g, g, 'quiet', 'x' FROM generate_series(1001, 1020) g;});
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');

my $script = $node->basedir . '/orders.pgbench';
open my $fh, '>', $script or die $!;
print $fh <<'SQL';
\set id random(1, 400)
INSERT INTO orders (id, amount, note) VALUES (:id, :id, 'new') ON CONFLICT (id) DO UPDATE SET amount = orders.amount + 1, note = md5(random()::text);
\set d random(1, 400)
DELETE FROM orders WHERE id = :d AND amount % 7 = 3;
SQL
close $fh;
my ($out, $err) = ('', '');
my $writes = IPC::Run::start(
	[ 'pgbench', '-n', '-c', 4, '-T', 8, '-R', 400, '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \$out, '2>', \$err);

# one DDL a second while the clients write
my @ddl = (
	'ALTER TABLE orders ADD COLUMN tag text',
	'ALTER TABLE orders DROP COLUMN extra',
	'ALTER TABLE orders ALTER COLUMN amount TYPE bigint');
for my $ddl (@ddl)
{
	sleep 1;
	$node->safe_psql('postgres', $ddl);
}
sleep 1;
# rows changed before and after a DDL in one transaction
$node->safe_psql('postgres', q{
	BEGIN;
	UPDATE orders SET note = 'before flag' WHERE id BETWEEN 1001 AND 1020;
	ALTER TABLE orders ADD COLUMN flag boolean;
	UPDATE orders SET flag = true, tag = 'flagged' WHERE id BETWEEN 1001 AND 1020;
	COMMIT;});
# a DDL that rolls back publishes nothing
$node->safe_psql('postgres', q{
	BEGIN;
	ALTER TABLE orders ADD COLUMN never_there int;
	ROLLBACK;});
CdcKafka::finish_writes($writes);

# the DDL text is left out on request
$node->safe_psql('postgres', q{
	SET cdc_plugin.schema_events_ddl_text = off;
	ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'none';});
$node->safe_psql('postgres', q{
	ALTER TABLE orders RENAME TO purchases;
	INSERT INTO purchases (id, amount, note) VALUES (2001, 1, 'after the rename');
	UPDATE purchases SET tag = 'renamed' WHERE id BETWEEN 21 AND 40;
	CREATE TABLE scratch (id int PRIMARY KEY);
	INSERT INTO scratch VALUES (1);
	DROP TABLE scratch;});
CdcKafka::wait_caught_up($node);

my $summary = CdcKafka::verify_stream($node, $consumer, name => 'schema changes under load',
	max_duplicates => 100_000);
my ($schemas, $bad) = $summary =~ /schemas=(\d+) bad_schemas=(\d+)/;
cmp_ok($schemas // 0, '>', 0, "the verifier saw $schemas schema events");
is($bad, '0', 'every row comes after the schema event of its version, in every partition');

# what the topics hold, as JSON
my $file = $consumer->{file};
sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', qq{
		CREATE TEMP TABLE consumed (topic text, part int, off bigint, key bytea, value bytea);
		COPY consumed FROM '$file';
		CREATE TEMP TABLE ev AS
		  SELECT topic, part, off, cdc_plugin.to_json(value) AS e
		    FROM (SELECT DISTINCT topic, part, off, value FROM consumed
		           WHERE value IS NOT NULL) c;
		$sql});
}

my $versions = $node->safe_psql('postgres',
	q{SELECT schema_version FROM cdc_plugin.schema_versions WHERE "table" = 'public.purchases'});
is(query(q{
	SELECT string_agg(DISTINCT (e->'schema_change'->>'version'), ',' ORDER BY (e->'schema_change'->>'version'))
	  FROM ev WHERE e->>'op' = 'schema' AND e->'schema_change'->>'command_tag' = 'ALTER TABLE'
	   AND topic = 'cdc.public.orders'}),
	join(',', 2 .. $versions),
	"one schema version per ALTER TABLE, up to $versions (the rolled back one is not there)");
is(query(q{
	SELECT count(*) FROM (
	  SELECT v, count(DISTINCT part) AS parts
	    FROM (SELECT part, (e->'schema_change'->>'version')::int AS v FROM ev
	           WHERE e->>'op' = 'schema' AND topic = 'cdc.public.orders') s
	   GROUP BY v) x WHERE parts = } . $partitions),
	$versions, "each version of the table reached all $partitions partitions of its topic");
is(query(q{
	SELECT e->'schema_change'->'columns' @> '[{"name": "amount", "type": "bigint", "type_oid": 20, "not_null": true, "key": false},
	                                          {"name": "id", "type": "integer", "key": true, "not_null": true}]'
	       AND NOT e->'schema_change'->'columns' @> '[{"name": "extra"}]'
	       AND e->'schema_change'->>'ddl' LIKE 'ALTER TABLE orders ALTER COLUMN amount TYPE bigint%'
	       AND e->'schema_change'->>'replica_identity' = 'default'
	       AND (e->'source'->>'schema_version')::int = (e->'schema_change'->>'version')::int
	  FROM ev WHERE e->>'op' = 'schema' AND topic = 'cdc.public.orders'
	   AND e->'schema_change'->>'ddl' LIKE '%TYPE bigint%' LIMIT 1}),
	't', 'a schema event names every column with its type, nullability and key, and the DDL');
is(query(q{
	SELECT bool_and(e->'schema_change'->'ddl' = 'null'::jsonb), count(*)
	  FROM ev WHERE e->>'op' = 'schema' AND NOT (e->'schema_change'->>'resent')::bool
	   AND e->'schema_change'->'columns' @> '[{"name": "note", "has_default": true}]'
	   AND topic = 'cdc.public.orders' AND e->'source'->>'table' = 'orders'}),
	"t|$partitions", 'with schema_events_ddl_text = off the DDL text is left out');

# the transaction that changed rows around its DDL: per key, the update
# before the schema event has the old version, the one after the new one
is(query(q{
	WITH flag AS (
	  SELECT part, min(off) AS off, min((e->'schema_change'->>'version')::int) AS v FROM ev
	   WHERE e->>'op' = 'schema' AND e->'schema_change'->'columns' @> '[{"name": "flag"}]'
	     AND topic = 'cdc.public.orders' GROUP BY part)
	SELECT count(DISTINCT r.e->'after'->>'id') FILTER (WHERE r.e->'after'->>'note' = 'before flag'
	         AND r.off < f.off AND (r.e->'source'->>'schema_version')::int = f.v - 1),
	       count(DISTINCT r.e->'after'->>'id') FILTER (WHERE r.e->'after'->>'tag' = 'flagged'
	         AND r.off > f.off AND (r.e->'source'->>'schema_version')::int = f.v)
	  FROM ev r JOIN flag f USING (part)
	 WHERE r.e->>'op' = 'u' AND r.topic = 'cdc.public.orders'}),
	'20|20', 'a DDL between two updates in one transaction: old shape, schema event, new shape');

is(query(q{
	SELECT count(DISTINCT topic || '/' || part) FROM ev
	 WHERE e->>'op' = 'schema' AND e->'schema_change'->>'renamed_from_schema' = 'public' AND e->'schema_change'->>'renamed_from_table' = 'orders'
	   AND e->'source'->>'table' = 'purchases'}),
	2 * $partitions, 'the rename reached every partition of the former topic and of the new one');
is(query(q{
	SELECT bool_and((e->'schema_change'->>'dropped')::bool) AND count(DISTINCT part) = } . $partitions . q{
	  FROM (SELECT DISTINCT ON (part) part, e FROM ev WHERE topic = 'cdc.public.scratch'
	        ORDER BY part, off DESC) last}),
	't', 'DROP TABLE: the last event of every partition is a schema event with dropped = true');
is(query(q{
	SELECT count(*) FROM ev WHERE e->>'op' IN ('c', 'u', 'd')
	   AND coalesce((e->'source'->>'schema_version')::int, 0) = 0}),
	'0', 'every row event carries source.schema_version');

# a replica applying the schema events, then the rows, per partition
is(query(q{
	CREATE TEMP TABLE replica_cols (attnum int PRIMARY KEY, name text, type text);
	CREATE TEMP TABLE replica_version (v int);
	INSERT INTO replica_version VALUES (0);
	DO $$
	DECLARE
	  r record; c jsonb; col record; k jsonb;
	BEGIN
	  FOR r IN SELECT e FROM ev WHERE topic IN ('cdc.public.orders', 'cdc.public.purchases')
	           ORDER BY topic = 'cdc.public.purchases', part, off LOOP
	    IF r.e->>'op' = 'schema' THEN
	      CONTINUE WHEN (r.e->'schema_change'->>'version')::int <= (SELECT v FROM replica_version);
	      UPDATE replica_version SET v = (r.e->'schema_change'->>'version')::int;
	      IF NOT EXISTS (SELECT FROM replica_cols) THEN
	        EXECUTE 'CREATE TEMP TABLE replica ()';
	      END IF;
	      FOR col IN SELECT * FROM replica_cols WHERE attnum NOT IN
	          (SELECT (x->>'attnum')::int FROM jsonb_array_elements(r.e->'schema_change'->'columns') x) LOOP
	        EXECUTE format('ALTER TABLE replica DROP COLUMN %I', col.name);
	        DELETE FROM replica_cols WHERE attnum = col.attnum;
	      END LOOP;
	      FOR c IN SELECT x FROM jsonb_array_elements(r.e->'schema_change'->'columns') x LOOP
	        SELECT * INTO col FROM replica_cols WHERE attnum = (c->>'attnum')::int;
	        IF NOT FOUND THEN
	          EXECUTE format('ALTER TABLE replica ADD COLUMN %I %s', c->>'name', c->>'type');
	          INSERT INTO replica_cols VALUES ((c->>'attnum')::int, c->>'name', c->>'type');
	        ELSIF col.type <> c->>'type' THEN
	          EXECUTE format('ALTER TABLE replica ALTER COLUMN %I TYPE %s', col.name, c->>'type');
	          UPDATE replica_cols SET type = c->>'type' WHERE attnum = col.attnum;
	        END IF;
	      END LOOP;
	    ELSIF r.e->>'op' IN ('c', 'u', 'r') THEN
	      EXECUTE 'DELETE FROM replica WHERE id = $1' USING (r.e->'key'->>'id')::int;
	      EXECUTE 'INSERT INTO replica SELECT * FROM jsonb_populate_record(NULL::replica, $1)'
	        USING r.e->'after';
	    ELSIF r.e->>'op' = 'd' THEN
	      EXECUTE 'DELETE FROM replica WHERE id = $1' USING (r.e->'key'->>'id')::int;
	    END IF;
	  END LOOP;
	END $$;
	SELECT (SELECT count(*) FROM purchases) > 300,
	       (SELECT string_agg(name || ' ' || type, ', ' ORDER BY attnum) FROM replica_cols),
	       (SELECT count(*) FROM (
	          (SELECT id, amount, note, tag, flag FROM purchases
	           EXCEPT ALL SELECT id, amount, note, tag, flag FROM replica)
	          UNION ALL
	          (SELECT id, amount, note, tag, flag FROM replica
	           EXCEPT ALL SELECT id, amount, note, tag, flag FROM purchases)) d)}),
	't|id integer, amount bigint, note text, tag text, flag boolean|0',
	'a replica applying the schema events and the rows equals the source table');

# a new session restates each table's shape before its first event
$node->restart;
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming again');
$node->safe_psql('postgres', q{UPDATE purchases SET note = 'after restart' WHERE id = 1001});
CdcKafka::wait_caught_up($node);
CdcKafka::wait_consumer_quiet($consumer, 2, 30);
is(query(q{
	WITH upd AS (SELECT part, off FROM ev WHERE e->'after'->>'note' = 'after restart')
	SELECT count(*) > 0 FROM ev, upd
	 WHERE ev.part = upd.part AND ev.off < upd.off AND ev.topic = 'cdc.public.purchases'
	   AND e->>'op' = 'schema' AND (e->'schema_change'->>'resent')::bool
	   AND (e->'schema_change'->>'version')::int = } . $versions),
	't', 'after a restart the table\'s shape is restated (resent) before its first event');

$node->stop;
CdcKafka::stop_consumer($consumer);
$broker->stop;
done_testing();
