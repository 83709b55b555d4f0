#!/usr/bin/env bash
# End-to-end benchmark: commit -> Kafka acknowledgement through the
# cdc_plugin background worker, next to a peer pipeline
# (wal2json format-version 2 | pg_recvlogical | kcat -P) against the same
# mock Kafka broker (tools/kafka/cdc_mock_broker, 1 broker, 4 partitions).
#
#   bench/e2e/run.sh                          # everything, ~4 minutes here
#   ROWS=500000 SECONDS_PER_RUN=10 LATENCY_SECONDS=15 bench/e2e/run.sh
#   PEER=0 SCENARIOS="latency rotate" bench/e2e/run.sh
#
# Scenarios (each on its own table, so each Kafka topic holds one scenario):
#   batch    ROWS rows as INSERT ... SELECT generate_series, BATCH_ROWS per
#            transaction, one psql session (throughput)
#   single   pgbench -c CLIENTS -j THREADS -T SECONDS_PER_RUN, one one-row
#            INSERT per transaction, as fast as it goes (throughput, and
#            whether the pipeline keeps up with the commit rate)
#   latency  the same at pgbench -R LATENCY_RATE for LATENCY_SECONDS, with a
#            consumer (e2e_probe) timing commit -> consumed for every event
#   rotate   cdc_plugin only: the latency run again, into a table partitioned
#            by ROTATE_SLICE_S-second time slices, so the load moves to a new
#            topic every slice (bounds the mock broker's per-fetch cost, which
#            grows with a partition's log; see README)
#   kafka    no PostgreSQL: e2e_probe produces LATENCY_RATE msg/s with the
#            worker's producer settings and reads them back (the Kafka hop)
#   backlog  each pipeline's own maximum single-row throughput: BACKLOG_TX
#            one-row transactions (pgbench -c CLIENTS -j THREADS -t) are
#            committed while the pipeline is stopped (its slot retains the
#            WAL), then the pipeline is started and timed until Kafka holds
#            all of them. cdc_plugin: restart with cdc_plugin.database = ''
#            for the load, restart with the worker for the drain, timed from
#            the worker's "streaming" log line (the restart is reported
#            apart); peer: pg_recvlogical | kcat started after the load.
#            cdc_plugin drains it twice: once with VALUE_FORMAT (row
#            "cdc_plugin"), then, with BACKLOG_JSON=1, again on its own table
#            with cdc_plugin.value_format = key_format = 'json' (row
#            "cdc-json"), for the json / protobuf events/s ratio.
# cdc_plugin runs first (worker on); then the cluster restarts without the
# worker (cdc_plugin.database = '') and the peer runs batch, single, latency,
# backlog.
#
# Environment:
#   ROWS             rows of the batch scenario (1000000)
#   BATCH_ROWS       rows per transaction in the batch scenario (5000)
#   SECONDS_PER_RUN  duration of the single runs, s (20)
#   CLIENTS/THREADS  pgbench -c / -j (8 / 2)
#   LATENCY_RATE     pgbench -R of the latency runs, tx/s (5000)
#   LATENCY_SECONDS  duration of the latency runs, s (25)
#   ROTATE_SLICE_S   time slice of the rotate scenario, s (2)
#   BACKLOG_TX       transactions of the backlog scenario (300000; rounded up
#                    to a multiple of CLIENTS)
#   BACKLOG_VACUUM   1: VACUUM the system catalogs before the backlog's load,
#                    so decoding has no catalog page to prune during the
#                    drain (for workers before commit 28c8cac, which stall
#                    on that; see vacuum_catalogs); 0: leave them (0)
#   LINGER_MS        the worker's linger.ms, via cdc_plugin.kafka_properties (5)
#   VALUE_FORMAT     the worker's cdc_plugin.value_format and key_format:
#                    protobuf or json (protobuf), for every scenario but the
#                    backlog's second, json run
#   BACKLOG_JSON     1: the backlog scenario also drains a backlog with the
#                    json format (row cdc-json, target >= 0.7x protobuf's
#                    events/s); 0: skip it (1)
#   FETCH_WAIT_MS    fetch.wait.max.ms of the latency consumer (2)
#   PEER             1: also measure the peer pipeline; 0: skip it (1)
#   SCENARIOS        scenarios to run ("batch single latency rotate kafka backlog")
#   PERF             1: perf record -e cpu-clock the worker during the batch,
#                    single and backlog runs and print where its time goes
#                    (0; perturbs those runs; backlog with call graphs)
#   PERF_CALLGRAPH   perf record --call-graph of the backlog run (fp; dwarf
#                    unwinds Debian's postgres, built without frame
#                    pointers, but costs more)
#   PG_EXTRA_CONF    more postgresql.conf lines, name=value;name=value
#   KEEP_LOGS        directory to copy the server log, pgbench logs, latency
#                    timelines and status samples to at exit (none)
#   BENCH_PORT       port of the throwaway cluster (5497; unix socket only)
#   PG_BIN           PostgreSQL 15 bin dir (/usr/lib/postgresql/15/bin)
#
# Must run as root (the cluster itself runs as the 'postgres' OS user;
# client programs run as root with -U postgres). Table, targets and notes go
# to stdout, progress to stderr. Exit status: 0 when every scenario was
# measured (missed targets are only reported); 1 on setup failure; 3 when a
# scenario failed or timed out (its row says so).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROWS=${ROWS:-1000000}
BATCH_ROWS=${BATCH_ROWS:-5000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
LATENCY_RATE=${LATENCY_RATE:-5000}
LATENCY_SECONDS=${LATENCY_SECONDS:-25}
LINGER_MS=${LINGER_MS:-5}
VALUE_FORMAT=${VALUE_FORMAT:-protobuf}
[[ $VALUE_FORMAT =~ ^(protobuf|json)$ ]] || { echo "VALUE_FORMAT: protobuf or json" >&2; exit 1; }
BACKLOG_JSON=${BACKLOG_JSON:-1}
[[ $BACKLOG_JSON =~ ^[01]$ ]] || { echo "BACKLOG_JSON: 0 or 1" >&2; exit 1; }
FETCH_WAIT_MS=${FETCH_WAIT_MS:-2}
PEER=${PEER:-1}
SCENARIOS=${SCENARIOS:-batch single latency rotate kafka backlog}
ROTATE_SLICE_S=${ROTATE_SLICE_S:-2}
BACKLOG_TX=${BACKLOG_TX:-300000}
BACKLOG_VACUUM=${BACKLOG_VACUUM:-0}
PERF=${PERF:-0}
PERF_CALLGRAPH=${PERF_CALLGRAPH:-fp}
PG_EXTRA_CONF=${PG_EXTRA_CONF:-}
KEEP_LOGS=${KEEP_LOGS:-}
PORT=${BENCH_PORT:-5497}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=postgres
DB=postgres
PARTITIONS=4           # per topic, on the mock broker
CDC_TIMEOUT=180        # s to wait for the worker after a load ends
PEER_TIMEOUT=600       # s to wait for the peer topic after a load ends

# Targets the project reports against.
TARGET_BATCH_EPS=150000
TARGET_P99_MS=20
TARGET_PEER_RATIO=3
TARGET_JSON_RATIO=0.7

log() { printf '[e2e-bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "SETUP FAILURE: $*"; exit 1; }

want() { [[ " $SCENARIOS " == *" $1 "* ]]; }
for s in $SCENARIOS; do
    [[ $s =~ ^(batch|single|latency|rotate|kafka|backlog)$ ]] || { echo "SCENARIOS: unknown scenario '$s' (batch single latency rotate kafka backlog)" >&2; exit 1; }
done
for v in ROWS BATCH_ROWS ROTATE_SLICE_S SECONDS_PER_RUN CLIENTS THREADS LATENCY_RATE LATENCY_SECONDS FETCH_WAIT_MS BACKLOG_TX; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $BACKLOG_VACUUM =~ ^[01]$ ]] || die "BACKLOG_VACUUM must be 0 or 1 (got '$BACKLOG_VACUUM')"
[[ $LINGER_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "LINGER_MS must be a number (got '$LINGER_MS')"
((ROWS % BATCH_ROWS == 0)) || die "ROWS ($ROWS) must be a multiple of BATCH_ROWS ($BATCH_ROWS)"
[[ $(id -u) -eq 0 ]] || die "run as root (the cluster is run as the '$PG_USER' OS user via runuser)"
id "$PG_USER" >/dev/null 2>&1 || die "OS user '$PG_USER' does not exist"
for f in initdb pg_ctl psql pgbench pg_config pg_recvlogical; do
    [[ -x $PG_BIN/$f ]] || die "$PG_BIN/$f not found (set PG_BIN)"
done
command -v kcat >/dev/null || die "kcat not found (apt-get install kcat)"
command -v cc >/dev/null || die "no C compiler (cc)"
[[ -r /usr/include/librdkafka/rdkafka.h ]] || die "librdkafka-dev is not installed"
[[ -x $REPO/tools/kafka/cdc_mock_broker ]] || die "tools/kafka/cdc_mock_broker is not built (make kafka-tools)"
for f in schema.sql single_insert.pgbench e2e_probe.c; do
    [[ -r $HERE/$f ]] || die "$HERE/$f is missing"
done
PKGLIBDIR=$("$PG_BIN/pg_config" --pkglibdir)
[[ -f $PKGLIBDIR/cdc_plugin.so ]] || die "cdc_plugin is not installed ($PKGLIBDIR/cdc_plugin.so; run make install)"
if [[ $PEER == 1 && ! -f $PKGLIBDIR/wal2json.so ]]; then
    log "warning: wal2json is not installed ($PKGLIBDIR/wal2json.so): the peer pipeline is skipped"
    PEER=0
fi
if [[ $PERF == 1 ]] && ! command -v perf >/dev/null; then
    log "warning: perf not found: PERF=1 ignored"
    PERF=0
fi
export PG_CONFIG=$PG_BIN/pg_config   # for test/lib.sh
# shellcheck source=../../test/lib.sh
source "$REPO/test/lib.sh"
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup
TMPD=""
BROKER_PID=""
BG_PIDS=()
SETUP_DONE=0
# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    for p in "${BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
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
                # a worker stuck where it does not see the postmaster die
                # (workers before commit 28c8cac, in the WAL reader) would
                # stay behind
                [[ -n ${WORKER_PID:-} ]] && grep -qs 'cdc_plugin worker' "/proc/$WORKER_PID/cmdline" \
                    && kill -9 "$WORKER_PID" 2>/dev/null
            fi
        fi
    fi
    if [[ -n $BROKER_PID ]]; then
        kill "$BROKER_PID" 2>/dev/null
        wait "$BROKER_PID" 2>/dev/null
    fi
    if [[ -n $KEEP_LOGS && -n $TMPD && -d $TMPD ]]; then
        mkdir -p "$KEEP_LOGS" && find "$TMPD" -maxdepth 1 -type f \( -name '*.log' -o -name '*.err' \
            -o -name 'timeline.*' -o -name 'samples.*' -o -name 'latency.*' -o -name 'perf.*' \) \
            -exec cp {} "$KEEP_LOGS"/ \; && log "logs kept in $KEEP_LOGS"
    fi
    [[ -n $TMPD && -d $TMPD ]] && rm -rf "$TMPD"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# ---------------------------------------------------------------- helpers
# Clients run as root (-U postgres over the unix socket in $TMPD).
psql_() {
    "$PG_BIN/psql" -h "$TMPD" -p "$PORT" -U "$PG_USER" -d "$DB" -X -q -v ON_ERROR_STOP=1 "$@"
}
q() { psql_ -At -F ' ' -c "$1"; }
now() { echo "$EPOCHREALTIME"; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "-" }'; }
fle() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
fge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# utime+stime of a process (all its threads), in clock ticks.
proc_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    s=${s##*) }
    awk '{ print $12 + $13 }' <<<"$s"
}
# VmRSS and VmHWM of a process, kB.
proc_rss() { awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r + 0, h + 0 }' "/proc/$1/status" 2>/dev/null || echo "0 0"; }
# Resets VmHWM to the current RSS (per-scenario peaks).
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
# busy and total jiffies of all CPUs.
host_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat; }

# The sampler: one psql session, one status query every 0.5 s, until
# sampler_stop. Lines: epoch value.
SAMPLER_PID=""
sampler_start() {  # out_file sql [interval_s]
    local out=$1 sql=$2 every=${3:-0.5}
    touch "$TMPD/sampling"
    ( while [[ -e $TMPD/sampling ]]; do echo "$sql"; sleep "$every"; done ) \
        | psql_ -At -F ' ' >"$out" 2>&1 &
    SAMPLER_PID=$!
    BG_PIDS+=("$SAMPLER_PID")
}
sampler_stop() {
    rm -f "$TMPD/sampling"
    wait "$SAMPLER_PID" 2>/dev/null || true
}
# max and last value of the samples taken up to epoch $2 (end of the load).
sample_stats() {
    awk -v until="$2" '$1 ~ /^[0-9.]+$/ && $1 <= until { if ($2 + 0 > m) m = $2 + 0; last = $2 + 0; n++ }
                       END { printf "%d %d %d\n", m, last, n }' "$1"
}

# ---------------------------------------------------------------- results
declare -A R=()   # R[scenario.pipeline.field]
FAILED=0
fail_row() { R[$1.error]=$2; FAILED=1; log "$1: FAILED: $2"; }

# CPU/RSS bookkeeping of a set of pids over one run.
declare -A T0=()
meas_start() {  # key pids...
    local key=$1; shift
    local p t=0
    for p in "$@"; do reset_hwm "$p"; t=$((t + $(proc_ticks "$p"))); done
    T0[$key.ticks]=$t
    T0[$key.host]=$(host_ticks)
    T0[$key.pids]="$*"
}
meas_end() {  # key wall_seconds
    local key=$1 wall=$2 p t=0 rss=0 hwm=0 r h
    for p in ${T0[$key.pids]}; do
        t=$((t + $(proc_ticks "$p")))
        read -r r h <<<"$(proc_rss "$p")"
        rss=$((rss + r)); hwm=$((hwm + h))
    done
    local b0 t0h b1 t1h
    read -r b0 t0h <<<"${T0[$key.host]}"
    read -r b1 t1h <<<"$(host_ticks)"
    R[$key.cpu]=$(awk -v d=$((t - T0[$key.ticks])) -v hz="$CLK_TCK" -v w="$wall" 'BEGIN { printf "%.0f", 100 * d / hz / w }')
    R[$key.host]=$(awk -v b=$((b1 - b0)) -v t=$((t1h - t0h)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }')
    R[$key.rss]=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
    R[$key.hwm]=$(awk -v k="$hwm" 'BEGIN { printf "%.0f", k / 1024 }')
}

# ---------------------------------------------------------------- setup
cd /   # the postgres user may not be able to read the caller's cwd
TMPD=$(mktemp -d /tmp/cdc-e2e-bench.XXXXXX)
chown "$PG_USER": "$TMPD"
chmod 700 "$TMPD"
log "throwaway cluster and broker in $TMPD (port $PORT, unix socket only)"

cc -std=gnu11 -O2 -Wall -o "$TMPD/e2e_probe" "$HERE/e2e_probe.c" -lrdkafka \
    || die "could not build e2e_probe"
PROBE=$TMPD/e2e_probe

"$REPO/tools/kafka/cdc_mock_broker" --brokers 1 --partitions "$PARTITIONS" --port-file "$TMPD/broker.port" \
    </dev/null >"$TMPD/broker.out" 2>"$TMPD/broker.err" &
BROKER_PID=$!
for ((i = 0; i < 100; i++)); do
    [[ -s $TMPD/broker.port ]] && break
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$TMPD/broker.err" >&2; die "the mock broker exited"; }
    sleep 0.1
done
BOOT=$(head -n 1 "$TMPD/broker.port")
[[ -n $BOOT ]] || die "the mock broker did not start"
log "mock broker: $BOOT (1 broker, $PARTITIONS partitions per topic)"

runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$TMPD/data" -U "$PG_USER" \
    --auth=trust --encoding=UTF8 --locale=C --no-sync >"$TMPD/initdb.log" 2>&1 \
    || { cat "$TMPD/initdb.log" >&2; die "initdb failed"; }
cat >>"$TMPD/data/postgresql.conf" <<EOF

# ---- e2e benchmark ----
port = $PORT
listen_addresses = ''
unix_socket_directories = '$TMPD'
max_connections = 40
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
$(plugin_libraries_conf wal2json)
shared_preload_libraries = 'cdc_plugin'
cdc_plugin.kafka_bootstrap_servers = '$BOOT'
cdc_plugin.topic_prefix = 'cdc'
cdc_plugin.kafka_properties = 'linger.ms=$LINGER_MS'
# changes only: the tables' rows (warm-up rows) are not snapshotted, so each
# topic holds exactly its scenario's changes and no snapshot runs meanwhile
cdc_plugin.snapshot_mode = 'never'
# fsync off (a throwaway cluster: the disk is not what is measured);
# synchronous_commit stays on, so a commit's WAL is flushed (to the OS)
# before the commit returns and the worker can read it at once
fsync = off
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 1h
autovacuum = off
timezone = 'UTC'
log_min_messages = info
# the backlog scenario reads the time decoding started from the log
log_line_prefix = '%m [%p] '
log_timezone = 'UTC'
EOF
# Extra settings from the environment, name=value;name=value.
if [[ -n $PG_EXTRA_CONF ]]; then
    tr ';' '\n' <<<"$PG_EXTRA_CONF" >>"$TMPD/data/postgresql.conf"
    log "extra settings: $PG_EXTRA_CONF"
fi
# cdc_plugin.database and the formats come last: phase_conf and
# format_conf rewrite them.
phase_conf() {  # database name ('' = no worker)
    sed -i '/^cdc_plugin.database = /d' "$TMPD/data/postgresql.conf"
    echo "cdc_plugin.database = '$1'" >>"$TMPD/data/postgresql.conf"
}
format_conf() {  # protobuf|json: cdc_plugin.value_format and key_format
    sed -i '/^cdc_plugin.\(value\|key\)_format = /d' "$TMPD/data/postgresql.conf"
    printf "cdc_plugin.value_format = '%s'\ncdc_plugin.key_format = '%s'\n" "$1" "$1" >>"$TMPD/data/postgresql.conf"
}
format_conf "$VALUE_FORMAT"
pg_start() {
    runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" -l "$TMPD/server.log" \
        -w -t 60 start >/dev/null || die "the cluster did not start"
}
pg_stop() {
    runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" -m fast -w -t 60 stop >/dev/null \
        || die "the cluster did not stop"
}
phase_conf "$DB"
pg_start
log "server: $(q 'SELECT version()')"
psql_ -c 'CREATE EXTENSION cdc_plugin' || die "CREATE EXTENSION cdc_plugin failed"
psql_ <"$HERE/schema.sql" || die "schema.sql failed"
# The rotate scenario's table: partitioned into ROTATE_SLICES partitions by
# a DEFAULT that puts each row in the partition of its ROTATE_SLICE_S-second
# time slice, so the load moves to a new partition (and topic: cdc_plugin
# publishes a partition's changes to <prefix>.<schema>.<partition>) every
# ROTATE_SLICE_S seconds (see README: the mock broker's fetch cost grows
# with the length of a partition's log).
ROTATE_SLICES=$((LATENCY_SECONDS / ROTATE_SLICE_S + 3))
{
    echo "CREATE TABLE e2e_rotate_cdc (id bigserial, customer text, amount numeric(12,2),"
    echo "    created_at timestamptz, paid bool,"
    echo "    slice int NOT NULL DEFAULT ((extract(epoch FROM clock_timestamp())::bigint / $ROTATE_SLICE_S) % $ROTATE_SLICES),"
    echo "    PRIMARY KEY (id, slice)) PARTITION BY LIST (slice);"
    for ((i = 0; i < ROTATE_SLICES; i++)); do
        printf 'CREATE TABLE e2e_rotate_cdc_%02d PARTITION OF e2e_rotate_cdc FOR VALUES IN (%d);\n' "$i" "$i"
    done
} | psql_ || die "creating e2e_rotate_cdc failed"
ROTATE_TOPICS=$(for ((i = 0; i < ROTATE_SLICES; i++)); do printf 'cdc.public.e2e_rotate_cdc_%02d,' "$i"; done)
ROTATE_TOPICS=${ROTATE_TOPICS%,}
for t in e2e_single_cdc e2e_latency_cdc e2e_rotate_cdc e2e_backlog_cdc e2e_backlog_json e2e_single_peer e2e_latency_peer e2e_backlog_peer; do
    sed "s/@TABLE@/$t/" "$HERE/single_insert.pgbench" >"$TMPD/$t.pgbench"
done
# The batch load: ROWS / BATCH_ROWS autocommit INSERT ... SELECT statements.
make_batch_sql() {  # table
    local i lo hi
    for ((i = 0; i < ROWS / BATCH_ROWS; i++)); do
        lo=$((i * BATCH_ROWS + 1)) hi=$(((i + 1) * BATCH_ROWS))
        echo "INSERT INTO $1 (id, customer, amount, created_at, paid)
SELECT g, 'customer_' || lpad((g % 5000)::text, 4, '0'), ((g * 37) % 100000) / 100.0,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g % 3 = 0
  FROM generate_series($lo, $hi) g;"
    done >"$TMPD/batch_$1.sql"
}

# Waits for the worker to stream; its pid.
WORKER_PID=""
wait_worker() {
    local i st
    for ((i = 0; i < 300; i++)); do
        st=$(q "SELECT state, coalesce(pid, 0), broker FROM cdc_plugin.status()")
        if [[ $st == "streaming "*" up" ]]; then
            WORKER_PID=$(awk '{ print $2 }' <<<"$st")
            return 0
        fi
        sleep 0.1
    done
    die "the cdc_plugin worker is not streaming: $(q 'SELECT state, last_error FROM cdc_plugin.status()')"
}
events_published() { q "SELECT events_published FROM cdc_plugin.status()"; }
# Waits (in the server) for p_target acknowledged events; prints "epoch ok".
wait_published() {  # target timeout
    q "SELECT done_epoch, ok, events, in_flight FROM e2e.wait_published($1, $2)"
}
topic_count() { "$PROBE" count --brokers "$BOOT" --topic "$1"; }

# Warning when the host is busy before a timed run.
check_idle() {
    local b0 t0h b1 t1h
    read -r b0 t0h <<<"$(host_ticks)"
    sleep 1
    read -r b1 t1h <<<"$(host_ticks)"
    if ((t1h > t0h && (b1 - b0) * 100 / (t1h - t0h) >= 20)); then
        log "warning: CPUs $(((b1 - b0) * 100 / (t1h - t0h)))% busy before timing (other processes): figures will be noisy"
    fi
}

# pgbench with the common options, its output to a log file; extra args appended.
run_pgbench() {  # script logfile args...
    local script=$1 out=$2; shift 2
    "$PG_BIN/pgbench" -h "$TMPD" -p "$PORT" -U "$PG_USER" -n -c "$CLIENTS" -j "$THREADS" \
        -f "$script" "$@" "$DB" >"$out" 2>&1
}
pgbench_count() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1" | head -n 1; }
# Rows the load added, checked (untimed) against what it was supposed to add.
check_rows() {  # key table n0 n
    local got
    got=$(($(q "SELECT count(*) FROM $2") - $3))
    [[ $got == "$4" ]] || fail_row "$1" "the table got $got rows, the load reported $4"
}
pgbench_tps() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1" | head -n 1; }

# ---------------------------------------------------------------- perf
PERF_PID=""
perf_start() {  # name [perf record options...]
    [[ $PERF == 1 ]] || return 0
    local name=$1; shift
    perf record -e cpu-clock -F 999 "$@" -p "$WORKER_PID" -o "$TMPD/perf.$name.data" >/dev/null 2>"$TMPD/perf.$name.log" &
    PERF_PID=$!
    BG_PIDS+=("$PERF_PID")
    sleep 0.3
}
perf_stop() {  # name
    [[ $PERF == 1 && -n $PERF_PID ]] || return 0
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
    {
        echo "  by thread:"
        perf report -i "$TMPD/perf.$1.data" --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 8
        echo "  by symbol (self):"
        perf report -i "$TMPD/perf.$1.data" --no-children --sort comm,dso,symbol --stdio -g none 2>/dev/null \
            | grep -E '^ +[0-9]' | head -n 25 | cut -c1-130
        if [[ $1 == backlog-* ]]; then
            # with call graphs: time including callees, main thread (the
            # decoding loop) only
            echo "  main thread, by symbol including callees (children):"
            perf report -i "$TMPD/perf.$1.data" --children --comm postgres --sort symbol --stdio -g none 2>/dev/null \
                | grep -E '^ +[0-9]' | head -n 30 | cut -c1-130
        fi
    } >"$TMPD/perf.$1.top" || true
}

# ================================================================ cdc_plugin
wait_worker
log "cdc_plugin worker pid $WORKER_PID streaming (linger.ms=$LINGER_MS)"
# Warm-up: one row per table, so topic metadata and the producer's id are
# in place before anything is timed.
for t in batch_cdc single_cdc latency_cdc backlog_cdc backlog_json; do
    q "INSERT INTO e2e_$t (id, customer) VALUES (0, 'warm-up')" >/dev/null
done
q "INSERT INTO e2e_rotate_cdc (customer, slice) SELECT 'warm-up', g FROM generate_series(0, $((ROTATE_SLICES - 1))) g" >/dev/null
r=$(wait_published $((5 + ROTATE_SLICES)) 60)
[[ $(awk '{ print $2 }' <<<"$r") == t ]] || die "warm-up events were not published: $r"
SETUP_DONE=1
make_batch_sql e2e_batch_cdc

CDC_STATUS_SQL="SELECT extract(epoch FROM clock_timestamp()), wal_behind_bytes, events_published, in_flight FROM cdc_plugin.status();"

# --- batch -------------------------------------------------------------
run_cdc_batch() {
    local key=batch.cdc base n0 t0 t1 res t_done ok
    q CHECKPOINT >/dev/null
    check_idle
    log "batch/cdc_plugin: $ROWS rows in $((ROWS / BATCH_ROWS)) transactions of $BATCH_ROWS"
    base=$(events_published)
    n0=$(q "SELECT count(*) FROM e2e_batch_cdc")
    sampler_start "$TMPD/samples.$key" "$CDC_STATUS_SQL"
    perf_start batch
    meas_start "$key" "$WORKER_PID"
    meas_start "$key.broker" "$BROKER_PID"
    t0=$(now)
    psql_ -f "$TMPD/batch_e2e_batch_cdc.sql" >/dev/null || { fail_row "$key" "load failed"; sampler_stop; return; }
    t1=$(now)
    res=$(wait_published $((base + ROWS)) "$CDC_TIMEOUT")
    read -r t_done ok _ <<<"$res"
    meas_end "$key" "$(fsub "$t_done" "$t0")"
    meas_end "$key.broker" "$(fsub "$t_done" "$t0")"
    perf_stop batch
    sampler_stop
    R[$key.events]=$ROWS
    check_rows "$key" e2e_batch_cdc "$n0" "$ROWS"
    R[$key.txns]=$((ROWS / BATCH_ROWS))
    R[$key.load_s]=$(fsub "$t1" "$t0")
    R[$key.total_s]=$(fsub "$t_done" "$t0")
    R[$key.drain_s]=$(fsub "$t_done" "$t1")
    R[$key.eps]=$(fdiv "$ROWS" "${R[$key.total_s]}")
    R[$key.load_eps]=$(fdiv "$ROWS" "${R[$key.load_s]}")
    read -r R[$key.lag_max] R[$key.lag_end] _ <<<"$(sample_stats "$TMPD/samples.$key" "$t1")"
    [[ $ok == t ]] || fail_row "$key" "timeout: Kafka acknowledged $(($(events_published) - base)) of $ROWS events"
    R[$key.topic]=$(topic_count cdc.public.e2e_batch_cdc)
    log "batch/cdc_plugin: load ${R[$key.load_s]} s, all acknowledged after ${R[$key.total_s]} s: ${R[$key.eps]} events/s"
}

# --- single (pgbench, free running) ------------------------------------
run_cdc_single() {
    local key=single.cdc base n0 n t0 t1 res t_done ok
    q CHECKPOINT >/dev/null
    check_idle
    log "single/cdc_plugin: pgbench -c $CLIENTS -j $THREADS -T $SECONDS_PER_RUN, one-row INSERT per transaction"
    base=$(events_published)
    n0=$(q "SELECT count(*) FROM e2e_single_cdc")
    sampler_start "$TMPD/samples.$key" "$CDC_STATUS_SQL"
    perf_start single
    meas_start "$key" "$WORKER_PID"
    meas_start "$key.broker" "$BROKER_PID"
    t0=$(now)
    run_pgbench "$TMPD/e2e_single_cdc.pgbench" "$TMPD/pgbench.$key.log" -T "$SECONDS_PER_RUN" \
        || { cat "$TMPD/pgbench.$key.log" >&2; fail_row "$key" "pgbench failed"; sampler_stop; return; }
    t1=$(now)
    n=$(pgbench_count "$TMPD/pgbench.$key.log")
    res=$(wait_published $((base + n)) "$CDC_TIMEOUT")
    read -r t_done ok _ <<<"$res"
    meas_end "$key" "$(fsub "$t_done" "$t0")"
    meas_end "$key.broker" "$(fsub "$t_done" "$t0")"
    perf_stop single
    sampler_stop
    R[$key.events]=$n
    check_rows "$key" e2e_single_cdc "$n0" "$n"
    R[$key.txns]=$n
    R[$key.load_s]=$(fsub "$t1" "$t0")
    R[$key.total_s]=$(fsub "$t_done" "$t0")
    R[$key.drain_s]=$(fsub "$t_done" "$t1")
    R[$key.eps]=$(fdiv "$n" "${R[$key.total_s]}")
    R[$key.tps]=$(pgbench_tps "$TMPD/pgbench.$key.log")
    read -r R[$key.lag_max] R[$key.lag_end] R[$key.samples] <<<"$(sample_stats "$TMPD/samples.$key" "$t1")"
    [[ $ok == t ]] || fail_row "$key" "timeout: Kafka acknowledged $(($(events_published) - base)) of $n events"
    R[$key.topic]=$(topic_count cdc.public.e2e_single_cdc)
    log "single/cdc_plugin: $n commits at ${R[$key.tps]} tx/s, all acknowledged ${R[$key.drain_s]} s after the load: ${R[$key.eps]} events/s"
}

# --- latency -------------------------------------------------------------
# Starts the latency consumer on topic $2; waits until it has its partitions.
CONSUMER_PID=""
consumer_start() {  # key topic format
    local key=$1 topic=$2 fmt=$3 i
    rm -f "$TMPD/ready.$key"
    "$PROBE" latency --brokers "$BOOT" --topic "$topic" --format "$fmt" \
        --ready-file "$TMPD/ready.$key" --skip-before-us "$(($(date +%s%6N) + 0))" \
        --idle-exit 3000 --max-wait $((LATENCY_SECONDS + 300)) --timeline "$TMPD/timeline.$key" \
        -X "fetch.wait.max.ms=$FETCH_WAIT_MS" >"$TMPD/latency.$key" 2>"$TMPD/latency.$key.err" &
    CONSUMER_PID=$!
    BG_PIDS+=("$CONSUMER_PID")
    for ((i = 0; i < 300; i++)); do
        [[ -e $TMPD/ready.$key ]] && break
        kill -0 "$CONSUMER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -e $TMPD/ready.$key ]] || { cat "$TMPD/latency.$key.err" >&2; die "the latency consumer did not start"; }
    sleep 1   # let its first fetches go out
}
# Waits for the consumer to exit (3 s idle) and stores its percentiles.
consumer_finish() {  # key
    local key=$1 line
    wait "$CONSUMER_PID" || true
    line=$(cat "$TMPD/latency.$key")
    [[ $line == messages=* ]] || { fail_row "$key" "latency consumer: $(cat "$TMPD/latency.$key.err")"; return; }
    local kv
    for kv in $line; do R[$key.c_${kv%%=*}]=${kv#*=}; done
    # seconds (of commit time) whose p99 exceeded the target, and the worst
    R[$key.c_bad_secs]=$(awk -v t=$((TARGET_P99_MS * 1000)) '$4 >= t { n++ } END { print n + 0 }' "$TMPD/timeline.$key")
    R[$key.c_secs]=$(wc -l <"$TMPD/timeline.$key")
    log "$key: p99 per second of commit time (ms): $(awk '{ printf "%.0f ", $4 / 1000 }' "$TMPD/timeline.$key")"
}

run_cdc_latency() {  # scenario table topics
    local key=$1.cdc table=$2 topics=$3 base n0 n t0 t1 res t_done ok
    q CHECKPOINT >/dev/null
    check_idle
    log "$1/cdc_plugin: pgbench -R $LATENCY_RATE -T $LATENCY_SECONDS into $table, consumer fetch.wait.max.ms=$FETCH_WAIT_MS"
    consumer_start "$key" "$topics" cdc
    base=$(events_published)
    n0=$(q "SELECT count(*) FROM $table")
    sampler_start "$TMPD/samples.$key" "$CDC_STATUS_SQL"
    meas_start "$key" "$WORKER_PID"
    meas_start "$key.broker" "$BROKER_PID"
    t0=$(now)
    run_pgbench "$TMPD/$table.pgbench" "$TMPD/pgbench.$key.log" -R "$LATENCY_RATE" -T "$LATENCY_SECONDS" \
        || { cat "$TMPD/pgbench.$key.log" >&2; fail_row "$key" "pgbench failed"; sampler_stop; return; }
    t1=$(now)
    n=$(pgbench_count "$TMPD/pgbench.$key.log")
    res=$(wait_published $((base + n)) "$CDC_TIMEOUT")
    read -r t_done ok _ <<<"$res"
    meas_end "$key" "$(fsub "$t_done" "$t0")"
    meas_end "$key.broker" "$(fsub "$t_done" "$t0")"
    sampler_stop
    consumer_finish "$key"
    R[$key.events]=$n
    check_rows "$key" "$table" "$n0" "$n"
    R[$key.txns]=$n
    R[$key.load_s]=$(fsub "$t1" "$t0")
    R[$key.total_s]=$(fsub "$t_done" "$t0")
    R[$key.drain_s]=$(fsub "$t_done" "$t1")
    R[$key.eps]=$(fdiv "$n" "${R[$key.total_s]}")
    R[$key.tps]=$(pgbench_tps "$TMPD/pgbench.$key.log")
    read -r R[$key.lag_max] R[$key.lag_end] _ <<<"$(sample_stats "$TMPD/samples.$key" "$t1")"
    [[ $ok == t ]] || fail_row "$key" "timeout: Kafka acknowledged $(($(events_published) - base)) of $n events"
    [[ ${R[$key.c_events]:-0} == "$n" ]] || fail_row "$key" "the consumer measured ${R[$key.c_events]:-0} events of $n"
    log "$1/cdc_plugin: $n commits at ${R[$key.tps]} tx/s; commit->consumed p50 ${R[$key.c_p50_us]:-?} us, p99 ${R[$key.c_p99_us]:-?} us"
}

# --- the Kafka hop alone ---------------------------------------------------
run_kafka_baseline() {
    local key=kafka.kafka out t0 t1
    check_idle
    log "latency/kafka hop only: e2e_probe produce $LATENCY_RATE msg/s for $LATENCY_SECONDS s (linger.ms=$LINGER_MS)"
    # a first producer creates the topic and is gone before timing
    "$PROBE" produce --brokers "$BOOT" --topic e2e.kafka_only --rate 10 --seconds 1 >/dev/null
    consumer_start "$key" e2e.kafka_only cdc
    meas_start "$key.broker" "$BROKER_PID"
    t0=$(now)
    out=$("$PROBE" produce --brokers "$BOOT" --topic e2e.kafka_only --rate "$LATENCY_RATE" \
        --seconds "$LATENCY_SECONDS" -X "linger.ms=$LINGER_MS")
    t1=$(now)
    meas_end "$key.broker" "$(fsub "$t1" "$t0")"
    consumer_finish "$key"
    R[$key.events]=$(sed -n 's/^sent=\([0-9]*\).*/\1/p' <<<"$out")
    R[$key.tps]=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out")
    R[$key.load_s]=$(fsub "$t1" "$t0")
    log "latency/kafka hop only: p50 ${R[$key.c_p50_us]:-?} us, p99 ${R[$key.c_p99_us]:-?} us"
}

want batch && run_cdc_batch
want single && run_cdc_single
want latency && run_cdc_latency latency e2e_latency_cdc cdc.public.e2e_latency_cdc
want rotate && run_cdc_latency rotate e2e_rotate_cdc "$ROTATE_TOPICS"
want kafka && run_kafka_baseline
# The worker's own account after the cdc_plugin scenarios.
R[status]=$(q "SELECT format('state %s, events_published %s, transactions_published %s, bytes_published %s, in_flight %s, delivery_errors %s, restarts %s, lag %s, wal_behind_bytes %s, last_error %s',
                      state, events_published, transactions_published, bytes_published, in_flight,
                      delivery_errors, restarts, lag, wal_behind_bytes, coalesce(last_error, 'none'))
               FROM cdc_plugin.status()")
log "worker status: ${R[status]}"
[[ $(q "SELECT delivery_errors = 0 AND restarts = 0 AND last_error IS NULL FROM cdc_plugin.status()") == t ]] \
    || { FAILED=1; log "the worker reported errors or restarts: ${R[status]}"; }

# --- backlog: the worker's own maximum single-row throughput -------------
# Epoch of the first server log line after byte offset $1 containing $2
# (log_line_prefix '%m [%p] ', log_timezone UTC); fails if there is none.
log_epoch() {  # offset string
    local line
    line=$(tail -c +$(($1 + 1)) "$TMPD/server.log" | grep -F -m 1 -- "$2") || return 1
    date -u -d "$(awk '{ print $1, $2 }' <<<"$line")" +%s.%N
}
log_size() { stat -c %s "$TMPD/server.log"; }
# The slot's distance from the end of the flushed WAL, bytes.
slot_behind() { q "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), confirmed_flush_lsn) FROM pg_replication_slots WHERE slot_name = '$1'"; }
# VACUUMs the system catalogs (BACKLOG_VACUUM=1). A catalog page with dead
# tuples (GRANTs, REVOKEs, DDL of the setup) gets pruned by the first
# process that reads it once the slots' catalog_xmin allows; during the
# drain that is logical decoding itself, whose catalog access runs in
# transactions that are aborted, not committed, so nothing asks for the
# PRUNE record (with a full-page image, ~6.7 KiB) to be flushed, and the WAL
# writer flushes only its full pages. Workers before commit 28c8cac then
# slept in read_local_xlog_page() on the unflushed rest, neither polling
# Kafka nor answering SIGTERM, until the background writer's next standby
# snapshot (up to 15 s) got WAL flushed (README: "The backlog scenario").
# By default the catalogs are left as they are, so the run goes through
# that path, and the stall check in run_cdc_backlog flags a stall; vacuumed
# before the load, they give decoding nothing to prune.
vacuum_catalogs() {
    psql_ -At <<'SQL' >/dev/null
SELECT format('VACUUM %s', c.oid::regclass) FROM pg_class c
 WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' \gexec
SQL
}
# Moves the (inactive) slot to the end of WAL, so that it holds nothing from
# before the backlog's load. The CHECKPOINT logs a standby snapshot:
# decoding past it (pg_replication_slot_advance) moves the slot's
# catalog_xmin up to now, so that VACUUM may remove the dead catalog tuples
# that the slot kept until then (BACKLOG_VACUUM=1, see vacuum_catalogs);
# then the slot is advanced over the VACUUM's WAL too.
slot_to_end() {  # slot
    local i
    for ((i = 0; i < 100; i++)); do
        [[ $(q "SELECT active FROM pg_replication_slots WHERE slot_name = '$1'") == f ]] && break
        sleep 0.1
    done
    q CHECKPOINT >/dev/null
    _slot_advance "$1"
    if [[ $BACKLOG_VACUUM == 1 ]]; then
        vacuum_catalogs
        _slot_advance "$1"
    fi
}
_slot_advance() {  # slot
    # a transaction with an xid: its commit flushes all WAL written so far
    q "SELECT txid_current()" >/dev/null
    q "SELECT pg_replication_slot_advance(slot_name, pg_current_wal_flush_lsn()) FROM pg_replication_slots
        WHERE slot_name = '$1' AND confirmed_flush_lsn < pg_current_wal_flush_lsn()" >/dev/null
}
# The backlog's load: BACKLOG_TX one-row transactions (rounded up to a
# multiple of CLIENTS) while no pipeline consumes. Sets R[key.events|tps|
# load_s|lag_max] (lag_max: WAL the slot retains after the load); returns 1
# on failure.
backlog_load() {  # key table slot
    local key=$1 table=$2 slot=$3 per=$(((BACKLOG_TX + CLIENTS - 1) / CLIENTS)) n0 n t0 t1
    n0=$(q "SELECT count(*) FROM $table")
    q CHECKPOINT >/dev/null
    check_idle
    log "${key%.*}/${key#*.}: building the backlog: pgbench -c $CLIENTS -j $THREADS -t $per ($((per * CLIENTS)) one-row transactions), nothing consuming"
    t0=$(now)
    run_pgbench "$TMPD/$table.pgbench" "$TMPD/pgbench.$key.log" -t "$per" \
        || { cat "$TMPD/pgbench.$key.log" >&2; fail_row "$key" "pgbench failed"; return 1; }
    t1=$(now)
    n=$(pgbench_count "$TMPD/pgbench.$key.log")
    R[$key.events]=$n
    R[$key.txns]=$n
    R[$key.tps]=$(pgbench_tps "$TMPD/pgbench.$key.log")
    R[$key.load_s]=$(fsub "$t1" "$t0")
    check_rows "$key" "$table" "$n0" "$n"
    R[$key.lag_max]=$(slot_behind "$slot")
    log "${key%.*}/${key#*.}: $n transactions in ${R[$key.load_s]} s (${R[$key.tps]} tx/s); the slot retains $(awk -v b="${R[$key.lag_max]}" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of WAL"
}

# Drains a backlog of table (topic cdc.public.<table>) with the worker's
# value_format and key_format set to format; its row is key.
run_cdc_backlog() {  # key table format
    local key=$1 table=$2 fmt=$3 who n base_topic behind off t_restart t_stream t_obs t_done res ok ev st i waiter
    who="backlog/cdc_plugin ($fmt)"
    log "$who: restarting without the worker (cdc_plugin.database = '')"
    pg_stop
    phase_conf ""
    pg_start
    # The worker's slot stays and retains WAL; its confirmed position must be
    # the current end, so that the drain publishes the load and nothing else.
    if [[ $(q "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_plugin' AND plugin = 'cdc_plugin' AND NOT active") != 1 ]]; then
        fail_row "$key" "the worker's slot cdc_plugin is missing (or active) after the restart"
    else
        behind=$(slot_behind cdc_plugin)
        slot_to_end cdc_plugin
        log "$who: slot cdc_plugin was $behind bytes behind the end of WAL (the worker had confirmed all but that); moved to the end, now $(slot_behind cdc_plugin)"
        backlog_load "$key" "$table" cdc_plugin || true
        base_topic=$(topic_count "cdc.public.$table")
    fi
    n=${R[$key.events]:-}
    # A new worker process restates a table's shape before its first event:
    # one schema event (resent) in every partition of the topic, not counted
    # in events/s (README: Schema changes).
    local restate=$PARTITIONS
    log "$who: restarting with the worker (cdc_plugin.database = '$DB')"
    pg_stop
    phase_conf "$DB"
    format_conf "$fmt"
    off=$(log_size)
    meas_start "$key.broker" "$BROKER_PID"
    t_restart=$(now)
    pg_start
    if [[ -z $n || -n ${R[$key.error]:-} ]]; then
        wait_worker
        return
    fi
    # The wait runs in the server (5 ms polls of status(), whose counters
    # start at 0 with the new worker process) while this shell finds the
    # worker and starts measuring its CPU.
    wait_published "$((n + restate))" "$CDC_TIMEOUT" >"$TMPD/backlog.wait" 2>&1 &
    waiter=$!
    BG_PIDS+=("$waiter")
    # progress every 0.1 s, to see whether the worker ever stops publishing
    sampler_start "$TMPD/samples.$key" "SELECT extract(epoch FROM clock_timestamp()), events_published, in_flight,
        pg_wal_lsn_diff(pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn()) FROM cdc_plugin.status();" 0.1
    for ((i = 0; i < 500; i++)); do
        st=$(q "SELECT coalesce(pid, 0), state FROM cdc_plugin.status()")
        [[ $st == [1-9]*" streaming" || $st == [1-9]*" waiting for Kafka" ]] && break
        kill -0 "$waiter" 2>/dev/null || break
        sleep 0.02
    done
    WORKER_PID=${st%% *}
    [[ $WORKER_PID =~ ^[1-9][0-9]*$ ]] || WORKER_PID=$(q "SELECT coalesce(pid, 0) FROM cdc_plugin.status()")
    perf_start "${key/./-}" --call-graph "$PERF_CALLGRAPH"
    meas_start "$key" "$WORKER_PID"
    t_obs=$(now)
    wait "$waiter" || true
    res=$(cat "$TMPD/backlog.wait")
    read -r t_done ok ev _ <<<"$res"
    [[ $t_done =~ ^[0-9.]+$ ]] || { fail_row "$key" "waiting for the worker failed: $res"; sampler_stop; perf_stop "${key/./-}"; return; }
    meas_end "$key" "$(fsub "$t_done" "$t_obs")"
    meas_end "$key.broker" "$(fsub "$t_done" "$t_obs")"
    sampler_stop
    perf_stop "${key/./-}"
    # The longest time events_published stood still short of the count:
    # "seconds events at-epoch unflushed-WAL-bytes".
    R[$key.pause]=$(awk -v n="$((n + restate))" '$1 ~ /^[0-9.]+$/ && NF >= 4 {
            if ($2 != ev) { ev = $2; since = $1 }
            if ($2 < n && $1 - since > best) { best = $1 - since; bev = $2; bt = since; bw = $4 }
        } END { printf "%.1f %d %.3f %d\n", best, bev, bt, bw }' "$TMPD/samples.$key")
    read -r R[$key.pause_s] R[$key.pause_ev] _ R[$key.pause_wal] <<<"${R[$key.pause]}"
    if fge "${R[$key.pause_s]}" 1.0; then
        log "$who: WARNING: events_published stood at ${R[$key.pause_ev]} of $n for ${R[$key.pause_s]} s (WAL inserted but not flushed: ${R[$key.pause_wal]} bytes): the worker stalled, see README (backlog)"
    fi
    # Decoding starts at the worker's "streaming" log line (after the
    # postmaster started, the launcher started the worker, the worker
    # checked its slot, built its producer and its decoding context).
    t_stream=$(log_epoch "$off" "cdc_plugin worker streaming slot") \
        || { log "$who: no 'streaming' line in the server log: timing from the restart"; t_stream=$t_restart; }
    R[$key.restart_s]=$(fsub "$t_stream" "$t_restart")
    R[$key.total_s]=$(fsub "$t_done" "$t_restart")
    R[$key.drain_s]=$(fsub "$t_done" "$t_stream")
    R[$key.eps]=$(fdiv "$n" "${R[$key.drain_s]}")
    R[$key.status]=$(q "SELECT format('events_published %s, transactions_published %s, in_flight %s, delivery_errors %s, restarts %s, last_error %s',
                          events_published, transactions_published, in_flight, delivery_errors, restarts, coalesce(last_error, 'none'))
                   FROM cdc_plugin.status()")
    [[ $ok == t ]] || { fail_row "$key" "timeout: Kafka acknowledged $ev of $n events after $CDC_TIMEOUT s"; return; }
    [[ $ev == "$((n + restate))" ]] || fail_row "$key" "the worker published $ev messages for $n transactions and $restate schema restatements"
    fge "${R[$key.pause_s]}" 1.0 && R[$key.warning]="the worker stalled ${R[$key.pause_s]} s at ${R[$key.pause_ev]} events, ${R[$key.pause_wal]} bytes of WAL unflushed (README: backlog)"
    [[ $(q "SELECT delivery_errors = 0 AND restarts = 0 AND last_error IS NULL FROM cdc_plugin.status()") == t ]] \
        || fail_row "$key" "the worker reported errors or restarts: ${R[$key.status]}"
    R[$key.topic]=$(($(topic_count "cdc.public.$table") - base_topic - restate))
    log "$who: restart -> streaming ${R[$key.restart_s]} s (not counted); $n events acknowledged ${R[$key.drain_s]} s after: ${R[$key.eps]} events/s"
}
if want backlog; then
    run_cdc_backlog backlog.cdc e2e_backlog_cdc "$VALUE_FORMAT"
    [[ $BACKLOG_JSON == 1 ]] && run_cdc_backlog backlog.json e2e_backlog_json json
    format_conf "$VALUE_FORMAT"
fi

# ================================================================ peer
# The peer runs with no cdc_plugin worker at all (cdc_plugin.database = '',
# its slot dropped), so the two pipelines never compete for the 2 cores.
peer_start() {  # topic
    q "SELECT pg_create_logical_replication_slot('peer', 'wal2json')" >/dev/null
    peer_pipe_start "$1"
}
# Starts pg_recvlogical | kcat on the existing slot 'peer'; sets RECV_PID,
# KCAT_PID and WALSENDER_PID once the walsender streams.
peer_pipe_start() {  # topic
    local topic=$1 i
    rm -f "$TMPD/peer.fifo"
    mkfifo "$TMPD/peer.fifo"
    kcat -P -b "$BOOT" -t "$topic" <"$TMPD/peer.fifo" 2>"$TMPD/kcat.$topic.err" &
    KCAT_PID=$!
    "$PG_BIN/pg_recvlogical" -h "$TMPD" -p "$PORT" -U "$PG_USER" -d "$DB" --slot peer --start \
        -o format-version=2 -o include-timestamp=1 -f - >"$TMPD/peer.fifo" 2>"$TMPD/recvlogical.$topic.err" &
    RECV_PID=$!
    BG_PIDS+=("$RECV_PID" "$KCAT_PID")
    WALSENDER_PID=""
    for ((i = 0; i < 100; i++)); do
        WALSENDER_PID=$(q "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'peer' AND active")
        [[ -n $WALSENDER_PID ]] && break
        sleep 0.1
    done
    [[ -n $WALSENDER_PID ]] || { cat "$TMPD/recvlogical.$topic.err" >&2; die "pg_recvlogical did not start streaming"; }
}
peer_stop() {
    peer_pipe_stop
    q "SELECT pg_drop_replication_slot('peer')" >/dev/null
}
peer_pipe_stop() {
    kill -INT "$RECV_PID" 2>/dev/null || true
    wait "$RECV_PID" 2>/dev/null || true
    wait "$KCAT_PID" 2>/dev/null || true    # EOF: kcat flushes and exits
}
# Warm-up through the pipeline: one row, 3 lines (B, I, C), pushed through
# kcat's 1 KiB input block with 1.1 KiB "M" lines (see run_peer). Sets
# PEER_BASE (messages in the topic) and PEER_PENDING (M lines still in
# kcat's buffer: they reach the topic with the load's first block).
peer_warmup() {  # table topic
    local c k=0 i
    q "INSERT INTO $1 (id, customer) VALUES (0, 'warm-up')" >/dev/null
    for ((i = 0; i < 300; i++)); do
        c=$(topic_count "$2")
        ((c >= 3)) && break
        q "SELECT pg_logical_emit_message(false, 'e2e_flush', repeat('x', 1100))" >/dev/null
        k=$((k + 1))
        sleep 0.1
    done
    ((c >= 3)) || die "warm-up did not reach the peer topic $2 (kcat: $(cat "$TMPD/kcat.$2.err"))"
    sleep 0.5
    PEER_BASE=$(topic_count "$2")
    PEER_PENDING=$((k - (PEER_BASE - 3)))
}
PEER_STATUS_SQL="SELECT extract(epoch FROM clock_timestamp()), coalesce(pg_wal_lsn_diff(pg_current_wal_flush_lsn(), sent_lsn), 0) FROM pg_stat_replication WHERE application_name = 'pg_recvlogical';"

# One peer run. kind: batch|single|latency.
run_peer() {
    local kind=$1 key=$1.peer table=e2e_$1_peer topic=peer.$1 base n0 n txns t0 t1 res t_done ok lines
    q CHECKPOINT >/dev/null
    check_idle
    peer_start "$topic"
    peer_warmup "$table" "$topic"
    base=$((PEER_BASE + PEER_PENDING))
    [[ $kind == latency ]] && consumer_start "$key" "$topic" wal2json
    n0=$(q "SELECT count(*) FROM $table")
    sampler_start "$TMPD/samples.$key" "$PEER_STATUS_SQL"
    meas_start "$key" "$WALSENDER_PID" "$RECV_PID" "$KCAT_PID"
    meas_start "$key.broker" "$BROKER_PID"
    t0=$(now)
    case $kind in
        batch)
            log "batch/peer: $ROWS rows in $((ROWS / BATCH_ROWS)) transactions of $BATCH_ROWS"
            psql_ -f "$TMPD/batch_$table.sql" >/dev/null || { fail_row "$key" "load failed"; sampler_stop; peer_stop; return; }
            ;;
        single)
            log "single/peer: pgbench -c $CLIENTS -j $THREADS -T $SECONDS_PER_RUN"
            run_pgbench "$TMPD/e2e_single_peer.pgbench" "$TMPD/pgbench.$key.log" -T "$SECONDS_PER_RUN" \
                || { cat "$TMPD/pgbench.$key.log" >&2; fail_row "$key" "pgbench failed"; sampler_stop; peer_stop; return; }
            ;;
        latency)
            log "latency/peer: pgbench -R $LATENCY_RATE -T $LATENCY_SECONDS"
            run_pgbench "$TMPD/e2e_latency_peer.pgbench" "$TMPD/pgbench.$key.log" -R "$LATENCY_RATE" -T "$LATENCY_SECONDS" \
                || { cat "$TMPD/pgbench.$key.log" >&2; fail_row "$key" "pgbench failed"; sampler_stop; peer_stop; return; }
            ;;
    esac
    t1=$(now)
    # kcat 1.7.1 reads stdin in 1 KiB fread() blocks: the last partial block
    # of output stays in kcat until more input comes. Push it through with
    # non-transactional logical messages (wal2json "M" lines of 1.1 KiB,
    # every 10 ms from the end of the load). They come after every line of
    # the load and kcat produces lines in order, so the topic holds all the
    # load's lines as soon as it holds base + lines messages.
    touch "$TMPD/pushing"
    ( while [[ -e $TMPD/pushing ]]; do
          echo "SELECT pg_logical_emit_message(false, 'e2e_flush', repeat('x', 1100));"; sleep 0.01
      done ) | psql_ >/dev/null 2>&1 &
    local pusher=$!
    BG_PIDS+=("$pusher")
    if [[ $kind == batch ]]; then
        n=$ROWS txns=$((ROWS / BATCH_ROWS))
    else
        n=$(pgbench_count "$TMPD/pgbench.$key.log") txns=$n
    fi
    # wal2json format-version 2: one line per change plus a B and a C line
    # per transaction (include-transaction defaults to true); kcat makes
    # each line a message.
    lines=$((n + 2 * txns))
    res=$("$PROBE" count --brokers "$BOOT" --topic "$topic" --expect $((base + lines)) --timeout "$PEER_TIMEOUT") || true
    rm -f "$TMPD/pushing"
    wait "$pusher" 2>/dev/null || true
    read -r ok t_done _ <<<"$res"
    meas_end "$key" "$(fsub "$t_done" "$t0")"
    meas_end "$key.broker" "$(fsub "$t_done" "$t0")"
    sampler_stop
    R[$key.events]=$n
    check_rows "$key" "$table" "$n0" "$n"
    R[$key.txns]=$txns
    R[$key.load_s]=$(fsub "$t1" "$t0")
    R[$key.total_s]=$(fsub "$t_done" "$t0")
    R[$key.drain_s]=$(fsub "$t_done" "$t1")
    R[$key.eps]=$(fdiv "$n" "${R[$key.total_s]}")
    [[ $kind != batch ]] && R[$key.tps]=$(pgbench_tps "$TMPD/pgbench.$key.log")
    read -r R[$key.lag_max] R[$key.lag_end] _ <<<"$(sample_stats "$TMPD/samples.$key" "$t1")"
    R[$key.topic]=$(($(topic_count "$topic") - base))
    R[$key.lines]=$lines
    peer_stop
    [[ $ok == reached ]] || fail_row "$key" "timeout: the topic holds $(($(awk '{ print $3 }' <<<"$res") - base)) of $lines lines"
    if [[ $kind == latency ]]; then
        consumer_finish "$key"
        [[ ${R[$key.c_events]:-0} == "$n" ]] || fail_row "$key" "the consumer measured ${R[$key.c_events]:-0} I/U/D events of $n"
    fi
    log "$kind/peer: ${R[$key.events]} events (+$((2 * txns)) B/C lines) in Kafka ${R[$key.drain_s]} s after the load: ${R[$key.eps]} events/s"
}

