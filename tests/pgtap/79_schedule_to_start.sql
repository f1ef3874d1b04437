-- task_schedule_to_start (api/79_schedule_to_start.sql): how long a leased
-- task waited ready before its poll, for activity tasks (from the offer of
-- the attempt: a retry counts from its backoff's end) and workflow tasks;
-- NULL once the token no longer holds the lease; bad tokens refused; the
-- caller's grant checked.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
-- the waits below are made by skip_time alone
SELECT pg_temp.hold_clock();

-- A workflow task waits from its scheduling
SELECT durable.start_workflow('ss-1', 'W', 'ss-q');
SELECT durable.skip_time('5 seconds');
CREATE TEMP TABLE wt AS SELECT task_token FROM durable.poll_workflow_tasks('ss-q', 'tester', 1);
SELECT is(durable.task_schedule_to_start((SELECT task_token FROM wt)), interval '5 seconds',
          'a workflow task waited from its scheduling to its poll');

-- An activity's first attempt waits from its scheduling
SELECT durable.complete_workflow_task((SELECT task_token FROM wt),
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 30}]');
SELECT is(durable.task_schedule_to_start((SELECT task_token FROM wt)), NULL,
          'a completed workflow task''s token: NULL');
SELECT durable.skip_time('3 seconds');
CREATE TEMP TABLE a1 AS SELECT task_token FROM durable.poll_activity_tasks('ss-q', 'tester', 1);
SELECT is(durable.task_schedule_to_start((SELECT task_token FROM a1)), interval '3 seconds',
          'an activity''s first attempt waited from its scheduling');

-- A retry waits from the end of its backoff, not from the first scheduling
SELECT is(durable.fail_activity_task((SELECT task_token FROM a1), '{"message": "once"}'), 'RETRYING', 'the attempt fails');
SELECT durable.skip_time('1 second');   -- the default initial interval
SELECT durable.fire_due();
SELECT durable.skip_time('2 seconds');
CREATE TEMP TABLE a2 AS SELECT task_token FROM durable.poll_activity_tasks('ss-q', 'tester', 1);
SELECT is(durable.task_schedule_to_start((SELECT task_token FROM a2)), interval '2 seconds',
          'a retry waited from the end of its backoff');
SELECT is(durable.task_schedule_to_start((SELECT task_token FROM a1)), NULL,
          'the earlier attempt''s token no longer holds the lease: NULL');
SELECT is(durable.task_schedule_to_start('a999999999.1'), NULL, 'a task that is not there: NULL');

-- Bad tokens and other queues' tasks are refused
SELECT is(pg_temp.error_of($$SELECT durable.task_schedule_to_start('x12')$$),
          ARRAY['22023', 'malformed activity task token', 'Got ''x12''.', 'Pass the task_token exactly as the poll returned it.'],
          'a token of no kind: 22023, as a malformed activity token');
SELECT is((pg_temp.error_of($$SELECT durable.task_schedule_to_start('w1.x')$$))[1:2],
          ARRAY['22023', 'malformed workflow task token'], 'a malformed workflow token: 22023');
SELECT is((pg_temp.error_of($$SELECT durable.task_schedule_to_start(NULL)$$))[1:2],
          ARRAY['22023', 'malformed activity task token'], 'NULL: 22023');
CREATE ROLE ss_other NOLOGIN;
SELECT durable.grant_task_queue('ss_other', 'ss-elsewhere');
SELECT is(pg_temp.as_role('ss_other', format('SELECT durable.task_schedule_to_start(%L)', (SELECT task_token FROM a2))),
          '42501', 'a worker of another queue may not ask: 42501');
SELECT is(pg_temp.as_role('durable_worker', format('SELECT durable.task_schedule_to_start(%L)', (SELECT task_token FROM a2))),
          'ok', 'a worker of the queue may');

SELECT * FROM finish();
ROLLBACK;
