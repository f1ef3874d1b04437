# A workflow driven only through files: start, read values, signal, query,
# an activity worked through next/tasks, completion, and tail -f history.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-workflow
trap 'stop_pids $bg_pids; unmount_fs $M' EXIT
bg_pids=""
mount_fs "$M" "$WORK/workflow.log" -o query_timeout_ms=3000 || exit 1

id="loan-$$"
q="loans-$$"
W=$M/workflows/$id

# --- the tree
like "$(ls "$M")" "workflows" "the root lists workflows/"
like "$(cat "$M/README")" "durablefs" "README explains the tree"

# --- start
run=$("$FSX" writeread "$M/start" "{\"type\": \"LoanReview\", \"id\": \"$id\", \"task_queue\": \"$q\", \"input\": {\"amount\": 0.1, \"n\": 12345678901234567890}}")
is "$run" "$(sql "SELECT durable.describe_workflow('$id') ->> 'run_id'")" "reading start after writing it gives the new run id"
is "$(cat "$W/status")" "RUNNING" "status is RUNNING"
is "$(cat "$W/type")" "LoanReview" "type"
is "$(cat "$W/task_queue")" "$q" "task_queue"
is "$(cat "$W/run_id")" "$run" "run_id"
is "$(cat "$W/input")" '{"n": 12345678901234567890, "amount": 0.1}' "input is the JSON document, numbers untouched"
is "$(wc -c <"$W/status")" "8" "status is one value and a newline"
is "$(stat -c %s "$W/status")" "8" "st_size of status is the truth"
is "$(cat "$W/result")" "" "no result while running"
is "$(cat "$W/closed_at")" "" "closed_at is empty while running"
like "$(cat "$W/started_at")" "T" "started_at is an ISO 8601 time"
like "$(cat "$W/pending")" '"workflow_task": {' "pending shows the workflow task"
like "$(ls "$M/workflows")" "$id" "workflows/ lists it"
is "$(readlink "$M/by-status/RUNNING/$id")" "../../workflows/$id" "by-status/RUNNING links to it"
is "$(cat "$M/by-status/RUNNING/$id/type")" "LoanReview" "and the link resolves"
is "$("$FSX" open "$M/by-status/COMPLETED/$id" r)" "ENOENT" "it is not under COMPLETED"
is "$(ls "$W/runs")" "$run" "runs/ lists the run"
is "$(cat "$W/runs/$run/status")" "RUNNING" "runs/<run_id>/status"

# --- history and tail -f
lines=$(wc -l <"$W/history")
is "$lines" "$(history_len "$id")" "history has one line per event"
is "$(stat -c %s "$W/history")" "$(wc -c <"$W/history")" "history's st_size is its length"
like "$(head -n1 "$W/history")" '{"event_id": 1, "event_type": "WorkflowExecutionStarted", "event_time": "' "one JSON event per line"
tail -n +1 -f "$W/history" >"$WORK/tail.out" 2>&1 &
tail_pid=$!
bg_pids="$bg_pids $tail_pid"

# --- signal
is "$("$FSX" write "$W/signals/review_decision" '{"approved": true}')" "OK" "a signal write succeeds"
like "$(grep WorkflowExecutionSignaled "$W/history")" '"input": {"approved": true}' "the signal is in the history"
echo '{"approved": false}' >"$W/signals/second" && ok "echo > signals/<name> works (O_TRUNC is a no-op)" || not_ok "echo > signals/<name>"
has_signal() { grep -q '"signal_name": "second"' "$WORK/tail.out"; }
eventually has_signal && ok "tail -f history follows new events" || not_ok "tail -f history follows new events"

# --- query, answered by a shell stand-in for the worker: "broken" fails,
# "echo" answers its arguments, anything else gives the state. Three answers.
answer_queries() {
    local n=0 c deadline=$((SECONDS + 120))
    while [ $n -lt 3 ] && [ $SECONDS -lt $deadline ]; do
        c=$(psql -qXAt -v q="$1" <<'SQL'
SELECT count(durable.answer_query_task(query_token,
           CASE query_type WHEN 'echo' THEN args ELSE '{"state": "waiting for review"}' END,
           CASE query_type WHEN 'broken' THEN 'no such query' END))
  FROM durable.poll_query_tasks(:'q', 'sh', 1, 20000)
SQL
        )
        n=$((n + ${c:-0}))
    done
}
answer_queries "$q" &
bg_pids="$bg_pids $!"
is "$(timeout 60 cat "$W/queries/state")" '{"state": "waiting for review"}' "a query returns the worker's answer"
is "$("$FSX" read "$W/queries/broken")" "EREMOTEIO" "a query the worker fails gives EREMOTEIO"
like "$(cat "$W/last-error")" "no such query" "and last-error has the worker's message"
is "$(timeout 60 "$FSX" writeread "$W/queries/echo" '{"page": 2}')" '{"page": 2}' "arguments written to a query go with it (read back on the same descriptor)"
is "$("$FSX" read "$W/queries/state")" "ETIMEDOUT" "a query nobody answers gives ETIMEDOUT"
is "$("$FSX" writeread "$W/queries/echo" '{"page": ')" "EINVAL" "query arguments that are not JSON are EINVAL"

