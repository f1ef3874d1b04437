-- Workflow tasks: leasing, history since a cached event, fencing, timeouts,
-- failures with backoff, and events buffered while a task is started.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.wft(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT durable.describe_workflow(wid) -> 'pending_workflow_task'
$$;

-- Leasing ------------------------------------------------------------------
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('wt-q', 'tester', 10)), 0::bigint,
          'polling an empty queue returns no rows');
SELECT durable.start_workflow('wt-1', 'W', 'wt-q', '"in"');
SELECT durable.start_workflow('wt-2', 'W', 'wt-q');
SELECT durable.start_workflow('wt-3', 'W', 'wt-q');
CREATE TEMP TABLE p1 AS SELECT * FROM durable.poll_workflow_tasks('wt-q', 'tester', 2);
SELECT is((SELECT count(*) FROM p1), 2::bigint, 'max_tasks bounds the batch');
SELECT is((SELECT array_agg(workflow_id ORDER BY workflow_id) FROM p1), ARRAY['wt-1', 'wt-2'],
          'tasks are leased in the order they were scheduled');
SELECT ok((SELECT bool_and(task_token ~ '^w[0-9]+\.[0-9]+$') FROM p1), 'tokens look like w<task>.<fence>');
SELECT is((SELECT attempt FROM p1 WHERE workflow_id = 'wt-1'), 1, 'first attempt');
SELECT is((SELECT started_event_id FROM p1 WHERE workflow_id = 'wt-1'), 3::bigint, 'started_event_id is 3');
SELECT is((SELECT workflow_type FROM p1 WHERE workflow_id = 'wt-1'), 'W', 'the workflow type comes along');
SELECT is((SELECT array_agg(e ->> 'event_type' ORDER BY (e ->> 'event_id')::int)
             FROM p1, jsonb_array_elements(history) e WHERE workflow_id = 'wt-1'),
          ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted'],
          'the history to replay ends with WorkflowTaskStarted');
SELECT is((SELECT history -> 2 -> 'attributes' FROM p1 WHERE workflow_id = 'wt-1'),
          '{"scheduled_event_id": 2, "identity": "tester", "attempt": 1}'::jsonb,
          'WorkflowTaskStarted names the scheduled event, identity and attempt');
SELECT is((SELECT history -> 0 -> 'attributes' -> 'input' FROM p1 WHERE workflow_id = 'wt-1'), '"in"'::jsonb,
          'the input is in WorkflowExecutionStarted');
SELECT is(pg_temp.wft('wt-1') ->> 'state', 'STARTED', 'describe shows the task STARTED');
SELECT is(pg_temp.wft('wt-1') ->> 'identity', 'tester', 'with the poller identity');
CREATE TEMP TABLE p2 AS SELECT * FROM durable.poll_workflow_tasks('wt-q', 'tester', 10);
SELECT is((SELECT array_agg(workflow_id) FROM p2), ARRAY['wt-3'], 'leased tasks are not offered again');
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('wt-q', 'tester', 10)), 0::bigint, 'queue now empty');
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('other-q', 'tester', 10)), 0::bigint,
          'another queue sees none of them');

-- Completing with no commands and nothing new: no next task
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$, (SELECT task_token FROM p2)),
                'complete with no commands');
SELECT is(pg_temp.types('wt-3'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted',
                                       'WorkflowTaskCompleted'], 'WorkflowTaskCompleted is appended');
SELECT is((SELECT attributes FROM durable.get_history('wt-3') WHERE event_id = 4),
          '{"scheduled_event_id": 2, "started_event_id": 3, "identity": "tester"}'::jsonb,
          'WorkflowTaskCompleted names its scheduled and started events');
SELECT is(pg_temp.wft('wt-3'), 'null'::jsonb, 'no new workflow task without new events');

-- Fencing: duplicate, unknown, malformed ---------------------------------------
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$, (SELECT task_token FROM p2)),
                 'DU004', 'workflow task lease is no longer held', 'a duplicate completion is refused (DU004)');
