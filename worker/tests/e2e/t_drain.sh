# Graceful drain: SIGTERM while an activity runs; the worker finishes it,
# reports it, closes every handle and exits 0.
. "$(dirname "$0")/lib.sh"
SO=$EX/order_saga.so
worker orders --task-queue orders --plugin "$SO"
worker inventory --task-queue inventory --plugin "$SO" --no-workflows
worker shipping --task-queue shipping --activities-dir "$WORKER_DIR/examples/activities" --no-workflows
"$BIN" --task-queue payments --plugin "$SO" --no-workflows >>"$LOGDIR/payments.log" 2>&1 &
PAY=$!
id=drain-$RUN
sql "SELECT durable.start_workflow('$id', 'Order', 'orders', '{\"order_id\": \"d\", \"amount\": 5, \"delay_ms\": 1500}', '{\"task_timeout\": 2}')" >/dev/null
check "the charge is running" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id' AND a.activity_type = 'charge_payment' AND a.state = 'STARTED'" 1
kill -TERM "$PAY"
wait "$PAY"
check "the drained worker exits 0" eq "$?" 0
check "it said what it was draining" grep -q "draining: 1 activities running" "$LOGDIR/payments.log"
check "its loop closed cleanly" eq "$(grep -c "handles open" "$LOGDIR/payments.log")" 0
check "the charge it was running completed on attempt 1" eq "$(sql "SELECT s.attributes ->> 'attempt' FROM durable.history s JOIN durable.history c ON c.run_id = s.run_id AND c.event_type = 'ActivityTaskScheduled' AND c.attributes ->> 'activity_type' = 'charge_payment' AND (s.attributes ->> 'scheduled_event_id')::bigint = c.event_id JOIN durable.workflows w ON w.run_id = s.run_id WHERE w.workflow_id = '$id' AND s.event_type = 'ActivityTaskStarted'")" 1
check "charged exactly once" eq "$(ledger_count charge "$id")" 1
worker payments2 --task-queue payments --plugin "$SO" --no-workflows
check "the order completes" wait_closed "$id"
check "as COMPLETED" eq "$(status_of "$id")" COMPLETED
finish
