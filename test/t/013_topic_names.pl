# Every table has a topic of its own. <prefix>.<schema>.<table> keeps
# letters, digits and underscores of the names and writes every other byte
# as '-' and two hex digits, so '.' only ever separates the three parts;
# a topic longer than Kafka's 249 characters is shortened with a hash.
# Tables whose names used to share a topic ("a b" and a_b; schema "a.b"
# with table c and schema a with table "b.c") land on the topics the
# README documents, each topic holding its own table's changes only.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CdcKafka;

CdcKafka::require_tools();
my $broker = CdcKafka::start_broker(partitions => 1);
my $node = CdcKafka::start_node('topics', $broker);
CdcKafka::wait_for_status($node, "state = 'streaming'", 'worker streaming');

# 62 bytes of UTF-8 each: escaped, the topic would be 383 characters long
my $long_schema = "\xc3\xbc" x 31;                  # ü x 31
my $long_one = "\xc3\xb6" x 31;                     # ö x 31
my $long_two = ("\xc3\xb6" x 30) . "\xc3\xa4";      # ö x 30, ä
my $long_head = 'cdc.' . ('-C3-BC' x 31) . '.' . ('-C3-B6' x 6) . '-C3';

# what, schema, table, its topic
my @tables = (
	[ 'a space', 'public', 'a b', 'cdc.public.a-20b' ],
	[ 'an underscore', 'public', 'a_b', 'cdc.public.a_b' ],
	[ 'a dot in the schema', 'a.b', 'c', 'cdc.a-2Eb.c' ],
	[ 'a dot in the table', 'a', 'b.c', 'cdc.a.b-2Ec' ],
	[ 'the escape character', 'public', 'a-b', 'cdc.public.a-2Db' ],
	[ 'mixed case', 'public', 'MixedCase', 'cdc.public.MixedCase' ],
	[ 'non-ASCII', 'public', "caf\xc3\xa9", 'cdc.public.caf-C3-A9' ],
	[ 'a long name', $long_schema, $long_one, "$long_head--e3e9cf919f2a49fb" ],
	[ 'another long name, same beginning', $long_schema, $long_two, "$long_head--4299496269ea35a3" ],
);

# Quotes an identifier for SQL.
sub ident { my ($name) = @_; return '"' . ($name =~ s/"/""/gr) . '"' }

my $ddl = join '', map { 'CREATE SCHEMA ' . ident($_) . ";\n" } ('a.b', 'a', $long_schema);
my $dml = '';
for my $i (0 .. $#tables)
{
	my (undef, $schema, $table) = @{ $tables[$i] };
	my $name = ident($schema) . '.' . ident($table);
	$ddl .= "CREATE TABLE $name (id int PRIMARY KEY);\n";
	$dml .= "INSERT INTO $name VALUES ($i);\n";
}
$node->safe_psql('postgres', $ddl);
CdcKafka::create_reference_slot($node);
my $consumer = CdcKafka::start_consumer($broker, $node->basedir . '/consumed.tsv');
$node->safe_psql('postgres', $dml);
CdcKafka::wait_caught_up($node);
CdcKafka::verify_stream($node, $consumer, name => 'tables with troublesome names');

# topic -> the tables whose changes it holds, read from the envelopes
my @values;
for my $line (split /\n/, slurp_file($consumer->{file}))
{
	my ($topic, undef, undef, undef, $value) = split /\t/, $line;
	my ($hex) = $value =~ /^\\\\x([0-9a-f]+)$/ or next;
	push @values, "('$topic', '\\x$hex'::bytea)";
}
my %tables_of = map { split /\t/ } split /\n/, $node->safe_psql('postgres',
	"SELECT t, string_agg(DISTINCT (e->'source'->>'schema') || '.' || (e->'source'->>'table'), ' | ')
	   FROM (VALUES " . join(', ', @values) . ") v(t, d), LATERAL cdc_plugin.to_json(d) e
	  GROUP BY t", extra_params => [ '-F', "\t", '-A', '-t' ]);

for my $t (@tables)
{
	my ($what, $schema, $table, $topic) = @$t;
	is($tables_of{$topic}, "$schema.$table", "$what: its table's changes, and only those, on $topic");
}
is(scalar keys %tables_of, scalar @tables, 'one topic per table, no other topic');
cmp_ok(length $_, '<=', 249, "topic $_ is at most 249 characters") for grep { /--/ } keys %tables_of;

CdcKafka::stop_consumer($consumer);
$node->stop;
$broker->stop;
done_testing();