# The peer's backlog: the slot and the topic are set up (and warmed up)
# with the pipeline running, the pipeline is stopped (the slot stays, moved
# to the end of WAL), the load runs, and the pipeline is started again and
# timed until the topic holds all the load's lines.
run_peer_backlog() {
    local key=backlog.peer table=e2e_backlog_peer topic=peer.backlog base n lines end_lsn off t0 t_obs t_start res ok t_done pusher p i
    q CHECKPOINT >/dev/null
    peer_start "$topic"
    peer_warmup "$table" "$topic"
    peer_pipe_stop
    slot_to_end peer
    base=$(topic_count "$topic")
    log "backlog/peer: pipeline stopped, slot peer kept at $(slot_behind peer) bytes from the end of WAL; topic $topic holds $base messages"
    backlog_load "$key" "$table" peer || { q "SELECT pg_drop_replication_slot('peer')" >/dev/null; return; }
    n=${R[$key.events]}
    lines=$((3 * n))   # B, I, C per one-row transaction
    end_lsn=$(q "SELECT pg_current_wal_flush_lsn()")
    check_idle
    log "backlog/peer: starting pg_recvlogical | kcat on the backlog ($lines lines)"
    off=$(log_size)
    meas_start "$key.broker" "$BROKER_PID"
    t0=$(now)
    peer_pipe_start "$topic"
    meas_start "$key" "$WALSENDER_PID" "$RECV_PID" "$KCAT_PID"
    meas_start "$key.walsender" "$WALSENDER_PID"
    meas_start "$key.recvlogical" "$RECV_PID"
    meas_start "$key.kcat" "$KCAT_PID"
    t_obs=$(now)
    # the kcat tail flush, from when the walsender is within 64 KiB of the
    # load's end (e2e.push_peer_tail)
    PGAPPNAME=e2e_pusher psql_ -c "CALL e2e.push_peer_tail('$end_lsn')" >/dev/null 2>&1 &
    pusher=$!
    BG_PIDS+=("$pusher")
    res=$("$PROBE" count --brokers "$BOOT" --topic "$topic" --expect $((base + lines)) --timeout "$PEER_TIMEOUT") || true
    read -r ok t_done _ <<<"$res"
    [[ $t_done =~ ^[0-9.]+$ ]] || t_done=$(now)
    meas_end "$key" "$(fsub "$t_done" "$t_obs")"
    meas_end "$key.broker" "$(fsub "$t_done" "$t_obs")"
    for p in walsender recvlogical kcat; do meas_end "$key.$p" "$(fsub "$t_done" "$t_obs")"; done
    for ((i = 0; i < 100; i++)); do   # (it may not have connected yet)
        q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'e2e_pusher'" >/dev/null
        kill -0 "$pusher" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pusher" 2>/dev/null || true
    # decoding starts at the walsender's "starting logical decoding" line
    t_start=$(log_epoch "$off" 'starting logical decoding for slot "peer"') \
        || { log "backlog/peer: no 'starting logical decoding' line in the server log: timing from the pipeline's start"; t_start=$t0; }
    R[$key.restart_s]=$(fsub "$t_start" "$t0")
    R[$key.total_s]=$(fsub "$t_done" "$t0")
    R[$key.drain_s]=$(fsub "$t_done" "$t_start")
    R[$key.eps]=$(fdiv "$n" "${R[$key.drain_s]}")
    R[$key.lines]=$lines
    R[$key.topic]=$(($(topic_count "$topic") - base))
    peer_stop
    [[ $ok == reached ]] || fail_row "$key" "timeout: the topic holds $(($(awk '{ print $3 }' <<<"$res") - base)) of $lines lines"
    log "backlog/peer: start -> decoding ${R[$key.restart_s]} s (not counted); $n events (+$((2 * n)) B/C lines) in Kafka ${R[$key.drain_s]} s after: ${R[$key.eps]} events/s"
}

