-- Operator controls of one workflow and of one activity: pause and unpause
-- a workflow; pause, unpause, reset and change the options of an activity.
--
-- A paused run (durable.workflow_pauses) keeps its tasks in state PAUSED,
-- where no poll finds them: its workflow task (one is kept, empty, when it
-- has none, so that _deliver buffers: see _hold_run), its activities that
-- wait for a worker, and each retry that comes due. Events from outside
-- (signals, fired timers, results of activities that were running, child
-- outcomes, cancel requests) wait in buffered_events, so the history does
-- not grow while the run is paused. A pause ends a start delay early: the
-- first workflow task comes at unpause. A workflow task or an activity already
-- running when the pause came may finish: its outcome is recorded as usual.
-- Unpausing writes the buffered events and offers the tasks again.
--
-- A paused activity (durable.activity_pauses) is not offered nor retried
-- until it is unpaused; an attempt that is running learns it from its
-- heartbeat (heartbeat_activity_task_status) and may stop. A PAUSED activity
-- keeps its schedule-to-close deadline, as in Temporal.

-- Whether an activity may not be offered now: its run or itself is paused.
CREATE OR REPLACE FUNCTION durable._activity_held(run uuid, scheduled_event_id bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM durable.workflow_pauses p WHERE p.run_id = run)
        OR EXISTS (SELECT 1 FROM durable.activity_pauses p
                    WHERE p.run_id = run AND p.scheduled_event_id = _activity_held.scheduled_event_id);
END
$$;

-- An activity is over (it completed, failed, timed out, or was canceled
-- before it started): its task goes, and with it its pause, if any. The
-- pause is looked for first: a probe costs less than a DELETE that finds
-- nothing (its executor opens the table and its indexes for writing), and
-- nearly every activity that ends was never paused.
CREATE OR REPLACE FUNCTION durable._drop_activity_task(a durable.activity_tasks) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM durable.activity_tasks t WHERE t.task_id = a.task_id;
    IF EXISTS (SELECT 1 FROM durable.activity_pauses p
                WHERE p.run_id = a.run_id AND p.scheduled_event_id = a.scheduled_event_id) THEN
        DELETE FROM durable.activity_pauses p WHERE p.run_id = a.run_id AND p.scheduled_event_id = a.scheduled_event_id;
    END IF;
END
$$;

-- Keeps an activity from pollers: only its schedule-to-close deadline runs.
CREATE OR REPLACE FUNCTION durable._hold_activity(a durable.activity_tasks) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE durable.activity_tasks t
       SET state = 'PAUSED', timeout_at = a.scheduled_at + a.schedule_to_close_timeout
     WHERE t.task_id = a.task_id;
    PERFORM durable._wake_at(a.scheduled_at + a.schedule_to_close_timeout);
END
$$;

