#!/usr/bin/env bash
# History appends decode as the INSERT statement's did: _append writes the row
# with heap_insert (pgext/src/history_append.c), and logical decoding (a
# publication, a CDC tool reading the history) must see every event, with
# every column, exactly as it saw the executor's insert. On a cluster of its
# own at wal_level = logical, with test_decoding: the same events written
# once by _append_at and once through durable.history's INSERT trigger (the
# SQL path), into the same run, decode to the same INSERT lines; a value
# stored out of line is decoded whole.
# Runs under $DURABLE_RUN_BASE with a cluster of its own (scripts/test.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
. "$top/tests/lib.sh"

suite_cluster decoding decoding
trap 'psql_d -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null 2>&1; cluster stop' EXIT
psql_d() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
psql_d -c "ALTER SYSTEM SET wal_level = logical" >/dev/null
cluster stop && cluster start || { echo "decoding: the cluster did not restart"; exit 1; }
check "the cluster runs at wal_level = logical" '[ "$(psql_d -c "SHOW wal_level")" = logical ]'
psql_d -c "SELECT 1 FROM pg_create_logical_replication_slot('appendc', 'test_decoding')" >/dev/null

run=00000000-0000-0000-0000-0000000000dc
events="(VALUES (1, 'WorkflowTaskStarted', '{\"identity\": \"vm:1\", \"scheduled_event_id\": 2}'::jsonb),
                (2, 'ActivityTaskScheduled', '{\"input\": 1, \"attempt\": 1, \"activity_id\": \"1\", \"task_queue\": \"q\", \"retry_policy\": null, \"activity_type\": \"noop\", \"start_to_close_timeout\": 600, \"workflow_task_completed_event_id\": 4}'),
                (3, 'SomethingNew', '{\"x\": null}'),
                (4, 'ActivityTaskCompleted', jsonb_build_object('result', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 600) i))))
         AS e(n, event_type, attributes)"
at="'2026-01-02 03:04:05.678901+00'::timestamptz + e.n * interval '1 ms'"
# the INSERT lines of the changes since the last call
inserts() {
    psql_d -c "SELECT data FROM pg_logical_slot_get_changes('appendc', NULL, NULL, 'include-xids', '0')
                WHERE data LIKE 'table durable.history_rows: INSERT:%'"
}
inserts >/dev/null

psql_d -c "SELECT count(durable._append_at('$run', e.event_type, e.attributes, $at)) FROM (SELECT * FROM $events ORDER BY n) e" >/dev/null
by_c=$(inserts)
psql_d -c "DELETE FROM durable.history_rows WHERE run_id = '$run'" >/dev/null
psql_d -c "INSERT INTO durable.history (run_id, event_id, event_type, event_time, attributes)
           SELECT '$run', e.n, e.event_type, $at, e.attributes FROM $events" >/dev/null
by_sql=$(inserts)

check "every append decodes as an INSERT of history_rows" '[ "$(echo "$by_c" | grep -c .)" = 4 ]'
check "with each column: run, id, code, time, packed attributes" \
    'echo "$by_c" | head -1 | grep -q "run_id\[uuid\]:'"'"'$run'"'"' event_id\[bigint\]:1 event_code\[smallint\]:3 event_time\[timestamp with time zone\]:'"'"'2026-01-02 .* attributes_packed\[jsonb\]:"'
check "the value stored out of line is decoded whole" \
    '[ "$(echo "$by_c" | tail -1 | wc -c)" -gt 19000 ]'
check "the appends decode exactly as the SQL path's INSERTs" '[ "$by_c" = "$by_sql" ]'
[ "$by_c" = "$by_sql" ] || diff <(echo "$by_c" | cut -c1-300) <(echo "$by_sql" | cut -c1-300)

# Workflow tasks decode as the INSERT statement's did too: _insert_workflow_task
# writes the row with heap_insert (pgext/src/task_insert.c). The same task,
# written once by it and once by the statement _schedule_workflow_task ran
# (the run's task deleted between), decodes to the same INSERT line but for
# its task id; a task queue stored out of line is decoded whole.
task_run=00000000-0000-0000-0000-0000000000dd
queue="dq-$(psql_d -c "SELECT string_agg(md5(i::text), '') FROM generate_series(1, 70) i")"
psql_d -c "INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, status,
                                          first_run_id, execution_started_at, started_at, priority, fairness_key)
           VALUES ('$task_run', 'default', 'decoding-task', 'W', '$queue', 'RUNNING', '$task_run', now(), now(), 2, 'k')" >/dev/null
