# Flow control with real workers: three durable-worker processes, each asking
# for up to 8 activities at once, on a queue limited to 4 leased at once and
# 2 per fairness key. A sampler reads the leases continuously while they run:
# never more than the limits. A tenant with 10 tasks scheduled behind another
# tenant's 150 finishes while the flood still has a backlog.
. "$(dirname "$0")/lib.sh"
q=flow-$RUN
sql "SELECT durable.set_task_queue_limits('$q', max_concurrent => 4, key_max_concurrent => 2)" >/dev/null
# one workflow schedules the flood, then a second one the small tenant's ten
schedule() {   # schedule ID KEY N
	sql "SELECT durable.start_workflow('$1', 'Setup', 'setup-$q')" >/dev/null
	sql "SELECT durable.complete_workflow_task(
	       (SELECT task_token FROM durable.poll_workflow_tasks('setup-$q', 'setup', 1)),
	       (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', i::text,
	               'activity_type', 'brief_task', 'task_queue', '$q', 'fairness_key', '$2',
	               'start_to_close_timeout', 300)) FROM generate_series(1, $3) i))" >/dev/null
}
schedule flood-$RUN flood 150
schedule small-$RUN small 10

# the sampler: one psql session, one row per sample, until nothing is left
sampler() {
	while [ ! -e "$LOGDIR/stop-sampler" ]; do
		echo "SELECT (SELECT count(*) FILTER (WHERE state = 'STARTED') || ' ' ||
		                 count(*) FILTER (WHERE state = 'STARTED' AND fairness_key = 'flood') || ' ' ||
		                 count(*) FILTER (WHERE state = 'STARTED' AND fairness_key = 'small') || ' ' ||
		                 count(*) FILTER (WHERE fairness_key = 'flood') || ' ' ||
		                 count(*) FILTER (WHERE fairness_key = 'small')
		            FROM durable.activity_tasks WHERE task_queue = '$q');"
		sleep 0.01
	done | psql -qXAt >"$LOGDIR/samples" 2>&1
}
sampler &
SAMPLER=$!
for i in 1 2 3; do
	worker w$i --task-queue "$q" --activities-dir "$WORKER_DIR/tests/e2e/activities" --no-workflows \
		--concurrency 8 --batch 8
done
check "every activity ran" wait_sql "SELECT count(*) FROM durable.activity_tasks WHERE task_queue = '$q'" 0
touch "$LOGDIR/stop-sampler"; wait "$SAMPLER"
samples=$(grep -c '^[0-9]' "$LOGDIR/samples")
check "the sampler took samples ($samples)" test "$samples" -gt 20
check "never more than 4 leased at once" test "$(awk '$1 > m { m = $1 } END { print m + 0 }' "$LOGDIR/samples")" -le 4
check "never more than 2 of the flood at once" test "$(awk '$2 > m { m = $2 } END { print m + 0 }' "$LOGDIR/samples")" -le 2
check "never more than 2 of the small tenant at once" test "$(awk '$3 > m { m = $3 } END { print m + 0 }' "$LOGDIR/samples")" -le 2
# the first sample where the small tenant had nothing left: the flood still had work
flood_left=$(awk '$5 == 0 { print $4; exit }' "$LOGDIR/samples")
check "the small tenant finished while the flood still had a backlog ($flood_left left)" test "${flood_left:-0}" -gt 50
check "each activity ran once" eq "$(grep -c "^brief " "$DURABLE_LEDGER")" 160
finish