if [[ $PEER == 1 ]]; then
    log "restarting without the cdc_plugin worker for the peer pipeline"
    pg_stop
    phase_conf ""
    pg_start
    q "SELECT pg_drop_replication_slot('cdc_plugin')" >/dev/null
    make_batch_sql e2e_batch_peer
    want batch && run_peer batch
    want single && run_peer single
    want latency && run_peer latency
    want backlog && run_peer_backlog
fi

# ================================================================ report
ms() { [[ -n ${1:-} && $1 != -1 ]] && awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }' || echo -; }
mib() { [[ -n ${1:-} ]] && awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }' || echo -; }
v() { echo "${R[$1]:--}"; }

echo
echo "End-to-end CDC benchmark: commit -> Kafka acknowledgement, cdc_plugin worker vs peer"
echo "(wal2json format-version 2 | pg_recvlogical | kcat -P), one mock Kafka broker"
echo "(librdkafka mock cluster, loopback, 4 partitions), $(nproc) CPUs shared by everything."
echo "Workloads: batch = $ROWS rows, $BATCH_ROWS per INSERT ... SELECT transaction, one session;"
echo "single = pgbench -c $CLIENTS -j $THREADS -T $SECONDS_PER_RUN, one-row INSERT per transaction;"
echo "latency = the same at pgbench -R $LATENCY_RATE for $LATENCY_SECONDS s (rotate: into a new topic every $ROTATE_SLICE_S s);"
echo "backlog = $(((BACKLOG_TX + CLIENTS - 1) / CLIENTS * CLIENTS)) one-row transactions (pgbench -c $CLIENTS -j $THREADS -t) committed with the pipeline stopped, then drained."
echo "Worker: cdc_plugin.kafka_properties = 'linger.ms=$LINGER_MS' (idempotent, acks=all)."
echo
hdr=$(printf '%-8s %-10s %8s %7s %7s %7s %8s %8s %8s %8s %5s %5s %5s %8s %6s %6s %6s' \
    scenario pipeline events load_s total_s drain_s events/s commit/s lag_max lag_end cpu% brk% host% rss/hwm p50 p99 p99.9)
