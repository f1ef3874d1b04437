# tail -f history across continue-as-new: the history of workflows/<id>/ is
# the whole chain, oldest run first, each event tagged with its run, so a
# follower sees every event of every run in order (the old run's last
# events, its ContinuedAsNew, then the new run) and the file never shrinks.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-chain
tail_pid=
trap '[ -n "$tail_pid" ] && kill $tail_pid 2>/dev/null; unmount_fs $M' EXIT
mount_fs "$M" "$WORK/chain.log" || exit 1
q="chain-$$"
id="chain-$$"
sql "SELECT durable.start_workflow('$id', 'T', '$q')" >/dev/null
workflow_task "$q" '[]'
W=$M/workflows/$id
first=$(cat "$W/run_id")
tail -n +1 -f "$W/history" >"$WORK/chain.tail" 2>&1 &
tail_pid=$!
eventually grep -q WorkflowTaskCompleted "$WORK/chain.tail" || not_ok "tail -f started"

# the old run's last events: a signal, then continue-as-new
echo '{"n": 1}' >"$W/signals/go"
workflow_task "$q" '[{"type": "ContinueAsNewWorkflowExecution", "input": {"round": 2}}]'
eventually bash -c "[ \"\$(cat '$W/run_id')\" != '$first' ]" || not_ok "a new run started"
second=$(cat "$W/run_id")
echo '{"n": 2}' >"$W/signals/go"
workflow_task "$q" '[{"type": "CompleteWorkflowExecution", "result": "done"}]'
eventually grep -q WorkflowExecutionCompleted "$WORK/chain.tail" && ok "tail -f reached the new run's end" \
    || not_ok "tail -f reached the new run's end"
sleep 1.5 # one more polling round of tail, to catch any line shown twice
kill $tail_pid 2>/dev/null; tail_pid=

# what the follower saw is exactly both runs, in order
want=$(sql "SELECT string_agg(run || ' ' || event_id || ' ' || event_type, E'\n' ORDER BY ord, event_id) FROM (
              SELECT '$first' run, 1 ord, * FROM durable.get_history('$id', '$first')
              UNION ALL SELECT '$second', 2, * FROM durable.get_history('$id', '$second')) h")
got=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e["run_id"], e["event_id"], e["event_type"])' "$WORK/chain.tail")
is "$got" "$want" "tail -f showed every event of both runs once, in order, each tagged with its run"
like "$(grep -c '"signal_name": "go"' "$WORK/chain.tail")" "2" "both signals, the old run's too"
like "$(grep WorkflowExecutionContinuedAsNew "$WORK/chain.tail")" "\"run_id\": \"$first\"" "the old run's ContinuedAsNew is shown"
is "$(wc -l <"$W/history")" "$(( $(history_len "$id") + $(sql "SELECT durable.describe_workflow('$id', '$first') ->> 'history_length'") ))" \
   "history has the lines of both runs"
is "$(stat -c %s "$W/history")" "$(wc -c <"$W/history")" "and its st_size is its length"
is "$(wc -l <"$W/runs/$first/history")" "$(sql "SELECT durable.describe_workflow('$id', '$first') ->> 'history_length'")" \
   "runs/<first>/history is the first run alone"
like "$(head -n1 "$W/runs/$second/history")" "\"run_id\": \"$second\"}" "and runs/<second>/history the second, tagged too"
[ "$n_fail" -eq 0 ]
