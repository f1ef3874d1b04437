-- Client API: signal, cancel, terminate, describe, history, listing, queries.

-- Locks the run a client call addresses and checks that it is running.
CREATE OR REPLACE FUNCTION durable._lock_running(namespace text, workflow_id text, run_id uuid) RETURNS durable.workflows
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    w durable.workflows;
BEGIN
    SELECT * INTO w FROM durable.workflows wf
     WHERE wf.run_id = durable._resolve_run(namespace, workflow_id, run_id) FOR UPDATE;
    IF w.status <> 'RUNNING' THEN
        PERFORM durable._workflow_not_running(w);
    END IF;
    RETURN w;
END
$$;

CREATE OR REPLACE FUNCTION durable.signal_workflow(workflow_id text, signal_name text, input jsonb DEFAULT NULL,
                                        run_id uuid DEFAULT NULL, namespace text DEFAULT 'default',
                                        identity text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w durable.workflows;
BEGIN
    PERFORM durable._authorize('operator', NULL, namespace);
    IF coalesce(signal_name, '') = '' THEN
        PERFORM durable._bad_input('signal_name must be non-empty');
    END IF;
    PERFORM durable._check_name(signal_name, 'signal_name');
    PERFORM durable._check_name(identity, 'identity');
    PERFORM durable._check_payload(input, 'signal input');
    w := durable._lock_running(namespace, workflow_id, run_id);
    PERFORM durable._deliver(w.run_id, 'WorkflowExecutionSignaled', jsonb_build_object(
        'signal_name', signal_name, 'input', input, 'identity', coalesce(identity, session_user::text)));
END
$$;

-- Cooperative: the workflow sees WorkflowExecutionCancelRequested and decides.
-- Returns false when cancellation was already requested.
CREATE OR REPLACE FUNCTION durable.cancel_workflow(workflow_id text, reason text DEFAULT NULL, run_id uuid DEFAULT NULL,
                                        namespace text DEFAULT 'default', identity text DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w durable.workflows;
BEGIN
    PERFORM durable._authorize('operator', NULL, namespace);
    PERFORM durable._check_name(identity, 'identity');
    PERFORM durable._check_name(reason, 'reason', 4096);
    w := durable._lock_running(namespace, workflow_id, run_id);
    RETURN durable._request_cancel(w.run_id, reason, coalesce(identity, session_user::text));
END
$$;

-- Immediate: the run closes now; its activities, timers and workflow task go.
CREATE OR REPLACE FUNCTION durable.terminate_workflow(workflow_id text, reason text DEFAULT NULL, details jsonb DEFAULT NULL,
                                           run_id uuid DEFAULT NULL, namespace text DEFAULT 'default',
                                           identity text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w durable.workflows;
BEGIN
    PERFORM durable._authorize('operator', NULL, namespace);
    PERFORM durable._check_payload(details, 'termination details');
    PERFORM durable._check_name(identity, 'identity');
    PERFORM durable._check_name(reason, 'reason', 4096);
    w := durable._lock_running(namespace, workflow_id, run_id);
    PERFORM durable._close_run(w.run_id, 'TERMINATED', 'WorkflowExecutionTerminated', jsonb_build_object(
        'reason', reason, 'details', details, 'identity', coalesce(identity, session_user::text)));
END
$$;

CREATE OR REPLACE FUNCTION durable.describe_workflow(workflow_id text, run_id uuid DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    run uuid;
    result jsonb;
BEGIN
    PERFORM durable._authorize('reader', NULL, namespace);
    run := durable._resolve_run(namespace, workflow_id, run_id);
    SELECT jsonb_build_object(
        'namespace', w.namespace, 'workflow_id', w.workflow_id, 'run_id', w.run_id,
        'workflow_type', w.workflow_type, 'task_queue', w.task_queue, 'status', w.status,
        'started_at', w.started_at, 'closed_at', w.closed_at, 'execution_started_at', w.execution_started_at,
        'input', w.input, 'result', w.result, 'failure', w.failure, 'memo', w.memo,
        'search_attributes', w.search_attributes, 'first_run_id', w.first_run_id,
        'continued_from_run_id', w.continued_from_run_id, 'new_run_id', w.new_run_id,
        'parent', CASE WHEN w.parent_run_id IS NULL THEN NULL ELSE jsonb_build_object(
            'workflow_id', w.parent_workflow_id, 'run_id', w.parent_run_id,
            'initiated_event_id', w.parent_initiated_event_id, 'parent_close_policy', w.parent_close_policy) END,
        'execution_timeout', durable._seconds(w.execution_timeout), 'run_timeout', durable._seconds(w.run_timeout),
        'task_timeout', durable._seconds(w.task_timeout), 'deadline_at', w.deadline_at,
        'cancel_requested', w.cancel_requested, 'build_id', w.build_id, 'request_id', w.request_id,
        'start_delay', durable._seconds(w.start_delay), 'attempt', w.attempt, 'retry_policy', w.retry_policy,
        'priority', w.priority, 'fairness_key', nullif(w.fairness_key, ''), 'fairness_weight', w.fairness_weight,
        'paused', (SELECT jsonb_build_object('reason', p.reason, 'paused_by', p.paused_by, 'paused_at', p.paused_at)
                     FROM durable.workflow_pauses p WHERE p.run_id = w.run_id),
        'history_length', (SELECT max(h.event_id) FROM durable.history h WHERE h.run_id = w.run_id),
        'pending_workflow_task', (SELECT jsonb_build_object('state', t.state, 'attempt', t.attempt,
                'scheduled_at', t.scheduled_at, 'started_at', t.started_at, 'identity', t.identity,
                'timeout_at', t.timeout_at, 'last_failure', t.last_failure)
            FROM durable.workflow_tasks t WHERE t.run_id = w.run_id),
        'pending_activities', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'activity_id', a.activity_id, 'activity_type', a.activity_type, 'task_queue', a.task_queue,
                'scheduled_event_id', a.scheduled_event_id, 'state', a.state, 'attempt', a.attempt,
                'maximum_attempts', a.retry_maximum_attempts, 'scheduled_at', a.scheduled_at,
                'started_at', a.started_at, 'identity', a.identity, 'last_heartbeat_at', a.last_heartbeat_at,
                'heartbeat_details', a.heartbeat_details, 'last_failure', a.last_failure,
                'cancel_requested', a.cancel_requested, 'priority', a.priority,
                'fairness_key', nullif(a.fairness_key, ''), 'fairness_weight', a.fairness_weight,
                'paused', (SELECT jsonb_build_object('reason', p.reason, 'paused_by', p.paused_by, 'paused_at', p.paused_at)
                             FROM durable.activity_pauses p
                            WHERE p.run_id = a.run_id AND p.scheduled_event_id = a.scheduled_event_id),
                'options', durable._activity_options(a),
                'next_attempt_at', CASE WHEN a.state = 'BACKOFF' THEN a.timeout_at END,
                'deadline', a.timeout_at) ORDER BY a.scheduled_event_id), '[]')
            FROM durable.activity_tasks a WHERE a.run_id = w.run_id),
        'pending_timers', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'timer_id', tm.timer_id, 'started_event_id', tm.started_event_id, 'fire_at', tm.fire_at)
                ORDER BY tm.fire_at), '[]')
            FROM durable.timers tm WHERE tm.run_id = w.run_id),
        'pending_children', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'workflow_id', c.workflow_id, 'run_id', c.run_id, 'workflow_type', c.workflow_type,
                'initiated_event_id', c.parent_initiated_event_id, 'parent_close_policy', c.parent_close_policy)
                ORDER BY c.parent_initiated_event_id), '[]')
            FROM durable.workflows c WHERE c.parent_run_id = w.run_id AND c.status = 'RUNNING'),
        -- deadlines of this run the timer workers failed to fire (08_parking.sql)
        'parked', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'kind', p.kind, 'item', p.item, 'error', p.error, 'attempts', p.attempts,
                'due_at', p.due_at, 'parked_at', p.parked_at, 'retry_at', p.retry_at) ORDER BY p.parked_at), '[]')
            FROM durable.parked p WHERE p.run_id = w.run_id AND durable._still_parked(p)))
      INTO result
      FROM durable.workflows w WHERE w.run_id = run;
    RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION durable.get_history(workflow_id text, run_id uuid DEFAULT NULL, after_event_id bigint DEFAULT 0,
                                    max_events integer DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS TABLE (event_id bigint, event_type text, event_time timestamptz, attributes jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    run uuid;
BEGIN
    -- readers, and workers of the run's task queue (to replay it)
    IF NOT durable._may('reader', NULL, $5) THEN
        PERFORM durable._authorize('worker', (SELECT w.task_queue FROM durable.workflows w
                                               WHERE w.namespace = $5 AND w.workflow_id = $1
                                                 AND ($2 IS NULL OR w.run_id = $2)
                                               ORDER BY w.started_at DESC LIMIT 1), $5);
    END IF;
    run := durable._resolve_run($5, $1, $2);
    IF $4 < 0 THEN
        PERFORM durable._bad_input('max_events must not be negative', format('Got %s.', $4),
            'Pass NULL for all events.');
    END IF;
    RETURN QUERY SELECT h.event_id, h.event_type, h.event_time, h.attributes
                   FROM durable.history h
                  WHERE h.run_id = run AND h.event_id > coalesce($3, 0)
                  ORDER BY h.event_id
                  LIMIT $4;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_list_args(status text, search_attributes jsonb, page_size integer,
                                                    after_workflow_id text DEFAULT NULL, query text DEFAULT NULL,
                                                    after_run_id uuid DEFAULT NULL)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF query IS NULL AND after_run_id IS NOT NULL THEN
        PERFORM durable._bad_input('after_run_id pages a query', NULL,
            'Without a query, pass the last workflow_id of a page as after_workflow_id.');
    END IF;
    IF query IS NOT NULL AND after_workflow_id IS NOT NULL THEN
        PERFORM durable._bad_input('after_workflow_id does not page a query', NULL,
            'A query lists runs: pass the last run_id of a page as after_run_id.');
    END IF;
    IF status IS NOT NULL AND status NOT IN ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED',
                                             'TIMED_OUT', 'CONTINUED_AS_NEW') THEN
        PERFORM durable._bad_input(format('unknown workflow status "%s"', status), NULL,
            'Use RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT or CONTINUED_AS_NEW.');
    END IF;
    IF search_attributes IS NOT NULL AND jsonb_typeof(search_attributes) <> 'object' THEN
        PERFORM durable._bad_input('search_attributes must be a JSON object to match');
    END IF;
    IF page_size IS NULL OR page_size < 1 OR page_size > 100000 THEN
        PERFORM durable._bad_input('page_size must be between 1 and 100000', format('Got %s.', page_size));
    END IF;
END
$$;

-- One row per workflow id (its latest run), in workflow_id order, a page at a
-- time: pass the last workflow_id of a page as after_workflow_id for the next.
-- LANGUAGE sql, not plpgsql: the filters share names with the result columns,
-- which PL/pgSQL refuses to compile ("parameter name used more than once").
-- With a query (the list filter language, 51_list_filter.sql) it lists runs
-- instead, as Temporal's visibility does, in the query's ORDER BY (newest
-- first by default): pass the last run_id of a page as after_run_id.
CREATE OR REPLACE FUNCTION durable.list_workflows(
    status text DEFAULT NULL, workflow_type text DEFAULT NULL, task_queue text DEFAULT NULL,
    started_after timestamptz DEFAULT NULL, started_before timestamptz DEFAULT NULL,
    search_attributes jsonb DEFAULT NULL, after_workflow_id text DEFAULT NULL,
    page_size integer DEFAULT 1000, namespace text DEFAULT 'default',
    query text DEFAULT NULL, after_run_id uuid DEFAULT NULL)
RETURNS TABLE (workflow_id text, run_id uuid, workflow_type text, task_queue text, status text,
               started_at timestamptz, closed_at timestamptz, search_attributes jsonb, memo jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT durable._authorize('reader', NULL, $9);
    SELECT durable._check_list_args($1, $6, $8, $7, $10, $11);
    (SELECT l.workflow_id, l.run_id, l.workflow_type, l.task_queue, l.status, l.started_at, l.closed_at,
            l.search_attributes, l.memo
       FROM (SELECT DISTINCT ON (w.workflow_id) w.*
               FROM durable.workflows w
              -- one index condition whatever the page: ids are never empty, and an
              -- "$7 IS NULL OR ..." would make every page scan from the first id
              WHERE w.namespace = $9 AND w.workflow_id > coalesce($7, '')
              ORDER BY w.workflow_id, w.started_at DESC) l
      WHERE $10 IS NULL
        AND ($1 IS NULL OR l.status = $1)
        AND ($2 IS NULL OR l.workflow_type = $2)
        AND ($3 IS NULL OR l.task_queue = $3)
        AND ($4 IS NULL OR l.started_at >= $4)
        AND ($5 IS NULL OR l.started_at < $5)
        AND ($6 IS NULL OR l.search_attributes @> $6)
      ORDER BY l.workflow_id
      LIMIT $8)
    UNION ALL
    SELECT * FROM durable._list_workflows_by_filter($10, $9, $11, $8, $1, $2, $3, $4, $5, $6)
     WHERE $10 IS NOT NULL;
$$;

-- Task queues with work or pollers: backlog and recent pollers, for operators.
-- A poller counts for a minute after its last poll (workers poll at least
-- every few seconds, idle ones too), then drops out here, and so from the
-- mount's "pollers" and the metrics, which read this.
CREATE OR REPLACE FUNCTION durable.list_task_queues(namespace text DEFAULT 'default')
RETURNS TABLE (task_queue text, workflow_backlog bigint, activity_backlog bigint,
               activities_running bigint, pollers jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT durable._authorize('reader', NULL, $1);
    WITH queues AS (
        SELECT task_queue FROM durable.workflow_tasks WHERE namespace = $1
        UNION SELECT task_queue FROM durable.activity_tasks WHERE namespace = $1
        UNION SELECT task_queue FROM durable.task_queue_pollers
               WHERE namespace = $1 AND last_poll_at > durable.now() - interval '1 minute'
    )
    SELECT q.task_queue,
           (SELECT count(*) FROM durable.workflow_tasks t
             WHERE t.namespace = $1 AND t.task_queue = q.task_queue AND t.state = 'SCHEDULED'),
           (SELECT count(*) FROM durable.activity_tasks a
             WHERE a.namespace = $1 AND a.task_queue = q.task_queue AND a.state = 'SCHEDULED'),
           (SELECT count(*) FROM durable.activity_tasks a
             WHERE a.namespace = $1 AND a.task_queue = q.task_queue AND a.state = 'STARTED'),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('identity', p.identity, 'kind', p.kind,
                                                         'last_poll_at', p.last_poll_at)
                                      ORDER BY p.kind, p.identity), '[]')
              FROM durable.task_queue_pollers p
             WHERE p.namespace = $1 AND p.task_queue = q.task_queue
               AND p.last_poll_at > durable.now() - interval '1 minute')
      FROM queues q ORDER BY q.task_queue
