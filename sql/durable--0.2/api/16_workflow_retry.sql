-- Workflow retry (Temporal's workflow RetryPolicy): a run that fails, or
-- whose run timeout passes, is retried as a new run of the same workflow id
-- after a backoff, with attempt + 1, until the policy says stop. The failed
-- run closes as FAILED (or TIMED_OUT) with new_execution_run_id naming the
-- retry, like a continue-as-new link; a parent and a schedule hear only of
-- the last run's close (04_close.sql).

-- A retry policy (a workflow's, or an activity's: 06_commands.sql), checked
-- and with Temporal's defaults filled in (initial interval 1 s, coefficient
-- 2.0, maximum 100 x initial, unlimited attempts), as the JSON durable
-- records; NULL for none.
CREATE OR REPLACE FUNCTION durable._retry_policy(rp jsonb, what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    initial interval;
    backoff float8;
    max_interval interval;
    max_attempts float8;
    non_retryable jsonb := '[]';
BEGIN
    IF rp IS NULL OR jsonb_typeof(rp) = 'null' THEN
        RETURN NULL;
    END IF;
    PERFORM durable._check_keys(rp, ARRAY['initial_interval', 'backoff_coefficient', 'maximum_interval',
        'maximum_attempts', 'non_retryable_error_types'], what);
    initial := nullif(durable._json_interval(rp, 'initial_interval', what), interval '0');
    backoff := durable._json_number(rp, 'backoff_coefficient', what);
    max_interval := nullif(durable._json_interval(rp, 'maximum_interval', what), interval '0');
    max_attempts := durable._json_number(rp, 'maximum_attempts', what);
    non_retryable := coalesce(to_jsonb(durable._non_retryable_error_types(rp)), non_retryable);
    initial := coalesce(initial, interval '1 second');
    backoff := coalesce(backoff, 2.0);
    max_interval := coalesce(max_interval, least(initial * 100, interval '36525 days'));
    max_attempts := coalesce(max_attempts, 0);
    IF backoff < 1 OR backoff > 1000 THEN
        PERFORM durable._bad_input(format('%s: "backoff_coefficient" must be from 1 to 1000', what),
            format('Got %s.', backoff), '2.0 doubles the wait after each attempt.');
    END IF;
    IF max_interval < initial THEN
        PERFORM durable._bad_input(format('%s: "maximum_interval" must not be less than "initial_interval"', what),
            format('Got %s and %s.', rp -> 'maximum_interval', rp -> 'initial_interval'));
    END IF;
    IF max_attempts < 0 OR max_attempts <> trunc(max_attempts) OR max_attempts > 2147483647 THEN
        PERFORM durable._bad_input(format('%s: "maximum_attempts" must be a non-negative integer', what),
            format('Got %s.', max_attempts), '0 means unlimited.');
    END IF;
    RETURN jsonb_build_object('initial_interval', durable._seconds(initial), 'backoff_coefficient', backoff,
        'maximum_interval', durable._seconds(max_interval), 'maximum_attempts', max_attempts::integer,
        'non_retryable_error_types', non_retryable);
END
$$;

-- Whether a closing run with a retry policy is retried: retry_state as
-- Temporal names it, and the backoff before the next attempt's first
-- workflow task when it is RETRY_STATE_IN_PROGRESS. Only FAILED and a run
-- timeout are retried; an execution timeout ends the whole execution,
-- retries included.
CREATE OR REPLACE FUNCTION durable._workflow_retry(w durable.workflows, status text, failure jsonb, attributes jsonb,
                                                   OUT retry_state text, OUT backoff interval)
LANGUAGE plpgsql AS $$
DECLARE
    rp jsonb := w.retry_policy;
    ln_delay float8;
    max_delay float8;
BEGIN
    IF rp IS NULL OR status NOT IN ('FAILED', 'TIMED_OUT') THEN
        RETURN;
    END IF;
    IF status = 'TIMED_OUT' AND attributes ->> 'timeout_type' IS DISTINCT FROM 'RUN' THEN
        retry_state := 'RETRY_STATE_TIMEOUT';
        RETURN;
    END IF;
    IF coalesce(failure ->> 'non_retryable', 'false') = 'true'
       OR (failure ->> 'type') IN (SELECT jsonb_array_elements_text(rp -> 'non_retryable_error_types')) THEN
        retry_state := 'RETRY_STATE_NON_RETRYABLE_FAILURE';
        RETURN;
    END IF;
    IF (rp ->> 'maximum_attempts')::integer > 0 AND w.attempt >= (rp ->> 'maximum_attempts')::integer THEN
        retry_state := 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED';
        RETURN;
    END IF;
    -- in logarithms, so that attempt 5000 does not overflow (as activities do)
    ln_delay := ln((rp ->> 'initial_interval')::float8) + (w.attempt - 1) * ln((rp ->> 'backoff_coefficient')::float8);
    max_delay := (rp ->> 'maximum_interval')::float8;
    backoff := make_interval(secs => CASE WHEN ln_delay >= ln(max_delay) THEN max_delay ELSE exp(ln_delay) END);
    IF w.execution_timeout IS NOT NULL AND durable.now() + backoff >= w.execution_started_at + w.execution_timeout THEN
        retry_state := 'RETRY_STATE_TIMEOUT';
        backoff := NULL;
        RETURN;
    END IF;
    retry_state := 'RETRY_STATE_IN_PROGRESS';
END
$$;

-- Starts the next attempt of a run that closed for a retry: same id, type,
-- queue, input, timeouts, memo, search attributes, priority, parent and policy; its
-- first workflow task waits out the backoff (as a start delay does).
CREATE OR REPLACE FUNCTION durable._retry_run(w durable.workflows, new_run uuid, backoff interval) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable._create_run(w.namespace, w.workflow_id, w.workflow_type, w.task_queue, w.input,
        jsonb_strip_nulls(jsonb_build_object(
            'execution_timeout', durable._seconds(w.execution_timeout),
            'run_timeout', durable._seconds(w.run_timeout),
            'task_timeout', durable._seconds(w.task_timeout),
            'memo', w.memo, 'search_attributes', w.search_attributes,
            'retry_policy', w.retry_policy, 'start_delay', durable._seconds(backoff)))
            || durable._priority_json(w.priority, w.fairness_key, w.fairness_weight),
        first_run_id => w.first_run_id, continued_from_run_id => w.run_id,
        execution_started_at => w.execution_started_at, parent_run_id => w.parent_run_id,
        parent_workflow_id => w.parent_workflow_id, parent_initiated_event_id => w.parent_initiated_event_id,
        parent_close_policy => w.parent_close_policy, run_id => new_run, attempt => w.attempt + 1);
    -- a schedule's overlap policy and buffered starts follow its run's retries
    IF w.search_attributes ? 'DurableScheduledById' THEN
        UPDATE durable.schedules sc SET last_run_id = new_run
         WHERE sc.namespace = w.namespace AND sc.schedule_id = w.search_attributes ->> 'DurableScheduledById'
           AND sc.last_run_id = w.run_id;
    END IF;
END
$$;
