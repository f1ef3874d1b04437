# kill -9 in the middle of a WAIT_CANCELLATION_COMPLETED: the workflow waits
# for its canceled activity to end, whichever worker dies meanwhile.
# Workflows and activities run in separate workers (--no-activities,
# --no-workflows) so that each can be killed alone. See t_cancel_types.sh
# for the plugin's workflows.
. "$(dirname "$0")/lib.sh"
q=cancelkill-$RUN
PLUGIN=$WORKER_DIR/build/tests/cancel.so
worker wf1 --task-queue "$q" --plugin "$PLUGIN" --no-activities
WF=$LAST_PID
worker act1 --task-queue "$q" --plugin "$PLUGIN" --no-workflows
ACT=$LAST_PID

ev_id() {
	sql "SELECT min(h.event_id) FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type = '$2'"
}
wait_event() { wait_sql "SELECT count(*) > 0 FROM durable.history h JOIN durable.workflows w USING (run_id)
                         WHERE w.workflow_id = '$1' AND h.event_type = '$2'" t; }
marker() {
	sql "SELECT h.attributes -> 'details' ->> 'value' FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type = 'MarkerRecorded'"
}
wait_ledger() {
	local deadline=$((SECONDS + 60))
	until grep -q "^$1\$" "$DURABLE_LEDGER" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && { echo "  no ledger line '$1'"; return 1; }
		sleep 0.1
	done
}
before() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ] || { echo "  event '$1' is not before '$2'"; return 1; }; }
kill9() { kill -9 "$1"; while kill -0 "$1" 2>/dev/null; do sleep 0.05; done; }

# The workflow worker dies while its workflow waits for the activity's cleanup.
a=killwf-$RUN
sql "SELECT durable.start_workflow('$a', 'ActCancel', '$q', '{\"type\": 2, \"cleanup_ms\": 3000}')" >/dev/null
check "the activity runs" wait_ledger "patient $a started"
sql "SELECT durable.signal_workflow('$a', 'stop')" >/dev/null
check "the activity was asked to cancel" wait_event "$a" ActivityTaskCancelRequested
kill9 "$WF"
check "it cleans up meanwhile and reports canceled" wait_event "$a" ActivityTaskCanceled
check "nobody ran the workflow: it has not moved on" eq "$(marker "$a")/$(status_of "$a")" /RUNNING
worker wf2 --task-queue "$q" --plugin "$PLUGIN" --no-activities
check "a new workflow worker resolves the future" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$a' AND h.event_type = 'MarkerRecorded'" 1
check "as canceled" eq "$(marker "$a")" -10003
check "after the activity ended" before "$(ev_id "$a" ActivityTaskCanceled)" "$(ev_id "$a" MarkerRecorded)"
sql "SELECT durable.signal_workflow('$a', 'finish')" >/dev/null
check "the workflow closes" wait_closed "$a"
check "exactly once" eq "$(closes "$a")" 1
check "the activity ran once" eq "$(grep -c "^patient $a started$" "$DURABLE_LEDGER")" 1

# The activity worker dies during the cleanup: the attempt times out (its
# heartbeat stops), is not retried, and that is what the future resolves with.
b=killact-$RUN
sql "SELECT durable.start_workflow('$b', 'ActCancel', '$q', '{\"type\": 2, \"cleanup_ms\": 600000}')" >/dev/null
check "the second activity runs" wait_ledger "patient $b started"
sql "SELECT durable.signal_workflow('$b', 'stop')" >/dev/null
check "it sees the cancel" wait_ledger "patient $b cancel seen"
kill9 "$ACT"
worker act2 --task-queue "$q" --plugin "$PLUGIN" --no-workflows
check "the future resolves" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$b' AND h.event_type = 'MarkerRecorded'" 1
check "as timed out, as it happened" eq "$(marker "$b")" -10004
check "after the heartbeat timeout" before "$(ev_id "$b" ActivityTaskTimedOut)" "$(ev_id "$b" MarkerRecorded)"
check "which was not retried" eq "$(sql "SELECT h.attributes ->> 'retry_state' FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$b' AND h.event_type = 'ActivityTaskTimedOut'")" RETRY_STATE_CANCEL_REQUESTED
check "nor run again by the new worker" eq "$(grep -c "^patient $b started$" "$DURABLE_LEDGER")" 1
sql "SELECT durable.signal_workflow('$b', 'finish')" >/dev/null
check "the second workflow closes" wait_closed "$b"
check "exactly once too" eq "$(closes "$b")" 1
finish
