#!/usr/bin/env bash
# A ScheduleActivityTask command's parts in one backend, A/B: the CPU time
# one session spends per call of durable._cmd_schedule_activity (checks,
# history event, task row, wake-up and notification), then per write of the
# same task row alone (the command's own durable._insert_activity_task call),
# then per _append of its event alone, over N workflows, from that backend's
# own /proc/self/stat (as floor_cpu.sh). A is this
# checkout's install with A's api/*.sql run over it (as floor_cpu.sh: for
# SQL changes), B the checkout; alternated. Not part of make bench.
#   tests/bench/command_cpu.sh [A_COMMIT] [ROUNDS] [N]     (main, 4, 10000)
# Prints per round "variant command_us insert_us append_us", then the ratio
# B / A of the commands' medians. Needs a private PostgreSQL with this
# checkout installed (export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, api_sql, product_statement, cpu_view, ab_ratio
a=${1:-main} rounds=${2:-4} n=${3:-10000}
bench_cluster command-cpu 55497
api_sql "$a" "$tmp/a_api.sql"

# The task row's write alone is the product's own statement (a SCHEDULED
# task's: the _insert_activity_task call), read from A's plpgsql
# _cmd_schedule_activity and run with its variables set as that function
# sets them for the command above: a copy would drift. Since session 11 the
# command is C (pgext/src/cmd_schedule.c); an A without the plpgsql body
# takes the call from the body pgTAP keeps as its twin (93_cmd_schedule.sql).
insert=$(product_statement "$tmp/a_api.sql" durable._cmd_schedule_activity \
             '^        task := durable._insert_activity_task(' ');$')
[ -n "$insert" ] ||
    insert=$(product_statement tests/pgtap/93_cmd_schedule.sql pg_temp.cmd_schedule_activity_plpgsql \
                 '^        task := durable._insert_activity_task(' ');$')
[ -n "$insert" ] || { echo "command_cpu: no durable._insert_activity_task call in _cmd_schedule_activity" >&2; exit 1; }

# each loop in one statement: the session's CPU (ticks) between them
{ cat <<'SQL'
SELECT count(durable.start_workflow('c-' || i, 'W', 'cq')) FROM generate_series(1, :n) i;
CREATE TEMP TABLE runs AS SELECT * FROM durable.workflows WHERE task_queue = 'cq';
SQL
cpu_view
cat <<'SQL'
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
#variable_conflict use_variable
DECLARE
    w durable.workflows; cmd jsonb := '{"input": 1}'; scheduled bigint := 100;
    activity_id text := '2'; activity_type text := 'noop'; queue text := 'caq';
    now timestamptz := durable.now(); s2c interval; s2s interval; stc interval := '600 s'; hb interval;
    initial interval := '1 s'; backoff float8 := 2; max_interval interval := '100 s'; max_attempts float8 := 0;
    non_retryable text[] := '{}'; deadline timestamptz; prio record; eager text; task bigint;
BEGIN
    SELECT 3::smallint AS priority, ''::text AS fairness_key, 1::float8 AS fairness_weight INTO prio;
    FOR w IN SELECT * FROM runs LOOP
SQL
echo "$insert"
cat <<'SQL'
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
} > "$tmp/run.sql"

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
read -r ratio ma mb < <(ab_ratio "$tmp/rounds" 2)
echo "command B/A $ratio (medians $ma, $mb µs)"
