-- The common item of complete_activity_tasks (api/07_activity_tasks.sql): a
-- result for a started task. The general path takes it through
-- _try_lock_activity_task, _finish_activity, _slot_freed,
-- _drop_activity_task, _deliver_activity_outcome and _deliver: some sixteen
-- statements, each with its executor set up and torn down, several of them
-- calls of plpgsql functions that read the same rows again. This does the
-- same work in three: the run's lock; the task's delete, which is also the
-- lease's check (fence and state) and says whether its queue has limits,
-- whether it was paused, and the state of the run's workflow task (read in
-- the delete's snapshot, taken after the lock: its state cannot change
-- under the run's lock, which a lease takes, and so does every change of a
-- started or paused task); and the buffered events' insert, or the appends
-- and the workflow task's notification or schedule (calls in expressions,
-- no statements). The rows, events, attributes and notifications are the
-- general path's, in its order (pgTAP 77_activity_result: a twin completed
-- through complete_activity_task has the same history and rows).
--
-- run and task come from the caller's look-up of the token's task id; a
-- task gone meanwhile, a fence no longer held or a task not STARTED is
-- LEASE_LOST, as _try_lock_activity_task says. identity is checked as
-- _finish_activity checks it: only once the lease is known to be held.
CREATE OR REPLACE FUNCTION durable._complete_activity_result(run uuid, task bigint, token text,
                                                             result jsonb, identity text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    a record;
    started_attrs jsonb;
    attrs jsonb;
    started_event bigint;
    called text;   -- helpers called as assignments (sql/README.md, "Calls")
BEGIN
    called := durable._lock_run(run)::text;   -- FOR UPDATE, without the executor (api/85_row_by_key.sql)
    DELETE FROM durable.activity_tasks t
     WHERE t.task_id = task AND t.fence = split_part(token, '.', 2)::bigint AND t.state = 'STARTED'
    RETURNING t.namespace, t.task_queue, t.scheduled_event_id, t.identity, t.attempt, t.last_failure,
              EXISTS (SELECT 1 FROM durable.task_queue_limits l                 -- _slot_freed
                       WHERE l.namespace = t.namespace AND l.task_queue = t.task_queue) AS limited,
              EXISTS (SELECT 1 FROM durable.activity_pauses p                   -- _drop_activity_task
                       WHERE p.run_id = t.run_id AND p.scheduled_event_id = t.scheduled_event_id) AS paused,
              (SELECT ARRAY[x.state, x.namespace, x.task_queue] FROM durable.workflow_tasks x   -- _deliver
                WHERE x.run_id = t.run_id) AS wt
      INTO a;
    IF NOT FOUND THEN
        RETURN 'LEASE_LOST';
    END IF;
    IF octet_length(identity) > 255 THEN
        PERFORM durable._check_name(identity, 'identity');
    END IF;
    IF a.limited THEN
        PERFORM durable._notify('activity', a.namespace, a.task_queue);
    END IF;
    IF a.paused THEN
        DELETE FROM durable.activity_pauses p WHERE p.run_id = run AND p.scheduled_event_id = a.scheduled_event_id;
    END IF;
    -- _deliver_activity_outcome's two events, and _deliver's handling of each
    started_attrs := jsonb_build_object('scheduled_event_id', a.scheduled_event_id, 'identity', a.identity,
                                        'attempt', a.attempt, 'last_failure', a.last_failure);
    attrs := jsonb_build_object('scheduled_event_id', a.scheduled_event_id, 'result', result,
                                'identity', coalesce(identity, a.identity));
    IF a.wt[1] IN ('STARTED', 'PAUSED') THEN
        INSERT INTO durable.buffered_events (run_id, event_type, event_time, attributes)
        VALUES (run, 'ActivityTaskStarted', durable._run_now(run), started_attrs),
               (run, 'ActivityTaskCompleted', durable._run_now(run),
                attrs || jsonb_build_object('started_event_id', NULL));
        RETURN 'COMPLETED';
    END IF;
    started_event := durable._append(run, 'ActivityTaskStarted', started_attrs);
    started_event := durable._append(run, 'ActivityTaskCompleted',
                                     attrs || jsonb_build_object('started_event_id', started_event));
    IF a.wt IS NULL THEN
        called := durable._schedule_workflow_task(run)::text;
    ELSIF a.wt[1] = 'SCHEDULED' THEN
        -- A poller may have skipped this task while we held the run locked.
        called := durable._notify('workflow', a.wt[2], a.wt[3])::text;
    END IF;
    RETURN 'COMPLETED';
END
$$;
COMMENT ON FUNCTION durable._complete_activity_result(uuid, bigint, text, jsonb, text) IS
    'Delivers a result for a started activity task as complete_activity_task would, in fewer statements; LEASE_LOST when the token no longer holds the lease (internal: complete_activity_tasks).';
