-- Starting runs: start_workflow, signal_with_start, and the run creation that
-- child workflows and continue-as-new share.

CREATE OR REPLACE FUNCTION durable._check_start_options(options jsonb) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    policy text;
    conflict_policy text;
BEGIN
    -- no options (most starts): every check below passes on {}, at ~20 µs
    IF options = '{}' THEN
        RETURN;
    END IF;
    PERFORM durable._check_keys(options,
        ARRAY['execution_timeout', 'run_timeout', 'task_timeout', 'id_reuse_policy',
              'memo', 'search_attributes', 'identity', 'request_id', 'id_conflict_policy',
              'start_delay', 'priority', 'fairness_key', 'fairness_weight',
              'retry_policy'], 'start options');
    PERFORM durable._priority_options(options, 'start options');   -- api/41_priority.sql
    PERFORM durable._json_interval(options, 'execution_timeout', 'start options');
    PERFORM durable._json_interval(options, 'run_timeout', 'start options');
    PERFORM durable._json_interval(options, 'start_delay', 'start options');
    PERFORM durable._retry_policy(options -> 'retry_policy', 'start options: "retry_policy"');
    -- a workflow task is one replay: a day is far beyond any, and a worker
    -- that died holding one must not hide the workflow for longer
    PERFORM durable._check_duration(durable._json_interval(options, 'task_timeout', 'start options'),
                                    'start options: "task_timeout"', interval '1 day');
    IF jsonb_typeof(options -> 'identity') NOT IN ('string', 'null') THEN
        PERFORM durable._bad_input('start options: "identity" must be a string', format('Got %s.', options -> 'identity'));
    END IF;
    PERFORM durable._check_name(options ->> 'identity', 'start options: "identity"');
    policy := durable._json_text(options, 'id_reuse_policy', 'start options');
    IF policy IS NOT NULL AND policy NOT IN ('ALLOW_DUPLICATE', 'ALLOW_DUPLICATE_FAILED_ONLY',
                                             'REJECT_DUPLICATE', 'TERMINATE_IF_RUNNING') THEN
        PERFORM durable._bad_input(format('unknown id_reuse_policy "%s"', policy), NULL,
            'Use ALLOW_DUPLICATE, ALLOW_DUPLICATE_FAILED_ONLY, REJECT_DUPLICATE or TERMINATE_IF_RUNNING.');
    END IF;
    PERFORM durable._check_name(durable._json_text(options, 'request_id', 'start options'), 'start options: "request_id"');
    conflict_policy := durable._json_text(options, 'id_conflict_policy', 'start options');
    IF conflict_policy IS NOT NULL AND conflict_policy NOT IN ('FAIL', 'USE_EXISTING', 'TERMINATE_EXISTING') THEN
        PERFORM durable._bad_input(format('unknown id_conflict_policy "%s"', conflict_policy), NULL,
            'Use FAIL, USE_EXISTING or TERMINATE_EXISTING.');
    END IF;
    -- Temporal refuses the same pair: TERMINATE_IF_RUNNING is the older
    -- spelling of a conflict policy, and the two could disagree.
    IF conflict_policy IS NOT NULL AND policy = 'TERMINATE_IF_RUNNING' THEN
        PERFORM durable._bad_input('id_reuse_policy TERMINATE_IF_RUNNING cannot be used with an id_conflict_policy',
            format('Got id_conflict_policy %s.', conflict_policy),
            'Use id_conflict_policy TERMINATE_EXISTING with an id_reuse_policy for closed runs, or TERMINATE_IF_RUNNING alone.');
    END IF;
    IF options ? 'memo' AND jsonb_typeof(options -> 'memo') <> 'object' THEN
        PERFORM durable._bad_input('start options: "memo" must be a JSON object');
    END IF;
    IF options ? 'search_attributes' AND jsonb_typeof(options -> 'search_attributes') <> 'object' THEN
        PERFORM durable._bad_input('start options: "search_attributes" must be a JSON object');
    END IF;
    PERFORM durable._check_payload(options -> 'memo', 'memo');
    PERFORM durable._check_payload(options -> 'search_attributes', 'search attributes');
