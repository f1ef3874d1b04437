-- Starting runs: start_workflow, signal_with_start, and the run creation that
-- child workflows and continue-as-new share.

CREATE OR REPLACE FUNCTION durable._check_start_options(options jsonb) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    policy text;
BEGIN
    PERFORM durable._check_keys(options,
        ARRAY['execution_timeout', 'run_timeout', 'task_timeout', 'id_reuse_policy',
              'memo', 'search_attributes', 'identity'], 'start options');
    PERFORM durable._json_interval(options, 'execution_timeout', 'start options');
    PERFORM durable._json_interval(options, 'run_timeout', 'start options');
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
    running durable.workflows;
    last_status text;
BEGIN
    SELECT * INTO running FROM durable.workflows w
     WHERE w.namespace = _start_conflict.namespace AND w.workflow_id = _start_conflict.workflow_id
       AND w.status = 'RUNNING'
     FOR UPDATE;
    IF FOUND THEN
        IF policy = 'TERMINATE_IF_RUNNING' THEN
            PERFORM durable._close_run(running.run_id, 'TERMINATED', 'WorkflowExecutionTerminated',
                jsonb_build_object('reason', 'terminated by a new start (TERMINATE_IF_RUNNING)',
                                   'identity', 'durable'));
        ELSE
            RETURN format('workflow %s is already running as run %s', workflow_id, running.run_id);
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
    run_id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    new_run uuid := coalesce(run_id, gen_random_uuid());
    now timestamptz := durable.now();
    -- zero means "not set" (no timeout), as in Temporal
    execution_timeout interval := nullif(durable._json_interval(options, 'execution_timeout', 'start options'), interval '0');
    run_timeout interval := nullif(durable._json_interval(options, 'run_timeout', 'start options'), interval '0');
    task_timeout interval := coalesce(durable._json_interval(options, 'task_timeout', 'start options'), interval '10 seconds');
    exec_start timestamptz := coalesce(execution_started_at, now);
    deadline timestamptz;
    inserted uuid;
BEGIN
    PERFORM durable._check_payload(input, 'workflow input');
    deadline := least(exec_start + execution_timeout, now + run_timeout);
    INSERT INTO durable.workflows AS w (run_id, namespace, workflow_id, workflow_type, task_queue, input,
        memo, search_attributes, first_run_id, continued_from_run_id, parent_run_id, parent_workflow_id,
        parent_initiated_event_id, parent_close_policy, execution_started_at, started_at,
        execution_timeout, run_timeout, task_timeout, deadline_at)
    VALUES (new_run, namespace, workflow_id, workflow_type, task_queue, input,
        coalesce(options -> 'memo', '{}'), coalesce(options -> 'search_attributes', '{}'),
        coalesce(first_run_id, new_run), continued_from_run_id, parent_run_id, parent_workflow_id,
        parent_initiated_event_id, coalesce(parent_close_policy, 'TERMINATE'), exec_start, now,
        execution_timeout, run_timeout, task_timeout, deadline)
    ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING
    RETURNING w.run_id INTO inserted;
    IF inserted IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM durable._namespace_seen(namespace, now);   -- its retention applies (30_retention.sql)

    PERFORM durable._append(new_run, 'WorkflowExecutionStarted', jsonb_build_object(
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
        'identity', options ->> 'identity'));
    IF signal_name IS NOT NULL THEN
        PERFORM durable._append(new_run, 'WorkflowExecutionSignaled', jsonb_build_object(
            'signal_name', signal_name, 'input', signal_input, 'identity', options ->> 'identity'));
    END IF;
    PERFORM durable._schedule_workflow_task(new_run);
    PERFORM durable._wake_at(deadline);
    RETURN new_run;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_start_args(workflow_id text, workflow_type text, task_queue text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
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
    IF coalesce(namespace, '') = '' OR namespace ~ '[/[:cntrl:]]' THEN
        PERFORM durable._bad_input('namespace must be non-empty, without "/" or control characters',
            format('Got %L.', namespace));
    END IF;
    PERFORM durable._check_name(namespace, 'namespace');
END
$$;

CREATE OR REPLACE FUNCTION durable.start_workflow(
    workflow_id text, workflow_type text, task_queue text,
    input jsonb DEFAULT NULL, options jsonb DEFAULT '{}', namespace text DEFAULT 'default')
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    conflict text;
    run uuid;
BEGIN
    PERFORM durable._check_start_args(workflow_id, workflow_type, task_queue);
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    PERFORM durable._check_start_options(coalesce(options, '{}'));
    conflict := durable._start_conflict(namespace, workflow_id, coalesce(options ->> 'id_reuse_policy', 'ALLOW_DUPLICATE'));
    IF conflict IS NULL THEN
        run := durable._create_run(namespace, workflow_id, workflow_type, task_queue, input, coalesce(options, '{}'));
        IF run IS NULL THEN
            conflict := format('workflow %s was started concurrently', workflow_id);
        END IF;
    END IF;
    IF conflict IS NOT NULL THEN
        RAISE EXCEPTION 'workflow "%" already started', workflow_id
            USING ERRCODE = 'DU002', DETAIL = conflict || '.',
                  HINT = 'Signal or wait for the running workflow, or choose another workflow_id or id_reuse_policy.';
    END IF;
    RETURN run;
END
$$;

-- Signals the running run of an id, if there is one; returns its run id.
CREATE OR REPLACE FUNCTION durable._signal_running(namespace text, workflow_id text, signal_name text,
                                        signal_input jsonb, identity text)
RETURNS uuid LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    run uuid;
BEGIN
    SELECT w.run_id INTO run FROM durable.workflows w
     WHERE w.namespace = namespace AND w.workflow_id = workflow_id AND w.status = 'RUNNING'
     FOR UPDATE;
    IF run IS NOT NULL THEN
        PERFORM durable._deliver(run, 'WorkflowExecutionSignaled', jsonb_build_object(
            'signal_name', signal_name, 'input', signal_input, 'identity', identity));
    END IF;
    RETURN run;
END
$$;

CREATE OR REPLACE FUNCTION durable.signal_with_start(
    workflow_id text, workflow_type text, task_queue text,
    signal_name text, signal_input jsonb DEFAULT NULL,
    input jsonb DEFAULT NULL, options jsonb DEFAULT '{}', namespace text DEFAULT 'default')
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    run uuid;
    conflict text;
BEGIN
    PERFORM durable._check_start_args(workflow_id, workflow_type, task_queue);
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    PERFORM durable._check_start_options(coalesce(options, '{}'));
    IF coalesce(signal_name, '') = '' THEN
        PERFORM durable._bad_input('signal_name must be non-empty');
    END IF;
    PERFORM durable._check_name(signal_name, 'signal_name');
    PERFORM durable._check_payload(signal_input, 'signal input');
    run := durable._signal_running(namespace, workflow_id, signal_name, signal_input, options ->> 'identity');
    IF run IS NOT NULL THEN
        RETURN run;
    END IF;
    conflict := durable._start_conflict(namespace, workflow_id, coalesce(options ->> 'id_reuse_policy', 'ALLOW_DUPLICATE'));
    IF conflict IS NULL THEN
        run := durable._create_run(namespace, workflow_id, workflow_type, task_queue, input, coalesce(options, '{}'),
                                   signal_name => signal_name, signal_input => signal_input);
        IF run IS NULL THEN
            -- Another transaction started this id meanwhile: the insert waited
            -- for it to commit, so this new snapshot sees its run. Signal it,
            -- as Temporal does; signal-with-start exists for such races.
            run := durable._signal_running(namespace, workflow_id, signal_name, signal_input, options ->> 'identity');
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
