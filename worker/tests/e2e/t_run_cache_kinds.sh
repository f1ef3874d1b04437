# The run cache's replays (worker/src/run_cache.c): long workflows of each
# kind of call (tests/plugins/run_cache_kinds.c) go on from their kept runs
# on every task, with no replay: 1,000 local activities in one task, a
# local activity in every task, a child canceled with each cancellation
# type, and side effects, timers, versions, child workflows, signals,
# updates, queries and continue-as-new. The worker's exit line counts the
# tasks and local rounds it ran again from the first event where a kept run
# could have gone on ("replayed"): it must be 0. Every result must be what a
# worker that replays every task (--run-cache -1) gives. Then kill -9 of a
# worker holding such runs: another worker replays them (its count is > 0)
# and they end with the same results; and a run cache of one, where they
# evict each other and replay, ends them with the same results too.
. "$(dirname "$0")/lib.sh"
P=$WORKER_DIR/build/tests/run_cache_kinds.so
OPTS='{"task_timeout": 2}'

start() {   # QUEUE ID TYPE INPUT
	sql "SELECT durable.start_workflow('$2', '$3', '$1', '$4', '$OPTS')" >/dev/null
}
result() { sql "SELECT result FROM durable.workflows WHERE workflow_id = '$1' AND status = 'COMPLETED'"; }
# counter LOG WHAT: the exit line's count of WHAT ("went on", "replayed")
counter() {
	sed -n "s/.*kept runs: \([0-9]*\) went on, [0-9]* overtaken, [0-9]* evicted, \([0-9]*\) replayed.*/\1 \2/p" \
		"$LOGDIR/$1.log" | tail -1 | awk -v w="$2" '{ print (w == "went on" ? $1 : $2) }'
}
positive() { [ "${1:-0}" -gt 0 ] || { echo "  got '${1:-}', want > 0"; return 1; }; }
progress() { sql "SELECT durable.query_workflow('$1', 'progress', timeout_ms => 20000) ->> 'progress'"; }
at_least() { [ "$(progress "$1" 2>/dev/null || echo 0)" -ge "$2" ] 2>/dev/null; }
activities_done() {   # ID: ActivityTaskCompleted events of its runs
	sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type = 'ActivityTaskCompleted'"
}
done_at_least() { [ "$(activities_done "$1")" -ge "$2" ]; }

# every kind, on queue Q, by the worker already polling it; signals, updates
# and a query while Kinds runs its first run
run_all() {   # QUEUE
	local q=$1
	start "$q" "$q-locals" Locals '{"n": 1000}'
	start "$q" "$q-steps" LocalSteps '{"n": 40}'
	for t in 0 1 2 3; do start "$q" "$q-cancel-$t" CancelChild "{\"n\": 30, \"cancel_type\": $t}"; done
	start "$q" "$q-kinds" Kinds '{"n": 40, "again": 1}'
	check "$q: Kinds is under way" wait_until 60 at_least "$q-kinds" 5
	for k in 1 2 3; do sql "SELECT durable.signal_workflow('$q-kinds', 'add', '$((k * 100))')" >/dev/null; done
	for k in 1 2; do sql "SELECT durable.update_workflow('$q-kinds', 'add', '7')" >/dev/null; done
	check "$q: every run closes" wait_closed "$q-locals" "$q-steps" "$q-cancel-0" "$q-cancel-1" "$q-cancel-2" \
		"$q-cancel-3" "$q-kinds"
}

# 1. Kept runs: no replays.
qa=rck-$RUN
worker a --task-queue "$qa" --plugin "$P"; A=$LAST_PID
run_all "$qa"
stop_worker "$A"
check "tasks went on from kept runs" positive "$(counter a "went on")"
check "no task or local round replayed" eq "$(counter a replayed)" 0
check "1,000 local activities sum right" eq "$(result "$qa-locals")" '{"sum": 500500}'
check "a local activity per task sums right" eq "$(result "$qa-steps")" '{"sum": 1640}'
for t in 0 1 2 3; do
	check "a child canceled (type $t), then 30 activities" eq "$(result "$qa-cancel-$t")" \
		'{"sum": 465, "child": -10003}'
