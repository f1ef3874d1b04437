# Workflow task outcomes go to the store in batches: one worker, a hundred
# workflows started before it polls (so that its first poll takes a full
# batch); every task is completed through durable.complete_workflow_tasks,
# in fewer calls than there are tasks, and every workflow closes exactly once.
# The worker's sessions count function calls (track_functions = all: complete_workflow_task
# is C since session 11, which track_functions = pl leaves out) for the check.
. "$(dirname "$0")/lib.sh"
SO=$EX/hello.so
q=batch-$RUN
n=100
calls() { sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE schemaname = 'durable' AND funcname = '$1'"; }
batches0=$(calls complete_workflow_tasks)
tasks0=$(calls complete_workflow_task)
sql "SELECT count(durable.start_workflow('$q-' || i, 'Hello', '$q', '\"b\"')) FROM generate_series(1, $n) i" >/dev/null
export PGOPTIONS="-c track_functions=all"
worker batch --task-queue "$q" --plugin "$SO"
unset PGOPTIONS
check "all $n workflows complete" wait_sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$q' AND status = 'COMPLETED'" "$n"
check "each closed exactly once" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	WHERE w.task_queue = '$q' AND h.event_type = 'WorkflowExecutionCompleted'")" "$n"
check "every workflow task ($((2 * n))) went through complete_workflow_task" \
	wait_sql "SELECT coalesce(sum(calls), 0) - $tasks0 FROM pg_stat_user_functions WHERE schemaname = 'durable' AND funcname = 'complete_workflow_task'" $((2 * n))
batches=$(( $(calls complete_workflow_tasks) - batches0 ))
check "called by complete_workflow_tasks, in batches ($batches calls for $((2 * n)) tasks)" \
	test "$batches" -ge 1 -a "$batches" -lt $((2 * n))
check "no completion failed" eq "$(grep -c "completion failed\|completion refused\|lease lost" "$LOGDIR/batch.log")" 0
finish