-- Offers an activity attempt to pollers (a retry whose delay is over, or an
-- unpaused activity), or holds it when it or its run is paused.
CREATE OR REPLACE FUNCTION durable._offer_activity(a durable.activity_tasks, now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := least(now + a.schedule_to_start_timeout, a.scheduled_at + a.schedule_to_close_timeout);
BEGIN
    IF durable._activity_held(a.run_id, a.scheduled_event_id) THEN
        PERFORM durable._hold_activity(a);
        RETURN;
    END IF;
    UPDATE durable.activity_tasks t
       SET state = 'SCHEDULED', attempt_scheduled_at = now, timeout_at = deadline
     WHERE t.task_id = a.task_id;
    PERFORM durable._wake_at(deadline);
    PERFORM durable._notify('activity', a.namespace, a.task_queue);
END
$$;

-- Puts what a paused run could hand to a worker into state PAUSED: its
-- workflow task (or an empty one, attempt 1 and no scheduled event, when it
-- has none: then _deliver buffers every event) and its activities waiting
-- for a worker. A started workflow task is left to finish; whatever it
-- schedules is held by this same function when it ends.
CREATE OR REPLACE FUNCTION durable._hold_run(run uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE durable.workflow_tasks t SET state = 'PAUSED', timeout_at = NULL
     WHERE t.run_id = run AND t.state IN ('SCHEDULED', 'BACKOFF');
    IF NOT EXISTS (SELECT 1 FROM durable.workflow_tasks t WHERE t.run_id = run) THEN
        INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_at)
        SELECT w.run_id, w.namespace, w.task_queue, 'PAUSED', 1, durable.now()
          FROM durable.workflows w WHERE w.run_id = run;
    END IF;
    UPDATE durable.activity_tasks t SET state = 'PAUSED', timeout_at = t.scheduled_at + t.schedule_to_close_timeout
     WHERE t.run_id = run AND t.state = 'SCHEDULED';
END
$$;

-- Called where a workflow task of a run that may be paused ends (completed,
-- failed, timed out): one index probe when it is not, and no other call.
CREATE OR REPLACE FUNCTION durable._hold_if_paused(run uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM durable.workflow_pauses p WHERE p.run_id = run) THEN
        PERFORM durable._hold_run(run);
    END IF;
END
$$;

-- The run an operator control addresses, locked, and running: a closed
-- run cannot be paused or changed (DU003, saying which control).
CREATE OR REPLACE FUNCTION durable._lock_for_control(namespace text, workflow_id text, run_id uuid, control text)
RETURNS durable.workflows LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    w durable.workflows;
BEGIN
    PERFORM durable._authorize('operator', NULL, namespace);
    SELECT * INTO w FROM durable.workflows wf
     WHERE wf.run_id = durable._resolve_run(namespace, workflow_id, run_id) FOR UPDATE;
    IF w.status <> 'RUNNING' THEN
        RAISE EXCEPTION 'workflow "%" is not running', w.workflow_id
            USING ERRCODE = 'DU003',
                  DETAIL = format('Run %s closed as %s at %s; %s applies to a running workflow only.',
                                  w.run_id, w.status, w.closed_at, control),
                  HINT = 'Nothing was changed. A closed workflow has nothing left to pause or resume; start it again if needed.';
    END IF;
    RETURN w;
END
$$;

-- An event of an operator control: appended, or buffered while a workflow
-- task runs (a worker never sees the history change under its task).
CREATE OR REPLACE FUNCTION durable._record_control(run uuid, event_type text, attributes jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM durable.workflow_tasks t WHERE t.run_id = run AND t.state = 'STARTED') THEN
        INSERT INTO durable.buffered_events (run_id, event_type, event_time, attributes)
        VALUES (run, event_type, durable.now(), attributes);
    ELSE
        PERFORM durable._append(run, event_type, attributes);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION durable.pause_workflow(workflow_id text, reason text DEFAULT NULL, run_id uuid DEFAULT NULL,
                                                  namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w durable.workflows;
    who text := durable._role_name(durable._caller_role());
BEGIN
    PERFORM durable._check_name(reason, 'reason', 4096);
    w := durable._lock_for_control($4, $1, $3, 'pause');
    INSERT INTO durable.workflow_pauses AS p (run_id, reason, paused_by, paused_at)
    VALUES (w.run_id, reason, who, durable.now())
    ON CONFLICT ON CONSTRAINT workflow_pauses_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM durable._record_control(w.run_id, 'WorkflowExecutionPaused',
                                    jsonb_build_object('reason', reason, 'identity', who));
    PERFORM durable._hold_run(w.run_id);
    RETURN true;
END
$$;
COMMENT ON FUNCTION durable.pause_workflow(text, text, uuid, text) IS
    'Pauses a running workflow: no workflow or activity task is handed out until unpause_workflow; signals, fired timers and results of running activities wait and are delivered then. Records WorkflowExecutionPaused with the reason and the caller''s role. Returns false when it was already paused; DU003 for a closed run.';

CREATE OR REPLACE FUNCTION durable.unpause_workflow(workflow_id text, reason text DEFAULT NULL, run_id uuid DEFAULT NULL,
                                                    namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w durable.workflows;
    t durable.workflow_tasks;
    a durable.activity_tasks;
    who text := durable._role_name(durable._caller_role());
BEGIN
    PERFORM durable._check_name(reason, 'reason', 4096);
    w := durable._lock_for_control($4, $1, $3, 'unpause');
    DELETE FROM durable.workflow_pauses p WHERE p.run_id = w.run_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM durable._record_control(w.run_id, 'WorkflowExecutionUnpaused',
                                    jsonb_build_object('reason', reason, 'identity', who));
    SELECT * INTO t FROM durable.workflow_tasks wt WHERE wt.run_id = w.run_id FOR UPDATE;
    -- A started task flushes what waited when it ends, and schedules the next.
    IF t.state IS DISTINCT FROM 'STARTED' THEN
        PERFORM durable._flush_buffered(w.run_id);
    END IF;
    IF t.state = 'PAUSED' AND t.scheduled_event_id IS NULL AND t.attempt = 1 THEN
        -- the empty task _hold_run made, or a first task a start delay held:
        -- the workflow gets a task now (it sees the unpause, and what waited)
        PERFORM durable._reschedule_workflow_task(t, 1);
    ELSIF t.state = 'PAUSED' THEN
        UPDATE durable.workflow_tasks wt SET state = 'SCHEDULED' WHERE wt.task_id = t.task_id;
        PERFORM durable._notify('workflow', t.namespace, t.task_queue);
    END IF;
    FOR a IN SELECT * FROM durable.activity_tasks at
              WHERE at.run_id = w.run_id AND at.state = 'PAUSED' ORDER BY at.task_id FOR UPDATE LOOP
        PERFORM durable._offer_activity(a, durable.now());   -- those paused themselves stay held
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION durable.unpause_workflow(text, text, uuid, text) IS
    'Resumes a paused workflow: records WorkflowExecutionUnpaused, then what waited (signals, fired timers, activity results), and hands out its tasks again. Returns false when it was not paused; DU003 for a closed run.';

-- Activity operations ----------------------------------------------------

-- The pending activity of a running run by its activity id, locked (run
-- first). DU020 when the run has no such pending activity.
CREATE OR REPLACE FUNCTION durable._lock_activity_by_id(namespace text, workflow_id text, activity_id text,
                                                        run_id uuid, control text)
RETURNS durable.activity_tasks LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    w durable.workflows;
    a durable.activity_tasks;
BEGIN
    -- the grant first: a caller without it learns nothing about its input
    PERFORM durable._authorize('operator', NULL, namespace);
    IF coalesce(activity_id, '') = '' THEN
        PERFORM durable._bad_input('activity_id must be non-empty', NULL,
            'describe_workflow lists the pending activities and their ids.');
    END IF;
    w := durable._lock_for_control(namespace, workflow_id, run_id, control);
    SELECT * INTO a FROM durable.activity_tasks t
     WHERE t.run_id = w.run_id AND t.activity_id = activity_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'activity "%" of workflow "%" is not pending', activity_id, w.workflow_id
            USING ERRCODE = 'DU020',
                  DETAIL = format('Run %s has no pending activity with this id: it finished, or never was scheduled.', w.run_id),
                  HINT = 'describe_workflow lists the pending activities and their ids; nothing was changed.';
    END IF;
    RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION durable.pause_activity(workflow_id text, activity_id text, reason text DEFAULT NULL,
                                                  run_id uuid DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a durable.activity_tasks;
BEGIN
    PERFORM durable._check_name(reason, 'reason', 4096);
    a := durable._lock_activity_by_id($5, $1, $2, $4, 'pause_activity');
    INSERT INTO durable.activity_pauses AS p (run_id, scheduled_event_id, reason, paused_by, paused_at)
    VALUES (a.run_id, a.scheduled_event_id, reason, durable._role_name(durable._caller_role()), durable.now())
    ON CONFLICT ON CONSTRAINT activity_pauses_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- a running attempt goes on, and learns it from its next heartbeat
    IF a.state IN ('SCHEDULED', 'BACKOFF') THEN
        PERFORM durable._hold_activity(a);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION durable.pause_activity(text, text, text, uuid, text) IS
    'Pauses one pending activity of a running workflow: it is not offered nor retried until unpause_activity; a running attempt may finish, and its heartbeat (heartbeat_activity_task_status) reports paused. Returns false when it was already paused; DU020 for an activity id that is not pending.';

CREATE OR REPLACE FUNCTION durable.unpause_activity(workflow_id text, activity_id text, run_id uuid DEFAULT NULL,
                                                    namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a durable.activity_tasks;
BEGIN
    a := durable._lock_activity_by_id($4, $1, $2, $3, 'unpause_activity');
    DELETE FROM durable.activity_pauses p WHERE p.run_id = a.run_id AND p.scheduled_event_id = a.scheduled_event_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- at once, whatever delay its retry had left (held still if its run is paused)
    IF a.state IN ('PAUSED', 'BACKOFF') THEN
        PERFORM durable._offer_activity(a, durable.now());
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION durable.unpause_activity(text, text, uuid, text) IS
    'Resumes a paused activity: its next attempt is offered at once (unless its workflow is paused). Returns false when it was not paused; DU020 for an activity id that is not pending.';

CREATE OR REPLACE FUNCTION durable.reset_activity(workflow_id text, activity_id text, reset_heartbeat boolean DEFAULT false,
                                                  run_id uuid DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a durable.activity_tasks;
BEGIN
    IF reset_heartbeat IS NULL THEN
        PERFORM durable._bad_input('reset_heartbeat must not be null', NULL, 'Pass true to forget the heartbeat details.');
    END IF;
    a := durable._lock_activity_by_id($5, $1, $2, $4, 'reset_activity');
    -- a running attempt counts as attempt 1: its retries count from there
    UPDATE durable.activity_tasks t
       SET attempt = 1, last_failure = NULL,
           heartbeat_details = CASE WHEN reset_heartbeat THEN NULL ELSE t.heartbeat_details END
     WHERE t.task_id = a.task_id
    RETURNING * INTO a;
    IF a.state = 'BACKOFF' THEN
        PERFORM durable._offer_activity(a, durable.now());
    END IF;
END
$$;
COMMENT ON FUNCTION durable.reset_activity(text, text, boolean, uuid, text) IS
    'Sets a pending activity''s attempt back to 1 and drops its last failure (and its heartbeat details with reset_heartbeat); one waiting out a retry delay is offered at once. A paused activity stays paused. DU020 for an activity id that is not pending.';

-- The options of a pending activity as update_activity_options takes them.
CREATE OR REPLACE FUNCTION durable._activity_options(a durable.activity_tasks) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'schedule_to_close_timeout', durable._seconds(a.schedule_to_close_timeout),
        'schedule_to_start_timeout', durable._seconds(a.schedule_to_start_timeout),
        'start_to_close_timeout', durable._seconds(a.start_to_close_timeout),
        'heartbeat_timeout', durable._seconds(a.heartbeat_timeout),
        'retry_policy', jsonb_build_object(
            'initial_interval', durable._seconds(a.retry_initial_interval),
            'backoff_coefficient', a.retry_backoff_coefficient,
            'maximum_interval', durable._seconds(a.retry_maximum_interval),
            'maximum_attempts', a.retry_maximum_attempts,
            'non_retryable_error_types', to_jsonb(a.non_retryable_error_types)))
$$;

-- options: the fields to change, as ScheduleActivityTask names them (a
-- timeout of 0 or null removes it; retry_policy fields merge into the
-- current policy). Applied whole or not at all; the new deadline counts
-- from when the running attempt started, or the activity was scheduled.
CREATE OR REPLACE FUNCTION durable.update_activity_options(workflow_id text, activity_id text, options jsonb,
                                                           run_id uuid DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    what text := 'update_activity_options';
    a durable.activity_tasks;
    rp jsonb := options -> 'retry_policy';
    s2c interval;
    s2s interval;
    stc interval;
    hb interval;
    backoff float8;
    attempts float8;
    now timestamptz := durable.now();
BEGIN
    PERFORM durable._authorize('operator', NULL, $5);   -- before the options are judged
    IF options IS NULL OR jsonb_typeof(options) <> 'object' OR options = '{}' THEN
        PERFORM durable._bad_input('options must be a JSON object with the fields to change',
            format('Got %s.', coalesce(options::text, 'NULL')),
            'Pass e.g. ''{"start_to_close_timeout": 60, "retry_policy": {"maximum_attempts": 5}}''.');
    END IF;
    PERFORM durable._check_keys(options, ARRAY['schedule_to_close_timeout', 'schedule_to_start_timeout',
        'start_to_close_timeout', 'heartbeat_timeout', 'retry_policy'], what);
    IF rp IS NOT NULL THEN
        PERFORM durable._check_keys(rp, ARRAY['initial_interval', 'backoff_coefficient', 'maximum_interval',
            'maximum_attempts', 'non_retryable_error_types'], 'retry_policy');
    END IF;
    a := durable._lock_activity_by_id($5, $1, $2, $4, what);
    s2c := CASE WHEN options ? 'schedule_to_close_timeout' THEN durable._timeout(options, 'schedule_to_close_timeout', what)
                ELSE a.schedule_to_close_timeout END;
    s2s := CASE WHEN options ? 'schedule_to_start_timeout' THEN durable._timeout(options, 'schedule_to_start_timeout', what)
                ELSE a.schedule_to_start_timeout END;
    stc := CASE WHEN options ? 'start_to_close_timeout' THEN durable._timeout(options, 'start_to_close_timeout', what)
                ELSE a.start_to_close_timeout END;
    hb := CASE WHEN options ? 'heartbeat_timeout' THEN durable._timeout(options, 'heartbeat_timeout', what)
               ELSE a.heartbeat_timeout END;
    IF stc IS NULL AND s2c IS NULL THEN
        PERFORM durable._bad_input('an activity needs start_to_close_timeout or schedule_to_close_timeout',
            NULL, 'Without one, a worker that dies mid-activity would hold it forever.');
    END IF;
    a.schedule_to_close_timeout := s2c;
    a.schedule_to_start_timeout := s2s;
    a.start_to_close_timeout := least(coalesce(stc, s2c), s2c);
    a.heartbeat_timeout := hb;
    IF rp IS NOT NULL THEN
        a.retry_initial_interval := coalesce(durable._timeout(rp, 'initial_interval', 'retry_policy'), a.retry_initial_interval);
        backoff := durable._json_number(rp, 'backoff_coefficient', 'retry_policy');
        a.retry_backoff_coefficient := coalesce(backoff, a.retry_backoff_coefficient);
        a.retry_maximum_interval := coalesce(durable._timeout(rp, 'maximum_interval', 'retry_policy'), a.retry_maximum_interval);
        attempts := durable._json_number(rp, 'maximum_attempts', 'retry_policy');
        IF attempts IS NOT NULL AND (attempts < 0 OR attempts <> trunc(attempts) OR attempts > 2147483647) THEN
            PERFORM durable._bad_input('retry_policy: "maximum_attempts" must be a non-negative integer',
                format('Got %s.', attempts), '0 means unlimited.');
        END IF;
        a.retry_maximum_attempts := coalesce(attempts::integer, a.retry_maximum_attempts);
        a.non_retryable_error_types := coalesce(durable._non_retryable_error_types(rp), a.non_retryable_error_types);
        IF a.retry_backoff_coefficient < 1 OR a.retry_backoff_coefficient > 1000 THEN
            PERFORM durable._bad_input('retry_policy: "backoff_coefficient" must be from 1 to 1000',
                format('Got %s.', a.retry_backoff_coefficient), '2.0 doubles the wait after each attempt.');
        END IF;
        IF a.retry_maximum_interval < a.retry_initial_interval THEN
            PERFORM durable._bad_input('retry_policy: "maximum_interval" must not be less than "initial_interval"');
        END IF;
    END IF;
    -- the deadline the current state waits for, under the new timeouts
    a.timeout_at := CASE a.state
        WHEN 'STARTED' THEN least(a.started_at + a.start_to_close_timeout, a.scheduled_at + s2c,
                                  coalesce(a.last_heartbeat_at, a.started_at) + hb)
        WHEN 'SCHEDULED' THEN least(a.attempt_scheduled_at + s2s, a.scheduled_at + s2c)
        WHEN 'PAUSED' THEN a.scheduled_at + s2c
        ELSE a.timeout_at END;   -- BACKOFF: the retry time stays
    UPDATE durable.activity_tasks t
       SET schedule_to_close_timeout = a.schedule_to_close_timeout, schedule_to_start_timeout = a.schedule_to_start_timeout,
           start_to_close_timeout = a.start_to_close_timeout, heartbeat_timeout = a.heartbeat_timeout,
           retry_initial_interval = a.retry_initial_interval, retry_backoff_coefficient = a.retry_backoff_coefficient,
           retry_maximum_interval = a.retry_maximum_interval, retry_maximum_attempts = a.retry_maximum_attempts,
           non_retryable_error_types = a.non_retryable_error_types, timeout_at = a.timeout_at
     WHERE t.task_id = a.task_id;
    PERFORM durable._wake_at(greatest(a.timeout_at, now));
    RETURN durable._activity_options(a);
END
$$;
COMMENT ON FUNCTION durable.update_activity_options(text, text, jsonb, uuid, text) IS
    'Changes a pending activity''s timeouts and retry policy (the fields given, as ScheduleActivityTask names them; 0 removes a timeout) and returns all its options. Applied whole or not at all. DU020 for an activity id that is not pending.';

-- The heartbeat, telling the worker both what it may be asked: to cancel
-- (the workflow asked; stop and call cancel_activity_task), or that the
-- activity is paused (stop if it can, and fail the attempt: it is retried
-- after unpause_activity). heartbeat_activity_task returns the first only.
CREATE OR REPLACE FUNCTION durable.heartbeat_activity_task_status(task_token text, details jsonb DEFAULT NULL,
                                                                  OUT cancel_requested boolean, OUT paused boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    cancel_requested := durable.heartbeat_activity_task(task_token, details);
    paused := EXISTS (SELECT 1 FROM durable.activity_tasks a
                        JOIN durable.activity_pauses p
                          ON p.run_id = a.run_id AND p.scheduled_event_id = a.scheduled_event_id
                       WHERE a.task_id = (durable._parse_token(task_token, 'a')).task_id);
END
$$;
COMMENT ON FUNCTION durable.heartbeat_activity_task_status(text, jsonb) IS
    'heartbeat_activity_task, also saying whether an operator paused the activity (pause_activity): the attempt should then stop and fail; it is retried after unpause_activity.';

-- 99_grants.sql revokes from PUBLIC and passes these on to durable_scoped.
GRANT EXECUTE ON FUNCTION
    durable.pause_workflow(text, text, uuid, text),
    durable.unpause_workflow(text, text, uuid, text),
    durable.pause_activity(text, text, text, uuid, text),
    durable.unpause_activity(text, text, uuid, text),
    durable.reset_activity(text, text, boolean, uuid, text),
    durable.update_activity_options(text, text, jsonb, uuid, text)
TO durable_operator;
GRANT EXECUTE ON FUNCTION durable.heartbeat_activity_task_status(text, jsonb) TO durable_worker;
