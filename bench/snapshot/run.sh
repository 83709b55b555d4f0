#!/usr/bin/env bash
# Snapshot benchmark: how fast the cdc_plugin worker publishes a table
# snapshot (cdc_plugin.snapshot()) to Kafka, next to COPY TO STDOUT of the
# same table (the floor for reading it out of PostgreSQL at all), what the
# snapshot does to the streaming latency of a concurrent single-row load,
# and how much memory the worker needs for it. A benchmark, not a test: it
# prints figures and PASS/MISS per target; missed targets do not fail it.
#
#   bench/snapshot/run.sh                      # 2M rows, ~2 minutes here
#   ROWS=200000 bench/snapshot/run.sh          # quick
#   CHUNK_ROWS=50000 KEEP=1 bench/snapshot/run.sh
#
# What it does (README.md has the details):
#   1. mock Kafka broker (tools/kafka/cdc_mock_broker, 1 broker, PARTITIONS
#      partitions per auto-created topic) and a throwaway cluster as the
#      'postgres' OS user, first with cdc_plugin.database = '' (no worker)
#      and cdc_plugin.snapshot_mode = 'never';
#   2. loads ROWS rows of a 6-column table (~200 B a row) and a latency
#      table, VACUUM (FREEZE, ANALYZE), CHECKPOINT; restarts with the worker
#      (its slot is created after the load: nothing of it is streamed);
#   3. COPY snap_t TO STDOUT read by psql into /dev/null, COPY_RUNS times;
#   4. pgbench -R RATE one-row INSERTs into snap_lat, the latency consumer
#      (snap_probe, bench/e2e/e2e_probe.c's code) timing commit -> consumed
#      for each event; BASELINE_SECONDS of that load alone, then
#      SELECT cdc_plugin.snapshot('public.snap_t') with the load still on,
#      until cdc_plugin.snapshots shows it done; worker RSS sampled every
#      0.1 s meanwhile; the load stops TAIL_SECONDS later;
#   5. IDLE_SNAPSHOT=1: a second snapshot of the table with no load.
#
# Environment:
#   ROWS              rows of the snapshot table (2000000)
#   CHUNK_ROWS        cdc_plugin.snapshot_chunk_rows (unset: the setting's default)
#   RATE              pgbench -R of the streaming load, tx/s (2000)
#   PARTITIONS        the broker's partitions per auto-created topic (4)
#   KEEP              1: keep the scratch directory (server log, samples) (0)
#   BASELINE_SECONDS  the load alone before the snapshot is requested, s (10)
#   TAIL_SECONDS      the load after the snapshot is done, s (2; not measured)
#   IDLE_SNAPSHOT     1: also time a snapshot with no concurrent load (1)
#   COPY_RUNS         COPY TO STDOUT runs; the best is compared (2)
#   CLIENTS/THREADS   pgbench -c / -j of the load (4 / 2)
#   LINGER_MS         the worker's linger.ms (cdc_plugin.kafka_properties) (5)
#   FETCH_WAIT_MS     fetch.wait.max.ms of the latency consumer (2)
#   SHARED_BUFFERS    shared_buffers (128MB)
#   SNAPSHOT_TIMEOUT  s to wait for a snapshot to finish (900)
#   PG_EXTRA_CONF     more postgresql.conf lines, name=value;name=value
#   BENCH_PORT        port of the throwaway cluster (5499; unix socket only)
#   PG_BIN            PostgreSQL 15 bin dir (/usr/lib/postgresql/15/bin)
#
# Must run as root (the cluster runs as the 'postgres' OS user). Results go
# to stdout, progress to stderr. Exit status: 0 when everything was
# measured (whatever the targets say); 1 on setup failure; 3 when a
# snapshot failed, was cancelled or timed out (the report says so).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROWS=${ROWS:-2000000}
CHUNK_ROWS=${CHUNK_ROWS:-}
RATE=${RATE:-2000}
PARTITIONS=${PARTITIONS:-4}
KEEP=${KEEP:-0}
BASELINE_SECONDS=${BASELINE_SECONDS:-10}
TAIL_SECONDS=${TAIL_SECONDS:-2}
IDLE_SNAPSHOT=${IDLE_SNAPSHOT:-1}
COPY_RUNS=${COPY_RUNS:-2}
CLIENTS=${CLIENTS:-4}
THREADS=${THREADS:-2}
LINGER_MS=${LINGER_MS:-5}
FETCH_WAIT_MS=${FETCH_WAIT_MS:-2}
SHARED_BUFFERS=${SHARED_BUFFERS:-128MB}
SNAPSHOT_TIMEOUT=${SNAPSHOT_TIMEOUT:-900}
PG_EXTRA_CONF=${PG_EXTRA_CONF:-}
PORT=${BENCH_PORT:-5499}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=postgres
DB=postgres
WARMUP_SECONDS=2       # of the load, before the baseline window

