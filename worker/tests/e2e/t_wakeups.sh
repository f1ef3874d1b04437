# Lost wake-ups: rounds of Flaky workflows (activities, retries after a
# backoff, timers) on two workers of one queue, each round started at once
# and waited for, so that every round ends in the quiet spell where a lost
# notification strands work until the backstop poll. A backstop poll that
# finds work after a quiet spell is logged as a lost wake-up: there must be
# none. (How long the rounds take is not asserted.)
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/flaky.so
ROUNDS=${DURABLE_E2E_WAKEUP_ROUNDS:-12}
N=${DURABLE_E2E_WAKEUP_WORKFLOWS:-40}
Q=wakeups-$RUN
worker wake1 --task-queue "$Q" --plugin "$PLUGIN" --concurrency 8
worker wake2 --task-queue "$Q" --plugin "$PLUGIN" --concurrency 8
# both have made their first polls (after their LISTEN), which are not
# backstop polls and would take the unannounced workflow below uncounted
check "both workers poll" wait_sql "SELECT count(*) FROM durable.task_queue_pollers WHERE task_queue = '$Q'" 4
lost_count() { cat "$LOGDIR"/wake*.log | grep -c "a lost wake-up" || true; }
# First, that a lost wake-up is seen: one workflow started while the store
# sends no notification (start_unannounced.sql) is found by a backstop
# poll only, and counted. The clock is moved on by 5 s as it commits:
# whenever the backstop ticks, the task has waited ready longer than a
# notification on its way would take, the judge's bound (worker.c,
# BACKSTOP_FRESH_MS).
psql -qX -v id="$Q-unannounced" -v type=Flaky -v queue="$Q" -v input='"x"' -v skip='5 seconds' \
	-f "$(dirname "$0")/start_unannounced.sql" >/dev/null
check "the unannounced workflow completes" wait_closed "$Q-unannounced"
probe=$(lost_count)
check "the backstop poll that found it counted a lost wake-up" test "$probe" -ge 1
closed() { sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$Q' AND workflow_id <> '$Q-unannounced' AND status <> 'RUNNING'"; }
all_done=t
for r in $(seq 1 "$ROUNDS"); do
	sql "SELECT count(durable.start_workflow('$Q-$r-' || i, 'Flaky', '$Q', '\"x\"')) FROM generate_series(1, $N) i" >/dev/null
	deadline=$((SECONDS + 120))
	until [ "$(closed)" = $((r * N)) ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
	[ "$(closed)" = $((r * N)) ] || { all_done=f; break; }
	sleep 1.5   # quiet: the next round starts after a backstop could have found leftovers
done
check "every round's workflows closed" eq "$all_done" t
check "all completed" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$Q' AND status = 'COMPLETED'")" $((ROUNDS * N + 1))
check "activities were retried after a backoff" \
	eq "$(sql "SELECT count(*) > 0 FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.task_queue = '$Q' AND h.event_type = 'ActivityTaskStarted' AND (h.attributes ->> 'attempt')::int > 1")" t
check "timers fired" \
	eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.task_queue = '$Q' AND h.event_type = 'TimerFired'")" $(((ROUNDS * N + 1) * 5))
stop_workers
lost=$(($(lost_count) - probe))
echo "  lost wake-ups (backstop polls that found work) in $ROUNDS rounds of $N: $lost"
grep -h "a lost wake-up" "$LOGDIR"/wake*.log | tail -n +$((probe + 1)) | head -5
# On a count, what the backstop found and its run's history, for the record:
# how long the task had been ready (scheduled, or retried after a failure)
# when found tells a task stranded for seconds from a commit racing the poll.
[ "$lost" -eq 0 ] || echo "  (history times are the store's clock, ahead of the logs' by $(sql "SELECT durable.clock_offset()"))"
[ "$lost" -eq 0 ] || grep -h "the backstop poll found a .* task of workflow" "$LOGDIR"/wake*.log |
	grep -v "of workflow $Q-unannounced," | head -3 |
	while read -r found; do
		echo "  $found"
		wf=${found##*of workflow }
		wf=${wf%%, ready for*}
		sql "SELECT '    ' || h.event_id || ' ' || to_char(h.event_time, 'HH24:MI:SS.MS') || ' ' || h.event_type
		            || coalesce(' attempt ' || (h.attributes ->> 'attempt'), '')
		       FROM durable.history h JOIN durable.workflows w USING (run_id)
		      WHERE w.workflow_id = '${wf%%,*}' ORDER BY h.event_id"
	done
# and the workers' other warnings (a LISTEN connection that reconnected
# misses what was sent meanwhile)
[ "$lost" -eq 0 ] || grep -h " WARN \| ERROR " "$LOGDIR"/wake*.log | grep -v "a lost wake-up" | head -10 | sed 's/^/  /'
check "no backstop poll found work: no wake-up was lost" eq "$lost" 0
finish
