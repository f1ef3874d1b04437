# where/<filter>/: a folder named by a list filter lists the workflows it
# matches; bad filters are EINVAL with the reason; batches/: start, watch and
# stop batch jobs.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-where
ns=where-$$
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/where.log" --namespace "$ns" || exit 1
sql "SELECT durable.add_search_attribute('CustomerId', 'Keyword', '$ns')" >/dev/null
for i in 1 2 3; do
    sql "SELECT durable.start_workflow('bill-$i', 'Billing', 'wq$i-$$', NULL,
         '{\"search_attributes\": {\"CustomerId\": \"c-$i\"}}', '$ns')" >/dev/null
done
sql "SELECT durable.start_workflow('ship-1', 'Shipping', 'wq-$$', NULL, '{}', '$ns')" >/dev/null
sql "SELECT durable.terminate_workflow('bill-3', 'done', namespace => '$ns')" >/dev/null
# bill-2 continues as new: two runs that match, one folder entry
sql "SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('wq2-$$', 't', 1, NULL, '$ns')),
     '[{\"type\": \"ContinueAsNewWorkflowExecution\", \"input\": 2}]')" >/dev/null

W="$M/where"
is "$(ls "$W")" "" "where/ itself lists nothing (every filter is a folder)"
is "$(ls "$W/WorkflowType = 'Billing' AND ExecutionStatus = 'Running'" | tr '\n' ' ')" "bill-1 bill-2 " \
    "ls of a filter folder lists the matching workflows"
is "$(ls "$W/CustomerId IN ('c-1', 'c-3')" | tr '\n' ' ')" "bill-1 bill-3 " "a declared attribute, IN"
is "$(ls "$W/WorkflowType = 'Billing'" | tr '\n' ' ')" "bill-1 bill-2 bill-3 " "a workflow with two matching runs is listed once"
is "$(ls "$W/ExecutionStatus = 'ContinuedAsNew'" | tr '\n' ' ')" "bill-2 " "a filter on an earlier run finds its workflow"
is "$(readlink "$W/WorkflowType = 'Shipping'/ship-1")" "../../workflows/ship-1" "entries link to workflows/<id>"
is "$(cat "$W/WorkflowType = 'Shipping'/ship-1/type")" "Shipping" "and lead there"
is "$("$FSX" open "$W/WorkflowType = 'Shipping'/bill-1" r)" "ENOENT" "a workflow the filter does not match is ENOENT"
is "$(ls "$W/WorkflowType = 'Nothing'" | wc -l)" "0" "a filter that matches nothing is an empty folder"
is "$("$FSX" open "$W/WorkflowType = 'Billing' AND" r)" "EINVAL" "a bad filter is EINVAL"
like "$(cat "$M/last-error")" "list filter: expected a search attribute name, found the end of the filter" \
    "and last-error says why"
like "$(cat "$M/last-error")" "At character" "with the position"
is "$("$FSX" open "$W/Customer = 'c-1'" r)" "EINVAL" "an unknown attribute is EINVAL"
like "$(cat "$M/last-error")" 'unknown search attribute "Customer"' "named in last-error"
is "$("$FSX" open "$W/CustomerId > 5" r)" "EINVAL" "a type mismatch is EINVAL"
is "$("$FSX" open "$W/WorkflowType = 'Billing' ORDER BY StartTime" r)" "EINVAL" "ORDER BY is refused (the folder is in id order)"
like "$(cat "$M/last-error")" "takes no ORDER BY" "last-error says so"
is "$("$FSX" open "$W/WorkflowType = 'x'; DROP TABLE durable.workflows" r)" "EINVAL" "an injection is a syntax error"
is "$(sql "SELECT count(*) > 0 FROM durable.workflows")" "t" "and changed nothing"
# a page of the listing is 1,000 runs: 1,200 matching runs list in full, once each
sql "SELECT count(durable.start_workflow('many-' || i, 'Many', 'wq-$$', NULL, '{}', '$ns')) FROM generate_series(1, 1200) i" >/dev/null
is "$(ls "$W/WorkflowType = 'Many'" | wc -l)" "1200" "1,200 matches are listed across pages"
is "$(ls "$W/WorkflowType = 'Many'" | sort -u | wc -l)" "1200" "each once"

# batches/
B="$M/batches"
like "$(ls "$B")" "start" "batches/ has start"
printf '{"job_id": "stop-%s", "operation": "terminate", "query": "WorkflowType = %s",\n "arguments": {"reason": "cleanup"}, "rate_per_second": 100000}' \
    "$$" "'Many'" >"$B/start" && ok "a batch job starts by writing its spec to batches/start" || not_ok "batches/start"
