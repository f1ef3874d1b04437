-- Reset: a new run from an earlier workflow task, with pending activities
-- and timers rebuilt, later signals kept, and the old run terminated.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.run_types(run uuid) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(event_type ORDER BY event_id) FROM durable.history WHERE run_id = run
$$;

-- A workflow: task 1 schedules an activity and a timer; the activity completes;
-- task 2 takes a wrong turn and schedules "refund"; a signal arrives.
CREATE TEMP TABLE r AS SELECT durable.start_workflow('rs-1', 'Order', 'rs-q', '{"n": 1}') AS old_run;
SELECT pg_temp.complete('rs-q', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "charge", "start_to_close_timeout": 60},
                                  {"type": "StartTimer", "timer_id": "remind", "start_to_fire_timeout": 3600}]');
SELECT durable.complete_activity_task((SELECT task_token FROM durable.poll_activity_tasks('rs-q', 'tester', 1)), '"ok"');
SELECT pg_temp.complete('rs-q', '[{"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "refund", "start_to_close_timeout": 60}]');
SELECT durable.signal_workflow('rs-1', 'note', '"after"');
-- the reset point: the first task's WorkflowTaskCompleted
CREATE TEMP TABLE point AS SELECT min(event_id) AS id FROM durable.history
 WHERE run_id = (SELECT old_run FROM r) AND event_type = 'WorkflowTaskCompleted';

CREATE TEMP TABLE n AS SELECT durable.reset_workflow('rs-1', (SELECT id FROM point), 'refund was a bug') AS new_run;
SELECT isnt((SELECT new_run FROM n), (SELECT old_run FROM r), 'reset makes a new run');
SELECT is((SELECT status FROM durable.workflows WHERE run_id = (SELECT old_run FROM r)), 'TERMINATED', 'the old run is terminated');
SELECT is((durable.describe_workflow('rs-1') ->> 'run_id')::uuid, (SELECT new_run FROM n), 'the workflow id now means the new run');
SELECT is(durable.describe_workflow('rs-1') ->> 'status', 'RUNNING', 'and it runs');
SELECT is((durable.describe_workflow('rs-1') ->> 'continued_from_run_id')::uuid, (SELECT old_run FROM r), 'linked to the old run');
SELECT is(pg_temp.run_types((SELECT new_run FROM n)),
          ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskFailed',
                'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'history: up to the task''s start, RESET_WORKFLOW failure, the later signal, a new task');
SELECT is((SELECT attributes ->> 'cause' FROM durable.history WHERE run_id = (SELECT new_run FROM n) AND event_type = 'WorkflowTaskFailed'),
          'RESET_WORKFLOW', 'the failure cause is RESET_WORKFLOW');
SELECT is((SELECT attributes -> 'input' FROM durable.history WHERE run_id = (SELECT new_run FROM n) AND event_type = 'WorkflowExecutionSignaled'),
          '"after"', 'the signal keeps its input');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE run_id = (SELECT new_run FROM n)), 0::bigint,
          'nothing was scheduled before the point, so no activity is pending');

-- A run that schedules an activity and a timer, then completes on a signal;
-- reset to its last task brings the activity and the timer back.
SELECT pg_temp.complete('rs-q', '[{"type": "ScheduleActivityTask", "activity_id": "a", "activity_type": "ship", "start_to_close_timeout": 60},
                                  {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 600}]');
SELECT durable.signal_workflow('rs-1', 'go');
SELECT pg_temp.complete('rs-q', '[{"type": "CompleteWorkflowExecution", "result": 1}]');
CREATE TEMP TABLE point2 AS SELECT max(event_id) AS id FROM durable.history
 WHERE run_id = (SELECT new_run FROM n) AND event_type = 'WorkflowTaskCompleted';
SELECT is(durable.describe_workflow('rs-1') ->> 'status', 'COMPLETED', 'the run completed');
CREATE TEMP TABLE n2 AS SELECT durable.reset_workflow('rs-1', (SELECT id FROM point2)) AS run;
SELECT is(durable.describe_workflow('rs-1') ->> 'status', 'RUNNING', 'a completed workflow can be reset too');
SELECT is((SELECT activity_type FROM durable.activity_tasks WHERE run_id = (SELECT run FROM n2)), 'ship',
          'the activity pending at the point is pending again');
SELECT is((SELECT timer_id FROM durable.timers WHERE run_id = (SELECT run FROM n2)), 't', 'so is the timer');

-- Bad input changes nothing
CREATE TEMP TABLE before AS SELECT count(*) AS runs FROM durable.workflows;
SELECT throws_ok($$SELECT durable.reset_workflow('rs-1', 1)$$, '22023', NULL, 'event 1 is not the end of a workflow task');
SELECT throws_ok($$SELECT durable.reset_workflow('rs-1', 100000)$$, '22023', NULL, 'an event that does not exist');
SELECT throws_ok($$SELECT durable.reset_workflow('no-such', 4)$$, 'DU001', NULL, 'an unknown workflow');
SELECT is((SELECT count(*) FROM durable.workflows), (SELECT runs FROM before), 'no run was made');
SELECT * FROM finish();
ROLLBACK;
