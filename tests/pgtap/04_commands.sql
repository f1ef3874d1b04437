-- Every command a workflow task may return, and the events each one writes.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
-- a timer due "in a minute" is read a few statements later: time moves only by skip_time
SELECT pg_temp.hold_clock();

-- Leases the workflow task of one workflow (the only one in its queue) and completes it.
CREATE FUNCTION pg_temp.activity(queue text) RETURNS text LANGUAGE sql AS $$
    SELECT task_token FROM durable.poll_activity_tasks(queue, 'tester', 1)
$$;

-- ScheduleActivityTask --------------------------------------------------------
SELECT durable.start_workflow('c-act', 'W', 'c-act');
SELECT lives_ok($$SELECT pg_temp.complete('c-act', '[{"type": "ScheduleActivityTask", "activity_id": "a1",
    "activity_type": "Charge", "input": {"amount": 5}, "start_to_close_timeout": 30}]')$$, 'ScheduleActivityTask');
SELECT is(pg_temp.last_types('c-act', 2), ARRAY['WorkflowTaskCompleted', 'ActivityTaskScheduled'],
          'ActivityTaskScheduled follows WorkflowTaskCompleted');
SELECT is(pg_temp.event('c-act', 'ActivityTaskScheduled'), jsonb_build_object(
    'activity_id', 'a1', 'activity_type', 'Charge', 'task_queue', 'c-act', 'input', '{"amount": 5}'::jsonb,
    'schedule_to_close_timeout', NULL, 'schedule_to_start_timeout', NULL, 'start_to_close_timeout', 30,
    'heartbeat_timeout', NULL, 'workflow_task_completed_event_id', 4,
    'retry_policy', '{"initial_interval": 1, "backoff_coefficient": 2, "maximum_interval": 100,
                      "maximum_attempts": 0, "non_retryable_error_types": []}'::jsonb),
    'ActivityTaskScheduled records Temporal''s default retry policy (1 s, 2.0, 100 s, unlimited)');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'c-act'),
          0::bigint, 'scheduling an activity does not schedule a workflow task');
SELECT is((durable.describe_workflow('c-act') -> 'pending_activities' -> 0 ->> 'state'), 'SCHEDULED', 'the activity is pending');
SELECT lives_ok($$SELECT durable.signal_workflow('c-act', 'x')$$, 'a signal schedules the next task');
SELECT throws_ok($$SELECT pg_temp.complete('c-act', '[{"type": "ScheduleActivityTask", "activity_id": "a1",
    "activity_type": "Charge", "start_to_close_timeout": 30}]')$$, '22023', 'activity id "a1" is already pending',
    'a pending activity_id cannot be reused');
SELECT lives_ok($$SELECT pg_temp.complete('c-act', '[{"type": "ScheduleActivityTask", "activity_id": "a2",
    "activity_type": "Ship", "task_queue": "c-other", "schedule_to_close_timeout": "1 minute",
    "retry_policy": {"initial_interval": 2, "backoff_coefficient": 3, "maximum_interval": 60, "maximum_attempts": 5,
                     "non_retryable_error_types": ["Fatal"]}}]')$$, 'an activity with its own queue and retry policy');
SELECT is(pg_temp.event('c-act', 'ActivityTaskScheduled') - 'workflow_task_completed_event_id' - 'input',
    '{"activity_id": "a2", "activity_type": "Ship", "task_queue": "c-other", "schedule_to_close_timeout": 60,
      "schedule_to_start_timeout": null, "start_to_close_timeout": 60, "heartbeat_timeout": null,
      "retry_policy": {"initial_interval": 2, "backoff_coefficient": 3, "maximum_interval": 60, "maximum_attempts": 5,
                       "non_retryable_error_types": ["Fatal"]}}'::jsonb,
    'start_to_close defaults to schedule_to_close; the retry policy is recorded');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('c-other', 'tester', 10)), 1::bigint,
          'the activity goes to its own task queue');

