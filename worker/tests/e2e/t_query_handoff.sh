# Regression: a stopped worker's query long-poll must not take the next
# query (it did, and the caller timed out), so a query sent right after a
# restart of the worker is answered by the new one.
. "$(dirname "$0")/lib.sh"
q=handoff-$RUN
worker a --task-queue "$q" --plugin "$EX/hello.so"; A=$LAST_PID
sql "SELECT durable.start_workflow('$q', 'Slow', '$q', NULL, '{\"task_timeout\": 2}')" >/dev/null
check "the workflow runs its activity" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND a.state = 'STARTED'" 1
sleep 0.3   # let the long poll be waiting in the server
sql "SELECT durable.terminate_workflow('$q', 'test over')" >/dev/null
stop_worker "$A"
worker b --task-queue "$q" --plugin "$EX/hello.so"
answer=$(sql "SELECT durable.query_workflow('$q', 'nope', timeout_ms => 20000)" 2>&1)
check "the new worker answers at once ($answer)" eq "$(echo "$answer" | grep -c 'unknown query type')" 1
finish
