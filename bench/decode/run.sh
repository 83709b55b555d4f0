#!/usr/bin/env bash
# Logical decoding throughput benchmark: cdc_plugin against its peers
# (pgoutput, test_decoding, wal2json, decoderbufs) on one identical WAL.
#
#   bench/decode/run.sh                 # RUNS=3 by default
#   RUNS=5 bench/decode/run.sh
#
# Environment:
#   RUNS        decode runs per plugin; the best (minimum) time is reported (3)
#   BENCH_PORT  port of the throwaway cluster (5499; unix socket only)
#   PG_BIN      PostgreSQL 15 bin dir (/usr/lib/postgresql/15/bin)
#   DECODE_TIMEOUT  statement_timeout of one decode run, seconds (300)
#
# Must run as root (the cluster itself runs as the 'postgres' OS user).
# Exit status: 0 when every installed plugin was measured (targets missed or
# not is only reported); 1 on setup failure; 3 when a plugin whose library is
# installed failed (extension, slot creation or decoding error) - the table is
# still printed with an ERROR row.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${RUNS:-3}
PORT=${BENCH_PORT:-5499}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DECODE_TIMEOUT=${DECODE_TIMEOUT:-300}
PG_USER=postgres
DB=bench

# The workload, in row changes (see workload.sql and single_insert.pgbench).
N_BULK_INSERTS=200000
N_UPDATES=100000
N_DELETES=40000
N_SINGLE_TXNS=10000
N_INSERTS=$((N_BULK_INSERTS + N_SINGLE_TXNS))
N_CHANGES=$((N_INSERTS + N_UPDATES + N_DELETES))   # 350,000

PLUGINS=(pgoutput test_decoding wal2json decoderbufs cdc_plugin)
declare -A BINARY=([pgoutput]=true [test_decoding]=false [wal2json]=false [decoderbufs]=true [cdc_plugin]=true)
declare -A OPTS=(
    [pgoutput]="ARRAY['proto_version','1','publication_names','bench_pub']"
    [test_decoding]="'{}'::text[]"
    [wal2json]="ARRAY['format-version','2']"
    [decoderbufs]="'{}'::text[]"
    [cdc_plugin]="'{}'::text[]"
)
# Per plugin: installed|missing|error, best time, output rows/bytes, message.
declare -A STATUS=() BEST=() ROWS=() BYTES=() ERRMSG=()