like "$(ls "$B")" "stop-$$" "batches/ lists it"
is "$(cat "$B/stop-$$/operation")" "terminate" "operation"
is "$(cat "$B/stop-$$/query")" "WorkflowType = 'Many'" "query"
is "$(cat "$B/stop-$$/total")" "1200" "total"
done_all() { [ "$(cat "$B/stop-$$/state")" = COMPLETED ]; }
eventually done_all && ok "the timer worker completes it" || not_ok "the job completes: $(cat "$B/stop-$$/info")"
is "$(cat "$B/stop-$$/done")" "1200" "done"
is "$(cat "$B/stop-$$/failed")" "0" "failed"
is "$(ls "$W/WorkflowType = 'Many' AND ExecutionStatus = 'Terminated'" | wc -l)" "1200" "all terminated"
like "$(cat "$B/stop-$$/info")" '"arguments": {"reason": "cleanup"}' "info is the job as JSON"
is "$("$FSX" write "$B/start" '{"job_id": "x", "operation": "explode", "query": ""}')" "EINVAL" "an unknown operation is EINVAL"
like "$(cat "$M/last-error")" "unknown batch operation" "last-error says why"
is "$("$FSX" write "$B/start" '{"job_id": "x", "operation": "cancel", "query": "Nope = 1"}')" "EINVAL" "a bad filter is EINVAL"
is "$("$FSX" write "$B/start" '{"job_id": "x", "operation": "cancel"}')" "EINVAL" "a spec without a query is EINVAL"
is "$("$FSX" write "$B/start" '{"job_id": "start", "operation": "cancel", "query": ""}')" "EINVAL" "job id start is reserved"
is "$("$FSX" write "$B/start" "{\"job_id\": \"stop-$$\", \"operation\": \"cancel\", \"query\": \"\"}")" "EEXIST" "a job id that exists is EEXIST"
is "$(sql "SELECT count(*) FROM durable.batch_jobs WHERE namespace = '$ns'")" "1" "refused specs started nothing"
printf '{"job_id": "slow-%s", "operation": "signal", "query": "", "arguments": {"signal_name": "poke"}, "rate_per_second": 0.001}' \
    "$$" >"$B/start" || not_ok "a slow job"
is "$("$FSX" write "$B/slow-$$/ctl" 'explode')" "EINVAL" "an unknown ctl verb is EINVAL"
like "$(cat "$B/slow-$$/last-error")" "unknown verb" "in the job's last-error"
echo "stop enough" >"$B/slow-$$/ctl" && ok "echo stop > ctl" || not_ok "stop"
is "$(cat "$B/slow-$$/state")" "STOPPED" "the job is stopped"
like "$(cat "$B/slow-$$/info")" '"reason": "enough"' "with the reason"
is "$("$FSX" open "$B/nope-$$" r)" "ENOENT" "an unknown job is ENOENT"

# search-attributes: the namespace's typed attributes; an administrator adds and removes
S="$M/search-attributes"
like "$(cat "$S")" "WorkflowType Keyword builtin" "search-attributes lists the built-in attributes"
like "$(cat "$S")" "CustomerId Keyword declared" "and the declared ones"
printf 'add Amount Int\nadd Vip Bool\n' >"$S" && ok "add two attributes in one write" || not_ok "add"
like "$(cat "$S")" "Amount Int declared" "Amount is declared"
like "$(cat "$S")" "Vip Bool declared" "so is Vip"
is "$("$FSX" write "$S" $'add Region Keyword\nadd Amount Int\n')" "EEXIST" "a second Amount is EEXIST"
unlike "$(cat "$S")" "Region" "and the whole write changed nothing (no Region)"
is "$("$FSX" write "$S" 'add Region Money')" "EINVAL" "an unknown type is EINVAL"
like "$(cat "$M/last-error")" 'unknown search attribute type "Money"' "last-error says why"
is "$("$FSX" write "$S" 'drop Amount')" "EINVAL" "an unknown verb is EINVAL"
is "$("$FSX" write "$S" 'add Region')" "EINVAL" "add without a type is EINVAL"
is "$("$FSX" write "$S" 'remove Nope')" "ENOENT" "removing an undeclared attribute is ENOENT"
echo "remove Vip" >"$S" && ok "remove one" || not_ok "remove"
unlike "$(cat "$S")" "Vip" "it is gone"
sql "SELECT durable.start_workflow('typed-1', 'Typed', 'wq-$$', NULL, '{\"search_attributes\": {\"Amount\": 7}}', '$ns')" >/dev/null
is "$(ls "$W/Amount > 5")" "typed-1" "an attribute added through the mount is filterable at once"
[ "$n_fail" -eq 0 ]
