-- Reset: start a new run of a workflow from an earlier point of one of its
-- runs, as Temporal's ResetWorkflowExecution does. The new run's history is
-- the old one up to the WorkflowTaskStarted of the chosen workflow task,
-- then WorkflowTaskFailed (cause RESET_WORKFLOW), then the signals the old
-- run received after that point, then a new workflow task: the workflow
-- replays to the reset point and decides again from there. A running old
-- run is terminated. Typical use: a bug made a workflow take a wrong turn;
-- deploy the fix and reset to the last good workflow task.

-- Pending activities and timers of the new run, rebuilt from its copied
-- history: what was scheduled or started before the point and had no outcome.
CREATE OR REPLACE FUNCTION durable._reset_rebuild(w durable.workflows) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    attrs jsonb;
    rp jsonb;
    now timestamptz := durable.now();
BEGIN
    FOR e IN SELECT h.event_id, h.attributes FROM durable.history h
              WHERE h.run_id = w.run_id AND h.event_type = 'ActivityTaskScheduled'
                AND NOT EXISTS (SELECT 1 FROM durable.history o
                                 WHERE o.run_id = w.run_id
                                   AND o.event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed',
                                                        'ActivityTaskTimedOut', 'ActivityTaskCanceled')
                                   AND (o.attributes ->> 'scheduled_event_id')::bigint = h.event_id)
              ORDER BY h.event_id LOOP
        attrs := e.attributes;
        rp := attrs -> 'retry_policy';
        INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
            activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at,
            schedule_to_close_timeout, schedule_to_start_timeout, start_to_close_timeout, heartbeat_timeout,
            retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts,
            non_retryable_error_types, timeout_at, fairness_key, priority, fairness_weight)
        VALUES (w.run_id, w.namespace, w.workflow_id, e.event_id, attrs ->> 'activity_id', attrs ->> 'activity_type',
            attrs ->> 'task_queue', attrs -> 'input', 'SCHEDULED', now, now,
            make_interval(secs => (attrs ->> 'schedule_to_close_timeout')::float8),
            make_interval(secs => (attrs ->> 'schedule_to_start_timeout')::float8),
            make_interval(secs => (attrs ->> 'start_to_close_timeout')::float8),
            make_interval(secs => (attrs ->> 'heartbeat_timeout')::float8),
            make_interval(secs => (rp ->> 'initial_interval')::float8), (rp ->> 'backoff_coefficient')::float8,
            make_interval(secs => (rp ->> 'maximum_interval')::float8), (rp ->> 'maximum_attempts')::integer,
            ARRAY(SELECT jsonb_array_elements_text(rp -> 'non_retryable_error_types')),
            least(now + make_interval(secs => (attrs ->> 'schedule_to_start_timeout')::float8),
                  now + make_interval(secs => (attrs ->> 'schedule_to_close_timeout')::float8)),
            coalesce(attrs ->> 'fairness_key', ''), coalesce((attrs ->> 'priority')::smallint, 3),
            coalesce((attrs ->> 'fairness_weight')::float8, 1));
        PERFORM durable._notify('activity', w.namespace, attrs ->> 'task_queue');
    END LOOP;

    -- a timer keeps its original due time (and fires at once if that passed)
    INSERT INTO durable.timers (run_id, timer_id, started_event_id, fire_at)
    SELECT w.run_id, h.attributes ->> 'timer_id', h.event_id,
           h.event_time + make_interval(secs => (h.attributes ->> 'start_to_fire_timeout')::float8)
      FROM durable.history h
     WHERE h.run_id = w.run_id AND h.event_type = 'TimerStarted'
       AND NOT EXISTS (SELECT 1 FROM durable.history o
                        WHERE o.run_id = w.run_id AND o.event_type IN ('TimerFired', 'TimerCanceled')
                          AND (o.attributes ->> 'started_event_id')::bigint = h.event_id);
    PERFORM durable._wake_at(min(fire_at)) FROM durable.timers t WHERE t.run_id = w.run_id;
END
$$;

