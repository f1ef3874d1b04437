-- Activity tasks: completion, failure and Temporal's retry rules, the four
-- timeouts, heartbeats, cancellation, and the batched completion.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
-- retry delays and timeouts counted between statements: time moves only by skip_time
SELECT pg_temp.hold_clock();

CREATE FUNCTION pg_temp.pending(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT durable.describe_workflow(wid) -> 'pending_activities' -> 0
$$;
CREATE FUNCTION pg_temp.wait(wid text) RETURNS interval LANGUAGE sql AS $$
    SELECT (pg_temp.pending(wid) ->> 'next_attempt_at')::timestamptz - durable.now()
$$;
-- Starts a workflow whose first task schedules one activity (the command given) on queue q.
CREATE FUNCTION pg_temp.start(wid text, q text, activity jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.start_workflow(wid, 'W', q);
    PERFORM durable.complete_workflow_task(
        (SELECT task_token FROM durable.poll_workflow_tasks(q, 'tester', 1)),
        jsonb_build_array('{"type": "ScheduleActivityTask", "activity_type": "A", "activity_id": "1"}'::jsonb || activity));
END
$$;
CREATE FUNCTION pg_temp.lease(q text) RETURNS text LANGUAGE sql AS $$
    SELECT task_token FROM durable.poll_activity_tasks(q, 'tester', 1)
$$;

-- Poll and complete -----------------------------------------------------------
SELECT pg_temp.start('a-ok', 'a-ok', '{"input": [1, 2], "start_to_close_timeout": 30, "heartbeat_timeout": 10}');
CREATE TEMP TABLE ok1 AS SELECT * FROM durable.poll_activity_tasks('a-ok', 'worker-1', 5);
SELECT is((SELECT count(*) FROM ok1), 1::bigint, 'poll_activity_tasks leases the activity');
SELECT ok((SELECT task_token ~ '^a[0-9]+\.[0-9]+$' FROM ok1), 'with an a<task>.<fence> token');
SELECT is((SELECT row(workflow_id, activity_id, activity_type, input, attempt, heartbeat_timeout)::text FROM ok1),
          row('a-ok', '1', 'A', '[1, 2]'::jsonb, 1, 10::float8)::text, 'and its workflow, id, type, input, attempt, heartbeat timeout');
SELECT ok((SELECT deadline - started_at FROM ok1) = interval '10 s', 'the deadline is the nearest timeout (heartbeat)');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('a-ok', 'worker-2', 5)), 0::bigint, 'a leased activity is not offered again');
SELECT is(pg_temp.pending('a-ok') ->> 'state', 'STARTED', 'describe shows it STARTED');
SELECT is(pg_temp.pending('a-ok') ->> 'identity', 'worker-1', 'by worker-1');
SELECT is(pg_temp.last_types('a-ok', 1), ARRAY['ActivityTaskScheduled'], 'no ActivityTaskStarted is written at lease time');
SELECT is(durable.heartbeat_activity_task((SELECT task_token FROM ok1), '{"progress": 50}'), false,
          'a heartbeat returns false while no cancel is requested');
SELECT is(pg_temp.pending('a-ok') -> 'heartbeat_details', '{"progress": 50}'::jsonb, 'heartbeat details are kept');
SELECT lives_ok(format($$SELECT durable.complete_activity_task(%L, '{"charged": true}')$$, (SELECT task_token FROM ok1)),
                'complete_activity_task');
