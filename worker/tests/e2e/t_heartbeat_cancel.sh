# Cancellation reaches a running activity through its heartbeat: the
# workflow is canceled, the activity sees cancel_requested and stops.
. "$(dirname "$0")/lib.sh"
q=slow-$RUN
worker slow --task-queue "$q" --plugin "$EX/hello.so"
sql "SELECT durable.start_workflow('$q', 'Slow', '$q', NULL, '{\"task_timeout\": 2}')" >/dev/null
check "the activity heartbeats" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND a.heartbeat_details ? 'step'" 1
sql "SELECT durable.cancel_workflow('$q', 'test')" >/dev/null
check "the activity reports its cancellation" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND h.event_type = 'ActivityTaskCanceled'" 1
check "the activity was asked to cancel" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND h.event_type = 'ActivityTaskCancelRequested'")" 1
check "ledger: canceled at a heartbeat" grep -q "^slow $q canceled at step" "$DURABLE_LEDGER"
sql "SELECT durable.signal_workflow('$q', 'finish')" >/dev/null
check "the workflow closes" wait_closed "$q"
check "as CANCELED" eq "$(status_of "$q")" CANCELED

# The same through an executable: heartbeats on stderr, SIGTERM on cancel.
x=slowx-$RUN
worker slowx --task-queue "$x" --plugin "$EX/hello.so" --activities-dir "$WORKER_DIR/tests/e2e/activities"
sql "SELECT durable.start_workflow('$x', 'Slow', '$x', '{\"activity\": \"slow_script\"}', '{\"task_timeout\": 2}')" >/dev/null
check "the script heartbeats" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$x' AND a.heartbeat_details ? 'step'" 1
sql "SELECT durable.cancel_workflow('$x', 'test')" >/dev/null
check "the script is reported canceled" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$x' AND h.event_type = 'ActivityTaskCanceled'" 1
check "the script got SIGTERM" grep -q "^slow_script $x canceled" "$DURABLE_LEDGER"
sql "SELECT durable.signal_workflow('$x', 'finish')" >/dev/null
check "the workflow with the script closes" wait_closed "$x"
check "as CANCELED too" eq "$(status_of "$x")" CANCELED
finish
