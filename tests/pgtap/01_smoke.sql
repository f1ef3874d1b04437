-- A workflow driven by hand: start, workflow task, activity, completion.
BEGIN;
SELECT * FROM no_plan();

SELECT isnt(durable.start_workflow('smoke-1', 'Smoke', 'smoke-q', '{"n": 1}'), NULL, 'start_workflow returns a run id');
SELECT is((durable.describe_workflow('smoke-1') ->> 'status'), 'RUNNING', 'a new workflow is RUNNING');

CREATE TEMP TABLE wft AS SELECT * FROM durable.poll_workflow_tasks('smoke-q', 'tester', 10);
SELECT is((SELECT count(*) FROM wft), 1::bigint, 'one workflow task is leased');
SELECT is((SELECT jsonb_array_length(history) FROM wft), 3, 'its history holds Started, Scheduled, TaskStarted');

SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "double", "input": 21, "start_to_close_timeout": 30}]')$$,
                       (SELECT task_token FROM wft)), 'the task schedules an activity');

CREATE TEMP TABLE act AS SELECT * FROM durable.poll_activity_tasks('smoke-q', 'tester', 10);
SELECT is((SELECT input FROM act), '21'::jsonb, 'the activity carries its input');
SELECT lives_ok(format($$SELECT durable.complete_activity_task(%L, '42')$$, (SELECT task_token FROM act)), 'the activity completes');

CREATE TEMP TABLE wft2 AS SELECT * FROM durable.poll_workflow_tasks('smoke-q', 'tester', 10);
SELECT is((SELECT history -> -3 ->> 'event_type' FROM wft2), 'ActivityTaskCompleted', 'the next task sees the activity result');
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "CompleteWorkflowExecution", "result": 42}]')$$,
                       (SELECT task_token FROM wft2)), 'the workflow completes');
SELECT is((durable.describe_workflow('smoke-1') ->> 'status'), 'COMPLETED', 'status is COMPLETED');
SELECT is((durable.describe_workflow('smoke-1') -> 'result'), '42'::jsonb, 'result is kept');

SELECT * FROM finish();
ROLLBACK;