-- Returns the new run's id.
CREATE OR REPLACE FUNCTION durable.reset_workflow(workflow_id text, event_id bigint, reason text DEFAULT NULL,
                                       run_id uuid DEFAULT NULL, namespace text DEFAULT 'default',
                                       identity text DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    base_run uuid;
    old durable.workflows;
    point record;
    started record;
    signal record;
    new_run uuid := durable._new_run_id();
    w durable.workflows;
    who text := coalesce(identity, session_user::text);
    why text := coalesce(reason, 'reset');
BEGIN
    PERFORM durable._authorize('operator', NULL, reset_workflow.namespace);
    base_run := durable._resolve_run(reset_workflow.namespace, reset_workflow.workflow_id, reset_workflow.run_id);
    SELECT * INTO old FROM durable.workflows wf WHERE wf.run_id = base_run FOR UPDATE;
    SELECT h.event_id, h.event_type, h.attributes INTO point FROM durable.history h
     WHERE h.run_id = old.run_id AND h.event_id = reset_workflow.event_id;
    IF point.event_type IS DISTINCT FROM 'WorkflowTaskCompleted'
       AND point.event_type IS DISTINCT FROM 'WorkflowTaskFailed'
       AND point.event_type IS DISTINCT FROM 'WorkflowTaskTimedOut' THEN
        PERFORM durable._bad_input(format('event %s of run %s is not the end of a workflow task', event_id, old.run_id),
            format('It is %s.', coalesce(point.event_type, 'missing')),
            'Reset to a WorkflowTaskCompleted, WorkflowTaskFailed or WorkflowTaskTimedOut event id.');
    END IF;
    SELECT h.event_id INTO started FROM durable.history h
     WHERE h.run_id = old.run_id AND h.event_id = (point.attributes ->> 'started_event_id')::bigint
       AND h.event_type = 'WorkflowTaskStarted';
    IF started.event_id IS NULL THEN
        PERFORM durable._bad_input(format('workflow task of event %s has no WorkflowTaskStarted', event_id));
    END IF;
    IF EXISTS (SELECT 1 FROM durable.history h
                WHERE h.run_id = old.run_id AND h.event_id < started.event_id
                  AND h.event_type = 'StartChildWorkflowExecutionInitiated'
                  AND NOT EXISTS (SELECT 1 FROM durable.history o
                                   WHERE o.run_id = old.run_id AND o.event_id < started.event_id
                                     AND o.event_type IN ('StartChildWorkflowExecutionFailed', 'ChildWorkflowExecutionCompleted',
                                                          'ChildWorkflowExecutionFailed', 'ChildWorkflowExecutionCanceled',
                                                          'ChildWorkflowExecutionTerminated', 'ChildWorkflowExecutionTimedOut')
                                     AND (o.attributes ->> 'initiated_event_id')::bigint = h.event_id)) THEN
        RAISE EXCEPTION 'cannot reset to a point where a child workflow was running'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The child would report to the old run.',
                  HINT = 'Reset to a workflow task before the child started or after it closed.';
    END IF;

    IF old.status = 'RUNNING' THEN
        PERFORM durable._close_run(old.run_id, 'TERMINATED', 'WorkflowExecutionTerminated', jsonb_build_object(
            'reason', format('reset to event %s: %s', event_id, why), 'identity', who, 'new_run_id', new_run),
            new_run_id => new_run);
    END IF;

    INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, input, memo,
        search_attributes, first_run_id, continued_from_run_id, parent_run_id, parent_workflow_id,
        parent_initiated_event_id, parent_close_policy, execution_started_at, started_at,
        execution_timeout, run_timeout, task_timeout, deadline_at, cancel_requested,
        priority, fairness_key, fairness_weight, build_id, attempt, retry_policy)
    SELECT new_run, o.namespace, o.workflow_id, o.workflow_type, o.task_queue, o.input, o.memo,
           o.search_attributes, o.first_run_id, o.run_id, o.parent_run_id, o.parent_workflow_id,
           o.parent_initiated_event_id, o.parent_close_policy, o.execution_started_at,
           durable._now(o.namespace),
           o.execution_timeout, o.run_timeout, o.task_timeout,
           least(o.execution_started_at + o.execution_timeout, durable.now() + o.run_timeout),
           EXISTS (SELECT 1 FROM durable.history h WHERE h.run_id = o.run_id AND h.event_id < started.event_id
                      AND h.event_type = 'WorkflowExecutionCancelRequested'),
           o.priority, o.fairness_key, o.fairness_weight,
           -- the build that wrote the copied history replays it (api/60_build_ids.sql):
           -- a pinned run's reset is not handed to another build; before any
           -- completed task there is nothing to replay, and the default build takes it
           (SELECT h.attributes ->> 'build_id' FROM durable.history h
             WHERE h.run_id = o.run_id AND h.event_id < started.event_id
               AND h.event_type = 'WorkflowTaskCompleted' AND h.attributes ? 'build_id'
             ORDER BY h.event_id DESC LIMIT 1),
           -- the copied WorkflowExecutionStarted says which attempt this is, and
           -- the run is retried by its policy as the one it replaces (16_workflow_retry.sql)
           o.attempt, o.retry_policy
      FROM durable.workflows o WHERE o.run_id = old.run_id
    ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'workflow "%" already started', workflow_id
            USING ERRCODE = 'DU002', DETAIL = 'Another run of this id is running.',
                  HINT = 'Reset the running run, or terminate it first.';
    END IF;
    -- copied as written (api/01_history.sql): the new run's own id packed anew
    INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
    SELECT new_run, h.event_id, durable._event_code(h.event_type), h.event_time,
           durable._event_pack(new_run, h.event_id, h.event_type, h.attributes)
      FROM durable.history h WHERE h.run_id = old.run_id AND h.event_id <= started.event_id;
    PERFORM durable._append(new_run, 'WorkflowTaskFailed', jsonb_build_object(
        'scheduled_event_id', (SELECT (h.attributes ->> 'scheduled_event_id')::bigint FROM durable.history h
                                WHERE h.run_id = old.run_id AND h.event_id = started.event_id),
        'started_event_id', started.event_id, 'cause', 'RESET_WORKFLOW', 'identity', who,
        'failure', jsonb_build_object('message', why), 'base_run_id', old.run_id, 'new_run_id', new_run,
        'reset_event_id', event_id));
    SELECT * INTO w FROM durable.workflows wf WHERE wf.run_id = new_run;
    -- the signals the old run received after the point are not lost
    FOR signal IN SELECT h.attributes FROM durable.history h
                   WHERE h.run_id = old.run_id AND h.event_id > started.event_id
                     AND h.event_type = 'WorkflowExecutionSignaled'
                   ORDER BY h.event_id LOOP
        PERFORM durable._append(new_run, 'WorkflowExecutionSignaled', signal.attributes);
    END LOOP;
    PERFORM durable._reset_rebuild(w);
    PERFORM durable._schedule_workflow_task(new_run);
    PERFORM durable._wake_at(w.deadline_at);
    RETURN new_run;
END
$$;
