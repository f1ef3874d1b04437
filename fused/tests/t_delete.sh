# ctl delete: every run of a workflow goes, with its folder; refusals change
# nothing; the id can be started again.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-delete
R=$WORK/mnt-delete-ro
ro="durablefs_delro_$$"
cleanup() {
    unmount_fs "$M"
    unmount_fs "$R"
    sql "SELECT durable.revoke_namespace('$ro', 'reader', 'default'); DROP ROLE IF EXISTS $ro" >/dev/null 2>&1
}
trap cleanup EXIT
mount_fs "$M" "$WORK/delete.log" || exit 1
q="del-$$"
id="d1-$$"
start() { "$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$1\", \"task_queue\": \"$q\"${2:-}}"; }
rows() {
    sql "SELECT (SELECT count(*) FROM durable.workflows WHERE workflow_id = '$1')
              + (SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$1')"
}

# two runs: one terminated, one running with a pending activity and timer
is "$(start "$id")" "OK" "start"
echo 'terminate first run' >"$M/workflows/$id/ctl"
is "$(start "$id")" "OK" "start the id again"
workflow_task "$q" '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60},
    {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 3600}]'
is "$(ls "$M/workflows/$id/runs" | wc -l)" "2" "two runs"
W=$M/workflows/$id

# refusals
is "$("$FSX" write "$W/ctl" $'delete\nexplode\n')" "EINVAL" "a bad verb next to delete refuses the whole write"
like "$(cat "$W/last-error")" 'unknown verb "explode"' "last-error says why"
is "$(cat "$W/status")" "RUNNING" "and nothing was deleted"
# a reader of the namespace (docs/security.md): it sees the workflow, may not delete it
sql "CREATE ROLE $ro LOGIN; SELECT durable.grant_namespace('$ro', 'reader', 'default')" >/dev/null
mount_fs "$R" "$WORK/delete-ro.log" --dsn "user=$ro" || exit 1
is "$("$FSX" write "$R/workflows/$id/ctl" 'delete')" "EACCES" "a role without delete_workflow gets EACCES"
like "$(cat "$R/workflows/$id/last-error")" "42501" "last-error names the missing privilege"
is "$(cat "$W/status")" "RUNNING" "still running"

# the delete
before=$(rows "$id")
[ "$before" -gt 2 ] && ok "the workflow has rows before ($before)" || not_ok "no rows before the delete"
echo 'delete no longer needed' >"$W/ctl" && ok "echo delete > ctl" || not_ok "echo delete > ctl"
is "$(rows "$id")" "0" "no run and no event of it is left"
is "$("$FSX" open "$W/status" r)" "ENOENT" "its folder is gone"
unlike "$(ls "$M/workflows")" "$id" "ls workflows/ no longer lists it"
is "$("$FSX" write "$W/ctl" 'delete')" "ENOENT" "deleting it again is ENOENT"
is "$(sql "SELECT count(*) FROM durable.activity_tasks WHERE workflow_id = '$id'")" "0" "its activity task went"

# the id is free again
is "$(start "$id" ', "options": {"id_reuse_policy": "REJECT_DUPLICATE"}')" "OK" "the id starts again, even under REJECT_DUPLICATE"
is "$(cat "$W/status")" "RUNNING" "as a new workflow"
is "$(ls "$W/runs" | wc -l)" "1" "with one run"

[ "$n_fail" -eq 0 ]
