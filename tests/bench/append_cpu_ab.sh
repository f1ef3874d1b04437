#!/usr/bin/env bash
# Appends in one backend, A/B: the CPU time one session spends on 100,000
# durable._append calls (ten statements, each appending an activity's five
# events, in BenchSeq1's shapes, to each of 2,000 runs), from that backend's
# own /proc/self/stat (as floor_cpu.sh): first with each run's five in a row
# (as a start's two, an activity outcome's three are), then interleaved
# (each append to another run than the one before). A is another worktree's
# own build and install (make all; scripts/pginst.sh DIR/.run/pg; make -C
# pgext install), B this checkout; each round a fresh cluster of each, both
# under this checkout's .run. For changes in history_append.c, which A's SQL
# over B's library cannot show. Not part of make bench.
#   tests/bench/append_cpu_ab.sh A_WORKTREE [ROUNDS]     (-, 3)
# PERF=FILE records `perf record -g` of B's backend during its last round.
# Prints per round "variant in_a_row_us interleaved_us" (per 1,000 appends),
# then the ratios B / A of the medians.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/bench"
cd "$top"
a_tree=$(cd "${1:?usage: append_cpu_ab.sh A_WORKTREE [ROUNDS]}" && pwd)
rounds=${2:-3}
port=${DURABLE_BENCH_PORT:-55499}
. "$here/lib.sh"   # fresh_cluster
tmp=$(mktemp -d)
trap 'for t in "$a_tree" "$top"; do PG_CONFIG=$t/.run/pg/lib/postgresql/15/bin/pg_config scripts/cluster.sh stop append-cpu "$port" >/dev/null 2>&1 || true; done; rm -rf "$tmp"' EXIT

append_sql() {   # ORDER: the appends' order
    echo "SELECT count(durable._append(s.run_id, s.event_type, s.attributes))
            FROM (SELECT r.run_id, e.event_type, e.attributes FROM public.runs r, public.evs e
                   ORDER BY $1 OFFSET 0) s \\g /dev/null"
}
script() {   # PERF_FILE (or empty)
    echo "CREATE TEMP VIEW cpu AS SELECT (t[12]::bigint + t[13]::bigint) AS ticks
            FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') t) s;"
    append_sql "r.run_id, e.n"
    if [ -n "$1" ]; then
        echo "SELECT pg_backend_pid() AS pid \\gset"
        echo "\\setenv APPEND_CPU_PID :pid"
        echo "\\! perf record -q -g -p \$APPEND_CPU_PID -o $1 >/dev/null 2>&1 & echo \$! > $tmp/perf.pid; sleep 1"
    fi
    echo "SELECT ticks AS c0 FROM cpu \\gset"
    for _ in $(seq 1 10); do append_sql "r.run_id, e.n"; done
    echo "SELECT ticks AS c1 FROM cpu \\gset"
    for _ in $(seq 1 10); do append_sql "e.n, r.run_id"; done
    echo "SELECT ticks AS c2 FROM cpu \\gset"
    [ -z "$1" ] || echo "\\! kill -INT \$(cat $tmp/perf.pid); sleep 2"
    echo "SELECT ((:c1 - :c0) * 1000000 / $(getconf CLK_TCK) / 100) || ' ' || ((:c2 - :c1) * 1000000 / $(getconf CLK_TCK) / 100);"
}
round() {   # VARIANT TREE [PERF_FILE]
    (
        export PG_CONFIG=$2/.run/pg/lib/postgresql/15/bin/pg_config
        fresh_cluster append-cpu "$port" >/dev/null
        eval "$(scripts/cluster.sh env append-cpu "$port")"
        psql -qXAt -v ON_ERROR_STOP=1 -c "SELECT count(durable.start_workflow('a-' || i, 'W', 'aq')) FROM generate_series(1, 2000) i" \
            -c "CREATE TABLE public.runs AS SELECT run_id FROM durable.workflows WHERE task_queue = 'aq'" \
            -c "CREATE TABLE public.evs AS SELECT * FROM (VALUES
                  (1, 'ActivityTaskScheduled', '{\"activity_id\": \"1\", \"activity_type\": \"noop\", \"task_queue\": \"q\", \"input\": 1, \"workflow_task_completed_event_id\": 4}'::jsonb),
                  (2, 'ActivityTaskStarted', '{\"scheduled_event_id\": 5, \"attempt\": 1, \"identity\": \"w\", \"last_failure\": null}'),
                  (3, 'ActivityTaskCompleted', '{\"scheduled_event_id\": 5, \"started_event_id\": 6, \"result\": 1, \"identity\": \"w\"}'),
                  (4, 'WorkflowTaskScheduled', '{\"task_queue\": \"q\", \"attempt\": 1, \"start_to_close_timeout\": 10}'),
                  (5, 'WorkflowTaskStarted', '{\"scheduled_event_id\": 8, \"identity\": \"w\", \"attempt\": 1}')) v(n, event_type, attributes)" \
            -c "ANALYZE public.runs, public.evs" >/dev/null
        script "${3:-}" > "$tmp/run.sql"
        echo "$1 $(psql -qXAt -v ON_ERROR_STOP=1 -f "$tmp/run.sql" | tail -1)"
        scripts/cluster.sh stop append-cpu "$port" >/dev/null
    )
}
echo "variant in_a_row_us interleaved_us (per 1,000 appends, one backend's CPU; A = $a_tree, B = checkout)"
for r in $(seq 1 "$rounds"); do
    round A "$a_tree"
    round B "$top" "$([ "$r" = "$rounds" ] && echo "${PERF:-}")"
done | tee "$tmp/rounds"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for col in 2 3; do
    ma=$(awk -v c="$col" '$1 == "A" { print $c }' "$tmp/rounds" | median)
    mb=$(awk -v c="$col" '$1 == "B" { print $c }' "$tmp/rounds" | median)
    awk -v c="$col" -v a="$ma" -v b="$mb" 'BEGIN { printf "%s B/A %.3f (medians %s, %s µs per 1,000)\n", (c == 2 ? "in a row" : "interleaved"), b / a, a, b }'
done
