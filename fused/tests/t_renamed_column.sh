# A store that renamed a column the daemon reads (here: two functions of the
# real store, each swapped for a copy that renames one column, as another
# version of the store might) fails the operation with EIO and says why (the
# log; last-error for a write), rather than reading another column. The real
# functions are put back on exit, whatever happens. (An answer without a
# column its call names, which the store cannot cause while calls name their
# columns, is sql_contract's.)
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-renamed
LOG=$WORK/renamed.log
# puts back the real function that was renamed to $2, if it was ($1 the name, $3 its arguments)
put_back() {
    sql "DO \$\$ BEGIN IF to_regprocedure('durable.$2($3)') IS NOT NULL THEN
             DROP FUNCTION durable.$1($3);
             ALTER FUNCTION durable.$2($3) RENAME TO $1;
         END IF; END \$\$"
}
restore() {
    put_back heartbeat_activity_task_status t_renamed_heartbeat "text, jsonb"
    put_back list_search_attributes t_renamed_sattrs text
}
trap 'restore; unmount_fs $M' EXIT
mount_fs "$M" "$LOG" || exit 1
q="renamed-$$"
id="renamed-$$"
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$id\", \"task_queue\": \"$q\"}" >/dev/null
workflow_task "$q" '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60}]'
task=$(timeout 60 "$FSX" read "$M/task-queues/$q/next")
token=$(sed -n 's/.*"task_token" *: *"\([^"]*\)".*/\1/p' <<<"$task")
is "$("$FSX" writeread "$M/tasks/$token/heartbeat" '{}')" $'cancel_requested false\npaused false' "a heartbeat, as the store answers it"
attrs=$(cat "$M/search-attributes")
like "$attrs" "WorkflowType Keyword builtin" "search-attributes, as the store answers it"

sql "ALTER FUNCTION durable.heartbeat_activity_task_status(text, jsonb) RENAME TO t_renamed_heartbeat;
     CREATE FUNCTION durable.heartbeat_activity_task_status(task_token text, details jsonb DEFAULT NULL,
         OUT cancel_requested boolean, OUT is_paused boolean)
     LANGUAGE sql AS 'SELECT * FROM durable.t_renamed_heartbeat(\$1, \$2)'"
sql "ALTER FUNCTION durable.list_search_attributes(text) RENAME TO t_renamed_sattrs;
     CREATE FUNCTION durable.list_search_attributes(namespace text DEFAULT 'default')
     RETURNS TABLE (name text, kind text, builtin boolean)
     LANGUAGE sql AS 'SELECT * FROM durable.t_renamed_sattrs(\$1)'"

is "$("$FSX" writeread "$M/tasks/$token/heartbeat" '{}')" "EIO" "a heartbeat whose answer lacks paused is EIO"
like "$(cat "$M/tasks/$token/last-error")" 'heartbeat: Input/output error: 42703: column "paused" does not exist' \
    "last-error names the column"
is "$("$FSX" read "$M/search-attributes")" "EIO" "search-attributes without its type column is EIO"
like "$(cat "$LOG")" '42703: column "type" does not exist' "the log names the column"

restore
is "$(cat "$M/search-attributes")" "$attrs" "the store as it was: search-attributes again"
is "$("$FSX" writeread "$M/tasks/$token/heartbeat" '{}')" $'cancel_requested false\npaused false' "and heartbeats"
[ "$n_fail" -eq 0 ]
