# Child workflows end to end: a parent fans out to children on the same
# queue, waits for all, then signals another workflow.
. "$(dirname "$0")/lib.sh"
q=family-$RUN
worker family --task-queue "$q" --plugin "$EX/hello.so"
sql "SELECT durable.start_workflow('$q-waiter', 'LoanApplication', 'nobody-$RUN', '{}')" >/dev/null
sql "SELECT durable.start_workflow('$q', 'Family', '$q', '{\"n\": 4, \"notify\": \"$q-waiter\"}', '{\"task_timeout\": 2}')" >/dev/null
check "the parent closes" wait_closed "$q"
check "it completed" eq "$(status_of "$q")" COMPLETED
check "with each child's greeting, in order" eq "$(sql "SELECT result ->> 3 FROM durable.workflows WHERE workflow_id = '$q'")" "hello, kid 3"
check "four children ran" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE parent_workflow_id = '$q' AND status = 'COMPLETED'")" 4
check "the parent saw them complete" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND h.event_type = 'ChildWorkflowExecutionCompleted'")" 4
check "the other workflow got the signal" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q-waiter' AND h.event_type = 'WorkflowExecutionSignaled' AND h.attributes ->> 'signal_name' = 'family_done'")" 1
sql "SELECT durable.terminate_workflow('$q-waiter', 'test over')" >/dev/null
finish
