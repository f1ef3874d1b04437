#!/usr/bin/env bash
# Two durable-worker binaries, A/B, against ONE store (this checkout's
# install, one cluster): the worker process's own CPU time per activity
# (the run time of all its threads from /proc/PID/task/*/schedstat, read once the worker polls and again
# once every workflow closed), in the peers bench's two durable shapes with
# one worker process: N three-activity workflows (BenchSeq3) and N/4
# ten-parallel (BenchPar10); with each, the rate and the server's CPU per activity. For
# changes to the worker alone: the store is the same for both, so what
# moves is the worker. Each round runs A then B; every run starts from a new
# store (reset_store). PG_CONFIG picks the install (default: this checkout's
# .run/pg; another worktree's leaves this one's free for its tests).
#   tests/bench/worker_cpu_ab.sh A_WORKER_BIN [ROUNDS] [N]     (-, 3, 2000)
# B is this checkout's worker/build/durable-worker (or $B_WORKER). WF1=1 runs N
# one-activity workflows (BenchSeq1, make bench's wf1 shape) in place of the
# three-activity ones (the columns keep their wf3 names). Prints one line per
# round and variant:
#   variant wf3_per_s wf3_worker_cpu_us_per_activity wf3_server_cpu_us_per_activity
#   par10_activities_per_s par10_worker_cpu_us_per_activity par10_server_cpu_us_per_activity
#   wf3_per_s_from_commit
# then the medians' ratios B / A of the CPU figures. The rates count, as make
# bench's do, from the first start (the statement that starts them all
# commits only with its last, and the worker sees none before); the last
# column counts from that commit (the last start), as the store floor's
# rate does (scripted_rate.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, reset_store, server_cpu_seconds, sql, per, ab_ratio
a_bin=$(realpath "${1:?usage: worker_cpu_ab.sh A_WORKER_BIN [ROUNDS] [N]}")
b_bin=$(realpath "${B_WORKER:-$top/worker/build/durable-worker}")
rounds=${2:-3} n=${3:-2000}
for b in "$a_bin" "$b_bin"; do
    [ -x "$b" ] || { echo "worker_cpu_ab: no worker binary $b (make all)" >&2; exit 1; }
done
export PG_CONFIG=${PG_CONFIG:-$top/.run/pg/lib/postgresql/15/bin/pg_config}
bench_cluster worker-cpu-ab 55497
export PATH="$(dirname "$PG_CONFIG"):$PATH"
plugin="$tmp/plugin.so"
. "$here/worker_rate.sh"   # build_bench_plugin, start_and_wait
build_bench_plugin
# ns on a CPU, all the process's threads (activities run on their own):
# schedstat's nanoseconds, not stat's clock ticks, which are too coarse here
proc_cpu() { cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f", t }'; }

shape() {   # WORKER TYPE WORKFLOWS ACTIVITIES_PER_WORKFLOW -> "rate worker_us server_us (per activity)"
    local bin=$1 type=$2 wfs=$3 acts=$(( $3 * $4 )) q="wcpu-$2-$RANDOM" pid c0 s0 c1 done rate
    reset_store
    sql "CHECKPOINT"
    "$bin" --task-queue "$q" --plugin "$plugin" --concurrency 64 --batch 64 2>>"$tmp/worker.log" &
    pid=$!
    sleep 0.5
    s0=$(server_cpu_seconds); c0=$(proc_cpu "$pid")
    start_and_wait "$q" "$type" "$wfs"
    c1=$(proc_cpu "$pid")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    [ "$done" = "$wfs" ] || { echo "worker_cpu_ab: only $done of $wfs $type workflows completed" >&2; tail -5 "$tmp/worker.log" >&2; exit 1; }
    rate=$(sql "SELECT round($wfs / extract(epoch FROM max(closed_at) - min(started_at))::numeric)
                FROM durable.workflows WHERE task_queue = '$q'")
    echo "$rate $(per "$c0" "$c1" $(( acts * 1000 )) '%.1f')" \
         "$(per "$s0" "$(server_cpu_seconds)" "$acts" '%.6f' | awk '{ printf "%.0f", $1 * 1e6 }')" \
         "$(sql "SELECT round($wfs / extract(epoch FROM max(closed_at) - max(started_at))::numeric)
                 FROM durable.workflows WHERE task_queue = '$q'")"
}
round() {   # A|B -> one line
    local v=$1 bin wf3
    [ "$v" = A ] && bin=$a_bin || bin=$b_bin
    if [ -n "${WF1:-}" ]; then wf3=$(shape "$bin" BenchSeq1 "$n" 1); else wf3=$(shape "$bin" BenchSeq3 "$n" 3); fi
    set -- $(shape "$bin" BenchPar10 $(( n / 4 )) 10)
    echo "$v ${wf3% *} $(( $1 * 10 )) $2 $3 ${wf3##* }"
}
echo "variant wf3_per_s wf3_worker_cpu_us_per_activity wf3_server_cpu_us_per_activity" \
     "par10_activities_per_s par10_worker_cpu_us_per_activity par10_server_cpu_us_per_activity" \
     "wf3_per_s_from_commit (A = $a_bin, B = $b_bin, N = $n${WF1:+, wf3 = one-activity workflows})"
for _ in $(seq 1 "$rounds"); do for v in A B; do round "$v"; done; done | tee "$tmp/rounds"
for col in 2 3 4 5 6 7 8; do
    set -- $(ab_ratio "$tmp/rounds" "$col")
    case $col in
        2|5|8) echo "$(echo "- wf3_per_s - - par10_activities_per_s - - wf3_per_s_from_commit" | cut -d' ' -f"$col")" \
               "B/A $1 (medians $2, $3)" ;;
        *) echo "$(echo "- - wf3_worker wf3_server - par10_worker par10_server" | cut -d' ' -f"$col")" \
               "CPU per activity B/A $1 (medians $2, $3 µs)" ;;
    esac
done
