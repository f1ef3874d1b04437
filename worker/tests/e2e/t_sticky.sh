# Sticky histories (api/82_sticky.sql, pgext/src/sticky.c): a worker's poll
# names the worker process, not the runs it holds, and the store sends it,
# for a run whose last history it sent that process, only the newer events.
# What must hold: a kept run gets only its new events and goes on without
# replay; a worker killed -9 and its successor, or two workers sharing a
# queue, never take each other's marks (each gets whole histories, so none
# asks for one); a worker whose cache let a run go (--cache 1, two runs
# taking turns) is sent only the newest events, asks for the whole history
# (durable.workflow_task_history) and replays; every run ends with the sum
# a replay gives (tests/plugins/runcache.c's "Steps"). The exit lines count
# the whole histories asked for, so each case shows what happened.
. "$(dirname "$0")/lib.sh"
q=sticky-$RUN
OPTS='{"task_timeout": 10}'

. "$(dirname "$0")/steps_lib.sh"   # start, progress, at_least, finish_run, sum_of, want_sum, positive, take_turns
# the exit line's counts
refetched() { sed -n 's/.*workflow tasks (\([0-9]*\) whole histories asked for;.*/\1/p' "$LOGDIR/$1.log" | tail -1; }
went_on() { sed -n 's/.*kept runs: \([0-9]*\) went on,.*/\1/p' "$LOGDIR/$1.log" | tail -1; }
# (but the runs of the kill -9, whose leased task times out)
no_failed_tasks() {
	eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	            WHERE w.workflow_id LIKE '$q-%' AND w.workflow_id NOT LIKE '$q-kill-%'
	              AND h.event_type IN ('WorkflowTaskFailed', 'WorkflowTaskTimedOut')")" 0
}

# 1. One worker: every task after a run's first brings only the new events.
DURABLE_LOG=debug worker a --task-queue "$q" --plugin "$P"; A=$LAST_PID
start "$q-one" 40 0
check "it runs all its activities" wait_until 90 at_least "$q-one" 40
finish_run "$q-one"
check "it completes" wait_closed "$q-one"
check "with the whole sum" eq "$(sum_of "$q-one")" "$(want_sum 40)"
stop_worker "$A"
check "the store has sticky histories" eq "$(grep -c 'the store has no sticky histories' "$LOGDIR/a.log")" 0
# (a task's history continued what the cache held: cache.c's debug line)
check "tasks brought only their new events" test "$(grep -c 'cached events + [0-9]* new' "$LOGDIR/a.log")" -ge 40
check "none asked for a whole history" eq "$(refetched a)" 0
check "kept runs went on" positive "$(went_on a)"
n=$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
          WHERE w.workflow_id = '$q-one' AND h.event_type = 'WorkflowTaskStarted'")
check "the worker ran every task ($n)" eq "$(grep -c "cached events + [0-9]* new" "$LOGDIR/a.log")" $((n - 1))

# 2. kill -9: the next worker (a new process, the same identity) gets whole histories.
worker b --task-queue "$q" --plugin "$P" --identity same-host:1; B=$LAST_PID
for k in 1 2; do start "$q-kill-$k" 40 20; done
check "the runs are under way" wait_until 90 at_least "$q-kill-2" 15
kill -9 "$B"
worker c --task-queue "$q" --plugin "$P" --identity same-host:1; C=$LAST_PID
for k in 1 2; do check "run $k goes on after the kill" wait_until 120 at_least "$q-kill-$k" 40; finish_run "$q-kill-$k"; done
check "both complete" wait_closed "$q-kill-1" "$q-kill-2"
for k in 1 2; do check "run $k's sum is whole" eq "$(sum_of "$q-kill-$k")" "$(want_sum 40)"; done
stop_worker "$C"
check "the new worker was never sent only the newest events" eq "$(refetched c)" 0

# 3. Two workers on one queue: each gets whole histories of the runs the
#    other ran last, never the other's newest events alone.
worker d --task-queue "$q" --plugin "$P"; D=$LAST_PID
worker e --task-queue "$q" --plugin "$P"; E=$LAST_PID
for k in 1 2 3 4; do start "$q-two-$k" 30 10; done
for k in 1 2 3 4; do check "run $k runs" wait_until 120 at_least "$q-two-$k" 30; finish_run "$q-two-$k"; done
check "all complete" wait_closed "$q-two-1" "$q-two-2" "$q-two-3" "$q-two-4"
for k in 1 2 3 4; do check "run $k's sum" eq "$(sum_of "$q-two-$k")" "$(want_sum 30)"; done
stop_worker "$D"; stop_worker "$E"
check "d never asked for a whole history" eq "$(refetched d)" 0
check "e neither" eq "$(refetched e)" 0
both=$(sql "SELECT count(DISTINCT h.attributes ->> 'identity') FROM durable.history h JOIN durable.workflows w USING (run_id)
             WHERE w.workflow_id LIKE '$q-two-%' AND h.event_type = 'WorkflowTaskStarted'")
check "both workers ran tasks ($both identities)" eq "$both" 2

# 4. A cache of one run, two runs taking turns: each task's run was let go,
#    the store sends its newest events all the same, the worker asks for
#    the whole history and replays.
DURABLE_LOG=debug worker f --task-queue "$q" --plugin "$P" --cache 1; F=$LAST_PID
take_turns 20 120
stop_worker "$F"
check "whole histories were asked for" positive "$(refetched f)"
check "(and said why)" grep -q 'asking for its whole history' "$LOGDIR/f.log"
check "no task was skipped" eq "$(grep -c 'skipped: its history does not follow' "$LOGDIR/f.log")" 0
check "no workflow task failed or timed out" no_failed_tasks
finish
