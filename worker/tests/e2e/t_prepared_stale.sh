# The worker's hot calls are prepared once per connection (pgconn.c). A
# store whose function changes a column of what such a call returns (as an
# ALTER EXTENSION UPDATE might) refuses the prepared statement's next
# execution at Bind, before it runs ("cached plan must not change result
# type"): the worker prepares it again, says so, and the call goes on,
# instead of failing at every call on that connection until it reconnects.
# Here complete_workflow_tasks (the worker's batch without eager offers) is
# swapped, while the worker runs, for a wrapper whose error column is
# varchar; the real function is put back on exit, whatever happens.
. "$(dirname "$0")/lib.sh"
restore() {
	sql "DO \$\$ BEGIN IF to_regprocedure('durable.t_stale_complete_workflow_tasks(jsonb, text)') IS NOT NULL THEN
	         DROP FUNCTION durable.complete_workflow_tasks(jsonb, text);
	         ALTER FUNCTION durable.t_stale_complete_workflow_tasks(jsonb, text) RENAME TO complete_workflow_tasks;
	     END IF; END \$\$" >/dev/null
}
trap 'stop_workers; restore' EXIT

q=stale-$RUN
worker stale --task-queue "$q" --plugin "$EX/hello.so" --no-eager
for i in 1 2 3; do
	sql "SELECT durable.start_workflow('$q-a$i', 'Hello', '$q', '\"before\"')" >/dev/null
	check "workflow a$i closes before the swap" wait_closed "$q-a$i"
done
sql "ALTER FUNCTION durable.complete_workflow_tasks(jsonb, text) RENAME TO t_stale_complete_workflow_tasks;
     CREATE FUNCTION durable.complete_workflow_tasks(completions jsonb, identity text DEFAULT NULL)
     RETURNS TABLE (task_token text, outcome text, error varchar)
     LANGUAGE sql AS \$\$ SELECT * FROM durable.t_stale_complete_workflow_tasks(\$1, \$2) \$\$" >/dev/null
for i in 1 2 3; do
	sql "SELECT durable.start_workflow('$q-b$i', 'Hello', '$q', '\"after\"')" >/dev/null
	check "workflow b$i closes after the swap" wait_closed "$q-b$i"
	check "and completes" eq "$(status_of "$q-b$i")" COMPLETED
done
check "the worker says it prepared the batch again" \
	grep -q 'durable.complete_workflow_tasks is prepared again' "$LOGDIR/stale.log"
check "no call failed for it" eq "$(grep -c 'cached plan must not change result type' "$LOGDIR/stale.log")" 0
stop_workers
restore
check "the real function is back" \
	eq "$(sql "SELECT count(*) FROM pg_proc WHERE proname IN ('complete_workflow_tasks', 't_stale_complete_workflow_tasks')")" 1
finish
