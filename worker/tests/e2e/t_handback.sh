# The hand-back: the workflow tasks a worker's activity outcomes make ready
# are leased to it with the outcomes and run as if polled; with
# --no-handback they wait for its workflow poll; a worker killed with -9
# while it holds a handed-back task leaves it to time out, and another
# worker finishes the run, exactly once. Plugin: tests/plugins/handback.c.
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/handback.so
handed() { grep -c "handed back with the activity outcomes" "$LOGDIR/$1.log" || true; }
# WorkflowTaskStarted identities of a run, in order, joined by spaces
starters() { sql "SELECT string_agg(h.attributes ->> 'identity', ' ' ORDER BY h.event_id) FROM durable.history h
                   JOIN durable.workflows w USING (run_id)
                  WHERE w.workflow_id = '$1' AND h.event_type = 'WorkflowTaskStarted'"; }

# 1. The hand-back on (the default): sequential activities, each outcome
#    bringing the next workflow task back; every activity runs once, every
#    run closes once, and the history names the worker as a poll would.
q=handback-$RUN
DURABLE_LOG=debug worker on --task-queue "$q" --plugin "$PLUGIN" --identity "hb-on-$RUN"
ON=$LAST_PID
ids=()
for i in $(seq 1 5); do
	ids+=("seq-$RUN-$i")
	sql "SELECT durable.start_workflow('seq-$RUN-$i', 'HandbackSeq', '$q', '{\"n\": 4}')" >/dev/null
done
check "the runs complete" wait_closed "${ids[@]}"
for id in "${ids[@]}"; do
	check "$id completed, four steps" eq "$(status_of "$id")/$(sql "SELECT result ->> 'ran' FROM durable.workflows WHERE workflow_id = '$id'")" COMPLETED/4
	check "$id closed once" eq "$(closes "$id")" 1
	check "$id: each step ran once" eq "$(ledger_count step "$id")" 4
	check "$id: every workflow task started by the worker" eq "$(starters "$id")" "$(printf "hb-on-$RUN %.0s" 1 2 3 4 5 | sed 's/ $//')"
done
stop_worker "$ON"
n=$(handed on)
check "workflow tasks came back with the outcomes ($n of 20)" test "$n" -gt 0
check "the exit line counts them" grep -q ", $n handed back with activity outcomes)" "$LOGDIR/on.log"
check "with only their new events, after the cached ones" grep -q "cached events + [0-9]* new" "$LOGDIR/on.log"

# 2. --no-handback: the same work, every workflow task through the poll.
q=handback-off-$RUN
DURABLE_LOG=debug worker off --task-queue "$q" --plugin "$PLUGIN" --no-handback
OFF=$LAST_PID
ids=()
for i in $(seq 1 3); do
	ids+=("off-$RUN-$i")
	sql "SELECT durable.start_workflow('off-$RUN-$i', 'HandbackSeq', '$q', '{\"n\": 3}')" >/dev/null
done
check "--no-handback: the runs complete" wait_closed "${ids[@]}"
for id in "${ids[@]}"; do
	check "$id: each step ran once" eq "$(ledger_count step "$id")" 3
done
stop_worker "$OFF"
check "nothing was handed back" eq "$(handed off)" 0
check "the exit line says so" grep -q ", 0 handed back with activity outcomes)" "$LOGDIR/off.log"

# 3. kill -9 of the worker holding a handed-back workflow task: the task
#    times out (task_timeout 2 s) and another worker finishes the run.
q=handback-kill-$RUN
id=hold-$RUN
HANDBACK_HOLD=1 DURABLE_LOG=debug worker crash --task-queue "$q" --plugin "$PLUGIN" --identity "crash-$RUN"
CRASH=$LAST_PID
sql "SELECT durable.start_workflow('$id', 'HandbackHold', '$q', 'null', '{\"task_timeout\": 2}')" >/dev/null
check "the worker holds the task after the step" wait_until 60 grep -q "^hold $id " "$DURABLE_LEDGER"
check "a task handed back with the step's outcome" test "$(handed crash)" -ge 1
check "the lease is the crashing worker's" eq "$(sql "SELECT t.identity || '/' || t.state FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id'")" "crash-$RUN/STARTED"
kill -9 "$CRASH"
while kill -0 "$CRASH" 2>/dev/null; do sleep 0.05; done
worker after --task-queue "$q" --plugin "$PLUGIN" --identity "after-$RUN"
check "the run completes on the other worker" wait_closed "$id"
check "with its result" eq "$(status_of "$id")/$(sql "SELECT result ->> 'done' FROM durable.workflows WHERE workflow_id = '$id'")" COMPLETED/true
check "the held task timed out, then the other worker took it" eq "$(sql "SELECT string_agg(h.event_type || coalesce(':' || (h.attributes ->> 'identity'), ''), ' ' ORDER BY h.event_id) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id' AND h.event_id > (SELECT max(h2.event_id) FROM durable.history h2 WHERE h2.run_id = h.run_id AND h2.event_type = 'ActivityTaskCompleted')")" \
	"WorkflowTaskScheduled WorkflowTaskStarted:crash-$RUN WorkflowTaskTimedOut:crash-$RUN WorkflowTaskScheduled WorkflowTaskStarted:after-$RUN WorkflowTaskCompleted:after-$RUN WorkflowExecutionCompleted"
check "the step ran once" eq "$(ledger_count step "$id")" 1
check "exactly once" eq "$(closes "$id")" 1
finish
