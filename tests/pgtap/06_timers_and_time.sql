-- Timers and the clock: skip_time, fire_due, next_due, long timers, and
-- workflow run and execution timeouts. skip_time moves a shared clock for
-- good, so everything here is relative to durable.now().
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- The clock ------------------------------------------------------------------
CREATE TEMP TABLE t0 AS SELECT durable.now() AS now, durable.clock_offset() AS offset;
SELECT ok(durable.skip_time('1 hour') >= (SELECT now FROM t0) + interval '1 hour', 'skip_time returns the new time');
SELECT ok(durable.now() >= (SELECT now FROM t0) + interval '1 hour', 'durable.now() moved forward by the skip');
SELECT ok(durable.clock_offset() >= (SELECT "offset" FROM t0) + interval '1 hour', 'clock_offset grew by the skip');
SELECT ok(durable.now() - now() >= interval '1 hour', 'durable.now() is ahead of the wall clock');
SELECT throws_ok($$SELECT durable.skip_time('-1 second')$$, '22023', 'cannot skip time backwards', 'no skipping backwards');
SELECT throws_ok($$SELECT durable.skip_time('1 month')$$, '22023', 'cannot skip time by a number of months', 'no months');

-- A 30-day timer -----------------------------------------------------------------
SELECT durable.start_workflow('tm-30', 'Billing', 'tm-q');
SELECT pg_temp.complete('tm-q', '[{"type": "StartTimer", "timer_id": "month", "start_to_fire_timeout": "30 days"}]');
CREATE TEMP TABLE fire AS SELECT (durable.describe_workflow('tm-30') -> 'pending_timers' -> 0 ->> 'fire_at')::timestamptz AS at;
SELECT ok((SELECT at FROM fire) - durable.now() BETWEEN interval '29 days 23:59' AND interval '30 days', 'the timer fires in 30 days');
SELECT ok(durable.next_due() <= (SELECT at FROM fire), 'next_due is no later than the timer');
SELECT durable.skip_time('29 days');
SELECT durable.fire_due();
SELECT is(pg_temp.last_types('tm-30', 1), ARRAY['TimerStarted'], 'after 29 days it has not fired');
SELECT durable.skip_time('1 day');
SELECT ok(durable.fire_due() >= 1, 'fire_due fires it after 30 days');
SELECT is(pg_temp.last_types('tm-30', 2), ARRAY['TimerFired', 'WorkflowTaskScheduled'], 'TimerFired and a workflow task');
SELECT is(pg_temp.event('tm-30', 'TimerFired') ->> 'timer_id', 'month', 'TimerFired names the timer');
SELECT is((pg_temp.event('tm-30', 'TimerFired') ->> 'started_event_id')::bigint,
          (SELECT max(event_id) FROM durable.get_history('tm-30') WHERE event_type = 'TimerStarted'),
          'and its TimerStarted event');
SELECT is(durable.describe_workflow('tm-30') -> 'pending_timers', '[]'::jsonb, 'no pending timer left');
SELECT durable.fire_due();
SELECT is((SELECT count(*) FROM durable.get_history('tm-30') WHERE event_type = 'TimerFired'), 1::bigint, 'a timer fires once');

-- A timer firing while a workflow task runs is buffered
SELECT pg_temp.complete('tm-q', '[{"type": "StartTimer", "timer_id": "short", "start_to_fire_timeout": 1}]');
SELECT durable.signal_workflow('tm-30', 'x');
CREATE TEMP TABLE tk AS SELECT * FROM durable.poll_workflow_tasks('tm-q', 'tester', 1);
SELECT durable.skip_time('1 second');
SELECT durable.fire_due();
SELECT is(pg_temp.last_types('tm-30', 1), ARRAY['WorkflowTaskStarted'], 'a timer due during a workflow task waits');
SELECT durable.complete_workflow_task((SELECT task_token FROM tk), '[]');
SELECT is(pg_temp.last_types('tm-30', 3), ARRAY['WorkflowTaskCompleted', 'TimerFired', 'WorkflowTaskScheduled'],
          'and fires after WorkflowTaskCompleted');

-- fire_due's batch limit
SELECT durable.start_workflow('tm-many', 'W', 'tm-many');
SELECT pg_temp.complete('tm-many', (SELECT jsonb_agg(jsonb_build_object('type', 'StartTimer', 'timer_id', i::text,
                                                                         'start_to_fire_timeout', 1))
                                      FROM generate_series(1, 3) i));
