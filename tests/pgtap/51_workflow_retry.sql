-- Workflow retry policy: a failed run, or one whose run timeout passed, is
-- retried as a new run of the same id after a backoff, until the policy says
-- stop; a parent hears only of the last attempt.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.runs(wid text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.workflows WHERE workflow_id = wid AND namespace = 'default'
$$;
CREATE FUNCTION pg_temp.d(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT durable.describe_workflow(wid)
$$;
-- the close event of a run
CREATE FUNCTION pg_temp.close_event(wid text, run uuid) RETURNS jsonb LANGUAGE sql AS $$
    SELECT attributes FROM durable.get_history(wid, run) ORDER BY event_id DESC LIMIT 1
$$;
CREATE FUNCTION pg_temp.fail(queue text, ftype text) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.complete(queue, jsonb_build_array(jsonb_build_object('type', 'FailWorkflowExecution',
        'failure', jsonb_build_object('message', 'it broke', 'type', ftype))))
$$;
-- skips time and fires what is due
CREATE FUNCTION pg_temp.skip(i interval) RETURNS void LANGUAGE sql AS $$
    SELECT durable.skip_time(i); SELECT durable.fire_due();
$$;

-- Failures are retried with backoff up to maximum_attempts -------------------
CREATE TEMP TABLE a1 AS SELECT durable.start_workflow('wr-1', 'Flaky', 'wr-q', '{"n": 1}',
    '{"retry_policy": {"initial_interval": 10, "backoff_coefficient": 3, "maximum_attempts": 3}, "memo": {"m": 1}}') AS run_id;
SELECT is(pg_temp.d('wr-1') -> 'retry_policy',
          '{"initial_interval": 10, "backoff_coefficient": 3, "maximum_interval": 1000, "maximum_attempts": 3,
            "non_retryable_error_types": []}'::jsonb,
          'describe shows the policy with Temporal''s defaults filled in (maximum 100 x initial)');
SELECT is((pg_temp.d('wr-1') -> 'attempt')::int, 1, 'the first run is attempt 1');
SELECT is(pg_temp.event('wr-1', 'WorkflowExecutionStarted') -> 'attempt', '1'::jsonb, 'its started event says attempt 1');
SELECT pg_temp.fail('wr-q', 'Boom');
SELECT is((SELECT status FROM durable.workflows WHERE run_id = (SELECT run_id FROM a1)), 'FAILED', 'attempt 1 closes FAILED');
CREATE TEMP TABLE a2 AS SELECT (pg_temp.d('wr-1') ->> 'run_id')::uuid AS run_id;
SELECT isnt((SELECT run_id FROM a2), (SELECT run_id FROM a1), 'and a new run of wr-1 follows');
SELECT is(pg_temp.close_event('wr-1', (SELECT run_id FROM a1)) ->> 'retry_state', 'RETRY_STATE_IN_PROGRESS',
          'WorkflowExecutionFailed says the retry is in progress');
SELECT is((pg_temp.close_event('wr-1', (SELECT run_id FROM a1)) ->> 'new_execution_run_id')::uuid, (SELECT run_id FROM a2),
          'and names the new run');
SELECT is((SELECT new_run_id FROM durable.workflows WHERE run_id = (SELECT run_id FROM a1)), (SELECT run_id FROM a2),
          'the failed run links to it (new_run_id)');
SELECT is(pg_temp.d('wr-1') ->> 'status', 'RUNNING', 'the workflow is RUNNING again');
SELECT is((pg_temp.d('wr-1') -> 'attempt')::int, 2, 'as attempt 2');
SELECT is((pg_temp.d('wr-1') ->> 'continued_from_run_id')::uuid, (SELECT run_id FROM a1), 'continuing the failed run');
SELECT is((pg_temp.d('wr-1') ->> 'first_run_id')::uuid, (SELECT run_id FROM a1), 'in the same chain');
SELECT is(pg_temp.d('wr-1') -> 'input', '{"n": 1}'::jsonb, 'with the same input');
SELECT is(pg_temp.d('wr-1') -> 'memo', '{"m": 1}'::jsonb, 'and memo');
SELECT is(pg_temp.types('wr-1'), ARRAY['WorkflowExecutionStarted'], 'its first workflow task waits out the backoff');
SELECT is(pg_temp.event('wr-1', 'WorkflowExecutionStarted') -> 'attempt', '2'::jsonb, 'its started event says attempt 2');
SELECT is((pg_temp.event('wr-1', 'WorkflowExecutionStarted') -> 'first_workflow_task_backoff')::float8, 10::float8,
          'after initial_interval');
SELECT pg_temp.skip('9 seconds');
SELECT is(pg_temp.types('wr-1'), ARRAY['WorkflowExecutionStarted'], 'not before');
SELECT pg_temp.skip('2 seconds');
SELECT is(pg_temp.types('wr-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'], 'then its task is scheduled');
SELECT pg_temp.fail('wr-q', 'Boom');
SELECT is((pg_temp.d('wr-1') -> 'attempt')::int, 3, 'attempt 2 fails: attempt 3');
SELECT is((pg_temp.event('wr-1', 'WorkflowExecutionStarted') -> 'first_workflow_task_backoff')::float8, 30::float8,
          'after initial_interval x backoff_coefficient');
SELECT pg_temp.skip('31 seconds');
SELECT pg_temp.fail('wr-q', 'Boom');
SELECT is(pg_temp.d('wr-1') ->> 'status', 'FAILED', 'attempt 3 of 3 fails: the workflow FAILED');
SELECT is(pg_temp.runs('wr-1'), 3::bigint, 'after three runs');
SELECT is(pg_temp.event('wr-1', 'WorkflowExecutionFailed') ->> 'retry_state', 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED',
          'the last WorkflowExecutionFailed says why it stopped');
SELECT is(pg_temp.event('wr-1', 'WorkflowExecutionFailed') -> 'new_execution_run_id', NULL, 'and names no new run');
SELECT is((SELECT array_agg(c.run_id ORDER BY ordinality) FROM durable.history_chain('wr-1') WITH ORDINALITY c),
          (SELECT array_agg(run_id ORDER BY started_at) FROM durable.workflows WHERE workflow_id = 'wr-1'),
          'history_chain (the mount''s history) reads the three attempts in order');

-- Success ends the retries; terminate and cancel are never retried ----------
SELECT durable.start_workflow('wr-2', 'Flaky', 'wr-q', NULL, '{"retry_policy": {"initial_interval": 1}}');
SELECT pg_temp.fail('wr-q', 'Boom');
SELECT pg_temp.skip('2 seconds');
SELECT pg_temp.complete('wr-q', '[{"type": "CompleteWorkflowExecution", "result": "ok"}]');
SELECT is(pg_temp.d('wr-2') ->> 'status', 'COMPLETED', 'attempt 2 completes');
SELECT is(pg_temp.d('wr-2') -> 'result', '"ok"'::jsonb, 'with its result');
SELECT is(pg_temp.runs('wr-2'), 2::bigint, 'and nothing follows');
SELECT durable.start_workflow('wr-3', 'Flaky', 'wr-q', NULL, '{"retry_policy": {}}');
SELECT durable.terminate_workflow('wr-3', 'stop');
SELECT is(pg_temp.runs('wr-3'), 1::bigint, 'a terminated run is not retried');
SELECT is(pg_temp.event('wr-3', 'WorkflowExecutionTerminated') -> 'retry_state', NULL, 'and says nothing of retries');
SELECT durable.start_workflow('wr-4', 'Flaky', 'wr-q', NULL, '{"retry_policy": {}}');
SELECT durable.cancel_workflow('wr-4');
SELECT pg_temp.complete('wr-q', '[{"type": "CancelWorkflowExecution"}]');
SELECT is(pg_temp.d('wr-4') ->> 'status', 'CANCELED', 'a canceled run');
SELECT is(pg_temp.runs('wr-4'), 1::bigint, 'is not retried');
-- without a policy a failure is final, as before
SELECT durable.start_workflow('wr-5', 'Flaky', 'wr-q');
SELECT pg_temp.fail('wr-q', 'Boom');
SELECT is(pg_temp.runs('wr-5'), 1::bigint, 'no policy: no retry');
SELECT is(pg_temp.event('wr-5', 'WorkflowExecutionFailed') -> 'retry_state', NULL, 'and no retry_state');

-- Non-retryable failures ---------------------------------------------------
SELECT durable.start_workflow('wr-6', 'Flaky', 'wr-q', NULL,
    '{"retry_policy": {"non_retryable_error_types": ["Fatal", "Bad"]}}');
SELECT pg_temp.fail('wr-q', 'Bad');
SELECT is(pg_temp.d('wr-6') ->> 'status', 'FAILED', 'a failure of a non-retryable type');
SELECT is(pg_temp.runs('wr-6'), 1::bigint, 'is final');
SELECT is(pg_temp.event('wr-6', 'WorkflowExecutionFailed') ->> 'retry_state', 'RETRY_STATE_NON_RETRYABLE_FAILURE', 'and says so');
SELECT durable.start_workflow('wr-7', 'Flaky', 'wr-q', NULL, '{"retry_policy": {}}');
SELECT pg_temp.complete('wr-q', '[{"type": "FailWorkflowExecution",
    "failure": {"message": "no", "type": "Any", "non_retryable": true}}]');
