# to_json() against a few thousand mutated and generated envelopes on a
# running server: envelopes decoded from tables of many types, then bit
# flips, truncations, bytes replaced, chunks spliced, huge varint lengths
# inserted, invalid UTF-8; and envelopes built by hand with deep nesting,
# huge and empty dims, odd lower bounds, json that jsonb refuses, NUL bytes.
# Deterministic (a fixed seed). Each call runs with a statement_timeout in
# one session, and:
# - the server never crashes (same postmaster, the session keeps working),
# - every call renders or fails with one of the errors to_json documents
#   (22P03 "invalid envelope: ...", 54000 "the JSON rendering ... exceeds"),
# - no call runs into the statement timeout,
# - the session's backend stays below a peak resident size (VmHWM).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use CdcNode;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $started = time;
my $cases_per_seed_mutated = 150;	# x the seeds (about 13): mutations
my $generated = 1200;				# built by hand
my $timeout = '10s';				# per call
my $max_hwm_kb = 128 * 1024;		# peak resident size of the session's backend

my $node = CdcNode::start_node('fuzz');
$node->safe_psql('postgres', q{
	CREATE EXTENSION cdc_plugin;
	CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
	CREATE TYPE pair AS (x int, label text, at timestamptz, xs int[]);
	CREATE TABLE kinds (
	  id int PRIMARY KEY, b boolean, i2 smallint, i8 bigint, f4 real, f8 double precision,
	  n numeric, t text, by bytea, d date, tm time, ttz timetz, ts timestamp,
	  tstz timestamptz, iv interval, u uuid, j json, jb jsonb, e mood,
	  ai int[], at text[], a2 int[], alb int[], af float8[], aj jsonb[],
	  rec pair, arec pair[], r int4range, pt point, bx box[]);
	ALTER TABLE kinds REPLICA IDENTITY FULL;
	CREATE TABLE wide (id bigint PRIMARY KEY, payload text);
	SELECT pg_create_logical_replication_slot('fuzz', 'cdc_plugin');
});
$node->safe_psql('postgres', q{
	INSERT INTO kinds VALUES (1, true, -32768, 9223372036854775807, 1.5, -0,
	  '12345.678900', E'h\u00e9llo "q" \\ \t\n \x01 \U0001F600', '\xdeadbeef00',
	  '2024-02-29', '13:14:15.5', '13:14:15+02', '2024-02-29 13:14:15.5',
	  '0044-03-15 12:00:00+00 BC', '1 year 2 mons -3 days 04:05:06.789',
	  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, "two", {"three": 3e5}]}',
	  '{"a": [true, null]}', 'happy', '{1,NULL,3}', '{"a b",NULL,"","q\"uote"}',
	  '{{1,2},{3,4}}', '[0:2]={7,8,9}', '{NaN,-Infinity,-0}', '{"[1]","null"}',
	  '(1,one,"2024-01-01 00:00:00+00","[5:5]={3}")', '{"(2,two,,{1})",NULL}',
	  '[1,5)', '(1.5,-2)', '[0:1]={(1,1),(0,0);(2,2),(1,1)}');
	INSERT INTO kinds (id, f4, f8, n, t, d, ts, j, ai)
	  VALUES (2, 'NaN', 'Infinity', 'NaN', '', 'infinity', '-infinity', '"\u0000"', '{}');
	INSERT INTO kinds (id, j, jb) VALUES (3, '{"a":"\ud800", "n": 1e999999}', '1e-7');
	UPDATE kinds SET t = 'changed', ai = '{4}' WHERE id = 1;
	DELETE FROM kinds WHERE id = 2;
	INSERT INTO wide VALUES (1, repeat('wide ', 600));
	SELECT pg_logical_emit_message(true, 'fuzz', 'hello');
	SELECT pg_logical_emit_message(false, 'fuzz', '\x00ff'::bytea);
	TRUNCATE wide;
});
my @seeds = map { pack('H*', $_) } split /\n/, $node->safe_psql('postgres', q{
	SELECT encode(data, 'hex') FROM pg_logical_slot_get_binary_changes('fuzz', NULL, NULL,
	         'include-transaction-events', 'true')});
