-- Operator controls: pause and unpause a workflow (no task handed out, the
-- history unchanged while paused, nothing lost after), and pause, unpause,
-- reset and re-time one activity. Bad input changes nothing.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.wtasks(q text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.poll_workflow_tasks(q, 'tester', 10)
$$;
CREATE FUNCTION pg_temp.atoken(q text) RETURNS text LANGUAGE sql AS $$
    SELECT task_token FROM durable.poll_activity_tasks(q, 'tester', 1)
$$;
CREATE FUNCTION pg_temp.astate(wid text, aid text) RETURNS text LANGUAGE sql AS $$
    SELECT a.state FROM durable.activity_tasks a WHERE a.workflow_id = wid AND a.activity_id = aid
$$;
CREATE FUNCTION pg_temp.act(wid text, aid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT e FROM jsonb_array_elements(durable.describe_workflow(wid) -> 'pending_activities') e
     WHERE e ->> 'activity_id' = aid
$$;

-- A workflow with a 10 s timer and two activities, one of them running.
SELECT durable.start_workflow('p1', 'W', 'pq');
SELECT pg_temp.complete('pq', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 10},
    {"type": "ScheduleActivityTask", "activity_id": "run", "activity_type": "A", "start_to_close_timeout": 600},
    {"type": "ScheduleActivityTask", "activity_id": "wait", "activity_type": "A", "start_to_close_timeout": 600,
     "task_queue": "pq-other"}]');
CREATE TEMP TABLE running AS SELECT pg_temp.atoken('pq') AS tok;

SELECT is(durable.pause_workflow('p1', 'investigating'), true, 'pause_workflow pauses');
SELECT is(durable.pause_workflow('p1', 'again'), false, 'and a second pause is a no-op');
SELECT is(pg_temp.last_types('p1', 1), ARRAY['WorkflowExecutionPaused'], 'the pause is in the history');
SELECT is(pg_temp.event('p1', 'WorkflowExecutionPaused'),
          jsonb_build_object('reason', 'investigating', 'identity', session_user::text),
          'with its reason and the role that paused');
SELECT is(durable.describe_workflow('p1') -> 'paused' ->> 'reason', 'investigating', 'describe shows the pause');
SELECT is(durable.describe_workflow('p1') -> 'paused' ->> 'paused_by', session_user::text, 'and who paused');
SELECT is(durable.describe_workflow('p1') ->> 'status', 'RUNNING', 'a paused workflow is still RUNNING');
CREATE TEMP TABLE len AS SELECT pg_temp.hlen('p1') AS n;

-- while paused: nothing handed out, the history does not grow
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('pq-other', 'tester', 10)), 0::bigint,
          'a paused workflow''s waiting activity is not handed out');
SELECT is(pg_temp.astate('p1', 'wait'), 'PAUSED', 'it waits in state PAUSED');
SELECT durable.signal_workflow('p1', 'go', '{"n": 1}');
SELECT durable.skip_time('11 seconds');
SELECT durable.fire_due(1000);
SELECT durable.complete_activity_task((SELECT tok FROM running), '"done"');
SELECT is(pg_temp.wtasks('pq'), 0::bigint, 'no workflow task is handed out, after a signal, a timer, a result');
SELECT is(pg_temp.hlen('p1'), (SELECT n FROM len), 'and the history has not grown');
SELECT is((SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'p1'), 4::bigint,
          'the signal, the timer and the activity''s started and completed events wait');
SELECT is((SELECT count(*) FROM durable.verify_store()), 0::bigint, 'verify_store agrees with a paused run');

-- unpause: everything arrives, in order, and the work goes on
SELECT is(durable.unpause_workflow('p1', 'fixed'), true, 'unpause_workflow resumes');
SELECT is(durable.unpause_workflow('p1'), false, 'and a second unpause is a no-op');
SELECT is(pg_temp.last_types('p1', 6), ARRAY['WorkflowExecutionUnpaused', 'WorkflowExecutionSignaled', 'TimerFired',
          'ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled'],
          'the unpause, then what waited, then a workflow task');
