-- The commands a workflow task may return, one function each. Each is given
-- the run (locked by the caller) and the id of the WorkflowTaskCompleted event
-- the command belongs to. Bad attributes raise invalid_parameter_value, which
-- rolls the whole completion back.

CREATE OR REPLACE FUNCTION durable._json_number(obj jsonb, key text, what text) RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF obj -> key IS NULL OR jsonb_typeof(obj -> key) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(obj -> key) <> 'number' THEN
        PERFORM durable._bad_input(format('%s: "%s" must be a number', what, key),
                                   format('Got %s.', (obj -> key)::text));
    END IF;
    -- JSON numbers are unbounded; float8 is not (1e400 would fail with 22003)
    IF abs((obj ->> key)::numeric) > 1e15 THEN
        PERFORM durable._bad_input(format('%s: "%s" is out of range', what, key),
                                   format('Got %s.', (obj -> key)::text));
    END IF;
    RETURN (obj ->> key)::float8;
END
$$;

CREATE OR REPLACE FUNCTION durable._json_event_id(obj jsonb, key text, what text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v float8 := durable._json_number(obj, key, what);
BEGIN
    IF v IS NULL OR v <> trunc(v) OR v < 1 THEN
        PERFORM durable._bad_input(format('%s needs "%s" as a positive integer', what, key),
                                   format('Got %s.', coalesce((obj -> key)::text, 'nothing')));
    END IF;
    RETURN v::bigint;
END
$$;

-- Zero means "not set", as in Temporal.
-- A retry policy's "non_retryable_error_types": an array of strings, or
-- NULL when the policy does not say.
CREATE OR REPLACE FUNCTION durable._non_retryable_error_types(rp jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF NOT rp ? 'non_retryable_error_types' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(rp -> 'non_retryable_error_types') <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(rp -> 'non_retryable_error_types') e
                   WHERE jsonb_typeof(e) <> 'string') THEN
        PERFORM durable._bad_input('retry_policy: "non_retryable_error_types" must be an array of strings');
    END IF;
    RETURN ARRAY(SELECT jsonb_array_elements_text(rp -> 'non_retryable_error_types'));
END
$$;

CREATE OR REPLACE FUNCTION durable._timeout(obj jsonb, key text, what text) RETURNS interval
LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(durable._json_interval($1, $2, $3), interval '0')
$$;

-- The ScheduleActivityTask command: its checks (those of the helpers above
-- and of _check_keys, _priority_options, _json_text, _check_name,
-- _check_path_name, _check_payload and _retry_policy, called only for what
-- is not the common kind, so that every error is still theirs), its
-- ActivityTaskScheduled event, its task (SCHEDULED, placed in its queue, or
-- the eager one of api/72_eager.sql, STARTED), the timer worker's wake-up
-- and the queue's notification. In C (pgext/src/cmd_schedule.c): as
-- plpgsql, its helper calls cost more than its writes (docs/performance.md,
-- "ScheduleActivityTask in C"); pgTAP 93_cmd_schedule.sql compares it with
-- the plpgsql body it replaced.
CREATE OR REPLACE FUNCTION durable._cmd_schedule_activity(w durable.workflows, cmd jsonb, completed bigint)
    RETURNS void AS 'MODULE_PATHNAME', 'durable_cmd_schedule_activity' LANGUAGE C VOLATILE;

-- Returns true when it appended an event the workflow must see (an activity
-- that had not started is canceled at once).
CREATE OR REPLACE FUNCTION durable._cmd_request_cancel_activity(w durable.workflows, cmd jsonb, completed bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    what text := 'RequestCancelActivityTask';
    scheduled bigint;
    a durable.activity_tasks;
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'scheduled_event_id', 'activity_id'], what);
    -- By activity_id too: a workflow may cancel an activity in the same task
    -- that schedules it, before it knows the scheduling event's id.
    IF cmd ? 'activity_id' AND NOT cmd ? 'scheduled_event_id' THEN
        SELECT h.event_id INTO scheduled FROM durable.history h
         WHERE h.run_id = w.run_id AND h.event_type = 'ActivityTaskScheduled'
           AND h.attributes ->> 'activity_id' = durable._json_text(cmd, 'activity_id', what, true)
         ORDER BY h.event_id DESC LIMIT 1;
        IF scheduled IS NULL THEN
            PERFORM durable._bad_input(format('no activity "%s" was scheduled', cmd ->> 'activity_id'));
        END IF;
    ELSE
        scheduled := durable._json_event_id(cmd, 'scheduled_event_id', what);
    END IF;
    SELECT * INTO a FROM durable.activity_tasks t
     WHERE t.run_id = w.run_id AND t.scheduled_event_id = scheduled FOR UPDATE;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM durable.history h WHERE h.run_id = w.run_id AND h.event_id = scheduled
                      AND h.event_type = 'ActivityTaskScheduled') THEN
            RETURN false;		-- it already finished; its outcome is (or will be) in the history
        END IF;
        PERFORM durable._bad_input(format('no activity was scheduled by event %s', scheduled));
    END IF;
    PERFORM durable._append(w.run_id, 'ActivityTaskCancelRequested', jsonb_build_object(
        'scheduled_event_id', scheduled, 'workflow_task_completed_event_id', completed));
    IF a.state = 'STARTED' THEN
        -- Cooperative: the worker learns it from its next heartbeat.
        UPDATE durable.activity_tasks t SET cancel_requested = true WHERE t.task_id = a.task_id;
        RETURN false;
    END IF;
    PERFORM durable._drop_activity_task(a);   -- with its pause, 41_pause.sql
    PERFORM durable._append(w.run_id, 'ActivityTaskCanceled', jsonb_build_object(
        'scheduled_event_id', scheduled, 'started_event_id', NULL,
        'details', jsonb_build_object('message', 'canceled before a worker started it'),
        'last_failure', a.last_failure));
    RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION durable._cmd_start_timer(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    what text := 'StartTimer';
    timer_id text;
    duration interval;
    started bigint;
    fire_at timestamptz;
BEGIN
    called := durable._check_keys(cmd, ARRAY['type', 'timer_id', 'start_to_fire_timeout'], what)::text;
    timer_id := durable._check_name(durable._json_text(cmd, 'timer_id', what, true), what || ': "timer_id"');
    duration := durable._json_interval(cmd, 'start_to_fire_timeout', what);
    IF duration IS NULL OR duration <= interval '0' THEN
        PERFORM durable._bad_input('StartTimer needs a positive "start_to_fire_timeout"',
            format('Got %s.', coalesce((cmd -> 'start_to_fire_timeout')::text, 'nothing')));
    END IF;
    IF EXISTS (SELECT 1 FROM durable.timers t WHERE t.run_id = w.run_id AND t.timer_id = timer_id) THEN
        PERFORM durable._bad_input(format('timer id "%s" is already pending', timer_id),
            NULL, 'Give each pending timer of a workflow its own timer_id.');
    END IF;
    started := durable._append(w.run_id, 'TimerStarted', jsonb_build_object(
        'timer_id', timer_id, 'start_to_fire_timeout', durable._seconds(duration),
        'workflow_task_completed_event_id', completed));
    fire_at := durable.now() + duration;
    INSERT INTO durable.timers (run_id, timer_id, started_event_id, fire_at)
    VALUES (w.run_id, timer_id, started, fire_at);
    called := durable._wake_at(fire_at)::text;
END
$$;

CREATE OR REPLACE FUNCTION durable._cmd_cancel_timer(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    what text := 'CancelTimer';
    timer_id text;
    started bigint;
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'timer_id'], what);
    timer_id := durable._json_text(cmd, 'timer_id', what, true);
    DELETE FROM durable.timers t WHERE t.run_id = w.run_id AND t.timer_id = timer_id
    RETURNING t.started_event_id INTO started;
    IF started IS NOT NULL THEN
        PERFORM durable._append(w.run_id, 'TimerCanceled', jsonb_build_object(
            'timer_id', timer_id, 'started_event_id', started,
            'workflow_task_completed_event_id', completed));
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM durable.history h WHERE h.run_id = w.run_id AND h.event_type = 'TimerStarted'
                      AND h.attributes ->> 'timer_id' = timer_id) THEN
        PERFORM durable._bad_input(format('no timer "%s" was started', timer_id));
    END IF;
    -- It fired while this task ran: its TimerFired event is on its way.