SELECT is(pg_temp.hlen('wt-3'), 4::bigint, 'and appends nothing');
SELECT throws_ok($$SELECT durable.complete_workflow_task('w987654321.1', '[]')$$, 'DU004', NULL,
                 'an unknown token is refused (DU004)');
SELECT throws_ok($$SELECT durable.fail_workflow_task('w987654321.1')$$, 'DU004', NULL,
                 'fail_workflow_task refuses an unknown token (DU004)');
SELECT throws_ok($$SELECT durable.complete_workflow_task('banana', '[]')$$, '22023', 'malformed workflow task token',
                 'a malformed token is bad input (22023)');
SELECT throws_ok($$SELECT durable.complete_workflow_task(NULL, '[]')$$, '22023', NULL, 'a NULL token is bad input');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$,
                        'a' || substr((SELECT task_token FROM p1 WHERE workflow_id = 'wt-1'), 2)),
                 '22023', NULL, 'an activity token is not a workflow token');
-- A token with the right task but another fence
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$,
                        regexp_replace((SELECT task_token FROM p1 WHERE workflow_id = 'wt-1'), '\.[0-9]+$', '.99')),
                 'DU004', NULL, 'a token with a wrong fence is refused (DU004)');
SELECT is(pg_temp.hlen('wt-1'), 3::bigint, 'and changes nothing');
SELECT is(pg_temp.wft('wt-1') ->> 'state', 'STARTED', 'the real lease still holds');

-- Workflow task timeout: WorkflowTaskTimedOut and a new, transient attempt ------
-- Attempt 2 and later are transient, as in Temporal: their Scheduled and
-- Started events are written only when one completes.
SELECT durable.skip_time('11 seconds');
SELECT ok(durable.fire_due() >= 2, 'fire_due fires the two expired workflow tasks');
SELECT is(pg_temp.last_types('wt-1', 2), ARRAY['WorkflowTaskStarted', 'WorkflowTaskTimedOut'],
          'a timed-out task is followed by WorkflowTaskTimedOut, and its retry writes nothing yet');
SELECT is((SELECT attributes FROM durable.get_history('wt-1') WHERE event_id = 4),
          '{"scheduled_event_id": 2, "started_event_id": 3, "timeout_type": "START_TO_CLOSE", "identity": "tester"}'::jsonb,
          'WorkflowTaskTimedOut is START_TO_CLOSE and names the events');
SELECT is(pg_temp.wft('wt-1') ->> 'attempt', '2', 'the new task is attempt 2');
SELECT is(durable.describe_workflow('wt-1') -> 'pending_workflow_task' -> 'last_failure' ->> 'cause', 'START_TO_CLOSE_TIMEOUT',
          'describe shows why the last attempt ended');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$, (SELECT task_token FROM p1 WHERE workflow_id = 'wt-1')),
                 'DU004', NULL, 'the timed-out token is refused before a new lease');
CREATE TEMP TABLE p3 AS SELECT * FROM durable.poll_workflow_tasks('wt-q', 'tester2', 10);
SELECT is((SELECT count(*) FROM p3), 2::bigint, 'both tasks are offered again');
SELECT is((SELECT attempt FROM p3 WHERE workflow_id = 'wt-1'), 2, 'as attempt 2');
SELECT isnt((SELECT task_token FROM p3 WHERE workflow_id = 'wt-1'), (SELECT task_token FROM p1 WHERE workflow_id = 'wt-1'),
            'with a new token');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$, (SELECT task_token FROM p1 WHERE workflow_id = 'wt-1')),
                 'DU004', NULL, 'the timed-out token is refused after the new lease (stale fence)');
SELECT is(pg_temp.last_types('wt-1', 1), ARRAY['WorkflowTaskTimedOut'], 'and changed nothing');
SELECT is((SELECT started_event_id FROM p3 WHERE workflow_id = 'wt-1'), NULL::bigint,
          'a transient attempt has no started event id yet');
SELECT is((SELECT (SELECT max((e ->> 'event_id')::int) FROM jsonb_array_elements(history) e) FROM p3 WHERE workflow_id = 'wt-1'), 4,
          'and its history ends with the events written');
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$, (SELECT task_token FROM p3 WHERE workflow_id = 'wt-1')),
                'the new token completes');