SELECT is((pg_temp.event('p1', 'ActivityTaskCompleted') ->> 'started_event_id')::bigint,
          pg_temp.event_id('p1', 'ActivityTaskStarted'), 'the result points at its started event');
SELECT is(durable.describe_workflow('p1') -> 'paused', 'null'::jsonb, 'describe shows no pause');
SELECT is(pg_temp.astate('p1', 'wait'), 'SCHEDULED', 'the waiting activity is offered again');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('pq-other', 'tester', 10)), 1::bigint, 'and handed out');
SELECT is(pg_temp.wtasks('pq'), 1::bigint, 'the workflow task is handed out');
SELECT is((SELECT count(*) FROM durable.verify_store()), 0::bigint, 'verify_store agrees after the unpause');

-- A pause while a workflow task runs: the task finishes, what it schedules waits.
SELECT durable.start_workflow('p2', 'W', 'pq2');
CREATE TEMP TABLE wtok AS SELECT task_token AS tok FROM durable.poll_workflow_tasks('pq2', 'tester', 1);
SELECT durable.pause_workflow('p2');
SELECT is(pg_temp.last_types('p2', 1), ARRAY['WorkflowTaskStarted'],
          'the pause waits while a workflow task runs (the worker sees no change)');
SELECT durable.complete_workflow_task((SELECT tok FROM wtok), '[{"type": "ScheduleActivityTask",
    "activity_id": "x", "activity_type": "A", "start_to_close_timeout": 60}]');
SELECT is(pg_temp.last_types('p2', 4), ARRAY['WorkflowTaskCompleted', 'ActivityTaskScheduled', 'WorkflowExecutionPaused',
          'WorkflowTaskScheduled'], 'the task''s completion is recorded, then the pause, and the task that sees it');
SELECT is(durable.describe_workflow('p2') -> 'pending_workflow_task' ->> 'state', 'PAUSED', 'which waits');
SELECT is(pg_temp.astate('p2', 'x'), 'PAUSED', 'the activity it scheduled waits');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('pq2', 'tester', 10)), 0::bigint, 'and is not handed out');
SELECT durable.signal_workflow('p2', 's');
SELECT is(pg_temp.wtasks('pq2'), 0::bigint, 'a signal gets no workflow task');
SELECT durable.unpause_workflow('p2');
SELECT is(pg_temp.wtasks('pq2'), 1::bigint, 'after unpause it does');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('pq2', 'tester', 10)), 1::bigint, 'and the activity is handed out');

-- A quiet pause: nothing handed out while paused, a workflow task after.
SELECT durable.start_workflow('p3', 'W', 'pq3');
SELECT pg_temp.complete('pq3', '[]');
SELECT durable.pause_workflow('p3');
SELECT is(durable.describe_workflow('p3') -> 'pending_workflow_task' ->> 'state', 'PAUSED',
          'a paused workflow with no task keeps an empty one, so that events wait');
SELECT durable.unpause_workflow('p3');
SELECT is(pg_temp.last_types('p3', 3), ARRAY['WorkflowExecutionPaused', 'WorkflowExecutionUnpaused', 'WorkflowTaskScheduled'],
          'the unpause gives it a workflow task');
SELECT is(pg_temp.wtasks('pq3'), 1::bigint, 'which is handed out');

-- A pause during a start delay: the first task comes at unpause.
SELECT durable.start_workflow('p4', 'W', 'pq4', NULL, '{"start_delay": "1 hour"}');
SELECT durable.pause_workflow('p4');
SELECT durable.signal_workflow('p4', 's');
SELECT is(pg_temp.hlen('p4'), 2::bigint, 'a signal does not end the delay of a paused workflow');
SELECT is(pg_temp.wtasks('pq4'), 0::bigint, 'nor hand out a task');
SELECT durable.unpause_workflow('p4');
SELECT is(pg_temp.types('p4'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionPaused', 'WorkflowExecutionUnpaused',
          'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'], 'the unpause delivers it and schedules the first task');
SELECT is(pg_temp.wtasks('pq4'), 1::bigint, 'which is handed out');

