#!/usr/bin/env bash
# The poll's history in one backend, A/B: the CPU time one session spends per
# durable._history_json call over 2,000 runs of 11 events (a start's two,
# then nine ActivityTaskScheduled), ten times each: the whole history (from
# event 0, as a first poll) and the last two events (from event 9, as a poll
# with the worker's cached id), from that backend's own /proc/self/stat (as
# floor_cpu.sh). A is another worktree's own build and install (make all;
# scripts/pginst.sh DIR/.run/pg; make -C pgext install), B this checkout;
# each round a fresh cluster of each, both under this checkout's .run. Not
# part of make bench.
#   tests/bench/history_json_ab.sh A_WORKTREE [ROUNDS]     (-, 3)
# Prints per round "variant whole_us last_two_us" (per call), then the
# ratios B / A of the medians.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/bench"
cd "$top"
a_tree=$(cd "${1:?usage: history_json_ab.sh A_WORKTREE [ROUNDS]}" && pwd)
rounds=${2:-3}
port=${DURABLE_BENCH_PORT:-55503}
. "$here/lib.sh"   # fresh_cluster
tmp=$(mktemp -d)
trap 'for t in "$a_tree" "$top"; do PG_CONFIG=$t/.run/pg/lib/postgresql/15/bin/pg_config scripts/cluster.sh stop history-json "$port" >/dev/null 2>&1 || true; done; rm -rf "$tmp"' EXIT

{
    echo "CREATE TEMP VIEW cpu AS SELECT (t[12]::bigint + t[13]::bigint) AS ticks
            FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') t) s;"
    echo "SELECT sum(jsonb_array_length(durable._history_json(r.run_id, 0))) FROM public.runs r \\g /dev/null"
    echo "SELECT ticks AS c0 FROM cpu \\gset"
    for _ in $(seq 1 10); do echo "SELECT sum(jsonb_array_length(durable._history_json(r.run_id, 0))) FROM public.runs r \\g /dev/null"; done
    echo "SELECT ticks AS c1 FROM cpu \\gset"
    for _ in $(seq 1 10); do echo "SELECT sum(jsonb_array_length(durable._history_json(r.run_id, 9))) FROM public.runs r \\g /dev/null"; done
    echo "SELECT ticks AS c2 FROM cpu \\gset"
    echo "SELECT round((:c1 - :c0) * 1e6 / $(getconf CLK_TCK) / 20000, 1) || ' ' || round((:c2 - :c1) * 1e6 / $(getconf CLK_TCK) / 20000, 1);"
} > "$tmp/run.sql"
round() {   # VARIANT TREE
    (
        export PG_CONFIG=$2/.run/pg/lib/postgresql/15/bin/pg_config
        fresh_cluster history-json "$port" >/dev/null
        eval "$(scripts/cluster.sh env history-json "$port")"
        psql -qXAt -v ON_ERROR_STOP=1 -c "SELECT count(durable.start_workflow('h-' || i, 'W', 'hq')) FROM generate_series(1, 2000) i" \
            -c "CREATE TABLE public.runs AS SELECT run_id FROM durable.workflows WHERE task_queue = 'hq'" \
            -c "SELECT count(durable._append(r.run_id, 'ActivityTaskScheduled', jsonb_build_object(
                    'activity_id', g::text, 'activity_type', 'noop', 'task_queue', 'q', 'input', g)))
                  FROM public.runs r, generate_series(1, 9) g" >/dev/null
        echo "$1 $(psql -qXAt -v ON_ERROR_STOP=1 -f "$tmp/run.sql" | tail -1)"
        scripts/cluster.sh stop history-json "$port" >/dev/null
    )
}
echo "variant whole_us last_two_us (per _history_json call, one backend's CPU; A = $a_tree, B = checkout)"
for _ in $(seq 1 "$rounds"); do
    round A "$a_tree"
    round B "$top"
done | tee "$tmp/rounds"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for col in 2 3; do
    ma=$(awk -v c="$col" '$1 == "A" { print $c }' "$tmp/rounds" | median)
    mb=$(awk -v c="$col" '$1 == "B" { print $c }' "$tmp/rounds" | median)
    awk -v c="$col" -v a="$ma" -v b="$mb" 'BEGIN { printf "%s B/A %.3f (medians %s, %s µs)\n", (c == 2 ? "whole" : "last two"), b / a, a, b }'
done
