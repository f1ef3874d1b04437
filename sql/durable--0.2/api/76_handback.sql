-- Hand-back: the next workflow tasks leased with an activity completion.
-- Each activity outcome a worker sends usually schedules a workflow task
-- for its run; without this, that task is committed SCHEDULED, announced,
-- and leased by the worker's next poll, in a transaction of its own. A
-- worker that completes activities and also polls the runs' workflow task
-- queue sends that queue and its free workflow slots with the outcomes:
-- after they are delivered, a poll of that queue, made in the same
-- transaction with those slots (and the worker's run cache and build id),
-- leases what it would lease at that moment, and the tasks come back with
-- the outcome rows, as poll_workflow_tasks returns them. The worker runs
-- them at once: no commit, notification and poll between the activity's
-- end and the workflow's next step.
--
-- The lease is poll_workflow_tasks' own, so nothing tells it from a polled
-- one: its fence and token, its timeout, its WorkflowTaskStarted event
-- (written after every outcome of the batch, with the worker's identity
-- and build id), the poller's record, the history sent (only the events
-- after those the worker holds), and every gate of a poll: a paused run's
-- task is not ready, a task of a higher priority or an earlier pass comes
-- first, a versioned queue gives a run's task only to its build
-- (api/60_build_ids.sql), and the caller must be granted the queue. A task
-- the poll does not take stays ready, announced, for any poller. The poll
-- runs only where the queue has a ready task, and takes at most the slots
-- offered. Tasks it leases are not announced (their NOTIFY would wake the
-- queue's pollers for nothing).

CREATE OR REPLACE FUNCTION durable.complete_activity_tasks_eager(
    outcomes jsonb, identity text, workflow_task_queue text, max_workflow_tasks integer,
    namespace text DEFAULT 'default', cached jsonb DEFAULT NULL, build_id text DEFAULT NULL,
    sticky text DEFAULT NULL)
RETURNS TABLE (kind text, task_token text, outcome text, error text, workflow_id text, run_id uuid,
               workflow_type text, attempt integer, started_event_id bigint, history jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- every argument is checked before any outcome is delivered: bad input
    -- changes nothing
    PERFORM durable._check_offer(max_workflow_tasks, 'max_workflow_tasks',
        'Pass the workflow tasks the worker can take now; 0 completes without taking any.',
        workflow_task_queue, identity, namespace);
    PERFORM durable._check_cached(cached);
    PERFORM durable._check_build_id(build_id);
    IF sticky IS NOT NULL THEN
        sticky := durable._check_name(sticky, 'sticky');
    END IF;
    -- (as complete_activity_tasks would, but before the mark below is set)
    IF outcomes IS NULL OR jsonb_typeof(outcomes) <> 'array' THEN
        PERFORM durable._bad_input('outcomes must be a JSON array',
            NULL, 'Pass e.g. ''[{"task_token": "a1.1", "result": 42}]''.');
    END IF;
    IF max_workflow_tasks = 0 THEN
        RETURN QUERY
        SELECT 'activity_task', c.task_token, c.outcome, c.error, NULL::text, NULL::uuid, NULL::text,
               NULL::integer, NULL::bigint, NULL::jsonb
          FROM durable.complete_activity_tasks(outcomes, complete_activity_tasks_eager.identity) c;
        RETURN;
    END IF;
    -- The workflow tasks the outcomes schedule on the queue are announced
    -- (NOTIFY) at the end, and only if some stay ready: a notification of
    -- tasks this transaction leases would only send the queue's pollers,
    -- this worker's included, to find nothing. The mark is the eager one
    -- (pgext/src/eager.c), under a key no activity queue has (a namespace
    -- has no "/"), so that nothing but this function can set it.
    -- It is cleared below, or, if the call fails inside a savepoint the
    -- caller rolls back to, with that savepoint (eager.c).
    PERFORM durable._eager_arm(namespace || '/workflow' || E'\x1f' || workflow_task_queue);
    RETURN QUERY
    SELECT 'activity_task', c.task_token, c.outcome, c.error, NULL::text, NULL::uuid, NULL::text, NULL::integer,
           NULL::bigint, NULL::jsonb
      FROM durable.complete_activity_tasks(outcomes, complete_activity_tasks_eager.identity) c;
    PERFORM durable._eager_arm(NULL);
    IF EXISTS (SELECT 1 FROM durable.workflow_tasks wt
                WHERE wt.namespace = complete_activity_tasks_eager.namespace
                  AND wt.task_queue = workflow_task_queue AND wt.state = 'SCHEDULED') THEN
        RETURN QUERY
        SELECT 'workflow_task', p.task_token, 'POLLED', NULL::text, p.workflow_id, p.run_id, p.workflow_type,
               p.attempt, p.started_event_id, p.history
          FROM durable.poll_workflow_tasks(workflow_task_queue, complete_activity_tasks_eager.identity,
                                           max_workflow_tasks, cached, complete_activity_tasks_eager.namespace,
                                           complete_activity_tasks_eager.build_id,
                                           complete_activity_tasks_eager.sticky) p;
        -- what the poll left (a gate, the slots): announced as it would have been
        IF EXISTS (SELECT 1 FROM durable.workflow_tasks wt
                    WHERE wt.namespace = complete_activity_tasks_eager.namespace
                      AND wt.task_queue = workflow_task_queue AND wt.state = 'SCHEDULED') THEN
            PERFORM durable._notify('workflow', complete_activity_tasks_eager.namespace, workflow_task_queue);
        END IF;
    END IF;
END
$$;

COMMENT ON FUNCTION durable.complete_activity_tasks_eager(jsonb, text, text, integer, text, jsonb, text, text) IS
    'complete_activity_tasks, and then, in the same transaction, up to max_workflow_tasks workflow tasks of '
    'workflow_task_queue leased to the calling worker as poll_workflow_tasks leases them (with its cached, '
    'build_id and sticky): those the outcomes made ready, and any ready before them. One row per outcome (kind activity_task), '
    'then one per workflow task (kind workflow_task, outcome POLLED, poll_workflow_tasks''s columns).';
GRANT EXECUTE ON FUNCTION durable.complete_activity_tasks_eager(jsonb, text, text, integer, text, jsonb, text, text)
    TO durable_worker;
