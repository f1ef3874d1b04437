#!/usr/bin/env bash
# Throughput of one durable-worker process: N workflows of one activity
# (Hello) and N of ten sequential activities (Hello10), all started at once;
# workflows/s = N / (last close - first start), from the store's own clock.
# Prints the worker's peak RSS (VmHWM). Uses the cluster named by PG*.
# usage: bench.sh [N]   (default 2000); DURABLE_BENCH_ARGS adds worker options
set -euo pipefail
N=${1:-2000}
W=$(cd "$(dirname "$0")/.." && pwd)
run=$(date +%s%N | tail -c 9)
q=bench-$run
"$W/build/durable-worker" --task-queue "$q" --plugin "$W/build/examples/hello.so" --concurrency 64 --batch 64 ${DURABLE_BENCH_ARGS:-} \
	2>/tmp/durable-bench-$run.log &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
measure() {
	local type=$1 prefix=$2-$run
	sql "SELECT count(durable.start_workflow('$prefix-' || i, '$type', '$q', '\"x\"')) FROM generate_series(1, $N) i" >/dev/null
	until [ "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$prefix-%' AND status = 'COMPLETED'")" = "$N" ]; do
		sleep 0.2
	done
	sql "SELECT round($N / extract(epoch FROM max(closed_at) - min(started_at))::numeric, 1)
	       FROM durable.workflows WHERE workflow_id LIKE '$prefix-%'"
}
one=$(measure Hello one)
ten=$(measure Hello10 ten)
rss=$(awk '/VmHWM/ {print $2 " " $3}' /proc/$pid/status)
echo "workflows/s, 1 activity each:   $one  ($N workflows, 1 worker process)"
echo "workflows/s, 10 activities each: $ten  ($N workflows, 1 worker process)"
echo "worker peak RSS:                 $rss"