# --- an activity, worked through files
workflow_task "$q" '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "score", "input": {"amount": 0.1}, "start_to_close_timeout": 60}]'
task=$(timeout 60 "$FSX" read "$M/task-queues/$q/next")
token=$(sed -n 's/.*"task_token" *: *"\([^"]*\)".*/\1/p' <<<"$task")
like "$task" '"activity_type":"score"' "next leases the activity task as JSON"
like "$token" "a" "with its token"
like "$(cat "$M/task-queues/$q/backlog")" "running 1" "backlog counts it as running"
like "$(cat "$M/task-queues/$q/tasks")" '"state":"STARTED"' "task-queues/<name>/tasks lists it, started"
unlike "$(cat "$M/task-queues/$q/tasks")" "$token" "without its token"
like "$(cat "$W/pending")" '"state": "STARTED"' "pending shows the started activity"
is "$("$FSX" writeread "$M/tasks/$token/heartbeat" '{"progress": 50}')" $'cancel_requested false\npaused false' "heartbeat answers whether to stop, or that the activity is paused"
is "$("$FSX" write "$M/tasks/$token/result" '{"score": 700}')" "OK" "writing result completes the task"
is "$("$FSX" write "$M/tasks/$token/result" '{"score": 1}')" "ESTALE" "a second result for the same token is refused"
like "$(cat "$M/tasks/$token/last-error")" "DU004" "and tasks/<token>/last-error says why"
like "$(grep ActivityTaskCompleted "$W/history")" '"result": {"score": 700}' "the result reached the history"
is "$("$FSX" readnb "$M/task-queues/$q/next")" "EAGAIN" "next under O_NONBLOCK on an empty queue is EAGAIN"

# blocking next: a reader waits, a new task wakes it (LISTEN, no sleeping)
timeout 60 "$FSX" read "$M/task-queues/$q/next" >"$WORK/next.out" &
next_pid=$!
bg_pids="$bg_pids $next_pid"
workflow_task "$q" '[{"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "notify", "input": null, "start_to_close_timeout": 60}]'
eventually grep -q '"activity_type":"notify"' "$WORK/next.out" && ok "a blocked next read returns when a task arrives" || not_ok "blocked next"
token2=$(sed -n 's/.*"task_token" *: *"\([^"]*\)".*/\1/p' "$WORK/next.out")
is "$("$FSX" write "$M/tasks/$token2/failure" '{"no": "message"}')" "EINVAL" "a failure without a message is refused"
is "$("$FSX" writeread "$M/tasks/$token2/failure" '{"message": "smtp down", "non_retryable": true}')" "FAILED" "failure reports the outcome"

# --- completion
eventually bash -c "[ \"\$(psql -qXAt -c \"SELECT count(*) FROM durable.poll_workflow_tasks('$q', 'x', 0)\" 2>/dev/null)\" != x ]"
workflow_task "$q" '[{"type": "CompleteWorkflowExecution", "result": {"approved": true, "amount": 0.1}}]'
is "$(cat "$W/status")" "COMPLETED" "status is COMPLETED"
is "$(cat "$W/result")" '{"amount": 0.1, "approved": true}' "result is the JSON document"
like "$(cat "$W/closed_at")" "T" "closed_at is set"
is "$(readlink "$M/by-status/COMPLETED/$id")" "../../workflows/$id" "by-status/COMPLETED links to it"
is "$("$FSX" write "$W/signals/late" '{}')" "EPERM" "a signal to a closed workflow is EPERM"
like "$(cat "$W/last-error")" "DU003" "last-error says it is not running"
done_tail() { grep -q WorkflowExecutionCompleted "$WORK/tail.out"; }
eventually done_tail && ok "tail -f sees the completion" || not_ok "tail -f sees the completion"
is "$(wc -l <"$WORK/tail.out")" "$(history_len "$id")" "tail -f printed every event exactly once"

[ "$n_fail" -eq 0 ]