echo "$hdr"
printf '%*s\n' "${#hdr}" '' | tr ' ' '-'
row() {  # scenario pipeline label
    local k=$1.$2
    if [[ -n ${R[$k.error]:-} && -z ${R[$k.events]:-} ]]; then
        printf '%-8s %-10s ERROR: %s\n' "$1" "$3" "${R[$k.error]}"
        return
    fi
    printf '%-8s %-10s %8s %7s %7s %7s %8s %8s %8s %8s %5s %5s %5s %8s %6s %6s %6s\n' \
        "$1" "$3" "$(v "$k.events")" "$(v "$k.load_s")" "$(v "$k.total_s")" "$(v "$k.drain_s")" \
        "$(v "$k.eps")" "$(v "$k.tps" | sed 's/\..*//')" \
        "$([[ -n ${R[$k.lag_max]:-} ]] && echo "$(mib "${R[$k.lag_max]}")M" || echo -)" \
        "$([[ -n ${R[$k.lag_end]:-} ]] && echo "$(mib "${R[$k.lag_end]}")M" || echo -)" \
        "$(v "$k.cpu")" "$(v "$k.broker.cpu")" "${R[$k.host]:-${R[$k.broker.host]:--}}" \
        "$([[ -n ${R[$k.rss]:-} ]] && echo "${R[$k.rss]}/${R[$k.hwm]}M" || echo -)" \
        "$(ms "${R[$k.c_p50_us]:-}")" "$(ms "${R[$k.c_p99_us]:-}")" "$(ms "${R[$k.c_p999_us]:-}")"
    [[ -n ${R[$k.error]:-} ]] && printf '%-8s %-10s ^ FAILED: %s\n' "" "" "${R[$k.error]}"
    [[ -n ${R[$k.warning]:-} ]] && printf '%-8s %-10s ^ WARNING: %s\n' "" "" "${R[$k.warning]}"
    return 0
}
for s in batch single backlog latency; do
    want "$s" || continue
    row "$s" cdc cdc_plugin
    [[ $s == backlog && $BACKLOG_JSON == 1 ]] && row "$s" json cdc-json
    [[ $PEER == 1 ]] && row "$s" peer peer