SELECT is(pg_temp.runs('wr-7'), 1::bigint, 'a failure marked non_retryable is final');

-- Timeouts: a run timeout is retried, the execution timeout ends everything --
SELECT durable.start_workflow('wr-8', 'Flaky', 'wr-q', NULL,
    '{"run_timeout": 60, "execution_timeout": 200, "retry_policy": {"initial_interval": 50}}');
SELECT pg_temp.skip('61 seconds');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id = 'wr-8' AND status = 'TIMED_OUT'), 1::bigint,
          'a run timeout closes the run TIMED_OUT');
SELECT is((pg_temp.d('wr-8') -> 'attempt')::int, 2, 'and it is retried as attempt 2');
SELECT is((pg_temp.d('wr-8') ->> 'execution_started_at')::timestamptz,
          (SELECT execution_started_at FROM durable.workflows WHERE workflow_id = 'wr-8' AND attempt = 1),
          'the execution keeps its start: the execution timeout counts across attempts');
SELECT pg_temp.skip('111 seconds');
SELECT is(pg_temp.d('wr-8') ->> 'status', 'TIMED_OUT', 'attempt 2 times out too');
SELECT is(pg_temp.runs('wr-8'), 2::bigint, 'and the next backoff would end past the execution timeout: no attempt 3');
SELECT is(pg_temp.event('wr-8', 'WorkflowExecutionTimedOut') ->> 'retry_state', 'RETRY_STATE_TIMEOUT', 'which it says');