cmp_ok(scalar(@seeds), '>=', 12, 'seed envelopes decoded from the tables');

# ---- a deterministic generator (xorshift32) ----
my $state = 20241201;

sub rnd
{
	my ($n) = @_;
	$state ^= ($state << 13) & 0xffffffff;
	$state ^= $state >> 17;
	$state ^= ($state << 5) & 0xffffffff;
	return $state % $n;
}
sub pick { return $_[ rnd(scalar @_) ]; }

# ---- protobuf by hand (cdc.v1.Envelope) ----
sub varint
{
	my ($n) = @_;
	my $s = '';
	while ($n >= 0x80) { $s .= chr(($n & 0x7f) | 0x80); $n >>= 7; }
	return $s . chr($n);
}
sub zz { my ($n) = @_; return $n >= 0 ? 2 * $n : -2 * $n - 1; }
sub len_field { my ($num, $payload) = @_; return varint($num << 3 | 2) . varint(length $payload) . $payload; }
sub var_field { my ($num, $v) = @_; return varint($num << 3) . varint($v); }
sub column
{
	my ($name, $value) = @_;
	return len_field(1, $name) . (defined $value ? len_field(4, $value) : '');
}
sub insert_of { return var_field(1, 1) . len_field(3, join '', map { len_field(1, $_) } @_); }
sub v_int  { return var_field(2, zz($_[0])); }
sub v_text { return len_field(6, $_[0]); }
sub v_json { return len_field(15, $_[0]); }
sub v_jsonb { return len_field(16, $_[0]); }
sub v_record { return len_field(19, join '', map { len_field(1, $_) } @_); }
sub v_array
{
	my ($dims, $lbs, @elems) = @_;
	my $a = '';
	$a .= len_field(1, join '', map { varint($_) } @$dims) if @$dims;
	$a .= len_field(2, join '', map { varint(zz($_)) } @$lbs) if $lbs && @$lbs;
	$a .= join '', map { len_field(3, $_) } @elems;
	return len_field(18, $a);
}

my @huge = (2**31 - 1, 2**32, 2**63 - 1, 200000000, 65536, 1 << 20);
my @dims = (0, 0, 1, 2, 3, 7, 65535, 65536, 1 << 20, 200000000, 2**31 - 1);
my @bounds = (1, 1, 0, -1, 5, -2**31, 2**31 - 1, 2**31 - 2);
my @odd_json = (
	'"\u0000"', '{"\u0000":1}', '{"a":"\ud800"}', '"\udc00"', '"\ud83d\u0041"',
	'1e999999', '1e131072', '0.0e-16383', '-0', '[1,', '{"a":}', '', ' ', 'nul', 'NaN',
	'"\u00e9\ud83d\ude00"', '{"k":[1,{"z":null}]}', '[[]]', 'null', '1e-16383', "\"a\x01\"",
	"\"\x00\"", '"\\u12"', '[' x 7000 . ']' x 7000, '{"a":' x 3000 . '1' . '}' x 3000,
	'[' x 20000, '1' x 200000, '0.' . '0' x 20000 . '1');

sub json_value
{
	my $j = pick(@odd_json);
	$j = substr($j, 0, rnd(length($j) + 1)) if rnd(4) == 0;
	return rnd(2) ? v_json($j) : v_jsonb($j);
}

sub nested
{
	my ($depth) = @_;
	my $v = v_int(7);
	for (1 .. $depth)
	{
		$v = rnd(3) ? v_array([1], [pick(@bounds)], $v) : v_record(column('f', $v));
	}
	return $v;
}

sub utf8_junk
{
	return pick("\xff", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80",
		"ok\xc3\xa9", "\x01\x1f", "\x00", "a\x00b", "\xef\xbf\xbf");
}