END
$$;

-- Why this workflow id cannot be started under the reuse policy, or NULL.
-- A running run under TERMINATE_IF_RUNNING is terminated here.
CREATE OR REPLACE FUNCTION durable._start_conflict(namespace text, workflow_id text, policy text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    running uuid := durable._open_run(namespace, workflow_id);
    last_status text;
BEGIN
    IF running IS NOT NULL THEN
        IF policy = 'TERMINATE_IF_RUNNING' THEN
            PERFORM durable._close_run(running, 'TERMINATED', 'WorkflowExecutionTerminated',
                jsonb_build_object('reason', 'terminated by a new start (TERMINATE_IF_RUNNING)',
                                   'identity', 'durable'));
        ELSE
            RETURN format('workflow %s is already running as run %s', workflow_id, running);
        END IF;
    END IF;
    IF policy IN ('REJECT_DUPLICATE', 'ALLOW_DUPLICATE_FAILED_ONLY') THEN
        SELECT status INTO last_status FROM durable.workflows w
         WHERE w.namespace = _start_conflict.namespace AND w.workflow_id = _start_conflict.workflow_id
           AND w.status <> 'RUNNING'
         ORDER BY w.started_at DESC LIMIT 1;
        IF last_status IS NOT NULL AND (policy = 'REJECT_DUPLICATE' OR last_status IN ('COMPLETED', 'CONTINUED_AS_NEW')) THEN
            RETURN format('workflow %s already ran (last run %s) and id_reuse_policy is %s',
                          workflow_id, last_status, policy);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- The run a retried request already made, or NULL: the id's current run (the
-- open one, else the latest) if that request started it, or, for
-- signal-with-start, if it holds that request's signal. So a client may
-- repeat a start whose answer it lost and get the same run, as with
-- Temporal's request id.
CREATE OR REPLACE FUNCTION durable._same_request(namespace text, workflow_id text, request_id text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    cur durable.workflows;
BEGIN
    IF request_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO cur FROM durable.workflows w
     WHERE w.namespace = _same_request.namespace AND w.workflow_id = _same_request.workflow_id
     ORDER BY w.status = 'RUNNING' DESC, w.started_at DESC LIMIT 1
       FOR UPDATE;
    IF cur.request_id = request_id
       OR (cur.status = 'RUNNING'
           AND (EXISTS (SELECT 1 FROM durable.history h
                         WHERE h.run_id = cur.run_id AND h.event_type = 'WorkflowExecutionSignaled'
                           AND h.attributes ->> 'request_id' = request_id)
                OR EXISTS (SELECT 1 FROM durable.buffered_events b
                            WHERE b.run_id = cur.run_id AND b.event_type = 'WorkflowExecutionSignaled'
                              AND b.attributes ->> 'request_id' = request_id))) THEN
        RETURN cur.run_id;
    END IF;
    RETURN NULL;
END
$$;

-- The open run of an id, locked, or NULL. Found by its index whatever the
-- statistics say (durable._find_open_run, api/73_floor.sql), then locked by
-- its primary key, which gives its latest version: a run closed meanwhile is
-- not open.
CREATE OR REPLACE FUNCTION durable._open_run(namespace text, workflow_id text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    run uuid := durable._find_open_run(namespace, workflow_id);
    status text;
BEGIN
    IF run IS NOT NULL THEN
        SELECT w.status INTO status FROM durable.workflows w WHERE w.run_id = run FOR UPDATE;
    END IF;
    RETURN CASE WHEN status = 'RUNNING' THEN run END;
END
$$;

-- id_conflict_policy TERMINATE_EXISTING: terminates the open run of an id, if
-- any; true if it did. The new run then starts whatever the reuse policy
-- says, as in Temporal (the reuse policy is about closed runs).
CREATE OR REPLACE FUNCTION durable._terminate_existing(namespace text, workflow_id text, identity text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    open uuid := durable._open_run(namespace, workflow_id);
BEGIN
    IF open IS NULL THEN
        RETURN false;
    END IF;
    PERFORM durable._close_run(open, 'TERMINATED', 'WorkflowExecutionTerminated',
        jsonb_build_object('reason', 'terminated by a new start (id_conflict_policy TERMINATE_EXISTING)',
                           'identity', coalesce(identity, 'durable')));
    RETURN true;
END
$$;

-- Creates a run, its WorkflowExecutionStarted event (and an optional signal)
-- and its first workflow task. Returns NULL if a run with that id is open.
CREATE OR REPLACE FUNCTION durable._create_run(
    namespace text, workflow_id text, workflow_type text, task_queue text, input jsonb,
    options jsonb,
    first_run_id uuid DEFAULT NULL,
    continued_from_run_id uuid DEFAULT NULL,
    execution_started_at timestamptz DEFAULT NULL,
    parent_run_id uuid DEFAULT NULL,
    parent_workflow_id text DEFAULT NULL,
    parent_initiated_event_id bigint DEFAULT NULL,
    parent_close_policy text DEFAULT 'TERMINATE',
    signal_name text DEFAULT NULL,
    signal_input jsonb DEFAULT NULL,
    run_id uuid DEFAULT NULL,
    attempt integer DEFAULT 1)
RETURNS uuid LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    checked jsonb;   -- a payload _check_payload passed
    new_run uuid := coalesce(run_id, durable._new_run_id());
    now timestamptz := durable.now();
    -- zero means "not set" (no timeout), as in Temporal; the helpers only
    -- for the keys given (an absent one is NULL either way: a call each costs)
    execution_timeout interval := CASE WHEN options ? 'execution_timeout' THEN
        nullif(durable._json_interval(options, 'execution_timeout', 'start options'), interval '0') END;
    start_delay interval := CASE WHEN options ? 'start_delay' THEN
        nullif(durable._json_interval(options, 'start_delay', 'start options'), interval '0') END;
    retry_policy jsonb := CASE WHEN options ? 'retry_policy' THEN
        durable._retry_policy(options -> 'retry_policy', 'start options: "retry_policy"') END;
    run_timeout interval := CASE WHEN options ? 'run_timeout' THEN
        nullif(durable._json_interval(options, 'run_timeout', 'start options'), interval '0') END;
    task_timeout interval := coalesce(CASE WHEN options ? 'task_timeout' THEN
        durable._json_interval(options, 'task_timeout', 'start options') END, interval '10 seconds');
    exec_start timestamptz := coalesce(execution_started_at, now);
    -- the namespace's clock (16_namespace_clock.sql): started_at, and its
    -- WorkflowExecutionStarted event's time, exactly
    started timestamptz := now + durable._clock_offset(namespace);
    deadline timestamptz;
    inserted uuid;
    -- only the run a client started carries its request id (not a child's,
    -- a continued run's or a scheduled one's)
    request_id text := CASE WHEN continued_from_run_id IS NULL AND parent_run_id IS NULL
                            THEN options ->> 'request_id' END;
    -- optional attributes are written only when set
    request jsonb := CASE WHEN request_id IS NOT NULL THEN jsonb_build_object('request_id', request_id) ELSE '{}' END;
    delay jsonb := CASE WHEN start_delay IS NOT NULL
                        THEN jsonb_build_object('first_workflow_task_backoff', durable._seconds(start_delay)) ELSE '{}' END;
    prio record := durable._priority_options(options, 'start options');
BEGIN
    checked := durable._check_payload(input, 'workflow input');
    deadline := least(exec_start + execution_timeout, now + run_timeout);
    -- written directly, or by its INSERT ... ON CONFLICT DO NOTHING where that
    -- must (api/86_run_insert.sql): NULL when an open run of the id is there
    inserted := durable._insert_run(new_run, namespace, workflow_id, workflow_type, task_queue, input,
        coalesce(options -> 'memo', '{}'), coalesce(options -> 'search_attributes', '{}'),
        coalesce(first_run_id, new_run), continued_from_run_id, parent_run_id, parent_workflow_id,
        parent_initiated_event_id, coalesce(parent_close_policy, 'TERMINATE'), exec_start, started,
        execution_timeout, run_timeout, task_timeout, deadline, request_id, start_delay,
        prio.priority, prio.fairness_key, prio.fairness_weight,
        coalesce(_create_run.attempt, 1), retry_policy);
    IF inserted IS NULL THEN
        RETURN NULL;
    END IF;
    called := durable._namespace_seen(namespace, now)::text;   -- its retention applies (30_retention.sql)

    called := durable._append_at(new_run, 'WorkflowExecutionStarted', jsonb_build_object(
        'workflow_type', workflow_type,
        'task_queue', task_queue,
        'input', input,
        'workflow_execution_timeout', durable._seconds(execution_timeout),
        'workflow_run_timeout', durable._seconds(run_timeout),
        'workflow_task_timeout', durable._seconds(task_timeout),
        'first_execution_run_id', coalesce(first_run_id, new_run),
        'continued_execution_run_id', continued_from_run_id,
        'parent_workflow_id', parent_workflow_id,
        'parent_run_id', parent_run_id,
        'parent_initiated_event_id', parent_initiated_event_id,
        'memo', coalesce(options -> 'memo', '{}'),
        'search_attributes', coalesce(options -> 'search_attributes', '{}'),
        'identity', options ->> 'identity', 'attempt', coalesce(_create_run.attempt, 1)) || request || delay
        || durable._priority_json(prio.priority, prio.fairness_key, prio.fairness_weight)
        || CASE WHEN retry_policy IS NOT NULL THEN jsonb_build_object('retry_policy', retry_policy) ELSE '{}' END,
        started)::text;
    IF signal_name IS NOT NULL THEN
        PERFORM durable._append(new_run, 'WorkflowExecutionSignaled', jsonb_build_object(
            'signal_name', signal_name, 'input', signal_input, 'identity', options ->> 'identity') || request);
    END IF;
    IF start_delay IS NULL THEN
        called := durable._schedule_workflow_task(new_run)::text;
    ELSE
        -- Temporal's start delay (first_workflow_task_backoff): the first
        -- workflow task waits in BACKOFF, fired by the timer worker like a
        -- retried task's backoff, or ended early by a signal (_deliver).
        INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_at, timeout_at)
        VALUES (new_run, namespace, task_queue, 'BACKOFF', 1, now, now + start_delay);
        called := durable._wake_at(now + start_delay)::text;
    END IF;
    called := durable._wake_at(deadline)::text;
    -- a child, continued or retried run may stay on the build of the run it
    -- came from (60_build_ids.sql)
    IF coalesce(continued_from_run_id, parent_run_id) IS NOT NULL THEN
        PERFORM durable._inherit_build_id(coalesce(continued_from_run_id, parent_run_id), new_run);
    END IF;
    RETURN new_run;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_start_args(workflow_id text, workflow_type text, task_queue text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- every start passes: one expression instead of five calls (the checks
    -- below, which raise in this order, run only for a name that fails)
    IF octet_length(workflow_id) <= 255 AND octet_length(workflow_type) <= 255 AND octet_length(task_queue) <= 255
       AND workflow_id NOT IN ('', '.', '..') AND workflow_type <> '' AND task_queue NOT IN ('', '.', '..')
       AND NOT (workflow_id || task_queue) ~ '[/[:cntrl:]]' THEN
        RETURN;
    END IF;
    IF coalesce(workflow_id, '') = '' OR coalesce(workflow_type, '') = '' OR coalesce(task_queue, '') = '' THEN
        PERFORM durable._bad_input('workflow_id, workflow_type and task_queue must be non-empty',
            format('Got workflow_id %L, workflow_type %L, task_queue %L.', workflow_id, workflow_type, task_queue));
    END IF;
    PERFORM durable._check_name(workflow_id, 'workflow_id');
    PERFORM durable._check_name(workflow_type, 'workflow_type');
    PERFORM durable._check_name(task_queue, 'task_queue');
    PERFORM durable._check_path_name(workflow_id, 'workflow_id');
    PERFORM durable._check_path_name(task_queue, 'task_queue');
END
$$;

-- Namespaces come into being with their first start. "/" is refused because
-- a query is routed by "<namespace>/<task queue>": with a "/" in the namespace,
-- namespace "a/b" queue "c" and namespace "a" queue "b/c" would share a route.
CREATE OR REPLACE FUNCTION durable._check_namespace(namespace text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF namespace = 'default' THEN   -- most calls: no regular expression, no call
        RETURN;
    END IF;
    IF coalesce(namespace, '') = '' OR namespace ~ '[/[:cntrl:]]' THEN
        PERFORM durable._bad_input('namespace must be non-empty, without "/" or control characters',
            format('Got %L.', namespace));
    END IF;
    PERFORM durable._check_name(namespace, 'namespace');
END
$$;

-- start_workflow, in C on its common path (pgext/src/run_start.c): names
-- that pass the checks without a regular expression, no options; its steps
-- are this body's, which takes every other start (first_attempt 1), and
-- the second attempt of a start whose first lost its insert to a concurrent
-- start of the id (first_attempt 2).
CREATE OR REPLACE FUNCTION durable.start_workflow(
    workflow_id text, workflow_type text, task_queue text,
    input jsonb DEFAULT NULL, options jsonb DEFAULT '{}', namespace text DEFAULT 'default')
RETURNS uuid AS 'MODULE_PATHNAME', 'durable_start_workflow' LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION durable._start_workflow(
    workflow_id text, workflow_type text, task_queue text, input jsonb, options jsonb, namespace text,
    first_attempt integer)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    conflict text;
    run uuid;
    conflict_policy text;
    reuse_policy text;
BEGIN
    called := durable._check_start_args(workflow_id, workflow_type, task_queue)::text;
    called := durable._check_namespace(namespace)::text;
    called := durable._authorize('operator', NULL, namespace)::text;
    options := coalesce(options, '{}');
    called := durable._check_start_options(options)::text;
    conflict_policy := coalesce(options ->> 'id_conflict_policy', 'FAIL');
    reuse_policy := coalesce(options ->> 'id_reuse_policy', 'ALLOW_DUPLICATE');
    -- twice at most: a concurrent start of the same id may win the insert,
    -- and a second look (a new snapshot) then sees its run
    FOR attempt IN first_attempt..2 LOOP
        -- (each helper called only where it can find something: a call costs)
        run := coalesce(CASE WHEN options ? 'request_id'
                             THEN durable._same_request(namespace, workflow_id, options ->> 'request_id') END,
                        CASE WHEN conflict_policy = 'USE_EXISTING' THEN durable._open_run(namespace, workflow_id) END);
        IF run IS NOT NULL THEN
            RETURN run;
        END IF;
        IF conflict_policy = 'TERMINATE_EXISTING' AND durable._terminate_existing(namespace, workflow_id, options ->> 'identity') THEN
            reuse_policy := 'ALLOW_DUPLICATE';
        END IF;
        -- the default policy conflicts only with an open run, and most ids
        -- have none: one probe of its index says so
        conflict := CASE WHEN reuse_policy = 'ALLOW_DUPLICATE' AND durable._find_open_run(namespace, workflow_id) IS NULL
                         THEN NULL ELSE durable._start_conflict(namespace, workflow_id, reuse_policy) END;
        IF conflict IS NOT NULL THEN
            EXIT;
        END IF;
        -- _create_run, in C where the options need no parsing (api/88_run_start.sql)
        run := durable._start_run(namespace, workflow_id, workflow_type, task_queue, input, options);
        IF run IS NOT NULL THEN
            RETURN run;
        END IF;
        conflict := format('workflow %s was started concurrently', workflow_id);
    END LOOP;
    RAISE EXCEPTION 'workflow "%" already started', workflow_id
        USING ERRCODE = 'DU002', DETAIL = conflict || '.',
              HINT = 'Signal or wait for the running workflow, or choose another workflow_id, '
                     || 'id_conflict_policy (USE_EXISTING, TERMINATE_EXISTING) or id_reuse_policy.';
END
$$;

-- Signals the running run of an id, if there is one; returns its run id.
CREATE OR REPLACE FUNCTION durable._signal_running(namespace text, workflow_id text, signal_name text,
                                        signal_input jsonb, options jsonb)
RETURNS uuid LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    run uuid := durable._open_run(namespace, workflow_id);
BEGIN
    IF run IS NOT NULL THEN
        PERFORM durable._deliver(run, 'WorkflowExecutionSignaled', jsonb_strip_nulls(jsonb_build_object(
            'request_id', options ->> 'request_id')) || jsonb_build_object(
            'signal_name', signal_name, 'input', signal_input, 'identity', options ->> 'identity'));
    END IF;
    RETURN run;
END
$$;

-- A running id is signaled (Temporal's conflict policy USE_EXISTING, the
-- default here; FAIL is refused, as in Temporal: signal-with-start exists to
-- reach a running workflow), or terminated first (TERMINATE_EXISTING).
CREATE OR REPLACE FUNCTION durable.signal_with_start(
    workflow_id text, workflow_type text, task_queue text,
    signal_name text, signal_input jsonb DEFAULT NULL,
    input jsonb DEFAULT NULL, options jsonb DEFAULT '{}', namespace text DEFAULT 'default')
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    run uuid;
    conflict text;
    reuse_policy text;
BEGIN
    PERFORM durable._check_start_args(workflow_id, workflow_type, task_queue);
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    options := coalesce(options, '{}');
    PERFORM durable._check_start_options(options);
    IF options ->> 'id_conflict_policy' = 'FAIL' THEN
        PERFORM durable._bad_input('signal_with_start does not take id_conflict_policy FAIL',
            'It signals the running workflow of the id (USE_EXISTING, the default).',
            'Leave id_conflict_policy out, or use TERMINATE_EXISTING; start_workflow takes FAIL.');
    END IF;
    IF coalesce(signal_name, '') = '' THEN
        PERFORM durable._bad_input('signal_name must be non-empty');
    END IF;
    PERFORM durable._check_name(signal_name, 'signal_name');
    PERFORM durable._check_payload(signal_input, 'signal input');
    reuse_policy := coalesce(options ->> 'id_reuse_policy', 'ALLOW_DUPLICATE');
    run := durable._same_request(namespace, workflow_id, options ->> 'request_id');
    IF run IS NOT NULL THEN
        RETURN run;
    END IF;
    IF options ->> 'id_conflict_policy' = 'TERMINATE_EXISTING' THEN
        IF durable._terminate_existing(namespace, workflow_id, options ->> 'identity') THEN
            reuse_policy := 'ALLOW_DUPLICATE';
        END IF;
    ELSE
        run := durable._signal_running(namespace, workflow_id, signal_name, signal_input, options);
        IF run IS NOT NULL THEN
            RETURN run;
        END IF;
    END IF;
    conflict := durable._start_conflict(namespace, workflow_id, reuse_policy);
    IF conflict IS NULL THEN
        run := durable._create_run(namespace, workflow_id, workflow_type, task_queue, input, options,
                                   signal_name => signal_name, signal_input => signal_input);
        IF run IS NULL THEN
            -- Another transaction started this id meanwhile: the insert waited
            -- for it to commit, so this new snapshot sees its run. Signal it,
            -- as Temporal does; signal-with-start exists for such races.
            run := coalesce(durable._same_request(namespace, workflow_id, options ->> 'request_id'),
                            durable._signal_running(namespace, workflow_id, signal_name, signal_input, options));
            IF run IS NOT NULL THEN
                RETURN run;
            END IF;
        END IF;
    END IF;
    IF run IS NULL THEN
        RAISE EXCEPTION 'workflow "%" already started', workflow_id
            USING ERRCODE = 'DU002', DETAIL = coalesce(conflict, 'It was started concurrently.'),
                  HINT = 'Retry the call: the signal will go to the running workflow.';
    END IF;
    RETURN run;
END
$$;