-- Continue-as-new keeps the policy, from attempt 1 -------------------------------
SELECT durable.start_workflow('wr-9', 'Flaky', 'wr-q', NULL, '{"retry_policy": {"maximum_attempts": 5}}');
SELECT pg_temp.fail('wr-q', 'Boom');
SELECT pg_temp.skip('2 seconds');
SELECT pg_temp.complete('wr-q', '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]');
SELECT is((pg_temp.d('wr-9') -> 'attempt')::int, 1, 'continue-as-new starts again at attempt 1');
SELECT is((pg_temp.d('wr-9') -> 'retry_policy' -> 'maximum_attempts')::int, 5, 'with the same retry policy');

-- A child's retries are the child's business ---------------------------------
SELECT durable.start_workflow('wr-par', 'Parent', 'wr-pq');
SELECT pg_temp.complete('wr-pq', '[{"type": "StartChildWorkflowExecution", "workflow_id": "wr-kid", "workflow_type": "Flaky",
    "task_queue": "wr-kq", "retry_policy": {"initial_interval": 5, "maximum_attempts": 2}}]');
SELECT is(pg_temp.d('wr-kid') -> 'retry_policy' -> 'maximum_attempts', '2'::jsonb, 'a child takes a retry policy');
CREATE TEMP TABLE k1 AS SELECT (pg_temp.d('wr-kid') ->> 'run_id')::uuid AS run_id;
SELECT pg_temp.fail('wr-kq', 'Boom');
SELECT is((pg_temp.d('wr-kid') -> 'attempt')::int, 2, 'the child''s failed attempt 1 is retried');
SELECT is(pg_temp.d('wr-kid') -> 'parent' ->> 'workflow_id', 'wr-par', 'attempt 2 keeps the parent');
SELECT is((SELECT count(*) FROM durable.get_history('wr-par') WHERE event_type LIKE 'ChildWorkflowExecution%'
              AND event_type <> 'ChildWorkflowExecutionStarted'), 0::bigint,
          'the parent hears nothing of the failed attempt');
SELECT is((SELECT jsonb_array_length(pg_temp.d('wr-par') -> 'pending_children')), 1, 'and still has the child pending');
SELECT pg_temp.skip('6 seconds');
SELECT pg_temp.complete('wr-kq', '[{"type": "CompleteWorkflowExecution", "result": "kid done"}]');
SELECT is(pg_temp.event('wr-par', 'ChildWorkflowExecutionCompleted') -> 'result', '"kid done"'::jsonb,
          'the parent sees the last attempt''s outcome');
SELECT is((pg_temp.event('wr-par', 'ChildWorkflowExecutionCompleted') ->> 'run_id')::uuid,
          (SELECT run_id FROM durable.workflows WHERE workflow_id = 'wr-kid' AND attempt = 2),
          'from attempt 2''s run');
