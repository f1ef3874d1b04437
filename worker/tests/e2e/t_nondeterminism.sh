# Deploying changed workflow code: the replay of an old history fails the
# workflow task (NON_DETERMINISTIC_ERROR, naming the event), the workflow
# itself is untouched, and putting the old code back lets it finish.
. "$(dirname "$0")/lib.sh"
V1=$WORKER_DIR/build/tests/versioned-v1.so
V2=$WORKER_DIR/build/tests/versioned-v2.so
q=nondet-$RUN
worker v1 --task-queue "$q" --plugin "$V1"; P1=$LAST_PID
# Only a task's first failure in a row is written (Temporal's rule): a first
# attempt that timed out leaves its later failures transient, out of the
# history this test reads. So the timeout is the default 10 s, not one a
# loaded machine can overrun between the lease and the failure's commit.
sql "SELECT durable.start_workflow('$q', 'TwoSteps', '$q', '7')" >/dev/null
check "version 1 reaches its timer" wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q'" 1
stop_worker "$P1"
worker v2 --task-queue "$q" --plugin "$V2"; P2=$LAST_PID
sql "SELECT durable.skip_time('61 seconds')" >/dev/null
failed_q="SELECT count(*) > 0 FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND h.event_type = 'WorkflowTaskFailed' AND h.attributes ->> 'cause' = 'NON_DETERMINISTIC_ERROR'"
check "version 2 fails the workflow task" wait_sql "$failed_q" t || explain_run "$q" "$LOGDIR/v1.log" "$LOGDIR/v2.log"
msg=$(sql "SELECT h.attributes -> 'failure' ->> 'message' FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND h.event_type = 'WorkflowTaskFailed' ORDER BY h.event_id LIMIT 1")
check "the message names the event and both activities ($msg)" eq "$(echo "$msg" | grep -c 'event 5: .*prepare.*prepare_v2')" 1
check "the workflow keeps running" eq "$(status_of "$q")" RUNNING
check "the worker logged it" grep -q "NON_DETERMINISTIC_ERROR" "$LOGDIR/v2.log"
stop_worker "$P2"
worker v1again --task-queue "$q" --plugin "$V1"
sql "SELECT durable.skip_time('2 minutes')" >/dev/null   # past the task's retry backoff
check "with version 1 back, it completes" wait_closed "$q"
check "as COMPLETED" eq "$(status_of "$q")" COMPLETED
check "with its result" eq "$(sql "SELECT result FROM durable.workflows WHERE workflow_id = '$q'")" 7
finish