END
$$;

CREATE OR REPLACE FUNCTION durable._cmd_start_child(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    what text := 'StartChildWorkflowExecution';
    child_id text := durable._json_text(cmd, 'workflow_id', what, true);
    child_type text := durable._json_text(cmd, 'workflow_type', what, true);
    queue text := coalesce(durable._json_text(cmd, 'task_queue', what), w.task_queue);
    policy text := coalesce(durable._json_text(cmd, 'parent_close_policy', what), 'TERMINATE');
    options jsonb;
    initiated bigint;
    conflict text;
    child_run uuid;
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'workflow_id', 'workflow_type', 'task_queue', 'input',
        'parent_close_policy', 'workflow_execution_timeout', 'workflow_run_timeout', 'workflow_task_timeout',
        'workflow_id_reuse_policy', 'memo', 'search_attributes', 'priority', 'fairness_key', 'fairness_weight',
        'retry_policy'], what);
    IF policy NOT IN ('TERMINATE', 'ABANDON', 'REQUEST_CANCEL') THEN
        PERFORM durable._bad_input(format('unknown parent_close_policy "%s"', policy), NULL,
                                   'Use TERMINATE, ABANDON or REQUEST_CANCEL.');
    END IF;
    options := jsonb_strip_nulls(jsonb_build_object(
        'execution_timeout', cmd -> 'workflow_execution_timeout', 'run_timeout', cmd -> 'workflow_run_timeout',
        'task_timeout', cmd -> 'workflow_task_timeout', 'id_reuse_policy', cmd -> 'workflow_id_reuse_policy',
        'memo', cmd -> 'memo', 'search_attributes', cmd -> 'search_attributes',
        'retry_policy', cmd -> 'retry_policy'))
        -- the parent's priority unless the command sets its own (api/41_priority.sql)
        || (SELECT durable._priority_json(p.priority, p.fairness_key, p.fairness_weight)
              FROM durable._priority_options(cmd, what, w.priority, w.fairness_key, w.fairness_weight) p);
    PERFORM durable._check_start_args(child_id, child_type, queue);
    PERFORM durable._check_start_options(options);
    PERFORM durable._check_payload(cmd -> 'input', 'child workflow input');

    initiated := durable._append(w.run_id, 'StartChildWorkflowExecutionInitiated', jsonb_build_object(
        'workflow_id', child_id, 'workflow_type', child_type, 'task_queue', queue, 'input', cmd -> 'input',
        'parent_close_policy', policy, 'workflow_execution_timeout', cmd -> 'workflow_execution_timeout',
        'workflow_run_timeout', cmd -> 'workflow_run_timeout', 'workflow_task_timeout', cmd -> 'workflow_task_timeout',
        'workflow_task_completed_event_id', completed));
    conflict := durable._start_conflict(w.namespace, child_id, coalesce(options ->> 'id_reuse_policy', 'ALLOW_DUPLICATE'));
    IF conflict IS NULL THEN
        child_run := durable._create_run(w.namespace, child_id, child_type, queue, cmd -> 'input', options,
            parent_run_id => w.run_id, parent_workflow_id => w.workflow_id,
            parent_initiated_event_id => initiated, parent_close_policy => policy);
    END IF;
    IF child_run IS NULL THEN
        PERFORM durable._append(w.run_id, 'StartChildWorkflowExecutionFailed', jsonb_build_object(
            'workflow_id', child_id, 'workflow_type', child_type, 'initiated_event_id', initiated,
            'cause', 'WORKFLOW_ALREADY_EXISTS', 'detail', conflict));
    ELSE
        PERFORM durable._append(w.run_id, 'ChildWorkflowExecutionStarted', jsonb_build_object(
            'workflow_id', child_id, 'run_id', child_run, 'workflow_type', child_type,
            'initiated_event_id', initiated));
    END IF;