-- a child that exhausts its attempts fails the parent's child once
SELECT pg_temp.complete('wr-pq', '[{"type": "StartChildWorkflowExecution", "workflow_id": "wr-kid2", "workflow_type": "Flaky",
    "task_queue": "wr-kq", "retry_policy": {"initial_interval": 5, "maximum_attempts": 2}}]');
SELECT pg_temp.fail('wr-kq', 'Boom');
SELECT pg_temp.skip('6 seconds');
SELECT pg_temp.fail('wr-kq', 'Boom');
SELECT is((SELECT count(*) FROM durable.get_history('wr-par') WHERE event_type = 'ChildWorkflowExecutionFailed'), 1::bigint,
          'a child failing both attempts fails once in the parent');
SELECT is(pg_temp.event('wr-par', 'ChildWorkflowExecutionFailed') -> 'failure' ->> 'type', 'Boom', 'with the last failure');
-- a parent that closes terminates its child's next attempt (parent close policy)
SELECT pg_temp.complete('wr-pq', '[{"type": "StartChildWorkflowExecution", "workflow_id": "wr-kid3", "workflow_type": "Flaky",
    "task_queue": "wr-kq", "retry_policy": {"initial_interval": 60}}]');
SELECT pg_temp.fail('wr-kq', 'Boom');
SELECT durable.terminate_workflow('wr-par');
SELECT is(pg_temp.d('wr-kid3') ->> 'status', 'TERMINATED', 'a closing parent terminates its child''s waiting attempt');

-- A schedule's run retried: the schedule follows the retry ----------------------
SELECT durable.create_schedule('wr-sched', '{"interval": [{"every": 86400}]}',
    '{"workflow_type": "Flaky", "task_queue": "wr-sq", "options": {"retry_policy": {"initial_interval": 5}}}');
SELECT is(durable.trigger_schedule('wr-sched'), 'STARTED', 'a schedule whose action has a retry policy starts a run');
SELECT pg_temp.fail('wr-sq', 'Boom');
SELECT is(durable.describe_schedule('wr-sched') ->> 'last_status', 'RUNNING', 'its failed run is retried: the schedule sees it running');
SELECT is((durable.describe_schedule('wr-sched') ->> 'last_run_id')::uuid,
          (SELECT run_id FROM durable.workflows WHERE workflow_id = durable.describe_schedule('wr-sched') ->> 'last_workflow_id'
              AND status = 'RUNNING'), 'last_run_id is the retry');
SELECT is(durable.trigger_schedule('wr-sched'), 'SKIPPED', 'so SKIP skips while the retry runs');

-- Bad policies change nothing ------------------------------------------------
SELECT throws_ok($$SELECT durable.start_workflow('wr-bad', 'F', 'wr-q', NULL, '{"retry_policy": {"backoff_coefficient": 0.5}}')$$,
                 '22023', 'start options: "retry_policy": "backoff_coefficient" must be from 1 to 1000', 'a coefficient below 1');
SELECT throws_ok($$SELECT durable.start_workflow('wr-bad', 'F', 'wr-q', NULL,
                    '{"retry_policy": {"initial_interval": 10, "maximum_interval": 5}}')$$,
                 '22023', 'start options: "retry_policy": "maximum_interval" must not be less than "initial_interval"',
                 'a maximum below the initial interval');
SELECT throws_ok($$SELECT durable.start_workflow('wr-bad', 'F', 'wr-q', NULL, '{"retry_policy": {"maximum_attempts": 1.5}}')$$,
                 '22023', 'start options: "retry_policy": "maximum_attempts" must be a non-negative integer', 'a fractional attempt count');
SELECT throws_ok($$SELECT durable.start_workflow('wr-bad', 'F', 'wr-q', NULL, '{"retry_policy": {"tries": 3}}')$$,
                 '22023', 'start options: "retry_policy" has an unknown field "tries"', 'an unknown field');
SELECT throws_ok($$SELECT durable.start_workflow('wr-bad', 'F', 'wr-q', NULL, '{"retry_policy": {"non_retryable_error_types": "Bad"}}')$$,
                 '22023', 'retry_policy: "non_retryable_error_types" must be an array of strings', 'a type list that is not an array');
SELECT throws_ok($$SELECT durable.start_workflow('wr-bad', 'F', 'wr-q', NULL, '{"retry_policy": 3}')$$,
                 '22023', 'start options: "retry_policy" must be a JSON object', 'a policy that is not an object');
SELECT is(pg_temp.runs('wr-bad'), 0::bigint, 'the refused starts made nothing');

SELECT * FROM finish();
ROLLBACK;