SELECT is(pg_temp.last_types('a-ok', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled'],
          'ActivityTaskStarted, ActivityTaskCompleted, and a workflow task');
SELECT is(pg_temp.event('a-ok', 'ActivityTaskStarted'),
          jsonb_build_object('scheduled_event_id', pg_temp.event_id('a-ok', 'ActivityTaskScheduled'),
                             'identity', 'worker-1', 'attempt', 1, 'last_failure', NULL), 'ActivityTaskStarted');
SELECT is(pg_temp.event('a-ok', 'ActivityTaskCompleted'),
          jsonb_build_object('scheduled_event_id', pg_temp.event_id('a-ok', 'ActivityTaskScheduled'),
                             'started_event_id', pg_temp.event_id('a-ok', 'ActivityTaskStarted'),
                             'result', '{"charged": true}'::jsonb, 'identity', 'worker-1'), 'ActivityTaskCompleted');
SELECT is(pg_temp.pending('a-ok'), NULL, 'nothing pending');
SELECT throws_ok(format($$SELECT durable.complete_activity_task(%L, '1')$$, (SELECT task_token FROM ok1)),
                 'DU004', 'activity task lease is no longer held', 'a duplicate completion is refused (DU004)');
SELECT throws_ok(format($$SELECT durable.heartbeat_activity_task(%L)$$, (SELECT task_token FROM ok1)),
                 'DU004', NULL, 'so is a heartbeat of a finished task');
SELECT throws_ok($$SELECT durable.complete_activity_task('a987654321.1', '1')$$, 'DU004', NULL, 'an unknown token (DU004)');
SELECT throws_ok($$SELECT durable.fail_activity_task('a987654321.1', '{"message": "x"}')$$, 'DU004', NULL, 'fail with an unknown token');
SELECT throws_ok($$SELECT durable.complete_activity_task('w1.1', '1')$$, '22023', 'malformed activity task token',
                 'a workflow token is not an activity token');
SELECT is(pg_temp.last_types('a-ok', 1), ARRAY['WorkflowTaskScheduled'], 'the refused calls changed nothing');

-- Completion while the workflow task is started: buffered, after WorkflowTaskCompleted
SELECT pg_temp.start('a-buf', 'a-buf', '{"start_to_close_timeout": 30}');
CREATE TEMP TABLE buf AS SELECT pg_temp.lease('a-buf') AS tok;
SELECT durable.signal_workflow('a-buf', 'x');
CREATE TEMP TABLE bufw AS SELECT * FROM durable.poll_workflow_tasks('a-buf', 'tester', 1);
SELECT durable.complete_activity_task((SELECT tok FROM buf), '7');
SELECT is(pg_temp.last_types('a-buf', 1), ARRAY['WorkflowTaskStarted'], 'an activity result during a workflow task waits');
SELECT durable.complete_workflow_task((SELECT task_token FROM bufw), '[]');
SELECT is(pg_temp.last_types('a-buf', 4), ARRAY['WorkflowTaskCompleted', 'ActivityTaskStarted', 'ActivityTaskCompleted',
                                                'WorkflowTaskScheduled'], 'and follows WorkflowTaskCompleted');
SELECT is((pg_temp.event('a-buf', 'ActivityTaskCompleted') ->> 'started_event_id')::bigint,
          pg_temp.event_id('a-buf', 'ActivityTaskStarted'), 'with the right started_event_id');

-- Failure and retry: Temporal's defaults ------------------------------------------
SELECT pg_temp.start('a-retry', 'a-retry', '{"start_to_close_timeout": 30}');
SELECT is(durable.fail_activity_task(pg_temp.lease('a-retry'), '{"message": "try 1"}'), 'RETRYING',
          'a failure with the default policy is retried');
SELECT is(pg_temp.pending('a-retry') ->> 'state', 'BACKOFF', 'the activity waits in BACKOFF');
SELECT is(pg_temp.pending('a-retry') ->> 'attempt', '2', 'for attempt 2');
SELECT is(pg_temp.pending('a-retry') -> 'last_failure', '{"message": "try 1"}'::jsonb, 'with the last failure');
SELECT ok(pg_temp.wait('a-retry') BETWEEN interval '0.2 s' AND interval '1 s', 'first retry after 1 s (initial interval)');
SELECT is(pg_temp.last_types('a-retry', 1), ARRAY['ActivityTaskScheduled'], 'retries write no events');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('a-retry', 'tester', 5)), 0::bigint, 'not offered during backoff');
SELECT durable.skip_time('1 second');
SELECT durable.fire_due();
SELECT is(pg_temp.pending('a-retry') ->> 'state', 'SCHEDULED', 'offered again after the backoff');
CREATE TEMP TABLE r2 AS SELECT * FROM durable.poll_activity_tasks('a-retry', 'tester', 5);
SELECT is((SELECT attempt FROM r2), 2, 'attempt 2');
SELECT is((SELECT last_failure FROM r2), '{"message": "try 1"}'::jsonb, 'the poll carries the last failure');
SELECT durable.fail_activity_task((SELECT task_token FROM r2), '{"message": "try 2"}');
SELECT ok(pg_temp.wait('a-retry') BETWEEN interval '1.2 s' AND interval '2 s', 'second retry after 2 s (coefficient 2.0)');
SELECT durable.skip_time('2 seconds');
SELECT durable.fire_due();
SELECT durable.fail_activity_task(pg_temp.lease('a-retry'), '{"message": "try 3"}');
SELECT ok(pg_temp.wait('a-retry') BETWEEN interval '3.2 s' AND interval '4 s', 'third retry after 4 s');
SELECT throws_ok(format($$SELECT durable.complete_activity_task(%L, '1')$$, (SELECT task_token FROM r2)),
                 'DU004', NULL, 'an earlier attempt''s token is refused');