-- StartTimer / CancelTimer ------------------------------------------------------
SELECT durable.start_workflow('c-timer', 'W', 'c-timer', NULL, '{"task_timeout": "2 hours"}');
SELECT lives_ok($$SELECT pg_temp.complete('c-timer', '[{"type": "StartTimer", "timer_id": "t1", "start_to_fire_timeout": 60},
    {"type": "StartTimer", "timer_id": "t2", "start_to_fire_timeout": "1 hour"}]')$$, 'StartTimer twice');
SELECT is(pg_temp.last_types('c-timer', 2), ARRAY['TimerStarted', 'TimerStarted'], 'two TimerStarted events');
SELECT is(pg_temp.event('c-timer', 'TimerStarted'),
          '{"timer_id": "t2", "start_to_fire_timeout": 3600, "workflow_task_completed_event_id": 4}'::jsonb,
          'TimerStarted records the id and duration in seconds');
SELECT is(jsonb_array_length(durable.describe_workflow('c-timer') -> 'pending_timers'), 2, 'two pending timers');
SELECT ok(((durable.describe_workflow('c-timer') -> 'pending_timers' -> 0 ->> 'fire_at')::timestamptz - durable.now())
             BETWEEN interval '59 s' AND interval '60 s', 'the first fires in a minute');
SELECT durable.signal_workflow('c-timer', 'x');
SELECT throws_ok($$SELECT pg_temp.complete('c-timer', '[{"type": "StartTimer", "timer_id": "t1", "start_to_fire_timeout": 5}]')$$,
                 '22023', 'timer id "t1" is already pending', 'a pending timer_id cannot be reused');
SELECT throws_ok($$SELECT pg_temp.complete('c-timer', '[{"type": "CancelTimer", "timer_id": "nope"}]')$$,
                 '22023', 'no timer "nope" was started', 'CancelTimer of an unknown timer');
SELECT lives_ok($$SELECT pg_temp.complete('c-timer', '[{"type": "CancelTimer", "timer_id": "t1"}]')$$, 'CancelTimer');
SELECT is(pg_temp.last_types('c-timer', 1), ARRAY['TimerCanceled'], 'TimerCanceled');
SELECT is(pg_temp.event('c-timer', 'TimerCanceled') - 'workflow_task_completed_event_id',
          jsonb_build_object('timer_id', 't1', 'started_event_id', pg_temp.event_id('c-timer', 'TimerStarted') - 1),
          'TimerCanceled names the TimerStarted event');
SELECT is(jsonb_array_length(durable.describe_workflow('c-timer') -> 'pending_timers'), 1, 'one pending timer left');
-- A timer that fires while the task runs: CancelTimer is a no-op and TimerFired follows
SELECT durable.signal_workflow('c-timer', 'x');
CREATE TEMP TABLE ct AS SELECT * FROM durable.poll_workflow_tasks('c-timer', 'tester', 1);
SELECT durable.skip_time('1 hour');
SELECT durable.fire_due();
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "CancelTimer", "timer_id": "t2"}]')$$,
                       (SELECT task_token FROM ct)), 'CancelTimer of a timer that fired during the task is accepted');
SELECT is(pg_temp.last_types('c-timer', 3), ARRAY['WorkflowTaskCompleted', 'TimerFired', 'WorkflowTaskScheduled'],
          'no TimerCanceled: the TimerFired event follows instead');

-- RequestCancelActivityTask by activity_id, in the task that schedules it ------------
SELECT durable.start_workflow('c-rca', 'W', 'c-rca');
SELECT lives_ok($$SELECT pg_temp.complete('c-rca', '[{"type": "ScheduleActivityTask", "activity_id": "x", "activity_type": "A", "start_to_close_timeout": 60},
                                                      {"type": "RequestCancelActivityTask", "activity_id": "x"}]')$$,
                'an activity can be canceled by activity_id in the task that schedules it');
SELECT is(pg_temp.last_types('c-rca', 5), ARRAY['WorkflowTaskCompleted', 'ActivityTaskScheduled', 'ActivityTaskCancelRequested',
                                                'ActivityTaskCanceled', 'WorkflowTaskScheduled'],
          'scheduled, cancel requested and canceled at once');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('c-rca', 'tester', 10)), 0::bigint, 'it is never offered');
