#!/usr/bin/env bash
# Long histories: time per activity as one workflow's history grows. One
# durable-worker process runs one BenchSeqN workflow of N no-op activities in
# sequence (tests/bench/workflows.c), nothing else running. Needs PG* set (a
# durable cluster), the worker binary and the plugin:
#   long_history.sh WORKER_BIN PLUGIN [N]     (N: 1000, or LONG_HISTORY_N)
# Prints "name value" lines, every time from the store's clock (event_time).
# Each activity's time is from the ActivityTaskCompleted before it to its
# own; "near 10" is the median of activities 2..W+1, "near N" of the last W
# (W = 50, or N/4 when N < 200): medians, so that a stall of the shared
# machine in one window does not make the ratio.
#   long_history_activities             N
#   long_history_ms_per_activity_at_10  median time per activity near the start
#   long_history_ms_per_activity_at_n   the same near the end
#   long_history_cost_ratio             at_n / at_10 (1.0 = no growth)
#   long_history_worker_ms_at_10/_at_n  of that, the median WorkflowTaskStarted
#                                       to its WorkflowTaskCompleted (the
#                                       worker's replay and decision plus one
#                                       round trip), same windows
#   long_history_worker_cpu_s           CPU the worker used for the whole run
#   long_history_total_s                first start to close
#   long_history_replays                tasks and local rounds the worker ran
#                                       from the first event where a kept run
#                                       could have gone on (its exit line;
#                                       absent from workers before it counted)
# LONG_HISTORY_WORKER_ARGS: more arguments for the worker (--run-cache -1
# measures replaying every task).
# LONG_HISTORY_SHAPE: the workflow (tests/bench/workflows.c): seq (BenchSeqN,
# the default), local (BenchLocalN: N local activities in one task; no
# activity times, only CPU, total and replays), localseq (BenchLocalSeqN: a
# local activity and an activity per step), cancelchild (BenchCancelChildN:
# a child canceled, then N activities), child (BenchChildN: N child
# workflows in sequence, each returning at once; a step is a child's
# ChildWorkflowExecutionCompleted instead of an ActivityTaskCompleted).
set -euo pipefail
worker_bin=$1 plugin=$2
n=${3:-${LONG_HISTORY_N:-1000}}
case ${LONG_HISTORY_SHAPE:-seq} in
    seq) type=BenchSeqN ;;
    local) type=BenchLocalN ;;
    localseq) type=BenchLocalSeqN ;;
    cancelchild) type=BenchCancelChildN ;;
    child) type=BenchChildN ;;
    *) echo "long_history: LONG_HISTORY_SHAPE is seq, local, localseq, cancelchild or child" >&2; exit 2 ;;
esac
step=$([ "$type" = BenchChildN ] && echo ChildWorkflowExecutionCompleted || echo ActivityTaskCompleted)
w=$(( n < 200 ? n / 4 : 50 ))
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
log=$(mktemp)
q="long-$$"
# shellcheck disable=SC2086
"$worker_bin" --task-queue "$q" --plugin "$plugin" ${LONG_HISTORY_WORKER_ARGS:-} 2>>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; rm -f "$log"' EXIT
sleep 0.5
sql "SELECT durable.start_workflow('$q', '$type', '$q', '$n')" >/dev/null
status=
for _ in $(seq 1 36000); do   # an hour at most
    status=$(sql "SELECT status FROM durable.workflows WHERE workflow_id = '$q'")
    [ "$status" = RUNNING ] || break
    sleep 0.1
done
ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
[ "$status" = COMPLETED ] || { echo "long_history: the workflow is $status (worker log: $(tail -3 "$log"))" >&2; exit 1; }
echo "long_history_activities $n"
[ "$type" = BenchLocalN ] || sql "
WITH run AS (SELECT run_id FROM durable.workflows WHERE workflow_id = '$q'),
ev AS (    -- every event, with the number of activities done up to it
    SELECT h.event_id, h.event_type, h.event_time, h.attributes,
           sum((h.event_type = '$step')::int) OVER (ORDER BY h.event_id) AS k
      FROM durable.history h JOIN run USING (run_id)),
act AS (   -- each activity's time, from the previous one's completion
    SELECT k, extract(epoch FROM event_time - lag(event_time) OVER (ORDER BY event_id)) * 1000 AS ms
      FROM ev WHERE event_type = '$step'),
task AS (   -- each workflow task's time in the worker
    SELECT c.k, extract(epoch FROM c.event_time - s.event_time) * 1000 AS ms
      FROM ev c JOIN ev s ON s.event_id = (c.attributes->>'started_event_id')::bigint
     WHERE c.event_type = 'WorkflowTaskCompleted'),
span AS (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE k BETWEEN 2 AND 1 + $w) AS first,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE k > $n - $w) AS last
      FROM act)
SELECT 'long_history_ms_per_activity_at_10 ' || round(first::numeric, 2) || E'\n' ||
       'long_history_ms_per_activity_at_n ' || round(last::numeric, 2) || E'\n' ||
       'long_history_cost_ratio ' || round((last / nullif(first, 0))::numeric, 3) || E'\n' ||
       'long_history_worker_ms_at_10 ' ||
           (SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2) FROM task WHERE k BETWEEN 1 AND $w) || E'\n' ||
       'long_history_worker_ms_at_n ' ||
           (SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2) FROM task WHERE k BETWEEN $n - $w AND $n - 1)
  FROM span"
replays=$(sed -n 's/.* \([0-9]*\) replayed).*/\1/p' "$log" | tail -1)
[ -z "$replays" ] || echo "long_history_replays $replays"
echo "long_history_worker_cpu_s $(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')"
sql "SELECT 'long_history_total_s ' || round(extract(epoch FROM closed_at - started_at)::numeric, 2)
       FROM durable.workflows WHERE workflow_id = '$q'"