SELECT durable.skip_time('4 seconds');
SELECT durable.fire_due();
SELECT durable.complete_activity_task(pg_temp.lease('a-retry'), '"finally"');
SELECT is(pg_temp.last_types('a-retry', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled'],
          'the successful attempt completes');
SELECT is(pg_temp.event('a-retry', 'ActivityTaskStarted') ->> 'attempt', '4', 'ActivityTaskStarted records the final attempt');
SELECT is(pg_temp.event('a-retry', 'ActivityTaskStarted') -> 'last_failure', '{"message": "try 3"}'::jsonb,
          'and the last failure');

-- Maximum interval: 100 x initial by default
SELECT pg_temp.start('a-maxint', 'a-maxint', '{"start_to_close_timeout": 30, "retry_policy": {"backoff_coefficient": 1000}}');
SELECT durable.fail_activity_task(pg_temp.lease('a-maxint'), '{"message": "1"}');
SELECT durable.skip_time('1 second');
SELECT durable.fire_due();
SELECT durable.fail_activity_task(pg_temp.lease('a-maxint'), '{"message": "2"}');
SELECT ok(pg_temp.wait('a-maxint') BETWEEN interval '99 s' AND interval '100 s',
          'the delay is capped at the maximum interval, 100 x initial');

-- maximum_attempts
SELECT pg_temp.start('a-max', 'a-max', '{"start_to_close_timeout": 30, "retry_policy": {"maximum_attempts": 2, "initial_interval": 5}}');
SELECT is(durable.fail_activity_task(pg_temp.lease('a-max'), '{"message": "1"}'), 'RETRYING', 'attempt 1 of 2 is retried');
SELECT ok(pg_temp.wait('a-max') BETWEEN interval '4.2 s' AND interval '5 s', 'after the initial interval given');
SELECT durable.skip_time('5 seconds');
SELECT durable.fire_due();
SELECT is(durable.fail_activity_task(pg_temp.lease('a-max'), '{"message": "2", "type": "Boom"}'), 'FAILED',
          'attempt 2 of 2 fails the activity');
SELECT is(pg_temp.last_types('a-max', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskFailed', 'WorkflowTaskScheduled'],
          'ActivityTaskStarted, ActivityTaskFailed, and a workflow task');
SELECT is(pg_temp.event('a-max', 'ActivityTaskFailed') - 'started_event_id' - 'scheduled_event_id',
          '{"failure": {"message": "2", "type": "Boom"}, "retry_state": "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED",
            "identity": "tester"}'::jsonb, 'with the failure and RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED');
SELECT is(pg_temp.pending('a-max'), NULL, 'nothing pending');

-- Non-retryable: by type, and by the failure's flag
SELECT pg_temp.start('a-nrt', 'a-nrt', '{"start_to_close_timeout": 30, "retry_policy": {"non_retryable_error_types": ["CardDeclined"]}}');
SELECT is(durable.fail_activity_task(pg_temp.lease('a-nrt'), '{"message": "no", "type": "CardDeclined"}'), 'FAILED',
          'a non-retryable error type fails at once');
SELECT is(pg_temp.event('a-nrt', 'ActivityTaskFailed') ->> 'retry_state', 'RETRY_STATE_NON_RETRYABLE_FAILURE',
          'with RETRY_STATE_NON_RETRYABLE_FAILURE');
SELECT pg_temp.start('a-nrf', 'a-nrf', '{"start_to_close_timeout": 30}');
SELECT is(durable.fail_activity_task(pg_temp.lease('a-nrf'), '{"message": "no", "non_retryable": true}'), 'FAILED',
          'a failure marked non_retryable fails at once');
SELECT is(pg_temp.event('a-nrf', 'ActivityTaskFailed') ->> 'retry_state', 'RETRY_STATE_NON_RETRYABLE_FAILURE',
          'with RETRY_STATE_NON_RETRYABLE_FAILURE');
SELECT pg_temp.start('a-nrx', 'a-nrx', '{"start_to_close_timeout": 30, "retry_policy": {"non_retryable_error_types": ["CardDeclined"]}}');
SELECT is(durable.fail_activity_task(pg_temp.lease('a-nrx'), '{"message": "net", "type": "Network"}'), 'RETRYING',
          'other error types are retried');

-- Retry that would pass schedule_to_close
SELECT pg_temp.start('a-s2cr', 'a-s2cr', '{"schedule_to_close_timeout": 3, "start_to_close_timeout": 2, "retry_policy": {"initial_interval": 5}}');
SELECT is(durable.fail_activity_task(pg_temp.lease('a-s2cr'), '{"message": "x"}'), 'FAILED',
          'no retry that would start after schedule_to_close');
SELECT is(pg_temp.event('a-s2cr', 'ActivityTaskFailed') ->> 'retry_state', 'RETRY_STATE_TIMEOUT', 'RETRY_STATE_TIMEOUT');

-- Timeouts ----------------------------------------------------------------------
-- schedule_to_start: never retried
SELECT pg_temp.start('a-s2s', 'a-s2s', '{"schedule_to_start_timeout": 5, "start_to_close_timeout": 30}');
SELECT durable.skip_time('5 seconds');
SELECT ok(durable.fire_due() >= 1, 'fire_due fires the schedule-to-start timeout');
SELECT is(pg_temp.last_types('a-s2s', 2), ARRAY['ActivityTaskTimedOut', 'WorkflowTaskScheduled'],
          'SCHEDULE_TO_START: ActivityTaskTimedOut without ActivityTaskStarted');
SELECT is(pg_temp.event('a-s2s', 'ActivityTaskTimedOut') -> 'failure' ->> 'timeout_type', 'SCHEDULE_TO_START', 'timeout_type SCHEDULE_TO_START');
SELECT is(pg_temp.event('a-s2s', 'ActivityTaskTimedOut') ->> 'retry_state', 'RETRY_STATE_TIMEOUT', 'RETRY_STATE_TIMEOUT');

-- start_to_close: retried, then timed out when attempts run out
SELECT pg_temp.start('a-stc', 'a-stc', '{"start_to_close_timeout": 5, "retry_policy": {"maximum_attempts": 2}}');
CREATE TEMP TABLE stc1 AS SELECT pg_temp.lease('a-stc') AS tok;
SELECT durable.skip_time('5 seconds');
SELECT durable.fire_due();
SELECT is(pg_temp.pending('a-stc') ->> 'state', 'BACKOFF', 'START_TO_CLOSE: the attempt times out and is retried');
SELECT is(pg_temp.pending('a-stc') -> 'last_failure' ->> 'timeout_type', 'START_TO_CLOSE', 'last failure is the timeout');
SELECT throws_ok(format($$SELECT durable.complete_activity_task(%L, '1')$$, (SELECT tok FROM stc1)),
                 'DU004', NULL, 'the timed-out attempt''s late result is refused');
SELECT is(pg_temp.last_types('a-stc', 1), ARRAY['ActivityTaskScheduled'], 'and changed nothing');
SELECT durable.skip_time('1 second');
SELECT durable.fire_due();
SELECT pg_temp.lease('a-stc');
SELECT durable.skip_time('5 seconds');
SELECT durable.fire_due();
SELECT is(pg_temp.last_types('a-stc', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskTimedOut', 'WorkflowTaskScheduled'],
          'the last attempt times out into ActivityTaskTimedOut');
SELECT is(pg_temp.event('a-stc', 'ActivityTaskTimedOut') -> 'failure' ->> 'timeout_type', 'START_TO_CLOSE', 'START_TO_CLOSE');
SELECT is(pg_temp.event('a-stc', 'ActivityTaskTimedOut') ->> 'retry_state', 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED',
          'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED');

-- schedule_to_close: over all attempts, not retried
SELECT pg_temp.start('a-s2c', 'a-s2c', '{"schedule_to_close_timeout": 10, "start_to_close_timeout": 30}');
SELECT pg_temp.lease('a-s2c');
SELECT durable.skip_time('10 seconds');
SELECT durable.fire_due();
SELECT is(pg_temp.last_types('a-s2c', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskTimedOut', 'WorkflowTaskScheduled'],
          'SCHEDULE_TO_CLOSE times the activity out');
SELECT is(pg_temp.event('a-s2c', 'ActivityTaskTimedOut') -> 'failure' ->> 'timeout_type', 'SCHEDULE_TO_CLOSE', 'SCHEDULE_TO_CLOSE');

-- heartbeat: each heartbeat extends the deadline; silence times out
SELECT pg_temp.start('a-hb', 'a-hb', '{"start_to_close_timeout": 60, "heartbeat_timeout": 3, "retry_policy": {"maximum_attempts": 1}}');
CREATE TEMP TABLE hb AS SELECT pg_temp.lease('a-hb') AS tok;
SELECT durable.skip_time('2 seconds');
SELECT durable.heartbeat_activity_task((SELECT tok FROM hb), '{"step": 1}');
SELECT durable.skip_time('2 seconds');
SELECT durable.fire_due();
SELECT is(pg_temp.pending('a-hb') ->> 'state', 'STARTED', 'a heartbeat within the timeout keeps the activity alive');
SELECT durable.heartbeat_activity_task((SELECT tok FROM hb), '{"step": 2}');
SELECT durable.skip_time('3 seconds');
SELECT durable.fire_due();
SELECT is(pg_temp.last_types('a-hb', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskTimedOut', 'WorkflowTaskScheduled'],
          'silence past the heartbeat timeout times it out');
SELECT is(pg_temp.event('a-hb', 'ActivityTaskTimedOut') -> 'failure' ->> 'timeout_type', 'HEARTBEAT', 'HEARTBEAT');
SELECT is(pg_temp.event('a-hb', 'ActivityTaskTimedOut') -> 'failure' -> 'last_heartbeat_details', '{"step": 2}'::jsonb,
          'with the last heartbeat details');
SELECT throws_ok(format($$SELECT durable.heartbeat_activity_task(%L)$$, (SELECT tok FROM hb)), 'DU004', NULL,
                 'a heartbeat after the timeout is refused (DU004)');

-- cancel_activity_task needs a cancel request (Temporal: "unable to mark activity as
-- canceled without activity being request canceled")
SELECT pg_temp.start('a-nocan', 'a-nocan', '{"start_to_close_timeout": 60}');
CREATE TEMP TABLE nocan AS SELECT pg_temp.lease('a-nocan') AS tok;
SELECT throws_ok(format($$SELECT durable.cancel_activity_task(%L)$$, (SELECT tok FROM nocan)), '55000',
                 'activity cancellation was not requested', 'an activity not asked to cancel cannot report canceled (55000)');
SELECT is((SELECT outcome FROM durable.complete_activity_tasks(jsonb_build_array(jsonb_build_object(
              'task_token', (SELECT tok FROM nocan), 'canceled', 'x'))) ), 'INVALID', 'nor in a batch (INVALID)');
SELECT is(pg_temp.pending('a-nocan') ->> 'state', 'STARTED', 'the activity still runs');
SELECT is(pg_temp.last_types('a-nocan', 1), ARRAY['ActivityTaskScheduled'], 'and nothing was written');

-- RequestCancelActivityTask of an activity in retry backoff cancels it at once
SELECT pg_temp.start('a-bocan', 'a-bocan', '{"start_to_close_timeout": 60}');
SELECT durable.fail_activity_task(pg_temp.lease('a-bocan'), '{"message": "retry me"}');
SELECT durable.signal_workflow('a-bocan', 'x');
SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('a-bocan', 'tester', 1)),
    format('[{"type": "RequestCancelActivityTask", "scheduled_event_id": %s}]', pg_temp.event_id('a-bocan', 'ActivityTaskScheduled'))::jsonb);
SELECT is(pg_temp.last_types('a-bocan', 3), ARRAY['ActivityTaskCancelRequested', 'ActivityTaskCanceled', 'WorkflowTaskScheduled'],
          'an activity waiting to retry is canceled at once');
SELECT is(pg_temp.event('a-bocan', 'ActivityTaskCanceled') -> 'last_failure', '{"message": "retry me"}'::jsonb,
          'with its last failure');
SELECT is(pg_temp.pending('a-bocan'), NULL, 'and is no longer pending');

-- heartbeat returns cancel_requested
SELECT pg_temp.start('a-hbc', 'a-hbc', '{"start_to_close_timeout": 60}');
CREATE TEMP TABLE hbc AS SELECT pg_temp.lease('a-hbc') AS tok;
SELECT durable.cancel_workflow('a-hbc');
SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('a-hbc', 'tester', 1)),
    format('[{"type": "RequestCancelActivityTask", "scheduled_event_id": %s}]', pg_temp.event_id('a-hbc', 'ActivityTaskScheduled'))::jsonb);
SELECT is(durable.heartbeat_activity_task((SELECT tok FROM hbc)), true, 'heartbeat returns true once cancel is requested');
SELECT is(durable.fail_activity_task((SELECT tok FROM hbc), '{"message": "interrupted"}'), 'CANCELED',
          'a failure after a cancel request is reported as CANCELED, not retried');
SELECT is(pg_temp.last_types('a-hbc', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskCanceled', 'WorkflowTaskScheduled'],
          'ActivityTaskCanceled');

-- Batched completion: good, stale, invalid and too large items side by side -------------------
SELECT durable.start_workflow('a-batch', 'W', 'a-batch');
SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('a-batch', 'tester', 1)),
    (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', i::text, 'activity_type', 'A',
                                         'start_to_close_timeout', 30)) FROM generate_series(1, 4) i));
