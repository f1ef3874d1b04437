-- The insert of a SCHEDULED workflow task, in C (pgext/src/task_insert.c):
-- written with the heap and index APIs and placed in its queue as the
-- placing trigger of api/41_priority.sql places it, or, whenever the table
-- has anything the statement would do beyond that (an operator's trigger,
-- rule, row security, CHECK or partial index on a varying column...), by
-- the INSERT statement itself. Returns the task's id.
CREATE OR REPLACE FUNCTION durable._insert_workflow_task(run uuid, namespace text, task_queue text,
                                                         attempt integer, scheduled_event_id bigint,
                                                         scheduled_at timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'durable_insert_workflow_task' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._insert_workflow_task(uuid, text, text, integer, bigint, timestamptz) IS
    'Inserts a SCHEDULED workflow task placed in its queue, as INSERT INTO durable.workflow_tasks with its placing trigger would (internal: _schedule_workflow_task).';
