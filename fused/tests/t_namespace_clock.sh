# A namespace with a clock of its own (durable.skip_time(namespace, by)):
# what the mount shows of its workflows (started_at, closed_at) agrees with
# their history files, in the namespace's time, after skips before and
# during a run; a mount of another namespace shows the server's time.
. "$(dirname "$0")/lib.sh"
ns="clock-$$"
M=$WORK/mnt-nsclock
O=$WORK/mnt-nsclock-default
trap 'unmount_fs $M; unmount_fs $O' EXIT
mount_fs "$M" "$WORK/nsclock.log" -o namespace=$ns || exit 1
mount_fs "$O" "$WORK/nsclock-default.log" || exit 1

same_time() { sql "SELECT '$1'::timestamptz = '$2'::timestamptz"; }
event_time() {   # event_time of the first event of type $2 in history file $1
    grep "\"event_type\": \"$2\"" "$1" | head -1 | sed 's/.*"event_time": "\([^"]*\)".*/\1/'
}
task() {         # plays the worker: completes the workflow task of queue $1 with commands $2
    local tok
    tok=$(sql "SELECT task_token FROM durable.poll_workflow_tasks('$1', 'test-wf-worker', 1, NULL, '$ns')")
    [ -n "$tok" ] && sql "SELECT durable.complete_workflow_task('$tok', '$2')" >/dev/null
}

sql "SELECT durable.skip_time('$ns', '30 days')" >/dev/null
id=early-$$
"$FSX" writeread "$M/start" "{\"type\": \"T\", \"id\": \"$id\", \"task_queue\": \"q-$$\"}" >/dev/null
W=$M/workflows/$id
is "$(same_time "$(cat "$W/started_at")" "$(event_time "$W/history" WorkflowExecutionStarted)")" t \
   "started_at is the WorkflowExecutionStarted time in the history file"
is "$(sql "SELECT '$(cat "$W/started_at")'::timestamptz - now() > interval '29 days'")" t \
   "30 days ahead: the namespace's time"

# a skip while it runs: it closes 30 more days on
sql "SELECT durable.skip_time('$ns', '30 days')" >/dev/null
task "q-$$" '[{"type": "CompleteWorkflowExecution", "result": 1}]'
is "$(cat "$W/status")" COMPLETED "it completed"
is "$(same_time "$(cat "$W/closed_at")" "$(event_time "$W/history" WorkflowExecutionCompleted)")" t \
   "closed_at is the WorkflowExecutionCompleted time in the history file"
is "$(sql "SELECT '$(cat "$W/closed_at")'::timestamptz - '$(cat "$W/started_at")'::timestamptz >= interval '30 days'")" t \
   "30 days after it started, in the namespace's time"
is "$(same_time "$(cat "$W/runs/$(cat "$W/run_id")/closed_at")" "$(cat "$W/closed_at")")" t \
   "runs/<run_id>/closed_at agrees"

# the default namespace did not move
other=other-$$
"$FSX" writeread "$O/start" "{\"type\": \"T\", \"id\": \"$other\", \"task_queue\": \"q-$$\"}" >/dev/null
is "$(same_time "$(cat "$O/workflows/$other/started_at")" "$(event_time "$O/workflows/$other/history" WorkflowExecutionStarted)")" t \
   "in the default namespace too, started_at agrees with the history"
is "$(sql "SELECT abs(extract(epoch FROM '$(cat "$O/workflows/$other/started_at")'::timestamptz - durable.now())) < 3600")" t \
   "and it is the server's time, not the skipped namespace's"
sql "SELECT durable.terminate_workflow('$other')" >/dev/null

echo "t_namespace_clock.sh: $n_pass passed, $n_fail failed"
[ "$n_fail" -eq 0 ]
