-- Which of the tables a run's close empties still hold a row of the run
-- (pgext/src/run_rows.c): bit 1 workflow_tasks, 2 activity_tasks, 4 timers,
-- 8 buffered_events, 16 workflow_pauses, 32 activity_pauses, 64 workflows
-- whose parent it is. One index probe per table instead of a statement per
-- table: _close_run (api/04_close.sql) runs only the deletes with rows to
-- delete (issue 15, docs/performance.md "The close, session 9"). A bit is
-- also set when the probe cannot tell (no index to read): the statement
-- then runs and finds out. Only the tables whose bits are in `tables` are
-- read: complete_workflow_task asks for the buffered events and the
-- workflow pause alone before it reads them with statements.
CREATE OR REPLACE FUNCTION durable._run_rows(run uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'durable_run_rows' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION durable._run_rows(uuid) IS
    'Which of the tables a close empties may hold a row of the run, as bits (internal: _close_run).';
CREATE OR REPLACE FUNCTION durable._run_rows(run uuid, tables integer) RETURNS integer
    AS 'MODULE_PATHNAME', 'durable_run_rows' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION durable._run_rows(uuid, integer) IS
    'Which of the given tables (bits) a close empties may hold a row of the run, as bits (internal: complete_workflow_task).';