SELECT is(pg_temp.last_types('wt-1', 4), ARRAY['WorkflowTaskTimedOut', 'WorkflowTaskScheduled', 'WorkflowTaskStarted',
                                               'WorkflowTaskCompleted'],
          'completing writes the attempt''s Scheduled and Started events, then Completed');
SELECT is((SELECT attributes ->> 'attempt' FROM durable.get_history('wt-1') WHERE event_id = 5), '2',
          'the Scheduled event says attempt 2');
SELECT is((SELECT attributes FROM durable.get_history('wt-1') WHERE event_id = 7),
          '{"scheduled_event_id": 5, "started_event_id": 6, "identity": "tester2"}'::jsonb,
          'and Completed names them');
SELECT is((SELECT count(DISTINCT event_time) FROM durable.get_history('wt-1') WHERE event_id BETWEEN 4 AND 6), 1::bigint,
          'they carry the time of the event before them, the time the replay saw');

-- History since a cached event id -------------------------------------------
SELECT durable.signal_workflow('wt-1', 'ping');
CREATE TEMP TABLE p4 AS SELECT * FROM durable.poll_workflow_tasks('wt-q', 'tester', 10,
    jsonb_build_object((SELECT run_id FROM p3 WHERE workflow_id = 'wt-1')::text, 6));
SELECT is((SELECT array_agg(e ->> 'event_type') FROM p4, jsonb_array_elements(history) e WHERE workflow_id = 'wt-1'),
          ARRAY['WorkflowTaskCompleted', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled', 'WorkflowTaskStarted'],
          'with a cached event id only the newer events come back');
SELECT is((SELECT (history -> 0 ->> 'event_id')::int FROM p4 WHERE workflow_id = 'wt-1'), 7, 'starting after it');

-- Buffered events: a signal during a started task joins after WorkflowTaskCompleted
SELECT durable.signal_workflow('wt-1', 'during', '1');
SELECT is(pg_temp.last_types('wt-1', 1), ARRAY['WorkflowTaskStarted'], 'a signal during a started task is not in the history yet');
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "RecordMarker", "marker_name": "m"}]')$$,
                       (SELECT task_token FROM p4 WHERE workflow_id = 'wt-1')), 'complete the task');
SELECT is(pg_temp.last_types('wt-1', 5), ARRAY['WorkflowTaskStarted', 'WorkflowTaskCompleted', 'MarkerRecorded',
                                               'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'the buffered signal follows the task''s own events, then one new task');
SELECT is((SELECT count(*) FROM durable.buffered_events), 0::bigint, 'nothing stays buffered');

-- A closing command while a signal is buffered: UNHANDLED_COMMAND ------------------
CREATE TEMP TABLE p5 AS SELECT * FROM durable.poll_workflow_tasks('wt-q', 'tester', 10);
SELECT durable.signal_workflow('wt-1', 'late', '2');
SELECT durable.signal_workflow('wt-1', 'later', '3');
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L,
    '[{"type": "ScheduleActivityTask", "activity_id": "x", "activity_type": "A", "start_to_close_timeout": 5},
      {"type": "CompleteWorkflowExecution", "result": 1}]')$$, (SELECT task_token FROM p5 WHERE workflow_id = 'wt-1')),
    'completing the workflow while signals wait does not raise');
SELECT is(durable.describe_workflow('wt-1') ->> 'status', 'RUNNING', 'the workflow stays RUNNING');
SELECT is(pg_temp.last_types('wt-1', 4), ARRAY['WorkflowTaskFailed', 'WorkflowExecutionSignaled',
                                               'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'the task fails, the signals join the history, and a new task is scheduled');
SELECT is((SELECT attributes ->> 'cause' FROM durable.get_history('wt-1') WHERE event_type = 'WorkflowTaskFailed'),
          'UNHANDLED_COMMAND', 'the cause is UNHANDLED_COMMAND');
SELECT is((SELECT count(*) FROM durable.get_history('wt-1') WHERE event_type = 'ActivityTaskScheduled'), 0::bigint,
          'none of the task''s commands took effect');
SELECT is((SELECT count(*) FROM durable.activity_tasks a JOIN p5 USING (run_id)), 0::bigint, 'no activity task was created');
CREATE TEMP TABLE p6 AS SELECT * FROM durable.poll_workflow_tasks('wt-q', 'tester', 10);
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "CompleteWorkflowExecution", "result": 1}]')$$,
                       (SELECT task_token FROM p6 WHERE workflow_id = 'wt-1')), 'the next task may close it');