sub generate
{
	my $kind = rnd(6);
	if ($kind == 0)    # huge and empty dims, odd bounds
	{
		my $nd = 1 + rnd(7);
		my @d = map { pick(@dims) } 1 .. $nd;
		my @lb = map { pick(@bounds) } 1 .. (rnd(4) ? $nd : rnd(8));
		my @e = map { rnd(2) ? v_int(rnd(100)) : '' } 1 .. rnd(4);
		# half of them empty, as they must be with a 0 among the dims
		($d[ rnd($nd) ], @e) = (0) if rnd(2);
		return insert_of(column('a', v_array(\@d, \@lb, @e)));
	}
	if ($kind == 1)    # deep nesting, past every limit at times
	{
		return insert_of(column('deep', nested(pick(10, 50, 63, 64, 65, 99, 100, 101, 500, 3000))));
	}
	if ($kind == 2)    # json and jsonb that jsonb may refuse, alone and in arrays
	{
		my @e = map { json_value() } 1 .. 1 + rnd(3);
		return insert_of(column('j', $e[0]),
			column('aj', v_array([ scalar @e ], [ pick(@bounds) ], @e)));
	}
	if ($kind == 3)    # strings with invalid UTF-8 or NUL bytes
	{
		my $s = 'x' x rnd(5) . utf8_junk() . 'y' x rnd(5);
		return rnd(2)
		  ? insert_of(column('t', v_text($s)))
		  : insert_of(column($s, v_int(1)));
	}
	if ($kind == 4)    # long values: control characters expand 6 times
	{
		return insert_of(column('t', v_text("\x01" x (1 << (10 + rnd(10))))));
	}
	# arrays of every kind with lower bounds other than 1
	my @e = (v_int(-5), v_text(''), v_text('NULL'), v_text('a "b" {c},\\'), '',
		var_field(3, 0), len_field(7, "\x00\xff"), var_field(8, zz(-719163)),
		len_field(14, "\x11" x 16), v_record(column('x', v_int(1)), column('y')),
		var_field(9, rnd(2) ? 86400000000 : 86400000001));
	my @pick = map { pick(@e) } 1 .. 1 + rnd(5);
	return insert_of(column('a', v_array([ scalar @pick ], [ pick(@bounds) ], @pick)));
}

sub mutate
{
	my ($b) = @_;
	for (1 .. 1 + rnd(3))
	{
		my $len = length $b;
		my $pos = $len ? rnd($len) : 0;
		my $op = rnd(8);
		if ($op == 0 && $len)    # flip bits
		{
			substr($b, $pos, 1) = chr(ord(substr($b, $pos, 1)) ^ (1 << rnd(8)));
		}
		elsif ($op == 1)    # truncate
		{
			$b = substr($b, 0, $pos);
		}
		elsif ($op == 2)    # a field with a huge length, or a huge varint
		{
			my $n = pick(@huge);
			substr($b, $pos, 0) =
			  rnd(2)
			  ? chr(pick(0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x42, 0x4a, 0x0d)) . varint($n)
			  : "\xff" x 9 . "\x01";
		}
		elsif ($op == 3 && $len)    # a special byte
		{
			substr($b, $pos, 1) = chr(pick(0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a));
		}
		elsif ($op == 4 && $len)    # splice a chunk of another seed in
		{
			my $other = pick(@seeds);
			substr($b, $pos, rnd(8)) = substr($other, rnd(length $other), 1 + rnd(32));
		}
		elsif ($op == 5)    # invalid UTF-8 where printable text was
		{
			if ($b =~ /[a-z]{3,}/g)
			{
				my $at = pos($b) - 2;
				my $junk = utf8_junk();
				substr($b, $at, length $junk) = $junk if $at + length $junk <= length $b;
			}
		}
		elsif ($op == 6)    # a whole valid envelope appended (protobuf merges)
		{
			$b .= pick(@seeds);
		}
		elsif ($len)    # delete a run
		{
			substr($b, $pos, 1 + rnd(4)) = '';
		}
	}
	return $b;
}

