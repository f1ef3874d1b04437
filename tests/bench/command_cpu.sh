#!/usr/bin/env bash
# A ScheduleActivityTask command's parts in one backend, A/B: the CPU time
# one session spends per call of durable._cmd_schedule_activity (checks,
# history event, task row, wake-up and notification), then per INSERT of the
# same task row alone, then per _append of its event alone, over N workflows,
# from that backend's own /proc/self/stat (as floor_cpu.sh). A is this
# checkout's install with A's api/*.sql run over it (as floor_cpu.sh: for
# SQL changes), B the checkout; alternated. Not part of make bench.
#   tests/bench/command_cpu.sh [A_COMMIT] [ROUNDS] [N]     (main, 4, 10000)
# Prints per round "variant command_us insert_us append_us", then the ratio
# B / A of the commands' medians. Needs a private PostgreSQL with this
# checkout installed (export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/bench"
cd "$top"
a=${1:-main} rounds=${2:-4} n=${3:-10000}
port=${DURABLE_BENCH_PORT:-55497}
. "$here/lib.sh"   # fresh_cluster, api_sql
cluster() { scripts/cluster.sh "$1" command-cpu "$port"; }
fresh_cluster command-cpu "$port"
tmp=$(mktemp -d)
trap 'cluster stop; rm -rf "$tmp"' EXIT
eval "$(cluster env)"
api_sql "$a" "$tmp/a_api.sql"

# each loop in one statement: the session's CPU (ticks) between them
cat > "$tmp/run.sql" <<'SQL'
SELECT count(durable.start_workflow('c-' || i, 'W', 'cq')) FROM generate_series(1, :n) i;
CREATE TEMP TABLE runs AS SELECT * FROM durable.workflows WHERE task_queue = 'cq';
CREATE TEMP VIEW cpu AS SELECT (t[12]::bigint + t[13]::bigint) AS ticks
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') t) s;
SELECT ticks AS c0 FROM cpu \gset
DO $$
DECLARE w durable.workflows;
BEGIN
    FOR w IN SELECT * FROM runs LOOP
        PERFORM durable._cmd_schedule_activity(w, '{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "noop",
            "task_queue": "caq", "input": 1, "start_to_close_timeout": 600}', 4);
    END LOOP;
END $$;
SELECT ticks AS c1 FROM cpu \gset
DO $$
DECLARE w durable.workflows; t timestamptz := durable.now();
BEGIN
    FOR w IN SELECT * FROM runs LOOP
        INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
            activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at,
            schedule_to_close_timeout, schedule_to_start_timeout, start_to_close_timeout, heartbeat_timeout,
            retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts,
            non_retryable_error_types, timeout_at, fairness_key, priority, fairness_weight,
            fence, identity, started_at, pass)
        VALUES (w.run_id, w.namespace, w.workflow_id, 100, '2', 'noop', 'caq', '1', 'SCHEDULED', t, t,
            NULL, NULL, '600 s', NULL, '1 s', 2, '100 s', 0, '{}', NULL, '', 3, 1, 0, NULL, NULL, -1);
    END LOOP;
END $$;
SELECT ticks AS c2 FROM cpu \gset
DO $$
DECLARE w durable.workflows;
BEGIN
    FOR w IN SELECT * FROM runs LOOP
        PERFORM durable._append(w.run_id, 'ActivityTaskScheduled', '{"input": 1, "activity_id": "2", "task_queue": "caq",
            "activity_type": "noop", "start_to_close_timeout": 600, "workflow_task_completed_event_id": 4}');
    END LOOP;
END $$;
SELECT ticks AS c3 FROM cpu \gset
SELECT (:c1 - :c0) || ' ' || (:c2 - :c1) || ' ' || (:c3 - :c2);
SQL

hz=$(getconf CLK_TCK)
round() {   # A or B -> "variant command_us insert_us append_us"
    psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "DROP SCHEMA IF EXISTS durable CASCADE" \
        -c "CREATE EXTENSION durable" >/dev/null
    if [ "$1" = A ]; then
        psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -f "$tmp/a_api.sql" >/dev/null
    fi
    psql -qXAt -c CHECKPOINT >/dev/null
    psql -qXAt -v ON_ERROR_STOP=1 -v n="$n" -f "$tmp/run.sql" | tail -1 |
        awk -v v="$1" -v n="$n" -v hz="$hz" '{ printf "%s %.1f %.1f %.1f\n", v, $1 * 1e6 / hz / n, $2 * 1e6 / hz / n, $3 * 1e6 / hz / n }'
}
echo "variant command_us insert_us append_us (one backend's CPU per call; A = $a, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ma=$(awk '$1 == "A" { print $2 }' "$tmp/rounds" | median)
mb=$(awk '$1 == "B" { print $2 }' "$tmp/rounds" | median)
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "command B/A %.3f (medians %s, %s µs)\n", b / a, a, b }'
