-- A workflow task kept alive while its worker runs local activities: the
-- worker holds the task (it runs them in its own process, with no activity
-- task in the store), and extends the lease before the workflow task
-- timeout would hand the task to another worker. Nothing is written to the
-- history: what the local activities gave is recorded (MarkerRecorded
-- "LocalActivity") when the task completes; a worker that dies meanwhile
-- stops extending, the task times out as usual, and the next worker runs
-- the local activities again.
CREATE OR REPLACE FUNCTION durable.heartbeat_workflow_task(task_token text)
RETURNS timestamptz LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t durable.workflow_tasks;
    deadline timestamptz;
BEGIN
    t := durable._lock_workflow_task(task_token);
    UPDATE durable.workflow_tasks wt
       SET timeout_at = durable.now() + w.task_timeout
      FROM durable.workflows w
     WHERE wt.task_id = t.task_id AND w.run_id = t.run_id
    RETURNING wt.timeout_at INTO deadline;
    RETURN deadline;
END
$$;

COMMENT ON FUNCTION durable.heartbeat_workflow_task(text) IS
    'Extends a started workflow task''s lease by the workflow task timeout (the worker runs local activities meanwhile); returns the new deadline. DU004 when the lease is no longer held.';

GRANT EXECUTE ON FUNCTION durable.heartbeat_workflow_task(text) TO durable_worker;
