# A worker of this release against a store without the hand-back (durable
# 0.1, during an upgrade: docs/operations.md): complete_activity_tasks_eager
# is missing (here renamed away for the test, and back at the end), the
# first batch that offers workflow slots fails with 42883, the worker says
# so once, sends the same outcomes again without the offer and goes on with
# its polls. Every run completes, every step runs exactly once (the batch
# that failed changed nothing), no outcome is dropped, nothing handed back.
# Plugin: tests/plugins/handback.c.
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/handback.so
FN='durable.complete_activity_tasks_eager(jsonb, text, text, integer, text, jsonb, text, text)'
restore() { sql "ALTER FUNCTION durable.complete_activity_tasks_eager_hidden(jsonb, text, text, integer, text, jsonb, text, text)
                 RENAME TO complete_activity_tasks_eager" >/dev/null 2>&1 || true; }
trap 'stop_workers; restore' EXIT
sql "ALTER FUNCTION $FN RENAME TO complete_activity_tasks_eager_hidden" >/dev/null

q=oldstore-$RUN
DURABLE_LOG=debug worker old --task-queue "$q" --plugin "$PLUGIN"
ids=()
for i in $(seq 1 5); do
	ids+=("old-$RUN-$i")
	sql "SELECT durable.start_workflow('old-$RUN-$i', 'HandbackSeq', '$q', '{\"n\": 3}')" >/dev/null
	# one at a time: an idle worker, whose outcomes offer slots
	check "old-$RUN-$i completes" wait_closed "old-$RUN-$i"
done
stop_worker "$LAST_PID"
restore
for id in "${ids[@]}"; do
	check "$id: three steps, once each" eq "$(status_of "$id")/$(ledger_count step "$id")" COMPLETED/3
	check "$id closed once" eq "$(closes "$id")" 1
done
check "the worker said once that the store has no hand-back" eq \
	"$(grep -c "the store has no complete_activity_tasks_eager" "$LOGDIR/old.log")" 1
check "no outcome dropped" eq "$(grep -c "outcomes dropped" "$LOGDIR/old.log")" 0
check "no activity timed out or was retried" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                    WHERE w.workflow_id LIKE 'old-$RUN-%' AND h.event_type IN ('ActivityTaskTimedOut', 'ActivityTaskFailed')")" 0
check "nothing handed back" grep -q ", 0 handed back with activity outcomes)" "$LOGDIR/old.log"
check "the function is back" eq "$(sql "SELECT count(*) FROM pg_proc WHERE proname = 'complete_activity_tasks_eager'")" 1
finish
