# Local activities seen through the mount: a workflow started with the
# `start` file runs a local activity in a real worker (the test plugin of
# worker/tests/plugins/local.c); the history file shows its
# MarkerRecorded "LocalActivity" line with the result and attempt, and no
# activity task. Skipped when the worker is not built.
. "$(dirname "$0")/lib.sh"
need_worker tests/local.so "local activity test plugin"
M=$WORK/mnt-local
q="local-fs-$$"
export DURABLE_LEDGER=$WORK/local-ledger
trap 'stop_worker; unmount_fs $M' EXIT
start_worker "$q" local
mount_fs "$M" "$WORK/local.log" || exit 1

id="local-$$"
W=$M/workflows/$id
echo "{\"type\": \"LocalOne\", \"id\": \"$id\", \"task_queue\": \"$q\", \"input\": {\"type\": \"la_flaky\", \"input\": {\"succeed_at\": 2}, \"initial\": 0.1}}" >"$M/start" \
    && ok "start a workflow with a local activity" || not_ok "start"
completed() { [ "$(cat "$W/status")" = COMPLETED ]; }
eventually completed && ok "it completes" || not_ok "completes: $(cat "$W/status")"
marker=$(grep '"event_type": "MarkerRecorded"' "$W/history")
is "$(echo "$marker" | grep -c .)" 1 "history has one MarkerRecorded line"
like "$marker" '"marker_name": "LocalActivity"' "a LocalActivity marker"
like "$marker" '"activity_type": "la_flaky"' "with the activity type"
like "$marker" '"attempt": 2' "the attempt that succeeded"
like "$marker" '"result": {"attempt": 2}' "and the result"
unlike "$(cat "$W/history")" '"event_type": "ActivityTaskScheduled"' "no activity task in the history"
like "$(cat "$W/result")" '"attempt": 2' "result shows what the local activity gave"
[ "$n_fail" -eq 0 ]
