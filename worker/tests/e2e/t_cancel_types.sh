# Cancellation types with real workers: an activity or a child canceled with
# TRY_CANCEL, WAIT_CANCELLATION_COMPLETED or ABANDON; a parent canceled while
# it waits on its child; signals and cancel requests to missing workflows.
# See cancel_lib.sh for how the history shows when the workflow moved on.
. "$(dirname "$0")/lib.sh"
q=cancel-$RUN
. "$(dirname "$0")/cancel_lib.sh"
worker cancel --task-queue "$q" --plugin "$CANCEL_PLUGIN"
result_rc() { sql "SELECT result ->> 'rc' FROM durable.workflows WHERE workflow_id = '$1' ORDER BY started_at DESC LIMIT 1"; }

# --- activities -------------------------------------------------------------
# TRY_CANCEL (the default, type 0): asked, and the workflow moves on at once.
a=act-try-$RUN
cancel_at_stop try "$a" ActCancel '{"type": 0}' wait_ledger "patient $a started"
check "try: as canceled" eq "$(marker "$a")" $ECANCELED
check "try: the activity was asked" has_event "$a" ActivityTaskCancelRequested
check "try: it acknowledges later" wait_event "$a" ActivityTaskCanceled
check "try: after the workflow moved on" before "$(ev_id "$a" MarkerRecorded)" "$(ev_id "$a" ActivityTaskCanceled)"
finish_wf "try" "$a"
check "try: completed with the canceled status" eq "$(status_of "$a")/$(result_rc "$a")" COMPLETED/$ECANCELED

# WAIT_CANCELLATION_COMPLETED: resolves when the activity has cleaned up.
a=act-wait-$RUN
cancel_at_stop wait "$a" ActCancel '{"type": 2}' wait_ledger "patient $a started"
check "wait: as canceled" eq "$(marker "$a")" $ECANCELED
check "wait: only after the activity said so" before "$(ev_id "$a" ActivityTaskCanceled)" "$(ev_id "$a" MarkerRecorded)"
check "wait: which was after its cleanup" grep -q "^patient $a cleaned up$" "$DURABLE_LEDGER"
finish_wf "wait" "$a"

# WAIT_CANCELLATION_COMPLETED with an activity that finishes anyway: its result.
a=act-stubborn-$RUN
cancel_at_stop stubborn "$a" ActCancel '{"type": 2, "activity": "stubborn"}' wait_ledger "stubborn $a started"
check "stubborn: as completed" eq "$(marker "$a")" 0
check "stubborn: after the activity completed" before "$(ev_id "$a" ActivityTaskCompleted)" "$(ev_id "$a" MarkerRecorded)"
finish_wf "stubborn" "$a"
check "stubborn: with the activity's result" eq "$(sql "SELECT result ->> 'result' FROM durable.workflows WHERE workflow_id = '$a'")" done

# ABANDON: the activity is not told; the workflow moves on.
a=act-abandon-$RUN
cancel_at_stop abandon "$a" ActCancel '{"type": 3}' wait_ledger "patient $a started"
check "abandon: as canceled" eq "$(marker "$a")" $ECANCELED
check "abandon: nothing asked the activity" no_event "$a" ActivityTaskCancelRequested
check "abandon: it still runs, not asked to cancel" eq "$(sql "SELECT a.cancel_requested FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$a'")" f
check "abandon: and saw no cancel" eq "$(ledger_count patient "$a")" 1
finish_wf "abandon" "$a"

# --- children -------------------------------------------------------------
# WAIT_CANCELLATION_COMPLETED (the children's default): resolves when the child closed.
c=child-wait-$RUN
cancel_at_stop "child wait" "$c" ChildCancel '{"type": 0}' kid_runs "$c"
check "child wait: as canceled" eq "$(marker "$c")" $ECANCELED
check "child wait: the child was asked" has_event "$c" ExternalWorkflowExecutionCancelRequested
check "child wait: after the child closed" before "$(ev_id "$c" ChildWorkflowExecutionCanceled)" "$(ev_id "$c" MarkerRecorded)"
check "child wait: which ran its cleanup first" grep -q "^cleanup $c-kid ran$" "$DURABLE_LEDGER"
check "child wait: the child is CANCELED" eq "$(status_of "$c-kid")" CANCELED
finish_wf "child wait" "$c"

# TRY_CANCEL: asked; the parent moves on before the child closes.
c=child-try-$RUN
cancel_at_stop "child try" "$c" ChildCancel '{"type": 1}' kid_runs "$c"
check "child try: as canceled" eq "$(marker "$c")" $ECANCELED
check "child try: the child closes later" wait_event "$c" ChildWorkflowExecutionCanceled
check "child try: after the parent moved on" before "$(ev_id "$c" MarkerRecorded)" "$(ev_id "$c" ChildWorkflowExecutionCanceled)"
finish_wf "child try" "$c"