# Targets (issue text; 2-core machine).
TARGET_ROWS_PER_S=250000
TARGET_COPY_RATIO=0.4
TARGET_P99_MS=50
TARGET_RSS_MB=128

log() { printf '[snapshot-bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "SETUP FAILURE: $*"; exit 1; }

for v in ROWS RATE PARTITIONS BASELINE_SECONDS COPY_RUNS CLIENTS THREADS FETCH_WAIT_MS SNAPSHOT_TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $TAIL_SECONDS =~ ^[0-9]+$ ]] || die "TAIL_SECONDS must be a non-negative integer (got '$TAIL_SECONDS')"
[[ -z $CHUNK_ROWS || $CHUNK_ROWS =~ ^[1-9][0-9]*$ ]] || die "CHUNK_ROWS must be a positive integer (got '$CHUNK_ROWS')"
[[ $KEEP =~ ^[01]$ && $IDLE_SNAPSHOT =~ ^[01]$ ]] || die "KEEP and IDLE_SNAPSHOT are 0 or 1"
[[ $LINGER_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "LINGER_MS must be a number (got '$LINGER_MS')"
[[ $(id -u) -eq 0 ]] || die "run as root (the cluster is run as the '$PG_USER' OS user via runuser)"
id "$PG_USER" >/dev/null 2>&1 || die "OS user '$PG_USER' does not exist"
for f in initdb pg_ctl psql pgbench pg_config; do
    [[ -x $PG_BIN/$f ]] || die "$PG_BIN/$f not found (set PG_BIN)"
done
command -v cc >/dev/null || die "no C compiler (cc)"
[[ -r /usr/include/librdkafka/rdkafka.h ]] || die "librdkafka-dev is not installed"
[[ -x $REPO/tools/kafka/cdc_mock_broker ]] || die "tools/kafka/cdc_mock_broker is not built (make kafka-tools)"
for f in "$HERE/snap_probe.c" "$REPO/bench/e2e/e2e_probe.c" "$REPO/bench/e2e/single_insert.pgbench"; do
    [[ -r $f ]] || die "$f is missing"
done
PKGLIBDIR=$("$PG_BIN/pg_config" --pkglibdir)
[[ -f $PKGLIBDIR/cdc_plugin.so ]] || die "cdc_plugin is not installed ($PKGLIBDIR/cdc_plugin.so; run make install)"
export PG_CONFIG=$PG_BIN/pg_config   # for test/lib.sh
# shellcheck source=../../test/lib.sh
source "$REPO/test/lib.sh"
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup
TMPD=""
BROKER_PID=""
BG_PIDS=()
SETUP_DONE=0
WORKER_PID=""
# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    rm -f "$TMPD/sampling" 2>/dev/null
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
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
    fi
    if [[ -n $BROKER_PID ]]; then
        kill "$BROKER_PID" 2>/dev/null
        wait "$BROKER_PID" 2>/dev/null
    fi
    if [[ -n $TMPD && -d $TMPD ]]; then
        if [[ $KEEP == 1 ]]; then
            log "scratch directory kept: $TMPD (server.log, samples.*, latency.dump)"
        else
            rm -rf "$TMPD"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# ---------------------------------------------------------------- helpers
# (as in bench/e2e/run.sh) Clients run as root, -U postgres over the unix
# socket in $TMPD.
psql_() {
    "$PG_BIN/psql" -h "$TMPD" -p "$PORT" -U "$PG_USER" -d "$DB" -X -q -v ON_ERROR_STOP=1 "$@"
}
q() { psql_ -At -F ' ' -c "$1"; }
now() { echo "$EPOCHREALTIME"; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "-" }'; }
fge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
flt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# utime+stime of a process (all its threads), in clock ticks.
proc_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    s=${s##*) }
    awk '{ print $12 + $13 }' <<<"$s"
}
# busy and total jiffies of all CPUs.
host_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat; }
check_idle() {
    local b0 t0h b1 t1h
    read -r b0 t0h <<<"$(host_ticks)"
    sleep 1
    read -r b1 t1h <<<"$(host_ticks)"
    if ((t1h > t0h && (b1 - b0) * 100 / (t1h - t0h) >= 20)); then
        log "warning: CPUs $(((b1 - b0) * 100 / (t1h - t0h)))% busy before timing (other processes): figures will be noisy"
    fi
}
# Memory lines of /proc/<pid>/status, kB: VmRSS VmHWM RssAnon RssFile RssShmem.
proc_mem() {
    awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
         /^RssShmem:/ { s = $2 } END { print r + 0, h + 0, a + 0, f + 0, s + 0 }' "/proc/$1/status" 2>/dev/null \
        || echo "0 0 0 0 0"
}
v() { echo "${R[$1]:--}"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Samplers, until samplers_stop: the worker's memory every 0.1 s (epoch +
# proc_mem) and status() every 0.25 s (one psql session).
samplers_start() {  # suffix
    touch "$TMPD/sampling"
    ( while [[ -e $TMPD/sampling ]]; do echo "$EPOCHREALTIME $(proc_mem "$WORKER_PID")"; sleep 0.1; done ) \
        >"$TMPD/samples.mem.$1" &
    MEM_SAMPLER=$!
    BG_PIDS+=("$MEM_SAMPLER")
    ( while [[ -e $TMPD/sampling ]]; do
          echo "SELECT extract(epoch FROM clock_timestamp()), snapshot_id, snapshot_rows, in_flight, wal_behind_bytes, events_published FROM cdc_plugin.status();"
          sleep 0.25
      done ) | psql_ -At -F ' ' >"$TMPD/samples.status.$1" 2>&1 &
    STATUS_SAMPLER=$!
    BG_PIDS+=("$STATUS_SAMPLER")
}
samplers_stop() {
    rm -f "$TMPD/sampling"
    wait "$MEM_SAMPLER" 2>/dev/null || true
    wait "$STATUS_SAMPLER" 2>/dev/null || true
}
# Max of each memory column over the samples: VmRSS VmHWM RssAnon RssFile RssShmem (kB).
mem_max() {
    awk 'NF == 6 { for (i = 2; i <= 6; i++) if ($i + 0 > m[i]) m[i] = $i + 0; n++ }
         END { printf "%d %d %d %d %d %d\n", m[2], m[3], m[4], m[5], m[6], n }' "$1"
}

declare -A R=()
FAILED=0
NOTES=()

# ---------------------------------------------------------------- setup
cd /   # the postgres user may not be able to read the caller's cwd
TMPD=$(mktemp -d /tmp/cdc-snapshot-bench.XXXXXX)
chown "$PG_USER": "$TMPD"
chmod 700 "$TMPD"
log "throwaway cluster and broker in $TMPD (port $PORT, unix socket only)"

cc -std=gnu11 -O2 -Wall -o "$TMPD/snap_probe" "$HERE/snap_probe.c" -lrdkafka \
    || die "could not build snap_probe"
PROBE=$TMPD/snap_probe

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

# ---- snapshot benchmark ----
port = $PORT
listen_addresses = ''
unix_socket_directories = '$TMPD'
max_connections = 40
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
$(plugin_libraries_conf)
shared_preload_libraries = 'cdc_plugin'
cdc_plugin.kafka_bootstrap_servers = '$BOOT'
cdc_plugin.topic_prefix = 'cdc'
cdc_plugin.kafka_properties = 'linger.ms=$LINGER_MS'
cdc_plugin.snapshot_mode = 'never'
$([[ -n $CHUNK_ROWS ]] && echo "cdc_plugin.snapshot_chunk_rows = $CHUNK_ROWS")
# a throwaway cluster: the disk is not what is measured; synchronous_commit
# stays on, so a commit's WAL is flushed (to the OS) before it returns
fsync = off
shared_buffers = $SHARED_BUFFERS
max_wal_size = 8GB
checkpoint_timeout = 1h
autovacuum = off
timezone = 'UTC'
log_min_messages = info
log_line_prefix = '%m [%p] '
log_timezone = 'UTC'
EOF
if [[ -n $PG_EXTRA_CONF ]]; then
    tr ';' '\n' <<<"$PG_EXTRA_CONF" >>"$TMPD/data/postgresql.conf"
    log "extra settings: $PG_EXTRA_CONF"
fi
# cdc_plugin.database comes last: phase_conf rewrites it.
phase_conf() {  # database name ('' = no worker)
    sed -i '/^cdc_plugin.database = /d' "$TMPD/data/postgresql.conf"
    echo "cdc_plugin.database = '$1'" >>"$TMPD/data/postgresql.conf"
}
pg_start() {
    runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" -l "$TMPD/server.log" \
        -w -t 60 start >/dev/null || die "the cluster did not start"
}
pg_stop() {
    runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" -m fast -w -t 60 stop >/dev/null \
        || die "the cluster did not stop"
}

# --- phase 1: no worker; the table is loaded
phase_conf ""
pg_start
log "server: $(q 'SELECT version()')"
psql_ <<'SQL' || die "schema failed"
CREATE EXTENSION cdc_plugin;
-- the snapshot table: 6 columns, ~200 bytes a row
CREATE TABLE snap_t (
    id          bigint PRIMARY KEY,
    account_id  int NOT NULL,
    customer    text NOT NULL,
    amount      numeric(12,2) NOT NULL,
    created_at  timestamptz NOT NULL,
    note        text NOT NULL
);
-- the streaming load's table (bench/e2e's columns and pgbench script)
CREATE TABLE snap_lat (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer    text,
    amount      numeric(12,2),
    created_at  timestamptz,
    paid        bool
);
CREATE SCHEMA snapbench;
-- Waits, inside the server, until snapshot p_id is no longer queued or
-- running (polling cdc_plugin.snapshots every 10 ms, a new MVCC snapshot
-- each time); returns its row and the wall clock time it was seen so.
CREATE FUNCTION snapbench.wait_snapshot(p_id bigint, p_timeout float8,
        OUT seen_epoch float8, OUT state text, OUT rows_done bigint, OUT chunks_done bigint,
        OUT requested_epoch float8, OUT started_epoch float8, OUT finished_epoch float8,
        OUT error text)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
    s  record;
BEGIN
    LOOP
        SELECT * INTO s FROM cdc_plugin.snapshots WHERE id = p_id;
        IF s.state NOT IN ('queued', 'running') OR clock_timestamp() - t0 > p_timeout * interval '1 second' THEN
            seen_epoch := extract(epoch FROM clock_timestamp());
            state := s.state;
            rows_done := s.rows_done;
            chunks_done := s.chunks_done;
            requested_epoch := extract(epoch FROM s.requested);
            started_epoch := extract(epoch FROM s.started);
            finished_epoch := extract(epoch FROM s.finished);
            error := s.error;
            RETURN;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$fn$;
SQL
log "loading $ROWS rows into snap_t (no worker running)"
t0=$(now)
q "INSERT INTO snap_t
   SELECT g, (g % 100000)::int, 'customer_' || lpad((g % 5000)::text, 4, '0'),
          ((g * 37) % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
          repeat(md5(g::text), 4)
     FROM generate_series(1, $ROWS) g" >/dev/null || die "loading snap_t failed"
q "VACUUM (FREEZE, ANALYZE) snap_t" >/dev/null
q "CHECKPOINT" >/dev/null
log "loaded in $(fsub "$(now)" "$t0") s (with VACUUM and CHECKPOINT)"
read -r R[avg_row] R[table_mb] <<<"$(q "SELECT round(avg(pg_column_size(t.*))), round(pg_table_size('snap_t') / 1048576.0)
                                         FROM snap_t t")"

# --- phase 2: the worker, created after the load (snapshot_mode = 'never')
pg_stop
phase_conf "$DB"
pg_start
for ((i = 0; i < 300; i++)); do
    st=$(q "SELECT state, coalesce(pid, 0), broker FROM cdc_plugin.status()")
    [[ $st == "streaming "*" up" ]] && { WORKER_PID=$(awk '{ print $2 }' <<<"$st"); break; }
    sleep 0.1
done
[[ -n $WORKER_PID ]] || die "the cdc_plugin worker is not streaming: $(q 'SELECT state, last_error FROM cdc_plugin.status()')"
R[chunk_rows]=$(q "SHOW cdc_plugin.snapshot_chunk_rows")
log "cdc_plugin worker pid $WORKER_PID streaming; snapshot_chunk_rows = ${R[chunk_rows]}"
[[ $(q "SELECT count(*) FROM cdc_plugin.snapshots") == 0 ]] || die "snapshot_mode = 'never' but cdc_plugin.snapshots is not empty"
# warm-up: creates the latency topic and the producer id before anything is timed
q "INSERT INTO snap_lat (customer) VALUES ('warm-up')" >/dev/null
for ((i = 0; i < 300; i++)); do
    [[ $(q "SELECT events_published >= 1 AND in_flight = 0 FROM cdc_plugin.status()") == t ]] && break
    sleep 0.1
done
R[ev0]=$(q "SELECT events_published FROM cdc_plugin.status()")
[[ ${R[ev0]} == 1 ]] || die "expected the warm-up row as the only event published, status() says ${R[ev0]}"
SETUP_DONE=1

# --- COPY TO STDOUT: the floor
copy_best=""
copy_all=()
for ((k = 1; k <= COPY_RUNS; k++)); do
    check_idle
    t0=$(now)
    psql_ -c 'COPY snap_t TO STDOUT' >/dev/null || die "COPY failed"
    d=$(fsub "$(now)" "$t0")
    copy_all+=("$d")
    [[ -z $copy_best ]] || flt "$d" "$copy_best" && copy_best=$d
    log "COPY snap_t TO STDOUT (text, psql > /dev/null) #$k: $d s, $(fdiv "$ROWS" "$d") rows/s"
done
R[copy_s]=$copy_best
R[copy_rps]=$(fdiv "$ROWS" "$copy_best")

# --- latency consumer and the streaming load
sed "s/@TABLE@/snap_lat/" "$REPO/bench/e2e/single_insert.pgbench" >"$TMPD/snap_lat.pgbench"
"$PROBE" --brokers "$BOOT" --topic cdc.public.snap_lat --out "$TMPD/latency.dump" \
    --ready-file "$TMPD/probe.ready" -X "fetch.wait.max.ms=$FETCH_WAIT_MS" \
    >"$TMPD/probe.out" 2>"$TMPD/probe.err" &
PROBE_PID=$!
BG_PIDS+=("$PROBE_PID")
for ((i = 0; i < 300; i++)); do
    [[ -e $TMPD/probe.ready ]] && break
    kill -0 "$PROBE_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -e $TMPD/probe.ready ]] || { cat "$TMPD/probe.err" >&2; die "the latency consumer did not start"; }
sleep 1   # its first fetches

# (as in bench/e2e/run.sh) Epoch of the first server log line after byte
# offset $1 matching the extended regex $2 (log_line_prefix '%m [%p] ',
# log_timezone UTC); fails if there is none.
log_epoch() {  # offset regex
    local line
    line=$(tail -c +$(($1 + 1)) "$TMPD/server.log" | grep -E -m 1 -- "$2") || return 1
    date -u -d "$(awk '{ print $1, $2 }' <<<"$line")" +%s.%N
}
log_size() { stat -c %s "$TMPD/server.log"; }

# Requests a snapshot of snap_t and waits for it to end; fills R[$1.*].
run_snapshot() {  # key
    local key=$1 id res c0 c1 h0 t0h h1 t1h seen log_off
    R[$key.mem0]=$(proc_mem "$WORKER_PID")
    samplers_start "$key"
    c0=$(proc_ticks "$WORKER_PID")
    read -r h0 t0h <<<"$(host_ticks)"
    log_off=$(log_size)
    id=$(q "SELECT cdc_plugin.snapshot('public.snap_t')") || { R[$key.error]="snapshot() failed"; FAILED=1; samplers_stop; return; }
    log "$key: snapshot $id requested"
    res=$(q "SELECT seen_epoch, state, rows_done, chunks_done, requested_epoch, coalesce(started_epoch, 0),
                    coalesce(finished_epoch, 0), coalesce(error, '-')
               FROM snapbench.wait_snapshot($id, $SNAPSHOT_TIMEOUT)")
    c1=$(proc_ticks "$WORKER_PID")
    read -r h1 t1h <<<"$(host_ticks)"
    samplers_stop
    read -r seen R[$key.state] R[$key.rows] R[$key.chunks] R[$key.req] R[$key.start] R[$key.fin] R[$key.err] <<<"$res"
    R[$key.id]=$id
    R[$key.seen]=$seen
    R[$key.view]=$(q "SELECT format('requested %s, started %s, finished %s', requested, started, finished)
                        FROM cdc_plugin.snapshots WHERE id = $id")
    # started/finished as the view shows them, unless they precede the
    # request: then the worker's LOG lines (log_line_prefix %m, ms) and, for
    # finished, the 10 ms poll (see README: "now() in the worker")
    R[$key.src]=view
    local ls lf
    ls=$(log_epoch "$log_off" "cdc_plugin started [a-z]+ snapshot $id of table" || echo 0)
    lf=$(log_epoch "$log_off" "cdc_plugin finished snapshot $id of table" || echo 0)
    R[$key.log_start]=$ls R[$key.log_fin]=$lf
    if flt "${R[$key.start]}" "${R[$key.req]}" || flt "${R[$key.fin]}" "${R[$key.req]}"; then
        NOTES+=("$key: cdc_plugin.snapshots shows $(v "$key.view") for snapshot $id: started/finished before the request (the worker's now() is stale); timed from the worker's log lines instead")
        R[$key.src]=log
        R[$key.start]=$ls
        if [[ $lf != 0 ]]; then R[$key.fin]=$lf; else R[$key.fin]=$seen; R[$key.src]=poll; fi
    fi
    if [[ ${R[$key.state]} != done ]]; then
        R[$key.error]="snapshot $id ended ${R[$key.state]} (error: ${R[$key.err]}) after $(fsub "$seen" "${R[$key.req]}") s"
        FAILED=1
        log "$key: ${R[$key.error]}"
        [[ ${R[$key.fin]} != 0 ]] || R[$key.fin]=$seen
    fi
    R[$key.total_s]=$(fsub "${R[$key.fin]}" "${R[$key.req]}")
    R[$key.seen_s]=$(fsub "$seen" "${R[$key.req]}")
    R[$key.wait_s]=$(fsub "${R[$key.start]}" "${R[$key.req]}")
    R[$key.read_s]=$(fsub "${R[$key.fin]}" "${R[$key.start]}")
    R[$key.rps]=$(fdiv "${R[$key.rows]}" "${R[$key.total_s]}")
    R[$key.cpu]=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v w="${R[$key.seen_s]}" 'BEGIN { printf "%.0f", 100 * d / hz / w }')
    R[$key.host]=$(awk -v b=$((h1 - h0)) -v t=$((t1h - t0h)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }')
    read -r R[$key.rss] R[$key.hwm] R[$key.anon] R[$key.file] R[$key.shmem] R[$key.nsamples] <<<"$(mem_max "$TMPD/samples.mem.$key")"
    R[$key.prog]=$(awk 'NF == 6 && $2 != "" && $3 + 0 > 0 { n++ } END { print n + 0 }' "$TMPD/samples.status.$key")
    ((R[$key.rows] == ROWS)) || { NOTES+=("$key: rows_done ${R[$key.rows]}, the table has $ROWS rows"); }
    log "$key: ${R[$key.state]}: ${R[$key.rows]} rows in ${R[$key.chunks]} chunks; request -> finished ${R[$key.total_s]} s" \
        "(queued ${R[$key.wait_s]} s, started -> finished ${R[$key.read_s]} s): ${R[$key.rps]} rows/s;" \
        "worker cpu ${R[$key.cpu]}%, VmRSS max $(mb "${R[$key.rss]}") MiB, VmHWM $(mb "${R[$key.hwm]}") MiB"
}

# Percentiles of commit -> consumed for events committed in [a, b) (epoch s):
# "n rate p50_ms p99_ms max_ms".
window() {  # a b
    awk -v a="$1" -v b="$2" 'BEGIN { a *= 1e6; b *= 1e6 } $1 >= a && $1 < b { print $2 - $1 }' "$TMPD/latency.dump" \
        | sort -n | awk -v w="$(fsub "$2" "$1")" '{ v[NR] = $1 }
            function pct(q,  i) { i = int(q * NR); if (i < q * NR) i++; if (i < 1) i = 1; return v[i] / 1000 }
            END { if (NR == 0) { print "0 - - - -"; exit }
                  printf "%d %.0f %.1f %.1f %.1f\n", NR, NR / w, pct(0.50), pct(0.99), v[NR] / 1000 }'
}

check_idle
log "streaming load: pgbench -R $RATE -c $CLIENTS -j $THREADS into snap_lat; ${WARMUP_SECONDS} s warm-up, ${BASELINE_SECONDS} s baseline, then the snapshot"
lat_rows0=$(q "SELECT count(*) FROM snap_lat")
"$PG_BIN/pgbench" -h "$TMPD" -p "$PORT" -U "$PG_USER" -n -c "$CLIENTS" -j "$THREADS" -R "$RATE" -T 36000 \
    -f "$TMPD/snap_lat.pgbench" "$DB" >"$TMPD/pgbench.log" 2>&1 &
PGBENCH_PID=$!
BG_PIDS+=("$PGBENCH_PID")
tp=$(now)
sleep "$WARMUP_SECONDS"
R[base.a]=$(now)
sleep "$BASELINE_SECONDS"
R[base.b]=$(now)
kill -0 "$PGBENCH_PID" 2>/dev/null || { cat "$TMPD/pgbench.log" >&2; die "pgbench exited"; }
run_snapshot load
sleep "$TAIL_SECONDS"
kill "$PGBENCH_PID" 2>/dev/null || { cat "$TMPD/pgbench.log" >&2; log "pgbench had exited early"; FAILED=1; }
wait "$PGBENCH_PID" 2>/dev/null || true
log "load stopped after $(fsub "$(now)" "$tp") s"
# every committed row reaches Kafka, then the consumer
lat_rows=$(($(q "SELECT count(*) FROM snap_lat") - lat_rows0))
for ((i = 0; i < 600; i++)); do
    (($(wc -l <"$TMPD/latency.dump") >= lat_rows + 1)) && break
    sleep 0.1
done
kill "$PROBE_PID" 2>/dev/null || true
wait "$PROBE_PID" 2>/dev/null || true
R[lat.consumed]=$(($(wc -l <"$TMPD/latency.dump") - 1))
((R[lat.consumed] >= lat_rows)) || NOTES+=("latency consumer saw ${R[lat.consumed]} of the load's $lat_rows events")
R[lat.rows]=$lat_rows
read -r R[base.n] R[base.rate] R[base.p50] R[base.p99] R[base.max] <<<"$(window "${R[base.a]}" "${R[base.b]}")"
if [[ -z ${R[load.error]:-} ]]; then
    read -r R[snap.n] R[snap.rate] R[snap.p50] R[snap.p99] R[snap.max] <<<"$(window "${R[load.req]}" "${R[load.fin]}")"
fi
log "commit -> consumed: baseline p50 ${R[base.p50]} / p99 ${R[base.p99]} / max ${R[base.max]} ms ($((R[base.n])) events);" \
    "during the snapshot p50 ${R[snap.p50]:--} / p99 ${R[snap.p99]:--} / max ${R[snap.max]:--} ms (${R[snap.n]:-0} events)"
# per-second p99 during the snapshot, for the progress log
log "p99 per second of commit time during the snapshot (ms): $(awk -v a="${R[load.req]}" -v b="${R[load.fin]}" \
    'BEGIN { a *= 1e6; b *= 1e6 } $1 >= a && $1 < b { print int($1 / 1e6), $2 - $1 }' "$TMPD/latency.dump" \
    | sort -k1,1n -k2,2n | awk '{ s[$1] = s[$1] " " $2; n[$1]++ } END { for (k in s) { split(substr(s[k], 2), v, " "); i = int(0.99 * n[k]); if (i < 0.99 * n[k]) i++; printf "%d %.0f\n", k, v[i] / 1000 } }' \
    | sort -n | awk '{ printf "%s ", $2 }')"

if [[ $IDLE_SNAPSHOT == 1 ]]; then
    q CHECKPOINT >/dev/null
    check_idle
    log "idle: a second snapshot of snap_t, no load"
    run_snapshot idle
fi

R[status]=$(q "SELECT format('state %s, events_published %s, in_flight %s, delivery_errors %s, restarts %s, last_error %s',
                      state, events_published, in_flight, delivery_errors, restarts, coalesce(last_error, 'none'))
               FROM cdc_plugin.status()")
[[ $(q "SELECT delivery_errors = 0 AND restarts = 0 AND last_error IS NULL FROM cdc_plugin.status()") == t ]] \
    || NOTES+=("the worker reported errors or restarts: ${R[status]}")
# the snapshot topic: every row once per snapshot, plus begin/end markers per partition
R[topic]=$("$PROBE" count --brokers "$BOOT" --topic cdc.public.snap_t 2>/dev/null || echo -)
R[log_problems]=$(grep -E '(ERROR|WARNING|FATAL|PANIC):' "$TMPD/server.log" \
    | grep -v -E 'due to administrator command|could not receive data from client' | head -n 20 || true)

# ================================================================ report
verdict() { case $1 in yes) echo PASS ;; no) echo MISS ;; *) echo "n/a" ;; esac; }
snaps=1
[[ $IDLE_SNAPSHOT == 1 ]] && snaps=2

echo
echo "cdc_plugin snapshot benchmark: public.snap_t, $ROWS rows, 6 columns, avg row $(v avg_row) B"
echo "(pg_column_size of the row), table $(v table_mb) MiB; snapshot_chunk_rows = $(v chunk_rows);"
echo "mock Kafka broker (librdkafka mock, loopback, $PARTITIONS partitions per topic), $(nproc) CPUs shared by"
echo "everything; worker linger.ms = $LINGER_MS; streaming load pgbench -R $RATE -c $CLIENTS -j $THREADS,"
echo "one one-row INSERT per transaction into snap_lat; shared_buffers = $SHARED_BUFFERS."
echo
printf '%-48s %-34s %-12s %s\n' figure value target verdict
printf '%s\n' "$(printf '%*s' 104 '' | tr ' ' '-')"
line() { printf '%-48s %-34s %-12s %s\n' "$1" "$2" "$3" "$4"; }

if [[ -n ${R[load.error]:-} ]]; then
    line "snapshot during the load" "ERROR: ${R[load.error]}" ">= $TARGET_ROWS_PER_S/s" "$(verdict na)"
else
    ok=no; fge "${R[load.rps]}" "$TARGET_ROWS_PER_S" && ok=yes
    line "snapshot rows/s (request -> done), with load" "$(v load.rps) ($(v load.rows) rows, $(v load.total_s) s)" ">= $TARGET_ROWS_PER_S" "$(verdict $ok)"
fi
line "COPY snap_t TO STDOUT rows/s (best of $COPY_RUNS)" "$(v copy_rps) ($(v copy_s) s)" "" ""
ratio=-
[[ -z ${R[load.error]:-} ]] && ratio=$(awk -v a="${R[load.rps]}" -v b="${R[copy_rps]}" 'BEGIN { printf "%.2f", a / b }')
ok=na; [[ $ratio != - ]] && { fge "$ratio" "$TARGET_COPY_RATIO" && ok=yes || ok=no; }
line "snapshot / COPY" "${ratio}x" ">= ${TARGET_COPY_RATIO}x" "$(verdict $ok)"
line "streaming p50/p99/max ms, baseline" "$(v base.p50) / $(v base.p99) / $(v base.max) ($(v base.n) ev, $(v base.rate)/s)" "" ""
ok=na; [[ -n ${R[snap.p99]:-} && ${R[snap.p99]} != - ]] && { flt "${R[snap.p99]}" "$TARGET_P99_MS" && ok=yes || ok=no; }
line "streaming p50/p99/max ms, during the snapshot" "$(v snap.p50) / $(v snap.p99) / $(v snap.max) ($(v snap.n) ev, $(v snap.rate)/s)" "p99 < $TARGET_P99_MS" "$(verdict $ok)"
hwm_max=${R[load.hwm]:-0} rss_max=${R[load.rss]:-0}
if [[ $IDLE_SNAPSHOT == 1 ]]; then
    ((R[idle.hwm] > hwm_max)) && hwm_max=${R[idle.hwm]}
    ((R[idle.rss] > rss_max)) && rss_max=${R[idle.rss]}
fi
ok=no; flt "$(mb "$hwm_max")" "$TARGET_RSS_MB" && ok=yes
line "worker VmRSS max / VmHWM, MiB" "$(mb "$rss_max") / $(mb "$hwm_max")" "< $TARGET_RSS_MB" "$(verdict $ok)"
anon_max=${R[load.anon]:-0} shm_max=${R[load.shmem]:-0}
[[ $IDLE_SNAPSHOT == 1 ]] && { ((R[idle.anon] > anon_max)) && anon_max=${R[idle.anon]}; ((R[idle.shmem] > shm_max)) && shm_max=${R[idle.shmem]}; }
line "  of which private (RssAnon) / shared buffers" "$(mb "$anon_max") / $(mb "$shm_max") (RssShmem)" "" ""
if [[ $IDLE_SNAPSHOT == 1 ]]; then
    if [[ -n ${R[idle.error]:-} ]]; then
        line "snapshot rows/s, no load" "ERROR: ${R[idle.error]}" "" ""
    else
        line "snapshot rows/s (request -> done), no load" "$(v idle.rps) ($(v idle.total_s) s; $(awk -v a="${R[idle.rps]}" -v b="${R[copy_rps]}" 'BEGIN { printf "%.2f", a / b }')x COPY)" "" ""
    fi
fi

echo
echo "Details:"
for k in load idle; do
    [[ $k == idle && $IDLE_SNAPSHOT != 1 ]] && continue
    [[ -n ${R[$k.state]:-} ]] || continue
    read -r r0 h0 a0 _ s0 <<<"${R[$k.mem0]}"
    echo "- snapshot ${R[$k.id]} ($([[ $k == load ]] && echo "with the load" || echo "no load")): ${R[$k.state]}, rows_done ${R[$k.rows]}, chunks_done ${R[$k.chunks]};" \
         "requested -> started ${R[$k.wait_s]} s, started -> finished ${R[$k.read_s]} s, requested -> finished ${R[$k.total_s]} s"
    echo "  (started/finished from: ${R[$k.src]}; seen done by the 10 ms poll ${R[$k.seen_s]} s after the request). Worker: cpu ${R[$k.cpu]}% of one core, host ${R[$k.host]}% of all CPUs;"
    echo "  memory before: VmRSS $(mb "$r0") MiB (RssAnon $(mb "$a0"), RssShmem $(mb "$s0")), VmHWM $(mb "$h0");" \
         "max of ${R[$k.nsamples]} samples: VmRSS $(mb "${R[$k.rss]}"), RssAnon $(mb "${R[$k.anon]}"), RssFile $(mb "${R[$k.file]}"), RssShmem $(mb "${R[$k.shmem]}"), VmHWM $(mb "${R[$k.hwm]}") MiB."
done
echo "- Copy runs (s): ${copy_all[*]}. Snapshot topic cdc.public.snap_t holds $(v topic) messages" \
     "(expected $snaps x ($ROWS rows + $PARTITIONS begin + $PARTITIONS end markers) = $((snaps * (ROWS + 2 * PARTITIONS))))."
echo "- Streaming load: $(v lat.rows) rows committed into snap_lat, $(v lat.consumed) consumed; baseline window" \
     "$BASELINE_SECONDS s after ${WARMUP_SECONDS} s of warm-up; snapshot window = requested -> finished."
echo "- Worker status() at the end: $(v status)."
echo
cat <<EOF
Notes:
- rows/s = rows_done / (finished - requested) of cdc_plugin.snapshots: from the call of
  cdc_plugin.snapshot() (requested = its transaction's start) until the worker marked the
  snapshot done, i.e. until Kafka had acknowledged its last r event; includes the wait in
  the queue and the first metadata of the new topic. Nothing consumes the snapshot topic
  (acknowledgements need no consumer; the mock broker keeps ~5 MiB per partition).
- COPY: psql -c 'COPY snap_t TO STDOUT' > /dev/null (text format, read by a client over the
  unix socket), wall clock including psql's start; no load meanwhile.
- Streaming latency: commit -> consumed of each snap_lat event (the envelope's commit time vs
  the time the consumer got it; one host clock; bench/e2e's method and consumer settings,
  fetch.wait.max.ms = $FETCH_WAIT_MS), percentiles by nearest rank over the events committed in the
  window. An upper bound of commit -> acknowledged.
- Memory: /proc/<worker pid>/status every 0.1 s while the snapshot ran. VmRSS counts the
  shared buffers the worker touched (RssShmem) as well as its private memory (RssAnon);
  VmHWM is the worker process's peak since it started (it started after the load).
EOF
if ((${#NOTES[@]})); then
    echo
    echo "Warnings:"
    for n in "${NOTES[@]}"; do echo "- $n"; done
fi
if [[ -n ${R[log_problems]} ]]; then
    echo
    echo "Server log ERROR/WARNING/FATAL lines (first 20):"
    echo "${R[log_problems]}" | sed 's/^/  /'
fi
((FAILED == 0)) || exit 3
exit 0
