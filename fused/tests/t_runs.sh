# Continue-as-new: runs/ lists the chain, runs/<run_id>/ keeps each run's
# files, the workflow's own files follow the newest run, and its history is
# the whole chain (t_history_chain.sh follows it with tail -f).
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-runs
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/runs.log" || exit 1
id="can-$$"
q="can-q-$$"
W=$M/workflows/$id
first=$("$FSX" writeread "$M/start" "{\"type\": \"Counter\", \"id\": \"$id\", \"task_queue\": \"$q\", \"input\": 1}")
first_size=$(stat -c %s "$W/history")
workflow_task "$q" '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]'
second=$(cat "$W/run_id")
[ "$second" != "$first" ] && ok "run_id moves to the new run" || not_ok "run_id moves to the new run"
is "$(ls "$W/runs" | sort | tr '\n' ' ')" "$(printf '%s\n' "$first" "$second" | sort | tr '\n' ' ')" "runs/ lists both runs"
is "$(cat "$W/runs/$first/status")" "CONTINUED_AS_NEW" "the first run is CONTINUED_AS_NEW"
is "$(cat "$W/runs/$first/input")" "1" "and keeps its input"
is "$(cat "$W/status")" "RUNNING" "the workflow's status is the new run's"
is "$(cat "$W/input")" "2" "as is its input"
like "$(tail -n 1 "$W/runs/$first/history")" "WorkflowExecutionContinuedAsNew" "the first run's history ends in ContinuedAsNew"
is "$(grep WorkflowExecutionStarted "$W/history" | tail -n 1 | grep -c "\"continued_execution_run_id\": \"$first\"")" "1" "history goes on with the new run, which points back"
like "$(head -n 1 "$W/history")" "\"run_id\": \"$first\"" "after the first run's events (the chain, oldest first)"
is "$(stat -c %s "$W/runs/$first/history")" "$(wc -c <"$W/runs/$first/history")" "a closed run's history size is exact"
[ "$(stat -c %s "$W/runs/$first/history")" -gt "$first_size" ] && ok "and grew past its start" || not_ok "history grew"

# --- ctl reset: a new run from an earlier workflow task
rid="reset-$$"
rq="reset-q-$$"
R=$M/workflows/$rid
old=$("$FSX" writeread "$M/start" "{\"type\": \"T\", \"id\": \"$rid\", \"task_queue\": \"$rq\"}")
workflow_task "$rq" '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "a", "input": null, "start_to_close_timeout": 60}]'
done_event=$(grep WorkflowTaskCompleted "$R/history" | sed 's/^{"event_id": \([0-9]*\),.*/\1/')
is "$("$FSX" write "$R/ctl" 'reset')" "EINVAL" "reset without an event id is EINVAL"
is "$("$FSX" write "$R/ctl" 'reset 2')" "EINVAL" "reset to an event that ends no workflow task is EINVAL"
is "$(cat "$R/run_id")" "$old" "refused resets made no new run"
is "$("$FSX" write "$R/ctl" "reset $done_event bad deploy")" "OK" "reset to the completed workflow task"
new=$(cat "$R/run_id")
[ "$new" != "$old" ] && ok "reset makes a new run" || not_ok "reset makes a new run"
is "$(cat "$R/runs/$old/status")" "TERMINATED" "the old run was terminated"
is "$(ls "$R/runs" | wc -l)" "2" "runs/ lists both (list_runs)"
like "$(cat "$R/history")" '"cause": "RESET_WORKFLOW"' "the new run's history records the reset"
like "$(cat "$M/metrics")" 'durable_workflows{namespace="default",status="RUNNING"}' "metrics counts workflows by status"

[ "$n_fail" -eq 0 ]