-- Terminating a paused workflow closes it; the pause goes with it.
SELECT durable.pause_workflow('p3');
SELECT durable.signal_workflow('p3', 's');
SELECT durable.terminate_workflow('p3', 'done');
SELECT is((SELECT count(*) FROM durable.workflow_pauses p JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'p3'), 0::bigint, 'a closed run keeps no pause');

-- Bad input: a clear error, nothing changed.
SELECT is(pg_temp.err($$SELECT durable.pause_workflow('p3', 'x')$$),
          'DU003: workflow "p3" is not running', 'pausing a closed workflow is DU003');
SELECT throws_ok($$SELECT durable.unpause_workflow('p3')$$, 'DU003', NULL, 'so is unpausing one');
SELECT throws_ok($$SELECT durable.pause_workflow('nope')$$, 'DU001', NULL, 'an unknown workflow is DU001');
SELECT throws_ok($$SELECT durable.pause_workflow('p1', repeat('x', 5000))$$, '54000', NULL, 'an over-long reason');
SELECT is(durable.describe_workflow('p1') -> 'paused', 'null'::jsonb, 'which paused nothing');

-- Activity operations ------------------------------------------------------
SELECT durable.start_workflow('a1', 'W', 'aq');
SELECT pg_temp.complete('aq', '[{"type": "ScheduleActivityTask", "activity_id": "flaky", "activity_type": "A",
    "start_to_close_timeout": 60, "retry_policy": {"initial_interval": 10}},
    {"type": "ScheduleActivityTask", "activity_id": "later", "activity_type": "B", "start_to_close_timeout": 60}]');
CREATE TEMP TABLE flaky AS SELECT task_token AS tok FROM durable.poll_activity_tasks('aq', 'tester', 1);
SELECT is(durable.heartbeat_activity_task_status((SELECT tok FROM flaky)), ROW(false, false)::record,
          'a heartbeat says neither cancel nor pause');
SELECT is(durable.pause_activity('a1', 'flaky', 'upstream down'), true, 'pause_activity');
SELECT is(durable.pause_activity('a1', 'flaky'), false, 'twice is a no-op');
SELECT is(pg_temp.astate('a1', 'flaky'), 'STARTED', 'the running attempt goes on');
SELECT is((durable.heartbeat_activity_task_status((SELECT tok FROM flaky))).paused, true,
          'and learns of the pause from its heartbeat');
SELECT is(durable.heartbeat_activity_task((SELECT tok FROM flaky)), false, 'which is not a cancel request');
SELECT is(pg_temp.act('a1', 'flaky') -> 'paused' ->> 'reason', 'upstream down', 'describe shows the pause');
SELECT is(durable.fail_activity_task((SELECT tok FROM flaky), '{"message": "paused", "type": "ActivityPaused"}'),
          'RETRYING', 'the attempt fails');
SELECT is(pg_temp.astate('a1', 'flaky'), 'PAUSED', 'and is not retried');
SELECT durable.skip_time('1 minute');
SELECT durable.fire_due(1000);
SELECT is(pg_temp.astate('a1', 'flaky'), 'PAUSED', 'not even past its retry delay');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('aq', 'tester', 10) WHERE activity_id = 'flaky'),
          0::bigint, 'nor handed out');
SELECT is(durable.unpause_activity('a1', 'flaky'), true, 'unpause_activity');
SELECT is(durable.unpause_activity('a1', 'flaky'), false, 'twice is a no-op');
SELECT is(pg_temp.astate('a1', 'flaky'), 'SCHEDULED', 'it is offered at once');
DROP TABLE flaky;
CREATE TEMP TABLE flaky AS SELECT task_token AS tok, attempt FROM durable.poll_activity_tasks('aq', 'tester', 1);
SELECT is((SELECT attempt FROM flaky), 2, 'as attempt 2');