my @cases = @seeds;
for my $seed (@seeds)
{
	push @cases, mutate($seed) for 1 .. $cases_per_seed_mutated;
}
push @cases, generate() for 1 .. $generated;
my $ncases = scalar @cases;

# ---- one session: load the cases, call to_json on each, read the peak RSS ----
my $pm_start = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $script = qq{
SET client_min_messages = warning;
CREATE TABLE fuzz_input (id int PRIMARY KEY, data bytea);
CREATE TABLE fuzz_result (id int PRIMARY KEY, sqlstate text, message text);
COPY fuzz_input FROM STDIN;
};
my $id = 0;
$script .= join('', map { ++$id . "\t\\\\x" . unpack('H*', $_) . "\n" } @cases) . "\\.\n";
$script .= q{
CREATE FUNCTION pg_temp.try(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM cdc_plugin.to_json(data) FROM fuzz_input WHERE id = n;
  INSERT INTO fuzz_result VALUES (n, 'ok', NULL);
EXCEPTION WHEN OTHERS THEN
  INSERT INTO fuzz_result VALUES (n, SQLSTATE, SQLERRM);
END
$$;
};
$script .= "SET statement_timeout = '$timeout';\n";
$script .= "SELECT pg_temp.try($_);\n" for 1 .. $ncases;
$script .= q{
RESET statement_timeout;
SELECT 'hwm ' || (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                               'VmHWM:\s+(\d+) kB'))[1];
};
my ($stdout, $stderr);
my $ret = $node->psql('postgres', $script,
	stdout => \$stdout, stderr => \$stderr, on_error_stop => 0);

is($ret, 0, 'the fuzzing session ran to its end');
unlike($stderr, qr/server closed the connection|connection to server was lost|terminating connection/,
	'the session kept its connection');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $pm_start,
	'the postmaster never restarted');
my $cancelled = () = $stderr =~ /canceling statement due to statement timeout/g;
is($cancelled, 0, "no call ran into the statement timeout ($timeout)");

is($node->safe_psql('postgres', 'SELECT count(*) FROM fuzz_result'), $ncases,
	"every one of the $ncases calls answered");
is( $node->safe_psql('postgres', q{
		SELECT string_agg(id || ': ' || sqlstate || ' ' || message, E'\n' ORDER BY id)
		  FROM fuzz_result
		 WHERE NOT (sqlstate = 'ok'
		            OR (sqlstate = '22P03' AND message LIKE 'invalid envelope: %')
		            OR (sqlstate = '54000' AND message LIKE 'the JSON rendering of this %'))}),
	'', 'every error is "invalid envelope" (22P03) or "too large" (54000)');
is( $node->safe_psql('postgres', sprintf(q{
		SELECT count(*) FROM fuzz_result WHERE id <= %d AND sqlstate <> 'ok'}, scalar @seeds)),
	'0', 'the seed envelopes all render');
my ($ok, $invalid) = split /\|/, $node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE sqlstate = 'ok'), count(*) FILTER (WHERE sqlstate = '22P03')
	  FROM fuzz_result});
cmp_ok($ok, '>', $ncases / 10, "many cases render ($ok)");
cmp_ok($invalid, '>', $ncases / 10, "many cases are invalid ($invalid)");

note($node->safe_psql('postgres', q{
	SELECT string_agg(n || ' ' || m, E'\n' ORDER BY n DESC, m)
	  FROM (SELECT count(*) AS n, sqlstate || ' ' || left(regexp_replace(coalesce(message, ''),
	                 '[0-9]+', 'N', 'g'), 60) AS m
	          FROM fuzz_result GROUP BY 2) s}));

my ($hwm) = $stdout =~ /^hwm (\d+)$/m;
ok(defined $hwm && $hwm < $max_hwm_kb,
	'peak resident size of the backend stays below ' . ($max_hwm_kb / 1024) . ' MB ('
	  . (defined $hwm ? int($hwm / 1024) . ' MB' : 'not read') . ')');

$node->stop;
note(sprintf('%d cases in %.1f s', $ncases, time - $started));
done_testing();
