#!/usr/bin/env bash
# Leases per second that one session gets from poll_activity_tasks on a queue
# of 100k tasks, with batch sizes 1 and 100. Needs PG* set (a durable cluster).
# Prints "lease_batch1_per_s N" and "lease_batch100_per_s N".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
psql -qX -v ON_ERROR_STOP=1 -v client_min_messages=warning -c "SET client_min_messages = warning" -f "$here/sql/fixtures.sql" >/dev/null
# 100k tasks: 1,000 workflows with 100 activities each, in batches of 100 workflows.
for i in $(seq 1 10); do
    psql -qXAt -v ON_ERROR_STOP=1 -c "SELECT durable_bench.schedule_activities(100, 100, 'lease-wf', 'lease-q')" >/dev/null
done
backlog=$(psql -qXAt -c "SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'lease-q' AND state = 'SCHEDULED'")
echo "lease_backlog $backlog"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A fixed number of polls (5,000 leases at batch 1, 50,000 at batch 100), so
# the queue never runs dry during a measurement.
for batch in 1 100; do
    echo "SELECT count(*) FROM durable.poll_activity_tasks('lease-q', 'bench', $batch);" > "$tmp/poll.sql"
    polls=$(( batch == 1 ? 5000 : 500 ))
    tps=$(pgbench -n -c 1 -t "$polls" -f "$tmp/poll.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    echo "lease_batch${batch}_per_s $(awk -v t="$tps" -v b="$batch" 'BEGIN { printf "%.0f", t * b }')"
done