$$;

-- Queries: the caller waits (up to timeout_ms) while a worker of the run's
-- task queue replays the workflow and answers.
CREATE OR REPLACE FUNCTION durable.query_workflow(workflow_id text, query_type text, args jsonb DEFAULT NULL,
                                       run_id uuid DEFAULT NULL, timeout_ms integer DEFAULT 5000,
                                       namespace text DEFAULT 'default')
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    w durable.workflows;
BEGIN
    PERFORM durable._authorize('reader', NULL, namespace);
    IF coalesce(query_type, '') = '' THEN
        PERFORM durable._bad_input('query_type must be non-empty');
    END IF;
    PERFORM durable._check_name(query_type, 'query_type');
    IF query_type = '__update' THEN   -- reserved for durable.update_workflow (15_updates.sql)
        PERFORM durable._bad_input('query_type "__update" is reserved', NULL, 'Call durable.update_workflow to update.');
    END IF;
    -- _query_post is STRICT: a NULL timeout would return NULL as if answered
    IF timeout_ms IS NULL OR timeout_ms < 1 OR timeout_ms > 600000 THEN
        PERFORM durable._bad_input('timeout_ms must be between 1 and 600000', format('Got %s.', coalesce(timeout_ms::text, 'NULL')),
            'A query waits at most ten minutes for a worker.');
    END IF;
    SELECT * INTO w FROM durable.workflows wf WHERE wf.run_id = durable._resolve_run(namespace, workflow_id, run_id);
    RETURN durable._query_post(durable._query_queue_of(w), w.namespace, w.workflow_id, w.run_id::text,
                               query_type, coalesce(args, 'null'::jsonb)::text, timeout_ms)::jsonb;