log() { printf '[decode-bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "SETUP FAILURE: $*"; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
[[ $DECODE_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "DECODE_TIMEOUT must be a positive integer (got '$DECODE_TIMEOUT')"
[[ $(id -u) -eq 0 ]] || die "run as root (the cluster is run as the '$PG_USER' OS user via runuser)"
id "$PG_USER" >/dev/null 2>&1 || die "OS user '$PG_USER' does not exist"
for f in initdb pg_ctl psql pgbench pg_config; do
    [[ -x $PG_BIN/$f ]] || die "$PG_BIN/$f not found (set PG_BIN)"
done
for f in schema.sql workload.sql single_insert.pgbench; do
    [[ -r $HERE/$f ]] || die "$HERE/$f is missing"
done
PKGLIBDIR=$("$PG_BIN/pg_config" --pkglibdir)
EXTDIR="$("$PG_BIN/pg_config" --sharedir)/extension"

# ---------------------------------------------------------------- cleanup
TMPD=""
SETUP_DONE=0
# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [[ -n $TMPD && -d $TMPD ]]; then
        if [[ $SETUP_DONE -eq 0 && $rc -ne 0 && $rc -ne 130 && $rc -ne 143 && -s $TMPD/server.log ]]; then
            log "last lines of the server log:"
            tail -n 20 "$TMPD/server.log" >&2
        fi
        if [[ -f $TMPD/data/postmaster.pid ]]; then
            log "stopping the cluster"
            if ! runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" \
                    -m fast -w -t 60 stop >/dev/null 2>&1; then
                local pid
                pid=$(head -n 1 "$TMPD/data/postmaster.pid" 2>/dev/null)
                [[ $pid =~ ^[0-9]+$ ]] && kill -9 "$pid" 2>/dev/null
            fi
        fi
        rm -rf "$TMPD"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# ---------------------------------------------------------------- helpers
psql_() {
    runuser -u "$PG_USER" -- "$PG_BIN/psql" -h "$TMPD" -p "$PORT" -d "$DB" \
        -X -q -v ON_ERROR_STOP=1 "$@"
}
# One value / row, unaligned, space separated.
q() { psql_ -At -F ' ' -c "$1"; }

# ---------------------------------------------------------------- plugins
for p in "${PLUGINS[@]}"; do
    if [[ -f $PKGLIBDIR/$p.so ]]; then
        STATUS[$p]=installed
    else
        STATUS[$p]=missing
        ERRMSG[$p]="$PKGLIBDIR/$p.so not found"
    fi
done
if [[ ${STATUS[cdc_plugin]} == missing ]]; then
    log "*** cdc_plugin is NOT INSTALLED ($PKGLIBDIR/cdc_plugin.so not found;"
    log "*** run 'make install' in the repo). Benchmarking the peers only."
fi
for p in pgoutput test_decoding wal2json decoderbufs; do
    [[ ${STATUS[$p]} == installed ]] || log "warning: peer $p is not installed (${ERRMSG[$p]})"
done

# ---------------------------------------------------------------- cluster
cd /   # the postgres user may not be able to read the caller's cwd
TMPD=$(mktemp -d /tmp/cdc-decode-bench.XXXXXX)
chown "$PG_USER": "$TMPD"
chmod 700 "$TMPD"
log "throwaway cluster in $TMPD (port $PORT, unix socket only)"

runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$TMPD/data" -U "$PG_USER" \
    --auth=trust --encoding=UTF8 --locale=C --no-sync >"$TMPD/initdb.log" 2>&1 \
    || { cat "$TMPD/initdb.log" >&2; die "initdb failed"; }

# Servers built with output_plugin_libraries only let replication users decode
# with listed plugins; servers without the setting would refuse to start with it.
PLUGIN_LIBS_CONF=""
SERVER_SETTINGS=$(runuser -u "$PG_USER" -- "$PG_BIN/postgres" --describe-config 2>/dev/null || true)
if grep -q "^output_plugin_libraries" <<<"$SERVER_SETTINGS"; then
    PLUGIN_LIBS_CONF="output_plugin_libraries = 'pgoutput, test_decoding, wal2json, decoderbufs, cdc_plugin'"
fi

cat >>"$TMPD/data/postgresql.conf" <<EOF

# ---- decode benchmark ----
port = $PORT
listen_addresses = ''
unix_socket_directories = '$TMPD'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
$PLUGIN_LIBS_CONF
fsync = off
synchronous_commit = off
shared_buffers = 256MB
max_wal_size = 4GB
autovacuum = off
# keep the decoded output's tuplestore in memory: measure decoding, not temp files
work_mem = 1GB
EOF

runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" -l "$TMPD/server.log" \
    -w -t 60 start >/dev/null || die "the cluster did not start"
runuser -u "$PG_USER" -- "$PG_BIN/psql" -h "$TMPD" -p "$PORT" -d postgres -X -q \
    -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" || die "CREATE DATABASE failed"
log "server: $(q 'SELECT version()')"

psql_ <"$HERE/schema.sql" || die "schema.sql failed"

# ---------------------------------------------------------------- slots
# CREATE EXTENSION first: its transaction must not sit in any slot's WAL
# (some plugins would emit an empty BEGIN/COMMIT pair for it).
if [[ ${STATUS[cdc_plugin]} == installed ]]; then
    if [[ -f $EXTDIR/cdc_plugin.control ]]; then
        if err=$(psql_ -c 'CREATE EXTENSION cdc_plugin' 2>&1); then
            log "created extension cdc_plugin ($(q "SELECT extversion FROM pg_extension WHERE extname = 'cdc_plugin'"))"
        else
            STATUS[cdc_plugin]=error; ERRMSG[cdc_plugin]="CREATE EXTENSION cdc_plugin: $err"
            log "cdc_plugin: ${ERRMSG[cdc_plugin]}"
        fi
    else
        log "note: no cdc_plugin.control in $EXTDIR; skipping CREATE EXTENSION"
    fi
fi
# All slots exist before the workload, so they all retain the same WAL.
for p in "${PLUGINS[@]}"; do
    [[ ${STATUS[$p]} == installed ]] || continue
    if ! err=$(psql_ -c "SELECT pg_create_logical_replication_slot('bench_$p', '$p')" 2>&1 >/dev/null); then
        STATUS[$p]=error; ERRMSG[$p]="slot creation: $err"
        log "$p: ${ERRMSG[$p]}"
        continue
    fi
    log "created slot bench_$p ($p)"
done
have_slot=0
for p in "${PLUGINS[@]}"; do [[ ${STATUS[$p]} == installed ]] && have_slot=1; done
[[ $have_slot -eq 1 ]] || die "no logical slot could be created"

# ---------------------------------------------------------------- workload
t0=$SECONDS
log "workload: 200 x 1,000-row INSERT, 100 x 1,000-row UPDATE, 40 x 1,000-row DELETE"
psql_ <"$HERE/workload.sql" >/dev/null || die "workload.sql failed"
log "workload: $N_SINGLE_TXNS single-row INSERT transactions (pgbench -c 1 -t $N_SINGLE_TXNS -n)"
install -o "$PG_USER" -m 0644 "$HERE/single_insert.pgbench" "$TMPD/single_insert.pgbench"
runuser -u "$PG_USER" -- "$PG_BIN/pgbench" -h "$TMPD" -p "$PORT" -n -c 1 \
    -t "$N_SINGLE_TXNS" -f "$TMPD/single_insert.pgbench" "$DB" >"$TMPD/pgbench.log" 2>&1 \
    || { cat "$TMPD/pgbench.log" >&2; die "pgbench failed"; }
grep -q "number of transactions actually processed: $N_SINGLE_TXNS/$N_SINGLE_TXNS" "$TMPD/pgbench.log" \
    || { cat "$TMPD/pgbench.log" >&2; die "pgbench did not run all $N_SINGLE_TXNS transactions"; }
log "workload done in $((SECONDS - t0)) s"

# The table must be in the state the numbers above imply.
read -r n_rows max_id <<<"$(q 'SELECT count(*), max(id) FROM bench_orders')"
expect_rows=$((N_INSERTS - N_DELETES))
[[ $n_rows == "$expect_rows" && $max_id == "$N_INSERTS" ]] \
    || die "table has $n_rows rows / max id $max_id, expected $expect_rows / $N_INSERTS"

# Fix the end of the WAL to decode, so every peek of every plugin decodes
# exactly the same transactions. With synchronous_commit = off the tail of
# the workload may not be flushed yet, and decoding only reads flushed WAL:
# wait for the WAL writer to catch up.
END_LSN=$(q 'SELECT pg_current_wal_insert_lsn()')
for ((i = 0; ; i++)); do
    [[ $(q "SELECT pg_current_wal_flush_lsn() >= '$END_LSN'") == t ]] && break
    ((i < 300)) || die "WAL was not flushed up to $END_LSN within 30 s"
    sleep 0.1
done
# Get dirty buffers written now rather than by a checkpoint during timing.
q 'CHECKPOINT' >/dev/null
ref_slot=""
for p in "${PLUGINS[@]}"; do [[ ${STATUS[$p]} == installed ]] && { ref_slot=bench_$p; break; }; done
wal_bytes=$(q "SELECT pg_wal_lsn_diff('$END_LSN', restart_lsn) FROM pg_replication_slots WHERE slot_name = '$ref_slot'")
log "WAL to decode: $((wal_bytes / 1024 / 1024)) MiB (up to $END_LSN)"

# Independent check of the change count, from test_decoding's text (untimed).
if [[ ${STATUS[test_decoding]} == installed ]]; then
    log "verifying the change count with test_decoding (untimed)"
    read -r c_ins c_upd c_del <<<"$(q "SELECT count(*) FILTER (WHERE data LIKE 'table public.bench_orders: INSERT:%'),
                                            count(*) FILTER (WHERE data LIKE 'table public.bench_orders: UPDATE:%'),
                                            count(*) FILTER (WHERE data LIKE 'table public.bench_orders: DELETE:%')
                                       FROM pg_logical_slot_peek_changes('bench_test_decoding', '$END_LSN', NULL)")"
    [[ $c_ins == "$N_INSERTS" && $c_upd == "$N_UPDATES" && $c_del == "$N_DELETES" ]] \
        || die "decoded $c_ins inserts / $c_upd updates / $c_del deletes, expected $N_INSERTS / $N_UPDATES / $N_DELETES"
    log "decoded changes: $c_ins inserts + $c_upd updates + $c_del deletes = $((c_ins + c_upd + c_del))"
fi
SETUP_DONE=1

# ---------------------------------------------------------------- decode
# The cluster is idle now: whatever keeps the CPUs busy for this second is
# someone else, and it will make the timings noisy.
read -r _ u1 n1 s1 i1 w1 _ </proc/stat
sleep 1
read -r _ u2 n2 s2 i2 w2 _ </proc/stat
busy=$(( (u2 + n2 + s2) - (u1 + n1 + s1) )) total=$(( (u2 + n2 + s2 + i2 + w2) - (u1 + n1 + s1 + i1 + w1) ))
if ((total > 0 && busy * 100 / total >= 20)); then
    log "warning: CPUs $((busy * 100 / total))% busy before timing (other processes): timings will be noisy"
fi
# Round-robin (run 1 of every plugin, then run 2, ...) so slow drift of the
# machine is spread over all plugins instead of hitting one.
for ((r = 1; r <= RUNS; r++)); do
    for p in "${PLUGINS[@]}"; do
        [[ ${STATUS[$p]} == installed ]] || continue
        # stderr apart: some plugins chat (decoderbufs sends INFO lines).
        if ! out=$(psql_ -At -F ' ' -c "SET statement_timeout = '${DECODE_TIMEOUT}s'" \
                -c "SELECT out_rows, out_bytes, secs FROM bench_decode('bench_$p', '$END_LSN', ${BINARY[$p]}, ${OPTS[$p]})" 2>"$TMPD/decode.err"); then
            STATUS[$p]=error; ERRMSG[$p]="decoding (run $r): $(grep -v '^INFO:' "$TMPD/decode.err" | head -n 5)"
            log "$p: ${ERRMSG[$p]}"
            continue
        fi
        rows="" bytes="" secs=""
        read -r rows bytes secs <<<"$out"
        if ! [[ $rows =~ ^[0-9]+$ && $bytes =~ ^[0-9]+$ && $secs =~ ^[0-9.e+-]+$ ]]; then
            STATUS[$p]=error; ERRMSG[$p]="decoding (run $r): unexpected result '$out'"
            log "$p: ${ERRMSG[$p]}"
            continue
        fi
        log "run $r/$RUNS $(printf '%-13s' "$p") ${secs} s  ${rows} rows  ${bytes} bytes"
        if [[ -n ${ROWS[$p]:-} && (${ROWS[$p]} != "$rows" || ${BYTES[$p]} != "$bytes") ]]; then
            log "warning: $p output differs between runs (${ROWS[$p]} rows/${BYTES[$p]} bytes vs $rows/$bytes)"
        fi
        ROWS[$p]=$rows; BYTES[$p]=$bytes
        if [[ -z ${BEST[$p]:-} ]] || awk -v a="$secs" -v b="${BEST[$p]}" 'BEGIN { exit !(a < b) }'; then
            BEST[$p]=$secs
        fi
    done
done

# ---------------------------------------------------------------- report
ok() { [[ ${STATUS[$1]} == installed && -n ${BEST[$1]:-} ]]; }
cps() { awk -v s="${BEST[$1]}" -v n="$N_CHANGES" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="${BEST[$2]}" -v b="${BEST[$1]}" 'BEGIN { printf "%.2f", a / b }'; }  # changes/s of $1 over $2

PEERS=(pgoutput test_decoding wal2json decoderbufs)
echo
echo "Logical decoding throughput: $N_CHANGES row changes ($N_INSERTS inserts, $N_UPDATES updates, $N_DELETES deletes;"
echo "$((N_BULK_INSERTS / 1000 + N_UPDATES / 1000 + N_DELETES / 1000)) txns of 1,000 rows + $N_SINGLE_TXNS single-row txns), $((wal_bytes / 1024 / 1024)) MiB of WAL,"
echo "decoded in-server with pg_logical_slot_peek[_binary]_changes, best of $RUNS runs."
echo
echo "changes/s = $N_CHANGES / best_s (workload row changes, not output rows);"
echo "bytes/change = output bytes / $N_CHANGES; cdc/X = cdc_plugin changes/s ÷ X changes/s."
echo
hdr=$(printf '%-13s %11s %9s %12s %12s' plugin out_rows best_s changes/s bytes/change)
for peer in "${PEERS[@]}"; do hdr+=$(printf ' %17s' "cdc/$peer"); done
echo "$hdr"
printf '%*s\n' "${#hdr}" '' | tr ' ' '-'
for p in "${PLUGINS[@]}"; do
    if ok "$p"; then
        line=$(printf '%-13s %11s %9.3f %12s %12.1f' "$p" "${ROWS[$p]}" "${BEST[$p]}" "$(cps "$p")" \
            "$(awk -v b="${BYTES[$p]}" -v n="$N_CHANGES" 'BEGIN { printf "%.1f", b / n }')")
        for peer in "${PEERS[@]}"; do
            if [[ $p == cdc_plugin* ]] && ok "$peer"; then
                line+=$(printf ' %17s' "$(ratio "$p" "$peer")x")
            else
                line+=$(printf ' %17s' -)
            fi
        done
    elif [[ ${STATUS[$p]} == missing ]]; then
        line=$(printf '%-13s %s' "$p" "NOT INSTALLED (${ERRMSG[$p]})")
    else
        line=$(printf '%-13s %s' "$p" "ERROR (see stderr)")
    fi
    echo "$line"
done

echo
echo "Targets (changes/s):"
target() {  # peer factor
    local peer=$1 factor=$2 r verdict
    if ! ok cdc_plugin; then
        printf '  cdc_plugin >= %-3s x %-13s  not evaluated (cdc_plugin %s)\n' "$factor" "$peer" \
            "$([[ ${STATUS[cdc_plugin]} == missing ]] && echo 'not installed' || echo 'failed')"
    elif ! ok "$peer"; then
        printf '  cdc_plugin >= %-3s x %-13s  not evaluated (%s not measured)\n' "$factor" "$peer" "$peer"
    else
        r=$(ratio cdc_plugin "$peer")
        if awk -v r="$r" -v f="$factor" 'BEGIN { exit !(r >= f) }'; then verdict=MET; else verdict=MISSED; fi
        printf '  cdc_plugin >= %-3s x %-13s  actual %s x  %s\n' "$factor" "$peer" "$r" "$verdict"
    fi
}
target pgoutput 0.8
target decoderbufs 2
target wal2json 2

rc=0
for p in "${PLUGINS[@]}"; do
    if [[ ${STATUS[$p]} == error ]]; then
        echo
        echo "$p FAILED: ${ERRMSG[$p]}"
        rc=3
    fi
done
if [[ ${STATUS[cdc_plugin]} == missing ]]; then
    echo
    echo "NOTE: cdc_plugin is not installed ($PKGLIBDIR/cdc_plugin.so missing): only the peers were measured."
fi
exit "$rc"