END
$$;

-- The running run a workflow addresses with SignalExternal/RequestCancelExternal, locked.
CREATE OR REPLACE FUNCTION durable._lock_external_target(w durable.workflows, cmd jsonb, what text) RETURNS durable.workflows
LANGUAGE plpgsql AS $$
DECLARE
    target_id text := durable._check_name(durable._json_text(cmd, 'workflow_id', what, true), what || ': "workflow_id"');
    target_run text := durable._json_text(cmd, 'run_id', what);
    target durable.workflows;
BEGIN
    -- a JSON boolean: the string "no" must not cast to false (nor "yes" to true)
    IF jsonb_typeof(cmd -> 'child_workflow_only') NOT IN ('boolean', 'null') THEN
        PERFORM durable._bad_input(format('%s: "child_workflow_only" must be true or false', what),
                                   format('Got %s.', (cmd -> 'child_workflow_only')::text));
    END IF;
    IF target_run IS NOT NULL AND target_run !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        PERFORM durable._bad_input(format('%s: "run_id" is not a UUID', what), format('Got %L.', target_run));
    END IF;
    SELECT * INTO target FROM durable.workflows t
     WHERE t.namespace = w.namespace AND t.workflow_id = target_id AND t.status = 'RUNNING'
       AND (target_run IS NULL OR t.run_id = target_run::uuid)
       AND (coalesce((cmd ->> 'child_workflow_only')::boolean, false) IS FALSE OR t.parent_run_id = w.run_id)
     FOR UPDATE;
    RETURN target;
END
$$;

