#!/usr/bin/env bash
# A new run id's own cost, A/B: the CPU time one session spends per call of
# durable._new_run_id() (N calls in one statement), from that backend's own
# /proc/self/stat (as floor_cpu.sh). A runs on A_TREE's own build and
# install (its .run/pg), on a cluster of its own; B on this checkout's;
# alternated. For changes in pgext/src/run_id.c. Not part of make bench.
#   A_TREE=<worktree> tests/bench/run_id_ab.sh [ROUNDS] [N]     (4, 1000000)
# Prints per round "variant ns_per_id", then the ratio B / A of the medians.
# Needs a private PostgreSQL with this checkout installed (export
# PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ab_setup, ab_side, cpu_view, ab_ratio
rounds=${1:-4} n=${2:-1000000}
: "${A_TREE:?A_TREE=<worktree> of the A side}"
ab_setup run-id 55531

{
    cpu_view
    echo "SELECT ticks AS c0 FROM cpu \\gset"
    echo "SELECT count(durable._new_run_id()) FROM generate_series(1, $n) \\g /dev/null"
    echo "SELECT ticks AS c1 FROM cpu \\gset"
    echo "SELECT :c1 - :c0;"
} > "$tmp/run.sql"

hz=$(getconf CLK_TCK)
round() {   # A or B -> "variant ns_per_id"
    local ticks
    ab_side "$1"
    ticks=$(psql -qXAt -v ON_ERROR_STOP=1 -f "$tmp/run.sql" | tail -1)
    awk -v v="$1" -v t="$ticks" -v n="$n" -v hz="$hz" 'BEGIN { printf "%s %.0f\n", v, t * 1e9 / hz / n }'
}
echo "variant ns_per_id (one backend's CPU; A = $a_tree, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
read -r ratio ma mb < <(ab_ratio "$tmp/rounds" 2)
echo "ns_per_id B/A $ratio (medians $ma, $mb ns)"
