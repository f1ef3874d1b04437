# Priorities and fairness with real workers: three durable-worker processes
# drain one queue holding, scheduled before any worker runs, a flood of 150
# tasks of one tenant, 10 of a small tenant, 40 of a key of weight 4 and 40
# of weight 1, and 10 urgent ones of priority 1. A sampler reads the queue
# continuously; every sample is one snapshot, and on this queue (limited to 4
# leased at once, so its polls take turns on the queue's row) tasks leave
# the ready set in exactly the poll's order. So in every sample, not at any
# moment picked by a timer: nothing of priority 3 left before every urgent
# task did; the small tenant kept pace with the flood; the weight-4 key got
# four tasks for each of the weight-1 key's. Then the same flood on a queue
# without limits, drained by the same three workers polling freely: the
# small tenant is served while most of the flood still waits.
. "$(dirname "$0")/lib.sh"
q=prio-$RUN
sql "SELECT durable.set_task_queue_limits('$q', max_concurrent => 4)" >/dev/null
# schedule QUEUE ID N OPTIONS: a workflow that schedules N activities
schedule() {
	sql "SELECT durable.start_workflow('$2', 'Setup', 'setup-$q')" >/dev/null
	sql "SELECT durable.complete_workflow_task(
	       (SELECT task_token FROM durable.poll_workflow_tasks('setup-$q', 'setup', 1)),
	       (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', i::text,
	               'activity_type', 'brief_task', 'task_queue', '$1', 'start_to_close_timeout', 300) || '$4')
	          FROM generate_series(1, $3) i))" >/dev/null
}
schedule "$q" flood-$RUN 150 '{"fairness_key": "flood"}'
schedule "$q" small-$RUN 10 '{"fairness_key": "small"}'
schedule "$q" heavy-$RUN 40 '{"fairness_key": "heavy", "fairness_weight": 4}'
schedule "$q" light-$RUN 40 '{"fairness_key": "light"}'
schedule "$q" urgent-$RUN 10 '{"fairness_key": "urgent", "priority": 1}'

# the sampler: one row per sample (leased, then ready tasks of urgent,
# flood, small, heavy, light) until told to stop
sampler() {   # QUEUE FILE
	while [ ! -e "$2.stop" ]; do
		echo "SELECT concat_ws(' ', count(*) FILTER (WHERE state = 'STARTED'),
		         count(*) FILTER (WHERE state = 'SCHEDULED' AND fairness_key = 'urgent'),
		         count(*) FILTER (WHERE state = 'SCHEDULED' AND fairness_key = 'flood'),
		         count(*) FILTER (WHERE state = 'SCHEDULED' AND fairness_key = 'small'),
		         count(*) FILTER (WHERE state = 'SCHEDULED' AND fairness_key = 'heavy'),
		         count(*) FILTER (WHERE state = 'SCHEDULED' AND fairness_key = 'light'))
		    FROM durable.activity_tasks WHERE task_queue = '$1';"
		sleep 0.01
	done | psql -qXAt >"$2" 2>&1
}
# drain QUEUE FILE N: the sampler's first sample, then three workers of N
# activities at once each, until the queue is empty; then the sampler stops
drain() {
	sampler "$1" "$2" &
	local pid=$!
	until grep -q '^[0-9]' "$2" 2>/dev/null; do sleep 0.01; done
	for i in 1 2 3; do
		worker "$(basename "$2")$i" --task-queue "$1" --activities-dir "$WORKER_DIR/tests/e2e/activities" \
			--no-workflows --concurrency "$3" --batch "$3"
	done
	check "every activity of $1 ran" wait_sql "SELECT count(*) FROM durable.activity_tasks WHERE task_queue = '$1'" 0
	touch "$2.stop"; wait "$pid"
	stop_workers
}
drain "$q" "$LOGDIR/samples" 4
s=$LOGDIR/samples
check "the sampler took samples ($(grep -c '^[0-9]' "$s"))" test "$(grep -c '^[0-9]' "$s")" -gt 20
check "some samples saw urgent tasks waiting" test "$(awk '$2 > 0' "$s" | wc -l)" -gt 0
check "never more than 4 leased at once" test "$(awk '$1 > m { m = $1 } END { print m + 0 }' "$s")" -le 4
# dispatched = scheduled - ready
check "nothing of priority 3 left while an urgent task waited" \
	test "$(awk '$2 > 0 && (150 - $3) + (10 - $4) + (40 - $5) + (40 - $6) > 0' "$s" | wc -l)" -eq 0
check "while both waited, the small tenant kept pace with the flood (within 1)" \
	test "$(awk '$3 > 0 && $4 > 0 { d = (150 - $3) - (10 - $4); if (d < -1 || d > 1) print }' "$s" | wc -l)" -eq 0
check "some samples saw the weight-4 and weight-1 keys both waiting, after a start" \
	test "$(awk '$5 > 0 && $6 > 0 && $5 < 40' "$s" | wc -l)" -gt 0
check "while both waited, the weight-4 key got 4 tasks for each of the weight-1 key's (within 4)" \
	test "$(awk '$5 > 0 && $6 > 0 { d = (40 - $5) - 4 * (40 - $6); if (d < -4 || d > 4) print }' "$s" | wc -l)" -eq 0
check "each activity ran once" eq "$(grep -c "^brief " "$DURABLE_LEDGER")" 250

# The same flood on a queue without limits, three workers polling freely:
# the poll's order alone serves the small tenant early.
u=prio-free-$RUN
schedule "$u" ufl-$RUN 400 '{"fairness_key": "flood"}'
schedule "$u" usm-$RUN 10 '{"fairness_key": "small"}'
drain "$u" "$LOGDIR/free" 8
check "the first sample saw the small tenant's 10 waiting" test "$(awk 'NR == 1 { print $4 }' "$LOGDIR/free")" = 10
flood_left=$(awk '$4 == 0 { print $3; exit }' "$LOGDIR/free")
check "the small tenant's last task left the queue while most of the flood waited ($flood_left of 400)" \
	test "${flood_left:-0}" -gt 200

# The SDK (examples/tenant_exports.c): the export sets its own key and
# weight and inherits the workflow's priority; the report child sets its
# own priority and inherits the key and weight.
e=exports-$RUN
worker exports --task-queue "$e" --plugin "$EX/tenant_exports.so"
sql "SELECT durable.start_workflow('export-$RUN', 'TenantExport', '$e', '{\"tenant\": \"acme\"}',
                                   '{\"fairness_key\": \"tenants\", \"priority\": 4}')" >/dev/null
check "the export workflow completed" wait_closed "export-$RUN"
check "it completed" eq "$(status_of "export-$RUN")" COMPLETED
check "the activity's event: its own key and weight, the workflow's priority" \
	eq "$(sql "SELECT h.attributes ->> 'fairness_key' || ' ' || (h.attributes ->> 'fairness_weight')::float8 || ' ' || (h.attributes ->> 'priority')
	             FROM durable.history h JOIN durable.workflows w USING (run_id)
	            WHERE w.workflow_id = 'export-$RUN' AND h.event_type = 'ActivityTaskScheduled'")" "acme 2 4"
check "the child: its own priority, the parent's key and weight" \
	eq "$(sql "SELECT priority || ' ' || fairness_key || ' ' || fairness_weight FROM durable.workflows
	            WHERE workflow_id = 'export-$RUN-report'")" "1 tenants 1"
finish
