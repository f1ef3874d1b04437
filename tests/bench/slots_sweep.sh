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
# the server's CPU (us), commits and WAL bytes per activity (build_ab.sh's figures).
# Needs a private PostgreSQL with this checkout installed (export
# PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg); make -C pgext install) and make all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, and what shape_figures needs
rounds=${1:-3} n=${2:-3000}
shift $(( $# < 2 ? $# : 2 ))
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=("" "--concurrency 128 --batch 128" "--concurrency 256 --batch 256")
bench_cluster slots-sweep 55497
worker_bin="$top/worker/build/durable-worker"
[ -x "$worker_bin" ] || { echo "slots_sweep: build first (make all)" >&2; exit 1; }
plugin="$tmp/bench-workflows.so"
. "$here/worker_rate.sh"   # shape_figures, build_bench_plugin
build_bench_plugin
echo "round variant wf3_per_s wf3_cpu_us wf3_commits wf3_wal par10_activities_per_s par10_cpu_us par10_commits par10_wal"
for r in $(seq 1 "$rounds"); do
    for v in "${variants[@]}"; do
        export WORKER_RATE_ARGS="$v"
        wf3=$(shape_figures BenchSeq3 "$n" 3)
        set -- $(shape_figures BenchPar10 $(( n / 3 )) 10)
        echo "$r '${v:-as make bench-peers}' $wf3 $(( $1 * 10 )) $2 $3 $4"
    done
done
