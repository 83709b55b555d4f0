#!/bin/bash
# selftest.sh — checks cdc_mock_broker and cdc_kafka_consume without
# PostgreSQL: starts a mock cluster, publishes crafted envelopes (one topic
# prefix per scenario, each with one kind of fault), consumes them back and
# checks that verify finds exactly that fault; checks that
# tools/gap_consumer.py rebuilds the tables of a stream with a gap; checks
# message headers (produce's 5th column, consume's json member and tsv
# --headers column, a round trip through both); then checks the broker's
# control commands (topic, down/up, rtt, produce-errors)
# take effect.
#
#   make kafka-tools && bash tools/kafka/selftest.sh
#
# Needs kcat, protoc and python3-protobuf (/usr/bin/python3). Exits non-zero
# if any check fails. Prints one line per check.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
broker_bin=$here/cdc_mock_broker
tool=$here/cdc_kafka_consume
python=/usr/bin/python3

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

for f in "$broker_bin" "$tool"; do
	[ -x "$f" ] || { echo "selftest: $f not built (run: make kafka-tools)" >&2; exit 2; }
done
command -v kcat >/dev/null || { echo "selftest: kcat not found" >&2; exit 2; }

work=$(mktemp -d /tmp/cdc_kafka_selftest.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$failed" -eq 0 ]; then rm -rf "$work"; else echo "selftest: files kept in $work" >&2; fi
}
trap cleanup EXIT

# ---- test data ----
mkdir -p "$work/pb2" "$work/data"
protoc -I"$root/src/proto" --python_out="$work/pb2" "$root/src/proto/cdc/v1/envelope.proto" ||
	{ echo "selftest: protoc failed" >&2; exit 2; }
"$python" "$here/selftest_data.py" "$work/pb2" "$work/data" ||
	{ echo "selftest: generating test data failed" >&2; exit 2; }

# ---- broker, with a control channel ----
coproc BROKER { exec "$broker_bin" --brokers 3 --partitions 3 --port-file "$work/port" 2>"$work/broker.err"; }
broker_pid=$BROKER_PID
pids+=("$broker_pid")
exec {to_broker}>&"${BROKER[1]}" {from_broker}<&"${BROKER[0]}"

