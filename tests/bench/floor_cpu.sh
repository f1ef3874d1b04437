#!/usr/bin/env bash
# The store floor's statements in one backend, A/B: the CPU time one session
# spends to start N one-activity workflows and run them to their close, in
# the store floor's shape (tests/bench/poller.c: batches of 100, each poll
# and its completions one transaction: lease workflow tasks and complete
# each with a ScheduleActivityTask or, once its activity completed, a
# CompleteWorkflowExecution; lease activities and complete them in one
# complete_activity_tasks).
# The CPU is the backend's own, from /proc/self/stat (pg_read_file), so the
# machine's other load, the timer workers and autovacuum stay out of it:
# store_ab.sh's server CPU moved by ±15% between rounds on the shared
# machine, this by a few percent. Not part of make bench.
# A is this checkout's install with A's api/*.sql run over it (as in
# store_ab.sh: A's plpgsql bodies replace B's C ones); B is the checkout.
#   tests/bench/floor_cpu.sh [A_COMMIT] [ROUNDS] [N]     (main, 3, 3000)
# A_TREE=<worktree> instead runs A on that worktree's own build (its
# .run/pg install, made as for wal_ab.sh) on a cluster of its own: for
# changes in the extension's C code, which A's SQL over B's library cannot
# show (A_COMMIT is then only a label).
# Prints per round "variant start_us_per_wf run_us_per_wf", then the ratios
# B / A of the medians. Needs a private PostgreSQL with this checkout
# installed (export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ab_setup, api_sql, floor_rounds, cpu_view, session_round, ab_ratios
a=${1:-main} rounds=${2:-3} n=${3:-3000}
ab_setup floor-cpu 55493
[ -n "$a_tree" ] || api_sql "$a" "$tmp/a_api.sql"

# The session's script: its CPU (utime + stime, in ticks) before and after
# the starts and after the run, as NOTICEs.
{
    cpu_view
    echo "SELECT ticks AS c0 FROM cpu \\gset"
    echo "SELECT count(durable.start_workflow('f-' || i, 'Bench', 'fq')) FROM generate_series(1, $n) i;"
    echo "SELECT ticks AS c1 FROM cpu \\gset"
    floor_rounds "$n"
    echo "SELECT ticks AS c2 FROM cpu \\gset"
    echo "SELECT count(*) AS closed FROM durable.workflows WHERE status = 'COMPLETED' \\gset"
    echo "SELECT :closed || ' ' || (:c1 - :c0) || ' ' || (:c2 - :c1);"
} > "$tmp/run.sql"

hz=$(getconf CLK_TCK)
round() {   # A or B -> "variant start_us_per_wf run_us_per_wf"
    session_round "$1" "workflows closed"
    awk -v v="$1" -v s="$round_x" -v r="$round_y" -v n="$n" -v hz="$hz" \
        'BEGIN { printf "%s %.0f %.0f\n", v, s * 1e6 / hz / n, r * 1e6 / hz / n }'
}
echo "variant start_us_per_wf run_us_per_wf (one backend's CPU; A = ${a_tree:-$a}, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
ab_ratios "$tmp/rounds" µs start run
