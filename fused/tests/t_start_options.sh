# Start options through the start file: a retried write with the same
# request_id answers the same run, and the id conflict policy.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-start-options
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/start-options.log" || exit 1
q="so-$$"
spec() { echo "{\"type\": \"T\", \"id\": \"$1\", \"task_queue\": \"$q\", \"options\": $2}"; }
runs() { sql "SELECT count(*) FROM durable.workflows WHERE workflow_id = '$1'"; }

# --- request_id: the same request twice is one run, and both reads answer it
id="rq-$$"
first=$("$FSX" writeread "$M/start" "$(spec "$id" '{"request_id": "r-1"}')")
is "$first" "$(sql "SELECT durable.describe_workflow('$id') ->> 'run_id'")" "a start with a request id answers the new run"
is "$("$FSX" writeread "$M/start" "$(spec "$id" '{"request_id": "r-1"}')")" "$first" "the retried write answers the same run"
is "$(runs "$id")" "1" "and starts no second run"
is "$("$FSX" write "$M/start" "$(spec "$id" '{"request_id": "r-2"}')")" "EEXIST" "another request id for the running id is EEXIST"
like "$(cat "$M/last-error")" "already started" "last-error says why"
is "$(runs "$id")" "1" "and the refusal started nothing"
# a shell's echo writes the document in pieces: still one start
printf '%s\n' "$(spec "$id" '{"request_id": "r-1"}')" >"$M/start" && ok "echo > start with the same request id succeeds" \
    || not_ok "echo > start with the same request id"
is "$(runs "$id")" "1" "still one run"
is "$("$FSX" write "$M/start" "$(spec "$id" '{"request_id": 5}')")" "EINVAL" "a request id that is not a string is EINVAL"
like "$(cat "$M/last-error")" '"request_id" must be a non-empty string' "last-error names the option"

# --- id_conflict_policy
id="cp-$$"
first=$("$FSX" writeread "$M/start" "$(spec "$id" '{}')")
is "$("$FSX" writeread "$M/start" "$(spec "$id" '{"id_conflict_policy": "USE_EXISTING"}')")" "$first" \
    "USE_EXISTING answers the running run"
second=$("$FSX" writeread "$M/start" "$(spec "$id" '{"id_conflict_policy": "TERMINATE_EXISTING"}')")
[ -n "$second" ] && [ "$second" != "$first" ] && ok "TERMINATE_EXISTING answers a new run" || not_ok "TERMINATE_EXISTING: [$second]"
is "$(cat "$M/workflows/$id/runs/$first/status")" "TERMINATED" "the old run is TERMINATED"
is "$(cat "$M/workflows/$id/status")" "RUNNING" "the id runs again"
is "$("$FSX" write "$M/start" "$(spec "$id" '{"id_conflict_policy": "SOMETIMES"}')")" "EINVAL" "an unknown conflict policy is EINVAL"
like "$(cat "$M/last-error")" 'unknown id_conflict_policy "SOMETIMES"' "last-error says which"
is "$(runs "$id")" "2" "refusals started nothing"

# --- start_delay: the run exists at once, its first workflow task waits
id="sd-$$"
"$FSX" write "$M/start" "$(spec "$id" '{"start_delay": 3600}')" >/dev/null
W=$M/workflows/$id
is "$(cat "$W/status")" "RUNNING" "a delayed run is RUNNING"
like "$(cat "$W/pending")" '"state": "BACKOFF"' "pending shows its first workflow task waiting"
is "$(grep -c WorkflowTaskScheduled "$W/history")" "0" "no workflow task is scheduled yet"
like "$(head -n1 "$W/history")" '"first_workflow_task_backoff": 3600' "WorkflowExecutionStarted shows the delay"
is "$("$FSX" write "$W/signals/wake" '{}')" "OK" "a signal through the mount"
is "$(grep -c WorkflowTaskScheduled "$W/history")" "1" "ends the delay: the first workflow task is scheduled"
like "$(cat "$W/pending")" '"state": "SCHEDULED"' "and pending shows it SCHEDULED"
is "$("$FSX" write "$M/start" "$(spec "sd2-$$" '{"start_delay": "later"}')")" "EINVAL" "a delay that is not a duration is EINVAL"
like "$(cat "$M/last-error")" '"start_delay" is not a duration' "last-error says why"

# --- retry_policy: a failed run is retried; the history file follows the attempts
id="wr-$$"
first=$("$FSX" writeread "$M/start" "{\"type\": \"T\", \"id\": \"$id\", \"task_queue\": \"$q-retry\",
    \"options\": {\"retry_policy\": {\"initial_interval\": 3600, \"maximum_attempts\": 2}}}")
W=$M/workflows/$id
workflow_task "$q-retry" '[{"type": "FailWorkflowExecution", "failure": {"message": "first try", "type": "Boom"}}]'
is "$(cat "$W/status")" "RUNNING" "a failed run under a retry policy: the workflow RUNs again"
is "$(cat "$W/runs/$first/status")" "FAILED" "its first run FAILED"
is "$(ls "$W/runs" | wc -l)" "2" "runs/ lists both attempts"
is "$(grep -c '"event_type": "WorkflowExecutionStarted"' "$W/history")" "2" "history reads both runs, in order"
like "$(grep WorkflowExecutionFailed "$W/history")" '"retry_state": "RETRY_STATE_IN_PROGRESS"' "the failure says a retry follows"
like "$(tail -n1 "$W/history")" '"attempt": 2' "the last event is attempt 2's start"
like "$(cat "$W/pending")" '"state": "BACKOFF"' "whose first workflow task waits out the backoff"
is "$("$FSX" write "$M/start" "$(spec "wr2-$$" '{"retry_policy": {"maximum_attempts": -1}}')")" "EINVAL" "a bad retry policy is EINVAL"
like "$(cat "$M/last-error")" '"maximum_attempts" must be a non-negative integer' "last-error says why"

[ "$n_fail" -eq 0 ]
