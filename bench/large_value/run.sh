#!/usr/bin/env bash
# Memory benchmark: what one large value costs the process that publishes
# it. One row with a SIZE_MB text value (stored uncompressed, out of line)
# is committed; the cdc_plugin worker publishes it to the mock Kafka broker,
# and, in the same run, the peer's decoding side reads it: pg_recvlogical
# with wal2json (format 2) writing to a file. kcat is left out: kcat 1.7.1
# reads its input in 1 KiB blocks and had not produced one 90 MB line after
# ten minutes here. Printed: each process's peak RSS
# (VmHWM) minus its RSS before the row, and that growth as a multiple of the
# value. A benchmark, not a test: it prints figures, it asserts nothing.
#
#   sudo bench/large_value/run.sh               # a 90 MB value (the mock broker
#                                               # refuses requests over ~100 MB)
#   SIZE_MB=20 PEER=0 bench/large_value/run.sh
#
# Needs, as root: PostgreSQL 15 in PG_BIN (/usr/lib/postgresql/15/bin),
# cdc_plugin installed, tools/kafka/cdc_mock_broker built (make kafka-tools),
# postgresql-15-wal2json for the peer.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SIZE_MB=${SIZE_MB:-90}
PEER=${PEER:-1}
PORT=${BENCH_PORT:-5498}
PG_USER=postgres
log() { echo "large_value: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (the cluster runs as the '$PG_USER' OS user)"
[[ -x $REPO/tools/kafka/cdc_mock_broker ]] || die "tools/kafka/cdc_mock_broker is not built (make kafka-tools)"
[[ $SIZE_MB =~ ^[0-9]+$ && $SIZE_MB -ge 1 && $SIZE_MB -le 900 ]] || die "SIZE_MB must be 1..900 (the mock broker refuses requests over ~100 MB)"
export PG_CONFIG=$PG_BIN/pg_config
# shellcheck source=../../test/lib.sh
source "$REPO/test/lib.sh"

TMPD=$(make_scratch_dir large_value)
BG_PIDS=()
cleanup() {
    local rc=$?
    set +e
    # the peer pipeline's processes are children of a subshell
    pkill -f "pg_recvlogical -h $TMPD" 2>/dev/null
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    if ((rc != 0)) && [[ -s $TMPD/server.log ]]; then
        log "last lines of the server log:"
        tail -n 20 "$TMPD/server.log" >&2
    fi
    [[ -f $TMPD/data/postmaster.pid ]] &&
        runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" -m fast -w -t 60 stop >/dev/null 2>&1
    rm -rf "$TMPD"
}
trap cleanup EXIT

psql_() { "$PG_BIN/psql" -h "$TMPD" -p "$PORT" -U "$PG_USER" -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q() { psql_ -c "$1"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
wait_until() {  # sql description
    local i
    for ((i = 0; i < 2400; i++)); do
        [[ $(q "$1") == t ]] && return 0
        sleep 0.25
    done
    die "timed out waiting for $2"
}

# ---- broker and cluster
"$REPO/tools/kafka/cdc_mock_broker" --brokers 1 --partitions 1 >"$TMPD/broker.out" 2>"$TMPD/broker.err" &
BG_PIDS+=($!)
for _ in $(seq 100); do grep -q '^bootstrap=' "$TMPD/broker.out" && break; sleep 0.1; done
BOOTSTRAP=$(sed -n 's/^bootstrap=//p' "$TMPD/broker.out")
[[ -n $BOOTSTRAP ]] || die "mock broker did not start"
BYTES=$((SIZE_MB * 1024 * 1024))
MAX_MSG=$((BYTES + 16 * 1024 * 1024))
QUEUE_KB=$((MAX_MSG / 1024 * 2))

runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$TMPD/data" -A trust -U "$PG_USER" >/dev/null
cat >>"$TMPD/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$TMPD'
port = $PORT
wal_level = logical
fsync = off
shared_buffers = 32MB
max_wal_size = 4GB
shared_preload_libraries = 'cdc_plugin'
cdc_plugin.database = 'postgres'
cdc_plugin.topic_prefix = 'cdc'
cdc_plugin.kafka_bootstrap_servers = '$BOOTSTRAP'
cdc_plugin.kafka_properties = 'message.max.bytes=$MAX_MSG;queue.buffering.max.kbytes=$QUEUE_KB'
$(plugin_libraries_conf wal2json)
EOF
runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$TMPD/data" -l "$TMPD/server.log" -w start >/dev/null
q "CREATE EXTENSION cdc_plugin"
wait_until "SELECT state = 'streaming' FROM cdc_plugin.status()" "the worker"
q "CREATE TABLE docs (id int PRIMARY KEY, body text); ALTER TABLE docs ALTER body SET STORAGE EXTERNAL"
q "INSERT INTO docs VALUES (0, 'warm-up')"
wait_until "SELECT in_flight = 0 AND events_published >= 1 FROM cdc_plugin.status()" "the warm-up row"
WORKER=$(q "SELECT pid FROM cdc_plugin.status()")

if ((PEER)); then
    q "SELECT pg_create_logical_replication_slot('peer', 'wal2json')" >/dev/null
    "$PG_BIN/pg_recvlogical" -h "$TMPD" -p "$PORT" -U "$PG_USER" -d postgres --slot peer --start \
        -o format-version=2 -f "$TMPD/peer.json" 2>"$TMPD/recv.err" &
    BG_PIDS+=($!)
    RECV=$!
    wait_until "SELECT count(*) = 1 FROM pg_stat_replication" "the peer's walsender"
    WALSENDER=$(q "SELECT pid FROM pg_stat_replication")
fi

declare -A BEFORE
procs=(worker)
BEFORE[worker]=$(rss_kb "$WORKER")
if ((PEER)); then
    procs+=(walsender pg_recvlogical)
    BEFORE[walsender]=$(rss_kb "$WALSENDER")
    BEFORE[pg_recvlogical]=$(rss_kb "$RECV")
fi
declare -A PID=([worker]=$WORKER [walsender]=${WALSENDER:-} [pg_recvlogical]=${RECV:-})

log "inserting one row with a $SIZE_MB MB value"
LSN0=$(q "SELECT pg_current_wal_lsn()")
q "INSERT INTO docs SELECT 1, string_agg(md5(i::text), '') FROM generate_series(1, $BYTES / 32) i"
LSN=$(q "SELECT pg_current_wal_lsn()")
wait_until "SELECT in_flight = 0 AND confirmed_lsn >= '$LSN' FROM cdc_plugin.status()" "the worker to publish it"
if ((PEER)); then
    # pg_recvlogical confirms a position once it wrote (and fsynced) what came before it
    wait_until "SELECT confirmed_flush_lsn >= '$LSN' FROM pg_replication_slots WHERE slot_name = 'peer'" \
        "the peer to read it"
fi
WAL_MB=$(q "SELECT round(pg_wal_lsn_diff('$LSN', '$LSN0') / 1048576.0, 1)")

printf '\none row with a %d MB text value (STORAGE EXTERNAL: %s MB of WAL), published to Kafka\n\n' "$SIZE_MB" "$WAL_MB"
printf '| process | RSS before | peak RSS | growth | growth / value |\n| --- | --- | --- | --- | --- |\n'
peer_growth=0
for p in "${procs[@]}"; do
    hwm=$(hwm_kb "${PID[$p]}")
    growth=$((hwm - BEFORE[$p]))
    [[ $p != worker ]] && peer_growth=$((peer_growth + growth))
    [[ $p == worker ]] && worker_growth=$growth
    awk -v p="$p" -v b="${BEFORE[$p]}" -v h="$hwm" -v g="$growth" -v v="$BYTES" 'BEGIN {
        printf "| %s | %.0f MB | %.0f MB | %.0f MB | %.2f× |\n", p, b / 1024, h / 1024, g / 1024, g * 1024 / v }'
done
if ((PEER)); then
    awk -v g="$peer_growth" -v w="$worker_growth" -v v="$BYTES" 'BEGIN {
        printf "| peer: walsender + pg_recvlogical | | | %.0f MB | %.2f× |\n\n", g / 1024, g * 1024 / v
        printf "worker growth ÷ peer growth: %.2f (the worker also holds librdkafka'"'"'s copy until Kafka acknowledges)\n", w / g }'
fi
