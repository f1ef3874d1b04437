-- Activity tasks: lease, complete, fail (with the retry policy), heartbeat,
-- report cancellation, and a batched completion that never aborts the batch.

CREATE OR REPLACE FUNCTION durable.poll_activity_tasks(task_queue text, identity text, max_tasks integer DEFAULT 1,
                                            namespace text DEFAULT 'default')
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, activity_id text, activity_type text,
               input jsonb, attempt integer, scheduled_at timestamptz, started_at timestamptz,
               deadline timestamptz, heartbeat_timeout float8, heartbeat_details jsonb, last_failure jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
    limited bigint[];
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
BEGIN
    called := durable._check_poll_args($1, $2, $3)::text;
    called := durable._authorize('worker', $1, $4)::text;
    called := durable._record_poller($4, $1, 'activity', $2)::text;
    -- a queue with limits (api/40_flow_limits.sql) picks its own tasks; the
    -- rest pay one index probe for this. Two statements, not one with a
    -- branch on `limited` inside: plpgsql would then plan the common one
    -- afresh on every call.
    IF EXISTS (SELECT 1 FROM durable.task_queue_limits l WHERE l.namespace = $4 AND l.task_queue = $1) THEN
        limited := durable._pick_limited_activity_tasks($4, $1, $3, now);
        RETURN QUERY SELECT * FROM durable._lease_activity_tasks(limited, $2, now);
        RETURN;
    END IF;
    -- The pick and the lease: the queue's ready index scanned in priority
    -- order, each task no other transaction holds (SKIP LOCKED) leased,
    -- the rows by task id; in C (api/88_activity_lease.sql), which runs the
    -- statement this was before session 12 where it must.
    RETURN QUERY SELECT * FROM durable._lease_activity_scan($4, $1, $3, $2, now);
END
$$;

-- Locks the run of a started activity task by its token, or returns NULL
-- when the token no longer holds the lease. The caller has checked that the
-- caller may work on the task's queue. The task row is read, not locked: a
-- started task's state and fence change only under its run's lock (the
-- poll leases SCHEDULED ones only), and what others write to it unlocked
-- (a heartbeat, a deadline moved) the caller's update or delete waits for.
CREATE OR REPLACE FUNCTION durable._try_lock_activity_task(task_token text) RETURNS durable.activity_tasks
LANGUAGE plpgsql AS $$
DECLARE
    tok record;
    run uuid;
    a durable.activity_tasks;
BEGIN
    tok := durable._parse_token(task_token, 'a');
    SELECT t.run_id INTO run FROM durable.activity_tasks t WHERE t.task_id = tok.task_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM durable.workflows w WHERE w.run_id = run FOR UPDATE;
    SELECT * INTO a FROM durable.activity_tasks t WHERE t.task_id = tok.task_id;
    IF NOT FOUND OR a.fence <> tok.fence OR a.state <> 'STARTED' THEN
        RETURN NULL;
    END IF;
    RETURN a;
END
$$;

-- Raises 42501, before locking anything, for a task of a queue the caller
-- may not work on, and DU004 when the token no longer holds the lease.
CREATE OR REPLACE FUNCTION durable._lock_activity_task(task_token text) RETURNS durable.activity_tasks
LANGUAGE plpgsql AS $$
DECLARE
    ns text;
    queue text;
    a durable.activity_tasks;
BEGIN
    SELECT t.namespace, t.task_queue INTO ns, queue FROM durable.activity_tasks t
     WHERE t.task_id = (durable._parse_token(task_token, 'a')).task_id;
    IF FOUND THEN
        PERFORM durable._authorize('worker', queue, ns);
    END IF;
    a := durable._try_lock_activity_task(task_token);
    IF a.task_id IS NULL THEN
        PERFORM durable._lease_lost('activity', task_token);
    END IF;
    RETURN a;
END
$$;