task_inserts() {
    psql_d -c "SELECT regexp_replace(data, 'task_id\[bigint\]:[0-9]+', 'task_id[bigint]:N')
                 FROM pg_logical_slot_get_changes('appendc', NULL, NULL, 'include-xids', '0')
                WHERE data LIKE 'table durable.workflow_tasks: INSERT:%'"
}
task_inserts >/dev/null
psql_d -c "SELECT durable._insert_workflow_task('$task_run', 'default', '$queue', 1, 2, '2026-01-02 03:04:05+00')" >/dev/null
task_by_c=$(task_inserts)
psql_d -c "DELETE FROM durable.workflow_tasks WHERE run_id = '$task_run'" >/dev/null
psql_d -c "INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
           VALUES ('$task_run', 'default', '$queue', 'SCHEDULED', 1, 2, '2026-01-02 03:04:05+00')" >/dev/null
task_by_sql=$(task_inserts)
check "a workflow task written directly decodes as one INSERT of workflow_tasks" \
    '[ "$(echo "$task_by_c" | grep -c .)" = 1 ]'
check "with its queue stored out of line decoded whole, and its placing" \
    'echo "$task_by_c" | grep -q "task_queue\[text\]:'"'"'$queue'"'"' .*priority\[smallint\]:2 fairness_key\[text\]:'"'"'k'"'"' pass\[double precision\]:0"'
check "exactly as the statement's INSERT (but for the task id)" '[ "$task_by_c" = "$task_by_sql" ]'
[ "$task_by_c" = "$task_by_sql" ] || diff <(echo "$task_by_c" | cut -c1-300) <(echo "$task_by_sql" | cut -c1-300)

# Runs decode as the INSERT statement's did too: _insert_run writes the row
# speculatively with heap_insert and confirms it (pgext/src/run_insert.c), as
# the executor's INSERT ... ON CONFLICT does. The same run, written once by it
# and once by the statement _create_run runs (the first deleted between),
# decodes to the same INSERT line; an input stored out of line is decoded whole.
run_row=00000000-0000-0000-0000-0000000000de
big="(SELECT jsonb_build_object('in', string_agg(md5(i::text), '')) FROM generate_series(1, 600) i)"
run_values="'$run_row', 'default', 'decoding-run', 'W', 'dq', $big, '{\"m\": 1}', '{}', '$run_row', NULL, NULL, NULL,
            NULL, 'TERMINATE', '2026-01-02 03:04:05+00', '2026-01-02 03:04:06+00', '1 hour', NULL, '10 s',
            '2026-01-02 04:04:05+00', 'req', NULL, 2::smallint, 'k', 1.5, 1, NULL"
run_inserts() {
    psql_d -c "SELECT data FROM pg_logical_slot_get_changes('appendc', NULL, NULL, 'include-xids', '0')
                WHERE data LIKE 'table durable.workflows: INSERT:%'"
}
run_inserts >/dev/null
check "the run is written directly" \
    '[ "$(psql_d -c "SELECT durable._insert_run($run_values)")" = t ]'
run_by_c=$(run_inserts)
psql_d -c "DELETE FROM durable.workflows WHERE run_id = '$run_row'" >/dev/null
psql_d -c "INSERT INTO durable.workflows AS w (run_id, namespace, workflow_id, workflow_type, task_queue, input,
               memo, search_attributes, first_run_id, continued_from_run_id, parent_run_id, parent_workflow_id,
               parent_initiated_event_id, parent_close_policy, execution_started_at, started_at,
               execution_timeout, run_timeout, task_timeout, deadline_at, request_id, start_delay,
               priority, fairness_key, fairness_weight, attempt, retry_policy)
           VALUES ($run_values)
           ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING RETURNING w.run_id" >/dev/null
run_by_sql=$(run_inserts)
check "a run written directly decodes as one INSERT of workflows" '[ "$(echo "$run_by_c" | grep -c .)" = 1 ]'
check "with its status's default and its input stored out of line decoded whole" \
    'echo "$run_by_c" | grep -q "status\[text\]:'"'"'RUNNING'"'"'" && [ "$(echo "$run_by_c" | wc -c)" -gt 19000 ]'
check "exactly as the statement's INSERT" '[ "$run_by_c" = "$run_by_sql" ]'
[ "$run_by_c" = "$run_by_sql" ] || diff <(echo "$run_by_c" | cut -c1-300) <(echo "$run_by_sql" | cut -c1-300)

summary decoding
