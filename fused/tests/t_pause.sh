# Operator controls through the mount: ctl pause/unpause and the paused
# file; workflows/<id>/activities/<activity id>/ (state files, options, ctl);
# task-queues/<name>/ limit files. Every bad write is refused whole, with an
# errno and last-error, and changes nothing.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-pause
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/pause.log" || exit 1
q="pause-$$"
id="p1-$$"
W=$M/workflows/$id
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$id\", \"task_queue\": \"$q\"}" >/dev/null
workflow_task "$q" '[{"type": "ScheduleActivityTask", "activity_id": "fetch", "activity_type": "A", "start_to_close_timeout": 60, "retry_policy": {"initial_interval": 30}}, {"type": "ScheduleActivityTask", "activity_id": "load", "activity_type": "B", "start_to_close_timeout": 60}]'

# --- workflow pause and unpause
is "$(cat "$W/paused")" "false" "paused reads false"
is "$("$FSX" write "$W/ctl" $'pause disk full\n')" "OK" "ctl pause with a reason"
is "$(cat "$W/paused")" "true" "paused reads true"
like "$(tail -n 1 "$W/history")" '"WorkflowExecutionPaused"' "the pause is the last event"
like "$(tail -n 1 "$W/history")" '"reason": "disk full"' "with its reason"
like "$(tail -n 1 "$W/history")" "\"identity\": \"$(sql 'SELECT current_user')\"" "and the role that paused"
like "$(cat "$W/pending")" '"reason": "disk full"' "pending shows the pause"
is "$("$FSX" write "$W/ctl" 'pause')" "OK" "pausing again is fine"
is "$(grep -c WorkflowExecutionPaused "$W/history")" "1" "and records nothing"
is "$(cat "$W/activities/load/state")" "PAUSED" "a waiting activity of a paused workflow is PAUSED"
len=$(history_len "$id")
echo '"go"' >"$W/signals/go"
is "$(history_len "$id")" "$len" "a signal while paused leaves the history as it was"
is "$("$FSX" write "$W/ctl" $'unpause\n')" "OK" "ctl unpause"
is "$(cat "$W/paused")" "false" "paused reads false again"
like "$(cat "$W/history")" '"WorkflowExecutionSignaled"' "and the signal arrived"
is "$(cat "$W/activities/load/state")" "SCHEDULED" "the activity is offered again"
is "$("$FSX" write "$W/ctl" $'unpause\npause\nexplode\n')" "EINVAL" "a bad verb refuses the whole write"
is "$(cat "$W/paused")" "false" "so nothing was paused"
like "$(cat "$W/last-error")" 'unknown verb "explode"' "last-error says why"

# --- activities/
is "$(ls "$W/activities" | sort | tr '\n' ' ')" "fetch load " "activities/ lists the pending activities"
A=$W/activities/fetch
is "$(ls "$A" | sort | tr '\n' ' ')" "attempt ctl info last-error last_failure options paused state type " "an activity's files"
is "$(cat "$A/type")" "A" "type"
is "$(cat "$A/attempt")" "1" "attempt"
is "$("$FSX" open "$W/activities/nope" r)" "ENOENT" "an activity that is not pending is ENOENT"
is "$("$FSX" open "$A/ctl" r)" "EACCES" "an activity's ctl is write-only"
tok=$(sql "SELECT task_token FROM durable.poll_activity_tasks('$q', 'fs-test', 1)")
is "$(cat "$A/state")" "STARTED" "state follows the lease"
is "$("$FSX" write "$A/ctl" 'pause flaky upstream')" "OK" "ctl pause"
is "$(cat "$A/paused")" "true" "paused reads true"
like "$(cat "$A/info")" '"reason": "flaky upstream"' "info shows the reason"
is "$("$FSX" writeread "$M/tasks/$tok/heartbeat" '{"done": 1}')" $'cancel_requested false\npaused true' \
   "the heartbeat answer says paused"
