# last-error names the file as it was written (folders included) and keeps the
# store's message, detail and hint apart.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-lasterr
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/lasterr.log" || exit 1
q="le-$$"
id="le-$$"
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$id\", \"task_queue\": \"$q\"}" >/dev/null
workflow_task "$q" '[{"type": "CompleteWorkflowExecution", "result": 1}]'
W=$M/workflows/$id
is "$("$FSX" write "$W/signals/approve" '{}')" "EPERM" "a signal to a closed workflow is EPERM"
err=$(cat "$W/last-error")
like "$err" "write workflows/$id/signals/approve:" "last-error names the whole path of the signal"
like "$err" "is not running; detail: " "the message and its detail are kept apart"
unlike "$err" "running Run" "no message runs into its detail"
is "$("$FSX" write "$W/ctl" 'cancel')" "EPERM" "cancel of a closed workflow is EPERM"
like "$(cat "$W/last-error")" "workflows/$id/ctl:" "ctl's path"
is "$("$FSX" write "$M/tasks/a999999999.1/result" '{}')" "ESTALE" "an unknown task token is ESTALE"
like "$(cat "$M/tasks/a999999999.1/last-error")" "write tasks/a999999999.1/result:" "a task file's path"
is "$("$FSX" write "$M/start" '{"type": 1}')" "EINVAL" "a bad start spec"
like "$(cat "$M/last-error")" "write start:" "start's path"
[ "$n_fail" -eq 0 ]
