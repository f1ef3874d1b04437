# kill -9 in the middle of a WAIT_CANCELLATION_COMPLETED: the workflow waits
# for its canceled activity to end, whichever worker dies meanwhile.
# Workflows and activities run in separate workers (--no-activities,
# --no-workflows) so that each can be killed alone. See t_cancel_types.sh
# for the plugin's workflows.
. "$(dirname "$0")/lib.sh"
q=cancelkill-$RUN
. "$(dirname "$0")/cancel_lib.sh"
PLUGIN=$CANCEL_PLUGIN
worker wf1 --task-queue "$q" --plugin "$PLUGIN" --no-activities
WF=$LAST_PID
worker act1 --task-queue "$q" --plugin "$PLUGIN" --no-workflows
ACT=$LAST_PID

kill9() { kill -9 "$1"; while kill -0 "$1" 2>/dev/null; do sleep 0.05; done; }

# The workflow worker dies while its workflow waits for the activity's cleanup.
a=killwf-$RUN
start "$a" ActCancel '{"type": 2, "cleanup_ms": 3000}'
check "the activity runs" wait_ledger "patient $a started"
signal "$a" stop
check "the activity was asked to cancel" wait_event "$a" ActivityTaskCancelRequested
kill9 "$WF"
check "it cleans up meanwhile and reports canceled" wait_event "$a" ActivityTaskCanceled
check "nobody ran the workflow: it has not moved on" eq "$(marker "$a")/$(status_of "$a")" /RUNNING
worker wf2 --task-queue "$q" --plugin "$PLUGIN" --no-activities
check "a new workflow worker resolves the future" wait_marker "$a"
check "as canceled" eq "$(marker "$a")" $ECANCELED
check "after the activity ended" before "$(ev_id "$a" ActivityTaskCanceled)" "$(ev_id "$a" MarkerRecorded)"
signal "$a" finish
check "the workflow closes" wait_closed "$a"
check "exactly once" eq "$(closes "$a")" 1
check "the activity ran once" eq "$(grep -c "^patient $a started$" "$DURABLE_LEDGER")" 1

# The activity worker dies during the cleanup: the attempt times out (its
# heartbeat stops), is not retried, and that is what the future resolves with.
b=killact-$RUN
start "$b" ActCancel '{"type": 2, "cleanup_ms": 600000}'
check "the second activity runs" wait_ledger "patient $b started"
signal "$b" stop
check "it sees the cancel" wait_ledger "patient $b cancel seen"
kill9 "$ACT"
worker act2 --task-queue "$q" --plugin "$PLUGIN" --no-workflows
check "the future resolves" wait_marker "$b"
check "as timed out, as it happened" eq "$(marker "$b")" $ETIMEDOUT
check "after the heartbeat timeout" before "$(ev_id "$b" ActivityTaskTimedOut)" "$(ev_id "$b" MarkerRecorded)"
check "which was not retried" eq "$(sql "SELECT h.attributes ->> 'retry_state' FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$b' AND h.event_type = 'ActivityTaskTimedOut'")" RETRY_STATE_CANCEL_REQUESTED
check "nor run again by the new worker" eq "$(grep -c "^patient $b started$" "$DURABLE_LEDGER")" 1
signal "$b" finish
check "the second workflow closes" wait_closed "$b"
check "exactly once too" eq "$(closes "$b")" 1
finish
