# Kept runs (worker/src/run.c): a worker keeps a run's workflow function
# waiting between its tasks instead of replaying the whole history. What
# must hold whatever the cache does: every run ends with the result a
# replay gives (tests/plugins/runcache.c's "Steps": its sum lives in C
# locals across waits), with signals, timers, queries and local activities
# on a kept run; after a kill -9 another worker replays and finishes the
# runs; a run cache of one with two runs taking turns evicts (unwinding
# the function) and replays; a worker whose kept run was overtaken by
# another worker's task replays instead of going on. The workers' exit
# lines count what the cache did, so each case also shows it happened.
# (A history under about ten activities replays without being kept: the
# runs here are longer, and the cases wait until they are past that.)
. "$(dirname "$0")/lib.sh"
q=rc-$RUN
OPTS='{"task_timeout": 2}'

. "$(dirname "$0")/steps_lib.sh"   # start, progress, at_least, finish_run, sum_of, want_sum, positive, take_turns
no_failed_tasks() {
	eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	            WHERE w.workflow_id LIKE '$q-%' AND h.event_type = 'WorkflowTaskFailed'")" 0
}
# counter LOG WHAT: the exit line's count of WHAT ("went on", "overtaken", "evicted")
counter() { sed -n "s/.*kept runs: \([0-9]*\) went on, \([0-9]*\) overtaken, \([0-9]*\) evicted.*/\1 \2 \3/p" "$LOGDIR/$1.log" | tail -1 |
	awk -v w="$2" '{ print (w == "went on" ? $1 : w == "overtaken" ? $2 : $3) }'; }

# 1. Signals, timers, queries and local activities on kept runs.
worker a --task-queue "$q" --plugin "$P"; A=$LAST_PID
start "$q-sig" 40 0 false
start "$q-local" 20 0 true
check "the runs make progress" wait_until 60 at_least "$q-sig" 10
for k in 1 2 3; do sql "SELECT durable.signal_workflow('$q-sig', 'add', '$((k * 100))')" >/dev/null; done
p=$(sql "SELECT durable.query_workflow('$q-sig', 'progress', timeout_ms => 20000)")
check "a query on a kept run answers its progress ($p)" test "${p:-0}" -ge 1
check "both run all their activities" wait_until 60 at_least "$q-sig" 40
check "(and the local one)" wait_until 60 at_least "$q-local" 20
finish_run "$q-sig"; finish_run "$q-local"
check "both complete" wait_closed "$q-sig" "$q-local"
check "the signaled run's sum counts its steps and signals" eq "$(sum_of "$q-sig")" "$(want_sum 40 600)"
check "the run with local activities sums right" eq "$(sum_of "$q-local")" "$(want_sum 20)"
stop_worker "$A"
check "tasks went on from kept runs" positive "$(counter a "went on")"

# 2. kill -9 with runs kept: another worker replays them and finishes.
worker b --task-queue "$q" --plugin "$P"; B=$LAST_PID
for k in 1 2 3; do start "$q-kill-$k" 40 20 false; done
check "the runs are under way" wait_until 60 at_least "$q-kill-3" 15
kill -9 "$B"
worker c --task-queue "$q" --plugin "$P"; C=$LAST_PID
for k in 1 2 3; do check "run $k goes on after the kill" wait_until 90 at_least "$q-kill-$k" 40; finish_run "$q-kill-$k"; done
check "all three complete" wait_closed "$q-kill-1" "$q-kill-2" "$q-kill-3"
for k in 1 2 3; do check "run $k's sum is whole" eq "$(sum_of "$q-kill-$k")" "$(want_sum 40)"; done
stop_worker "$C"

# 3. A run cache of one, two runs taking turns: each task evicts the other.
worker d --task-queue "$q" --plugin "$P" --run-cache 1; D=$LAST_PID
take_turns 25 90
stop_worker "$D"
check "kept runs were evicted" positive "$(counter d evicted)"

# 4. Overtaken: worker e keeps a run, is frozen (SIGSTOP) while worker f
#    runs its next tasks, then thaws alone: its kept run must not be
#    trusted, the task replays.
worker e --task-queue "$q" --plugin "$P"; E=$LAST_PID
start "$q-over" 60 30 false
# past the ten or so activities under which a history just replays
check "e runs it" wait_until 60 at_least "$q-over" 15
kill -STOP "$E"
worker f --task-queue "$q" --plugin "$P"; F=$LAST_PID
n=$(progress "$q-over")
check "f takes over" wait_until 60 at_least "$q-over" $((n + 5))
stop_worker "$F"
kill -CONT "$E"
check "e goes on" wait_until 90 at_least "$q-over" 60
finish_run "$q-over"
check "it completes" wait_closed "$q-over"
check "with the whole sum" eq "$(sum_of "$q-over")" "$(want_sum 60)"
stop_worker "$E"
check "e found its kept run overtaken" positive "$(counter e overtaken)"
check "no workflow task failed" no_failed_tasks
finish
