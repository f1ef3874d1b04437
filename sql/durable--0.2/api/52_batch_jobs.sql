-- Batch jobs (Temporal's batch operations): signal, cancel, terminate, reset,
-- pause or unpause every workflow run a list filter matches. start_batch_job
-- fixes the runs (batch_job_items) and returns how many; the timer worker
-- (pgext/src/batch.c) then takes steps of durable._batch_step, each one
-- transaction acting on a few runs at the job's rate_per_second. A run the
-- operation refuses (closed meanwhile, say) is counted as failed with the
-- reason, and the job goes on. stop_batch_job ends a job early.

CREATE OR REPLACE FUNCTION durable._check_batch_arguments(operation text, arguments jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_typeof(arguments) IS DISTINCT FROM 'object' THEN
        PERFORM durable._bad_input('batch job arguments must be a JSON object', format('Got %s.', arguments),
            'Pass e.g. ''{"signal_name": "approve", "input": {"by": "ops"}}'' for a signal.');
    END IF;
    CASE operation
        WHEN 'signal' THEN
            PERFORM durable._check_keys(arguments, ARRAY['signal_name', 'input'], 'signal batch arguments');
            IF jsonb_typeof(arguments -> 'signal_name') IS DISTINCT FROM 'string' OR arguments ->> 'signal_name' = '' THEN
                PERFORM durable._bad_input('a signal batch job needs "signal_name"', NULL,
                    'Pass e.g. ''{"signal_name": "approve"}''.');
            END IF;
            PERFORM durable._check_name(arguments ->> 'signal_name', 'signal_name');
            PERFORM durable._check_payload(arguments -> 'input', 'signal input');
        WHEN 'cancel', 'pause', 'unpause' THEN
            PERFORM durable._check_keys(arguments, ARRAY['reason'], operation || ' batch arguments');
        WHEN 'terminate' THEN
            PERFORM durable._check_keys(arguments, ARRAY['reason', 'details'], 'terminate batch arguments');
            PERFORM durable._check_payload(arguments -> 'details', 'terminate details');
        WHEN 'reset' THEN
            PERFORM durable._check_keys(arguments, ARRAY['reset_type', 'reason'], 'reset batch arguments');
            IF (arguments ->> 'reset_type') IS DISTINCT FROM 'FirstWorkflowTask'
               AND (arguments ->> 'reset_type') IS DISTINCT FROM 'LastWorkflowTask' THEN
                PERFORM durable._bad_input('a reset batch job needs "reset_type": "FirstWorkflowTask" or "LastWorkflowTask"',
                    format('Got %s.', coalesce((arguments -> 'reset_type')::text, 'nothing')),
                    'Each run is reset to its first or its last completed (or failed) workflow task.');
            END IF;
    END CASE;
    IF arguments ? 'reason' AND jsonb_typeof(arguments -> 'reason') IS DISTINCT FROM 'string' THEN
        PERFORM durable._bad_input('"reason" must be a string');
    END IF;
    PERFORM durable._check_name(arguments ->> 'reason', 'reason', 4096);
END
$$;

CREATE OR REPLACE FUNCTION durable.start_batch_job(job_id text, operation text, query text,
                                                   arguments jsonb DEFAULT '{}', rate_per_second float8 DEFAULT 50,
                                                   namespace text DEFAULT 'default')
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    c record;
    total bigint;
    now timestamptz := durable.now();
    ns_now timestamptz;   -- what the job's record shows: its namespace's clock
BEGIN
    PERFORM durable._check_namespace(namespace);
    ns_now := now + durable._clock_offset(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    IF job_id IS NULL THEN
        PERFORM durable._bad_input('job_id must not be NULL');
    END IF;
    PERFORM durable._check_path_name(durable._check_name(job_id, 'job_id'), 'job_id');
    IF job_id = 'start' THEN
        PERFORM durable._bad_input('job_id "start" is reserved', NULL,
            'In durablefs, batches/start is the file that starts jobs: pick another id.');
    END IF;
    IF operation IS NULL OR operation NOT IN ('signal', 'cancel', 'terminate', 'reset', 'pause', 'unpause') THEN
        PERFORM durable._bad_input(format('unknown batch operation %s', coalesce(quote_literal(operation), 'NULL')), NULL,
            'Use signal, cancel, terminate, reset, pause or unpause.');
    END IF;
    IF query IS NULL THEN
        PERFORM durable._bad_input('query must not be NULL', NULL, 'Pass '''' for every workflow of the namespace.');
    END IF;
    IF rate_per_second IS NULL OR NOT (rate_per_second > 0 AND rate_per_second <= 100000) THEN
        PERFORM durable._bad_input('rate_per_second must be above 0 and at most 100000', format('Got %s.', rate_per_second));
    END IF;
    PERFORM durable._check_batch_arguments(operation, coalesce(arguments, '{}'));
    c := durable._compile_namespace_filter(query, namespace, false);
    IF EXISTS (SELECT 1 FROM durable.batch_jobs b WHERE b.namespace = namespace AND b.job_id = job_id) THEN
        RAISE EXCEPTION 'batch job "%" already exists in namespace "%"', job_id, namespace
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Pick another job_id; durable.list_batch_jobs() lists the jobs.';
    END IF;
    -- the runs, in a stable order (oldest first); ORDER BY of the query is ignored
    EXECUTE 'INSERT INTO durable.batch_job_items (namespace, job_id, seq, workflow_id, run_id)'
         || ' SELECT $2, $3, row_number() OVER (ORDER BY w.started_at, w.run_id), w.workflow_id, w.run_id'
         || ' FROM ' || durable._list_filter_from()
         || ' WHERE w.namespace = $2 AND ' || c.where_sql
    USING c.params, namespace, job_id;
    GET DIAGNOSTICS total = ROW_COUNT;
    INSERT INTO durable.batch_jobs AS b (namespace, job_id, operation, query, arguments, rate_per_second, state, total,
                                        created_by, created_at, updated_at, closed_at, next_step_at)
    VALUES (namespace, job_id, operation, query, coalesce(arguments, '{}'), rate_per_second,
            CASE WHEN total = 0 THEN 'COMPLETED' ELSE 'RUNNING' END, total,
            durable._role_name(durable._caller_role()), ns_now, ns_now,
            CASE WHEN total = 0 THEN ns_now END, CASE WHEN total > 0 THEN now END);
    IF total > 0 THEN
        PERFORM durable._wake_at(now);
    END IF;
    RETURN total;
END
$$;
COMMENT ON FUNCTION durable.start_batch_job(text, text, text, jsonb, float8, text) IS
    'durable_operator: signal, cancel, terminate, reset, pause or unpause every workflow run the list filter query matches now, in the background at rate_per_second; returns how many runs.';

CREATE OR REPLACE FUNCTION durable.stop_batch_job(job_id text, reason text DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    j durable.batch_jobs;
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    PERFORM durable._check_name(reason, 'reason', 4096);
    SELECT * INTO j FROM durable.batch_jobs b WHERE b.namespace = namespace AND b.job_id = job_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM durable._batch_job_not_found(namespace, job_id);
    END IF;
    IF j.state <> 'RUNNING' THEN
        RETURN false;   -- stopping a stopped or completed job changes nothing
    END IF;
    UPDATE durable.batch_jobs b SET state = 'STOPPED', reason = coalesce(stop_batch_job.reason, 'stopped'),
           closed_at = durable._now(namespace),
           updated_at = durable._now(namespace), next_step_at = NULL
     WHERE b.namespace = namespace AND b.job_id = job_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION durable.stop_batch_job(text, text, text) IS
    'durable_operator: stop a running batch job; the runs it has not reached are left alone. Returns false if it had already ended.';

CREATE OR REPLACE FUNCTION durable._batch_job_not_found(namespace text, job_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'batch job "%" not found in namespace "%"', job_id, namespace
        USING ERRCODE = 'undefined_object',
              HINT = 'durable.list_batch_jobs() lists the jobs.';
END
$$;

CREATE OR REPLACE FUNCTION durable.describe_batch_job(job_id text, namespace text DEFAULT 'default')
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    j durable.batch_jobs;
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('reader', NULL, namespace);
    SELECT * INTO j FROM durable.batch_jobs b WHERE b.namespace = namespace AND b.job_id = job_id;
    IF NOT FOUND THEN
        PERFORM durable._batch_job_not_found(namespace, job_id);
    END IF;
    RETURN jsonb_build_object(
        'job_id', j.job_id, 'namespace', j.namespace, 'operation', j.operation, 'query', j.query,
        'arguments', j.arguments, 'rate_per_second', j.rate_per_second, 'state', j.state,
        'total', j.total, 'done', j.done, 'failed', j.failed, 'pending', j.total - j.done - j.failed,
        'reason', j.reason, 'created_by', j.created_by, 'created_at', j.created_at,
        'updated_at', j.updated_at, 'closed_at', j.closed_at, 'next_step_at', j.next_step_at,
        -- the first failures, with why
        'failures', (SELECT coalesce(jsonb_agg(jsonb_build_object('workflow_id', i.workflow_id, 'run_id', i.run_id,
                                                                  'error', i.error, 'at', i.finished_at) ORDER BY i.seq), '[]')
                       FROM (SELECT * FROM durable.batch_job_items i
                              WHERE i.namespace = j.namespace AND i.job_id = j.job_id AND i.state = 'FAILED'
                              ORDER BY i.seq LIMIT 100) i));
END
$$;
COMMENT ON FUNCTION durable.describe_batch_job(text, text) IS
    'durable_operator: a batch job''s operation, filter, state, progress (total, done, failed, pending) and its first 100 failures.';

CREATE OR REPLACE FUNCTION durable.list_batch_jobs(namespace text DEFAULT 'default')
RETURNS TABLE (job_id text, operation text, state text, total bigint, done bigint, failed bigint,
               created_at timestamptz, closed_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._check_namespace($1);
    PERFORM durable._authorize('reader', NULL, $1);
    RETURN QUERY SELECT b.job_id, b.operation, b.state, b.total, b.done, b.failed, b.created_at, b.closed_at
                   FROM durable.batch_jobs b WHERE b.namespace = $1 ORDER BY b.job_id;
END
$$;
COMMENT ON FUNCTION durable.list_batch_jobs(text) IS
    'durable_operator: the batch jobs of a namespace with their state and progress.';

-- One run of a job: the operation, as its own SQL function, with the job's
-- identity in the history. Raises what the operation raises.
CREATE OR REPLACE FUNCTION durable._batch_apply(j durable.batch_jobs, it durable.batch_job_items) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    who text := 'batch job ' || j.job_id;
    why text := coalesce(j.arguments ->> 'reason', 'batch job ' || j.job_id);
    point bigint;
BEGIN
    CASE j.operation
        WHEN 'signal' THEN
            PERFORM durable.signal_workflow(it.workflow_id, j.arguments ->> 'signal_name', j.arguments -> 'input',
                                            it.run_id, j.namespace, who);
        WHEN 'cancel' THEN
            PERFORM durable.cancel_workflow(it.workflow_id, why, it.run_id, j.namespace, who);
        WHEN 'terminate' THEN
            PERFORM durable.terminate_workflow(it.workflow_id, why, j.arguments -> 'details', it.run_id, j.namespace, who);
        WHEN 'reset' THEN
            SELECT CASE WHEN j.arguments ->> 'reset_type' = 'FirstWorkflowTask' THEN min(h.event_id) ELSE max(h.event_id) END
              INTO point FROM durable.history h
             WHERE h.run_id = it.run_id
               AND h.event_type IN ('WorkflowTaskCompleted', 'WorkflowTaskFailed', 'WorkflowTaskTimedOut');
            IF point IS NULL THEN
                RAISE EXCEPTION 'run % has no completed workflow task to reset to', it.run_id
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
            PERFORM durable.reset_workflow(it.workflow_id, point, why, it.run_id, j.namespace, who);
        WHEN 'pause' THEN
            PERFORM durable.pause_workflow(it.workflow_id, why, it.run_id, j.namespace);
        WHEN 'unpause' THEN
            PERFORM durable.unpause_workflow(it.workflow_id, why, it.run_id, j.namespace);
    END CASE;
END
$$;

-- A step of the due batch job: up to max_items runs (fewer at a low rate:
-- a tenth of a second's worth), then the next step at the job's rate.
-- Returns when the next step of any job is due (NULL: no job is running).
CREATE OR REPLACE FUNCTION durable._batch_step(max_items integer) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    j durable.batch_jobs;
    it durable.batch_job_items;
    now timestamptz := durable.now();
    take integer;
    ok_n integer := 0;
    bad_n integer := 0;
    err text;
    more boolean;
    ns_now timestamptz;
BEGIN
    SELECT * INTO j FROM durable.batch_jobs b
     WHERE b.next_step_at <= now AND b.state = 'RUNNING'
     ORDER BY b.next_step_at LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        -- the job's and its items' times in its namespace's clock; its pace
        -- (next_step_at) is a rate limit on the server, in the server's time
        ns_now := now + durable._clock_offset(j.namespace);
        take := least(max_items, greatest(1, ceil(j.rate_per_second / 10)::integer));
        FOR it IN SELECT * FROM durable.batch_job_items i
                   WHERE i.namespace = j.namespace AND i.job_id = j.job_id AND i.state = 'PENDING'
                   ORDER BY i.seq LIMIT take LOOP
            BEGIN
                PERFORM durable._batch_apply(j, it);
                UPDATE durable.batch_job_items i SET state = 'DONE', finished_at = ns_now
                 WHERE i.namespace = it.namespace AND i.job_id = it.job_id AND i.seq = it.seq;
                ok_n := ok_n + 1;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
                UPDATE durable.batch_job_items i SET state = 'FAILED', error = left(err, 1000), finished_at = ns_now
                 WHERE i.namespace = it.namespace AND i.job_id = it.job_id AND i.seq = it.seq;
                bad_n := bad_n + 1;
            END;
        END LOOP;
        more := EXISTS (SELECT 1 FROM durable.batch_job_items i
                         WHERE i.namespace = j.namespace AND i.job_id = j.job_id AND i.state = 'PENDING');
        UPDATE durable.batch_jobs b
           SET done = b.done + ok_n, failed = b.failed + bad_n, updated_at = ns_now,
               state = CASE WHEN more THEN 'RUNNING' ELSE 'COMPLETED' END,
               closed_at = CASE WHEN more THEN NULL ELSE ns_now END,
               next_step_at = CASE WHEN more THEN now + make_interval(secs => (ok_n + bad_n) / j.rate_per_second) END
         WHERE b.namespace = j.namespace AND b.job_id = j.job_id;
    END IF;
    RETURN (SELECT min(b.next_step_at) FROM durable.batch_jobs b WHERE b.next_step_at IS NOT NULL);
END
$$;

GRANT EXECUTE ON FUNCTION
    durable.start_batch_job(text, text, text, jsonb, float8, text),
    durable.stop_batch_job(text, text, text),
    durable.describe_batch_job(text, text),
    durable.list_batch_jobs(text)
TO durable_operator;
