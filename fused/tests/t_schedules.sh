# Schedules as files: spec, next runs, and ctl pause/unpause/trigger/backfill.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-schedules
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/schedules.log" || exit 1
id="sch-$$"
sql "SELECT durable.create_schedule('$id', '{\"interval\": [{\"every\": 3600}]}',
                                   '{\"workflow_type\": \"Report\", \"task_queue\": \"sch-q-$$\"}')" >/dev/null
S=$M/schedules/$id
like "$(ls "$M/schedules")" "$id" "schedules/ lists it"
is "$(cat "$S/spec")" '{"interval": [{"every": 3600}]}' "spec is its JSON"
like "$(cat "$S/action")" '"workflow_type": "Report"' "action is its JSON"
is "$(cat "$S/paused")" "false" "paused is a value file"
is "$(wc -l <"$S/next_runs")" "5" "next_runs has the next five times, one a line"
is "$("$FSX" open "$M/schedules/nope-$$" r)" "ENOENT" "an unknown schedule is ENOENT"
is "$("$FSX" write "$S/ctl" 'pause maintenance window')" "OK" "pause"
is "$(cat "$S/paused")" "true" "paused is true"
like "$(cat "$S/info")" '"note": "maintenance window"' "the note is in info"
echo unpause >"$S/ctl" && ok "echo unpause > ctl" || not_ok "unpause"
is "$(cat "$S/paused")" "false" "paused is false again"
is "$("$FSX" write "$S/ctl" 'explode')" "EINVAL" "an unknown verb is EINVAL"
like "$(cat "$S/last-error")" 'unknown verb' "and last-error says so"
is "$("$FSX" write "$S/ctl" 'backfill 2026-01-01T00:00:00Z')" "EINVAL" "backfill without an end is EINVAL"
is "$("$FSX" write "$S/ctl" 'trigger')" "OK" "trigger"
wf=$(sql "SELECT durable.describe_schedule('$id') ->> 'last_workflow_id'")
[ -n "$wf" ] && is "$(cat "$M/workflows/$wf/type")" "Report" "trigger started a workflow, visible under workflows/" \
    || not_ok "trigger started a workflow"
[ "$n_fail" -eq 0 ]