-- pausing one that waits for a worker, and reset
SELECT durable.fail_activity_task((SELECT tok FROM flaky), '{"message": "boom"}');
SELECT is(pg_temp.act('a1', 'flaky') ->> 'state', 'BACKOFF', 'failed again: waiting out its retry delay');
SELECT is(pg_temp.act('a1', 'flaky') ->> 'attempt', '3', 'for attempt 3');
SELECT lives_ok($$SELECT durable.reset_activity('a1', 'flaky')$$, 'reset_activity');
SELECT is(pg_temp.act('a1', 'flaky') ->> 'attempt', '1', 'attempt back to 1');
SELECT is(pg_temp.act('a1', 'flaky') -> 'last_failure', 'null'::jsonb, 'its last failure dropped');
SELECT is(pg_temp.astate('a1', 'flaky'), 'SCHEDULED', 'and its backoff cleared');
SELECT durable.pause_activity('a1', 'flaky');
SELECT is(pg_temp.astate('a1', 'flaky'), 'PAUSED', 'a waiting activity pauses at once');
SELECT durable.pause_workflow('a1');
SELECT durable.unpause_workflow('a1');
SELECT is(pg_temp.astate('a1', 'flaky'), 'PAUSED', 'a workflow unpause leaves a paused activity paused');
SELECT durable.unpause_activity('a1', 'flaky');

-- update options
SELECT is(durable.update_activity_options('a1', 'later', '{"start_to_close_timeout": 120,
          "retry_policy": {"maximum_attempts": 3, "non_retryable_error_types": ["Fatal"]}}') -> 'retry_policy',
          '{"initial_interval": 1, "backoff_coefficient": 2, "maximum_interval": 100, "maximum_attempts": 3,
            "non_retryable_error_types": ["Fatal"]}'::jsonb, 'update_activity_options merges the retry policy');
SELECT is(pg_temp.act('a1', 'later') -> 'options' ->> 'start_to_close_timeout', '120', 'and sets timeouts');
SELECT is((SELECT retry_maximum_attempts FROM durable.activity_tasks WHERE activity_id = 'later'), 3, 'in the store');
-- (leased above, by the poll that did not get "flaky")
CREATE TEMP TABLE later AS SELECT 'a' || task_id || '.' || fence AS tok FROM durable.activity_tasks
                            WHERE activity_id = 'later' AND state = 'STARTED';
SELECT is(durable.fail_activity_task((SELECT tok FROM later), '{"message": "no", "type": "Fatal"}'), 'FAILED',
          'a non-retryable type set by update_activity_options is obeyed');

-- bad input: clear errors, nothing changed
SELECT is(pg_temp.err($$SELECT durable.pause_activity('a1', 'nope')$$),
          'DU020: activity "nope" of workflow "a1" is not pending', 'an unknown activity id is DU020');
SELECT throws_ok($$SELECT durable.reset_activity('a1', 'later')$$, 'DU020', NULL, 'so is a finished one');
SELECT throws_ok($$SELECT durable.unpause_activity('a1', '')$$, '22023', NULL, 'an empty activity id');
SELECT throws_ok($$SELECT durable.update_activity_options('a1', 'flaky', '{"start_to_close_timeout": "soon"}')$$,
                 '22023', NULL, 'a bad duration');
SELECT throws_ok($$SELECT durable.update_activity_options('a1', 'flaky', '{"retry_policy": {"maximum_attempts": -1}}')$$,
                 '22023', NULL, 'negative attempts');
SELECT throws_ok($$SELECT durable.update_activity_options('a1', 'flaky', '{"retry_policy": {"initial_interval": 2000}}')$$,
                 '22023', NULL, 'an initial interval beyond the maximum');
SELECT throws_ok($$SELECT durable.update_activity_options('a1', 'flaky', '{"colour": 1}')$$,
                 '22023', NULL, 'an unknown field');
SELECT throws_ok($$SELECT durable.update_activity_options('a1', 'flaky', '{}')$$, '22023', NULL, 'no field');
SELECT throws_ok($$SELECT durable.update_activity_options('a1', 'flaky', '{"start_to_close_timeout": 0}')$$,
                 '22023', NULL, 'removing the only timeout');
SELECT is(pg_temp.act('a1', 'flaky') -> 'options', '{"schedule_to_close_timeout": null, "schedule_to_start_timeout": null,
          "start_to_close_timeout": 60, "heartbeat_timeout": null, "retry_policy": {"initial_interval": 10,
          "backoff_coefficient": 2, "maximum_interval": 1000, "maximum_attempts": 0, "non_retryable_error_types": []}}'::jsonb,
          'none of which changed anything');