SELECT throws_ok($$SELECT pg_temp.complete('c-rca', '[{"type": "RequestCancelActivityTask", "activity_id": "nope"}]')$$,
                 '22023', 'no activity "nope" was scheduled', 'an unknown activity_id is refused');

-- RequestCancelActivityTask, before and after the activity started ------------------
SELECT durable.start_workflow('c-rc', 'W', 'c-rc');
SELECT pg_temp.complete('c-rc', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60},
                                  {"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "A", "start_to_close_timeout": 60}]');
CREATE TEMP TABLE rc_act AS SELECT * FROM durable.poll_activity_tasks('c-rc', 'tester', 1);
SELECT is((SELECT activity_id FROM rc_act), '1', 'activity 1 started; activity 2 is still scheduled');
SELECT durable.signal_workflow('c-rc', 'x');
SELECT lives_ok(format($$SELECT pg_temp.complete('c-rc', '[{"type": "RequestCancelActivityTask", "scheduled_event_id": %s}]')$$,
                       pg_temp.event_id('c-rc', 'ActivityTaskScheduled')), 'RequestCancelActivityTask of a scheduled activity');
SELECT is(pg_temp.last_types('c-rc', 4), ARRAY['WorkflowTaskCompleted', 'ActivityTaskCancelRequested', 'ActivityTaskCanceled',
                                               'WorkflowTaskScheduled'],
          'an activity not yet started is canceled at once, and the workflow gets a task');
SELECT is(pg_temp.event('c-rc', 'ActivityTaskCanceled') ->> 'scheduled_event_id',
          pg_temp.event_id('c-rc', 'ActivityTaskScheduled')::text, 'ActivityTaskCanceled names the activity');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('c-rc', 'tester', 10)), 0::bigint,
          'the canceled activity is no longer offered');
SELECT lives_ok(format($$SELECT pg_temp.complete('c-rc', '[{"type": "RequestCancelActivityTask", "scheduled_event_id": %s}]')$$,
                       pg_temp.event_id('c-rc', 'ActivityTaskScheduled') - 1), 'RequestCancelActivityTask of a started activity');
SELECT is(pg_temp.last_types('c-rc', 2), ARRAY['WorkflowTaskCompleted', 'ActivityTaskCancelRequested'],
          'a started activity only gets ActivityTaskCancelRequested (cooperative)');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t JOIN rc_act USING (run_id)), 0::bigint, 'no workflow task yet');
SELECT is(durable.heartbeat_activity_task((SELECT task_token FROM rc_act)), true, 'the next heartbeat says cancel');
SELECT lives_ok(format($$SELECT durable.cancel_activity_task(%L, '"stopped"')$$, (SELECT task_token FROM rc_act)),
                'the worker reports the activity canceled');
