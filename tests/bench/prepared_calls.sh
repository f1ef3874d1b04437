#!/usr/bin/env bash
# What preparing the worker's hot calls saves the server (worker/src/pgconn.c):
# each call, in the worker's own words (its SQL, with its parameters), sent
# CALLS times by one pgbench client as an unnamed statement, parsed, analyzed
# and planned at every call as PQsendQueryParams sends it (A, -M extended:
# the worker before session 13), and prepared once, then only bound and
# executed (B, -M prepared: PQsendQueryPrepared, the worker now). Each call
# finds nothing to do (an empty queue, an empty batch), so what differs is
# what the preparing saves, not the work. The server's CPU per call
# (server_cpu_seconds, all its processes), alternated rounds on one store;
# prints a line per round and call, then the medians' ratios B / A and
# differences.
#   tests/bench/prepared_calls.sh [ROUNDS] [CALLS]     (5, 5000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, reset_store, server_cpu_seconds, sql, median
rounds=${1:-5} calls=${2:-5000}
export PG_CONFIG=${PG_CONFIG:-$top/.run/pg/lib/postgresql/15/bin/pg_config}
export PATH="$(dirname "$PG_CONFIG"):$PATH"
bench_cluster prepared-calls 55498 >/dev/null
reset_store
# the worker's SQL (activity.c, worker.c), its NULL parameters written as NULL
cat > "$tmp/activity_poll.sql" <<'SQL'
SELECT task_token, workflow_id, activity_id, activity_type, input, attempt, extract(epoch FROM deadline - durable.now()) AS seconds_left, heartbeat_details FROM durable.poll_activity_tasks(:q, :who, :n::int, :ns);
SQL
cat > "$tmp/workflow_poll.sql" <<'SQL'
SELECT task_token, workflow_id, run_id, workflow_type, started_event_id, history FROM durable.poll_workflow_tasks(:q, :who, :n::int, NULL::jsonb, :ns, sticky => :who);
SQL
cat > "$tmp/workflow_batch.sql" <<'SQL'
SELECT task_token, outcome, error FROM durable.complete_workflow_tasks(:b::jsonb, :who);
SQL
cat > "$tmp/handback.sql" <<'SQL'
SELECT kind, task_token, outcome, error, workflow_id, run_id, workflow_type, started_event_id, history FROM durable.complete_activity_tasks_eager(:b::jsonb, :who, :q, :n::int, :ns, NULL::jsonb, NULL, sticky => :who);
SQL
names="activity_poll workflow_poll workflow_batch handback"
one() {   # MODE NAME -> µs of server CPU per call
    local c0
    c0=$(server_cpu_seconds)
    pgbench -n -M "$1" -c 1 -t "$calls" -f "$tmp/$2.sql" -D q=prepared-calls -D who=bench-worker \
        -D n=64 -D ns=default -D b='[]' >/dev/null
    awk -v a="$c0" -v b="$(server_cpu_seconds)" -v n="$calls" 'BEGIN { printf "%.2f", (b - a) * 1e6 / n }'
}
echo "variant $names (µs of server CPU per call, N = $calls)"
for _ in $(seq 1 "$rounds"); do
    for v in A B; do
        mode=$([ "$v" = A ] && echo extended || echo prepared)
        line=$v
        for name in $names; do line="$line $(one "$mode" "$name")"; done
        echo "$line"
    done
done | tee "$tmp/rounds"
col=2
for name in $names; do
    read -r ratio ma mb < <(ab_ratio "$tmp/rounds" "$col")
    awk -v n="$name" -v r="$ratio" -v a="$ma" -v b="$mb" \
        'BEGIN { printf "%s B/A %s (medians %s, %s µs a call; %.1f µs saved)\n", n, r, a, b, a - b }'
    col=$(( col + 1 ))
done