SELECT durable.terminate_workflow('a1');
SELECT throws_ok($$SELECT durable.pause_activity('a1', 'flaky')$$, 'DU003', NULL, 'an activity of a closed workflow');

-- an activity's pause goes with the activity: when it completes anyway, is
-- canceled by its workflow or times out while paused, not at the run's close
SELECT durable.start_workflow('pz', 'W', 'pzq');
SELECT pg_temp.complete('pzq', '[{"type": "ScheduleActivityTask", "activity_id": "done", "activity_type": "A", "start_to_close_timeout": 600},
    {"type": "ScheduleActivityTask", "activity_id": "dropped", "activity_type": "A", "start_to_close_timeout": 600, "task_queue": "pzq-b"},
    {"type": "ScheduleActivityTask", "activity_id": "late", "activity_type": "A", "schedule_to_close_timeout": 30, "task_queue": "pzq-c"}]');
CREATE TEMP TABLE pz_tok AS SELECT pg_temp.atoken('pzq') AS tok;
SELECT durable.pause_activity('pz', a) FROM unnest(ARRAY['done', 'dropped', 'late']) a;
CREATE FUNCTION pg_temp.pauses(wid text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.activity_pauses p JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid
$$;
SELECT is(pg_temp.pauses('pz'), 3::bigint, 'three activities paused, one of them running');
SELECT durable.complete_activity_task((SELECT tok FROM pz_tok), '"anyway"');
SELECT is(pg_temp.pauses('pz'), 2::bigint, 'a paused attempt that completes anyway takes its pause with it');
SELECT pg_temp.complete('pzq', jsonb_build_array(jsonb_build_object('type', 'RequestCancelActivityTask',
    'scheduled_event_id', (SELECT scheduled_event_id FROM durable.activity_tasks WHERE workflow_id = 'pz' AND activity_id = 'dropped'))));
SELECT is(pg_temp.astate('pz', 'dropped'), NULL, 'the workflow cancels a paused activity that waits');
SELECT is(pg_temp.pauses('pz'), 1::bigint, 'and its pause goes');
SELECT durable.skip_time('1 minute');
SELECT durable.fire_due(1000);
SELECT is(pg_temp.last_types('pz', 1), ARRAY['ActivityTaskTimedOut'], 'the last one times out while paused (schedule-to-close)');
SELECT is(pg_temp.pauses('pz'), 0::bigint, 'and its pause goes too');
SELECT is(pg_temp.status('pz'), 'RUNNING', 'all while the run runs');

-- roles: operators control, workers and readers may not
SELECT durable.start_workflow('r1', 'W', 'rq');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.pause_workflow('r1')$$), '42501', 'a worker may not pause');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.pause_workflow('r1')$$), 'ok', 'an operator may');
SELECT is(pg_temp.event('r1', 'WorkflowExecutionPaused') ->> 'identity', 'durable_operator',
          'and is named as the role it acted as');
-- a role that may call the functions (a scoped grant) but has no operator
-- grant on the namespace learns that first, not what is wrong with its input
CREATE ROLE pause_reader NOLOGIN;
SELECT durable.grant_namespace('pause_reader', 'reader', 'default');
SELECT is(pg_temp.as_role('pause_reader', $$SELECT durable.update_activity_options('r1', 'x', '{"colour": 1}')$$),
          '42501', 'update_activity_options: no grant is 42501 even with bad options');
SELECT is(pg_temp.as_role('pause_reader', $$SELECT durable.update_activity_options('r1', 'x', NULL)$$),
          '42501', 'and with no options');
SELECT is(pg_temp.as_role('pause_reader', $$SELECT durable.pause_activity('r1', '')$$),
          '42501', 'pause_activity: no grant is 42501 even with an empty activity id');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.update_activity_options('r1', 'x', '{"colour": 1}')$$),
          '22023', 'an operator gets the validation error');

SELECT * FROM finish();
ROLLBACK;