CREATE TEMP TABLE b AS SELECT row_number() OVER (ORDER BY task_token) AS i, task_token
                         FROM durable.poll_activity_tasks('a-batch', 'tester', 10);
SELECT is((SELECT count(*) FROM b), 4::bigint, 'four activities leased in one poll');
SELECT durable.complete_activity_task((SELECT task_token FROM b WHERE i = 4), '0');
CREATE TEMP TABLE br AS SELECT * FROM durable.complete_activity_tasks(jsonb_build_array(
    jsonb_build_object('task_token', (SELECT task_token FROM b WHERE i = 1), 'result', 'r1'),
    jsonb_build_object('task_token', (SELECT task_token FROM b WHERE i = 2), 'failure', jsonb_build_object('message', 'f2')),
    jsonb_build_object('task_token', (SELECT task_token FROM b WHERE i = 4), 'result', 'late'),
    jsonb_build_object('task_token', (SELECT task_token FROM b WHERE i = 1), 'result', 'twice'),
    jsonb_build_object('task_token', 'garbage', 'result', 1),
    jsonb_build_object('result', 1),
    jsonb_build_object('task_token', (SELECT task_token FROM b WHERE i = 3), 'failure', 'not an object'),
    '"just a string"'::jsonb));
SELECT is((SELECT array_agg(outcome ORDER BY ord) FROM (SELECT outcome, row_number() OVER () AS ord FROM br) x),
          ARRAY['COMPLETED', 'RETRYING', 'LEASE_LOST', 'LEASE_LOST', 'INVALID', 'INVALID', 'INVALID', 'INVALID'],
          'each item gets its own outcome, in order (the same token twice: the second lost its lease)');
