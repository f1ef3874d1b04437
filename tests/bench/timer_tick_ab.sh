#!/usr/bin/env bash
# The timer workers' CPU in the store floor, A/B: while one backend runs
# floor_cpu.sh's statements (N one-activity workflows started, leased and
# completed in batches of 100), the timer workers wake at the leases'
# deadlines and tick (fire_due, next_due); this reads their CPU from /proc
# before and after the run, and their ticks (fire_due's calls, with
# track_functions = pl on both sides). Server CPU the one-backend figures of
# floor_cpu.sh leave out; store_ab.sh's whole-server figure holds it, but in
# a spread of ±10% between rounds that hides it. Ticks per workflow follow the
# run's pace (the load), so the CPU per tick is the figure to compare.
#   tests/bench/timer_tick_ab.sh [A_COMMIT] [ROUNDS] [N]     (main, 3, 3000)
# A_TREE=<worktree> runs A on that worktree's own build, as floor_cpu.sh;
# without it A is A_COMMIT's api/*.sql over this checkout's install (which
# cannot show a change in the timer workers' C). Prints per round "variant
# ticks_per_wf us_per_tick us_per_wf", then the ratios B / A of the medians.
# Not part of make bench.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ab_setup, ab_side, api_sql, floor_rounds, ab_ratio, sql, ab_install,
                             # timer_worker_cpu, fire_due_calls
a=${1:-main} rounds=${2:-3} n=${3:-3000}
ab_setup timer-tick 55521
[ -n "$a_tree" ] || api_sql "$a" "$tmp/a_api.sql"
for side in A B; do
    ab_side "$side"
    sql "ALTER SYSTEM SET track_functions = 'pl'" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
done

{
    echo "SELECT count(durable.start_workflow('f-' || i, 'Bench', 'fq')) FROM generate_series(1, $n) i;"
    floor_rounds "$n"
    echo "SELECT count(*) FROM durable.workflows WHERE status = 'COMPLETED';"
} > "$tmp/run.sql"

hz=$(getconf CLK_TCK)
round() {   # A or B -> "variant ticks_per_wf us_per_tick us_per_wf"
    local closed c0 c1 f0 f1
    ab_side "$1"
    ab_install "$1"
    sleep 1   # the workers' ticks after the install
    c0=$(timer_worker_cpu) f0=$(fire_due_calls)
    closed=$(psql -qXAt -v ON_ERROR_STOP=1 -f "$tmp/run.sql" | tail -1)
    [ "$closed" = "$n" ] || { echo "timer_tick_ab: only $closed of $n workflows closed ($1)" >&2; exit 1; }
    sleep 0.5   # the last ticks' statistics reported
    c1=$(timer_worker_cpu) f1=$(fire_due_calls)
    awk -v v="$1" -v c="$(( c1 - c0 ))" -v f="$(( f1 - f0 ))" -v n="$n" -v hz="$hz" \
        'BEGIN { printf "%s %.3f %.0f %.1f\n", v, f / n, f ? c * 1e6 / hz / f : 0, c * 1e6 / hz / n }'
}
echo "variant ticks_per_wf us_per_tick us_per_wf (the timer workers' CPU; A = ${a_tree:-$a}, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
for col in 2 3 4; do
    read -r ratio ma mb < <(ab_ratio "$tmp/rounds" "$col")
    echo "$(case $col in 2) echo ticks_per_wf;; 3) echo us_per_tick;; 4) echo us_per_wf;; esac) B/A $ratio (medians $ma, $mb)"
done
