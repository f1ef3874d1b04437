# Eager activity execution: activities that workflow tasks schedule on the
# worker's own queue are leased to it with the completion and run; with
# --no-eager they wait for its poll; a worker killed with -9 while it runs
# an eagerly leased activity leaves it to time out and be retried by the
# queue, on another worker. Plugin: tests/plugins/eager.c.
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/eager.so
ledger_has() { grep -q "^$1\$" "$DURABLE_LEDGER" 2>/dev/null; }
hist() { sql "SELECT h.attributes ->> '$3' FROM durable.history h JOIN durable.workflows w USING (run_id)
               WHERE w.workflow_id = '$1' AND h.event_type = '$2' ORDER BY h.event_id DESC LIMIT 1"; }
count_leased() { grep -c "leased with the completion ($2)" "$LOGDIR/$1.log" || true; }

# 1. Eager on (the default): fan-outs complete, their activities leased with
#    the completions, each exactly once.
q=eager-$RUN
DURABLE_LOG=debug worker on --task-queue "$q" --plugin "$PLUGIN" --concurrency 8 --identity "eager-on-$RUN"
ON=$LAST_PID
ids=()
for i in $(seq 1 6); do
	ids+=("fan-$RUN-$i")
	sql "SELECT durable.start_workflow('fan-$RUN-$i', 'EagerFan', '$q', '{\"n\": 5}')" >/dev/null
done
check "the fan-outs complete" wait_closed "${ids[@]}"
for id in "${ids[@]}"; do
	check "$id completed, all five activities" eq "$(status_of "$id")/$(sql "SELECT result ->> 'ok' FROM durable.workflows WHERE workflow_id = '$id'")" COMPLETED/5
	check "$id closed once" eq "$(closes "$id")" 1
	check "$id: each activity ran once" eq "$(grep -c "^tally $id " "$DURABLE_LEDGER")" 5
done
stop_worker "$ON"
eager=$(count_leased on EAGER)
check "activities were leased with the completions (eager: $eager)" test "$eager" -gt 0
check "the exit line counts them" grep -q "with a completion: $eager eager" "$LOGDIR/on.log"
check "their history is a polled activity's: started by this worker, attempt 1" \
	eq "$(hist "fan-$RUN-1" ActivityTaskStarted identity)/$(hist "fan-$RUN-1" ActivityTaskStarted attempt)" "eager-on-$RUN/1"

# 2. --no-eager: the same work, every activity through the poll.
q=eager-off-$RUN
DURABLE_LOG=debug worker off --task-queue "$q" --plugin "$PLUGIN" --concurrency 8 --no-eager
OFF=$LAST_PID
ids=()
for i in $(seq 1 3); do
	ids+=("off-$RUN-$i")
	sql "SELECT durable.start_workflow('off-$RUN-$i', 'EagerFan', '$q', '{\"n\": 5}')" >/dev/null
done
check "--no-eager: the fan-outs complete" wait_closed "${ids[@]}"
check "all activities ran" eq "$(grep -c "^tally off-$RUN-" "$DURABLE_LEDGER")" 15
stop_worker "$OFF"
check "none was leased with a completion" eq "$(grep -c "leased with the completion" "$LOGDIR/off.log")" 0

# 3. kill -9 of the worker running an eagerly leased activity: it times out
#    (start-to-close 3 s) and the queue gives the retry to another worker.
q=eager-kill-$RUN
id=hang-$RUN
DURABLE_LOG=debug worker crash --task-queue "$q" --plugin "$PLUGIN" --identity "crash-$RUN"
CRASH=$LAST_PID
# a worker offers slots once its first activity poll came back short: until
# then its completions offer none (under load the workflow's first task could
# complete before that poll, and nothing was leased with it)
check "the crashing worker has polled" wait_sql "SELECT count(*) FROM durable.task_queue_pollers WHERE task_queue = '$q'" 2
sql "SELECT durable.start_workflow('$id', 'EagerHang', '$q', 'null')" >/dev/null
check "the first attempt runs" wait_until 60 ledger_has "hang $id attempt 1"
check "it was leased with the completion" test "$(count_leased crash EAGER)" -ge 1
check "the lease is the crashing worker's" eq "$(sql "SELECT a.identity || '/' || a.state FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id'")" "crash-$RUN/STARTED"
kill -9 "$CRASH"
while kill -0 "$CRASH" 2>/dev/null; do sleep 0.05; done
worker after --task-queue "$q" --plugin "$PLUGIN" --identity "after-$RUN"
check "the workflow completes on the other worker" wait_closed "$id"
check "after a second attempt" eq "$(sql "SELECT result ->> 'attempt' FROM durable.workflows WHERE workflow_id = '$id'")" 2
check "which the other worker ran" eq "$(hist "$id" ActivityTaskStarted identity)/$(hist "$id" ActivityTaskStarted attempt)" "after-$RUN/2"
check "the first attempt ran once, the second once" eq "$(grep -c "^hang $id " "$DURABLE_LEDGER")" 2
check "exactly once" eq "$(closes "$id")" 1
finish
