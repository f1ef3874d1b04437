#!/usr/bin/env bash
# tests/bench/late_notify.sh WORKER [ATTEMPTS] [DELAY]: what a worker's
# lost wake-up judge counts when notifications come late. Each attempt
# commits one Flaky workflow with no NOTIFY (worker/tests/e2e/
# start_unannounced.sql), sends the queue's NOTIFY DELAY seconds
# later, waits for the workflow to close and for a second of quiet. A
# backstop tick (every 5 s) that falls in between finds the workflow task
# before its notification: a late notification, not a lost one, while the
# task has waited less than the judge's bound (worker/src/wakeups.c, BACKSTOP_FRESH_MS,
# 2.5 s: DELAY plus psql's start under load).
# Runs against the cluster of the PG* variables (durable 0.2 installed);
# WORKER is a durable-worker binary (another build's, to compare). Prints
# the attempts, the finds counted as lost wake-ups, and those not counted.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:?usage: late_notify.sh WORKER [ATTEMPTS] [DELAY]}
n=${2:-40}
delay=${3:-0.8}
plugin=$PWD/worker/build/tests/flaky.so
[ -f "$plugin" ] || { echo "late_notify: $plugin missing (make -C worker e2e builds it)"; exit 1; }
tmp=$(mktemp -d)
q=late-$(date +%s%N | tail -c 9)
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
"$bin" --task-queue "$q" --plugin "$plugin" --concurrency 8 >"$tmp/worker.log" 2>&1 &
wpid=$!
trap 'kill -TERM $wpid 2>/dev/null; wait $wpid 2>/dev/null; rm -rf "$tmp"' EXIT
until [ "$(sql "SELECT count(*) FROM durable.task_queue_pollers WHERE task_queue = '$q'")" = 2 ]; do sleep 0.1; done
chan=$(sql "SELECT durable.task_queue_channel('workflow', '$q', 'default')")
for i in $(seq "$n"); do
    psql -qX -v id="$q-$i" -v type=Flaky -v queue="$q" -v input='"x"' -v skip=0 \
        -f worker/tests/e2e/start_unannounced.sql >/dev/null
    sleep "$delay"
    sql "SELECT pg_notify('$chan', '')" >/dev/null
    until [ "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id = '$q-$i' AND status = 'RUNNING'")" = 0 ]; do
        sleep 0.1
    done
    sleep 1.2
done
kill -TERM $wpid
wait $wpid
echo "attempts $n, notifications ${delay} s late: counted lost $(grep -c 'WARN the backstop poll found' "$tmp/worker.log")," \
     "not counted $(grep -c 'not counted' "$tmp/worker.log")"