done
want rotate && row rotate cdc cdc_plugin
want kafka && row kafka kafka kafka-only

ratio() {  # scenario [field]: cdc_plugin value / peer value
    local f=${2:-eps} a b
    a=${R[$1.cdc.$f]:-} b=${R[$1.peer.$f]:-}
    [[ -n $a && -n $b && $a != - && $b != - && -z ${R[$1.cdc.error]:-} && -z ${R[$1.peer.error]:-} ]] \
        || { echo -; return; }
    awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
jratio() {  # field: the json backlog's value / the first backlog's
    local a=${R[backlog.json.$1]:-} b=${R[backlog.cdc.$1]:-}
    [[ -n $a && -n $b && -z ${R[backlog.json.error]:-} && -z ${R[backlog.cdc.error]:-} ]] || { echo -; return; }
    awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
# events per CPU-second of the pipeline's own processes
for k in batch.cdc batch.peer single.cdc single.peer backlog.cdc backlog.json backlog.peer; do
    [[ -n ${R[$k.eps]:-} && -n ${R[$k.cpu]:-} && ${R[$k.cpu]} != 0 ]] && \
        R[$k.epc]=$(awk -v e="${R[$k.eps]}" -v c="${R[$k.cpu]}" 'BEGIN { printf "%.0f", e * 100 / c }')
done
echo
if [[ $PEER == 1 ]]; then
    echo "cdc_plugin / peer: events/s batch $(ratio batch)x, single (at the commit rate) $(ratio single)x," \
         "backlog $(ratio backlog)x;"
    echo "  events per CPU-second batch $(ratio batch epc)x ($(v batch.cdc.epc) vs $(v batch.peer.epc))," \
         "single $(ratio single epc)x ($(v single.cdc.epc) vs $(v single.peer.epc))," \
         "backlog $(ratio backlog epc)x ($(v backlog.cdc.epc) vs $(v backlog.peer.epc))."
fi
if want backlog; then
    echo "backlog: built at $(v backlog.cdc.tps | sed 's/\..*//') tx/s (cdc_plugin's) / $(v backlog.peer.tps | sed 's/\..*//') tx/s (peer's) with nothing" \
         "consuming; retained WAL $(mib "${R[backlog.cdc.lag_max]:-}") / $(mib "${R[backlog.peer.lag_max]:-}") MiB (lag_max)."
    echo "  Not counted in events/s: cdc_plugin restart -> worker streaming $(v backlog.cdc.restart_s) s" \
         "(total_s = restart command -> acknowledged); peer pipeline start -> walsender decoding $(v backlog.peer.restart_s) s."
    echo "  Longest pause of the worker's events_published during its drain (0.1 s samples): $(v backlog.cdc.pause_s) s."
    if [[ $BACKLOG_JSON == 1 ]]; then
        echo "  cdc-json / cdc_plugin ($VALUE_FORMAT): events/s $(jratio eps)x ($(v backlog.json.eps) vs $(v backlog.cdc.eps))," \
             "events per CPU-second $(jratio epc)x ($(v backlog.json.epc) vs $(v backlog.cdc.epc)); built at $(v backlog.json.tps | sed 's/\..*//') tx/s," \
             "longest pause $(v backlog.json.pause_s) s."
    fi
    [[ $PEER == 1 ]] && echo "  Peer cpu% by process: walsender (wal2json) $(v backlog.peer.walsender.cpu), pg_recvlogical $(v backlog.peer.recvlogical.cpu)," \
        "kcat $(v backlog.peer.kcat.cpu)."
fi

verdict() { case $1 in yes) echo MET ;; no) echo MISSED ;; *) echo "not evaluated" ;; esac; }
target() { printf '  %-60s %-62s %s\n' "$1" "$2" "$(verdict "$3")"; }
keeps_up() {  # key -> yes|no|na: the backlog left when the load stopped drained within 1 s
    [[ -n ${R[$1.drain_s]:-} && -z ${R[$1.error]:-} ]] || { echo na; return; }
    fle "${R[$1.drain_s]}" 1.0 && echo yes || echo no
}
lagtxt() { echo "$(v "$1.tps" | sed 's/\..*//') tx/s; lag max $(mib "$(v "$1.lag_max")") MiB, end $(mib "$(v "$1.lag_end")") MiB; drained in $(v "$1.drain_s") s"; }
p99ok() {  # key
    [[ -n ${R[$1.c_p99_us]:-} && -z ${R[$1.error]:-} ]] || { echo na; return; }
    ((R[$1.c_p99_us] < TARGET_P99_MS * 1000)) && echo yes || echo no
}
echo
echo "Targets:"
want single && target "worker keeps up with the commit rate (pgbench -c $CLIENTS)" "$(lagtxt single.cdc)" "$(keeps_up single.cdc)"
want latency && target "  ... at pgbench -R $LATENCY_RATE" "$(lagtxt latency.cdc)" "$(keeps_up latency.cdc)"
if want batch; then
    b=na
    [[ -n ${R[batch.cdc.eps]:-} && -z ${R[batch.cdc.error]:-} ]] && { fge "${R[batch.cdc.eps]}" "$TARGET_BATCH_EPS" && b=yes || b=no; }
    target ">= $TARGET_BATCH_EPS events/s, batched inserts" "$(v batch.cdc.eps) events/s" "$b"
