#!/usr/bin/env bash
# Two builds, A/B, store and worker together (build_ab.sh's method: A is
# another worktree, built and installed, on its own cluster with its own
# worker; B is this checkout), in three shapes with one worker process:
# N one-activity workflows (BenchSeq1, the wf1 shape), N three-activity
# (BenchSeq3) and N/4 ten-parallel (BenchPar10), all started at once. For
# each: the rate, the server's CPU per activity (all its processes, from
# /proc), the worker process's own CPU per activity (user + system, from
# /proc/PID/stat), WAL bytes per activity, and the worker's peak RSS. For
# changes that move work between the store and the worker (sticky
# histories: docs/performance.md, "Sticky histories"). Each round runs A
# then B; every run starts from a new store.
#   tests/bench/sticky_ab.sh A_WORKTREE [ROUNDS] [N]     (-, 3, 2000)
# WORKER_ARGS_A / WORKER_ARGS_B: more arguments for each side's worker;
# SHAPES: some of the three only (e.g. SHAPES=BenchPar10).
# Prints one line per round, variant and shape:
#   variant shape per_s server_cpu_us worker_cpu_us wal_bytes (per activity) worker_peak_rss_kb
# then the medians' ratios B / A of the CPU figures, per shape.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # fresh_cluster, sql, per, reset_store, server_cpu_seconds, median, two_trees
a_tree=$(cd "${1:?usage: sticky_ab.sh A_WORKTREE [ROUNDS] [N]}" && pwd)
rounds=${2:-3} n=${3:-2000} shapes=${SHAPES:-BenchSeq1 BenchSeq3 BenchPar10}
port=${DURABLE_BENCH_PORT:-55615}
tmp=$(mktemp -d)
two_trees sticky-ab "$here/workflows.c"
. "$here/worker_rate.sh"   # start_and_wait
proc_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
shape() {   # V TYPE WORKFLOWS ACTIVITIES_PER_WORKFLOW -> one line of figures
    local v=$1 type=$2 wfs=$3 acts=$(( $3 * $4 )) q="st-$2-$RANDOM" pid s0 c0 c1 w0 rss rate args
    reset_store
    sql "CHECKPOINT"
    [ "$v" = A ] && args=${WORKER_ARGS_A:-} || args=${WORKER_ARGS_B:-}
    # shellcheck disable=SC2086
    "$(tree_of "$v")/worker/build/durable-worker" --task-queue "$q" --plugin "$tmp/plugin-$v.so" \
        --concurrency 64 --batch 64 $args 2>>"$tmp/worker-$v.log" &
    pid=$!
    sleep 0.5
    s0=$(server_cpu_seconds); c0=$(proc_ticks "$pid"); w0=$(sql "SELECT pg_current_wal_lsn()")
    start_and_wait "$q" "$type" "$wfs"
    c1=$(proc_ticks "$pid"); rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
    local wal; wal=$(sql "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0') / $acts)")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    [ "$done" = "$wfs" ] || { echo "sticky_ab: only $done of $wfs $type completed" >&2; tail -5 "$tmp/worker-$v.log" >&2; exit 1; }
    rate=$(sql "SELECT round($wfs / extract(epoch FROM max(closed_at) - min(started_at))::numeric)
                FROM durable.workflows WHERE task_queue = '$q'")
    echo "$v $type $rate $(per "$s0" "$(server_cpu_seconds)" "$acts" '%.6f' | awk '{ printf "%.0f", $1 * 1e6 }')" \
         "$(awk -v a="$c0" -v b="$c1" -v n="$acts" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz / n * 1e6 }')" \
         "$wal $rss"
}
round() (   # A or B -> three lines
    v=$1
    eval "$(cluster "$v" env)"
    export PATH="$(dirname "$(pg_config_of "$v")"):$PATH"
    for s in $shapes; do
        case $s in
        BenchSeq1) shape "$v" BenchSeq1 "$n" 1 ;;
        BenchSeq3) shape "$v" BenchSeq3 "$n" 3 ;;
        BenchPar10) shape "$v" BenchPar10 $(( n / 4 )) 10 ;;
        esac
    done
)
echo "variant shape per_s server_cpu_us worker_cpu_us wal_bytes (per activity) worker_peak_rss_kb" \
     "(A = $a_tree, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
for s in $shapes; do
    for col in 4 5 6; do
        ma=$(awk -v s="$s" -v c="$col" '$1 == "A" && $2 == s { print $c }' "$tmp/rounds" | median)
        mb=$(awk -v s="$s" -v c="$col" '$1 == "B" && $2 == s { print $c }' "$tmp/rounds" | median)
        awk -v s="$s" -v c="$col" -v a="$ma" -v b="$mb" 'BEGIN { printf "%s %s per activity B/A %.3f (medians %s, %s)\n",
            s, (c == 4 ? "server CPU" : c == 5 ? "worker CPU" : "WAL"), b / a, a, b }'
    done
done