"$FSX" write "$M/tasks/$tok/failure" '{"message": "stopped: paused", "type": "ActivityPaused"}' >/dev/null
is "$(cat "$A/state")" "PAUSED" "a failed attempt of a paused activity is not retried"
like "$(cat "$A/last_failure")" '"ActivityPaused"' "last_failure shows why"
is "$(cat "$A/attempt")" "2" "its next attempt waits"
is "$("$FSX" write "$A/ctl" $'unpause\nreset\n')" "OK" "unpause and reset in one write"
is "$(cat "$A/state")" "SCHEDULED" "offered at once"
is "$(cat "$A/attempt")" "1" "as attempt 1 again"
is "$(cat "$A/last_failure")" "" "with no last failure"
is "$("$FSX" write "$A/ctl" $'pause\nreset now\n')" "EINVAL" "reset takes only \"heartbeat\""
is "$(cat "$A/paused")" "false" "the pause before it in the same write was not applied"
like "$(cat "$A/last-error")" 'unexpected words after "reset"' "the activity's last-error says why"
is "$("$FSX" write "$A/ctl" 'snooze')" "EINVAL" "an unknown verb is EINVAL"
is "$("$FSX" write "$A/ctl" 'unpause now')" "EINVAL" "unpause takes no words"
is "$("$FSX" write "$A/ctl" $'\n\n')" "EINVAL" "no verb written is EINVAL"
is "$(cat "$A/paused")" "false" "none of which paused it"

# --- options
like "$(cat "$A/options")" '"start_to_close_timeout": 60' "options reads the timeouts"
is "$("$FSX" write "$A/options" '{"start_to_close_timeout": 90, "retry_policy": {"maximum_attempts": 4}}')" "OK" "write options"
like "$(cat "$A/options")" '"start_to_close_timeout": 90' "the timeout changed"
like "$(cat "$A/options")" '"maximum_attempts": 4' "and the retry policy"
like "$(cat "$A/options")" '"initial_interval": 30' "the rest of the policy kept"
before=$(cat "$A/options")
is "$("$FSX" write "$A/options" '{"start_to_close_timeout": 90, "colour": 1}')" "EINVAL" "an unknown field is EINVAL"
is "$("$FSX" write "$A/options" '{"retry_policy": {"maximum_attempts": -2}}')" "EINVAL" "negative attempts are EINVAL"
is "$("$FSX" write "$A/options" '{"start_to_close_timeout": ')" "EINVAL" "unfinished JSON is EINVAL"
is "$("$FSX" write "$A/options" '   ')" "EINVAL" "a blank document is EINVAL"
is "$(cat "$A/options")" "$before" "none of them changed anything"
like "$(cat "$A/last-error")" "" "last-error is readable"

# --- closed workflows refuse
echo 'terminate done' >"$W/ctl"
is "$("$FSX" write "$W/ctl" 'pause')" "EPERM" "pausing a closed workflow is EPERM"
like "$(cat "$W/last-error")" "not running" "last-error says it is not running"
is "$("$FSX" open "$W/activities/fetch" r)" "ENOENT" "a closed workflow has no pending activities"

# --- task queue limits
Q=$M/task-queues/$q
for f in max_concurrent rate_per_second key_max_concurrent key_rate_per_second; do
    is "$(cat "$Q/$f")" "none" "$f reads none without limits"
