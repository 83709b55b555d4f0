# Envelopes are UTF-8 whatever the database encoding: text of a LATIN1
# database is converted, and to_json() renders back into the database's
# encoding. A SQL_ASCII database's bytes cannot be converted: valid UTF-8
# passes, anything else stops decoding with an error naming the column.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use CdcNode;
use PostgreSQL::Test::Utils;
use Test::More;

# this file's strings are UTF-8 bytes; every psql session says so
$ENV{PGCLIENTENCODING} = 'UTF8';

my $node = CdcNode::start_node('encodings');

for my $enc ('LATIN1', 'SQL_ASCII')
{
	my $db = lc $enc;
	$node->safe_psql('postgres',
		"CREATE DATABASE $db ENCODING '$enc' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
	$node->safe_psql($db, qq{
		CREATE EXTENSION cdc_plugin;
		CREATE TABLE "café" ("naïve" int PRIMARY KEY, label text);
		SELECT pg_create_logical_replication_slot('enc_$db', 'cdc_plugin');
	});
}

# LATIN1: the client sends UTF-8, the server stores LATIN1 (é is one byte).
$node->safe_psql('latin1', q{INSERT INTO "café" VALUES (1, 'crème brûlée')});
is($node->safe_psql('latin1', q{SELECT octet_length(label) FROM "café"}), '12',
	'LATIN1 stores one byte per accented letter');
is( $node->safe_psql('latin1', q{
		SELECT position(convert_to('crème brûlée', 'UTF8') IN data) > 0
		   AND position(convert_to('naïve', 'UTF8') IN data) > 0
		   AND position(convert_to('café', 'UTF8') IN data) > 0
		  FROM pg_logical_slot_peek_binary_changes('enc_latin1', NULL, NULL)}),
	't', 'the envelope carries the value and the names as UTF-8');
is( $node->safe_psql('latin1', q{
		SELECT e->'after'->>'label' || ' ' || (e->'after'->>'naïve') || ' ' || (e->'source'->>'table')
		  FROM pg_logical_slot_peek_binary_changes('enc_latin1', NULL, NULL) c,
		       LATERAL cdc_plugin.to_json(c.data) e}),
	'crème brûlée 1 café', 'to_json renders it back in the database encoding');
is( $node->safe_psql('latin1', q{
		SELECT count(*) FROM pg_logical_slot_peek_binary_changes('enc_latin1', NULL, NULL,
		         'include-tables', 'public.caf*')}),
	'1', 'table patterns match names in the database encoding');

# A json value may hold a \u escape of a character LATIN1 lacks, which
# jsonb (in the database encoding) cannot hold: outside a UTF-8 database,
# to_json renders json values with \u escapes of non-ASCII characters as
# strings of their text, so the envelope still renders.
$node->safe_psql('latin1', q{
	CREATE TABLE docs (id int PRIMARY KEY, j json);
	SELECT pg_create_logical_replication_slot('docs_latin1', 'cdc_plugin');
	INSERT INTO docs VALUES (1, '["\u4e00"]'), (2, '["\u00e9", "é"]');
});
is( $node->safe_psql('latin1', q{
		SELECT string_agg(jsonb_typeof(e->'after'->'j') || ' ' || (e->'after'->>'j'), ' | ')
		  FROM pg_logical_slot_get_binary_changes('docs_latin1', NULL, NULL) c,
		       LATERAL cdc_plugin.to_json(c.data) e}),
	'string ["\u4e00"] | string ["\u00e9", "é"]',
	'json with non-ASCII \u escapes renders as its text in a LATIN1 database');

# SQL_ASCII: bytes are stored as given; UTF-8 ones pass through.
$node->safe_psql('sql_ascii', q{INSERT INTO "café" VALUES (1, 'crème')});
is( $node->safe_psql('sql_ascii', q{
		SELECT e->'after'->>'label'
		  FROM pg_logical_slot_get_binary_changes('enc_sql_ascii', NULL, NULL) c,
		       LATERAL cdc_plugin.to_json(c.data) e}),
	'crème', 'SQL_ASCII text that is valid UTF-8 passes through');
$node->safe_psql('sql_ascii',
	q{INSERT INTO "café" VALUES (2, convert_from('\xe9'::bytea, 'SQL_ASCII'))});
my ($ret, $stdout, $stderr) = $node->psql('sql_ascii',
	q{SELECT count(*) FROM pg_logical_slot_peek_binary_changes('enc_sql_ascii', NULL, NULL)});
isnt($ret, 0, 'a SQL_ASCII value that is not UTF-8 stops decoding');
like($stderr, qr/text value is not valid UTF-8 \(in after column "label"\)/,
	'the error names the column');
is($node->safe_psql('sql_ascii', 'SELECT 1'), '1', 'the server is still up');

$node->stop;
done_testing();
