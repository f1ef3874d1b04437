#!/usr/bin/env bash
# The peers bench's two durable shapes (three-activity workflows, BenchSeq3,
# and ten-parallel activities, BenchPar10) with one worker process, at
# several worker settings, alternated on one cluster: what the bench's
# choice of 64 activity slots and workflow batches of 64 costs against
# larger ones. Each variant is a set of worker arguments added after
# worker_rate's own "--concurrency 64 --batch 64" (the last one given wins).
#   tests/bench/slots_sweep.sh [ROUNDS] [N] [VARIANT...]
#     (3, 3000; variants "" "--concurrency 128 --batch 128"
#      "--concurrency 256 --batch 256")
# N three-activity workflows and N / 3 ten-parallel ones (as make bench-peers:
# 3,000 and 1,000). Prints per round and variant: workflows/s and activities/s,
# the server's CPU per activity (us), commits per activity.
# Needs a private PostgreSQL with this checkout installed (export
# PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg); make -C pgext install) and make all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, sql, reset_store, server_cpu_seconds, commits, per
rounds=${1:-3} n=${2:-3000}
shift 2 || true
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=("" "--concurrency 128 --batch 128" "--concurrency 256 --batch 256")
bench_cluster slots-sweep 55497
worker_bin="$top/worker/build/durable-worker"
[ -x "$worker_bin" ] || { echo "slots_sweep: build first (make all)" >&2; exit 1; }
plugin="$tmp/bench-workflows.so"
. "$here/worker_rate.sh"   # worker_rate, build_bench_plugin
build_bench_plugin
shape() {   # TYPE WORKFLOWS ACTIVITIES_PER_WORKFLOW -> "units/s cpu_us commits (per activity)"
    local c0 cpu0 rate acts=$(( $2 * $3 ))
    reset_store
    sql "CHECKPOINT" >/dev/null
    c0=$(commits); cpu0=$(server_cpu_seconds)
    rate=$(worker_rate "$1" "$2" 1)
    echo "$(( rate * ($3 == 10 ? 10 : 1) )) $(per "$cpu0" "$(server_cpu_seconds)" "$acts" '%.6f' | awk '{ printf "%.0f", $1 * 1e6 }')" \
         "$(per "$c0" "$(commits)" "$acts" '%.3f')"
}
echo "round variant wf3_per_s wf3_cpu_us wf3_commits par10_activities_per_s par10_cpu_us par10_commits"
for r in $(seq 1 "$rounds"); do
    for v in "${variants[@]}"; do
        export WORKER_RATE_ARGS="$v"
        echo "$r '${v:-as make bench-peers}' $(shape BenchSeq3 "$n" 3) $(shape BenchPar10 $(( n / 3 )) 10)"
    done
done