-- Temporal's retry rule: the next attempt waits initial * coefficient^(attempt-1),
-- at most maximum_interval; no retry for non-retryable failures, after
-- maximum_attempts, after a cancel request, or past schedule_to_close.
CREATE OR REPLACE FUNCTION durable._activity_retry(a durable.activity_tasks, failure jsonb,
                                        OUT retry_state text, OUT retry_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    initial float8 := durable._seconds(a.retry_initial_interval);
    maximum float8 := durable._seconds(a.retry_maximum_interval);
    ln_delay float8;
    delay float8;
BEGIN
    IF a.cancel_requested THEN
        retry_state := 'RETRY_STATE_CANCEL_REQUESTED';
        RETURN;
    END IF;
    IF coalesce(failure ->> 'non_retryable', 'false') = 'true'
       OR (failure ->> 'type') = ANY (a.non_retryable_error_types) THEN
        retry_state := 'RETRY_STATE_NON_RETRYABLE_FAILURE';
        RETURN;
    END IF;
    IF a.retry_maximum_attempts > 0 AND a.attempt >= a.retry_maximum_attempts THEN
        retry_state := 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED';
        RETURN;
    END IF;
    -- in logarithms, so that attempt 5000 does not overflow
    ln_delay := ln(initial) + (a.attempt - 1) * ln(a.retry_backoff_coefficient);
    delay := CASE WHEN ln_delay >= ln(maximum) THEN maximum ELSE exp(ln_delay) END;
    retry_at := durable.now() + make_interval(secs => delay);
    IF a.schedule_to_close_timeout IS NOT NULL AND retry_at >= a.scheduled_at + a.schedule_to_close_timeout THEN
        retry_state := 'RETRY_STATE_TIMEOUT';
        retry_at := NULL;
        RETURN;
    END IF;
    retry_state := 'RETRY_STATE_IN_PROGRESS';
END
$$;

-- Puts a failed attempt into backoff until retry_at.
CREATE OR REPLACE FUNCTION durable._activity_backoff(a durable.activity_tasks, failure jsonb, retry_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE durable.activity_tasks t
       SET state = 'BACKOFF', attempt = a.attempt + 1, last_failure = failure, identity = NULL,
           started_at = NULL, timeout_at = retry_at
     WHERE t.task_id = a.task_id;
    PERFORM durable._wake_at(retry_at);
    IF durable._activity_held(a.run_id, a.scheduled_event_id) THEN   -- 41_pause.sql
        PERFORM durable._hold_activity(a);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_failure(failure jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF failure IS NULL OR jsonb_typeof(failure) <> 'object' OR jsonb_typeof(failure -> 'message') IS DISTINCT FROM 'string' THEN
        PERFORM durable._bad_input('failure must be a JSON object with a "message" string',
            format('Got %s.', coalesce(failure::text, 'NULL')),
            'Pass e.g. ''{"message": "card declined", "type": "CardDeclined", "non_retryable": true}''.');
    END IF;
    PERFORM durable._check_payload(failure, 'failure');
END
$$;

-- The three ways a worker ends an attempt, without raising on a lost lease
-- (the batch function reports it per task). Returns the outcome.
CREATE OR REPLACE FUNCTION durable._finish_activity(a durable.activity_tasks, kind text, payload jsonb, identity text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    retry_state text;
    retry_at timestamptz;
BEGIN
    PERFORM durable._check_name(identity, 'identity');
    PERFORM durable._slot_freed(a.namespace, a.task_queue);
    IF kind = 'failure' THEN
        SELECT r.retry_state, r.retry_at INTO retry_state, retry_at FROM durable._activity_retry(a, payload) r;
        IF retry_at IS NOT NULL THEN
            PERFORM durable._activity_backoff(a, payload, retry_at);
            RETURN 'RETRYING';
        END IF;
    END IF;
    PERFORM durable._drop_activity_task(a);   -- with its pause, 41_pause.sql
    IF kind = 'result' THEN
        PERFORM durable._deliver_activity_outcome(a, 'ActivityTaskCompleted', jsonb_build_object(
            'scheduled_event_id', a.scheduled_event_id, 'result', payload, 'identity', coalesce(identity, a.identity)));
        RETURN 'COMPLETED';
    ELSIF kind = 'canceled' OR retry_state = 'RETRY_STATE_CANCEL_REQUESTED' THEN
        PERFORM durable._deliver_activity_outcome(a, 'ActivityTaskCanceled', jsonb_build_object(
            'scheduled_event_id', a.scheduled_event_id, 'details', payload, 'identity', coalesce(identity, a.identity)));
        RETURN 'CANCELED';
    END IF;
    PERFORM durable._deliver_activity_outcome(a, 'ActivityTaskFailed', jsonb_build_object(
        'scheduled_event_id', a.scheduled_event_id, 'failure', payload, 'retry_state', retry_state,
        'identity', coalesce(identity, a.identity)));
    RETURN 'FAILED';
END
$$;

CREATE OR REPLACE FUNCTION durable.complete_activity_task(task_token text, result jsonb DEFAULT NULL, identity text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._check_payload(result, 'activity result');
    PERFORM durable._finish_activity(durable._lock_activity_task(task_token), 'result', result, identity);
END
$$;

-- Returns RETRYING when another attempt is scheduled, FAILED or CANCELED when
-- the failure went to the workflow.
CREATE OR REPLACE FUNCTION durable.fail_activity_task(task_token text, failure jsonb, identity text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._check_failure(failure);
    RETURN durable._finish_activity(durable._lock_activity_task(task_token), 'failure', failure, identity);
END
$$;

-- The worker stopped the activity because cancellation was requested. As in
-- Temporal, an activity that was not asked to cancel cannot report itself
-- canceled (it completes or fails instead).
CREATE OR REPLACE FUNCTION durable.cancel_activity_task(task_token text, details jsonb DEFAULT NULL, identity text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a durable.activity_tasks;
BEGIN
    PERFORM durable._check_payload(details, 'cancellation details');
    a := durable._lock_activity_task(task_token);
    IF NOT a.cancel_requested THEN
        RAISE EXCEPTION 'activity cancellation was not requested'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Activity %s (%s) of workflow %s was not asked to cancel.',
                                  a.activity_id, a.activity_type, a.workflow_id),
                  HINT = 'Report canceled only after heartbeat_activity_task returned true; otherwise complete or fail the task.';
    END IF;
    PERFORM durable._finish_activity(a, 'canceled', details, identity);
END
$$;

-- Records progress and extends the heartbeat deadline. Returns true when the
-- workflow asked to cancel this activity: the worker should stop and call
-- cancel_activity_task.
CREATE OR REPLACE FUNCTION durable.heartbeat_activity_task(task_token text, details jsonb DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tok record := durable._parse_token(task_token, 'a');
    now timestamptz := durable.now();
    cancel boolean;
    ns text;
    queue text;
BEGIN
    PERFORM durable._check_payload(details, 'heartbeat details');
    UPDATE durable.activity_tasks a
       SET last_heartbeat_at = now, heartbeat_details = coalesce(details, a.heartbeat_details),
           timeout_at = least(a.started_at + a.start_to_close_timeout,
                              a.scheduled_at + a.schedule_to_close_timeout,
                              now + a.heartbeat_timeout)
     WHERE a.task_id = tok.task_id AND a.fence = tok.fence AND a.state = 'STARTED'
    RETURNING a.cancel_requested, a.namespace, a.task_queue INTO cancel, ns, queue;
    IF NOT FOUND THEN
        PERFORM durable._lease_lost('activity', task_token);
    END IF;
    -- after the update, which is one statement on the hot path; a refusal
    -- rolls it back
    PERFORM durable._authorize('worker', queue, ns);
    RETURN cancel;
END
$$;

-- A failure or a cancellation, one item of complete_activity_tasks: the
-- general path, which reports a lost lease and a cancellation not asked for
-- in the item's row (outcome, error) instead of raising.
CREATE OR REPLACE FUNCTION durable._complete_activity_other(task_token text, kind text, payload jsonb, identity text,
                                                            OUT outcome text, OUT error text)
LANGUAGE plpgsql AS $$
DECLARE
    a durable.activity_tasks;
BEGIN
    a := durable._try_lock_activity_task(task_token);
    IF a.task_id IS NULL THEN
        outcome := 'LEASE_LOST';
        error := 'activity task lease is no longer held';
    ELSIF kind = 'canceled' AND NOT a.cancel_requested THEN
        outcome := 'INVALID';
        error := 'activity cancellation was not requested';
    ELSE
        outcome := durable._finish_activity(a, kind, payload, identity);
    END IF;
END
$$;

-- Many outcomes in one transaction: [{"task_token": ..., "result": ...} |
-- {"task_token": ..., "failure": {...}} | {"task_token": ..., "canceled": ...}].
-- A lost lease, a bad item or a task of a queue the caller may not work on
-- (DENIED) is reported in its row and does not abort the rest.
-- Rows come back in the order of the items, but the items are applied run
-- by run (in the given order within a run): each one locks its run until
-- commit, and two batches that reach the same runs in different orders
-- (workers completing activities of the same fan-out workflows) would
-- otherwise deadlock. In C (pgext/src/activity_outcomes.c, session 10): each
-- item's task read by one probe of the primary key, a result through
-- _complete_activity_result (api/77_activity_result.sql), a failure or a
-- cancellation through _complete_activity_other.
CREATE OR REPLACE FUNCTION durable.complete_activity_tasks(outcomes jsonb, identity text DEFAULT NULL)
RETURNS TABLE (task_token text, outcome text, error text)
    AS 'MODULE_PATHNAME', 'durable_complete_activity_tasks' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