SELECT durable.skip_time('1 second');
SELECT is(durable.fire_due(2), 2, 'fire_due(2) fires at most two');
SELECT is(jsonb_array_length(durable.describe_workflow('tm-many') -> 'pending_timers'), 1, 'one timer still pending');
SELECT ok(durable.next_due() <= durable.now(), 'next_due says it is due');
SELECT ok(durable.fire_due() >= 1, 'the next fire_due fires the rest');
SELECT is((SELECT count(*) FROM durable.get_history('tm-many') WHERE event_type = 'TimerFired'), 3::bigint, 'three TimerFired');
SELECT is((SELECT count(*) FROM durable.get_history('tm-many') WHERE event_type = 'WorkflowTaskScheduled'), 2::bigint,
          'but only one new workflow task');

-- Workflow run timeout -------------------------------------------------------------
SELECT durable.start_workflow('tm-run', 'W', 'tm-run', NULL, '{"run_timeout": "2 hours"}');
SELECT pg_temp.complete('tm-run', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": "10 hours"},
                                    {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": "10 hours"}]');
SELECT durable.skip_time('1 hour 59 minutes');
SELECT durable.fire_due();
SELECT is(durable.describe_workflow('tm-run') ->> 'status', 'RUNNING', 'still running before the run timeout');
SELECT durable.skip_time('1 minute');
SELECT durable.fire_due();
SELECT is(durable.describe_workflow('tm-run') ->> 'status', 'TIMED_OUT', 'TIMED_OUT at the run timeout');
SELECT is(pg_temp.last_types('tm-run', 1), ARRAY['WorkflowExecutionTimedOut'], 'WorkflowExecutionTimedOut');
SELECT is(pg_temp.event('tm-run', 'WorkflowExecutionTimedOut'),
          '{"timeout_type": "RUN", "retry_state": "RETRY_STATE_TIMEOUT"}'::jsonb, 'timeout_type RUN');
SELECT is(jsonb_array_length(durable.describe_workflow('tm-run') -> 'pending_activities')
          + jsonb_array_length(durable.describe_workflow('tm-run') -> 'pending_timers'), 0,
          'its activity and timer are gone');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('tm-run', 'tester', 5)), 0::bigint, 'the activity is not offered');

-- Workflow execution timeout spans continue-as-new
SELECT durable.start_workflow('tm-exec', 'W', 'tm-exec', NULL, '{"execution_timeout": "1 hour"}');
SELECT durable.skip_time('40 minutes');
SELECT pg_temp.complete('tm-exec', '[{"type": "ContinueAsNewWorkflowExecution"}]');
SELECT is(durable.describe_workflow('tm-exec') ->> 'status', 'RUNNING', 'the continued run runs');
SELECT ok((durable.describe_workflow('tm-exec') ->> 'deadline_at')::timestamptz - durable.now()
              BETWEEN interval '19 minutes' AND interval '20 minutes', 'with what is left of the execution timeout');
SELECT durable.skip_time('20 minutes');
SELECT durable.fire_due();
SELECT is(durable.describe_workflow('tm-exec') ->> 'status', 'TIMED_OUT', 'the execution times out across runs');
SELECT is(pg_temp.event('tm-exec', 'WorkflowExecutionTimedOut') ->> 'timeout_type', 'EXECUTION', 'timeout_type EXECUTION');

-- A child that times out tells its parent
SELECT durable.start_workflow('tm-parent', 'W', 'tm-par');
SELECT pg_temp.complete('tm-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "tm-kid", "workflow_type": "K",
    "task_queue": "tm-kid", "workflow_run_timeout": 60}]');
SELECT pg_temp.complete('tm-par', '[]');
SELECT durable.skip_time('1 minute');
SELECT durable.fire_due();
SELECT is(durable.describe_workflow('tm-kid') ->> 'status', 'TIMED_OUT', 'the child times out');
SELECT is(pg_temp.last_types('tm-parent', 2), ARRAY['ChildWorkflowExecutionTimedOut', 'WorkflowTaskScheduled'],
          'the parent gets ChildWorkflowExecutionTimedOut');

SELECT * FROM finish();
ROLLBACK;
