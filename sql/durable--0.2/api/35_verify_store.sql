-- durable.verify_store(): does the store agree with itself? Run it after a
-- restore or a failover (docs/operations.md, "Backup and restore"); the
-- backup test runs it on a dump taken under load. Each row is one
-- disagreement; none means tasks, timers, buffered events, sequences and
-- history agree. It reads every table: expect a full scan's time.
CREATE OR REPLACE FUNCTION durable.verify_store()
RETURNS TABLE (problem text, run_id uuid, detail text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    -- history: events 1..n without a gap, the first one the start
    SELECT 'history has a gap', h.run_id,
           format('%s events, ids %s..%s', count(*), min(h.event_id), max(h.event_id))
      FROM durable.history h GROUP BY h.run_id
    HAVING min(h.event_id) <> 1 OR max(h.event_id) <> count(*)
    UNION ALL
    SELECT 'run has no start event', w.run_id, w.workflow_id
      FROM durable.workflows w
     WHERE NOT EXISTS (SELECT 1 FROM durable.history h
                        WHERE h.run_id = w.run_id AND h.event_id = 1
                          AND h.event_type = 'WorkflowExecutionStarted')
    UNION ALL
    SELECT 'history without a run', h.run_id, format('%s events', count(*))
      FROM durable.history h
     WHERE NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.run_id = h.run_id)
     GROUP BY h.run_id
    UNION ALL
    -- a closed run ends with its close event, and a running one does not
    SELECT CASE WHEN w.status = 'RUNNING' THEN 'running run has a close event'
                ELSE 'closed run does not end with its close event' END,
           w.run_id, format('status %s, last event %s', w.status, last.event_type)
      FROM durable.workflows w
      JOIN LATERAL (SELECT h.event_type FROM durable.history h WHERE h.run_id = w.run_id
                     ORDER BY h.event_id DESC LIMIT 1) last ON true
     WHERE (w.status = 'RUNNING') = (last.event_type IN (
               'WorkflowExecutionCompleted', 'WorkflowExecutionFailed', 'WorkflowExecutionCanceled',
               'WorkflowExecutionTerminated', 'WorkflowExecutionTimedOut', 'WorkflowExecutionContinuedAsNew'))
       OR (w.status = 'RUNNING') <> (w.closed_at IS NULL)
    UNION ALL
    -- tasks, timers and buffered events belong to running runs
    SELECT 'workflow task of a run that is not running', t.run_id, format('task %s', t.task_id)
      FROM durable.workflow_tasks t
     WHERE NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.run_id = t.run_id AND w.status = 'RUNNING')
    UNION ALL
    SELECT 'activity task of a run that is not running', a.run_id, format('task %s', a.task_id)
      FROM durable.activity_tasks a
     WHERE NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.run_id = a.run_id AND w.status = 'RUNNING')
    UNION ALL
    SELECT 'timer of a run that is not running', t.run_id, format('timer %s', t.timer_id)
      FROM durable.timers t
     WHERE NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.run_id = t.run_id AND w.status = 'RUNNING')
    UNION ALL
    -- typed search attribute values (50_search_attributes.sql) belong to a run
    SELECT 'search attribute values without a run', v.run_id, v.namespace
      FROM durable.search_attribute_values v
     WHERE NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.run_id = v.run_id)
    UNION ALL
    -- events wait in buffered_events only while a workflow task runs, or
    -- while the run is paused (its task PAUSED)
    SELECT 'buffered event without a started workflow task', b.run_id, format('event %s (%s)', b.seq, b.event_type)
      FROM durable.buffered_events b
     WHERE NOT EXISTS (SELECT 1 FROM durable.workflow_tasks t
                        WHERE t.run_id = b.run_id AND t.state IN ('STARTED', 'PAUSED'))
    UNION ALL
    SELECT 'pause of a run that is not running', p.run_id, p.paused_by
      FROM durable.workflow_pauses p
     WHERE NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.run_id = p.run_id AND w.status = 'RUNNING')
    UNION ALL
    -- each task and timer points at its event in the history
    SELECT 'workflow task without its history event', t.run_id,
           format('task %s: scheduled %s, started %s', t.task_id, t.scheduled_event_id, t.started_event_id)
      FROM durable.workflow_tasks t
     WHERE (t.scheduled_event_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM durable.history h WHERE h.run_id = t.run_id
                   AND h.event_id = t.scheduled_event_id AND h.event_type = 'WorkflowTaskScheduled'))
        OR (t.started_event_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM durable.history h WHERE h.run_id = t.run_id
                   AND h.event_id = t.started_event_id AND h.event_type = 'WorkflowTaskStarted'))
    UNION ALL
    SELECT 'activity task without its scheduled event', a.run_id,
           format('task %s, scheduled event %s', a.task_id, a.scheduled_event_id)
      FROM durable.activity_tasks a
     WHERE NOT EXISTS (SELECT 1 FROM durable.history h WHERE h.run_id = a.run_id
                          AND h.event_id = a.scheduled_event_id AND h.event_type = 'ActivityTaskScheduled')
    UNION ALL
    SELECT 'activity task already closed in the history', a.run_id,
           format('task %s, scheduled event %s: %s', a.task_id, a.scheduled_event_id, h.event_type)
      FROM durable.activity_tasks a
      JOIN durable.history h ON h.run_id = a.run_id
       AND h.event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut', 'ActivityTaskCanceled')
       AND (h.attributes ->> 'scheduled_event_id')::bigint = a.scheduled_event_id
    UNION ALL
    SELECT 'timer without its started event', t.run_id,
           format('timer %s, started event %s', t.timer_id, t.started_event_id)
      FROM durable.timers t
     WHERE NOT EXISTS (SELECT 1 FROM durable.history h WHERE h.run_id = t.run_id
                          AND h.event_id = t.started_event_id AND h.event_type = 'TimerStarted'
                          AND h.attributes ->> 'timer_id' = t.timer_id)
    UNION ALL
    SELECT 'timer already fired or canceled in the history', t.run_id,
           format('timer %s: %s', t.timer_id, h.event_type)
      FROM durable.timers t
      JOIN durable.history h ON h.run_id = t.run_id AND h.event_type IN ('TimerFired', 'TimerCanceled')
       AND (h.attributes ->> 'started_event_id')::bigint = t.started_event_id
    UNION ALL
    -- a sequence behind its table would hand out an id that exists (after a bad restore)
    SELECT 'sequence behind its table', NULL::uuid, format('%s: last value %s, highest id %s', s.name, s.last, s.highest)
      FROM (SELECT 'workflow_tasks_task_id_seq' AS name,
                   (SELECT coalesce(last_value, 0) FROM pg_catalog.pg_sequences
                     WHERE schemaname = 'durable' AND sequencename = 'workflow_tasks_task_id_seq') AS last,
                   (SELECT coalesce(max(task_id), 0) FROM durable.workflow_tasks) AS highest
            UNION ALL
            SELECT 'activity_tasks_task_id_seq',
                   (SELECT coalesce(last_value, 0) FROM pg_catalog.pg_sequences
                     WHERE schemaname = 'durable' AND sequencename = 'activity_tasks_task_id_seq'),
                   (SELECT coalesce(max(task_id), 0) FROM durable.activity_tasks)
            UNION ALL
            SELECT 'buffered_events_seq_seq',
                   (SELECT coalesce(last_value, 0) FROM pg_catalog.pg_sequences
                     WHERE schemaname = 'durable' AND sequencename = 'buffered_events_seq_seq'),
                   (SELECT coalesce(max(seq), 0) FROM durable.buffered_events)) s
     WHERE s.last < s.highest
$$;
COMMENT ON FUNCTION durable.verify_store() IS
    'One row per disagreement between workflows, history, tasks, timers, buffered events and sequences; none when the store is consistent (run after a restore or a failover).';
GRANT EXECUTE ON FUNCTION durable.verify_store() TO durable_admin;
