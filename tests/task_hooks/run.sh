#!/usr/bin/env bash
# An extension that checks or audits permissions through the executor's
# ExecutorCheckPerms_hook (sepgsql, pgaudit's object audit) sees every
# workflow and activity task inserted, as it saw the INSERT statement's:
# durable._insert_workflow_task and _insert_activity_task write without the
# executor when they can (pgext/src/task_insert.c), and must take the
# statement when such a hook is installed. tests/hooks/perms_hook.c, built
# here and LOADed into one session, refuses INSERTs into workflow_tasks and
# activity_tasks: the insert is refused with its error and writes nothing; a
# session without it inserts. The same for a new run's row
# (durable._insert_run, pgext/src/run_insert.c): _insert_run and a start in
# that session are refused as the INSERT is. (As tests/append_hooks does for
# history appends.) Runs against the test cluster (scripts/test.sh); builds into
# $DURABLE_RUN_BASE.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
. "$top/tests/lib.sh"

build_perms_hook task_hooks
psql_t() { psql -qXAt "$@"; }

# a run whose workflow task is taken away, to be inserted again below
wid=task-hooks-$$
run=$(psql_t -c "SELECT durable.start_workflow('$wid', 'W', 'task-hooks-q')")
psql_t -c "DELETE FROM durable.workflow_tasks WHERE run_id = '$run'" >/dev/null
trap 'psql_t -c "SELECT durable.terminate_workflow('"'$wid'"')" >/dev/null 2>&1' EXIT
tasks() { psql_t -c "SELECT count(*) FROM durable.workflow_tasks WHERE run_id = '$run'"; }

by_function=$(hooked "SELECT durable._insert_workflow_task('$run', 'default', 'task-hooks-q', 1, 2, now())")
by_insert=$(hooked "INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
                    VALUES ('$run', 'default', 'task-hooks-q', 'SCHEDULED', 1, 2, now())")
check "with the hook, an INSERT into workflow_tasks is refused by it" \
    "grep -q 'perms_hook: an INSERT into workflow_tasks is refused' <<<\"\$by_insert\" && grep -q 42501 <<<\"\$by_insert\""
check "and _insert_workflow_task is refused as the INSERT is" "[ \"\$by_function\" = \"\$by_insert\" ]"
check "writing nothing" "[ \"\$(tasks)\" = 0 ]"
check "a session without the hook inserts" \
    "psql_t -c \"SELECT durable._insert_workflow_task('$run', 'default', 'task-hooks-q', 1, 2, now())\" >/dev/null && [ \"\$(tasks)\" = 1 ]"


activity="SELECT durable._insert_activity_task('$run', 'default', '$wid', 99, 'hooked', 'noop', 'task-hooks-aq',
              '1', now(), now(), NULL, NULL, '1 min', NULL, '1 s', 2, '100 s', 0, '{}', NULL, '', 3::smallint, 1)"
activities() { psql_t -c "SELECT count(*) FROM durable.activity_tasks WHERE run_id = '$run'"; }
by_function=$(hooked "$activity")
by_insert=$(hooked "INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
                        activity_type, task_queue, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
                        retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts)
                    VALUES ('$run', 'default', '$wid', 99, 'hooked', 'noop', 'task-hooks-aq', 'SCHEDULED', now(), now(),
                            '1 min', '1 s', 2, '100 s', 0)")
check "with the hook, an INSERT into activity_tasks is refused by it" \
    "grep -q 'perms_hook: an INSERT into activity_tasks is refused' <<<\"\$by_insert\" && grep -q 42501 <<<\"\$by_insert\""
check "and _insert_activity_task is refused as the INSERT is" "[ \"\$by_function\" = \"\$by_insert\" ]"
check "writing nothing" "[ \"\$(activities)\" = 0 ]"
check "a session without the hook inserts the activity task" \
    "psql_t -c \"\$activity\" >/dev/null && [ \"\$(activities)\" = 1 ]"

# a new run's row: _insert_run runs the statement, which the hook refuses
run_args="gen_random_uuid(), 'default', 'task-hooks-run-$$', 'W', 'task-hooks-q', NULL, '{}', '{}', gen_random_uuid(),
          NULL, NULL, NULL, NULL, 'TERMINATE', now(), now(), NULL, NULL, '10 s', NULL, NULL, NULL, 3::smallint, '', 1, 1, NULL"
runs() { psql_t -c "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'task-hooks-run-$$%'"; }
by_function=$(hooked "SELECT durable._insert_run($run_args)")
check "with the hook, _insert_run runs the statement, which the hook refuses" \
    "grep -q 'perms_hook: an INSERT into workflows is refused' <<<\"\$by_function\" && grep -q 42501 <<<\"\$by_function\""
by_start=$(hooked "SELECT durable.start_workflow('task-hooks-run-$$-2', 'W', 'task-hooks-q')")
check "and a start is refused by the hook, as _create_run's INSERT is" \
    "grep -q 'perms_hook: an INSERT into workflows is refused' <<<\"\$by_start\" && grep -q 42501 <<<\"\$by_start\""
check "writing no run" "[ \"\$(runs)\" = 0 ]"
check "a session without the hook writes the run" \
    "[ -n \"\$(psql_t -c \"SELECT durable._insert_run($run_args)\")\" ] && [ \"\$(runs)\" = 1 ]"
psql_t -c "DELETE FROM durable.workflows WHERE workflow_id LIKE 'task-hooks-run-$$%'" >/dev/null

summary task_hooks