fi
want latency && target "p99 < $TARGET_P99_MS ms at $LATENCY_RATE tx/s, one topic" \
    "p99 $(ms "${R[latency.cdc.c_p99_us]:-}") ms (commit->consumed) at $(v latency.cdc.tps | sed 's/\..*//') tx/s" "$(p99ok latency.cdc)"
want rotate && target "  ... topic changing every ${ROTATE_SLICE_S} s (rotate)" \
    "p99 $(ms "${R[rotate.cdc.c_p99_us]:-}") ms (commit->consumed) at $(v rotate.cdc.tps | sed 's/\..*//') tx/s" "$(p99ok rotate.cdc)"
if want backlog && [[ $BACKLOG_JSON == 1 && $VALUE_FORMAT == protobuf ]]; then
    r=$(jratio eps) x=na
    [[ $r != - ]] && { fge "$r" "$TARGET_JSON_RATIO" && x=yes || x=no; }
    target ">= ${TARGET_JSON_RATIO}x protobuf's throughput in json, single-row backlog" "${r}x ($(v backlog.json.eps) vs $(v backlog.cdc.eps) events/s)" "$x"
fi
if [[ $PEER == 1 ]]; then
    for s in batch backlog single; do
        want "$s" || continue
        r=$(ratio "$s") x=na
        [[ $r != - ]] && { fge "$r" "$TARGET_PEER_RATIO" && x=yes || x=no; }
        case $s in
            batch) l="the peer's throughput, batch" ;;
            backlog) l="the peer's throughput, single-row backlog" ;;
            single) l="the peer, single-row at the commit rate (both keep up)" ;;
        esac
        target ">= ${TARGET_PEER_RATIO}x $l" "${r}x ($(v "$s.cdc.eps") vs $(v "$s.peer.eps") events/s)" "$x"
    done
