-- How long a leased task waited ready before its poll took it (Temporal's
-- schedule-to-start latency), by the token the poll handed out. A worker
-- asks it of what a backstop poll finds (worker.c): a task that was ready
-- for only a moment may have its NOTIFY still on the way (PostgreSQL
-- signals listeners only after the commit is visible), and is no evidence
-- of a lost wake-up; one ready for seconds is.
--
-- Measured in the store's clock, from when this attempt was offered to
-- pollers (activity_tasks.attempt_scheduled_at, workflow_tasks.scheduled_at)
-- to when the poll leased it (started_at). NULL once the token no longer
-- holds the lease: the poll's answer is then all there was to know.
CREATE OR REPLACE FUNCTION durable.task_schedule_to_start(task_token text) RETURNS interval
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind text := left(task_token, 1);
    tok record;
    ns text;
    queue text;
    fence bigint;
    state text;
    waited interval;
BEGIN
    -- _parse_token refuses anything else, as an activity token's error
    tok := durable._parse_token(task_token, CASE WHEN kind = 'w' THEN 'w' ELSE 'a' END);
    IF kind = 'w' THEN
        SELECT t.namespace, t.task_queue, t.fence, t.state, t.started_at - t.scheduled_at
          INTO ns, queue, fence, state, waited
          FROM durable.workflow_tasks t WHERE t.task_id = tok.task_id;
    ELSE
        SELECT t.namespace, t.task_queue, t.fence, t.state, t.started_at - t.attempt_scheduled_at
          INTO ns, queue, fence, state, waited
          FROM durable.activity_tasks t WHERE t.task_id = tok.task_id;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM durable._authorize('worker', queue, ns);
    IF fence <> tok.fence OR state <> 'STARTED' THEN
        RETURN NULL;
    END IF;
    RETURN waited;
END
$$;
COMMENT ON FUNCTION durable.task_schedule_to_start(text) IS
    'How long the task leased with this token waited ready (its attempt offered to pollers) before the poll took it; NULL once the token no longer holds the lease.';
GRANT EXECUTE ON FUNCTION durable.task_schedule_to_start(text) TO durable_worker;
