# Start options with a real worker: a start delay holds the first workflow
# task until durable.now() passes it (skip_time moves it) or a signal ends it;
# a workflow retry policy retries a failing workflow as new runs, which see
# their attempt (durable_workflow_attempt), and a parent sees only the last.
. "$(dirname "$0")/lib.sh"
q=startopt-$RUN
worker startopt --task-queue "$q" --plugin "$WORKER_DIR/build/tests/start_options.so"
scheduled() {
	sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type = 'WorkflowTaskScheduled'"
}

sql "SELECT durable.start_workflow('$q-delayed', 'Quick', '$q', '1', '{\"start_delay\": \"1 hour\"}')" >/dev/null
sql "SELECT durable.start_workflow('$q-signaled', 'Quick', '$q', '2', '{\"start_delay\": \"1 hour\"}')" >/dev/null
sql "SELECT durable.start_workflow('$q-plain', 'Quick', '$q', '3')" >/dev/null
check "a start without a delay completes (the worker polls the queue)" wait_closed "$q-plain"
sql "SELECT durable.signal_workflow('$q-signaled', 'wake')" >/dev/null
check "a signal ends the delay: the worker completes that run" wait_closed "$q-signaled"
check "as COMPLETED" eq "$(status_of "$q-signaled")" COMPLETED
check "the delayed run is still RUNNING" eq "$(status_of "$q-delayed")" RUNNING
check "and no workflow task was offered for it" eq "$(scheduled "$q-delayed")" 0
sql "SELECT durable.skip_time('1 hour 1 second')" >/dev/null
check "once durable.now() passes the delay, the worker completes it" wait_closed "$q-delayed"
check "with its input as the result" eq "$(sql "SELECT result FROM durable.workflows WHERE workflow_id = '$q-delayed'")" 1
check "after one workflow task" eq "$(scheduled "$q-delayed")" 1

# --- workflow retry
runs() { sql "SELECT count(*) FROM durable.workflows WHERE workflow_id = '$1'"; }
latest() { sql "SELECT $2 FROM durable.workflows WHERE workflow_id = '$1' ORDER BY started_at DESC LIMIT 1"; }
policy='"retry_policy": {"initial_interval": 1, "maximum_attempts": 5}'
sql "SELECT durable.start_workflow('$q-retry', 'Flaky', '$q', '{\"succeed_on\": 3}', '{$policy}')" >/dev/null
check "a workflow failing twice under a retry policy completes" wait_sql \
	"SELECT count(*) FROM durable.workflows WHERE workflow_id = '$q-retry' AND status = 'COMPLETED'" 1
check "on its third attempt, which it saw (durable_workflow_attempt)" eq "$(latest "$q-retry" result)" '{"attempt": 3}'
check "three runs" eq "$(runs "$q-retry")" 3
check "two of them FAILED" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id = '$q-retry' AND status = 'FAILED'")" 2
check "the history chain reads all three attempts" eq \
	"$(sql "SELECT count(*) FROM durable.history_chain('$q-retry')")" 3
sql "SELECT durable.start_workflow('$q-final', 'Flaky', '$q', '{\"succeed_on\": 9}',
     '{\"retry_policy\": {\"initial_interval\": 1, \"maximum_attempts\": 2}}')" >/dev/null
check "a workflow that fails every attempt" wait_sql \
	"SELECT count(*) FROM durable.workflows WHERE workflow_id = '$q-final' AND status = 'FAILED' AND attempt = 2" 1
check "stops after maximum_attempts" eq "$(runs "$q-final")" 2
check "and its last failure says why" eq "$(sql "SELECT h.attributes ->> 'retry_state' FROM durable.history h
	JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q-final' AND w.attempt = 2
	AND h.event_type = 'WorkflowExecutionFailed'")" RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED

sql "SELECT durable.start_workflow('$q-parent', 'FlakyParent', '$q', '{\"succeed_on\": 2, \"max_attempts\": 3}')" >/dev/null
check "a parent whose child fails once then succeeds completes" wait_closed "$q-parent"
check "as COMPLETED" eq "$(status_of "$q-parent")" COMPLETED
check "with the child's second attempt's result" eq "$(latest "$q-parent" result)" '{"attempt": 2}'
check "the child ran twice" eq "$(runs "$q-parent-kid")" 2
check "and the parent never saw the failed attempt" eq "$(sql "SELECT count(*) FROM durable.history h
	JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q-parent'
	AND h.event_type = 'ChildWorkflowExecutionFailed'")" 0
sql "SELECT durable.start_workflow('$q-parent2', 'FlakyParent', '$q', '{\"succeed_on\": 9, \"max_attempts\": 2}')" >/dev/null
check "a parent whose child fails every attempt" wait_closed "$q-parent2"
check "fails" eq "$(status_of "$q-parent2")" FAILED
check "after the child's two attempts" eq "$(runs "$q-parent2-kid")" 2
check "hearing of the failure once" eq "$(sql "SELECT count(*) FROM durable.history h
	JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q-parent2'
	AND h.event_type = 'ChildWorkflowExecutionFailed'")" 1
finish
