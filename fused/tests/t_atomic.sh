# A refused write changes nothing: the verbs of one ctl write are applied in
# one transaction (all or none), on a workflow's ctl and on a schedule's; a
# refused start, signal or task completion leaves no trace either.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-atomic
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/atomic.log" || exit 1
q="at-$$"
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"at-$$\", \"task_queue\": \"$q\"}" >/dev/null
W=$M/workflows/at-$$
events() { grep -c "$1" "$W/history"; }

# --- workflow ctl: the third verb fails in the store, the first two must not stay
is "$("$FSX" write "$W/ctl" $'cancel\nterminate\nterminate\n')" "EPERM" "cancel, terminate, terminate: the second terminate is EPERM"
is "$(cat "$W/status")" "RUNNING" "so the workflow is still RUNNING"
is "$(events CancelRequested)" "0" "and was not cancelled"
is "$("$FSX" write "$W/ctl" $'cancel first\nreset 999999\n')" "EINVAL" "cancel then reset to an unknown event: EINVAL"
is "$(events CancelRequested)" "0" "the cancel did not stay"
like "$(cat "$W/last-error")" "write workflows/at-$$/ctl" "last-error says why"
# one write whose last line has no newline is still one transaction (at close)
is "$("$FSX" write "$W/ctl" $'cancel first\nexplode')" "EINVAL" "cancel then a bad verb without a newline: EINVAL (at close)"
is "$(events CancelRequested)" "0" "the cancel did not stay either"

# --- schedule ctl: pause succeeds, the backfill after it is refused by the store
id="at-sch-$$"
sql "SELECT durable.create_schedule('$id', '{\"interval\": [{\"every\": 3600}]}',
                                   '{\"workflow_type\": \"Report\", \"task_queue\": \"at-sch-q-$$\"}')" >/dev/null
S=$M/schedules/$id
is "$("$FSX" write "$S/ctl" $'pause going down\nbackfill 2026-01-02T00:00:00Z 2026-01-01T00:00:00Z\n')" "EINVAL" "pause then a backwards backfill: EINVAL"
is "$(cat "$S/paused")" "false" "the pause did not stay"
is "$("$FSX" write "$S/ctl" $'pause going down\nexplode')" "EINVAL" "pause then a bad verb without a newline: EINVAL (at close)"
is "$(cat "$S/paused")" "false" "the pause did not stay either"
is "$("$FSX" write "$S/ctl" $'pause a\nunpause b\npause c\n')" "OK" "three verbs that succeed"
is "$(cat "$S/paused")" "true" "all applied, in order"

# --- the other writable files: one SQL call each, refused means untouched
is "$("$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"at2-$$\", \"task_queue\": \"$q\", \"options\": {\"run_timeout\": \"soon\"}}")" "EINVAL" "a start with a bad option"
is "$("$FSX" open "$M/workflows/at2-$$" r)" "ENOENT" "started nothing"
before=$(history_len "at-$$")
is "$("$FSX" write "$W/signals/s" '{"a": [1, 2}')" "EINVAL" "a signal that is not JSON"
is "$(history_len "at-$$")" "$before" "appended nothing"
is "$("$FSX" write "$M/tasks/a999999999.1/result" '{"done": true}')" "ESTALE" "a result for an unknown task"
is "$("$FSX" writeread "$W/queries/q" '{"a": ')" "EINVAL" "query arguments that are not JSON"
is "$(history_len "at-$$")" "$before" "nothing appended by either"

# --- and a write whose verbs all succeed applies them all
is "$("$FSX" write "$W/ctl" $'cancel one\nterminate two\n')" "OK" "cancel then terminate"
is "$(events CancelRequested)" "1" "the cancel applied"
is "$(cat "$W/status")" "TERMINATED" "and the terminate"
[ "$n_fail" -eq 0 ]
