#!/usr/bin/env bash
# Two builds, A/B, in the peers bench's two durable shapes with one worker
# process (eager_ab.sh's method): three-activity workflows (BenchSeq3) and the
# activities of ten-parallel workflows (BenchPar10), each with the server's CPU
# time per activity (all its processes, from /proc), commits and WAL bytes per
# activity. A is another worktree, built and installed the same way (make all;
# scripts/pginst.sh DIR/.run/pg; make -C pgext install): its own install, its
# own cluster, its own worker. B is this checkout. For changes in the
# extension's C code, which store_ab.sh's A (A's SQL over B's library) cannot
# show. Each round runs A then B; every round starts from a new store.
#   tests/bench/build_ab.sh A_WORKTREE [ROUNDS] [N]     (-, 3, 2000)
# A_WORKFLOWS=<file> builds A's bench plugin from that source instead of
# tests/bench/workflows.c (an old tree's worker API; it must have BenchSeq3
# and BenchPar10).
# A_SETTINGS="name = value" is set on A's cluster only (ALTER SYSTEM, then a
# restart, so a server-start setting takes too): with A = this checkout, the
# same build with a setting against its default.
# Prints one line per round and variant:
#   variant wf3_per_s wf3_server_cpu_us_per_activity wf3_commits_per_activity
#   wf3_wal_bytes_per_activity par10_activities_per_s par10_server_cpu_us_per_activity
#   par10_commits_per_activity par10_wal_bytes_per_activity
# then the medians' ratios B / A of the two CPU figures.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # fresh_cluster, sql, commits, per, reset_store, server_cpu_seconds, two_trees
a_tree=$(cd "${1:?usage: build_ab.sh A_WORKTREE [ROUNDS] [N]}" && pwd)
rounds=${2:-3} n=${3:-2000}
port=${DURABLE_BENCH_PORT:-55495}
tmp=$(mktemp -d)
two_trees build-ab "${A_WORKFLOWS:-$here/workflows.c}" "${A_SETTINGS:-}"
. "$here/worker_rate.sh"   # worker_rate, shape_figures
round() (   # A or B -> one line of figures
    v=$1
    eval "$(cluster "$v" env)"
    export PATH="$(dirname "$(pg_config_of "$v")"):$PATH"
    worker_bin="$(tree_of "$v")/worker/build/durable-worker" plugin="$tmp/plugin-$v.so"
    wf3=$(shape_figures BenchSeq3 "$n" 3)
    set -- $(shape_figures BenchPar10 $(( n / 10 )) 10)
    echo "$v $wf3 $(( $1 * 10 )) $2 $3 $4"
)
echo "variant wf3_per_s wf3_server_cpu_us_per_activity wf3_commits_per_activity wf3_wal_bytes_per_activity" \
     "par10_activities_per_s par10_server_cpu_us_per_activity par10_commits_per_activity par10_wal_bytes_per_activity" \
     "(A = $a_tree${A_SETTINGS:+ with $A_SETTINGS}, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for col in 3 7; do
    ma=$(awk -v c="$col" '$1 == "A" { print $c }' "$tmp/rounds" | median)
    mb=$(awk -v c="$col" '$1 == "B" { print $c }' "$tmp/rounds" | median)
    awk -v c="$col" -v a="$ma" -v b="$mb" 'BEGIN { printf "%s server CPU per activity B/A %.3f (medians %s, %s µs)\n",
        (c == 3 ? "wf3" : "par10"), b / a, a, b }'
done