done
echo 4 >"$Q/max_concurrent" && ok "echo 4 > max_concurrent" || not_ok "echo 4 > max_concurrent"
is "$(cat "$Q/max_concurrent")" "4" "max_concurrent reads 4"
is "$(sql "SELECT max_concurrent FROM durable.list_task_queue_limits() WHERE task_queue = '$q' AND fairness_key IS NULL")" "4" "the store has it"
is "$("$FSX" write "$Q/rate_per_second" $'2.5\n')" "OK" "write a rate"
is "$(cat "$Q/rate_per_second")" "2.5" "rate_per_second reads 2.5"
is "$(cat "$Q/max_concurrent")" "4" "max_concurrent kept its value"
is "$("$FSX" write "$Q/key_max_concurrent" '2')" "OK" "a key default"
is "$(cat "$Q/key_max_concurrent")" "2" "key_max_concurrent reads 2"
is "$("$FSX" write "$Q/max_concurrent" '0')" "EINVAL" "0 is refused (a limit is not a pause)"
like "$(cat "$Q/last-error")" "max_concurrent must be" "the queue's last-error says why"
is "$("$FSX" write "$Q/max_concurrent" '2.5')" "EINVAL" "a fraction for a count is EINVAL"
is "$("$FSX" write "$Q/rate_per_second" 'fast')" "EINVAL" "a word for a rate is EINVAL"
is "$("$FSX" write "$Q/rate_per_second" $'1\n2\n')" "EINVAL" "two values are EINVAL"
is "$("$FSX" write "$Q/rate_per_second" '-3')" "EINVAL" "a negative rate is EINVAL"
is "$("$FSX" write "$Q/rate_per_second" 'nan')" "EINVAL" "NaN is EINVAL"
is "$(cat "$Q/max_concurrent") $(cat "$Q/rate_per_second")" "4 2.5" "none of them changed anything"
is "$("$FSX" write "$Q/rate_per_second" 'none')" "OK" "none removes a limit"
is "$(cat "$Q/rate_per_second")" "none" "rate_per_second reads none"
is "$(cat "$Q/max_concurrent")" "4" "and the other limits stay"
like "$(ls "$M/task-queues")" "$q" "a queue with limits is listed, even with no work"

# --- one fairness key's own limits
K=$Q/keys/acme
is "$(ls "$Q/keys")" "" "keys/ lists no key before one has limits of its own"
is "$(cat "$K/max_concurrent") $(cat "$K/rate_per_second")" "none none" "a key without limits reads none"
is "$("$FSX" write "$K/max_concurrent" '3')" "OK" "a key's max_concurrent"
is "$("$FSX" write "$K/rate_per_second" $'1.5\n')" "OK" "a key's rate"
is "$(cat "$K/max_concurrent") $(cat "$K/rate_per_second")" "3 1.5" "both read back"
is "$(sql "SELECT max_concurrent || ' ' || rate_per_second FROM durable.list_task_queue_limits() WHERE task_queue = '$q' AND fairness_key = 'acme'")" "3 1.5" "the store has them"
is "$(ls "$Q/keys")" "acme" "keys/ lists it"
is "$("$FSX" write "$K/max_concurrent" '-1')" "EINVAL" "a negative count is EINVAL"
like "$(cat "$Q/last-error")" "keys/acme/max_concurrent" "the queue's last-error names the key's file"
is "$(cat "$K/max_concurrent")" "3" "and nothing changed"
is "$("$FSX" open "$K/nope" r)" "ENOENT" "a key has no other files"
echo none >"$K/max_concurrent"; echo none >"$K/rate_per_second"
is "$(ls "$Q/keys")" "" "both none forget the key's limits"

for f in max_concurrent key_max_concurrent; do echo none >"$Q/$f"; done
is "$(sql "SELECT count(*) FROM durable.list_task_queue_limits() WHERE task_queue = '$q'")" "0" "all none: the queue has no limits left"

# --- a reader may read, not write
ro="durablefs_pause_ro_$$"
R=$WORK/mnt-pause-reader
trap 'unmount_fs $R; unmount_fs $M; sql "SELECT durable.revoke_namespace('"'"'$ro'"'"', '"'"'reader'"'"', '"'"'default'"'"'); DROP ROLE IF EXISTS $ro" >/dev/null 2>&1' EXIT
sql "CREATE ROLE $ro LOGIN; SELECT durable.grant_namespace('$ro', 'reader', 'default')" >/dev/null
mount_fs "$R" "$WORK/pause-reader.log" --dsn "user=$ro" || exit 1
sql "SELECT durable.start_workflow('p2-$$', 'T', '$q')" >/dev/null
is "$(cat "$R/workflows/p2-$$/paused")" "false" "a reader reads paused"
is "$("$FSX" write "$R/workflows/p2-$$/ctl" 'pause')" "EACCES" "a reader may not pause"
is "$("$FSX" write "$R/task-queues/$q/max_concurrent" '3')" "EACCES" "nor set a limit"
is "$(cat "$M/workflows/p2-$$/paused")" "false" "nothing was paused"
is "$(sql "SELECT count(*) FROM durable.list_task_queue_limits() WHERE task_queue = '$q'")" "0" "no limit was set"

[ "$n_fail" -eq 0 ]