SELECT ok((SELECT bool_and(error IS NOT NULL) FROM br WHERE outcome IN ('LEASE_LOST', 'INVALID')), 'refused items say why');
SELECT is((SELECT count(*) FROM durable.get_history('a-batch') WHERE event_type = 'ActivityTaskCompleted'), 2::bigint,
          'the good result was applied, the stale one was not');
SELECT is((SELECT d ->> 'state' FROM jsonb_array_elements(durable.describe_workflow('a-batch') -> 'pending_activities') d
            WHERE d ->> 'activity_id' = '3'), 'STARTED', 'the invalid item left its task alone');
SELECT is((SELECT d ->> 'state' FROM jsonb_array_elements(durable.describe_workflow('a-batch') -> 'pending_activities') d
            WHERE d ->> 'activity_id' = '2'), 'BACKOFF', 'the failed item is retrying');
SELECT throws_ok($$SELECT * FROM durable.complete_activity_tasks('{"task_token": "a1.1"}')$$, '22023', NULL,
                 'the outcomes must be an array');

-- Items are applied in run order (so concurrent batches cannot deadlock) but
-- reported in the order given
SELECT pg_temp.start('a-ord-1', 'a-ord', '{"start_to_close_timeout": 30}');
SELECT pg_temp.start('a-ord-2', 'a-ord2', '{"start_to_close_timeout": 30}');
CREATE TEMP TABLE ord AS SELECT p.workflow_id, p.task_token, p.run_id
    FROM (SELECT * FROM durable.poll_activity_tasks('a-ord', 'tester', 5)
          UNION ALL SELECT * FROM durable.poll_activity_tasks('a-ord2', 'tester', 5)) p;
CREATE TEMP TABLE ordr AS SELECT row_number() OVER () AS n, * FROM durable.complete_activity_tasks(
    (SELECT jsonb_agg(jsonb_build_object('task_token', task_token, 'result', workflow_id) ORDER BY run_id DESC) FROM ord)
    || '[{"task_token": "a987654321.1", "result": 0}]');
SELECT is((SELECT array_agg(task_token ORDER BY n) FROM ordr),
          (SELECT array_agg(task_token ORDER BY run_id DESC) FROM ord) || 'a987654321.1'::text,
          'rows come back in the order of the items');
SELECT is((SELECT array_agg(outcome ORDER BY n) FROM ordr), ARRAY['COMPLETED', 'COMPLETED', 'LEASE_LOST'],
          'with their own outcomes');
SELECT is(pg_temp.event('a-ord-2', 'ActivityTaskCompleted') -> 'result', '"a-ord-2"'::jsonb, 'each result reached its run');

SELECT * FROM finish();
ROLLBACK;
