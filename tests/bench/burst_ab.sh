#!/usr/bin/env bash
# A burst of activities scheduled right after an idle store was vacuumed, A/B:
# another build's install (A: BASE_PG_CONFIG, e.g. a worktree of another
# commit with its own .run/pg) against this checkout's (B: PG_CONFIG),
# alternated on one cluster restarted on each install's binaries and library.
# Each round makes the store anew, runs VACUUM ANALYZE on its empty
# tables, and schedules N x PER activities in one transaction (PER
# ScheduleActivityTask commands in each of N workflow tasks: the untimed
# set-up of make bench's drain phases). Plans made on those statistics were
# sequential scans that the session then kept (docs/performance.md, "The
# placing triggers' plans"). Prints the seconds it took and the rows read by
# sequential scans of activity_tasks and history, per task.
#   BASE_PG_CONFIG=... tests/bench/burst_ab.sh [ROUNDS] [N] [PER]
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, sql
rounds=${1:-3} n=${2:-200} per=${3:-100}
base=${BASE_PG_CONFIG:?BASE_PG_CONFIG: the pg_config of the install to compare with}
mine=${PG_CONFIG:-pg_config}
bench_cluster burst-ab 55495

install() {   # A or B: the cluster on that install, the store made anew
    cluster stop >/dev/null
    PG_CONFIG=$([ "$1" = A ] && echo "$base" || echo "$mine") cluster start
    psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "DROP SCHEMA IF EXISTS durable CASCADE" \
        -c "CREATE EXTENSION durable" -f "$here/sql/fixtures.sql" >/dev/null
}
seq_read() { sql "SELECT coalesce(sum(seq_tup_read), 0) FROM pg_stat_user_tables WHERE schemaname = 'durable' AND relname IN ('$1', '${1}_rows')"; }
round() {   # A or B -> one line of figures
    local v=$1 s e tasks=$(( n * per ))
    install "$v"
    sql "VACUUM ANALYZE"
    sql "SELECT pg_stat_reset()" >/dev/null
    s=$(date +%s.%N)
    sql "SELECT durable_bench.schedule_activities($n, $per, 'burst-wf', 'burst-q')" >/dev/null
    e=$(date +%s.%N)
    sleep 0.5   # the counters reach the shared stats when the session ends
    echo "$v $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }')" \
         "$(( $(seq_read activity_tasks) / tasks ))" "$(( $(seq_read history) / tasks ))"
}

echo "variant seconds activity_tasks_rows_scanned_per_task history_rows_scanned_per_task (A = $base, B = $mine, $n x $per)"
for _ in $(seq 1 "$rounds"); do round A; round B; done
