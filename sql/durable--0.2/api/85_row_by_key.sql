-- A run's or a workflow task's row by its primary key, one index probe
-- instead of a statement (pgext/src/row_by_key.c): each workflow task
-- completion read the task twice and the run once, each close the run
-- again, with `SELECT * INTO` (issue 15, docs/performance.md "The close,
-- session 9"). NULL when no row is visible, which an assignment takes as a
-- SELECT INTO that found nothing; read by the statement where a direct read
-- would not see what it sees (row security, rights).
CREATE OR REPLACE FUNCTION durable._workflow_row(run uuid) RETURNS durable.workflows
    AS 'MODULE_PATHNAME', 'durable_workflow_row' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION durable._workflow_row(uuid) IS
    'The run''s row, by its primary key (internal: _close_run, complete_workflow_task).';
CREATE OR REPLACE FUNCTION durable._workflow_task_row(task_id bigint) RETURNS durable.workflow_tasks
    AS 'MODULE_PATHNAME', 'durable_workflow_task_row' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION durable._workflow_task_row(bigint) IS
    'The workflow task''s row, by its primary key (internal: _lock_workflow_task).';

-- The run's row locked as `SELECT 1 FROM durable.workflows WHERE run_id =
-- run FOR UPDATE` locks it, without the executor (pgext/src/run_lock.c):
-- the run's lock of every workflow task completion and activity result.
-- Whether the row was found (and locked); by the statement where row
-- security or rights need it.
CREATE OR REPLACE FUNCTION durable._lock_run(run uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'durable_lock_run' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION durable._lock_run(uuid) IS
    'Locks the run''s row FOR UPDATE; whether it was found (internal: _lock_workflow_task, _complete_activity_result).';
