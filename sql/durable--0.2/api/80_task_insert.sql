-- The inserts of a SCHEDULED workflow task and activity task, in C
-- (pgext/src/task_insert.c):
-- written with the heap and index APIs and placed in its queue as the
-- placing trigger of api/41_priority.sql places it, or, whenever the table
-- has anything the statement would do beyond that (an operator's trigger,
-- rule, row security, CHECK or partial index on a varying column...), by
-- the INSERT statement itself, as its caller ran it: the workflow task's
-- without RETURNING (which an operator's rule, row security or column grant
-- may refuse), the activity task's with it. Returns the task's id; null for
-- a workflow task the statement wrote, or a task an operator's trigger kept
-- out of the table (no error, as before).
CREATE OR REPLACE FUNCTION durable._insert_workflow_task(run uuid, namespace text, task_queue text,
                                                         attempt integer, scheduled_event_id bigint,
                                                         scheduled_at timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'durable_insert_workflow_task' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._insert_workflow_task(uuid, text, text, integer, bigint, timestamptz) IS
    'Inserts a SCHEDULED workflow task placed in its queue, as INSERT INTO durable.workflow_tasks with its placing trigger would (internal: _schedule_workflow_task).';

-- The same for the SCHEDULED activity task of a ScheduleActivityTask
-- command (_cmd_schedule_activity; an eager one, inserted STARTED, is
-- _insert_activity_task_leased's, below): the columns that INSERT gives, but for its constants (state
-- 'SCHEDULED', fence 0, no identity or start, pass -1: placed).
CREATE OR REPLACE FUNCTION durable._insert_activity_task(
    run_id uuid, namespace text, workflow_id text, scheduled_event_id bigint, activity_id text,
    activity_type text, task_queue text, input jsonb, scheduled_at timestamptz, attempt_scheduled_at timestamptz,
    schedule_to_close_timeout interval, schedule_to_start_timeout interval, start_to_close_timeout interval,
    heartbeat_timeout interval, retry_initial_interval interval, retry_backoff_coefficient float8,
    retry_maximum_interval interval, retry_maximum_attempts integer, non_retryable_error_types text[],
    timeout_at timestamptz, fairness_key text, priority smallint, fairness_weight float8)
    RETURNS bigint AS 'MODULE_PATHNAME', 'durable_insert_activity_task' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._insert_activity_task(uuid, text, text, bigint, text, text, text, jsonb, timestamptz,
    timestamptz, interval, interval, interval, interval, interval, float8, interval, integer, text[], timestamptz,
    text, smallint, float8) IS
    'Inserts a SCHEDULED activity task placed in its queue, as INSERT INTO durable.activity_tasks with its placing trigger would (internal: _cmd_schedule_activity).';

-- The hand-back's workflow task (api/76_handback.sql, _handback_take):
-- STARTED, leased to its worker (fence 1, attempt 1), with the task id and
-- the place its poll would have given it; as its INSERT statement (a pass
-- >= 0 is left as given by the placing trigger).
CREATE OR REPLACE FUNCTION durable._insert_workflow_task_leased(
    task_id bigint, run uuid, namespace text, task_queue text, scheduled_event_id bigint, started_event_id bigint,
    identity text, scheduled_at timestamptz, started_at timestamptz, timeout_at timestamptz, priority smallint,
    fairness_key text, pass float8, build_id text)
    RETURNS bigint AS 'MODULE_PATHNAME', 'durable_insert_workflow_task_leased' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._insert_workflow_task_leased(bigint, uuid, text, text, bigint, bigint, text, timestamptz,
    timestamptz, timestamptz, smallint, text, float8, text) IS
    'Inserts a STARTED workflow task leased to the worker of a hand-back, as its INSERT INTO durable.workflow_tasks would (internal: _handback_take).';

-- The eager activity task (api/72_eager.sql, _cmd_schedule_activity):
-- STARTED, leased to the worker completing its workflow task (fence 1, its
-- identity, started_at), at pass 0; as its INSERT ... RETURNING task_id.
CREATE OR REPLACE FUNCTION durable._insert_activity_task_leased(
    run_id uuid, namespace text, workflow_id text, scheduled_event_id bigint, activity_id text,
    activity_type text, task_queue text, input jsonb, identity text, scheduled_at timestamptz,
    attempt_scheduled_at timestamptz, started_at timestamptz,
    schedule_to_close_timeout interval, schedule_to_start_timeout interval, start_to_close_timeout interval,
    heartbeat_timeout interval, retry_initial_interval interval, retry_backoff_coefficient float8,
    retry_maximum_interval interval, retry_maximum_attempts integer, non_retryable_error_types text[],
    timeout_at timestamptz, fairness_key text, priority smallint, fairness_weight float8)
    RETURNS bigint AS 'MODULE_PATHNAME', 'durable_insert_activity_task_leased' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._insert_activity_task_leased(uuid, text, text, bigint, text, text, text, jsonb, text,
    timestamptz, timestamptz, timestamptz, interval, interval, interval, interval, interval, float8, interval, integer,
    text[], timestamptz, text, smallint, float8) IS
    'Inserts an eager activity task STARTED, leased to its worker, as its INSERT INTO durable.activity_tasks would (internal: _cmd_schedule_activity).';