# WAIT_CANCELLATION_REQUESTED: resolves once the child was told, while the
# child still holds on (until signal "release").
c=child-told-$RUN
cancel_at_stop "child told" "$c" ChildCancel '{"type": 4, "hold": true}' kid_runs "$c"
check "child told: as canceled" eq "$(marker "$c")" $ECANCELED
check "child told: once the child was told" before "$(ev_id "$c" ExternalWorkflowExecutionCancelRequested)" "$(ev_id "$c" MarkerRecorded)"
check "child told: while it still runs" eq "$(status_of "$c-kid")" RUNNING
signal "$c-kid" release
check "child told: then the child closes" wait_closed "$c-kid"
check "child told: CANCELED" eq "$(status_of "$c-kid")" CANCELED
finish_wf "child told" "$c"

# ABANDON: the child is not told; the parent close policy (TERMINATE) ends it.
c=child-abandon-$RUN
cancel_at_stop "child abandon" "$c" ChildCancel '{"type": 3}' kid_runs "$c"
check "child abandon: as canceled" eq "$(marker "$c")" $ECANCELED
check "child abandon: nothing asked the child" no_event "$c" RequestCancelExternalWorkflowExecutionInitiated
check "child abandon: it still runs" eq "$(status_of "$c-kid")" RUNNING
signal "$c" finish
check "child abandon: the parent closes" wait_closed "$c" "$c-kid"
check "child abandon: the child is ended by the parent close policy" eq "$(status_of "$c-kid")" TERMINATED

# --- a parent canceled while it waits on its child ----------------------------
p=parent-wait-$RUN
start "$p" ParentWaits '{"type": 0}'
check "parent: the child runs" kid_runs "$p"
sql "SELECT durable.cancel_workflow('$p', 'test')" >/dev/null
check "parent: closes" wait_closed "$p"
check "parent: CANCELED" eq "$(status_of "$p")" CANCELED
check "parent: the child ended CANCELED, not terminated" eq "$(status_of "$p-kid")" CANCELED
check "parent: after its cleanup" grep -q "^cleanup $p-kid ran$" "$DURABLE_LEDGER"
check "parent: closed after the child" before "$(ev_id "$p" ChildWorkflowExecutionCanceled)" "$(ev_id "$p" WorkflowExecutionCanceled)"

p=parent-try-$RUN
start "$p" ParentWaits '{"type": 1}'
check "parent try: the child runs" kid_runs "$p"
sql "SELECT durable.cancel_workflow('$p', 'test')" >/dev/null
check "parent try: closes" wait_closed "$p" "$p-kid"
check "parent try: CANCELED" eq "$(status_of "$p")" CANCELED
check "parent try: closing at once terminated the child" eq "$(status_of "$p-kid")" TERMINATED

# --- signals and cancel requests to other workflows -------------------------
s=signal-none-$RUN
start "$s" SignalOther "{\"target\": \"nobody-$RUN\"}"
check "signal to nobody: closes" wait_closed "$s"
check "signal to nobody: the call failed" eq "$(result_rc "$s")" $EFAILED
check "signal to nobody: not found" eq "$(sql "SELECT result -> 'failure' ->> 'type' FROM durable.workflows WHERE workflow_id = '$s'")" EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
check "signal to nobody: a replay sees the same" eq "$(sql "SELECT durable.query_workflow('$s', 'rc', timeout_ms => 30000)")" $EFAILED
s=cancel-none-$RUN
start "$s" SignalOther "{\"target\": \"nobody-$RUN\", \"cancel\": true}"
check "cancel of nobody: closes" wait_closed "$s"
check "cancel of nobody: the call failed" eq "$(result_rc "$s")" $EFAILED
t=target-$RUN
start "$t" Patient null
s=signal-some-$RUN
start "$s" SignalOther "{\"target\": \"$t\"}"
check "signal: closes" wait_closed "$s" "$t"
check "signal: delivered" eq "$(result_rc "$s")/$(status_of "$t")" 0/COMPLETED
t=target2-$RUN
start "$t" Patient null
s=cancel-some-$RUN
start "$s" SignalOther "{\"target\": \"$t\", \"cancel\": true}"
check "cancel: closes" wait_closed "$s" "$t"
check "cancel: delivered" eq "$(result_rc "$s")/$(status_of "$t")" 0/CANCELED

# docs/sdk.md's example is this plugin's code: every line of its C blocks
# (but the "..." elisions) is a line of cancel.c.
doc_lines() {
	sed -n '/<!-- code from worker\/tests\/plugins\/cancel.c/,/^Upgrading from a library/p' "$WORKER_DIR/../docs/sdk.md" |
		sed '1d;$d' | sed '/^```c$/,/^```$/!d' | grep -v '^```' | grep -v '^[[:space:]]*\.\.\.$' | grep -v '^$'
}
check "docs/sdk.md shows a cancellation example" test "$(doc_lines | wc -l)" -gt 10
check "and it is the plugin's code" eq "$(doc_lines | grep -vxFf "$WORKER_DIR/tests/plugins/cancel.c" | head -3)" ""
finish