read -r -t 10 first <&"$from_broker" || { echo "selftest: broker did not start" >&2; exit 1; }
bootstrap=${first#bootstrap=}
check "broker prints bootstrap=host:port,... (3 brokers)" \
	bash -c '[[ "$1" =~ ^bootstrap=127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]]' _ "$first"
check "port file holds the bootstrap string" bash -c '[ "$(cat "$1")" = "$2" ]' _ "$work/port" "$bootstrap"

# Sends one command; the reply goes to $reply.
cmd() {
	reply=
	echo "$*" >&"$to_broker"
	read -r -t 10 reply <&"$from_broker" || reply="(no reply)"
}
# Sends one command and checks the reply is exactly "ok".
cmd_ok() { cmd "$@"; check "command '$*' -> ok" [ "$reply" = ok ]; }

cmd_ok ping
cmd_ok help
cmd bogus
check "unknown command -> error: ..." bash -c '[[ "$1" == "error: "* ]]' _ "$reply"
cmd produce-errors 1 NO_SUCH_ERROR
check "unknown error name -> error: ..." bash -c '[[ "$1" == "error: "* ]]' _ "$reply"
cmd down 7
check "unknown broker -> error: ..." bash -c '[[ "$1" == "error: "* ]]' _ "$reply"
cmd_ok topic fixed.two 2
cmd topic fixed.two 2
check "creating an existing topic -> error: ..." bash -c '[[ "$1" == "error: "* ]]' _ "$reply"

partitions_of() { kcat -L -b "$bootstrap" -t "$1" 2>/dev/null | sed -n 's/.*topic "[^"]*" with \([0-9]*\) partitions.*/\1/p'; }
check "topic command created 2 partitions" [ "$(partitions_of fixed.two)" = 2 ]
advertised=$(kcat -L -b "$bootstrap" -t fixed.two 2>/dev/null | sed -n 's/^ *broker [0-9]* at \(.*\)$/\1/p' | sort | paste -sd,)
check "metadata advertises the bootstrap (proxy) addresses" [ "$advertised" = "$(tr , '\n' <<<"$bootstrap" | sort | paste -sd,)" ]

# ---- scenarios ----
# The clean scenario's consumer and verifier start before anything exists,
# so they must pick up topics created later and wait for the data.
"$tool" consume --brokers "$bootstrap" --topic-prefix st_clean --format tsv \
	--output "$work/st_clean.tsv" --idle-exit 20000 \
	--max-messages "$(awk '$1=="st_clean"{print $2}' "$work/data/counts")" 2>"$work/st_clean.consume.err" &
clean_consumer=$!
pids+=("$clean_consumer")
"$tool" verify --consumed "$work/st_clean.tsv" --reference "$work/data/st_clean.ref" \
	--topic-prefix st_clean --wait 30 --final-state "$work/st_clean.final" \
	>"$work/st_clean.verify" 2>"$work/st_clean.verify.err" &
clean_verifier=$!
pids+=("$clean_verifier")
"$tool" consume --brokers "$bootstrap" --topic-prefix st_clean --format json \
	--output "$work/st_clean.json" --idle-exit 20000 \
	--max-messages "$(awk '$1=="st_clean"{print $2}' "$work/data/counts")" 2>/dev/null &
json_consumer=$!
pids+=("$json_consumer")
sleep 1

while read -r name _; do
	"$tool" produce --brokers "$bootstrap" --input "$work/data/$name.produce" 2>"$work/$name.produce.err" ||
		fail "producing $name: $(tail -1 "$work/$name.produce.err")"
done <"$work/data/counts"
check "auto-created topics have --partitions (3) partitions" [ "$(partitions_of st_clean.public.orders)" = 3 ]

while read -r name count; do
	[ "$name" = st_clean ] && continue
	"$tool" consume --brokers "$bootstrap" --topic-prefix "$name" --format tsv \
		--output "$work/$name.tsv" --idle-exit 2000 --max-messages "$count" 2>/dev/null &
	pids+=($!)
	# the stream with a gap also as JSON, for tools/gap_consumer.py
	[ "$name" = st_gap ] || continue
	"$tool" consume --brokers "$bootstrap" --topic-prefix "$name" --format json \
		--output "$work/$name.json" --idle-exit 2000 --max-messages "$count" 2>/dev/null &
	pids+=($!)
done <"$work/data/counts"
wait "$clean_consumer"
check "consumer picked up topics created after it started" [ $? -eq 0 ]
wait "$clean_verifier"
check "verify --wait on a growing file passes the clean run" [ $? -eq 0 ]
check "clean run summary" grep -q 'reference=10 consumed=11 unique=10 duplicates=0 tombstones=1 missing=0 mismatched=0 phantom=0 misrouted=0 out_of_order=0 snapshot_rows=0 markers=0 bad_markers=0 gaps=0 bad_gaps=0 schemas=0 bad_schemas=0 heartbeats=0 bad_heartbeats=0 -> OK$' "$work/st_clean.verify"
check "final state: id 1, 30 and 4, nothing else" cmp -s <(sort "$work/st_clean.final") <(sort "$work/data/st_clean.final")
wait "$json_consumer"

# JSON output: the key is the rendered Row; tombstones have value null.
check "json output: keys, values and tombstones rendered" "$python" - "$work/st_clean.json" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 11, len(lines)
for l in lines:
    assert set(l) == {"topic", "partition", "offset", "key", "value"}, l
    if l["value"] is None:
        assert l["key"] == {"id": 2}, l                   # the tombstone
        continue
    v = l["value"]
    assert l["topic"].startswith("st_clean."), l
    assert l["key"] == v.get("key"), l                    # Kafka key == envelope key
    if v["op"] in ("c", "u") and l["key"] is not None:
        assert l["key"] == {"id": v["after"]["id"]}, l
ops = sorted(l["value"]["op"] for l in lines if l["value"])
assert ops == sorted(["c", "c", "c", "u", "d", "c", "u", "c", "t", "m"]), ops
EOF

# Every scenario: verify's exit code and counters as expected.
wait_for_consumers() { for p in "${pids[@]}"; do [ "$p" = "$broker_pid" ] || wait "$p" 2>/dev/null; done; }
wait_for_consumers
while read -r line; do
	name=${line%% *}
	rest=${line#* }
	want_exit=${rest%% *}
	rest=${rest#* }
	opts=${rest%% -- *}
	counters=${rest#* -- }
	[ "$name" = st_clean ] && continue
	# a scenario with a .final file also checks the final state verify writes;
	# one without a .ref file is verified without a reference
	final=()
	[ -e "$work/data/$name.final" ] && final=(--final-state "$work/$name.final")
	reference=()
	[ -e "$work/data/$name.ref" ] && reference=(--reference "$work/data/$name.ref")
	# shellcheck disable=SC2086
	out=$("$tool" verify --consumed "$work/$name.tsv" "${reference[@]}" \
		--topic-prefix "$name" $opts "${final[@]}" 2>"$work/$name.verify.err")
	got_exit=$?
	ok=1
	[ "$got_exit" = "$want_exit" ] || ok=0
	for kv in $counters; do
		[[ " $out " == *" $kv "* ]] || ok=0
	done
	[[ "$out" == *" -> OK" || "$out" == *" -> FAIL" ]] || ok=0
	if [ ${#final[@]} -gt 0 ] && ! cmp -s <(sort "$work/$name.final") <(sort "$work/data/$name.final"); then
		ok=0
		out+=" (final state differs: $work/$name.final)"
	fi
	if [ $ok = 1 ]; then
		pass "verify $name: exit $want_exit, $counters${final:+, final state}"
	else
		fail "verify $name: want exit $want_exit and $counters; got exit $got_exit: $out"
		sed 's/^/    /' "$work/$name.verify.err"
	fi
done <"$work/data/expect"
check "failure examples are printed on stderr" grep -q '^verify: out_of_order: .*does not follow a delete' "$work/st_tomb.verify.err"
check "snapshot examples are printed on stderr" \
	grep -q '^verify: bad_markers: .*no snapshot_begin on partition 2 of 3' "$work/st_snap_nobegin.verify.err"
check "an r event out of order is explained" \
	grep -q '^verify: out_of_order: .*op=r .*(an r event is at (commit_lsn, 0))' "$work/st_snap_order.verify.err"
check "gap examples are printed on stderr" \
	grep -q '^verify: bad_gaps: st_gap_nocopy.public.items gap_id=1: no copy on partition 2 of 3' "$work/st_gap_nocopy.verify.err"
check "a re-snapshot that never began is explained" \
	grep -q '^verify: bad_gaps: .*no snapshot_begin of snapshot_id=9 after the gap .*it never began' "$work/st_gap_nosnap.verify.err"
check "an event of the new slot before the gap is explained" \
	grep -q '^verify: bad_gaps: .*op=gap .*comes after .*which the new slot published' "$work/st_gap_early.verify.err"
check "a row before its schema event is explained" \
	grep -q '^verify: bad_schemas: .*op=c .*has schema_version 1 but no schema event of its table with that version precedes it' "$work/st_schema_early.verify.err"
check "a column its version does not have is explained" \
	grep -q '^verify: bad_schemas: .*has a column "zzz" that version 2 of its table' "$work/st_schema_column.verify.err"

# tools/gap_consumer.py rebuilds the tables of the stream with a gap:
# rows deleted in the gap dropped at the re-snapshot's end, a table
# without resnapshot kept, a truncated table empty (no PostgreSQL needed)
"$python" "$root/tools/gap_consumer.py" "$work/st_gap.json" >"$work/st_gap.rows" 2>"$work/st_gap.rows.err"
check "gap_consumer.py exits 0" [ $? -eq 0 ]
check "gap_consumer.py rebuilds the tables of a stream with a gap" \
	cmp -s <("$python" -c 'import json, sys
for l in sys.stdin: print(json.dumps(json.loads(l), sort_keys=True))' <"$work/st_gap.rows" | sort) \
	<(sort "$work/data/st_gap.rows")
"$python" "$root/tools/gap_consumer.py" <"$work/st_gap.json" >"$work/st_gap.stdin.rows" 2>/dev/null
check "gap_consumer.py reads stdin too" cmp -s "$work/st_gap.rows" "$work/st_gap.stdin.rows"
# without the gap's copies the deleted rows would stay: the check can fail
grep -v '"op":"gap"' "$work/st_gap.json" | "$python" "$root/tools/gap_consumer.py" >"$work/st_gap.nogap.rows" 2>/dev/null
check "gap_consumer.py without the gaps keeps the rows deleted in the gap" \
	bash -c '[ "$(grep -c "" "$1")" -eq 9 ]' _ "$work/st_gap.nogap.rows"

# --wait with --snapshots-complete: a complete snapshot ends the wait at
# once, a running one waits for its ends until the time is up
start=$(date +%s%N)
"$tool" verify --consumed "$work/st_snap.tsv" --reference "$work/data/st_snap.ref" \
	--topic-prefix st_snap --snapshots-complete --wait 20 >/dev/null 2>&1
check "--snapshots-complete --wait: a complete snapshot passes without waiting" \
	bash -c '[ $1 -eq 0 ] && [ $(( ($(date +%s%N) - $2) / 1000000 )) -lt 10000 ]' _ $? "$start"
start=$(date +%s%N)
"$tool" verify --consumed "$work/st_snap_running.tsv" --reference "$work/data/st_snap_running.ref" \
	--topic-prefix st_snap_running --snapshots-complete --wait 2 >/dev/null 2>&1
check "--snapshots-complete --wait: a running snapshot is waited for, then fails" \
	bash -c '[ $1 -eq 1 ] && [ $(( ($(date +%s%N) - $2) / 1000000 )) -ge 1900 ]' _ $? "$start"

# A half-written last line is ignored; usage and I/O errors exit 2.
# (a consumer may read a message twice: keep each line once, so that the
# cut line is the only copy of its change; tombstones are left out, which
# the verifier allows, so that the cut line is a change, not a tombstone)
awk '!seen[$0]++' "$work/st_clean.tsv" | grep -vP '\t\\N$' | head -c -7 >"$work/partial.tsv"
"$tool" verify --consumed "$work/partial.tsv" --reference "$work/data/st_clean.ref" --topic-prefix st_clean >"$work/partial.out" 2>/dev/null
check "half-written last line ignored (its change counts as missing)" bash -c '[ $1 -eq 1 ] && grep -q "missing=1 " "$2"' _ $? "$work/partial.out"
"$tool" verify --consumed "$work/st_clean.tsv" --reference "$work/data/st_clean.ref" >/dev/null 2>&1
check "verify without --topic-prefix exits 2" [ $? -eq 2 ]
"$tool" verify --consumed "$work/nonexistent.tsv" --reference "$work/data/st_clean.ref" --topic-prefix st_clean >/dev/null 2>&1
check "verify with a missing consumed file exits 2" [ $? -eq 2 ]

# ---- message headers: produce's 5th column, consume --format json and tsv --headers ----
# (partition 0 of one topic, so the order is known; hdr_copy is a round trip:
# consume's tsv --headers output, without its offset column, produced again)
cmd_ok topic hdr.t 1
cmd_ok topic hdr_copy.t 1
"$python" - "$work/hdr.in" <<'EOF'
import json, sys
# the JSON text of a header list, escaped for COPY text format
def copy_text(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
def hdrs(h):
    return copy_text(json.dumps(h, ensure_ascii=False))
lines = [
    ["\\x6b31", "\\x7631", hdrs([["trace-id", "abc"], ["bin", {"base64": "AP8J"}], ["nullv", None],
                                 ["empty", ""], ["dup", "1"], ["dup", "2"],
                                 ["text", "tab\there \"quoted\" back\\slash\nnewline caf\u00e9 \U0001F600"]])],
    ["\\N", "\\x7632"],                 # no 5th column
    ["\\N", "\\x7633", "\\N"],          # \N: none
    ["\\N", "\\x7634", "[]"],           # []: none
    ["\\N", "\\N", hdrs([[{"base64": "/w=="}, {"base64": "ww=="}]])],  # not UTF-8: base64
]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for l in lines:
        f.write("\t".join(["hdr.t", "0"] + l) + "\n")
EOF
"$tool" produce --brokers "$bootstrap" --input "$work/hdr.in" 2>"$work/hdr.produce.err"
check "headers: produce's 5th column gives a message its headers" [ $? -eq 0 ]
for how in json tsv tsvh; do
	opts=(--format "${how:0:4}")
	[ "$how" = tsvh ] && opts=(--format tsv --headers)
	"$tool" consume --brokers "$bootstrap" --topic-prefix hdr "${opts[@]}" \
		--output "$work/hdr.$how" --idle-exit 10000 --max-messages 5 2>/dev/null
done
check "headers: consume --format json shows them in order, no member when there are none" \
	"$python" - "$work/hdr.json" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(lines) == 5, lines
assert [l["offset"] for l in lines] == [0, 1, 2, 3, 4], lines
assert lines[0]["headers"] == [["trace-id", "abc"], ["bin", {"base64": "AP8J"}], ["nullv", None],
                               ["empty", ""], ["dup", "1"], ["dup", "2"],
                               ["text", "tab\there \"quoted\" back\\slash\nnewline caf\u00e9 \U0001F600"]], lines[0]
for l in lines[1:4]:
    assert "headers" not in l, l
assert lines[4]["headers"] == [[{"base64": "/w=="}, {"base64": "ww=="}]], lines[4]
assert lines[4]["value"] is None and lines[4]["key"] is None, lines[4]
EOF
check "headers: consume --format tsv --headers adds them as a 6th column (COPY text), \\N for none" \
	"$python" - "$work/hdr.tsvh" "$work/hdr.json" <<'EOF'
import json, re, sys
def uncopy(s):
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), s)
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8")]
js = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert len(rows) == 5 and all(len(r) == 6 for r in rows), rows
for r, j in zip(rows, js):
    if "headers" in j:
        assert json.loads(uncopy(r[5])) == j["headers"], (r, j)
    else:
        assert r[5] == "\\N", r
EOF
check "headers: consume --format tsv without --headers is unchanged (5 columns)" \
	bash -c 'cmp -s "$1" <(cut -f1-5 "$2") && ! grep -qP "^([^\t]*\t){5}" "$1"' _ "$work/hdr.tsv" "$work/hdr.tsvh"
# round trip: what tsv --headers printed, produced again, reads back the same
awk -F'\t' -v OFS='\t' '{print "hdr_copy.t", $2, $4, $5, $6}' "$work/hdr.tsvh" >"$work/hdr_copy.in"
"$tool" produce --brokers "$bootstrap" --input "$work/hdr_copy.in" 2>/dev/null
check "headers: produce takes what consume --format tsv --headers wrote" [ $? -eq 0 ]
"$tool" consume --brokers "$bootstrap" --topic-prefix hdr_copy --format json \
	--output "$work/hdr_copy.json" --idle-exit 10000 --max-messages 5 2>/dev/null
check "headers: the round trip keeps every header" \
	cmp -s <(sed 's/^{"topic":"hdr_copy\.t"/{"topic":"hdr.t"/' "$work/hdr_copy.json") "$work/hdr.json"
printf 'hdr.t\t0\t\\N\t\\N\t[["no-value"]]\n' >"$work/hdr_bad.in"
"$tool" produce --brokers "$bootstrap" --input "$work/hdr_bad.in" 2>"$work/hdr_bad.err"
check "headers: a malformed header list is an input error (exit 2, saying where)" \
	bash -c '[ $1 -eq 2 ] && grep -q "expected .,. at character 13 of the headers" "$2"' _ $? "$work/hdr_bad.err"

# ---- broker controls take effect ----
one_message() { printf '%s\t-1\t\\N\t\\x%s\n' "$1" "$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')"; }

# down all: a producer cannot deliver until up all
cmd_ok down all
one_message ctl.down during-down >"$work/down.in"
"$tool" produce --brokers "$bootstrap" --input "$work/down.in" --timeout-ms 30000 2>"$work/down.err" &
down_producer=$!
pids+=("$down_producer")
sleep 3
check "while all brokers are down, the producer has not finished" kill -0 "$down_producer"
cmd_ok up all
wait "$down_producer"
check "after up all, the producer delivers" [ $? -eq 0 ]
check "the message produced during down is there" \
	bash -c '[ "$(kcat -C -b "$1" -t ctl.down -e -q -f "%s\n" 2>/dev/null)" = during-down ]' _ "$bootstrap"

# kcat producing during down all does not complete until up all
cmd_ok down all
printf 'via-kcat\n' | timeout 30 kcat -P -b "$bootstrap" -t ctl.kcat 2>/dev/null &
kcat_producer=$!
pids+=("$kcat_producer")
sleep 3
check "kcat -P does not complete while all brokers are down" kill -0 "$kcat_producer"
cmd_ok up all
wait "$kcat_producer"
check "kcat -P completes after up all" [ $? -eq 0 ]

# down of one broker: its connections are dropped, the others keep working
cmd_ok down 2
cmd_ok up 2

# rtt: every response is delayed
one_message ctl.rtt slow >"$work/rtt.in"
"$tool" produce --brokers "$bootstrap" --input "$work/rtt.in" 2>/dev/null # topic exists
cmd_ok rtt all 700
start=$(date +%s%N)
"$tool" produce --brokers "$bootstrap" --input "$work/rtt.in" 2>/dev/null
slow_ms=$((($(date +%s%N) - start) / 1000000))
cmd_ok rtt all 0
fast_ms=999999
for _ in 1 2; do # the faster of two, so a stall of a busy machine does not count
	start=$(date +%s%N)
	"$tool" produce --brokers "$bootstrap" --input "$work/rtt.in" 2>/dev/null
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -lt "$fast_ms" ] && fast_ms=$ms
done
# a new producer waits for at least 3 responses (ApiVersion, Metadata, Produce)
check "rtt 700 ms slows a produce down (${slow_ms} ms with, ${fast_ms} ms without)" \
	test "$slow_ms" -ge 2000 -a "$((fast_ms * 2))" -lt "$slow_ms"

# produce-errors: without retries the injected error is the delivery result
no_retry=(-X message.send.max.retries=0 -X retry.backoff.ms=10)
one_message ctl.err x >"$work/err.in"
"$tool" produce --brokers "$bootstrap" --input "$work/err.in" 2>/dev/null # topic exists
cmd_ok produce-errors 2 NOT_ENOUGH_REPLICAS
"$tool" produce --brokers "$bootstrap" --input "$work/err.in" "${no_retry[@]}" 2>"$work/err1.err"
check "produce-errors: delivery fails with NOT_ENOUGH_REPLICAS" \
	bash -c '[ $1 -eq 1 ] && grep -q NOT_ENOUGH_REPLICAS "$2"' _ $? "$work/err1.err"
"$tool" produce --brokers "$bootstrap" --input "$work/err.in" 2>"$work/err2.err"
check "produce-errors: with retries the producer gets through" [ $? -eq 0 ]
cmd_ok produce-errors 3 REQUEST_TIMED_OUT
cmd_ok clear-errors
"$tool" produce --brokers "$bootstrap" --input "$work/err.in" "${no_retry[@]}" 2>"$work/err3.err"
check "clear-errors: delivery succeeds again" [ $? -eq 0 ]
cmd_ok produce-errors 1 19
"$tool" produce --brokers "$bootstrap" --input "$work/err.in" "${no_retry[@]}" 2>"$work/err4.err"
check "produce-errors by number (19): NOT_ENOUGH_REPLICAS" \
	bash -c '[ $1 -eq 1 ] && grep -q NOT_ENOUGH_REPLICAS "$2"' _ $? "$work/err4.err"

# quit: replies ok and exits 0, removing the port file
cmd_ok quit
wait "$broker_pid"
check "quit exits 0" [ $? -eq 0 ]
check "port file removed on exit" [ ! -e "$work/port" ]

# ---- a broker with stdin at EOF keeps running until SIGTERM ----
"$broker_bin" --port-file "$work/port2" </dev/null >"$work/broker2.out" 2>"$work/broker2.err" &
broker2=$!
pids+=("$broker2")
for _ in $(seq 50); do [ -s "$work/port2" ] && break; sleep 0.1; done
sleep 1
check "stdin at EOF: still running" kill -0 "$broker2"
check "stdin at EOF: serves metadata" bash -c 'kcat -L -b "$(cat "$1")" >/dev/null 2>&1' _ "$work/port2"
kill -TERM "$broker2"
wait "$broker2"
check "SIGTERM exits 0" [ $? -eq 0 ]
check "stdout is exactly one bootstrap line" bash -c '[ "$(wc -l <"$1")" = 1 ] && grep -q "^bootstrap=" "$1"' _ "$work/broker2.out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
