# Cancellation types and failed signals as an operator sees them through the
# mount, against a real durable-worker running worker/tests/plugins/cancel.c:
# `echo cancel > ctl` on a parent that waits on its child (the children's
# default, WAIT_CANCELLATION_COMPLETED) closes the parent after the child
# ended CANCELED, and the history file shows it in that order; a workflow's
# signal to a missing workflow fails, and its result and history say so.
# Skipped when the worker is not built.
. "$(dirname "$0")/lib.sh"
need_worker tests/cancel.so "cancel test plugin"
M=$WORK/mnt-cancel
q="cancel-fs-$$"
p="parent-fs-$$"
mount_fs "$M" "$WORK/cancel.log" || exit 1
start_worker "$q" cancel
trap 'stop_worker; unmount_fs $M' EXIT

# the line number in FILE of the first event of TYPE (empty if none)
line_of() { grep -n "\"event_type\": *\"$2\"" "$1" | head -1 | cut -d: -f1; }

sql "SELECT durable.start_workflow('$p', 'ParentWaits', '$q', '{\"type\": 0}')" >/dev/null
kid_runs() { [ "$(cat "$M/workflows/$p-kid/status" 2>/dev/null)" = RUNNING ]; }
eventually kid_runs && ok "the parent's child runs" || not_ok "the parent's child runs"
echo cancel >"$M/workflows/$p/ctl" && ok "echo cancel > ctl" || not_ok "echo cancel > ctl"
closed() { [ "$(cat "$M/workflows/$p/status")" != RUNNING ]; }
eventually closed && ok "the parent closes" || not_ok "the parent closes"
is "$(cat "$M/workflows/$p/status")" CANCELED "the parent is CANCELED"
is "$(cat "$M/workflows/$p-kid/status")" CANCELED "its child ended CANCELED, not TERMINATED"
cp "$M/workflows/$p/history" "$WORK/parent.history"
asked=$(line_of "$WORK/parent.history" RequestCancelExternalWorkflowExecutionInitiated)
kid=$(line_of "$WORK/parent.history" ChildWorkflowExecutionCanceled)
done_=$(line_of "$WORK/parent.history" WorkflowExecutionCanceled)
[ -n "$asked" ] && [ -n "$kid" ] && [ -n "$done_" ] && [ "$asked" -lt "$kid" ] && [ "$kid" -lt "$done_" ] &&
    ok "history: the child was asked, then ended, then the parent closed" ||
    not_ok "history: asked at line [$asked], child canceled at [$kid], parent canceled at [$done_]"

s="signal-fs-$$"
sql "SELECT durable.start_workflow('$s', 'SignalOther', '$q', '{\"target\": \"nobody-fs-$$\"}')" >/dev/null
sclosed() { [ "$(cat "$M/workflows/$s/status")" = COMPLETED ]; }
eventually sclosed && ok "the signaling workflow closes" || not_ok "the signaling workflow closes"
like "$(cat "$M/workflows/$s/result")" '"EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"' "its result carries the failure it got"
like "$(cat "$M/workflows/$s/history")" '"cause": "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"' \
    "history shows SignalExternalWorkflowExecutionFailed's cause"
[ "$n_fail" -eq 0 ]
