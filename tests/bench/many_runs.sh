#!/usr/bin/env bash
# Many runs at once on one worker: what the run cache costs or saves when
# more runs are in flight than it holds. Starts COUNT workflows of TYPE
# (tests/bench/workflows.c) at once on one durable-worker process, nothing
# else running, and waits until they have all closed. Needs PG* set (a
# durable cluster), the worker binary and the plugin:
#   many_runs.sh WORKER_BIN PLUGIN TYPE COUNT INPUT [WORKER ARGS...]
# e.g. many_runs.sh worker/build/durable-worker PLUGIN BenchSeqN 200 30
# (200 runs of 30 activities against the default 128 kept runs; add
# --run-cache -1 to replay every task). Prints one line:
#   many_runs_worker_cpu_s S wall_s S not_completed N kept runs: ... (the
#   worker's exit line's counts)
set -euo pipefail
worker_bin=$1 plugin=$2 type=$3 count=$4 input=$5
shift 5
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
q="many-$$"
log=$(mktemp)
"$worker_bin" --task-queue "$q" --plugin "$plugin" "$@" 2>>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; rm -f "$log"' EXIT
sleep 0.5
sql "SELECT count(durable.start_workflow('$q-' || i, '$type', '$q', '$input')) FROM generate_series(1, $count) i" >/dev/null
t0=$(date +%s.%N)
for _ in $(seq 1 36000); do   # an hour at most
    [ "$(sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$q' AND status = 'RUNNING'")" = 0 ] && break
    sleep 0.1
done
t1=$(date +%s.%N)
ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
echo "many_runs_worker_cpu_s $(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')" \
     "wall_s $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
     "not_completed $(sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$q' AND status <> 'COMPLETED'")" \
     "$(grep -o 'kept runs: [^)]*' "$log" | tail -1)"