CREATE OR REPLACE FUNCTION durable._cmd_signal_external(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    what text := 'SignalExternalWorkflowExecution';
    signal_name text;
    initiated bigint;
    target durable.workflows;
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'workflow_id', 'run_id', 'signal_name', 'input', 'child_workflow_only'], what);
    signal_name := durable._check_name(durable._json_text(cmd, 'signal_name', what, true), what || ': "signal_name"');
    PERFORM durable._check_payload(cmd -> 'input', 'signal input');
    target := durable._lock_external_target(w, cmd, what);
    initiated := durable._append(w.run_id, 'SignalExternalWorkflowExecutionInitiated', jsonb_build_object(
        'workflow_id', cmd -> 'workflow_id', 'run_id', cmd -> 'run_id', 'signal_name', signal_name,
        'input', cmd -> 'input', 'child_workflow_only', coalesce(cmd -> 'child_workflow_only', 'false'),
        'workflow_task_completed_event_id', completed));
    IF target.run_id IS NULL THEN
        PERFORM durable._append(w.run_id, 'SignalExternalWorkflowExecutionFailed', jsonb_build_object(
            'initiated_event_id', initiated, 'workflow_id', cmd -> 'workflow_id',
            'cause', 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'));
        RETURN;
    END IF;
    PERFORM durable._deliver(target.run_id, 'WorkflowExecutionSignaled', jsonb_build_object(
        'signal_name', signal_name, 'input', cmd -> 'input', 'identity', 'workflow:' || w.workflow_id,
        'external_workflow_id', w.workflow_id, 'external_run_id', w.run_id));
    PERFORM durable._append(w.run_id, 'ExternalWorkflowExecutionSignaled', jsonb_build_object(
        'initiated_event_id', initiated, 'workflow_id', target.workflow_id, 'run_id', target.run_id));
END
$$;

CREATE OR REPLACE FUNCTION durable._cmd_cancel_external(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    what text := 'RequestCancelExternalWorkflowExecution';
    initiated bigint;
    target durable.workflows;
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'workflow_id', 'run_id', 'child_workflow_only', 'reason'], what);
    target := durable._lock_external_target(w, cmd, what);
    initiated := durable._append(w.run_id, 'RequestCancelExternalWorkflowExecutionInitiated', jsonb_build_object(
        'workflow_id', cmd -> 'workflow_id', 'run_id', cmd -> 'run_id', 'reason', cmd -> 'reason',
        'workflow_task_completed_event_id', completed));
    IF target.run_id IS NULL THEN
        PERFORM durable._append(w.run_id, 'RequestCancelExternalWorkflowExecutionFailed', jsonb_build_object(
            'initiated_event_id', initiated, 'workflow_id', cmd -> 'workflow_id',
            'cause', 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'));
        RETURN;
    END IF;
    PERFORM durable._request_cancel(target.run_id, coalesce(cmd ->> 'reason', 'requested by workflow ' || w.workflow_id),
                                    'workflow:' || w.workflow_id);
    PERFORM durable._append(w.run_id, 'ExternalWorkflowExecutionCancelRequested', jsonb_build_object(
        'initiated_event_id', initiated, 'workflow_id', target.workflow_id, 'run_id', target.run_id));
END
$$;

CREATE OR REPLACE FUNCTION durable._cmd_record_marker(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'marker_name', 'details'], 'RecordMarker');
    PERFORM durable._check_payload(cmd -> 'details', 'marker details');
    PERFORM durable._append(w.run_id, 'MarkerRecorded', jsonb_build_object(
        'marker_name', durable._check_name(durable._json_text(cmd, 'marker_name', 'RecordMarker', true),
                                           'RecordMarker: "marker_name"'),
        'details', cmd -> 'details', 'workflow_task_completed_event_id', completed));
END
$$;

CREATE OR REPLACE FUNCTION durable._cmd_upsert_search_attributes(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    attrs jsonb := cmd -> 'search_attributes';
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'search_attributes'], 'UpsertWorkflowSearchAttributes');
    IF jsonb_typeof(attrs) IS DISTINCT FROM 'object' THEN
        PERFORM durable._bad_input('UpsertWorkflowSearchAttributes needs "search_attributes" as a JSON object',
            NULL, 'A key set to null removes that attribute.');
    END IF;
    PERFORM durable._check_payload(attrs, 'search attributes');
    UPDATE durable.workflows wf SET search_attributes = jsonb_strip_nulls(wf.search_attributes || attrs)
     WHERE wf.run_id = w.run_id;
    PERFORM durable._append(w.run_id, 'UpsertWorkflowSearchAttributes', jsonb_build_object(
        'search_attributes', attrs, 'workflow_task_completed_event_id', completed));
END
$$;

-- Complete, Fail, Cancel or ContinueAsNew: the last command of a task.
CREATE OR REPLACE FUNCTION durable._cmd_close(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    checked jsonb;   -- a payload _check_payload passed
    ctype text := cmd ->> 'type';
    new_run uuid;
    new_type text;
    new_queue text;
    options jsonb;
BEGIN
    CASE ctype
        WHEN 'CompleteWorkflowExecution' THEN
            called := durable._check_keys(cmd, ARRAY['type', 'result'], ctype)::text;
            checked := durable._check_payload(cmd -> 'result', 'workflow result');
            called := durable._close_run(w.run_id, 'COMPLETED', 'WorkflowExecutionCompleted',
                jsonb_build_object('result', cmd -> 'result', 'workflow_task_completed_event_id', completed),
                result => cmd -> 'result')::text;
        WHEN 'FailWorkflowExecution' THEN
            called := durable._check_keys(cmd, ARRAY['type', 'failure'], ctype)::text;
            IF jsonb_typeof(cmd -> 'failure') IS DISTINCT FROM 'object' THEN
                PERFORM durable._bad_input('FailWorkflowExecution needs "failure" as a JSON object',
                    NULL, 'Pass e.g. {"message": "...", "type": "..."}.');
            END IF;
            checked := durable._check_payload(cmd -> 'failure', 'workflow failure');
            called := durable._close_run(w.run_id, 'FAILED', 'WorkflowExecutionFailed',
                jsonb_build_object('failure', cmd -> 'failure', 'workflow_task_completed_event_id', completed),
                failure => cmd -> 'failure')::text;
        WHEN 'CancelWorkflowExecution' THEN
            called := durable._check_keys(cmd, ARRAY['type', 'details'], ctype)::text;
            checked := durable._check_payload(cmd -> 'details', 'cancellation details');
            called := durable._close_run(w.run_id, 'CANCELED', 'WorkflowExecutionCanceled',
                jsonb_build_object('details', cmd -> 'details', 'workflow_task_completed_event_id', completed))::text;
        WHEN 'ContinueAsNewWorkflowExecution' THEN
            called := durable._check_keys(cmd, ARRAY['type', 'workflow_type', 'task_queue', 'input',
                'workflow_run_timeout', 'workflow_task_timeout', 'memo', 'search_attributes'], ctype)::text;
            new_type := durable._check_name(coalesce(durable._json_text(cmd, 'workflow_type', ctype), w.workflow_type),
                                            ctype || ': "workflow_type"');
            new_queue := durable._check_path_name(durable._check_name(
                coalesce(durable._json_text(cmd, 'task_queue', ctype), w.task_queue), ctype || ': "task_queue"'),
                ctype || ': "task_queue"');
            options := jsonb_strip_nulls(jsonb_build_object(
                'execution_timeout', durable._seconds(w.execution_timeout),
                'run_timeout', coalesce(cmd -> 'workflow_run_timeout', to_jsonb(durable._seconds(w.run_timeout))),
                -- a run started by 0.1 may carry a task timeout above today's limit
                'task_timeout', coalesce(cmd -> 'workflow_task_timeout',
                                         to_jsonb(durable._seconds(least(w.task_timeout, interval '1 day')))),
                'memo', coalesce(cmd -> 'memo', w.memo),
                'search_attributes', coalesce(cmd -> 'search_attributes', w.search_attributes),
                -- as in Temporal, the new run keeps the retry policy, from attempt 1
                'retry_policy', w.retry_policy))
                || durable._priority_json(w.priority, w.fairness_key, w.fairness_weight);
            called := durable._check_start_options(options)::text;
            checked := durable._check_payload(cmd -> 'input', 'workflow input');
            new_run := durable._new_run_id();
            called := durable._close_run(w.run_id, 'CONTINUED_AS_NEW', 'WorkflowExecutionContinuedAsNew',
                jsonb_build_object('new_execution_run_id', new_run, 'workflow_type', new_type,
                                   'task_queue', new_queue, 'input', cmd -> 'input',
                                   'workflow_task_completed_event_id', completed),
                new_run_id => new_run)::text;
            called := durable._create_run(w.namespace, w.workflow_id, new_type, new_queue, cmd -> 'input', options,
                first_run_id => w.first_run_id, continued_from_run_id => w.run_id,
                execution_started_at => w.execution_started_at, parent_run_id => w.parent_run_id,
                parent_workflow_id => w.parent_workflow_id, parent_initiated_event_id => w.parent_initiated_event_id,
                parent_close_policy => w.parent_close_policy, run_id => new_run)::text;
    END CASE;
END
$$;