fi

cat <<EOF

Notes:
- events/s = events / total_s. total_s runs from the start of the load until Kafka has
  acknowledged every event: for cdc_plugin until status() shows events_published at the
  count with in_flight = 0 (polled inside the server every 5 ms); for the peer until the
  sum of the topic's high watermarks reaches the number of lines (polled every 10 ms).
  drain_s = total_s - load_s: how long after the load stopped the pipeline finished. A
  pipeline keeps up when that stays under 1 s; free-running single-row throughput is then
  the commit rate pgbench reached (commit/s), which depends on how much of the $(nproc) CPUs
  the pipeline leaves to PostgreSQL and pgbench: the single-row ratio measures that, not
  how fast either pipeline could go. backlog measures the latter.
- backlog: the transactions are committed while the pipeline is stopped (its slot retains
  the WAL; load_s and commit/s are that load's), then the pipeline starts: events/s =
  events / drain_s, drain_s running from the moment decoding starts (cdc_plugin: the
  worker's "streaming" log line after the cluster restarted with it; peer: the
  walsender's "starting logical decoding" line) until Kafka acknowledged every event.
  total_s adds the start (restart command, resp. launching pg_recvlogical | kcat).
  lag_max there is the WAL the slot retained. cpu%, brk%, host% are over the drain, from
  when the script found the worker's (walsender's) pid; rss/hwm those processes' at the end.
  Nothing else runs meanwhile: the pipeline has both CPUs to itself, with the broker.
  cdc-json: the same again on its own table and topic, the worker restarted with
  cdc_plugin.value_format = key_format = 'json' (each message is the envelope's to_json
  text and the key columns as a JSON object: one protobuf parse and one render more per
  message than protobuf).
- Peer: the cluster is restarted without the worker first, so the pipelines never run
  at the same time. Its topic gets one message per wal2json line: each row's I line plus a
  B and a C line per transaction (events counts rows only). kcat 1.7.1 reads stdin in
  1 KiB fread() blocks, so the tail of the output stays in kcat until more input comes;
  after each load the script emits a 1.1 KiB non-transactional logical message ("M"
  line, not counted) every 10 ms to push it through (backlog: only once the walsender
  has sent WAL to within 64 KiB of the load's end, e2e.push_peer_tail).
- lag_max / lag_end: WAL behind, sampled every 0.5 s while the load ran (end = last
  sample before it stopped). cdc_plugin: status().wal_behind_bytes (flushed WAL not yet
  acknowledged by Kafka); peer: flush LSN - sent_lsn of pg_recvlogical's walsender (WAL
  not yet decoded and sent; lines waiting in the pipe or in kcat are not in it).
- cpu%: utime+stime over total_s in % of one core, of the worker process (decoding and
  librdkafka threads) or, for the peer, of walsender + pg_recvlogical + kcat together.
  brk%: the mock broker process; host%: all CPUs busy (everything, this run or not).
  rss/hwm: VmRSS at the end / VmHWM (peak; reset at the start of each run), MiB.
- p50/p99/p99.9 (ms): commit -> consumed for every event of the run, by e2e_probe:
  receive time minus the commit time the event carries (cdc_plugin: Envelope.source.
  commit_time_us; wal2json: "timestamp"), one host clock. An upper bound of commit ->
  acknowledgement: it adds the consumer's fetch latency (the mock broker answers an empty
  fetch only after fetch.wait.max.ms = $FETCH_WAIT_MS ms, even if data arrives meanwhile) and the
  consumer's scheduling on the shared CPUs. The worker used linger.ms = $LINGER_MS.