SELECT is(pg_temp.last_types('c-rc', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskCanceled', 'WorkflowTaskScheduled'],
          'ActivityTaskStarted and ActivityTaskCanceled, then a workflow task');
SELECT is((pg_temp.event('c-rc', 'ActivityTaskCanceled') ->> 'started_event_id')::bigint,
          pg_temp.event_id('c-rc', 'ActivityTaskStarted'), 'ActivityTaskCanceled names its started event');
SELECT is(pg_temp.event('c-rc', 'ActivityTaskCanceled') -> 'details', '"stopped"'::jsonb, 'with the details');
SELECT throws_ok($$SELECT pg_temp.complete('c-rc', '[{"type": "RequestCancelActivityTask", "scheduled_event_id": 999}]')$$,
                 '22023', 'no activity was scheduled by event 999', 'RequestCancelActivityTask of an unknown activity');
SELECT lives_ok(format($$SELECT pg_temp.complete('c-rc', '[{"type": "RequestCancelActivityTask", "scheduled_event_id": %s}]')$$,
                       pg_temp.event_id('c-rc', 'ActivityTaskScheduled')),
                'RequestCancelActivityTask of an activity that already finished is accepted');
SELECT is(pg_temp.last_types('c-rc', 1), ARRAY['WorkflowTaskCompleted'], 'and writes nothing');

-- Child workflows ---------------------------------------------------------------
SELECT durable.start_workflow('parent', 'P', 'c-par');
SELECT lives_ok($$SELECT pg_temp.complete('c-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "kid-1",
    "workflow_type": "K", "task_queue": "c-kid", "input": {"k": 1}}]')$$, 'StartChildWorkflowExecution');
SELECT is(pg_temp.last_types('parent', 4), ARRAY['WorkflowTaskCompleted', 'StartChildWorkflowExecutionInitiated',
                                                  'ChildWorkflowExecutionStarted', 'WorkflowTaskScheduled'],
          'the child is initiated and started, and the parent gets a workflow task');
SELECT is(pg_temp.status('kid-1'), 'RUNNING', 'the child runs');
SELECT is(durable.describe_workflow('kid-1') -> 'parent' ->> 'workflow_id', 'parent', 'the child knows its parent');
SELECT is((durable.describe_workflow('kid-1') -> 'parent' ->> 'initiated_event_id')::bigint,
          pg_temp.event_id('parent', 'StartChildWorkflowExecutionInitiated'), 'and the initiating event');
SELECT is((SELECT attributes ->> 'parent_workflow_id' FROM durable.get_history('kid-1') WHERE event_id = 1), 'parent',
          'WorkflowExecutionStarted of the child names the parent');
SELECT is(pg_temp.event('parent', 'ChildWorkflowExecutionStarted') ->> 'run_id',
          durable.describe_workflow('kid-1') ->> 'run_id', 'ChildWorkflowExecutionStarted carries the child run id');
SELECT is(durable.describe_workflow('parent') -> 'pending_children' -> 0 ->> 'workflow_id', 'kid-1',
          'describe lists the pending child');
-- child completes
SELECT pg_temp.complete('c-par', '[]');
SELECT pg_temp.complete('c-kid', '[{"type": "CompleteWorkflowExecution", "result": "kid done"}]');
SELECT is(pg_temp.last_types('parent', 2), ARRAY['ChildWorkflowExecutionCompleted', 'WorkflowTaskScheduled'],
          'the parent sees ChildWorkflowExecutionCompleted');
SELECT is(pg_temp.event('parent', 'ChildWorkflowExecutionCompleted') -> 'result', '"kid done"'::jsonb, 'with the result');
-- child fails
SELECT pg_temp.complete('c-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "kid-2", "workflow_type": "K", "task_queue": "c-kid"}]');
SELECT pg_temp.complete('c-par', '[]');
SELECT pg_temp.complete('c-kid', '[{"type": "FailWorkflowExecution", "failure": {"message": "kid broke"}}]');
SELECT is(pg_temp.last_types('parent', 2), ARRAY['ChildWorkflowExecutionFailed', 'WorkflowTaskScheduled'],
          'the parent sees ChildWorkflowExecutionFailed');
SELECT is(pg_temp.event('parent', 'ChildWorkflowExecutionFailed') -> 'failure', '{"message": "kid broke"}'::jsonb, 'with the failure');
-- child terminated
SELECT pg_temp.complete('c-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "kid-3", "workflow_type": "K", "task_queue": "c-kid"}]');
SELECT pg_temp.complete('c-par', '[]');
SELECT durable.terminate_workflow('kid-3', 'operator said so');
SELECT is(pg_temp.last_types('parent', 2), ARRAY['ChildWorkflowExecutionTerminated', 'WorkflowTaskScheduled'],
          'the parent sees ChildWorkflowExecutionTerminated');
-- child canceled
SELECT pg_temp.complete('c-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "kid-4", "workflow_type": "K", "task_queue": "c-kid"}]');
SELECT pg_temp.complete('c-par', '[]');
SELECT pg_temp.complete('c-kid', '[{"type": "CancelWorkflowExecution", "details": "bye"}]');
SELECT is(pg_temp.last_types('parent', 2), ARRAY['ChildWorkflowExecutionCanceled', 'WorkflowTaskScheduled'],
          'the parent sees ChildWorkflowExecutionCanceled');
-- a child that continues as new reports its final run's outcome
SELECT pg_temp.complete('c-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "kid-5", "workflow_type": "K", "task_queue": "c-kid"}]');
SELECT pg_temp.complete('c-par', '[]');
SELECT pg_temp.complete('c-kid', '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]');
SELECT is(pg_temp.last_types('parent', 1), ARRAY['WorkflowTaskCompleted'], 'a child''s continue-as-new is not reported');
SELECT is(durable.describe_workflow('kid-5') -> 'parent' ->> 'workflow_id', 'parent', 'the new child run keeps its parent');
SELECT is(durable.describe_workflow('parent') -> 'pending_children' -> 0 ->> 'run_id', durable.describe_workflow('kid-5') ->> 'run_id',
          'the parent''s pending child is the new run');
SELECT pg_temp.complete('c-kid', '[{"type": "CompleteWorkflowExecution", "result": "second run"}]');
SELECT is(pg_temp.last_types('parent', 2), ARRAY['ChildWorkflowExecutionCompleted', 'WorkflowTaskScheduled'],
          'the parent sees the completion of the continued child');
SELECT is(pg_temp.event('parent', 'ChildWorkflowExecutionCompleted') -> 'result', '"second run"'::jsonb, 'with its result');
-- child id already running
SELECT durable.start_workflow('busy', 'K', 'c-busy');
SELECT lives_ok($$SELECT pg_temp.complete('c-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "busy", "workflow_type": "K"}]')$$,
                'starting a child whose id is running');
SELECT is(pg_temp.last_types('parent', 3), ARRAY['StartChildWorkflowExecutionInitiated', 'StartChildWorkflowExecutionFailed',
                                                  'WorkflowTaskScheduled'], 'gives StartChildWorkflowExecutionFailed');
SELECT is(pg_temp.event('parent', 'StartChildWorkflowExecutionFailed') ->> 'cause', 'WORKFLOW_ALREADY_EXISTS',
          'cause WORKFLOW_ALREADY_EXISTS');
SELECT throws_ok($$SELECT pg_temp.complete('c-par', '[{"type": "StartChildWorkflowExecution", "workflow_id": "k", "workflow_type": "K",
    "parent_close_policy": "EVENTUALLY"}]')$$, '22023', 'unknown parent_close_policy "EVENTUALLY"', 'an unknown parent close policy');

-- Parent close policies: TERMINATE (default), ABANDON, REQUEST_CANCEL
SELECT pg_temp.complete('c-par', '[
    {"type": "StartChildWorkflowExecution", "workflow_id": "pc-term", "workflow_type": "K", "task_queue": "c-pc"},
    {"type": "StartChildWorkflowExecution", "workflow_id": "pc-aban", "workflow_type": "K", "task_queue": "c-pc", "parent_close_policy": "ABANDON"},
    {"type": "StartChildWorkflowExecution", "workflow_id": "pc-canc", "workflow_type": "K", "task_queue": "c-pc", "parent_close_policy": "REQUEST_CANCEL"}]');
SELECT is(jsonb_array_length(durable.describe_workflow('parent') -> 'pending_children'), 3, 'three children pending');
SELECT pg_temp.complete('c-par', '[{"type": "CompleteWorkflowExecution", "result": "parent done"}]');
SELECT is(pg_temp.status('parent'), 'COMPLETED', 'the parent completes');
SELECT is(pg_temp.status('pc-term'), 'TERMINATED', 'TERMINATE: the child is terminated');
SELECT is(pg_temp.last_types('pc-term', 1), ARRAY['WorkflowExecutionTerminated'], 'with WorkflowExecutionTerminated');
SELECT is(pg_temp.status('pc-aban'), 'RUNNING', 'ABANDON: the child keeps running');
SELECT is(pg_temp.status('pc-canc'), 'RUNNING', 'REQUEST_CANCEL: the child keeps running');
SELECT is(pg_temp.types('pc-canc'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowExecutionCancelRequested'],
          'but is asked to cancel');
SELECT is(durable.describe_workflow('pc-canc') ->> 'cancel_requested', 'true', 'cancel_requested is set');
-- a child that closes after its parent closed tells nobody
SELECT lives_ok($$SELECT durable.terminate_workflow('pc-aban')$$, 'an abandoned child can close later');
SELECT is(pg_temp.last_types('parent', 1), ARRAY['WorkflowExecutionCompleted'], 'and the closed parent''s history is untouched');

-- SignalExternalWorkflowExecution and RequestCancelExternalWorkflowExecution ----------------
SELECT durable.start_workflow('ext-src', 'W', 'c-ext');
SELECT durable.start_workflow('ext-dst', 'W', 'c-extdst');
SELECT lives_ok($$SELECT pg_temp.complete('c-ext', '[{"type": "SignalExternalWorkflowExecution", "workflow_id": "ext-dst",
    "signal_name": "hello", "input": [1, 2]}]')$$, 'SignalExternalWorkflowExecution');
SELECT is(pg_temp.last_types('ext-src', 4), ARRAY['WorkflowTaskCompleted', 'SignalExternalWorkflowExecutionInitiated',
                                                   'ExternalWorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'the sender gets Initiated, ExternalWorkflowExecutionSignaled and a task');
SELECT is(pg_temp.last_types('ext-dst', 1), ARRAY['WorkflowExecutionSignaled'], 'the target is signaled');
SELECT is(pg_temp.event('ext-dst', 'WorkflowExecutionSignaled') - 'identity' - 'external_run_id',
          '{"signal_name": "hello", "input": [1, 2], "external_workflow_id": "ext-src"}'::jsonb, 'with name, input and sender');
SELECT lives_ok($$SELECT pg_temp.complete('c-ext', '[{"type": "SignalExternalWorkflowExecution", "workflow_id": "nobody", "signal_name": "hello"}]')$$,
                'signaling a workflow that does not exist');
SELECT is(pg_temp.last_types('ext-src', 3), ARRAY['SignalExternalWorkflowExecutionInitiated', 'SignalExternalWorkflowExecutionFailed',
                                                   'WorkflowTaskScheduled'], 'gives SignalExternalWorkflowExecutionFailed');
SELECT is(pg_temp.event('ext-src', 'SignalExternalWorkflowExecutionFailed') ->> 'cause', 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND',
          'cause EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND');
SELECT lives_ok($$SELECT pg_temp.complete('c-ext', '[{"type": "SignalExternalWorkflowExecution", "workflow_id": "ext-dst",
    "signal_name": "hello", "child_workflow_only": true}]')$$, 'child_workflow_only to a workflow that is not a child');
SELECT is(pg_temp.last_types('ext-src', 2), ARRAY['SignalExternalWorkflowExecutionFailed', 'WorkflowTaskScheduled'],
          'fails as not found');
SELECT lives_ok($$SELECT pg_temp.complete('c-ext', '[{"type": "RequestCancelExternalWorkflowExecution", "workflow_id": "ext-dst", "reason": "stop"}]')$$,
                'RequestCancelExternalWorkflowExecution');
SELECT is(pg_temp.last_types('ext-src', 3), ARRAY['RequestCancelExternalWorkflowExecutionInitiated',
                                                   'ExternalWorkflowExecutionCancelRequested', 'WorkflowTaskScheduled'],
          'the sender gets Initiated and ExternalWorkflowExecutionCancelRequested');
SELECT is(pg_temp.last_types('ext-dst', 1), ARRAY['WorkflowExecutionCancelRequested'], 'the target is asked to cancel');
SELECT is(pg_temp.event('ext-dst', 'WorkflowExecutionCancelRequested') ->> 'cause', 'stop', 'with the reason');
SELECT lives_ok($$SELECT pg_temp.complete('c-ext', '[{"type": "RequestCancelExternalWorkflowExecution", "workflow_id": "nobody"}]')$$,
                'canceling a workflow that does not exist');
SELECT is(pg_temp.last_types('ext-src', 2), ARRAY['RequestCancelExternalWorkflowExecutionFailed', 'WorkflowTaskScheduled'],
          'gives RequestCancelExternalWorkflowExecutionFailed');
SELECT throws_ok($$SELECT pg_temp.complete('c-ext', '[{"type": "SignalExternalWorkflowExecution", "workflow_id": "ext-dst",
    "run_id": "not-a-uuid", "signal_name": "x"}]')$$, '22023', NULL, 'a run_id that is not a UUID');

-- RecordMarker and UpsertWorkflowSearchAttributes --------------------------------
SELECT lives_ok($$SELECT pg_temp.complete('c-ext', '[{"type": "RecordMarker", "marker_name": "SideEffect", "details": {"value": 4}},
    {"type": "UpsertWorkflowSearchAttributes", "search_attributes": {"Stage": "ship", "Priority": 2}}]')$$,
    'RecordMarker and UpsertWorkflowSearchAttributes');
SELECT is(pg_temp.last_types('ext-src', 3), ARRAY['WorkflowTaskCompleted', 'MarkerRecorded', 'UpsertWorkflowSearchAttributes'],
          'MarkerRecorded and UpsertWorkflowSearchAttributes events');
SELECT is(pg_temp.event('ext-src', 'MarkerRecorded') - 'workflow_task_completed_event_id',
          '{"marker_name": "SideEffect", "details": {"value": 4}}'::jsonb, 'the marker keeps name and details');
SELECT is(durable.describe_workflow('ext-src') -> 'search_attributes', '{"Stage": "ship", "Priority": 2}'::jsonb,
          'search attributes are set');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows(search_attributes => '{"Stage": "ship"}')),
          ARRAY['ext-src'], 'and list_workflows finds the workflow by them');
SELECT durable.signal_workflow('ext-src', 'x');
SELECT pg_temp.complete('c-ext', '[{"type": "UpsertWorkflowSearchAttributes", "search_attributes": {"Stage": "done", "Priority": null}}]');
SELECT is(durable.describe_workflow('ext-src') -> 'search_attributes', '{"Stage": "done"}'::jsonb,
          'an upsert merges, and null removes a key');

-- Closing commands -------------------------------------------------------------------
SELECT durable.start_workflow('cl-done', 'W', 'c-cl1');
SELECT pg_temp.complete('c-cl1', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 9},
    {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 9},
    {"type": "CompleteWorkflowExecution", "result": {"ok": true}}]');
SELECT is(pg_temp.status('cl-done'), 'COMPLETED', 'CompleteWorkflowExecution: COMPLETED');
SELECT is(pg_temp.last_types('cl-done', 1), ARRAY['WorkflowExecutionCompleted'], 'WorkflowExecutionCompleted is the last event');
SELECT is(pg_temp.event('cl-done', 'WorkflowExecutionCompleted') - 'workflow_task_completed_event_id',
          '{"result": {"ok": true}}'::jsonb, 'with the result');
SELECT ok(durable.describe_workflow('cl-done') ->> 'closed_at' IS NOT NULL, 'closed_at is set');
SELECT is(jsonb_array_length(durable.describe_workflow('cl-done') -> 'pending_activities')
          + jsonb_array_length(durable.describe_workflow('cl-done') -> 'pending_timers'), 0,
          'a closed run has no pending activities or timers');
SELECT throws_ok($$SELECT durable.signal_workflow('cl-done', 'x')$$, 'DU003', NULL, 'a closed run takes no signal (DU003)');

SELECT durable.start_workflow('cl-fail', 'W', 'c-cl2');
SELECT pg_temp.complete('c-cl2', '[{"type": "FailWorkflowExecution", "failure": {"message": "no stock", "type": "OutOfStock"}}]');
SELECT is(pg_temp.status('cl-fail'), 'FAILED', 'FailWorkflowExecution: FAILED');
SELECT is(durable.describe_workflow('cl-fail') -> 'failure', '{"message": "no stock", "type": "OutOfStock"}'::jsonb, 'with the failure');
SELECT is(pg_temp.last_types('cl-fail', 1), ARRAY['WorkflowExecutionFailed'], 'WorkflowExecutionFailed');

SELECT durable.start_workflow('cl-cancel', 'W', 'c-cl3');
SELECT durable.cancel_workflow('cl-cancel', 'user asked');
SELECT pg_temp.complete('c-cl3', '[{"type": "CancelWorkflowExecution", "details": "cleaned up"}]');
SELECT is(pg_temp.status('cl-cancel'), 'CANCELED', 'CancelWorkflowExecution: CANCELED');
SELECT is(pg_temp.last_types('cl-cancel', 1), ARRAY['WorkflowExecutionCanceled'], 'WorkflowExecutionCanceled');

SELECT throws_ok($$SELECT pg_temp.complete('c-cl3', '[]')$$, 'P0001', NULL, 'a closed run has no workflow task');

-- ContinueAsNewWorkflowExecution
CREATE TEMP TABLE can1 AS SELECT durable.start_workflow('cl-can', 'W', 'c-cl4', '{"i": 1}',
    '{"memo": {"m": 1}, "execution_timeout": "1 day"}') AS run_id;
SELECT pg_temp.complete('c-cl4', '[{"type": "ContinueAsNewWorkflowExecution", "input": {"i": 2}}]');
SELECT is((SELECT d ->> 'status' FROM durable.describe_workflow('cl-can', (SELECT run_id FROM can1)) d), 'CONTINUED_AS_NEW',
          'ContinueAsNewWorkflowExecution: the old run is CONTINUED_AS_NEW');
SELECT is((pg_temp.types('cl-can', (SELECT run_id FROM can1)))
              [array_length(pg_temp.types('cl-can', (SELECT run_id FROM can1)), 1)],
          'WorkflowExecutionContinuedAsNew', 'its last event is WorkflowExecutionContinuedAsNew');
CREATE TEMP TABLE can2 AS SELECT durable.describe_workflow('cl-can') AS d;
SELECT is((SELECT d ->> 'status' FROM can2), 'RUNNING', 'the new run is RUNNING');
SELECT isnt((SELECT (d ->> 'run_id')::uuid FROM can2), (SELECT run_id FROM can1), 'under a new run id');
SELECT is((SELECT d ->> 'continued_from_run_id' FROM can2), (SELECT run_id::text FROM can1), 'linked to the old run');
SELECT is((SELECT d ->> 'first_run_id' FROM can2), (SELECT run_id::text FROM can1), 'with the same first run');
SELECT is((SELECT d ->> 'new_run_id' FROM durable.describe_workflow('cl-can', (SELECT run_id FROM can1)) d),
          (SELECT d ->> 'run_id' FROM can2), 'the old run points at the new one');
SELECT is((SELECT pg_temp.event('cl-can', 'WorkflowExecutionContinuedAsNew') FROM can2), NULL,
          '(the new run''s own history has no ContinuedAsNew event)');
SELECT is((SELECT d -> 'input' FROM can2), '{"i": 2}'::jsonb, 'the new run has the new input');
SELECT is((SELECT d -> 'memo' FROM can2), '{"m": 1}'::jsonb, 'and keeps the memo');
SELECT is((SELECT d ->> 'execution_started_at' FROM can2),
          (SELECT d ->> 'execution_started_at' FROM durable.describe_workflow('cl-can', (SELECT run_id FROM can1)) d),
          'the execution (and its timeout) spans both runs');
SELECT is((SELECT attributes ->> 'continued_execution_run_id' FROM durable.get_history('cl-can') WHERE event_id = 1),
          (SELECT run_id::text FROM can1), 'WorkflowExecutionStarted names the run it continues');
SELECT is(pg_temp.types('cl-can'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'], 'the new run starts afresh');

-- A closing command must be the last
SELECT durable.start_workflow('cl-order', 'W', 'c-cl5');
SELECT throws_ok($$SELECT pg_temp.complete('c-cl5', '[{"type": "CompleteWorkflowExecution"}, {"type": "RecordMarker", "marker_name": "m"}]')$$,
                 '22023', 'CompleteWorkflowExecution must be the last command', 'a closing command that is not last');
SELECT is(pg_temp.status('cl-order'), 'RUNNING', 'leaves the workflow running');

SELECT * FROM finish();
ROLLBACK;
