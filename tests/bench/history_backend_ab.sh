#!/usr/bin/env bash
# Appends and the poll's history in one backend, A/B: the CPU time one
# session spends, from that backend's own /proc/self/stat (as floor_cpu.sh),
# per 1,000 durable._append calls (ten statements, each appending an
# activity's five events, in BenchSeq1's shapes, to each of 2,000 runs: first
# each run's five in a row, as a start's two and an activity outcome's three
# are; then interleaved, each append to another run than the one before), and
# per durable._history_json call over 2,000 other runs of 11 events (ten
# times each: the whole history, as a first poll; the last two events, as a
# poll with the worker's cached id). A is another worktree's own build and
# install (make all; scripts/pginst.sh DIR/.run/pg; make -C pgext install),
# B this checkout; each round a fresh cluster of each, both under this
# checkout's .run. For changes in history_append.c and history_json.c, which
# A's SQL over B's library cannot show. Not part of make bench.
#   tests/bench/history_backend_ab.sh A_WORKTREE [ROUNDS]     (-, 3)
# Prints per round "variant append_in_a_row_us append_interleaved_us
# json_whole_us json_last_two_us", then the ratios B / A of the medians.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # fresh_cluster, cpu_view, ab_ratio
a_tree=$(cd "${1:?usage: history_backend_ab.sh A_WORKTREE [ROUNDS]}" && pwd)
rounds=${2:-3}
port=${DURABLE_BENCH_PORT:-55499}
tmp=$(mktemp -d)
trap 'for t in "$a_tree" "$top"; do PG_CONFIG=$t/.run/pg/lib/postgresql/15/bin/pg_config scripts/cluster.sh stop history-backend "$port" >/dev/null 2>&1 || true; done; rm -rf "$tmp"' EXIT

hz=$(getconf CLK_TCK)
append_sql() {   # ORDER: the appends' order
    echo "SELECT count(durable._append(s.run_id, s.event_type, s.attributes))
            FROM (SELECT r.run_id, e.event_type, e.attributes FROM public.runs r, public.evs e
                   ORDER BY $1 OFFSET 0) s \\g /dev/null"
}
json_sql() {   # FROM_EVENT
    echo "SELECT sum(jsonb_array_length(durable._history_json(r.run_id, $1))) FROM public.read_runs r \\g /dev/null"
}
{
    cpu_view
    append_sql "r.run_id, e.n"
    json_sql 0
    echo "SELECT ticks AS c0 FROM cpu \\gset"
    for _ in $(seq 1 10); do append_sql "r.run_id, e.n"; done
    echo "SELECT ticks AS c1 FROM cpu \\gset"
    for _ in $(seq 1 10); do append_sql "e.n, r.run_id"; done
    echo "SELECT ticks AS c2 FROM cpu \\gset"
    for _ in $(seq 1 10); do json_sql 0; done
    echo "SELECT ticks AS c3 FROM cpu \\gset"
    for _ in $(seq 1 10); do json_sql 9; done
    echo "SELECT ticks AS c4 FROM cpu \\gset"
    # (per 1,000 appends: 100,000 in each part; per call: 20,000 calls)
    echo "SELECT concat_ws(' ', round((:c1 - :c0) * 1e6 / $hz / 100), round((:c2 - :c1) * 1e6 / $hz / 100),
                           round((:c3 - :c2) * 1e6 / $hz / 20000, 1), round((:c4 - :c3) * 1e6 / $hz / 20000, 1));"
} > "$tmp/run.sql"
round() {   # VARIANT TREE
    (
        export PG_CONFIG=$2/.run/pg/lib/postgresql/15/bin/pg_config
        fresh_cluster history-backend "$port" >/dev/null
        eval "$(scripts/cluster.sh env history-backend "$port")"
        psql -qXAt -v ON_ERROR_STOP=1 -c "SELECT count(durable.start_workflow('a-' || i, 'W', 'aq')) FROM generate_series(1, 2000) i" \
            -c "SELECT count(durable.start_workflow('r-' || i, 'W', 'rq')) FROM generate_series(1, 2000) i" \
            -c "CREATE TABLE public.runs AS SELECT run_id FROM durable.workflows WHERE task_queue = 'aq'" \
            -c "CREATE TABLE public.read_runs AS SELECT run_id FROM durable.workflows WHERE task_queue = 'rq'" \
            -c "CREATE TABLE public.evs AS SELECT * FROM (VALUES
                  (1, 'ActivityTaskScheduled', '{\"activity_id\": \"1\", \"activity_type\": \"noop\", \"task_queue\": \"q\", \"input\": 1, \"workflow_task_completed_event_id\": 4}'::jsonb),
                  (2, 'ActivityTaskStarted', '{\"scheduled_event_id\": 5, \"attempt\": 1, \"identity\": \"w\", \"last_failure\": null}'),
                  (3, 'ActivityTaskCompleted', '{\"scheduled_event_id\": 5, \"started_event_id\": 6, \"result\": 1, \"identity\": \"w\"}'),
                  (4, 'WorkflowTaskScheduled', '{\"task_queue\": \"q\", \"attempt\": 1, \"start_to_close_timeout\": 10}'),
                  (5, 'WorkflowTaskStarted', '{\"scheduled_event_id\": 8, \"identity\": \"w\", \"attempt\": 1}')) v(n, event_type, attributes)" \
            -c "SELECT count(durable._append(r.run_id, 'ActivityTaskScheduled', jsonb_build_object(
                    'activity_id', g::text, 'activity_type', 'noop', 'task_queue', 'q', 'input', g)))
                  FROM public.read_runs r, generate_series(1, 9) g" \
            -c "ANALYZE public.runs, public.read_runs, public.evs" >/dev/null
        echo "$1 $(psql -qXAt -v ON_ERROR_STOP=1 -f "$tmp/run.sql" | tail -1)"
        scripts/cluster.sh stop history-backend "$port" >/dev/null
    )
}
echo "variant append_in_a_row_us append_interleaved_us json_whole_us json_last_two_us (per 1,000 appends, per _history_json call; one backend's CPU; A = $a_tree, B = checkout)"
for _ in $(seq 1 "$rounds"); do
    round A "$a_tree"
    round B "$top"
done | tee "$tmp/rounds"
for col in 2 3 4 5; do
    read -r ratio ma mb < <(ab_ratio "$tmp/rounds" "$col")
    echo "$(echo "x appends_in_a_row appends_interleaved json_whole json_last_two" | cut -d' ' -f"$col") B/A $ratio (medians $ma, $mb µs)"
done
