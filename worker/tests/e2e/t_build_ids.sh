# Worker versioning by build id, with real worker processes and code that
# does not replay the other build's histories (tests/plugins/versioned.c: v2
# changes TwoSteps' first activity without durable_get_version).
# A rolling deploy: v1 workflows wait on their timer; the queue's default
# moves to v2 (PINNED); a v2 worker takes the new workflows while the v1
# worker drains the old ones, and no workflow task fails. Then AUTO_UPGRADE:
# running v1 workflows move to a compatible v4 worker and finish there.
. "$(dirname "$0")/lib.sh"
P=$WORKER_DIR/build/tests
q=builds-$RUN
hist() { sql "SELECT $1 FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '$2' AND w.task_queue = '$q'${3:+ AND $3}"; }
# the SQL counting the workflows (ids LIKE $1) that wait on their timer
waiting() { echo "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '$1' AND w.task_queue = '$q'"; }
start() { for i in $(seq 1 "$2"); do sql "SELECT durable.start_workflow('$1-$RUN-$i', 'TwoSteps', '$q', '\"$1-$i\"')" >/dev/null; done; }

# v1 --------------------------------------------------------------------------
sql "SELECT durable.set_build_id_rules('$q', 'v1')" >/dev/null
worker v1 --task-queue "$q" --plugin "$P/versioned-v1.so" --build-id v1; V1=$LAST_PID
start old 4
check "four v1 workflows wait on their timer" wait_sql "$(waiting 'old-%')" 4
check "each on build v1" eq "$(sql "SELECT string_agg(DISTINCT build_id, ',') FROM durable.workflows WHERE task_queue = '$q'")" v1

# the deploy: new workflows to v2, running ones stay on v1 ----------------------
sql "SELECT durable.set_build_id_rules('$q', 'v2', 'PINNED')" >/dev/null
worker v2 --task-queue "$q" --plugin "$P/versioned-v2.so" --build-id v2
start new 4
check "four new workflows wait on their timer" wait_sql "$(waiting 'new-%')" 4
check "on build v2" eq "$(sql "SELECT string_agg(DISTINCT build_id, ',') FROM durable.workflows WHERE workflow_id LIKE 'new-%' AND task_queue = '$q'")" v2
check "having run v2's first activity" eq "$(hist "count(*)" 'new-%' "h.event_type = 'ActivityTaskScheduled' AND h.attributes ->> 'activity_type' = 'prepare_v2'")" 4
check "the v1 ones are still on v1" eq "$(sql "SELECT string_agg(DISTINCT build_id, ',') FROM durable.workflows WHERE workflow_id LIKE 'old-%' AND task_queue = '$q'")" v1
check "list_build_id_rules counts them per build" eq "$(sql "SELECT running FROM durable.list_build_id_rules() WHERE task_queue = '$q'")" '{"v1": 4, "v2": 4}'
# a query of a pinned run waits for a worker of its build: with v1 stopped the
# v2 worker (which cannot replay it) leaves it alone; a v1 worker answers it
# (TwoSteps has no query handler: it answers "unknown query type")
stop_worker "$V1"
msg=$(psql -qXAt -c "SELECT durable.query_workflow('old-$RUN-1', 'nothing', timeout_ms => 3000)" 2>&1)
check "without a v1 worker a query of a v1 run is taken by none ($msg)" grep -q "timed out" <<<"$msg"
worker v1 --task-queue "$q" --plugin "$P/versioned-v1.so" --build-id v1; V1=$LAST_PID
msg=$(psql -qXAt -c "SELECT durable.query_workflow('old-$RUN-1', 'nothing', timeout_ms => 30000)" 2>&1)
check "a v1 worker answers it ($msg)" grep -q 'unknown query type "nothing"' <<<"$msg"
sql "SELECT durable.skip_time('61 seconds')" >/dev/null
check "every workflow completes" wait_closed old-$RUN-{1,2,3,4} new-$RUN-{1,2,3,4}
check "all eight COMPLETED" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$q' AND status = 'COMPLETED'")" 8
check "no workflow task failed (no non-determinism)" eq "$(hist "count(*)" '%' "h.event_type = 'WorkflowTaskFailed'")" 0
check "every task of a v1 workflow ran on v1" eq "$(hist "string_agg(DISTINCT h.attributes ->> 'build_id', ',')" 'old-%' "h.event_type = 'WorkflowTaskCompleted'")" v1
check "every task of a new one on v2" eq "$(hist "string_agg(DISTINCT h.attributes ->> 'build_id', ',')" 'new-%' "h.event_type = 'WorkflowTaskCompleted'")" v2
check "v1 has drained" eq "$(sql "SELECT running FROM durable.list_build_id_rules() WHERE task_queue = '$q'")" '{}'
stop_worker "$V1"
stop_workers

# AUTO_UPGRADE: running workflows move to the newest build ------------------------
sql "SELECT durable.set_build_id_rules('$q', 'v1', 'PINNED')" >/dev/null
worker v1b --task-queue "$q" --plugin "$P/versioned-v1.so" --build-id v1; V1=$LAST_PID
start up 3
check "three v1 workflows wait on their timer" wait_sql "$(waiting 'up-%')" 3
worker v4 --task-queue "$q" --plugin "$P/versioned-v4.so" --build-id v4
sql "SELECT durable.set_build_id_rules('$q', 'v4', 'AUTO_UPGRADE')" >/dev/null
stop_worker "$V1"
sql "SELECT durable.skip_time('61 seconds')" >/dev/null
check "they complete without their v1 worker" wait_closed up-$RUN-{1,2,3}
check "as COMPLETED" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'up-%' AND task_queue = '$q' AND status = 'COMPLETED'")" 3
check "their last tasks ran on v4" eq "$(hist "string_agg(DISTINCT h.attributes ->> 'build_id', ',' ORDER BY h.attributes ->> 'build_id')" 'up-%' "h.event_type = 'WorkflowTaskCompleted'")" v1,v4
check "and the runs moved to v4" eq "$(sql "SELECT string_agg(DISTINCT build_id, ',') FROM durable.workflows WHERE workflow_id LIKE 'up-%' AND task_queue = '$q'")" v4
check "no workflow task failed" eq "$(hist "count(*)" 'up-%' "h.event_type = 'WorkflowTaskFailed'")" 0
sql "SELECT durable.set_build_id_rules('$q', NULL)" >/dev/null
finish