END
$$;

-- Each query comes with a query_token: the only way to answer it.
CREATE OR REPLACE FUNCTION durable.poll_query_tasks(task_queue text, identity text, max_tasks integer DEFAULT 1,
                                         wait_ms integer DEFAULT 0, namespace text DEFAULT 'default',
                                         build_id text DEFAULT NULL)
RETURNS TABLE (query_token text, workflow_id text, run_id uuid, query_type text, args jsonb, history jsonb,
               workflow_type text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q record;
BEGIN
    PERFORM durable._check_poll_args($1, $2, $3);
    IF $4 IS NULL OR $4 < 0 OR $4 > 600000 THEN
        PERFORM durable._bad_input('wait_ms must be between 0 and 600000', format('Got %s.', $4));
    END IF;
    PERFORM durable._check_build_id($6);
    PERFORM durable._authorize('worker', $1, $5);
    FOR q IN SELECT * FROM durable._query_take(durable._query_queue($5, $1, $6), $3, $4) LOOP
        query_token := q.query_token;
        workflow_id := q.workflow_id;
        run_id := q.run_id::uuid;
        query_type := q.query_type;
        args := q.args::jsonb;
        history := durable._history_json(q.run_id::uuid, 0);
        workflow_type := (SELECT w.workflow_type FROM durable.workflows w WHERE w.run_id = q.run_id::uuid);
        RETURN NEXT;
    END LOOP;
END
$$;

-- error, when not NULL, is the message of a failed query (the caller gets
-- SQLSTATE DU006 with it); otherwise answer is returned to the caller. Only
-- the token poll_query_tasks handed out with the query answers it; any
-- other token is refused with DU004 and the caller never sees its answer.
CREATE OR REPLACE FUNCTION durable.answer_query_task(query_token text, answer jsonb, error text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF query_token IS NULL THEN
        PERFORM durable._bad_input('query_token must not be null', NULL,
            'Pass the query_token that poll_query_tasks returned.');
    END IF;
    IF NOT durable._query_answer(query_token, coalesce(error, coalesce(answer, 'null'::jsonb)::text), error IS NOT NULL) THEN
        RAISE EXCEPTION 'query is not waiting for an answer with this token'
            USING ERRCODE = 'DU004',
                  DETAIL = 'The caller timed out or was canceled, the query was answered already, or the token was never handed out.',
                  HINT = 'Discard the answer; answer only queries that poll_query_tasks gave this worker.';
    END IF;
END
$$;