SELECT is(durable.describe_workflow('wt-1') ->> 'status', 'COMPLETED', 'and it is COMPLETED');

-- fail_workflow_task: WorkflowTaskFailed, then retries with backoff ---------------------
SELECT durable.start_workflow('wf-1', 'W', 'wf-q');
CREATE TEMP TABLE f1 AS SELECT * FROM durable.poll_workflow_tasks('wf-q', 'tester', 1);
SELECT lives_ok(format($$SELECT durable.fail_workflow_task(%L, 'NON_DETERMINISTIC_ERROR', '{"message": "replay mismatch"}')$$,
                       (SELECT task_token FROM f1)), 'fail_workflow_task');
SELECT is(pg_temp.last_types('wf-1', 1), ARRAY['WorkflowTaskFailed'], 'WorkflowTaskFailed is appended');
SELECT is((SELECT attributes FROM durable.get_history('wf-1') WHERE event_id = 4),
          '{"scheduled_event_id": 2, "started_event_id": 3, "cause": "NON_DETERMINISTIC_ERROR",
            "failure": {"message": "replay mismatch"}, "identity": "tester"}'::jsonb,
          'with its cause and failure');
SELECT is(pg_temp.wft('wf-1') ->> 'state', 'BACKOFF', 'the task waits in BACKOFF');
SELECT is(pg_temp.wft('wf-1') ->> 'attempt', '2', 'for attempt 2');
SELECT ok((pg_temp.wft('wf-1') ->> 'timeout_at')::timestamptz BETWEEN durable.now() + interval '0.2 s' AND durable.now() + interval '1 s',
          'one second away');
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('wf-q', 'tester', 1)), 0::bigint, 'it is not offered during backoff');
SELECT throws_ok(format($$SELECT durable.fail_workflow_task(%L)$$, (SELECT task_token FROM f1)), 'DU004', NULL,
                 'the failed token cannot fail again');
SELECT durable.skip_time('1 second');
SELECT ok(durable.fire_due() >= 1, 'the backoff expires');
SELECT is(pg_temp.last_types('wf-1', 1), ARRAY['WorkflowTaskFailed'], 'the retry (transient) writes no event');
SELECT is(pg_temp.wft('wf-1') ->> 'state', 'SCHEDULED', 'it is offered');
CREATE TEMP TABLE f2 AS SELECT * FROM durable.poll_workflow_tasks('wf-q', 'tester', 1);
SELECT is((SELECT attempt FROM f2), 2, 'the poll gets attempt 2');
SELECT is(pg_temp.last_types('wf-1', 1), ARRAY['WorkflowTaskFailed'], 'leasing it writes no event either');
SELECT durable.fail_workflow_task((SELECT task_token FROM f2));
SELECT is((SELECT count(*) FROM durable.get_history('wf-1') WHERE event_type = 'WorkflowTaskFailed'), 1::bigint,
          'a second failure in a row is not written');
SELECT is(pg_temp.hlen('wf-1'), 4::bigint, 'the history holds Started, Scheduled, Started, Failed only');
SELECT is(pg_temp.wft('wf-1') ->> 'attempt', '3', 'the attempt count goes on (3)');
SELECT is(pg_temp.wft('wf-1') -> 'last_failure' ->> 'cause', 'WORKFLOW_WORKER_UNHANDLED_FAILURE',
          'describe shows the last failure, with the default cause');
SELECT is((pg_temp.wft('wf-1') -> 'last_failure' ->> 'attempt')::int, 2, 'and its attempt');
SELECT ok((pg_temp.wft('wf-1') ->> 'timeout_at')::timestamptz BETWEEN durable.now() + interval '1.2 s' AND durable.now() + interval '2 s',
          'the second backoff is two seconds');
