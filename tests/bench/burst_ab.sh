#!/usr/bin/env bash
# A burst of activities scheduled right after an idle store was vacuumed, A/B:
# the SQL API of a given commit (A) against this checkout's (B), alternated on
# one cluster, as store_ab.sh does (A is B's install with A's api/*.sql run
# over it). Each round makes the store anew, runs VACUUM ANALYZE on its empty
# tables, and schedules N x PER activities in one transaction (PER
# ScheduleActivityTask commands in each of N workflow tasks: the untimed
# set-up of make bench's drain phases). Plans made on those statistics were
# sequential scans that the session then kept (docs/performance.md, "The
# placing triggers' plans"). Prints the seconds it took and the rows read by
# sequential scans of activity_tasks and history, per task.
#   tests/bench/burst_ab.sh [A_COMMIT] [ROUNDS] [N] [PER]
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/bench"
cd "$top"
a=${1:-main} rounds=${2:-3} n=${3:-200} per=${4:-100}
port=${DURABLE_BENCH_PORT:-55493}
. "$here/lib.sh"   # fresh_cluster
cluster() { scripts/cluster.sh "$1" burst-ab "$port"; }
fresh_cluster burst-ab "$port"
tmp=$(mktemp -d)
trap 'cluster stop; rm -rf "$tmp"' EXIT
eval "$(cluster env)"
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }

for f in $(git ls-tree --name-only "$a" sql/durable--0.2/api/ | sort); do
    git show "$a:$f"
done | sed "s|'MODULE_PATHNAME'|'\$libdir/durable'|g" | grep -v 'pg_extension_config_dump(' > "$tmp/a_api.sql"

install() {   # A or B
    psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "DROP SCHEMA IF EXISTS durable CASCADE" \
        -c "CREATE EXTENSION durable" -f "$here/sql/fixtures.sql" >/dev/null
    if [ "$1" = A ]; then
        psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -f "$tmp/a_api.sql" >/dev/null
    fi
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

echo "variant seconds activity_tasks_rows_scanned_per_task history_rows_scanned_per_task (A = $a, B = checkout, $n x $per)"
for _ in $(seq 1 "$rounds"); do round A; round B; done