- The mock broker finds a fetch's offset by walking the partition's list of batches from
  the oldest (librdkafka 2.0.2 mock, whose source notes that an index is still to be added), so its CPU grows with
  the log: over a 25 s run at 5k events/s it ends up the busiest process and the tail
  latency of every pipeline on this machine grows with it. rotate spreads the same load
  over a new topic every ${ROTATE_SLICE_S} s (time-sliced partitions), keeping each log short;
  kafka-only is the same producer/consumer path with no PostgreSQL and no decoding.
  kcat's messages have no key: librdkafka's sticky partitioner batches them into one
  partition at a time, so the peer makes fewer, larger batches than the worker's keyed
  messages over 4 partitions, and costs the mock broker less (brk%) at the same rate.
EOF
if [[ $PEER == 1 || $(want batch && echo y) == y ]]; then
    echo "- Checks: cdc topics hold $(v batch.cdc.topic) (batch) and $(v single.cdc.topic) (single) messages = events + 1 warm-up row;" \
         "backlog: $(v backlog.cdc.topic) past the warm-up row for $(v backlog.cdc.events) events$([[ $BACKLOG_JSON == 1 ]] && echo ", cdc-json $(v backlog.json.topic) for $(v backlog.json.events)")."
    [[ $PEER == 1 ]] && echo "  Peer topics hold $(v batch.peer.topic) (batch), $(v single.peer.topic) (single), $(v backlog.peer.topic) (backlog) messages past the warm-up" \
        "for $(v batch.peer.lines) / $(v single.peer.lines) / $(v backlog.peer.lines) lines (+ M lines)."
    [[ -n ${R[latency.peer.c_other]:-} ]] && echo "  Peer latency consumer: ${R[latency.peer.c_events]} I lines timed, ${R[latency.peer.c_other]} other (B/C/M) lines, ${R[latency.peer.c_bad]} unparsable."
fi
echo "- Worker status() after its scenarios: ${R[status]}."
[[ -n ${R[backlog.cdc.status]:-} ]] && echo "  After the backlog (a new worker process, counters from 0): ${R[backlog.cdc.status]}."
[[ -n ${R[backlog.json.status]:-} ]] && echo "  After the json backlog (another new worker process): ${R[backlog.json.status]}."
badsecs() { [[ -n ${R[$1.c_secs]:-} ]] && echo "$2 ${R[$1.c_bad_secs]} of ${R[$1.c_secs]}"; }
if want latency || want rotate || want kafka; then
    echo "- Seconds (of commit time) whose own p99 was >= $TARGET_P99_MS ms: $(for k in latency.cdc:cdc_plugin latency.peer:peer rotate.cdc:rotate kafka.kafka:kafka-only; do badsecs "${k%%:*}" "${k#*:}"; done | paste -sd ';' | sed 's/;/, /g')"
    echo "  (per-second p99s: progress log on stderr)."
fi
if [[ $PERF == 1 ]]; then
    for s in batch single backlog-cdc backlog-json; do
        if [[ -s $TMPD/perf.$s.top ]]; then
            echo
            echo "perf (cpu-clock) of the worker during $s/cdc_plugin:"
            cat "$TMPD/perf.$s.top"
        fi
    done
fi
rc=0
((FAILED == 0)) || rc=3
exit "$rc"
