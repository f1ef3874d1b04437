# Updating a schedule through its files: spec and action take the fields to
# change (as durable.update_schedule), ctl's "set" the policies; the next
# run times follow; refusals change nothing.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-schedule-update
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/schedule-update.log" || exit 1
id="supd-$$"
sql "SELECT durable.create_schedule('$id', '{\"interval\": [{\"every\": 3600}]}',
     '{\"workflow_type\": \"Report\", \"task_queue\": \"supd-q-$$\", \"input\": {\"v\": 1}}')" >/dev/null
S=$M/schedules/$id
snapshot() { sql "SELECT to_jsonb(s) - 'updated_at' FROM durable.schedules s WHERE schedule_id = '$id'"; }

is "$(stat -c %a "$S/spec")" "644" "spec is readable and writable"
is "$(stat -c %a "$S/action")" "644" "action too"
is "$(stat -c %a "$S/paused")" "444" "paused stays read-only"

# --- spec: the fields written change, the rest stay
printf '{"interval": [{"every": 60}]}' >"$S/spec" && ok "a spec write succeeds" || not_ok "a spec write"
is "$(cat "$S/spec")" '{"interval": [{"every": 60}]}' "spec reads the new spec"
first=$(sed -n 1p "$S/next_runs"); second=$(sed -n 2p "$S/next_runs")
is "$(sql "SELECT '$second'::timestamptz - '$first'::timestamptz")" "00:01:00" "next_runs follow the new spec, a minute apart"
# a shell's echo writes in pieces, over several lines: one update
printf '{"cron": ["0 9 * * *"],\n "interval": null,\n "timezone": "Europe/Berlin"}\n' >"$S/spec" \
    && ok "a multi-line spec written by a shell" || not_ok "a multi-line spec"
is "$(cat "$S/spec")" '{"cron": ["0 9 * * *"], "timezone": "Europe/Berlin"}' "null removed interval"
is "$(sql "SELECT to_char('$(sed -n 1p "$S/next_runs")'::timestamptz AT TIME ZONE 'Europe/Berlin', 'HH24:MI')")" "09:00" \
    "next_runs are at 09:00 Berlin time"

# --- action: input and options
is "$("$FSX" write "$S/action" '{"input": {"v": 2}, "options": {"run_timeout": 600}}')" "OK" "an action write succeeds"
like "$(cat "$S/action")" '"input": {"v": 2}' "action has the new input"
like "$(cat "$S/action")" '"options": {"run_timeout": 600}' "and the options"
like "$(cat "$S/action")" '"workflow_type": "Report"' "and keeps its type"
is "$("$FSX" write "$S/ctl" 'trigger')" "OK" "trigger"
wf=$(sql "SELECT durable.describe_schedule('$id') ->> 'last_workflow_id'")
is "$(cat "$M/workflows/$wf/input")" '{"v": 2}' "the run it starts has the new input"

# --- policies through ctl
is "$("$FSX" write "$S/ctl" 'set {"overlap_policy": "BUFFER_ALL", "catchup_window": 600, "note": "more"}')" "OK" "ctl set"
like "$(cat "$S/info")" '"overlap_policy": "BUFFER_ALL"' "info shows the new overlap policy"
like "$(cat "$S/info")" '"catchup_window": 600' "and catch-up window"
like "$(cat "$S/info")" '"note": "more"' "and note"
is "$("$FSX" write "$S/ctl" 'set {"paused": true}')" "OK" "ctl set pauses"
is "$(cat "$S/paused")" "true" "paused is true"

# --- refusals change nothing
before=$(snapshot)
is "$("$FSX" write "$S/spec" '{"cron": ["61 * * * *"]}')" "EINVAL" "a bad cron expression is EINVAL"
like "$(cat "$S/last-error")" 'invalid cron expression "61 * * * *"' "last-error says why"
like "$(cat "$S/last-error")" "schedules/$id/spec" "and names the file"
is "$("$FSX" write "$S/spec" '[1, 2]')" "EINVAL" "a spec that is not an object is EINVAL"
is "$("$FSX" write "$S/spec" '{"cron": ')" "EINVAL" "an unfinished spec is EINVAL"
is "$("$FSX" write "$S/action" '{"workflow_type": null}')" "EINVAL" "removing the type is EINVAL"
is "$("$FSX" write "$S/ctl" 'set {"overlap_policy": "SOMETIMES"}')" "EINVAL" "a bad policy is EINVAL"
like "$(cat "$S/last-error")" 'unknown overlap_policy "SOMETIMES"' "last-error says why"
is "$("$FSX" write "$S/ctl" 'set')" "EINVAL" "set without policies is EINVAL"
is "$("$FSX" write "$S/ctl" "$(printf 'set {"note": "applied?"}\nexplode')")" "EINVAL" "a set next to a bad verb is EINVAL"
is "$(snapshot)" "$before" "none of the refusals changed the schedule"
is "$("$FSX" write "$M/schedules/nope-$$/spec" '{}')" "ENOENT" "an unknown schedule is ENOENT"

[ "$n_fail" -eq 0 ]
