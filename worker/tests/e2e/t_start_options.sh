# Start options with a real worker: a start delay holds the first workflow
# task until durable.now() passes it (skip_time moves it) or a signal ends it.
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
finish
