# Mounts as roles that may not do everything: writes (or all) fail with EACCES
# and change nothing.
. "$(dirname "$0")/lib.sh"
R=$WORK/mnt-readonly
N=$WORK/mnt-nobody
ro="durablefs_ro_$$"
nobody="durablefs_nobody_$$"
cleanup() {
    unmount_fs "$R"
    unmount_fs "$N"
    sql "SELECT durable.revoke_namespace('$ro', 'reader', 'default'); DROP ROLE IF EXISTS $ro; DROP ROLE IF EXISTS $nobody" >/dev/null 2>&1
}
trap cleanup EXIT
id="ro-$$"
sql "SELECT durable.start_workflow('$id', 'T', 'ro-q-$$')" >/dev/null
# read-only: a reader grant on the namespace (docs/security.md); nobody has none
sql "CREATE ROLE $ro LOGIN; SELECT durable.grant_namespace('$ro', 'reader', 'default');
     CREATE ROLE $nobody LOGIN;" >/dev/null
mount_fs "$R" "$WORK/readonly.log" --dsn "user=$ro" || exit 1
mount_fs "$N" "$WORK/nobody.log" --dsn "user=$nobody" || exit 1

is "$(cat "$R/workflows/$id/status")" "RUNNING" "a read-only role reads status"
like "$(ls "$R/workflows")" "$id" "and lists workflows"
is "$("$FSX" write "$R/start" "{\"type\": \"T\", \"id\": \"ro2-$$\", \"task_queue\": \"q\"}")" "EACCES" "start is EACCES"
like "$(cat "$R/last-error")" "42501" "last-error names the missing privilege"
is "$("$FSX" write "$R/workflows/$id/signals/s" '{}')" "EACCES" "a signal is EACCES"
is "$("$FSX" write "$R/workflows/$id/ctl" 'terminate no')" "EACCES" "terminate is EACCES"
# (a reader may query: queries only read; docs/security.md)
is "$("$FSX" readnb "$R/task-queues/ro-q-$$/next")" "EACCES" "leasing a task is EACCES"
is "$(sql "SELECT durable.describe_workflow('$id') ->> 'status'")" "RUNNING" "nothing changed"
is "$(sql "SELECT count(*) FROM durable.get_history('$id') WHERE event_type = 'WorkflowExecutionSignaled'")" "0" "no signal arrived"
is "$("$FSX" open "$N/workflows/$id/status" r)" "EACCES" "a role with no rights cannot even look"
like "$(cat "$N/README")" "durablefs" "but README is local"

[ "$n_fail" -eq 0 ]
