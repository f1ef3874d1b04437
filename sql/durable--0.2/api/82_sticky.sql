-- Sticky histories (pgext/src/sticky.c): a worker process that names
-- itself in poll_workflow_tasks' `sticky` is sent, for a run whose last
-- history the store sent it, only the events after those; any other poller
-- gets the whole history. The store's mark is a hint: a worker sent events
-- that do not continue what it holds (it let the run go, or the mark
-- outlived a rolled-back poll) asks for the whole history with
-- workflow_task_history and replays.

-- _history_json(run, from_event), where from_event 0 becomes the mark the
-- worker named sticky left on run; then marks run as sent to that worker,
-- up to the last event sent. A null sticky: _history_json alone.
CREATE OR REPLACE FUNCTION durable._history_json_sticky(run uuid, from_event bigint, sticky text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'durable_history_json_sticky' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._history_json_sticky(uuid, bigint, text) IS
    'The events of run after from_event (0: after the mark the worker named sticky left on run, if any), as poll_workflow_tasks sends them; marks run as sent to that worker (internal: poll_workflow_tasks).';

CREATE OR REPLACE FUNCTION durable.workflow_task_history(task_token text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t durable.workflow_tasks;
BEGIN
    t := durable._lock_workflow_task(task_token);
    RETURN durable._history_json(t.run_id, 0);
END
$$;
COMMENT ON FUNCTION durable.workflow_task_history(text) IS
    'The whole history of a started workflow task''s run, as poll_workflow_tasks sends it, for a worker that was sent only the newest events (sticky) and no longer holds the ones before. DU004 when the lease is no longer held.';
GRANT EXECUTE ON FUNCTION durable.workflow_task_history(text) TO durable_worker;