done
check "Kinds sums its steps, signals and updates over both runs" eq "$(result "$qa-kinds")" \
	'{"sum": 2254, "adds": 5}'

# 2. The same workflows replayed on every task give the same results.
#    Replaying 1,000 local activities round after round is quadratic by
#    design: it took 138 s under the sanitizers on a loaded machine (the
#    kept runs above, 0.3 s), so its runs get a longer deadline.
qr=rcr-$RUN
worker r --task-queue "$qr" --plugin "$P" --run-cache -1; R=$LAST_PID
WAIT_CLOSED_S=600 run_all "$qr"
stop_worker "$R"
for id in locals steps cancel-0 cancel-1 cancel-2 cancel-3 kinds; do
	check "$id: kept and replayed give the same result" eq "$(result "$qa-$id")" "$(result "$qr-$id")"
done

# 3. kill -9 of a worker holding kept runs of each kind: another replays
#    them and they end with the same results.
qk=rck9-$RUN
worker c --task-queue "$qk" --plugin "$P"; C=$LAST_PID
start "$qk" "$qk-steps" LocalSteps '{"n": 60, "delay_ms": 20}'
start "$qk" "$qk-cancel" CancelChild '{"n": 60, "delay_ms": 20, "cancel_type": 2}'
start "$qk" "$qk-kinds" Kinds '{"n": 60, "delay_ms": 20}'
# past the ten or so activities under which a history replays without being kept
check "the runs are under way" wait_until 90 done_at_least "$qk-steps" 25
check "(the canceled child's parent too)" wait_until 90 done_at_least "$qk-cancel" 25
kill -9 "$C"
worker d --task-queue "$qk" --plugin "$P"; D=$LAST_PID
check "they finish on the other worker" wait_closed "$qk-steps" "$qk-cancel" "$qk-kinds"
stop_worker "$D"
check "the other worker replayed them" positive "$(counter d replayed)"
check "LocalSteps' sum is whole" eq "$(result "$qk-steps")" '{"sum": 3660}'
check "CancelChild's too" eq "$(result "$qk-cancel")" '{"sum": 1830, "child": -10003}'
check "Kinds' too" eq "$(result "$qk-kinds")" '{"sum": 1830, "adds": 0}'
# 4. A run cache of one, runs of each kind taking turns: each task (or round
#    of local activities) finds its run evicted and replays, to the same
#    results.
qe=rcke-$RUN
worker e --task-queue "$qe" --plugin "$P" --run-cache 1; E=$LAST_PID
for k in 1 2; do
	start "$qe" "$qe-steps-$k" LocalSteps '{"n": 30}'
	start "$qe" "$qe-cancel-$k" CancelChild '{"n": 30, "cancel_type": 2}'
done
check "they finish, evicting each other" wait_closed "$qe-steps-1" "$qe-steps-2" "$qe-cancel-1" "$qe-cancel-2"
stop_worker "$E"
check "runs were evicted" positive "$(sed -n 's/.*kept runs: [0-9]* went on, [0-9]* overtaken, \([0-9]*\) evicted.*/\1/p' "$LOGDIR/e.log" | tail -1)"
check "and replayed" positive "$(counter e replayed)"
for k in 1 2; do
	check "LocalSteps $k sums right" eq "$(result "$qe-steps-$k")" '{"sum": 930}'
	check "CancelChild $k too" eq "$(result "$qe-cancel-$k")" '{"sum": 465, "child": -10003}'
done
check "no workflow task failed" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	WHERE w.workflow_id LIKE 'rck%-$RUN-%' AND h.event_type = 'WorkflowTaskFailed'")" 0
finish