-- a signal during backoff is appended at once and does not add a task
SELECT durable.signal_workflow('wf-1', 'poke');
SELECT is(pg_temp.last_types('wf-1', 1), ARRAY['WorkflowExecutionSignaled'], 'a signal during backoff is appended');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t JOIN f1 USING (run_id)), 1::bigint, 'still one workflow task');
SELECT throws_ok(format($$SELECT durable.fail_workflow_task(%L, 'lower case')$$, (SELECT task_token FROM f2)),
                 '22023', NULL, 'a cause must be an upper-case identifier');
SELECT throws_ok($$SELECT durable.fail_workflow_task('w1.1', 'X', '"text"')$$, '22023', NULL,
                 'a failure must be an object');

-- A task that fails with events buffered: they join after WorkflowTaskFailed
SELECT durable.start_workflow('wfb-1', 'W', 'wfb-q');
CREATE TEMP TABLE fb AS SELECT * FROM durable.poll_workflow_tasks('wfb-q', 'tester', 1);
SELECT durable.signal_workflow('wfb-1', 'during-failing-task');
SELECT durable.fail_workflow_task((SELECT task_token FROM fb));
SELECT is(pg_temp.last_types('wfb-1', 2), ARRAY['WorkflowTaskFailed', 'WorkflowExecutionSignaled'],
          'buffered events join after WorkflowTaskFailed');
SELECT is(pg_temp.wft('wfb-1') ->> 'state', 'BACKOFF', 'and the retry still waits for its backoff');

-- A task that times out with events buffered: they join after WorkflowTaskTimedOut
SELECT durable.start_workflow('wto-1', 'W', 'wto-q', NULL, '{"task_timeout": 2}');
SELECT durable.poll_workflow_tasks('wto-q', 'tester', 1);
SELECT durable.signal_workflow('wto-1', 's1');
SELECT durable.skip_time('3 seconds');
SELECT durable.fire_due();
SELECT is(pg_temp.last_types('wto-1', 2), ARRAY['WorkflowTaskTimedOut', 'WorkflowExecutionSignaled'],
          'buffered events join after WorkflowTaskTimedOut');
SELECT is(pg_temp.wft('wto-1') ->> 'attempt', '2', 'and one new (transient) task waits');

-- A task failing many times in a row: one WorkflowTaskFailed in all, and the
-- attempt that finally completes is written with its attempt number
SELECT durable.start_workflow('wfm-1', 'W', 'wfm-q');
CREATE FUNCTION pg_temp.fail_once() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.fail_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('wfm-q', 'tester', 1)),
                                       'NON_DETERMINISTIC_ERROR', '{"message": "bad deploy"}');
    PERFORM durable.skip_time('1 minute');
    PERFORM durable.fire_due();
END
$$;
SELECT pg_temp.fail_once() FROM generate_series(1, 6);
SELECT is((SELECT count(*) FROM durable.get_history('wfm-1') WHERE event_type = 'WorkflowTaskFailed'), 1::bigint,
          'six failures in a row write one WorkflowTaskFailed');
SELECT is(pg_temp.hlen('wfm-1'), 4::bigint, 'and nothing else');
SELECT is(pg_temp.wft('wfm-1') ->> 'attempt', '7', 'the attempt count is visible (7)');
SELECT lives_ok($$SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('wfm-q', 'tester', 1)),
                  '[{"type": "CompleteWorkflowExecution", "result": 1}]')$$, 'the fixed code completes it');
SELECT is(pg_temp.types('wfm-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted',
                                         'WorkflowTaskFailed', 'WorkflowTaskScheduled', 'WorkflowTaskStarted',
                                         'WorkflowTaskCompleted', 'WorkflowExecutionCompleted'],
          'the history: the first failure, then the attempt that completed');
SELECT is((SELECT attributes ->> 'attempt' FROM durable.get_history('wfm-1') WHERE event_id = 5), '7', 'attempt 7');
SELECT is(pg_temp.status('wfm-1'), 'COMPLETED', 'and the workflow completes');

SELECT * FROM finish();
ROLLBACK;
