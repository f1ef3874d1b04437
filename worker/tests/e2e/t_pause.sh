# Pause and unpause with real workers. Three durable-worker processes run
# subscriptions (bill, wait 30 days, bill ...). Paused while waiting, with
# their timers coming due and a signal sent, their histories do not move
# (sampled continuously) while queries still answer; unpaused, each goes on
# and nothing is lost: the fired timers and the signal arrive, every month is
# billed once. Then an activity pause reaches a heartbeating activity, in C
# and as an executable, and holds its retries until unpaused.
. "$(dirname "$0")/lib.sh"
q=pbill-$RUN
for i in 1 2 3; do
	worker billing$i --task-queue "$q" --plugin "$EX/subscription_billing.so"
done
ids=""
for i in 1 2 3 4; do
	id=psub$i-$RUN
	ids="$ids $id"
	sql "SELECT durable.start_workflow('$id', 'Subscription', '$q', '{\"customer\": \"c$i\", \"amount\": 9, \"months\": 3}', '{\"task_timeout\": 2}')" >/dev/null
done
in_ids="'$(echo $ids | sed "s/ /', '/g")'"
check "each is billed for month 1 and waits a month" \
	wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ($in_ids)" 4
for id in $ids; do
	check "pause $id" eq "$(sql "SELECT durable.pause_workflow('$id', 'billing system maintenance')")" t
done
check "no workflow task of theirs is running" \
	wait_sql "SELECT count(*) FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ($in_ids) AND t.state <> 'PAUSED'" 0
lengths() { sql "SELECT string_agg(workflow_id || '=' || (SELECT max(event_id) FROM durable.history h WHERE h.run_id = w.run_id), ' ' ORDER BY workflow_id) FROM durable.workflows w WHERE workflow_id IN ($in_ids)"; }
before=$(lengths)
first=$(echo $ids | cut -d' ' -f1)
sql "SELECT durable.skip_time('31 days')" >/dev/null
sql "SELECT durable.signal_workflow('$first', 'cancel_subscription', '\"moving\"')" >/dev/null
# Sample until every timer has fired into the waiting events, then a while
# more: the histories must not move at any sample.
moved=0 samples=0
sample() { [ "$(lengths)" = "$before" ] || moved=$((moved + 1)); samples=$((samples + 1)); }
deadline=$((SECONDS + 60))
until [ "$(sql "SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ($in_ids) AND b.event_type = 'TimerFired'")" = 4 ] || [ $SECONDS -ge $deadline ]; do
	sample
	sleep 0.05
done
check "the timers came due and fired while paused" eq "$(sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ($in_ids)")" 0
for i in $(seq 1 40); do sample; sleep 0.05; done
check "the histories did not move in $samples samples while paused" eq "$moved" 0
check "the signal waits too" eq "$(sql "SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$first' AND b.event_type = 'WorkflowExecutionSignaled'")" 1
check "no month 2 was billed" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ($in_ids) AND h.event_type = 'ActivityTaskCompleted'")" 4
check "a query still answers while paused" eq "$(sql "SELECT durable.query_workflow('$first', 'status') ->> 'months_billed'")" 1
check "describe shows the pause and its reason" eq "$(sql "SELECT durable.describe_workflow('$first') -> 'paused' ->> 'reason'")" "billing system maintenance"
check "and who paused" eq "$(sql "SELECT durable.describe_workflow('$first') -> 'paused' ->> 'paused_by'")" "$(sql "SELECT current_user")"
check "the store agrees with itself" eq "$(sql "SELECT count(*) FROM durable.verify_store()")" 0

for id in $ids; do sql "SELECT durable.unpause_workflow('$id', 'done')" >/dev/null; done
check "the canceled one closes once unpaused" wait_closed "$first"
check "it got the signal sent while paused" eq "$(sql "SELECT result ->> 'canceled' FROM durable.workflows WHERE workflow_id = '$first'")" true
rest=$(echo $ids | cut -d' ' -f2-)
in_rest="'$(echo $rest | sed "s/ /', '/g")'"
check "the others bill month 2 and wait again" \
	wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ($in_rest)" 3
sql "SELECT durable.skip_time('31 days')" >/dev/null
check "and close" wait_closed $rest
for id in $rest; do
	check "$id billed three months" eq "$(sql "SELECT result ->> 'months_billed' FROM durable.workflows WHERE workflow_id = '$id'")" 3
	check "$id: each bill once" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id' AND h.event_type = 'ActivityTaskCompleted'")" 3
done
for id in $ids; do check "$id closed exactly once" eq "$(closes "$id")" 1; done
check "the pauses are in the histories" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ($in_ids) AND h.event_type IN ('WorkflowExecutionPaused', 'WorkflowExecutionUnpaused')")" 8
check "the store agrees with itself after" eq "$(sql "SELECT count(*) FROM durable.verify_store()")" 0

# --- an activity pause reaches a heartbeating activity
s=q-slow-$RUN
for i in 1 2; do worker slow$i --task-queue "$s" --plugin "$EX/hello.so" --activities-dir "$WORKER_DIR/tests/e2e/activities"; done
act() { sql "SELECT a.$2 FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$1'"; }
pause_activity_test() {   # ID LEDGER_PATTERN
	local id=$1
	check "$id: the activity heartbeats" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id' AND a.heartbeat_details ? 'step'" 1
	local aid
	aid=$(act "$id" activity_id)
	check "$id: pause_activity" eq "$(sql "SELECT durable.pause_activity('$id', '$aid', 'quota exhausted')")" t
	check "$id: the running attempt learns it and stops: held, not retried" \
		wait_sql "SELECT a.state || ' ' || (a.last_failure ->> 'type') FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id'" "PAUSED ActivityPaused"
	check "$id: $2" grep -q "$2" "$DURABLE_LEDGER"
	local seen
	seen=$(act "$id" "attempt || ' ' || a.state")
	for i in $(seq 1 30); do [ "$(act "$id" "attempt || ' ' || a.state")" = "$seen" ] || break; sleep 0.05; done
	check "$id: still held while paused" eq "$(act "$id" "attempt || ' ' || a.state")" "2 PAUSED"
	sql "SELECT durable.unpause_activity('$id', '$aid')" >/dev/null
	check "$id: unpaused, attempt 2 runs at once" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id' AND a.state = 'STARTED' AND a.attempt = 2" 1
	sql "SELECT durable.cancel_workflow('$id', 'test over')" >/dev/null
	check "$id: then a cancel stops it" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id' AND h.event_type = 'ActivityTaskCanceled'" 1
	sql "SELECT durable.signal_workflow('$id', 'finish')" >/dev/null
	check "$id: closes" wait_closed "$id"
}
c=pslow-$RUN
sql "SELECT durable.start_workflow('$c', 'Slow', '$s', NULL, '{\"task_timeout\": 2}')" >/dev/null
pause_activity_test "$c" "^slow $c paused at step [0-9]* attempt 1"
x=pslowx-$RUN
sql "SELECT durable.start_workflow('$x', 'Slow', '$s', '{\"activity\": \"slow_script\"}', '{\"task_timeout\": 2}')" >/dev/null
pause_activity_test "$x" "^slow_script $x canceled"
finish
