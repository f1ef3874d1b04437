#!/usr/bin/env bash
# The timer workers' tick in one backend, A/B: the CPU one session spends on
# N ticks with nothing due, each as the side's timer worker makes it, in
# one transaction
# (durable._tick where the side has it; else fire_due then next_due, as the
# workers did before it), on a store of SLEEPERS workflows asleep on a 30-day
# timer (sql/sleepers.sql, as make bench's scale phase loads them; 0: an
# empty store). The CPU is the backend's own, from /proc/self/stat, as in
# floor_cpu.sh. A_TREE=<worktree> (required: the tick is the timer workers'
# C and SQL) is A, on a cluster of its own; B is this checkout.
#   tests/bench/tick_cpu_ab.sh [ROUNDS] [N] [SLEEPERS]     (3, 2000, 0)
# Prints per round "variant us_per_tick", then the ratio B / A of the medians.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ab_setup, ab_side, cpu_view, ab_ratio, sql
rounds=${1:-3} n=${2:-2000} sleepers=${3:-0}
[ -n "${A_TREE:-}" ] || { echo "tick_cpu_ab: set A_TREE=<worktree> (built and installed)" >&2; exit 1; }
ab_setup tick-cpu 55531
for side in A B; do
    ab_side "$side"
    [ "$sleepers" = 0 ] || psql -qX -v ON_ERROR_STOP=1 -v n="$sleepers" -f "$here/sql/sleepers.sql" >/dev/null
    sql "VACUUM ANALYZE" >/dev/null
done

hz=$(getconf CLK_TCK)
round() {   # A or B -> "variant us_per_tick"
    local tick c
    ab_side "$1"
    if [ "$(sql "SELECT to_regprocedure('durable._tick(integer)') IS NOT NULL")" = t ]; then
        tick="PERFORM t.fired, t.next_due FROM durable._tick(1000) t;"
    else
        tick="PERFORM durable.fire_due(1000); PERFORM durable.next_due();"
    fi
    # (in a loop whose statements keep their plans, as the worker's kept plan;
    # five ticks first: the plans made, as a worker's are after its first)
    c=$({ cpu_view
          echo "DO \$\$ BEGIN FOR i IN 1..5 LOOP $tick END LOOP; END \$\$;"
          echo "SELECT ticks AS c0 FROM cpu \\gset"
          echo "DO \$\$ BEGIN FOR i IN 1..$n LOOP $tick END LOOP; END \$\$;"
          echo "SELECT (SELECT ticks FROM cpu) - :c0;"
        } | psql -qXAt -v ON_ERROR_STOP=1 | tail -1)
    awk -v v="$1" -v c="$c" -v n="$n" -v hz="$hz" 'BEGIN { printf "%s %.1f\n", v, c * 1e6 / hz / n }'
}
echo "variant us_per_tick (one backend's CPU, nothing due; A = $A_TREE, B = checkout, N = $n, sleepers = $sleepers)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
read -r ratio ma mb < <(ab_ratio "$tmp/rounds" 2)
echo "tick B/A $ratio (medians $ma, $mb µs)"
