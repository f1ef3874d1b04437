#!/usr/bin/env bash
# An activity's own calls alone, A/B: one backend's CPU and the WAL per
# activity task of one of them, each call of 100 its own transaction, as a
# worker's.
#   poll:     N ready tasks (one queue, priority 3, inserted directly) leased
#             by poll_activity_tasks;
#   complete: N one-activity workflows brought to their started activity
#             (started, their workflow tasks completed with a
#             ScheduleActivityTask, the activities polled), then the
#             activities completed by complete_activity_tasks (each result
#             appends two events and schedules its run's workflow task).
# Only the measured calls are timed, after a CHECKPOINT. The CPU is the
# backend's own (/proc/self/stat, cpu_view), the WAL the LSN's advance. Not
# part of make bench: these are a small part of a workflow (the rounds of
# floor_cpu.sh do not resolve them), this shows them alone.
# A is this checkout's install with A's api/*.sql run over it, or with
# A_TREE=<worktree> that worktree's own build on a cluster of its own; B is
# the checkout.
#   tests/bench/activity_cpu.sh poll|complete [A_COMMIT] [ROUNDS] [N]   (main, 3, 20000; N a multiple of 100)
# PERF=<file> records the B side's measured calls with perf record -g.
# Prints per round "variant us_per_task wal_bytes_per_task", then the
# ratios B / A of the medians.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ab_setup, api_sql, cpu_view, session_round, ab_ratios
what=${1:?usage: activity_cpu.sh poll|complete [A_COMMIT] [ROUNDS] [N]}
a=${2:-main} rounds=${3:-3} n=${4:-20000}
# each call takes 100 tasks: an N that is not a multiple would leave some
[ $(( n % 100 )) -eq 0 ] && [ "$n" -gt 0 ] || { echo "activity_cpu: N must be a multiple of 100 ($n)" >&2; exit 1; }
ab_setup activity-cpu 55495
[ -n "$a_tree" ] || api_sql "$a" "$tmp/a_api.sql"

calls=$(( n / 100 ))
{
    cpu_view
    case "$what" in
    poll)
        echo "INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
                  activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
                  retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts)
              SELECT gen_random_uuid(), 'default', 'wf-' || i, 5, '1', 'noop', 'acq', jsonb_build_object('i', i),
                     'SCHEDULED', durable.now(), durable.now(), '10 min', '1 s', 2, '100 s', 0
                FROM generate_series(1, $n) i;"
        measured="SELECT count(*) FROM durable.poll_activity_tasks('acq', 'w', 100);"
        done_sql="SELECT count(*) FROM durable.activity_tasks WHERE state = 'STARTED'" ;;
    complete)
        echo "SELECT count(durable.start_workflow('c-' || i, 'Bench', 'cq')) FROM generate_series(1, $n) i;"
        for _ in $(seq 1 "$calls"); do
            echo "SELECT count(durable.complete_workflow_task(t.task_token,
                      '[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"1\", \"activity_type\": \"noop\", \"task_queue\": \"acq\", \"input\": 1, \"start_to_close_timeout\": 600}]'))
                    FROM durable.poll_workflow_tasks('cq', 'w', 100, '{}') t;"
        done
        echo "CREATE TEMP TABLE leased (i serial, token text);"
        for _ in $(seq 1 "$calls"); do
            echo "INSERT INTO leased (token) SELECT task_token FROM durable.poll_activity_tasks('acq', 'w', 100);"
        done
        echo "SELECT 0 AS k \\gset"
        measured="SELECT count(*) FROM durable.complete_activity_tasks((SELECT jsonb_agg(jsonb_build_object('task_token', token, 'result', 1))
                    FROM leased WHERE i > :k AND i <= :k + 100), 'w');
                  SELECT :k + 100 AS k \\gset"
        done_sql="SELECT count(*) FROM durable.history WHERE event_type = 'ActivityTaskCompleted'" ;;
    *) echo "activity_cpu: poll or complete, not $what" >&2; exit 2 ;;
    esac
    echo "CHECKPOINT;"
    # PERF=<file>: the B side's measured calls recorded by perf record -g (the last round's)
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv ACTIVITY_CPU_PID :pid"
    echo "\\! if [ \"\$ACTIVITY_CPU_SIDE\" = B ] && [ -n \"\${PERF:-}\" ]; then perf record -q -g -p \$ACTIVITY_CPU_PID -o \$PERF >/dev/null 2>&1 & echo \$! > $tmp/perf.pid; sleep 1; fi"
    echo "SELECT ticks AS c0, pg_current_wal_lsn() AS l0 FROM cpu \\gset"
    for _ in $(seq 1 "$calls"); do echo "$measured"; done
    echo "\\! if [ -s $tmp/perf.pid ]; then kill -INT \$(cat $tmp/perf.pid); rm $tmp/perf.pid; sleep 2; fi"
    echo "SELECT ticks AS c1, pg_current_wal_lsn() - :'l0'::pg_lsn AS wal FROM cpu \\gset"
    echo "SELECT ($done_sql) AS done \\gset"
    echo "SELECT :done || ' ' || (:c1 - :c0) || ' ' || :wal;"
} > "$tmp/run.sql"

hz=$(getconf CLK_TCK)
round() {   # A or B -> "variant us_per_task wal_bytes_per_task"
    export ACTIVITY_CPU_SIDE=$1
    session_round "$1" "tasks done"
    awk -v v="$1" -v t="$round_x" -v w="$round_y" -v n="$n" -v hz="$hz" \
        'BEGIN { printf "%s %.2f %.0f\n", v, t * 1e6 / hz / n, w / n }'
}
echo "variant us_per_task wal_bytes_per_task ($what; one backend's CPU; A = ${a_tree:-$a}, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
ab_ratios "$tmp/rounds" "" cpu wal
